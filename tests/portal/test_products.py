"""Products in the manufacturer portal: one form for the product and its bill of
materials, rows added and removed without JavaScript, the origin assessment with its
sentences on the product's page, errors on the right row with nothing saved, another
producer's products not found, constant queries on the list."""

from decimal import Decimal

import pytest

from certification.models import AuditEvent
from registry.models import Material, Product
from tests.factories import MembershipFactory, ProducerFactory

pytestmark = pytest.mark.django_db


def text(response):
    return response.content.decode()


@pytest.fixture
def member(client, manufacturer, producer):
    client.force_login(manufacturer)
    return client


def tshirt(producer, rows, **changes):
    """The worked example: T-shirts sewn in Tashkent."""
    data = {
        "producer": str(producer.pk),
        "name": "Cotton T-shirt",
        "description": "",
        "hs_code": "610910",
        "ex_works_price": "10.00",
        "currency": "USD",
        "process_steps": "knitting, sewing",
        "materials-TOTAL_FORMS": str(len(rows)),
        "materials-INITIAL_FORMS": "0",
        "materials-MIN_NUM_FORMS": "0",
        "materials-MAX_NUM_FORMS": "1000",
        "save": "1",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"materials-{index}-{key}"] = value
    data.update(changes)
    return data


UZ_YARN = {
    "description": "Cotton yarn",
    "hs_code": "520512",
    "origin_country": "UZ",
    "value": "3.00",
}
KZ_DYE = {"description": "Dye", "hs_code": "320411", "origin_country": "KZ", "value": "0.50"}
CN_FABRIC = {
    "description": "Knitted polyester fabric",
    "hs_code": "600632",
    "origin_country": "CN",
    "value": "6.00",
}
BLANK = {"description": "", "hs_code": "", "origin_country": "", "value": ""}


def test_a_new_product_form_offers_three_empty_material_rows(member):
    page = text(member.get("/portal/products/new/"))
    assert page.count('name="materials-') >= 12 and 'name="materials-2-description"' in page
    assert 'name="materials-3-description"' not in page
    assert "Unknown (counts as non-originating)" in page


def test_a_product_with_three_materials_is_saved_and_its_assessment_shown(member, producer):
    response = member.post("/portal/products/new/", tshirt(producer, [UZ_YARN, KZ_DYE, BLANK]))
    product = Product.objects.get(name="Cotton T-shirt")
    assert response["Location"] == f"/portal/products/{product.pk}/"
    assert list(product.materials.values_list("description", flat=True)) == ["Cotton yarn", "Dye"]
    assert product.process_steps == ["knitting", "sewing"]
    assert AuditEvent.objects.filter(action="product.created", target_id=str(product.pk))
    page = text(member.get(response["Location"]))
    assert "The product is saved. Its origin assessment is below." in page
    assert "qualifies" in page and "does not qualify" not in page
    assert "Rule set MCA-2026" in page
    assert "T-shirts" in page  # the HS description of 610910


def test_the_worked_example_fails_and_names_the_fabric_and_the_share(member, producer):
    member.post("/portal/products/new/", tshirt(producer, [CN_FABRIC]))
    product = Product.objects.get(name="Cotton T-shirt")
    page = text(member.get(f"/portal/products/{product.pk}/"))
    assert "does not qualify" in page
    assert "Knitted polyester fabric" in page and "60" in page


def test_add_a_row_keeps_what_was_typed_and_saves_nothing(member, producer):
    data = tshirt(producer, [UZ_YARN], add_row="1")
    del data["save"]
    response = member.post("/portal/products/new/", data)
    assert response.status_code == 200
    page = text(response)
    assert 'value="Cotton yarn"' in page and 'name="materials-1-description"' in page
    assert not Product.objects.exists()


def test_a_bad_material_is_shown_on_its_row_and_nothing_is_saved(member, producer):
    bad = {**KZ_DYE, "hs_code": "999999"}
    response = member.post("/portal/products/new/", tshirt(producer, [UZ_YARN, bad]))
    assert response.status_code == 400
    page = text(response)
    assert 'href="#id_materials-1-hs_code"' in page and "Material 2:" in page
    assert 'value="Cotton yarn"' in page and 'value="999999"' in page
    assert not Product.objects.exists() and not Material.objects.exists()


def test_a_missing_product_field_is_linked_from_the_summary(member, producer):
    response = member.post("/portal/products/new/", tshirt(producer, [UZ_YARN], hs_code=""))
    assert response.status_code == 400
    assert 'href="#id_hs_code"' in text(response)
    assert not Product.objects.exists()


def test_editing_replaces_the_bill_of_materials_and_removes_ticked_rows(member, producer):
    member.post("/portal/products/new/", tshirt(producer, [UZ_YARN, KZ_DYE]))
    product = Product.objects.get()
    page = text(member.get(f"/portal/products/{product.pk}/edit/"))
    assert 'value="Cotton yarn"' in page and 'name="producer"' not in page
    data = tshirt(producer, [UZ_YARN, {**KZ_DYE, "DELETE": "on"}], ex_works_price="12.00")
    data["materials-INITIAL_FORMS"] = "2"
    del data["producer"]
    response = member.post(f"/portal/products/{product.pk}/edit/", data)
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.ex_works_price == Decimal("12.00")
    assert list(product.materials.values_list("description", flat=True)) == ["Cotton yarn"]


def test_another_producers_product_is_not_found(member):
    other = ProducerFactory()
    member_of_other = MembershipFactory(producer=other).user
    from tests.factories import ProductFactory

    product = ProductFactory(producer=other)
    for path in ("", "edit/"):
        assert member.get(f"/portal/products/{product.pk}/{path}").status_code == 404
    assert member_of_other.pk  # the product has members, just not this caller


def test_creating_for_another_producer_is_refused(member):
    other = ProducerFactory()
    response = member.post("/portal/products/new/", tshirt(other, [UZ_YARN]))
    assert response.status_code == 400
    assert not Product.objects.exists()


def test_the_list_runs_in_constant_queries(member, producer, django_assert_num_queries):
    from tests.factories import ProductFactory

    ProductFactory(producer=producer)
    member.get("/portal/products/")
    with django_assert_num_queries(5):  # the session, the user, the count, the page, producers
        member.get("/portal/products/")
    for _ in range(4):
        ProductFactory(producer=producer)
    with django_assert_num_queries(5):
        page = text(member.get("/portal/products/"))
    assert page.count('href="/portal/products/') >= 5
