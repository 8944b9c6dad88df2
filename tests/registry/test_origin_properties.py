"""Properties of the origin engine that must hold for any bill of materials (hypothesis)."""

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from registry.origin import ZONE, CriterionSpec, MaterialInput, ProductInput, assess
from tests.registry.test_origin import MCA_2026, only

BOUNDED = settings(max_examples=200, deadline=None)

ZONE_ORIGINS = sorted(ZONE) + [code.lower() for code in sorted(ZONE)]
OUTSIDE_ORIGINS = ["CN", "RU", "TR", "IR", "us", None]

# HS codes that meet the shipped rules (products and materials), plus any 6 digits.
KNOWN_CODES = [
    "520100",
    "520512",
    "520613",
    "520811",
    "520942",
    "600632",
    "610910",
    "610290",
    "620442",
    "080610",
    "080620",
    "080232",
    "081310",
    "510710",
    "570110",
    "740311",
    "740811",
    "281410",
    "310210",
    "252310",
    "252329",
    "040120",
    "040690",
    "170199",
    "200912",
    "200919",
    "640610",
    "640399",
    "500200",
    "500400",
    "500710",
    "940360",
    "940390",
    "120721",
]
hs_codes = st.one_of(st.sampled_from(KNOWN_CODES), st.integers(0, 999_999).map("{:06d}".format))


def mostly(usual, rare, one_in=8):
    """`usual`, and now and then `rare` (missing or zero figures)."""
    return st.integers(0, one_in - 1).flatmap(lambda n: rare if n == 0 else usual)


amounts = st.decimals(min_value=0, max_value=1000, places=2)
values = mostly(amounts, st.none())
prices = mostly(
    st.decimals(min_value="0.01", max_value=2000, places=2),
    st.sampled_from([None, Decimal(0)]),
    one_in=6,
)
STEPS = ["cutting", "sewing", "packing", "drying", "Cleaning", "simple mixing", "weaving"]
steps = st.lists(st.sampled_from(STEPS), max_size=3)


ANY_ORIGIN = st.sampled_from(ZONE_ORIGINS + OUTSIDE_ORIGINS)


def materials(origins=ANY_ORIGIN):
    return st.builds(
        MaterialInput,
        description=st.sampled_from(["Fabric", "Yarn", "Sugar", "Parts", "Grapes", "Milk"]),
        hs_code=hs_codes,
        origin_country=origins,
        value=values,
    )


@st.composite
def products(draw, min_materials=0):
    return ProductInput(
        hs_code=draw(hs_codes),
        ex_works_price=draw(prices),
        process_steps=tuple(draw(steps)),
        materials=tuple(draw(st.lists(materials(), min_size=min_materials, max_size=5))),
    )


def with_materials(product, new_materials):
    return ProductInput(
        hs_code=product.hs_code,
        ex_works_price=product.ex_works_price,
        process_steps=product.process_steps,
        materials=tuple(new_materials),
    )


pcts = st.decimals(min_value=0, max_value=100, places=2)
value_rule_sets = st.one_of(
    pcts.map(lambda pct: only(CriterionSpec("MAXNOM", pct))),
    pcts.map(lambda pct: only(CriterionSpec("RVC", pct))),
)


@BOUNDED
@given(
    product=products(),
    rules=value_rule_sets,
    extra=materials(origins=st.sampled_from(OUTSIDE_ORIGINS)),
    position=st.integers(min_value=0),
)
def test_adding_a_non_originating_material_never_turns_fail_into_pass(
    product, rules, extra, position
):
    before = assess(product, rules)
    bom = list(product.materials)
    bom.insert(position % (len(bom) + 1), extra)
    after = assess(with_materials(product, bom), rules)
    assert not (before.verdict == "FAIL" and after.verdict == "PASS"), (
        before.message,
        after.message,
    )


@BOUNDED
@given(
    product=products(min_materials=1),
    index=st.integers(min_value=0),
    outside=st.sampled_from(OUTSIDE_ORIGINS),
    inside=st.sampled_from(ZONE_ORIGINS),
    rules=st.one_of(st.just(MCA_2026), value_rule_sets),
)
def test_moving_a_material_into_the_zone_never_turns_pass_into_fail(
    product, index, outside, inside, rules
):
    """For the whole shipped table, and for bare MAXNOM / RVC rules (which the table's
    CTH alternatives would otherwise mostly mask)."""
    bom = list(product.materials)
    index %= len(bom)
    material = bom[index]
    bom[index] = MaterialInput(material.description, material.hs_code, outside, material.value)
    before = assess(with_materials(product, bom), rules)
    bom[index] = MaterialInput(material.description, material.hs_code, inside, material.value)
    after = assess(with_materials(product, bom), rules)
    assert not (before.verdict == "PASS" and after.verdict == "FAIL"), (
        before.message,
        after.message,
    )


@BOUNDED
@given(data=st.data(), product=products())
def test_verdict_does_not_depend_on_material_order(data, product):
    shuffled = data.draw(st.permutations(product.materials))
    first = assess(product, MCA_2026)
    second = assess(with_materials(product, shuffled), MCA_2026)
    assert first.verdict == second.verdict
    assert [c.passed for c in first.criteria] == [c.passed for c in second.criteria]
    assert first.figures.vnm == second.figures.vnm


@BOUNDED
@given(product=products())
def test_any_bill_gives_a_json_serialisable_assessment(product):
    result = assess(product, MCA_2026)
    data = json.loads(json.dumps(result.as_dict()))
    assert data["verdict"] in ("PASS", "FAIL")
    assert data["message"]
    # PASS needs the gate and one whole alternative.
    if data["verdict"] == "PASS":
        assert data["insufficient_operations"]["passed"]
        assert any(a["passed"] for a in data["alternatives"])
