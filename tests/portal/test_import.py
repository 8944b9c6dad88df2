"""Products imported from a CSV file: every product of a valid file with its materials,
audited, with its origin check on its page; nothing at all when one row is wrong, and
that row and column named at the top of the page; the files spreadsheets write (BOM,
semicolons, decimal commas, HS codes without their leading zero); a wrong header, an
empty or too large file; another producer refused; the template imports back as it is."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from certification.exceptions import ValidationFailed
from certification.models import AuditEvent
from certification.workflow import services
from portal import imports
from registry.models import Material, Product
from tests.factories import MembershipFactory, ProducerFactory
from tests.portal.conftest import text

pytestmark = pytest.mark.django_db

URL = "/portal/products/import/"
HEADER = (
    "product_ref,name,description,hs_code,ex_works_price,currency,process_steps,"
    "material_description,material_hs_code,material_origin_country,material_value"
)
# Two products: the T-shirt on two rows (its columns only on the first), a bag on one
# row without materials.
VALID = "\n".join(
    [
        HEADER,
        "TS-1,Cotton T-shirt,,610910,10.00,USD,knitting; sewing,Cotton yarn,520512,UZ,3.00",
        "TS-1,,,,,,,Dye,320411,DE,0.50",
        "BAG-1,Canvas bag,Tote,420222,4.00,EUR,cutting; sewing,,,,",
    ]
)


@pytest.fixture
def member(client, manufacturer, producer):
    client.force_login(manufacturer)
    return client


def upload(content, name="products.csv"):
    raw = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, raw, content_type="text/csv")


def post(client, producer, content, **extra):
    return client.post(URL, {"producer": str(producer.pk), "file": upload(content), **extra})


def test_the_page_offers_the_producers_the_template_and_the_columns(member, producer):
    other = ProducerFactory()
    page = text(member.get(URL))
    assert f'<option value="{producer.pk}"' in page and other.legal_name not in page
    assert 'href="/portal/products/import/template.csv"' in page
    assert 'enctype="multipart/form-data"' in page and 'type="file"' in page
    assert 'aria-describedby="id_file-hint"' in page
    assert all(f'<td class="mono">{column}</td>' in page for column in imports.COLUMNS)
    assert "decimal comma" in page and "USD, EUR" in page


def test_the_product_list_links_to_the_import(member, producer):
    assert 'href="/portal/products/import/"' in text(member.get("/portal/products/"))


def test_a_valid_file_imports_every_product_with_its_materials(member, producer):
    response = post(member, producer, VALID)
    assert response.status_code == 302 and response["Location"] == "/portal/products/"
    shirt = Product.objects.get(name="Cotton T-shirt")
    bag = Product.objects.get(name="Canvas bag")
    assert shirt.producer == producer and bag.producer == producer
    assert shirt.process_steps == ["knitting", "sewing"] and shirt.currency == "USD"
    assert list(shirt.materials.values_list("description", "hs_code", "origin_country")) == [
        ("Cotton yarn", "520512", "UZ"),
        ("Dye", "320411", "DE"),
    ]
    assert [m.value for m in shirt.materials.all()] == [Decimal("3.00"), Decimal("0.50")]
    assert bag.description == "Tote" and bag.currency == "EUR" and not bag.materials.exists()
    events = AuditEvent.objects.filter(action="product.created").order_by("id")
    assert [(e.target_id, e.data) for e in events] == [
        (str(shirt.pk), {"materials": 2, "imported": True}),
        (str(bag.pk), {"materials": 0, "imported": True}),
    ]
    listing = text(member.get(response["Location"]))
    assert "2 products imported from products.csv: Cotton T-shirt; Canvas bag." in listing
    page = text(member.get(f"/portal/products/{shirt.pk}/"))
    assert "qualifies" in page and "Rule set MCA-2026" in page and "Dye" in page


def test_a_large_import_names_five_products_and_counts_the_rest(member, producer):
    rows = [HEADER] + [f"P{n},Shirt {n},,610910,10,USD,sewing,,,," for n in range(7)]
    response = post(member, producer, "\n".join(rows))
    assert Product.objects.count() == 7
    listing = text(member.get(response["Location"]))
    assert "7 products imported from products.csv: Shirt 0; Shirt 1; Shirt 2; Shirt 3; " in listing
    assert "Shirt 4 and 2 more. Open each" in listing


def test_one_bad_row_names_its_row_and_column_and_nothing_is_imported(member, producer):
    bad = VALID.replace("Dye,320411,DE", "Dye,999999,DE").replace("4.00,EUR", "4.00,XYZ")
    before = (Product.objects.count(), Material.objects.count(), AuditEvent.objects.count())
    response = post(member, producer, bad)
    assert response.status_code == 400
    page = text(response)
    assert "Row 3, material_hs_code: HS code 999999 is not in the HS 2022 nomenclature." in page
    assert "Row 4, currency: Value &#x27;XYZ&#x27; is not a valid choice. Write one of USD" in page
    assert "Nothing was imported from products.csv. Correct these 2 problems" in page
    assert 'href="#id_file"' in page and 'aria-invalid="true"' in page
    assert "<title>Error:" in page
    after = (Product.objects.count(), Material.objects.count(), AuditEvent.objects.count())
    assert after == before


def test_the_service_checks_only_when_asked_and_then_saves_nothing(manufacturer, producer):
    item = {"data": {"name": "Shirt", "hs_code": "610910", "ex_works_price": Decimal("5")}}
    kept = services.products_import(
        actor=manufacturer, producer_id=producer.pk, products=[item], check_only=True
    )
    assert kept == [] and not Product.objects.exists() and not AuditEvent.objects.exists()
    bad = {"data": {**item["data"], "hs_code": "12"}, "materials": [{"description": "Yarn"}]}
    with pytest.raises(ValidationFailed) as refusal:
        services.products_import(actor=manufacturer, producer_id=producer.pk, products=[item, bad])
    refused = refusal.value.fields["products"]
    assert list(refused) == ["1"] and "hs_code" in refused["1"]
    assert set(refused["1"]["materials"]["0"]) == {"hs_code", "value"}
    assert "1 of the 2 products are not valid; none was saved." in refusal.value.message
    assert not Product.objects.exists() and not AuditEvent.objects.exists()


def test_an_error_after_valid_products_rolls_them_back(member, producer):
    rows = [HEADER] + [f"P{n},Shirt {n},,610910,10,USD,sewing,,,," for n in range(5)]
    rows.append("P9,Shirt 9,,610910,-1,USD,sewing,,,,")
    response = post(member, producer, "\n".join(rows))
    assert response.status_code == 400
    assert "Row 7, ex_works_price:" in text(response)
    assert not Product.objects.exists() and not AuditEvent.objects.exists()


def test_empty_cells_and_rows_that_disagree_are_named(member, producer):
    content = "\n".join(
        [
            HEADER,
            "TS-1,Cotton T-shirt,,610910,10.00,USD,sewing,Cotton yarn,520512,UZ,",
            "TS-1,Other name,,,,,,Dye,320411,DE,abc",
            ",Orphan,,610910,1,USD,,,,,",
        ]
    )
    page = text(post(member, producer, content))
    # What the file does not hold readably, and the service's checks of the rest: all at
    # once, in the order of the rows and columns.
    problems = [
        "Row 2, material_value: The cell is empty; fill it in.",
        "Row 3, name: Row 2 of TS-1 says “Cotton T-shirt”",
        "Row 3, material_value: “abc” is not a number",
        "Row 4, product_ref: The product_ref is empty",
    ]
    positions = [page.index(problem) for problem in problems]
    assert positions == sorted(positions)
    assert page.count("material_value:") == 2  # not also "cannot be null" for "abc"
    assert not Product.objects.exists() and not AuditEvent.objects.exists()
    fixed = content.replace("Other name", "").replace("abc", "0.5").replace(",Orphan", "X,")
    page = text(post(member, producer, fixed))
    assert "Row 4, name: The cell is empty; fill it in." in page
    assert not Product.objects.exists()


def test_excel_with_a_bom_semicolons_and_decimal_commas_imports(member, producer):
    content = (
        "\ufeff"
        + HEADER.replace(",", ";")
        + "\r\n"
        + 'RA-1;Sun-dried raisins;;80620;2,40;usd;"drying; sorting";Fresh grapes;80610;uz;1,30\r\n'
    )
    response = post(member, producer, content.encode("utf-8"))
    assert response.status_code == 302, text(response)
    raisins = Product.objects.get()
    assert (raisins.name, raisins.hs_code, raisins.ex_works_price, raisins.currency) == (
        "Sun-dried raisins",
        "080620",
        Decimal("2.40"),
        "USD",
    )
    assert raisins.process_steps == ["drying", "sorting"]
    material = raisins.materials.get()
    assert (material.hs_code, material.origin_country, material.value) == (
        "080610",
        "UZ",
        Decimal("1.30"),
    )


@pytest.mark.parametrize(
    ("written", "read"),
    [("1250.50", "1250.50"), ("1250,50", "1250.50"), ("1 250,50", "1250.50"), ("", None)],
)
def test_numbers_are_read_as_spreadsheets_write_them(written, read):
    assert imports.number(written) == (read and Decimal(read))


@pytest.mark.parametrize("written", ["1,250.50", "1.250,50", "12 USD", "NaN", "Infinity"])
def test_what_is_not_plainly_a_number_is_refused(written):
    with pytest.raises(ValueError):
        imports.number(written)


def test_excel_unicode_text_utf16_with_tabs_imports(member, producer):
    content = VALID.replace(",", "\t").replace("knitting; sewing", "knitting")
    response = post(member, producer, content.encode("utf-16"))
    assert response.status_code == 302, text(response)
    assert Product.objects.count() == 2 and Material.objects.count() == 2


def test_a_name_with_an_unquoted_comma_is_explained(member, producer):
    content = HEADER + "\nTS-1,Cotton T-shirt, knitted,,610910,10,USD,,,,,\n"
    page = text(post(member, producer, content))
    assert "Row 2: The row has more cells than the header" in page
    assert "double quotes" in page and not Product.objects.exists()


def test_a_wrong_header_names_the_missing_and_unknown_columns(member, producer):
    content = VALID.replace("hs_code,ex_works_price", "hscode,ex_works_price", 1)
    response = post(member, producer, content)
    assert response.status_code == 400
    page = text(response)
    assert "Row 1 is not the template&#x27;s header (missing hs_code; unknown hscode)" in page
    assert 'href="#id_file"' in page and not Product.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"\xef\xbb\xbf\r\n \r\n", "The file is empty."),
        (HEADER.encode() + b"\r\n", "The file has its header but no products under it."),
        (b"PK\x03\x04rest-of-a-workbook", "This is a spreadsheet workbook (.xlsx)"),
        ("product_ref;name\nÄ".encode("cp1252"), "The file is not UTF-8 text."),
    ],
)
def test_files_that_cannot_be_read_say_why(member, producer, content, message):
    response = post(member, producer, content)
    assert response.status_code == 400
    assert message in text(response) and not Product.objects.exists()


def test_a_file_too_large_or_with_too_many_rows_is_refused(member, producer, monkeypatch):
    line = "\nP,Shirt,,610910,10,USD,sewing,Cotton yarn,520512,UZ,3"
    big = HEADER + line * (imports.MAX_BYTES // len(line) + 1)
    response = post(member, producer, big)
    assert response.status_code == 400
    assert "at most 2.0\xa0MB can be imported at once" in text(response)
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    page = text(post(member, producer, HEADER + line * 4))
    assert "The file has 4 rows; at most 3 can be imported at once." in page
    assert not Product.objects.exists()


def test_no_file_chosen_is_linked_to_the_file_field(member, producer):
    response = member.post(URL, {"producer": str(producer.pk)})
    assert response.status_code == 400
    assert '<a href="#id_file">Choose the CSV file to import.</a>' in text(response)


def test_another_producers_id_is_refused_and_nothing_is_written(member, producer):
    other = ProducerFactory()
    MembershipFactory(producer=other)
    response = post(member, other, VALID)
    assert response.status_code == 400
    assert 'href="#id_producer"' in text(response)
    assert not Product.objects.exists() and not AuditEvent.objects.exists()


def test_without_a_producer_the_page_sends_to_registering_one(client, manufacturer):
    client.force_login(manufacturer)
    response = client.get(URL)
    assert response["Location"] == "/portal/producers/new/"


def test_the_template_downloads_and_imports_back_as_it_is(member, producer):
    response = member.get("/portal/products/import/template.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="products-template.csv"' in response["Content-Disposition"]
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n")
    assert raw.count(b"\r\n") == 1 + len(imports.TEMPLATE_ROWS)
    response = post(member, producer, raw)
    assert response.status_code == 302, text(response)
    shirt = Product.objects.get(name="Cotton T-shirt, knitted")
    assert shirt.process_steps == ["knitting", "cutting", "sewing"]
    assert list(shirt.materials.values_list("description", "origin_country")) == [
        ("Combed cotton yarn", "UZ"),
        ("Reactive dye", "DE"),
    ]
    raisins = Product.objects.get(name="Sun-dried raisins")
    assert raisins.hs_code == "080620"
    assert list(raisins.materials.values_list("hs_code", "origin_country")) == [
        ("080610", "UZ"),
        ("392321", None),
    ]
    assert "qualifies" in text(member.get(f"/portal/products/{shirt.pk}/"))


def test_the_pages_are_for_signed_in_manufacturers(client, reviewer):
    assert client.get(URL).status_code == 302
    client.force_login(reviewer)
    assert client.get(URL).status_code == 403
    assert client.get("/portal/products/import/template.csv").status_code == 403
