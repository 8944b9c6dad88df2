"""Reads that load registry data and hand it to the pure origin engine."""

import copy

from django.conf import settings
from django.db.models import Prefetch, Q
from django.utils import timezone, translation

from registry import origin
from registry.models import Criterion, HSCode, Material, Product, RuleSet


def rule_set_spec(rule_set):
    rules = rule_set.rules.prefetch_related(
        Prefetch("criteria", queryset=Criterion.objects.order_by("alternative", "position", "id"))
    )
    return origin.RuleSetSpec(
        id=rule_set.pk,
        code=rule_set.code,
        version=rule_set.version,
        valid_from=rule_set.valid_from,
        valid_until=rule_set.valid_until,
        tolerance_pct=rule_set.tolerance_pct,
        legal_reference=rule_set.legal_reference,
        insufficient_operations=frozenset(rule_set.insufficient_operations),
        rules=tuple(rule.as_spec(rule.criteria.all()) for rule in rules),
    )


def rule_set_in_force(on=None):
    """The rule set in force on a date (today by default): the highest version whose
    validity covers it. Raises LookupError when none does."""
    on = on or timezone.localdate()
    candidates = RuleSet.objects.filter(valid_from__lte=on).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=on)
    )
    headers = [
        origin.RuleSetSpec(
            id=rs.pk,
            code=rs.code,
            version=rs.version,
            valid_from=rs.valid_from,
            valid_until=rs.valid_until,
            tolerance_pct=rs.tolerance_pct,
            legal_reference=rs.legal_reference,
            rules=(),
        )
        for rs in candidates
    ]
    chosen = origin.select_rule_set(headers, on)
    if chosen is None:
        raise LookupError(f"No origin rule set is in force on {on.isoformat()}.")
    return rule_set_spec(RuleSet.objects.get(pk=chosen.id))


def product_input(product, materials=None):
    """The engine's view of a product and its current bill of materials."""
    if materials is None:
        materials = Material.objects.filter(product=product).order_by("position", "id")
    return origin.ProductInput(
        hs_code=product.hs_code,
        ex_works_price=product.ex_works_price,
        process_steps=tuple(product.process_steps or ()),
        materials=tuple(
            origin.MaterialInput(
                description=m.description,
                hs_code=m.hs_code,
                origin_country=m.origin_country,
                value=m.value,
            )
            for m in materials
        ),
    )


def product_assessment(product, on=None):
    """The origin assessment of a product, as a JSON-serialisable dict, from its current
    bill of materials and the rule set in force."""
    if not isinstance(product, Product):
        product = Product.objects.get(pk=product)
    return origin.assess(product_input(product), rule_set_in_force(on)).as_dict()


def assessment_snapshot(product, on=None):
    """The assessment an application snapshots on submission: product_assessment's, with
    its words (sentences, criteria, the rule) written in every language of the registry
    under "languages", so that the manufacturer, the reviewer and the API's caller each
    read the snapshot in theirs (in_language), exactly as it was made. Raises LookupError
    when no rule set is in force."""
    if not isinstance(product, Product):
        product = Product.objects.get(pk=product)
    data, rules = product_input(product), rule_set_in_force(on)
    assessment = origin.assess(data, rules).as_dict()
    languages = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            languages[code] = _words(origin.assess(data, rules).as_dict())
    assessment["languages"] = languages
    return assessment


def in_language(assessment, language=None):
    """A snapshotted assessment in `language` (the active one by default), without the
    other languages' words; as stored where the snapshot lacks the language (snapshots
    made before they kept every language are in the submitter's)."""
    if not assessment:
        return assessment
    language = (language or translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    result = {key: value for key, value in assessment.items() if key != "languages"}
    words = (assessment.get("languages") or {}).get(language)
    if words is None:
        return result
    result = copy.deepcopy(result)
    result["message"] = words["message"]
    result["rule"]["text"] = words["rule"]
    result["insufficient_operations"]["message"] = words["insufficient_operations"]
    for criterion, (text, message) in zip(result["criteria"], words["criteria"], strict=True):
        criterion["text"], criterion["message"] = text, message
    for alternative, texts in zip(result["alternatives"], words["alternatives"], strict=True):
        for criterion, (text, message) in zip(alternative["criteria"], texts, strict=True):
            criterion["text"], criterion["message"] = text, message
    return result


def _words(assessment):
    """What the engine writes in the active language, in an assessment's order."""
    return {
        "message": assessment["message"],
        "rule": assessment["rule"]["text"],
        "insufficient_operations": assessment["insufficient_operations"]["message"],
        "criteria": [[c["text"], c["message"]] for c in assessment["criteria"]],
        "alternatives": [
            [[c["text"], c["message"]] for c in alternative["criteria"]]
            for alternative in assessment["alternatives"]
        ],
    }


def draft_assessment(product, materials, on=None):
    """The origin assessment of product data not saved (yet): `product` and each of
    `materials` as mappings with the model's field names. Raises LookupError when no rule
    set is in force."""
    product_data = origin.ProductInput(
        hs_code=product["hs_code"],
        ex_works_price=product["ex_works_price"],
        process_steps=tuple(product.get("process_steps") or ()),
        materials=tuple(
            origin.MaterialInput(
                description=m["description"],
                hs_code=m["hs_code"],
                origin_country=m.get("origin_country") or None,
                value=m["value"],
            )
            for m in materials
        ),
    )
    return origin.assess(product_data, rule_set_in_force(on)).as_dict()


def hs_codes_matching(query, limit=8):
    """HS subheadings for a lookup as one types: by the start of the code when the query
    is digits, else by words of the description."""
    query = (query or "").strip()
    if not query:
        return []
    codes = HSCode.objects.filter(level=HSCode.Level.SUBHEADING)
    if query.isdigit():
        codes = codes.filter(code__startswith=query[:6])
    else:
        for word in query.split()[:5]:
            codes = codes.filter(description__icontains=word)
    return list(codes.order_by("code").values("code", "description")[:limit])
