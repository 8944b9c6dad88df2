"""What the product form's script asks the server while a manufacturer types: the origin
check of the form as it stands (nothing saved) and HS subheadings matching what is typed.
Without JavaScript neither is needed: the page's form works alone (test_products.py)."""

import pytest

from registry.models import Product
from tests.portal.conftest import text
from tests.portal.test_products import BLANK, CN_FABRIC, KZ_DYE, UZ_YARN, tshirt

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client, manufacturer, producer):
    client.force_login(manufacturer)
    return client


def test_the_check_follows_the_form_without_saving_anything(member, producer):
    passing = text(member.post("/portal/products/check/", tshirt(producer, [UZ_YARN, KZ_DYE])))
    assert 'data-status="Origin check: qualifies"' in passing
    assert "This check is not saved" in passing

    failing = text(member.post("/portal/products/check/", tshirt(producer, [CN_FABRIC])))
    assert 'data-status="Origin check: does not qualify"' in failing
    assert "Knitted polyester fabric" in failing and "60%" in failing
    assert not Product.objects.exists()


def test_rows_not_complete_are_left_out_and_counted(member, producer):
    half = {"description": "Buttons", "hs_code": "9606", "origin_country": "", "value": ""}
    page = text(member.post("/portal/products/check/", tshirt(producer, [UZ_YARN, half, BLANK])))
    assert "qualifies" in page
    assert "1 material row is not complete yet and is left out of this check." in page


def test_rows_ticked_for_removal_do_not_count(member, producer):
    data = tshirt(producer, [UZ_YARN, CN_FABRIC], **{"materials-1-DELETE": "on"})
    page = text(member.post("/portal/products/check/", data))
    assert 'data-status="Origin check: qualifies"' in page


def test_without_an_hs_code_and_a_price_the_check_says_what_it_needs(member, producer):
    page = text(member.post("/portal/products/check/", tshirt(producer, [UZ_YARN], hs_code="61")))
    assert "Fill in the product's 6-digit HS code and its ex-works price" in page
    assert 'data-status=""' in page


def test_hs_codes_are_suggested_by_digits_and_by_words(member):
    by_digits = member.get("/portal/hs-codes/", {"q": "6109"}).json()["results"]
    assert [item["code"] for item in by_digits] == ["610910", "610990"]
    assert by_digits[0]["description"].startswith("T-shirts")
    by_words = member.get("/portal/hs-codes/", {"q": "grapes dried"}).json()["results"]
    assert [item["code"] for item in by_words] == ["080620"]
    assert member.get("/portal/hs-codes/", {"q": " "}).json() == {"results": []}


def test_the_form_carries_what_its_script_needs(member):
    page = text(member.get("/portal/products/new/"))
    assert 'data-live-check="/portal/products/check/"' in page
    assert 'data-hs-lookup="/portal/hs-codes/"' in page
    assert page.count("data-hs-code") == 4  # the product's and three material rows
    assert '<section id="live-check"' in page and "hidden>" in page  # shown by the script
    # Enter in a field saves: the form's first submit button is "save", not "add a row".
    assert page.index('name="save"') < page.index('name="add_row"')


def test_only_manufacturers_use_them(client, reviewer):
    assert client.post("/portal/products/check/", {}).status_code == 302  # to sign in
    client.force_login(reviewer)
    assert client.get("/portal/hs-codes/", {"q": "6109"}).status_code == 403
