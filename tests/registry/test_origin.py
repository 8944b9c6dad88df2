"""The pure origin engine (docs/origin-rules.md), tested as tables of cases.

No database: the engine takes plain data. MCA_2026 below is an in-test copy of the shipped
rule set, so the real rules are exercised without loading the data migration.
"""

import json
from datetime import date
from decimal import Decimal

import pytest

from registry.origin import (
    CRITERION_TYPES,
    INSUFFICIENT_OPERATIONS,
    ZONE,
    CriterionSpec,
    MaterialInput,
    ProductInput,
    RuleSetSpec,
    RuleSpec,
    assess,
    format_pct,
    is_originating,
    normalise_step,
    select_rule,
    select_rule_set,
    validate_criterion,
    validate_rule,
)

D = Decimal
C = CriterionSpec


def headings(low, high):
    """'5204', '5207' -> ('5204', '5205', '5206', '5207'), as the admin expands ranges."""
    return tuple(str(n).zfill(4) for n in range(int(low), int(high) + 1))


def rule(scope, *alternatives, description="", id=None):
    return RuleSpec(scope=scope, alternatives=tuple(alternatives), id=id, description=description)


def rule_set(
    *rules,
    tolerance="10",
    code="TEST",
    version=1,
    valid_from=date(2026, 1, 1),
    valid_until=None,
    id=None,
    insufficient_operations=None,
):
    return RuleSetSpec(
        code=code,
        version=version,
        valid_from=valid_from,
        valid_until=valid_until,
        tolerance_pct=D(tolerance),
        legal_reference="test",
        rules=tuple(rules),
        id=id,
        insufficient_operations=insufficient_operations,
    )


def only(*criteria, tolerance="10"):
    """A rule set whose default rule is one alternative made of `criteria`."""
    return rule_set(rule("", tuple(criteria)), tolerance=tolerance)


def mat(description, hs_code, origin, value):
    return MaterialInput(
        description=description,
        hs_code=hs_code,
        origin_country=origin,
        value=None if value is None else D(value),
    )


def prod(hs_code, *materials, exw="100.00", steps=("sewing",)):
    return ProductInput(
        hs_code=hs_code,
        ex_works_price=None if exw is None else D(exw),
        process_steps=tuple(steps),
        materials=tuple(materials),
    )


# The shipped rule set of docs/origin-rules.md, as data.
MCA_2026 = rule_set(
    rule("", (C("CTH"),), (C("MAXNOM", D(50)),), description="anything else"),
    rule("5201", (C("WO"),), description="raw cotton"),
    rule("5205", (C("CTH", except_prefixes=headings(5204, 5207)),), description="cotton yarn"),
    rule(
        "5208",
        (C("CTH", except_prefixes=headings(5208, 5212)),),
        (C("MAXNOM", D(40)),),
        description="cotton woven fabric",
    ),
    rule(
        "6109",
        (C("CC", except_prefixes=("60",)),),
        (C("CC"), C("MAXNOM", D(40))),
        description="knitted T-shirts",
    ),
    rule(
        "6204",
        (
            C(
                "CC",
                except_prefixes=headings(5111, 5113)
                + headings(5208, 5212)
                + headings(5407, 5408)
                + headings(5512, 5516),
            ),
        ),
        (C("CC"), C("MAXNOM", D(40))),
        description="women's woven garments",
    ),
    rule("0806", (C("MATERIALS_WO", chapters=("08",)),), description="grapes, raisins"),
    rule("0813", (C("MATERIALS_WO", chapters=("08",)),), description="dried fruit"),
    rule("0802", (C("WO"),), description="nuts"),
    rule("5701", (C("CTH", except_prefixes=headings(5106, 5113)),), description="carpets"),
    rule("7408", (C("CTH"),), (C("MAXNOM", D(50)),), description="copper wire"),
    rule("3102", (C("CTH"),), (C("MAXNOM", D(40)),), description="nitrogen fertilisers"),
    rule("2523", (C("CTH"),), (C("MAXNOM", D(50)),), description="cement"),
    rule("0401", (C("MATERIALS_WO", chapters=("04",)),), description="milk"),
    rule("0406", (C("MATERIALS_WO", chapters=("04",)),), description="cheese"),
    rule(
        "2009",
        (C("CTH"), C("MAX_MATERIAL_SHARE", D(30), prefixes=("17",))),
        description="juices",
    ),
    rule("6403", (C("CTH", except_prefixes=("6406",)),), description="leather footwear"),
    rule("5004", (C("CTH"),), (C("MAXNOM", D(48)),), description="silk yarn"),
    rule(
        "5007",
        (C("CTH", except_prefixes=headings(5004, 5006)),),
        (C("MAXNOM", D(40)),),
        description="silk fabric",
    ),
    code="MCA-2026",
)

FABRIC_CN = mat("Knitted polyester fabric", "600632", "CN", "60.00")


# --- Every criterion type, on a one-criterion rule -----------------------------------------

CRITERION_CASES = [
    # (product, rule set, verdict, tolerance_applied, substrings of the criterion message)
    pytest.param(
        prod("080231", mat("Walnuts in shell", "080231", "UZ", "80")),
        only(C("WO")),
        "PASS",
        False,
        ["no non-originating"],
        id="wo-all-originating",
    ),
    pytest.param(
        prod("080231"),
        only(C("WO")),
        "PASS",
        False,
        [],
        id="wo-no-materials",
    ),
    pytest.param(
        prod("080231", mat("Walnuts", "080231", "UZ", "70"), mat("Salt", "250100", "CN", "1")),
        only(C("WO")),
        "FAIL",
        False,
        ["Salt (HS 250100, CN)", "non-originating"],
        id="wo-one-non-originating",
    ),
    pytest.param(
        prod("610910", mat("Cotton yarn", "520512", "CN", "50")),
        only(C("CC")),
        "PASS",
        False,
        ["changes chapter"],
        id="cc-changes-chapter",
    ),
    pytest.param(
        prod("610910", mat("Knitted cotton shirt blanks", "610290", "CN", "50")),
        only(C("CC")),
        "FAIL",
        False,
        ["Knitted cotton shirt blanks", "does not change chapter", "50%", "10% tolerance"],
        id="cc-same-chapter",
    ),
    pytest.param(
        prod("610910", mat("Knitted fabric", "600632", "CN", "50")),
        only(C("CC", except_prefixes=("60",))),
        "FAIL",
        False,
        ["Knitted fabric", "excluded chapter 60", "50%"],
        id="cc-except-excluded-material",
    ),
    pytest.param(
        prod("610910", mat("Knitted fabric", "600632", "KZ", "50")),
        only(C("CC", except_prefixes=("60",))),
        "PASS",
        False,
        ["No non-originating"],
        id="cc-except-excluded-material-originating",
    ),
    pytest.param(
        prod("520512", mat("Raw cotton", "520100", "CN", "50")),
        only(C("CTH")),
        "PASS",
        False,
        ["changes heading"],
        id="cth-changes-heading",
    ),
    pytest.param(
        prod("520512", mat("Coarser yarn", "520511", "CN", "50")),
        only(C("CTH")),
        "FAIL",
        False,
        ["Coarser yarn", "does not change heading"],
        id="cth-same-heading",
    ),
    pytest.param(
        prod("520512", mat("Coarser yarn", "520511", "CN", "50")),
        only(C("CTSH")),
        "PASS",
        False,
        ["changes subheading"],
        id="ctsh-changes-subheading",
    ),
    pytest.param(
        prod("520512", mat("Same yarn", "520512", "CN", "50")),
        only(C("CTSH")),
        "FAIL",
        False,
        ["Same yarn", "does not change subheading"],
        id="ctsh-same-subheading",
    ),
    pytest.param(
        prod("520512", mat("Unlabelled", "", "CN", "50")),
        only(C("CTH")),
        "FAIL",
        False,
        ["Unlabelled", "no valid HS code"],
        id="cth-material-without-hs-code",
    ),
    pytest.param(
        prod("610910", mat("Fabric", "600632", "CN", "40.00")),
        only(C("MAXNOM", D(40))),
        "PASS",
        False,
        ["40% of the ex-works price", "40% maximum"],
        id="maxnom-exactly-at-limit",
    ),
    pytest.param(
        prod("610910", mat("Fabric", "600632", "CN", "39.99")),
        only(C("MAXNOM", D(40))),
        "PASS",
        False,
        ["39.99%"],
        id="maxnom-just-under",
    ),
    pytest.param(
        prod("610910", mat("Fabric", "600632", "CN", "40.01")),
        only(C("MAXNOM", D(40))),
        "FAIL",
        False,
        ["40.01%", "above the 40% maximum", "Fabric"],
        id="maxnom-just-over",
    ),
    pytest.param(
        prod("610910", mat("Fabric", "600632", "CN", "100.00"), exw="300.00"),
        only(C("MAXNOM", D(40))),
        "PASS",
        False,
        ["33.33%"],
        id="maxnom-two-decimals",
    ),
    pytest.param(
        prod("610910", mat("Fabric", "600632", "CN", "40.001")),
        only(C("MAXNOM", D(40))),
        "FAIL",
        False,
        ["40.001%"],
        id="maxnom-rounding-does-not-hide-the-excess",
    ),
    pytest.param(
        prod("610910", mat("Fabric", "600632", "CN", "60"), mat("Thread", "540110", "UZ", "30")),
        only(C("MAXNOM", D(60))),
        "PASS",
        False,
        ["60%"],
        id="maxnom-counts-only-non-originating",
    ),
    pytest.param(
        prod("610910", mat("Fabric", "600632", "CN", "40.00")),
        only(C("RVC", D(60))),
        "PASS",
        False,
        ["Regional value content is 60%"],
        id="rvc-exactly-at-limit",
    ),
    pytest.param(
        prod("610910", mat("Fabric", "600632", "CN", "40.01")),
        only(C("RVC", D(60))),
        "FAIL",
        False,
        ["59.99%", "below the 60% required", "Fabric"],
        id="rvc-just-under",
    ),
    pytest.param(
        prod("080620", mat("Fresh grapes", "080610", "UZ", "50"), steps=("drying",)),
        only(C("MATERIALS_WO", chapters=("08",))),
        "PASS",
        False,
        ["originating"],
        id="materials-wo-originating",
    ),
    pytest.param(
        prod("080620", mat("Fresh grapes", "080610", "IR", "50"), steps=("drying",)),
        only(C("MATERIALS_WO", chapters=("08",))),
        "FAIL",
        False,
        ["Fresh grapes (HS 080610, IR)", "chapter 08"],
        id="materials-wo-imported",
    ),
    pytest.param(
        prod("080620", mat("Fresh grapes", "080610", None, "50"), steps=("drying",)),
        only(C("MATERIALS_WO", chapters=("08",))),
        "FAIL",
        False,
        ["origin unknown"],
        id="materials-wo-unknown-origin",
    ),
    pytest.param(
        prod(
            "080620",
            mat("Fresh grapes", "080610", "UZ", "50"),
            mat("Carton", "481910", "CN", "5"),
            steps=("drying",),
        ),
        only(C("MATERIALS_WO", chapters=("08",))),
        "PASS",
        False,
        [],
        id="materials-wo-other-chapters-free",
    ),
    pytest.param(
        prod("200911", mat("Sugar", "170199", "UZ", "30.00"), steps=("pressing",)),
        only(C("MAX_MATERIAL_SHARE", D(30), prefixes=("17",))),
        "PASS",
        False,
        ["chapter 17", "30%"],
        id="share-exactly-at-limit",
    ),
    pytest.param(
        prod("200911", mat("Sugar", "170199", "UZ", "30.01"), steps=("pressing",)),
        only(C("MAX_MATERIAL_SHARE", D(30), prefixes=("17",))),
        "FAIL",
        False,
        ["Sugar", "30.01%", "above the 30% maximum"],
        id="share-counts-originating-too",
    ),
    pytest.param(
        prod(
            "200911",
            mat("Cane sugar", "170114", "CN", "20"),
            mat("Glucose syrup", "170230", "UZ", "15"),
            steps=("pressing",),
        ),
        only(C("MAX_MATERIAL_SHARE", D(30), prefixes=("1701", "1702"))),
        "FAIL",
        False,
        ["35%"],
        id="share-sums-all-prefixes",
    ),
]


@pytest.mark.parametrize("product, rules, verdict, tolerance, expected", CRITERION_CASES)
def test_criterion(product, rules, verdict, tolerance, expected):
    result = assess(product, rules)
    assert result.verdict == verdict, result.message
    (criterion,) = result.criteria
    assert criterion.passed is (verdict == "PASS")
    assert criterion.tolerance_applied is tolerance
    for text in expected:
        assert text in criterion.message
        assert text in result.message


# --- Tolerance (de minimis) on tariff-shift criteria ----------------------------------------

TOLERANCE_CASES = [
    # (materials failing CC, EXW, tolerance %, passes)
    pytest.param([("Blanks", "10.00")], "100.00", "10", True, id="exactly-at-limit"),
    pytest.param([("Blanks", "9.99")], "100.00", "10", True, id="just-under"),
    pytest.param([("Blanks", "10.01")], "100.00", "10", False, id="just-over"),
    pytest.param([("Blanks", "100.00")], "1000.00", "10", True, id="at-limit-larger-price"),
    pytest.param([("Blanks", "100.01")], "1000.00", "10", False, id="over-larger-price"),
    pytest.param([("A", "6.00"), ("B", "4.00")], "100.00", "10", True, id="sum-at-limit"),
    pytest.param([("A", "6.00"), ("B", "4.01")], "100.00", "10", False, id="sum-over"),
    pytest.param([("Blanks", "0.01")], "100.00", "0", False, id="zero-tolerance"),
    pytest.param([("Blanks", "15.00")], "100.00", "15", True, id="rule-set-tolerance-15"),
]


@pytest.mark.parametrize("failing, exw, tolerance, passes", TOLERANCE_CASES)
def test_tolerance_on_change_of_chapter(failing, exw, tolerance, passes):
    materials = [mat(name, "610290", "CN", value) for name, value in failing]
    materials.append(mat("Cotton yarn", "520512", "CN", "20.00"))  # changes chapter
    result = assess(prod("610910", *materials, exw=exw), only(C("CC"), tolerance=tolerance))
    (criterion,) = result.criteria
    assert criterion.passed is passes
    assert criterion.tolerance_applied is passes
    assert result.verdict == ("PASS" if passes else "FAIL")
    assert ("Tolerance applied" in criterion.message) is passes
    for name, _value in failing:
        assert name in criterion.message
    assert "Cotton yarn" not in criterion.message
    assert criterion.figures["tolerance_pct"] == f"{D(tolerance):.2f}"


def test_tolerance_message_gives_the_figure():
    product = prod("610910", mat("Knitted blanks", "610290", "CN", "8.00"))
    result = assess(product, only(C("CC")))
    (criterion,) = result.criteria
    assert criterion.tolerance_applied
    assert "Tolerance applied" in criterion.message
    assert "8%" in criterion.message and "10%" in criterion.message
    assert criterion.figures["failing_value"] == "8.00"
    assert criterion.figures["failing_pct"] == "8.00"


def test_tolerance_covers_excluded_materials():
    product = prod("610910", mat("Knitted fabric", "600632", "CN", "5.00"))
    result = assess(product, only(C("CC", except_prefixes=("60",))))
    assert result.verdict == "PASS"
    assert result.criteria[0].tolerance_applied


@pytest.mark.parametrize(
    "product, expected",
    [
        pytest.param(
            prod("610910", mat("Knitted blanks", "610290", "CN", None)),
            ["Knitted blanks", "value", "missing"],
            id="failing-material-value-missing",
        ),
        pytest.param(
            prod("610910", mat("Knitted blanks", "610290", "CN", "1.00"), exw=None),
            ["ex-works price is missing"],
            id="ex-works-price-missing",
        ),
        pytest.param(
            prod("610910", mat("Knitted blanks", "610290", "CN", "0.00"), exw="0"),
            ["ex-works price is missing"],
            id="ex-works-price-zero",
        ),
    ],
)
def test_tolerance_cannot_be_applied_without_figures(product, expected):
    result = assess(product, only(C("CC")))
    (criterion,) = result.criteria
    assert not criterion.passed
    assert not criterion.tolerance_applied
    assert "tolerance cannot be applied" in criterion.message
    for text in expected:
        assert text in criterion.message


# --- Cumulation: what counts as originating -----------------------------------------------

ZONE_ORIGINS = sorted(ZONE) + [code.lower() for code in sorted(ZONE)] + [" uz "]


def test_zone_is_the_six_member_states():
    assert frozenset({"UZ", "KZ", "KG", "TJ", "TM", "AZ"}) == ZONE


@pytest.mark.parametrize("country", ZONE_ORIGINS)
def test_material_from_a_member_state_is_originating(country):
    material = mat("Cotton lint", "520100", country, "50")
    assert is_originating(material)
    result = assess(prod("520100", material, steps=("ginning",)), only(C("WO")))
    assert result.verdict == "PASS"
    assert result.figures.non_originating == ()
    assert result.figures.vnm == 0


@pytest.mark.parametrize("country", ["CN", "RU", "TR", "cn", "IR", "", "  ", None])
def test_material_from_outside_the_zone_or_unknown_is_not_originating(country):
    material = mat("Cotton lint", "520100", country, "50")
    assert not is_originating(material)
    result = assess(prod("520100", material, steps=("ginning",)), only(C("WO")))
    assert result.verdict == "FAIL"
    assert result.figures.non_originating == (material,)
    assert result.figures.vnm == D(50)
    assert "Cotton lint" in result.message


def test_is_originating_accepts_any_object_with_an_origin_country():
    assert is_originating({"origin_country": "tj"})
    assert not is_originating({"origin_country": None})
    assert not is_originating(object())


# --- Insufficient operations --------------------------------------------------------------

GATE_CASES = [
    # (steps, materials, verdict, gate applies, substrings of the overall message)
    pytest.param(
        ("cutting", "packing"),
        [mat("Fabric", "600632", "CN", "10")],
        "FAIL",
        True,
        ["cutting, packing", "insufficient operation", "Fabric"],
        id="only-insufficient-with-non-originating",
    ),
    pytest.param(
        ("Packing",),
        [mat("Fabric", "600632", "CN", "10")],
        "FAIL",
        True,
        ["The only declared step, packing, is an insufficient operation"],
        id="single-insufficient-step",
    ),
    pytest.param(
        (),
        [mat("Fabric", "600632", "CN", "10")],
        "FAIL",
        True,
        ["No process step is declared", "Fabric"],
        id="no-steps-with-non-originating",
    ),
    pytest.param(
        ("  ", ""),
        [mat("Fabric", "600632", "CN", "10")],
        "FAIL",
        True,
        ["No process step is declared"],
        id="blank-steps-count-as-none",
    ),
    pytest.param(
        ("cutting", "sewing", "packing"),
        [mat("Fabric", "600632", "CN", "10")],
        "PASS",
        True,
        [],
        id="mixed-sufficient-and-insufficient",
    ),
    pytest.param(
        ("Simple Mixing", "simple-assembly", " LABELLING "),
        [mat("Parts", "940390", "CN", "10")],
        "FAIL",
        True,
        ["simple_mixing, simple_assembly, labelling"],
        id="steps-are-normalised",
    ),
    pytest.param(
        ("cleaning", "packing"),
        [mat("Walnuts", "080232", "UZ", "60")],
        "PASS",
        False,
        [],
        id="only-insufficient-all-originating",
    ),
    pytest.param(
        (),
        [mat("Walnuts", "080232", "KG", "60")],
        "PASS",
        False,
        [],
        id="no-steps-all-originating",
    ),
    pytest.param(
        ("cleaning",),
        [],
        "PASS",
        False,
        [],
        id="no-materials",
    ),
]


@pytest.mark.parametrize("steps, materials, verdict, applies, expected", GATE_CASES)
def test_insufficient_operations(steps, materials, verdict, applies, expected):
    # The default rule MAXNOM 50 passes every bill here: only the gate can fail it.
    rules = only(C("MAXNOM", D(50)))
    result = assess(prod("940360", *materials, steps=steps), rules)
    assert result.verdict == verdict, result.message
    gate = result.insufficient_operations
    assert gate.applies is applies
    assert gate.passed is (verdict == "PASS")
    assert all(c.passed for c in result.criteria)  # the gate decides whatever the rule
    for text in expected:
        assert text in result.message
        assert text in gate.message


def test_insufficient_operations_is_the_closed_list_of_the_design():
    assert len(INSUFFICIENT_OPERATIONS) == 22
    assert {"cutting", "packing", "simple_mixing", "slaughter"} <= INSUFFICIENT_OPERATIONS
    assert not {"sewing", "spinning", "weaving", "drying", "grinding"} & INSUFFICIENT_OPERATIONS


@pytest.mark.parametrize(
    "raw, normalised",
    [
        ("Simple Mixing", "simple_mixing"),
        ("  simple-assembly ", "simple_assembly"),
        ("PRESERVING FOR TRANSPORT", "preserving_for_transport"),
        ("sewing", "sewing"),
        ("", ""),
    ],
)
def test_normalise_step(raw, normalised):
    assert normalise_step(raw) == normalised


def test_rule_set_may_carry_its_own_list_of_insufficient_operations():
    product = prod("940360", mat("Parts", "940390", "CN", "10"), steps=("sewing",))
    own = rule_set(rule("", (C("MAXNOM", D(50)),)), insufficient_operations=frozenset({"Sewing"}))
    assert assess(product, own).verdict == "FAIL"
    unset = rule_set(rule("", (C("MAXNOM", D(50)),)), insufficient_operations=frozenset())
    assert assess(product, unset).verdict == "PASS"


# --- Rule selection -----------------------------------------------------------------------

LAYERED = rule_set(
    rule("", (C("WO"),), description="default", id=1),
    rule("61", (C("WO"),), description="chapter", id=2),
    rule("6109", (C("WO"),), description="heading", id=3),
    rule("610910", (C("WO"),), description="subheading", id=4),
)


@pytest.mark.parametrize(
    "hs_code, level, scope",
    [
        ("610910", "subheading", "610910"),
        ("610990", "heading", "6109"),
        ("611020", "chapter", "61"),
        ("520100", "default", ""),
    ],
)
def test_most_specific_rule_wins(hs_code, level, scope):
    chosen = select_rule(LAYERED, hs_code)
    assert chosen.scope == scope
    assert chosen.description == level
    result = assess(prod(hs_code), LAYERED)
    assert result.rule.level == level
    assert result.rule.scope == scope
    assert result.rule.id == chosen.id
    assert result.as_dict()["rule"]["level"] == level


def test_rule_order_in_the_set_does_not_matter():
    reversed_set = rule_set(*reversed(LAYERED.rules))
    assert select_rule(reversed_set, "610910").scope == "610910"
    assert select_rule(reversed_set, "611020").scope == "61"


def test_no_rule_and_no_default_is_a_lookup_error_and_a_fail():
    no_default = rule_set(rule("6109", (C("WO"),)))
    with pytest.raises(LookupError):
        select_rule(no_default, "520100")
    result = assess(prod("520100"), no_default)
    assert result.verdict == "FAIL"
    assert result.rule.level == "none"
    assert "520100" in result.message
    json.dumps(result.as_dict())


V1 = rule_set(
    rule("", (C("WO"),)), version=1, valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31)
)
V2 = rule_set(rule("", (C("WO"),)), version=2, valid_from=date(2027, 1, 1))
V1_OPEN = rule_set(rule("", (C("WO"),)), version=1, valid_from=date(2026, 1, 1))
V2_MID = rule_set(rule("", (C("WO"),)), version=2, valid_from=date(2026, 7, 1))


@pytest.mark.parametrize(
    "sets, on, expected",
    [
        pytest.param([V1, V2], date(2025, 12, 31), None, id="before-any"),
        pytest.param([V1, V2], date(2026, 1, 1), V1, id="first-day"),
        pytest.param([V1, V2], date(2026, 12, 31), V1, id="last-day"),
        pytest.param([V1], date(2027, 1, 1), None, id="after-last-day"),
        pytest.param([V1, V2], date(2027, 1, 1), V2, id="next-version-first-day"),
        pytest.param([V2], date(2099, 6, 1), V2, id="open-ended"),
        pytest.param([V1_OPEN, V2_MID], date(2026, 6, 30), V1_OPEN, id="two-versions-before"),
        pytest.param([V1_OPEN, V2_MID], date(2026, 7, 1), V2_MID, id="two-versions-highest"),
        pytest.param([V2_MID, V1_OPEN], date(2026, 8, 1), V2_MID, id="two-versions-any-order"),
        pytest.param([], date(2026, 8, 1), None, id="no-sets"),
    ],
)
def test_select_rule_set(sets, on, expected):
    assert select_rule_set(sets, on) is expected


# --- Missing and odd figures --------------------------------------------------------------

VALUE_CRITERIA = [
    C("MAXNOM", D(40)),
    C("RVC", D(60)),
    C("MAX_MATERIAL_SHARE", D(30), prefixes=("60",)),
]


@pytest.mark.parametrize("criterion", VALUE_CRITERIA, ids=lambda c: c.type)
@pytest.mark.parametrize("exw", [None, "0", "0.00", "-5"], ids=["missing", "0", "0.00", "neg"])
def test_value_criteria_fail_without_ex_works_price(criterion, exw):
    product = prod("610910", mat("Fabric", "600632", "CN", "1.00"), exw=exw)
    result = assess(product, only(criterion))
    assert result.verdict == "FAIL"
    (outcome,) = result.criteria
    assert not outcome.passed
    assert "ex-works price is missing" in outcome.message
    assert result.figures.vnm_pct is None
    json.dumps(result.as_dict())


@pytest.mark.parametrize("criterion", VALUE_CRITERIA, ids=lambda c: c.type)
@pytest.mark.parametrize("value", [None, "-1"], ids=["missing", "negative"])
def test_value_criteria_fail_naming_a_material_without_value(criterion, value):
    product = prod(
        "610910",
        mat("Fabric", "600632", "CN", "1.00"),
        mat("Mystery fabric", "600410", "CN", value),
    )
    result = assess(product, only(criterion))
    (outcome,) = result.criteria
    assert not outcome.passed
    assert "Mystery fabric" in outcome.message
    assert "missing" in outcome.message
    assert result.figures.vnm is None
    assert [m.description for m in result.figures.missing_values] == ["Mystery fabric"]


def test_a_missing_value_a_criterion_does_not_need_is_harmless():
    product = prod("610910", mat("Fabric", "600632", "CN", "30"), mat("Yarn", "520512", "UZ", None))
    assert assess(product, only(C("MAXNOM", D(40)))).verdict == "PASS"
    assert assess(product, only(C("RVC", D(60)))).verdict == "PASS"
    share = only(C("MAX_MATERIAL_SHARE", D(30), prefixes=("60",)))
    assert assess(product, share).verdict == "PASS"


ODD_PRODUCTS = [
    prod("", mat("x", "", None, None), exw=None, steps=()),
    prod("abc", mat("", "12", "ZZ", "-3"), exw="-1"),
    prod("61.09.10", mat("Fabric", "6006.32", "cn", "10"), exw="0"),
    ProductInput(
        hs_code="610910",
        ex_works_price=D("NaN"),
        process_steps=("sewing",),
        materials=(MaterialInput("x", "600632", "CN", D("Infinity")),),
    ),
    ProductInput(hs_code=None, ex_works_price=None, process_steps=(None,), materials=()),
]


@pytest.mark.parametrize("product", ODD_PRODUCTS, ids=lambda p: repr(p.hs_code))
def test_odd_data_never_raises(product):
    result = assess(product, MCA_2026)
    assert result.verdict in ("PASS", "FAIL")
    json.dumps(result.as_dict())


def test_an_unevaluable_criterion_fails_instead_of_raising():
    broken = only(C("MAXNOM"), C("NOPE"))
    result = assess(prod("610910"), broken)
    assert result.verdict == "FAIL"
    assert all("cannot be evaluated" in c.message for c in result.criteria)


@pytest.mark.parametrize(
    "value, text", [(D(60), "60"), (D("33.333"), "33.33"), (D("12.5"), "12.5"), (D(0), "0")]
)
def test_format_pct(value, text):
    assert format_pct(value) == text


# --- Validation ---------------------------------------------------------------------------

INVALID_CRITERIA = [
    pytest.param(C("NOPE"), "Unknown criterion type", id="unknown-type"),
    pytest.param(C("MAXNOM"), "needs a percentage", id="maxnom-without-pct"),
    pytest.param(C("RVC"), "needs a percentage", id="rvc-without-pct"),
    pytest.param(C("MAXNOM", D(-1)), "between 0 and 100", id="negative-pct"),
    pytest.param(C("RVC", D("100.01")), "between 0 and 100", id="pct-over-100"),
    pytest.param(C("MAXNOM", "forty"), "needs a percentage", id="pct-not-a-number"),
    pytest.param(C("CTH", except_prefixes=("520",)), "2, 4 or 6 digits", id="prefix-3-digits"),
    pytest.param(C("CC", except_prefixes=("52a4",)), "2, 4 or 6 digits", id="prefix-letters"),
    pytest.param(C("MATERIALS_WO"), "at least one chapter", id="materials-wo-no-chapter"),
    pytest.param(C("MATERIALS_WO", chapters=("8",)), "2-digit", id="chapter-1-digit"),
    pytest.param(C("MATERIALS_WO", chapters=("0806",)), "2-digit", id="chapter-4-digits"),
    pytest.param(C("MAX_MATERIAL_SHARE", D(30)), "at least one HS prefix", id="share-no-prefix"),
    pytest.param(
        C("MAX_MATERIAL_SHARE", prefixes=("17",)), "needs a percentage", id="share-no-pct"
    ),
    pytest.param(
        C("MAX_MATERIAL_SHARE", D(30), prefixes=("1",)), "2, 4 or 6 digits", id="share-bad-prefix"
    ),
]


@pytest.mark.parametrize("spec, problem", INVALID_CRITERIA)
def test_validate_criterion_refuses(spec, problem):
    problems = validate_criterion(spec)
    assert problems
    assert any(problem in p for p in problems), problems


VALID_CRITERIA = [
    C("WO"),
    C("WO", pct=D(5), chapters=("xx",)),  # stray parameters are ignored
    C("CC", pct=D(200)),
    C("CC", except_prefixes=("60",)),
    C("CTH", except_prefixes=("5204", "5205", "520100")),
    C("CTSH"),
    C("MAXNOM", D(0)),
    C("MAXNOM", D(100)),
    C("RVC", D("45.5")),
    C("MATERIALS_WO", chapters=("08", "04")),
    C("MAX_MATERIAL_SHARE", D(30), prefixes=("17", "1702", "170199")),
]


@pytest.mark.parametrize("spec", VALID_CRITERIA, ids=lambda s: s.type)
def test_validate_criterion_accepts(spec):
    assert validate_criterion(spec) == []


def test_every_criterion_type_is_known():
    assert CRITERION_TYPES == (
        "WO",
        "CC",
        "CTH",
        "CTSH",
        "MAXNOM",
        "RVC",
        "MATERIALS_WO",
        "MAX_MATERIAL_SHARE",
    )
    for kind in CRITERION_TYPES:
        assert "Unknown" not in " ".join(validate_criterion(C(kind)))


@pytest.mark.parametrize(
    "bad_rule, problem",
    [
        pytest.param(rule("610", (C("WO"),)), "neither empty", id="scope-3-digits"),
        pytest.param(rule("61a9", (C("WO"),)), "neither empty", id="scope-letters"),
        pytest.param(rule("6109101", (C("WO"),)), "neither empty", id="scope-7-digits"),
        pytest.param(rule(""), "at least one alternative", id="no-alternative"),
        pytest.param(rule("", (C("WO"),), ()), "Alternative 2 needs", id="empty-alternative"),
        pytest.param(
            rule("", (C("WO"),), (C("MAXNOM"),)),
            "Alternative 2: MAXNOM needs",
            id="invalid-criterion",
        ),
    ],
)
def test_validate_rule_refuses(bad_rule, problem):
    problems = validate_rule(bad_rule)
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize("good_rule", MCA_2026.rules, ids=lambda r: r.scope or "default")
def test_validate_rule_accepts_the_shipped_table(good_rule):
    assert validate_rule(good_rule) == []


# --- The shipped table: the worked example and real goods ---------------------------------


def test_worked_example_t_shirts_from_chinese_fabric_fail():
    """docs/origin-rules.md: knitted T-shirts (610910) sewn in Tashkent from Chinese knitted
    polyester fabric (600632) worth 60% of EXW fail under the rule for 6109."""
    product = prod("610910", FABRIC_CN, steps=("cutting", "sewing"))
    result = assess(product, MCA_2026)
    assert result.verdict == "FAIL"
    assert result.rule.scope == "6109" and result.rule.level == "heading"
    assert [a.passed for a in result.alternatives] == [False, False]
    cc_except, cc, maxnom = result.criteria
    assert (cc_except.type, cc_except.passed, cc_except.alternative) == ("CC", False, 0)
    assert (cc.type, cc.passed, cc.alternative) == ("CC", True, 1)
    assert (maxnom.type, maxnom.passed, maxnom.alternative) == ("MAXNOM", False, 1)
    assert maxnom.figures["vnm_pct"] == "60.00"
    assert "Knitted polyester fabric" in result.message
    assert "60%" in result.message
    assert "Knitted polyester fabric" in cc_except.message
    assert "60%" in maxnom.message


def test_worked_example_as_dict_is_json_with_decimal_strings():
    product = prod(
        "610910", FABRIC_CN, mat("Thread", "540110", "UZ", "2.5"), steps=("cutting", "sewing")
    )
    data = assess(product, MCA_2026).as_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data) >= {
        "verdict",
        "rule_set",
        "rule",
        "criteria",
        "alternatives",
        "figures",
        "insufficient_operations",
        "message",
    }
    assert data["verdict"] == "FAIL"
    assert data["rule_set"] == {"code": "MCA-2026", "version": 1, "id": None}
    assert data["rule"]["scope"] == "6109"
    assert data["rule"]["level"] == "heading"
    assert data["rule"]["description"] == "knitted T-shirts"
    assert data["figures"]["vnm"] == "60.00"
    assert data["figures"]["exw"] == "100.00"
    assert data["figures"]["vnm_pct"] == "60.00"
    assert [m["description"] for m in data["figures"]["non_originating"]] == [
        "Knitted polyester fabric"
    ]
    assert [c["type"] for c in data["criteria"]] == ["CC", "CC", "MAXNOM"]
    assert [c["alternative"] for c in data["criteria"]] == [0, 1, 1]
    assert data["criteria"][2]["figures"]["vnm_pct"] == "60.00"
    assert set(data["criteria"][0]) >= {
        "alternative",
        "type",
        "passed",
        "tolerance_applied",
        "figures",
        "message",
    }
    assert [a["passed"] for a in data["alternatives"]] == [False, False]
    assert data["alternatives"][1]["criteria"] == data["criteria"][1:]
    gate = data["insufficient_operations"]
    assert gate == {**gate, "applies": True, "passed": True, "steps": ["cutting", "sewing"]}
    assert "Decimal" not in json.dumps(data)


def P(hs_code, *materials, exw="100.00", steps=("processing",)):  # noqa: N802
    return prod(hs_code, *materials, exw=exw, steps=steps)


SHIPPED_CASES = [
    # (product, verdict, rule scope, substrings of the message)
    pytest.param(
        P("520100", mat("Seed", "120721", "UZ", "5"), steps=("growing", "ginning")),
        "PASS",
        "5201",
        [],
        id="5201-raw-cotton-grown-in-zone",
    ),
    pytest.param(
        P("520100", mat("Seed", "120721", "TR", "5"), steps=("growing", "ginning")),
        "FAIL",
        "5201",
        ["Seed (HS 120721, TR)"],
        id="5201-imported-seed",
    ),
    pytest.param(
        P("520512", mat("Raw cotton", "520100", "CN", "70"), steps=("spinning",)),
        "PASS",
        "5205",
        [],
        id="5205-yarn-from-raw-cotton",
    ),
    pytest.param(
        P("520512", mat("Cotton yarn", "520613", "CN", "50"), steps=("twisting",)),
        "FAIL",
        "5205",
        ["Cotton yarn", "heading 5206"],
        id="5205-from-excluded-yarn",
    ),
    pytest.param(
        P("520512", mat("Cotton yarn", "520613", "CN", "5"), steps=("twisting",)),
        "PASS",
        "5205",
        ["Tolerance applied"],
        id="5205-excluded-within-tolerance",
    ),
    pytest.param(
        P("520811", mat("Yarn", "520512", "CN", "60"), steps=("weaving",)),
        "PASS",
        "5208",
        [],
        id="5208-fabric-from-yarn",
    ),
    pytest.param(
        P("520812", mat("Greige fabric", "520811", "CN", "50"), steps=("dyeing",)),
        "FAIL",
        "5208",
        ["Greige fabric", "50%", "40%"],
        id="5208-from-fabric",
    ),
    pytest.param(
        P("610910", mat("Yarn", "520512", "CN", "60"), steps=("knitting", "sewing")),
        "PASS",
        "6109",
        [],
        id="6109-from-imported-yarn",
    ),
    pytest.param(
        P("610910", mat("Fabric", "600632", "CN", "30"), steps=("cutting", "sewing")),
        "PASS",
        "6109",
        ["30%"],
        id="6109-fabric-under-40",
    ),
    pytest.param(
        P("610910", mat("Fabric", "600632", "UZ", "60"), steps=("cutting", "sewing")),
        "PASS",
        "6109",
        [],
        id="6109-zone-fabric",
    ),
    pytest.param(
        P("620442", mat("Denim", "520942", "CN", "55"), steps=("sewing",)),
        "FAIL",
        "6204",
        ["Denim", "heading 5209", "55%"],
        id="6204-excluded-fabric",
    ),
    pytest.param(
        P("620442", mat("Denim", "520942", "CN", "35"), steps=("sewing",)),
        "PASS",
        "6204",
        [],
        id="6204-excluded-fabric-under-40",
    ),
    pytest.param(
        P("080620", mat("Grapes", "080610", "UZ", "40"), steps=("drying",)),
        "PASS",
        "0806",
        [],
        id="0806-raisins-from-zone-grapes",
    ),
    pytest.param(
        P("080620", mat("Grapes", "080610", "IR", "40"), steps=("drying",)),
        "FAIL",
        "0806",
        ["Grapes (HS 080610, IR)"],
        id="0806-raisins-from-iran",
    ),
    pytest.param(
        P("081310", mat("Apricots", "080910", "TJ", "40"), steps=("drying",)),
        "PASS",
        "0813",
        [],
        id="0813-dried-apricots-tajik",
    ),
    pytest.param(
        P("080232", mat("Walnuts", "080232", "KG", "60"), steps=("cleaning", "packing")),
        "PASS",
        "0802",
        [],
        id="0802-zone-nuts-cleaned-and-packed",
    ),
    pytest.param(
        P("080232", mat("Walnuts", "080232", "CN", "60"), steps=("cleaning", "packing")),
        "FAIL",
        "0802",
        ["cleaning, packing"],
        id="0802-imported-nuts-repacked",
    ),
    pytest.param(
        P("570110", mat("Wool yarn", "510710", "CN", "40"), steps=("knotting",)),
        "FAIL",
        "5701",
        ["Wool yarn", "heading 5107"],
        id="5701-from-wool-yarn",
    ),
    pytest.param(
        P("570110", mat("Wool", "510111", "CN", "40"), steps=("spinning", "knotting")),
        "PASS",
        "5701",
        [],
        id="5701-from-raw-wool",
    ),
    pytest.param(
        P("740811", mat("Cathodes", "740311", "CN", "80"), steps=("drawing",)),
        "PASS",
        "7408",
        [],
        id="7408-wire-from-cathodes",
    ),
    pytest.param(
        P("310210", mat("Ammonia", "281410", "RU", "60"), steps=("synthesis",)),
        "PASS",
        "3102",
        [],
        id="3102-urea-from-ammonia",
    ),
    pytest.param(
        P("252329", mat("Clinker", "252310", "CN", "45"), steps=("grinding",)),
        "PASS",
        "2523",
        ["45%"],
        id="2523-cement-from-clinker-under-50",
    ),
    pytest.param(
        P("252329", mat("Clinker", "252310", "CN", "55"), steps=("grinding",)),
        "FAIL",
        "2523",
        ["Clinker", "55%", "50%"],
        id="2523-cement-from-clinker-over",
    ),
    pytest.param(
        P("040690", mat("Milk", "040120", "KZ", "60"), steps=("curdling", "ageing")),
        "PASS",
        "0406",
        [],
        id="0406-cheese-from-kazakh-milk",
    ),
    pytest.param(
        P("040690", mat("Milk", "040120", "RU", "60"), steps=("curdling", "ageing")),
        "FAIL",
        "0406",
        ["Milk (HS 040120, RU)"],
        id="0406-cheese-from-russian-milk",
    ),
    pytest.param(
        P("040120", mat("Raw milk", "040110", "AZ", "60"), steps=("pasteurising",)),
        "PASS",
        "0401",
        [],
        id="0401-milk",
    ),
    pytest.param(
        P(
            "200912",
            mat("Oranges", "080510", "CN", "40"),
            mat("Sugar", "170199", "CN", "20"),
            steps=("pressing",),
        ),
        "PASS",
        "2009",
        [],
        id="2009-juice-from-fruit-little-sugar",
    ),
    pytest.param(
        P(
            "200912",
            mat("Oranges", "080510", "UZ", "40"),
            mat("Sugar", "170199", "UZ", "35"),
            steps=("pressing",),
        ),
        "FAIL",
        "2009",
        ["Sugar", "35%", "30%"],
        id="2009-juice-too-much-sugar",
    ),
    pytest.param(
        P("200919", mat("Concentrate", "200919", "CN", "50"), steps=("diluting",)),
        "FAIL",
        "2009",
        ["Concentrate", "does not change heading"],
        id="2009-juice-from-concentrate",
    ),
    pytest.param(
        P("640399", mat("Uppers", "640610", "CN", "30"), steps=("lasting",)),
        "FAIL",
        "6403",
        ["Uppers", "heading 6406"],
        id="6403-from-uppers",
    ),
    pytest.param(
        P("640399", mat("Leather", "410799", "CN", "50"), steps=("cutting", "stitching")),
        "PASS",
        "6403",
        [],
        id="6403-from-leather",
    ),
    pytest.param(
        P("500400", mat("Raw silk", "500200", "CN", "70"), steps=("throwing",)),
        "PASS",
        "5004",
        [],
        id="5004-silk-yarn-from-raw-silk",
    ),
    pytest.param(
        P("500710", mat("Silk yarn", "500400", "CN", "45"), steps=("weaving",)),
        "FAIL",
        "5007",
        ["Silk yarn", "heading 5004", "45%", "40%"],
        id="5007-silk-fabric-from-yarn-over-40",
    ),
    pytest.param(
        P("500710", mat("Silk yarn", "500400", "CN", "35"), steps=("weaving",)),
        "PASS",
        "5007",
        ["35%"],
        id="5007-silk-fabric-from-yarn-under-40",
    ),
    pytest.param(
        P("940360", mat("Timber", "440799", "CN", "70"), steps=("joinery",)),
        "PASS",
        "",
        [],
        id="default-cth",
    ),
    pytest.param(
        P("940360", mat("Parts", "940390", "CN", "45"), steps=("assembly_welding",)),
        "PASS",
        "",
        ["45%"],
        id="default-maxnom",
    ),
    pytest.param(
        P("940360", mat("Parts", "940390", "CN", "60"), steps=("assembly_welding",)),
        "FAIL",
        "",
        ["Parts", "60%", "50%"],
        id="default-neither",
    ),
]


@pytest.mark.parametrize("product, verdict, scope, expected", SHIPPED_CASES)
def test_shipped_rule_set(product, verdict, scope, expected):
    result = assess(product, MCA_2026)
    assert result.rule.scope == scope
    assert result.verdict == verdict, result.message
    for text in expected:
        assert text in result.message
    assert result.passed is (verdict == "PASS")
    assert (result.passing_alternative is not None) is (verdict == "PASS")


def test_pass_message_names_the_rule_and_the_figure():
    product = P("610910", mat("Fabric", "600632", "CN", "30"), steps=("cutting", "sewing"))
    message = assess(product, MCA_2026).message
    assert message.startswith("Originating under the rule for heading 6109 of MCA-2026 v1")
    assert "Alternative 2 is met" in message
    assert "30%" in message and "40%" in message
