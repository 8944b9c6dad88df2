"""The origin engine (docs/origin-rules.md): plain data in, an assessment out.

Pure functions only: no queries, no writes, nothing of the project is imported, so the
rules can be tested exhaustively and an assessment can be snapshotted as it was made.

Arithmetic is Decimal throughout and comparisons are exact (cross-multiplied, never
rounded before comparing); percentages are rounded only for display. Odd data (missing
or zero ex-works price, missing or negative material values, malformed HS codes, unknown
criterion types) makes the affected criterion fail with a sentence saying why; it never
raises and never divides by zero.

Sentences are rendered with gettext in the language active when `assess` runs; callers
that snapshot an assessment decide that language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation, localcontext
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# Diagonal cumulation: a material from any member state counts as originating.
ZONE = frozenset({"UZ", "KZ", "KG", "TJ", "TM", "AZ"})

# Operations that never confer origin on their own (docs/origin-rules.md, the closed list).
INSUFFICIENT_OPERATIONS = frozenset(
    {
        "preserving_for_transport",
        "washing",
        "cleaning",
        "sorting",
        "grading",
        "sifting",
        "packing",
        "repacking",
        "bottling",
        "labelling",
        "marking",
        "simple_mixing",
        "simple_assembly",
        "cutting",
        "peeling",
        "shelling",
        "husking",
        "ironing",
        "polishing",
        "painting",
        "splitting",
        "slaughter",
    }
)

CRITERION_TYPES = ("WO", "CC", "CTH", "CTSH", "MAXNOM", "RVC", "MATERIALS_WO", "MAX_MATERIAL_SHARE")

# Tariff-shift criteria: how many leading digits of the HS code must change.
TARIFF_SHIFT_DIGITS = {"CC": 2, "CTH": 4, "CTSH": 6}
PCT_CRITERIA = frozenset({"MAXNOM", "RVC", "MAX_MATERIAL_SHARE"})
RULE_LEVELS = {6: "subheading", 4: "heading", 2: "chapter", 0: "default"}

PASS = "PASS"
FAIL = "FAIL"

HUNDRED = Decimal(100)
CENT = Decimal("0.01")
# Enough digits that sums and cross-multiplications of 14-digit amounts stay exact.
PRECISION = 60
# How many materials a sentence names before saying "and N more".
NAMED_MATERIALS = 3

_PREFIX_RE = re.compile(r"[0-9]{2}|[0-9]{4}|[0-9]{6}")
_HS6_RE = re.compile(r"[0-9]{6}")


# --- Input --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MaterialInput:
    description: str
    hs_code: str  # 6 digits
    origin_country: str | None  # ISO alpha-2; None = unknown (counts as non-originating)
    value: Decimal | None  # None = missing


@dataclass(frozen=True)
class ProductInput:
    hs_code: str  # 6 digits
    ex_works_price: Decimal | None
    process_steps: tuple[str, ...]
    materials: tuple[MaterialInput, ...]


@dataclass(frozen=True)
class CriterionSpec:
    type: str  # one of CRITERION_TYPES
    pct: Decimal | None = None  # MAXNOM, RVC, MAX_MATERIAL_SHARE
    # CC/CTH/CTSH: materials under these HS prefixes (2/4/6 digits) must be originating.
    except_prefixes: tuple[str, ...] = ()
    chapters: tuple[str, ...] = ()  # MATERIALS_WO: 2-digit chapters
    prefixes: tuple[str, ...] = ()  # MAX_MATERIAL_SHARE: HS prefixes (2/4/6 digits)


@dataclass(frozen=True)
class RuleSpec:
    scope: str  # "" = the rule set's default, else an HS prefix of 2, 4 or 6 digits
    alternatives: tuple[tuple[CriterionSpec, ...], ...]  # OR of ANDs
    id: int | None = None
    description: str = ""


@dataclass(frozen=True)
class RuleSetSpec:
    code: str
    version: int
    valid_from: date
    valid_until: date | None
    tolerance_pct: Decimal
    legal_reference: str
    rules: tuple[RuleSpec, ...]
    id: int | None = None
    # The rule set's own list of insufficient operations; None or empty means the closed
    # list of docs/origin-rules.md (INSUFFICIENT_OPERATIONS), so an unset list never
    # disables the gate.
    insufficient_operations: frozenset[str] | None = None


# --- Output -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionResult:
    alternative: int  # 0-based index of the alternative (sentences count from 1)
    type: str
    spec: CriterionSpec
    passed: bool
    figures: dict[str, Any]  # JSON-ready: amounts and percentages as strings
    message: str
    tolerance_applied: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "alternative": self.alternative,
            "type": self.type,
            "text": criterion_text(self.spec),
            "params": _spec_params(self.spec),
            "passed": self.passed,
            "tolerance_applied": self.tolerance_applied,
            "figures": self.figures,
            "message": self.message,
        }


@dataclass(frozen=True)
class AlternativeResult:
    index: int  # 0-based
    passed: bool
    criteria: tuple[CriterionResult, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "passed": self.passed,
            "criteria": [c.as_dict() for c in self.criteria],
        }


@dataclass(frozen=True)
class RuleSetRef:
    code: str
    version: int
    id: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "version": self.version, "id": self.id}


@dataclass(frozen=True)
class RuleRef:
    scope: str | None  # None when no rule of the set applies
    level: str  # "subheading", "heading", "chapter", "default", or "none"
    id: int | None
    description: str
    text: str  # the rule in the table's notation, e.g. "CC except chapter 60; or CC and ..."

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "level": self.level,
            "id": self.id,
            "description": self.description,
            "text": self.text,
        }


@dataclass(frozen=True)
class Figures:
    vnm: Decimal | None  # None when a non-originating material's value is missing
    exw: Decimal | None
    vnm_pct: Decimal | None  # None when VNM is unknown or EXW missing or zero
    non_originating: tuple[MaterialInput, ...]
    missing_values: tuple[MaterialInput, ...]

    def as_dict(self) -> dict[str, Any]:
        with _context():
            return {
                "vnm": _money(self.vnm),
                "exw": _money(self.exw),
                "vnm_pct": _pct2(self.vnm_pct),
                "non_originating": [_material_dict(m) for m in self.non_originating],
                "missing_values": [_material_dict(m) for m in self.missing_values],
            }


@dataclass(frozen=True)
class GateResult:
    """The insufficient-operations gate."""

    applies: bool  # only when at least one material is non-originating
    passed: bool
    steps: tuple[str, ...]  # normalised declared steps
    insufficient: tuple[str, ...]  # those of them on the insufficient list
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "applies": self.applies,
            "passed": self.passed,
            "steps": list(self.steps),
            "insufficient": list(self.insufficient),
            "message": self.message,
        }


@dataclass(frozen=True)
class Assessment:
    verdict: str  # PASS or FAIL
    rule_set: RuleSetRef
    rule: RuleRef
    alternatives: tuple[AlternativeResult, ...]
    criteria: tuple[CriterionResult, ...]  # all criteria, alternative by alternative
    figures: Figures
    insufficient_operations: GateResult
    message: str
    passing_alternative: int | None = None  # 0-based index of the first alternative met

    @property
    def passed(self) -> bool:
        return self.verdict == PASS

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable: amounts and percentages are strings ("60.00")."""
        return {
            "verdict": self.verdict,
            "rule_set": self.rule_set.as_dict(),
            "rule": self.rule.as_dict(),
            "criteria": [c.as_dict() for c in self.criteria],
            "alternatives": [a.as_dict() for a in self.alternatives],
            "passing_alternative": self.passing_alternative,
            "figures": self.figures.as_dict(),
            "insufficient_operations": self.insufficient_operations.as_dict(),
            "message": self.message,
        }


# --- Validation (used by the admin to refuse rules the engine cannot evaluate) -------------


def validate_criterion(spec: CriterionSpec) -> list[str]:
    """Problems that make the criterion impossible to evaluate; [] if it is evaluable."""
    kind = spec.type
    if kind not in CRITERION_TYPES:
        return [_("Unknown criterion type %(type)s.") % {"type": kind}]
    problems = []
    if kind in PCT_CRITERIA:
        pct = _as_decimal(spec.pct)
        if spec.pct is None:
            problems.append(_("%(type)s needs a percentage.") % {"type": kind})
        elif pct is None:
            problems.append(
                _("%(type)s needs a percentage, not %(value)s.") % {"type": kind, "value": spec.pct}
            )
        elif pct < 0 or pct > HUNDRED:
            problems.append(
                _("The percentage of %(type)s must be between 0 and 100, not %(value)s.")
                % {"type": kind, "value": spec.pct}
            )
    if kind in TARIFF_SHIFT_DIGITS:
        problems.extend(_prefix_problems(kind, spec.except_prefixes, required=False))
    if kind == "MATERIALS_WO":
        if not spec.chapters:
            problems.append(_("%(type)s needs at least one chapter.") % {"type": kind})
        for chapter in spec.chapters:
            if not (isinstance(chapter, str) and re.fullmatch(r"[0-9]{2}", chapter)):
                problems.append(
                    _("%(type)s: %(chapter)s is not a 2-digit HS chapter.")
                    % {"type": kind, "chapter": chapter}
                )
    if kind == "MAX_MATERIAL_SHARE":
        problems.extend(_prefix_problems(kind, spec.prefixes, required=True))
    return problems


def validate_rule(rule: RuleSpec) -> list[str]:
    """Problems that make the rule impossible to apply; [] if it is evaluable."""
    problems = []
    scope = rule.scope
    if not (isinstance(scope, str) and (scope == "" or _PREFIX_RE.fullmatch(scope))):
        problems.append(
            _(
                "The scope %(scope)s is neither empty (the default rule) nor an HS chapter, "
                "heading or subheading of 2, 4 or 6 digits."
            )
            % {"scope": scope}
        )
    if not rule.alternatives:
        problems.append(_("A rule needs at least one alternative."))
    for number, alternative in enumerate(rule.alternatives, start=1):
        if not alternative:
            problems.append(
                _("Alternative %(number)d needs at least one criterion.") % {"number": number}
            )
        for spec in alternative:
            for problem in validate_criterion(spec):
                problems.append(
                    _("Alternative %(number)d: %(problem)s")
                    % {"number": number, "problem": problem}
                )
    return problems


def _prefix_problems(kind: str, prefixes: Iterable[str], *, required: bool) -> list[str]:
    problems = []
    if required and not prefixes:
        problems.append(_("%(type)s needs at least one HS prefix.") % {"type": kind})
    for prefix in prefixes:
        if not (isinstance(prefix, str) and _PREFIX_RE.fullmatch(prefix)):
            problems.append(
                _("%(type)s: %(prefix)s is not an HS prefix of 2, 4 or 6 digits.")
                % {"type": kind, "prefix": prefix}
            )
    return problems


# --- Selection ----------------------------------------------------------------------------


def select_rule_set(rule_sets: Iterable[RuleSetSpec], on: date) -> RuleSetSpec | None:
    """The rule set in force on `on` (valid_from <= on <= valid_until, or open-ended);
    of several, the highest version. None if none is in force."""
    if isinstance(on, datetime):
        on = on.date()
    in_force = [
        rs
        for rs in rule_sets
        if rs.valid_from is not None
        and rs.valid_from <= on
        and (rs.valid_until is None or on <= rs.valid_until)
    ]
    if not in_force:
        return None
    return max(in_force, key=lambda rs: (rs.version, rs.valid_from))


def select_rule(rule_set: RuleSetSpec, hs_code: str) -> RuleSpec:
    """The most specific rule for an HS code: subheading, heading, chapter, default.
    Raises LookupError when none applies (the set has no default rule)."""
    code = _hs(hs_code)
    by_scope: dict[str, RuleSpec] = {}
    for rule in rule_set.rules:
        by_scope.setdefault(rule.scope, rule)
    for digits in (6, 4, 2):
        if len(code) >= digits and code[:digits] in by_scope:
            return by_scope[code[:digits]]
    if "" in by_scope:
        return by_scope[""]
    raise LookupError(
        f"No rule of {rule_set.code} v{rule_set.version} applies to HS code {hs_code!r} "
        "and the rule set has no default rule."
    )


def rule_level(scope: str) -> str:
    return RULE_LEVELS.get(len(scope), "none") if scope == "" or scope.isdigit() else "none"


# --- Small helpers ------------------------------------------------------------------------


def is_originating(material) -> bool:
    """Originating = origin country in the zone (any letter case); unknown = not."""
    if isinstance(material, Mapping):
        country = material.get("origin_country")
    else:
        country = getattr(material, "origin_country", None)
    return isinstance(country, str) and country.strip().upper() in ZONE


def normalise_step(step: str) -> str:
    """Process step code as compared: lower case, stripped, spaces and hyphens as '_'."""
    if not isinstance(step, str):
        return ""
    return re.sub(r"[\s\-]+", "_", step.strip().lower())


def format_pct(value: Decimal) -> str:
    """A percentage for a sentence: up to two decimals, trailing zeros dropped (60, 33.33)."""
    with _context():
        text = f"{value.quantize(CENT, rounding=ROUND_HALF_UP):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _context():
    """A decimal context with enough precision for exact sums and products."""
    return localcontext(prec=PRECISION)


def _as_decimal(value) -> Decimal | None:
    """A finite Decimal from Decimal, int or a numeric string; None otherwise."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str | float):
        try:
            number = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            return None
    else:
        return None
    return number if number.is_finite() else None


def _amount(value) -> Decimal | None:
    """A usable material value: known and not negative."""
    number = _as_decimal(value)
    return number if number is not None and number >= 0 else None


def _hs(code) -> str:
    return re.sub(r"[\s.]", "", code) if isinstance(code, str) else ""


def _money(value: Decimal | None) -> str | None:
    if value is None:
        return None
    with _context():
        cents = value.quantize(CENT, rounding=ROUND_HALF_UP)
        return f"{cents if cents == value else value:f}"


def _pct2(value: Decimal | None) -> str | None:
    if value is None:
        return None
    with _context():
        return f"{value.quantize(CENT, rounding=ROUND_HALF_UP):f}"


def _pct_of(part: Decimal, whole: Decimal) -> Decimal:
    return part * HUNDRED / whole


def _pct_text(value: Decimal, limit: Decimal | None = None) -> str:
    """A percentage for a sentence; when two-decimal rounding would make it read equal to
    the limit it was compared with, more digits are shown (40.001% above 40%)."""
    text = format_pct(value)
    if limit is not None and value != limit and text == format_pct(limit):
        rounding = ROUND_UP if value > limit else ROUND_DOWN
        with _context():
            precise = value.quantize(Decimal("0.000001"), rounding=rounding).normalize()
        text = f"{precise:f}"
    return text + "%"


def _material_dict(material: MaterialInput) -> dict[str, Any]:
    value = _as_decimal(material.value)
    return {
        "description": material.description,
        "hs_code": material.hs_code,
        "origin_country": material.origin_country,
        "originating": is_originating(material),
        "value": _money(value),
    }


def _material_label(material: MaterialInput) -> str:
    description = (material.description or "").strip() or _("unnamed material")
    country = material.origin_country.strip().upper() if material.origin_country else ""
    return _("%(description)s (HS %(hs_code)s, %(origin)s)") % {
        "description": description,
        "hs_code": _hs(material.hs_code) or "?",
        "origin": country or _("origin unknown"),
    }


def _names(labels: list[str]) -> str:
    """'A, B, C and 2 more' for sentences."""
    shown = ", ".join(labels[:NAMED_MATERIALS])
    rest = len(labels) - NAMED_MATERIALS
    if rest <= 0:
        return shown
    return ngettext("%(names)s and %(count)d more", "%(names)s and %(count)d more", rest) % {
        "names": shown,
        "count": rest,
    }


def _materials_text(materials: Iterable[MaterialInput]) -> str:
    return _names([_material_label(m) for m in materials])


def _largest_text(materials: Iterable[MaterialInput], exw: Decimal) -> str:
    """The largest materials by value, each with its share of EXW."""
    ranked = sorted(materials, key=lambda m: _amount(m.value) or Decimal(0), reverse=True)
    return _names(
        [
            _("%(material)s at %(pct)s")
            % {"material": _material_label(m), "pct": _pct_text(_pct_of(_amount(m.value), exw))}
            for m in ranked
            if _amount(m.value)
        ]
    )


def _prefixes_text(prefixes: Iterable[str]) -> str:
    """('60',) -> 'chapter 60'; ('5204', '5205') -> 'headings 5204, 5205'."""
    groups: dict[int, list[str]] = {}
    for prefix in prefixes:
        groups.setdefault(len(prefix), []).append(prefix)
    parts = []
    for length, codes in groups.items():
        joined = ", ".join(codes)
        if length == 2:
            parts.append(ngettext("chapter %(codes)s", "chapters %(codes)s", len(codes)))
        elif length == 4:
            parts.append(ngettext("heading %(codes)s", "headings %(codes)s", len(codes)))
        elif length == 6:
            parts.append(ngettext("subheading %(codes)s", "subheadings %(codes)s", len(codes)))
        else:
            parts.append(_("HS %(codes)s"))
        parts[-1] = parts[-1] % {"codes": joined}
    return ", ".join(parts)


def criterion_text(spec: CriterionSpec) -> str:
    """A criterion in the rule table's notation: 'CTH except heading 6406', 'MAXNOM 40%'."""
    kind = spec.type
    pct = _as_decimal(spec.pct)
    pct_text = format_pct(pct) + "%" if pct is not None else "?"
    if kind in TARIFF_SHIFT_DIGITS and spec.except_prefixes:
        return _("%(type)s except %(prefixes)s") % {
            "type": kind,
            "prefixes": _prefixes_text(spec.except_prefixes),
        }
    if kind in ("MAXNOM", "RVC"):
        return f"{kind} {pct_text}"
    if kind == "MATERIALS_WO":
        return f"{kind} {_prefixes_text(spec.chapters)}"
    if kind == "MAX_MATERIAL_SHARE":
        return f"{kind} {_prefixes_text(spec.prefixes)} <= {pct_text}"
    return str(kind)


def rule_text(rule: RuleSpec) -> str:
    """'CC except chapter 60; or CC and MAXNOM 40%'."""
    return _("; or ").join(
        _(" and ").join(criterion_text(spec) for spec in alternative)
        for alternative in rule.alternatives
    )


def _spec_params(spec: CriterionSpec) -> dict[str, Any]:
    return {
        "pct": _pct2(_as_decimal(spec.pct)),
        "except_prefixes": list(spec.except_prefixes),
        "chapters": list(spec.chapters),
        "prefixes": list(spec.prefixes),
    }


# --- Assessment ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    """What every criterion looks at, computed once."""

    product_hs: str
    exw_given: Decimal | None  # the price as given (may be zero or negative)
    exw: Decimal | None  # the price if usable for a percentage (> 0), else None
    materials: tuple[MaterialInput, ...]
    non_originating: tuple[MaterialInput, ...]
    tolerance_pct: Decimal
    insufficient_operations: frozenset[str] = field(default=INSUFFICIENT_OPERATIONS)


def assess(product: ProductInput, rule_set: RuleSetSpec) -> Assessment:
    """Assess a product and its bill of materials against a rule set."""
    with _context():
        return _assess(product, rule_set)


def _assess(product: ProductInput, rule_set: RuleSetSpec) -> Assessment:
    materials = tuple(product.materials or ())
    non_originating = tuple(m for m in materials if not is_originating(m))
    exw_given = _as_decimal(product.ex_works_price)
    tolerance = _as_decimal(rule_set.tolerance_pct)
    facts = _Facts(
        product_hs=_hs(product.hs_code),
        exw_given=exw_given,
        exw=exw_given if exw_given is not None and exw_given > 0 else None,
        materials=materials,
        non_originating=non_originating,
        tolerance_pct=tolerance if tolerance is not None and tolerance >= 0 else Decimal(0),
        insufficient_operations=frozenset(
            normalise_step(op) for op in (rule_set.insufficient_operations or ())
        )
        or INSUFFICIENT_OPERATIONS,
    )
    figures = _overall_figures(facts)
    gate = _gate(product, facts)
    rule_set_ref = RuleSetRef(code=rule_set.code, version=rule_set.version, id=rule_set.id)
    rule_set_label = f"{rule_set.code} v{rule_set.version}"

    try:
        rule = select_rule(rule_set, product.hs_code)
    except LookupError:
        message = _("Not originating: no rule of %(rule_set)s applies to HS %(hs)s.") % {
            "rule_set": rule_set_label,
            "hs": facts.product_hs or "?",
        }
        return Assessment(
            verdict=FAIL,
            rule_set=rule_set_ref,
            rule=RuleRef(scope=None, level="none", id=None, description="", text=""),
            alternatives=(),
            criteria=(),
            figures=figures,
            insufficient_operations=gate,
            message=message,
        )

    alternatives = []
    for index, specs in enumerate(rule.alternatives):
        results = tuple(_evaluate(spec, facts, index) for spec in specs)
        passed = bool(results) and all(r.passed for r in results)
        alternatives.append(AlternativeResult(index=index, passed=passed, criteria=results))
    passing = next((a.index for a in alternatives if a.passed), None)
    verdict = PASS if gate.passed and passing is not None else FAIL

    rule_ref = RuleRef(
        scope=rule.scope,
        level=rule_level(rule.scope),
        id=rule.id,
        description=rule.description,
        text=rule_text(rule),
    )
    message = _overall_message(verdict, rule_ref, rule_set_label, alternatives, passing, gate)
    return Assessment(
        verdict=verdict,
        rule_set=rule_set_ref,
        rule=rule_ref,
        alternatives=tuple(alternatives),
        criteria=tuple(c for a in alternatives for c in a.criteria),
        figures=figures,
        insufficient_operations=gate,
        message=message,
        passing_alternative=passing if verdict == PASS else None,
    )


def _overall_figures(facts: _Facts) -> Figures:
    values = [_amount(m.value) for m in facts.non_originating]
    vnm = None if None in values else sum(values, Decimal(0))
    return Figures(
        vnm=vnm,
        exw=facts.exw_given,
        vnm_pct=_pct_of(vnm, facts.exw) if vnm is not None and facts.exw is not None else None,
        non_originating=facts.non_originating,
        missing_values=tuple(m for m in facts.materials if _amount(m.value) is None),
    )


def _gate(product: ProductInput, facts: _Facts) -> GateResult:
    """Insufficient operations (docs/origin-rules.md): with non-originating materials, at
    least one declared step must go beyond the insufficient list."""
    steps = tuple(s for s in (normalise_step(x) for x in product.process_steps or ()) if s)
    insufficient = tuple(s for s in steps if s in facts.insufficient_operations)
    sufficient = tuple(s for s in steps if s not in facts.insufficient_operations)
    applies = bool(facts.non_originating)
    passed = not applies or bool(sufficient)
    if not applies:
        message = _(
            "No non-originating material is used, so the rule on insufficient operations "
            "does not apply."
        )
    elif passed:
        message = _("Sufficient working or processing is declared: %(steps)s.") % {
            "steps": ", ".join(dict.fromkeys(sufficient))
        }
    elif not steps:
        message = _(
            "No process step is declared, so the non-originating materials (%(materials)s) "
            "are not shown to be sufficiently worked or processed."
        ) % {"materials": _materials_text(facts.non_originating)}
    else:
        shown = list(dict.fromkeys(steps))
        message = ngettext(
            "The only declared step, %(steps)s, is an insufficient operation, so the "
            "non-originating materials (%(materials)s) are not sufficiently processed.",
            "Every declared step (%(steps)s) is an insufficient operation, so the "
            "non-originating materials (%(materials)s) are not sufficiently processed.",
            len(shown),
        ) % {"steps": ", ".join(shown), "materials": _materials_text(facts.non_originating)}
    return GateResult(
        applies=applies, passed=passed, steps=steps, insufficient=insufficient, message=message
    )


def _evaluate(spec: CriterionSpec, facts: _Facts, alternative: int) -> CriterionResult:
    problems = validate_criterion(spec)
    if problems:
        return CriterionResult(
            alternative=alternative,
            type=str(spec.type),
            spec=spec,
            passed=False,
            figures={"problems": problems},
            message=_("This criterion cannot be evaluated: %(problems)s")
            % {"problems": " ".join(problems)},
        )
    evaluator = _EVALUATORS[spec.type]
    passed, figures, message, tolerance_applied = evaluator(spec, facts)
    return CriterionResult(
        alternative=alternative,
        type=spec.type,
        spec=spec,
        passed=passed,
        figures=figures,
        message=message,
        tolerance_applied=tolerance_applied,
    )


def _wholly_obtained(spec, facts):
    figures = {"non_originating": [_material_dict(m) for m in facts.non_originating]}
    if not facts.non_originating:
        return True, figures, _("Wholly obtained: no non-originating material is used."), False
    count = len(facts.non_originating)
    message = ngettext(
        "Not wholly obtained: %(materials)s is non-originating.",
        "Not wholly obtained: %(materials)s are non-originating.",
        count,
    ) % {"materials": _materials_text(facts.non_originating)}
    return False, figures, message, False


def _tariff_shift(spec, facts):
    """CC / CTH / CTSH with optional excluded prefixes and the de minimis tolerance."""
    digits = TARIFF_SHIFT_DIGITS[spec.type]
    level = {"CC": _("chapter"), "CTH": _("heading"), "CTSH": _("subheading")}[spec.type]
    figures: dict[str, Any] = {
        "product_hs_code": facts.product_hs,
        "except_prefixes": list(spec.except_prefixes),
        "failing": [],
        "failing_value": None,
        "failing_pct": None,
        "exw": _money(facts.exw_given),
        "tolerance_pct": _pct2(facts.tolerance_pct),
    }
    if not _HS6_RE.fullmatch(facts.product_hs):
        message = _(
            "The product's HS code %(hs_code)s is not a 6-digit code, so the change of "
            "%(level)s cannot be checked."
        ) % {"hs_code": facts.product_hs or "?", "level": level}
        return False, figures, message, False

    failing: list[tuple[MaterialInput, str]] = []
    for material in facts.non_originating:
        code = _hs(material.hs_code)
        excluded = next((p for p in spec.except_prefixes if code.startswith(p)), None)
        if excluded:
            reason = _("%(material)s falls under the excluded %(prefix)s") % {
                "material": _material_label(material),
                "prefix": _prefixes_text([excluded]),
            }
        elif not _HS6_RE.fullmatch(code):
            reason = _("%(material)s has no valid HS code") % {
                "material": _material_label(material)
            }
        elif code[:digits] == facts.product_hs[:digits]:
            reason = _("%(material)s does not change %(level)s") % {
                "material": _material_label(material),
                "level": level,
            }
        else:
            continue
        failing.append((material, reason))

    figures["failing"] = [_material_dict(m) for m, _reason in failing]
    if not failing:
        if facts.non_originating:
            message = _("Every non-originating material changes %(level)s (%(criterion)s).")
        else:
            message = _(
                "No non-originating material is used, so the change of %(level)s "
                "(%(criterion)s) is met."
            )
        return True, figures, message % {"level": level, "criterion": criterion_text(spec)}, False

    reasons = _names([reason for _material, reason in failing])
    values = [_amount(m.value) for m, _reason in failing]
    missing = [m for (m, _reason), v in zip(failing, values, strict=True) if v is None]
    if facts.exw is None:
        message = _(
            "%(reasons)s; the tolerance cannot be applied because the ex-works price is missing."
        ) % {"reasons": reasons}
        return False, figures, message, False
    if missing:
        message = _(
            "%(reasons)s; the tolerance cannot be applied because the value of %(materials)s "
            "is missing."
        ) % {"reasons": reasons, "materials": _materials_text(missing)}
        return False, figures, message, False

    total = sum(values, Decimal(0))
    share = _pct_of(total, facts.exw)
    figures["failing_value"] = _money(total)
    figures["failing_pct"] = _pct2(share)
    # Tolerance (de minimis), inclusive: failing value <= tolerance % of EXW.
    within = total * HUNDRED <= facts.tolerance_pct * facts.exw
    params = {
        "reasons": reasons,
        "pct": _pct_text(share, facts.tolerance_pct),
        "tolerance": _pct_text(facts.tolerance_pct),
    }
    if within:
        message = (
            ngettext(
                "Tolerance applied: %(reasons)s, but it is worth %(pct)s of the ex-works price, "
                "within the %(tolerance)s tolerance.",
                "Tolerance applied: %(reasons)s, but together they are worth %(pct)s of the "
                "ex-works price, within the %(tolerance)s tolerance.",
                len(failing),
            )
            % params
        )
        return True, figures, message, True
    message = (
        ngettext(
            "%(reasons)s, worth %(pct)s of the ex-works price, more than the %(tolerance)s "
            "tolerance.",
            "%(reasons)s, together worth %(pct)s of the ex-works price, more than the "
            "%(tolerance)s tolerance.",
            len(failing),
        )
        % params
    )
    return False, figures, message, False


def _exw_problem(spec, facts) -> str | None:
    if facts.exw is not None:
        return None
    if facts.exw_given is None:
        return _("The ex-works price is missing, so %(criterion)s cannot be computed.") % {
            "criterion": criterion_text(spec)
        }
    return _(
        "The ex-works price is missing (it is %(exw)s), so %(criterion)s cannot be computed."
    ) % {"exw": _money(facts.exw_given), "criterion": criterion_text(spec)}


def _missing_values_message(spec, missing) -> str:
    return ngettext(
        "The value of %(materials)s is missing, so %(criterion)s cannot be computed.",
        "The values of %(materials)s are missing, so %(criterion)s cannot be computed.",
        len(missing),
    ) % {"materials": _materials_text(missing), "criterion": criterion_text(spec)}


def _value_content(spec, facts):
    """MAXNOM (VNM / EXW x 100 <= pct) and RVC build-down ((EXW - VNM) / EXW x 100 >= pct)."""
    limit = _as_decimal(spec.pct)
    figures: dict[str, Any] = {
        "vnm": None,
        "exw": _money(facts.exw_given),
        "vnm_pct": None,
        "limit_pct": _pct2(limit),
        "non_originating": [_material_dict(m) for m in facts.non_originating],
    }
    if spec.type == "RVC":
        figures["rvc_pct"] = None
    problem = _exw_problem(spec, facts)
    if problem:
        return False, figures, problem, False
    missing = [m for m in facts.non_originating if _amount(m.value) is None]
    if missing:
        return False, figures, _missing_values_message(spec, missing), False

    exw = facts.exw
    vnm = sum((_amount(m.value) for m in facts.non_originating), Decimal(0))
    vnm_pct = _pct_of(vnm, exw)
    figures["vnm"] = _money(vnm)
    figures["vnm_pct"] = _pct2(vnm_pct)
    largest = _largest_text(facts.non_originating, exw)
    if spec.type == "MAXNOM":
        passed = vnm * HUNDRED <= limit * exw
        params = {"pct": _pct_text(vnm_pct, limit), "limit": _pct_text(limit)}
        if passed:
            message = (
                _(
                    "Non-originating materials are %(pct)s of the ex-works price, within the "
                    "%(limit)s maximum."
                )
                % params
            )
        else:
            message = _(
                "Non-originating materials are %(pct)s of the ex-works price, above the "
                "%(limit)s maximum (largest: %(materials)s)."
            ) % {**params, "materials": largest}
        return passed, figures, message, False

    rvc_pct = HUNDRED - vnm_pct
    figures["rvc_pct"] = _pct2(rvc_pct)
    passed = (exw - vnm) * HUNDRED >= limit * exw
    params = {"pct": _pct_text(rvc_pct, limit), "limit": _pct_text(limit)}
    if passed:
        message = (
            _(
                "Regional value content is %(pct)s of the ex-works price, at least the "
                "%(limit)s required."
            )
            % params
        )
    else:
        message = _(
            "Regional value content is %(pct)s of the ex-works price, below the %(limit)s "
            "required (largest non-originating: %(materials)s)."
        ) % {**params, "materials": largest}
    return passed, figures, message, False


def _materials_wholly_obtained(spec, facts):
    """MATERIALS_WO: every material of the listed chapters must be originating."""
    chapters = tuple(spec.chapters)
    failing = [m for m in facts.non_originating if _hs(m.hs_code)[:2] in chapters]
    figures = {"chapters": list(chapters), "failing": [_material_dict(m) for m in failing]}
    params = {"chapters": _prefixes_text(chapters)}
    if not failing:
        message = _("Every material of %(chapters)s is originating.") % params
        return True, figures, message, False
    message = ngettext(
        "%(materials)s of %(chapters)s must be originating but is not.",
        "%(materials)s of %(chapters)s must be originating but are not.",
        len(failing),
    ) % {**params, "materials": _materials_text(failing)}
    return False, figures, message, False


def _max_material_share(spec, facts):
    """MAX_MATERIAL_SHARE: all materials (originating or not) under the prefixes together
    at most pct of EXW."""
    limit = _as_decimal(spec.pct)
    prefixes = tuple(spec.prefixes)
    selected = [m for m in facts.materials if _hs(m.hs_code).startswith(prefixes)]
    figures: dict[str, Any] = {
        "prefixes": list(prefixes),
        "materials": [_material_dict(m) for m in selected],
        "value": None,
        "exw": _money(facts.exw_given),
        "share_pct": None,
        "limit_pct": _pct2(limit),
    }
    problem = _exw_problem(spec, facts)
    if problem:
        return False, figures, problem, False
    missing = [m for m in selected if _amount(m.value) is None]
    if missing:
        return False, figures, _missing_values_message(spec, missing), False
    total = sum((_amount(m.value) for m in selected), Decimal(0))
    share = _pct_of(total, facts.exw)
    figures["value"] = _money(total)
    figures["share_pct"] = _pct2(share)
    passed = total * HUNDRED <= limit * facts.exw
    params = {
        "prefixes": _prefixes_text(prefixes),
        "pct": _pct_text(share, limit),
        "limit": _pct_text(limit),
    }
    if passed:
        message = (
            _(
                "Materials of %(prefixes)s are %(pct)s of the ex-works price, within the "
                "%(limit)s maximum."
            )
            % params
        )
    else:
        message = _(
            "Materials of %(prefixes)s (%(materials)s) are %(pct)s of the ex-works price, "
            "above the %(limit)s maximum."
        ) % {**params, "materials": _largest_text(selected, facts.exw)}
    return passed, figures, message, False


_EVALUATORS = {
    "WO": _wholly_obtained,
    "CC": _tariff_shift,
    "CTH": _tariff_shift,
    "CTSH": _tariff_shift,
    "MAXNOM": _value_content,
    "RVC": _value_content,
    "MATERIALS_WO": _materials_wholly_obtained,
    "MAX_MATERIAL_SHARE": _max_material_share,
}


def _overall_message(verdict, rule, rule_set_label, alternatives, passing, gate) -> str:
    rule_label = {
        "subheading": _("the rule for subheading %(scope)s"),
        "heading": _("the rule for heading %(scope)s"),
        "chapter": _("the rule for chapter %(scope)s"),
        "default": _("the default rule"),
    }.get(rule.level, _("the rule %(scope)s")) % {"scope": rule.scope}
    params = {"rule": rule_label, "rule_set": rule_set_label, "text": rule.text}
    several = len(alternatives) > 1

    if verdict == PASS:
        head = _("Originating under %(rule)s of %(rule_set)s (%(text)s).") % params
        reasons = " ".join(c.message for c in alternatives[passing].criteria)
        if several:
            met = _("Alternative %(number)d is met.") % {"number": passing + 1}
            reasons = f"{met} {reasons}"
        return f"{head} {reasons}"

    head = _("Not originating under %(rule)s of %(rule_set)s (%(text)s).") % params
    if not gate.passed:
        # Insufficient operations decide whatever the rule says.
        return f"{head} {gate.message}"
    if not alternatives:
        nothing = _("The rule has no alternative to meet.")
        return f"{head} {nothing}"
    parts = []
    for alternative in alternatives:
        failed = [c.message for c in alternative.criteria if not c.passed]
        reasons = " ".join(failed) or _("The alternative has no criterion.")
        if several:
            reasons = _("Alternative %(number)d: %(reasons)s") % {
                "number": alternative.index + 1,
                "reasons": reasons,
            }
        parts.append(reasons)
    return " ".join([head, *parts])
