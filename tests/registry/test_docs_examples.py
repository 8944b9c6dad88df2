"""docs/origin-rules.md says what the engine says: the MCA-2026 table is the rule set the
migration loads, the list of insufficient operations is the engine's, and the worked
example's sentences are the engine's, word for word."""

import datetime
import re
from decimal import Decimal
from pathlib import Path

import pytest

from registry import origin
from registry.selectors import rule_set_in_force

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "origin-rules.md"
TEXT = DOCUMENT.read_text()
FLAT = " ".join(TEXT.split())  # sentences may wrap anywhere in the document

pytestmark = pytest.mark.django_db


@pytest.fixture
def mca_2026():
    rule_set = rule_set_in_force(datetime.date(2026, 6, 1))
    assert (rule_set.code, rule_set.version) == ("MCA-2026", 1)
    return rule_set


def _ranges(match):
    """'headings 5204, 5205, 5206, 5207' as the table writes it: 'headings 5204–5207'."""
    codes = [int(code) for code in match[2].split(", ")]
    runs = []
    for code in codes:
        if runs and code == runs[-1][1] + 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return f"{match[1]} " + ", ".join(
        f"{low}–{high}" if high > low else f"{low}" for low, high in runs
    )


def _table_rules():
    """{scope: rule text} from the document's MCA-2026 table."""
    section = TEXT.split("## The MCA-2026 rule set", 1)[1].split("\n## ", 1)[0]
    rules = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("scope", "---"):
            continue
        for scope in cells[0].split(", "):
            rules["" if scope == "default" else scope] = cells[2]
    return rules


def test_the_table_is_the_rule_set_the_migration_loads(mca_2026):
    shipped = {
        rule.scope: re.sub(r"(headings?) ((?:\d{4}, )*\d{4})", _ranges, origin.rule_text(rule))
        for rule in mca_2026.rules
    }
    assert _table_rules() == shipped
    assert mca_2026.tolerance_pct == Decimal(10) and "tolerance 10%" in FLAT
    assert mca_2026.valid_from == datetime.date(2026, 1, 1) and mca_2026.valid_until is None


def test_the_insufficient_operations_are_the_engines(mca_2026):
    paragraph = TEXT.split("`preserving_for_transport`", 1)[1].split("\n\n", 1)[0]
    listed = {"preserving_for_transport", *re.findall(r"`([a-z_]+)`", paragraph)}
    assert listed == origin.INSUFFICIENT_OPERATIONS == mca_2026.insufficient_operations


STEPS = ("cutting", "sewing", "ironing", "packing")


def _shirt(fabric_origin="CN", fabric_value="60.00", steps=STEPS):
    """The worked example's T-shirt, with one thing changed."""
    fabric = origin.MaterialInput(
        "Knitted polyester fabric", "600632", fabric_origin, Decimal(fabric_value)
    )
    thread = origin.MaterialInput("Polyester sewing thread", "540110", "KZ", Decimal("2.00"))
    return origin.ProductInput(
        hs_code="610910",
        ex_works_price=Decimal("100.00"),
        process_steps=steps,
        materials=(fabric, thread),
    )


def test_the_worked_example_reads_as_the_engine_writes_it(mca_2026):
    assessment = origin.assess(_shirt(), mca_2026).as_dict()
    assert assessment["verdict"] == "FAIL"
    assert assessment["rule"]["scope"] == "6109"
    assert [(c["alternative"], c["text"], c["passed"]) for c in assessment["criteria"]] == [
        (0, "CC except chapter 60", False),
        (1, "CC", True),
        (1, "MAXNOM 40%", False),
    ]
    sentences = [c["message"] for c in assessment["criteria"]]
    sentences += [assessment["insufficient_operations"]["message"], assessment["message"]]
    for sentence in sentences:
        assert sentence in FLAT


@pytest.mark.parametrize(
    ("change", "verdict", "alternative", "tolerance"),
    [
        ({"fabric_value": "35.00"}, "PASS", 1, False),
        ({"fabric_value": "8.00"}, "PASS", 0, True),
        ({"fabric_origin": "KZ"}, "PASS", 0, False),
        ({"fabric_origin": None}, "FAIL", None, False),
        ({"steps": ("cutting", "packing")}, "FAIL", None, False),
    ],
)
def test_the_variants_of_the_worked_example(mca_2026, change, verdict, alternative, tolerance):
    assessment = origin.assess(_shirt(**change), mca_2026).as_dict()
    assert assessment["verdict"] == verdict
    assert assessment["passing_alternative"] == alternative
    assert any(c["tolerance_applied"] for c in assessment["criteria"]) == tolerance
    if "steps" in change:
        assert not assessment["insufficient_operations"]["passed"]
