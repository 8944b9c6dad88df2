from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from registry.models import (
    Authority,
    HSCode,
    Material,
    MemberState,
    Producer,
    Product,
    Rule,
    RuleSet,
    parse_prefixes,
)
from registry.taxids import example_tax_id
from tests.factories import MaterialFactory, ProducerFactory, ProductFactory, state

pytestmark = pytest.mark.django_db


def field_errors(excinfo):
    return excinfo.value.message_dict


def test_six_member_states_with_their_authorities_are_loaded():
    zones = dict(MemberState.objects.values_list("code", "time_zone"))
    assert zones == {
        "UZ": "Asia/Tashkent",
        "KZ": "Asia/Almaty",
        "KG": "Asia/Bishkek",
        "TJ": "Asia/Dushanbe",
        "TM": "Asia/Ashgabat",
        "AZ": "Asia/Baku",
    }
    assert Authority.objects.count() == 6
    assert set(Authority.objects.values_list("certificate_validity_months", flat=True)) == {24}


def test_hs_nomenclature_is_loaded_without_statistical_rows():
    assert HSCode.objects.get(code="610910").parent_id == "6109"
    assert HSCode.objects.get(code="6109").parent_id == "61"
    assert HSCode.objects.filter(level=6).count() > 5000
    assert not HSCode.objects.filter(code__startswith="99").exists()
    assert not HSCode.objects.filter(code="TOTAL").exists()


def test_valid_producer_passes_validation_and_normalises_tax_id():
    tax_id = example_tax_id("KZ", 7)
    producer = Producer(
        legal_name="Steppe Foods LLP",
        member_state=state("KZ"),
        tax_id=f" {tax_id[:6]} {tax_id[6:]} ",
        address="Almaty",
        contact_email="info@steppe.example",
    )
    producer.full_clean()
    assert producer.tax_id == tax_id


def test_invalid_tax_id_is_refused_with_a_field_error_and_nothing_written():
    valid = example_tax_id("KZ", 8)
    mistyped = valid[:-1] + str((int(valid[-1]) + 1) % 10)
    producer = Producer(
        legal_name="Typo LLP",
        member_state=state("KZ"),
        tax_id=mistyped,
        address="Almaty",
        contact_email="info@typo.example",
    )
    with pytest.raises(ValidationError) as excinfo:
        producer.full_clean()
    assert "tax_id" in field_errors(excinfo)
    assert not Producer.objects.filter(legal_name="Typo LLP").exists()


def test_duplicate_tax_id_in_the_same_state_is_refused_on_the_tax_id_field():
    first = ProducerFactory(member_state=state("UZ"))
    duplicate = Producer(
        legal_name="Someone Else",
        member_state=state("UZ"),
        tax_id=first.tax_id,
        address="Tashkent",
        contact_email="x@example.org",
    )
    with pytest.raises(ValidationError) as excinfo:
        duplicate.full_clean()
    assert "invite" in " ".join(field_errors(excinfo)["tax_id"])
    assert Producer.objects.filter(tax_id=first.tax_id).count() == 1


def test_same_tax_id_digits_may_exist_in_another_state():
    uz = ProducerFactory(member_state=state("UZ"))
    other = Producer(
        legal_name="Namesake",
        member_state=state("TJ"),
        tax_id=uz.tax_id,
        address="Dushanbe",
        contact_email="x@example.org",
    )
    other.full_clean()  # a 9-digit UZ STIR is also a well-formed 9-digit TJ INN


def test_unknown_hs_code_is_refused():
    product = ProductFactory.build(producer=ProducerFactory(), hs_code="999999")
    with pytest.raises(ValidationError) as excinfo:
        product.full_clean()
    assert "not in the HS 2022 nomenclature" in field_errors(excinfo)["hs_code"][0]
    malformed = ProductFactory.build(producer=product.producer, hs_code="6109")
    with pytest.raises(ValidationError) as excinfo:
        malformed.full_clean()
    assert "6 digits" in field_errors(excinfo)["hs_code"][0]


def test_negative_or_zero_price_is_refused():
    for price in ("-1.00", "0"):
        product = ProductFactory.build(producer=ProducerFactory(), ex_works_price=Decimal(price))
        with pytest.raises(ValidationError) as excinfo:
            product.full_clean()
        assert "ex_works_price" in field_errors(excinfo)
    assert Product.objects.count() == 0


def test_material_worth_more_than_the_product_is_refused():
    product = ProductFactory(ex_works_price=Decimal("10.00"))
    material = MaterialFactory.build(product=product, value=Decimal("10.01"))
    with pytest.raises(ValidationError) as excinfo:
        material.full_clean()
    assert "ex-works price" in field_errors(excinfo)["value"][0]
    assert Material.objects.filter(product=product).count() == 0
    MaterialFactory.build(product=product, value=Decimal("10.00")).full_clean()


def test_material_origin_must_be_a_country_code_or_unknown():
    product = ProductFactory()
    with pytest.raises(ValidationError) as excinfo:
        MaterialFactory.build(product=product, origin_country="XX").full_clean()
    assert "origin_country" in field_errors(excinfo)
    unknown = MaterialFactory.build(product=product, origin_country="")
    unknown.full_clean()
    assert unknown.origin_country is None
    lower = MaterialFactory.build(product=product, origin_country="cn")
    lower.full_clean()
    assert lower.origin_country == "CN"


def test_process_steps_are_normalised_codes():
    product = ProductFactory.build(
        producer=ProducerFactory(), process_steps=["Simple Mixing", " Sewing"]
    )
    product.full_clean()
    assert product.process_steps == ["simple_mixing", "sewing"]
    product.process_steps = ["sew!"]
    with pytest.raises(ValidationError) as excinfo:
        product.full_clean()
    assert "process_steps" in field_errors(excinfo)


def test_reviewer_needs_a_member_state(reviewer):
    reviewer.member_state = None
    with pytest.raises(ValidationError) as excinfo:
        reviewer.full_clean()
    assert "member_state" in field_errors(excinfo)


def test_prefix_ranges_expand_within_their_length():
    assert parse_prefixes("5111-5113, 60") == ("5111", "5112", "5113", "60")
    with pytest.raises(ValueError):
        parse_prefixes("5111-52")


def test_shipped_rule_set_mca_2026_is_loaded():
    rule_set = RuleSet.objects.get(code="MCA-2026")
    assert rule_set.tolerance_pct == Decimal("10")
    assert "packing" in rule_set.insufficient_operations
    scopes = set(Rule.objects.filter(rule_set=rule_set).values_list("scope", flat=True))
    assert {"", "5201", "6109", "0806", "0813", "0401", "0406", "5007"} <= scopes
    six_one_oh_nine = Rule.objects.get(rule_set=rule_set, scope="6109").as_spec()
    assert [[c.type for c in alt] for alt in six_one_oh_nine.alternatives] == [
        ["CC"],
        ["CC", "MAXNOM"],
    ]
    assert six_one_oh_nine.alternatives[0][0].except_prefixes == ("60",)
