"""The shipped rule set MCA-2026 (docs/origin-rules.md, its rule table), as data the
secretariat may edit in the admin. A later version is a new RuleSet row, so assessments
already snapshotted on applications never change."""

import datetime
from decimal import Decimal

from django.db import migrations

INSUFFICIENT = [
    "preserving_for_transport", "washing", "cleaning", "sorting", "grading", "sifting",
    "packing", "repacking", "bottling", "labelling", "marking", "simple_mixing",
    "simple_assembly", "cutting", "peeling", "shelling", "husking", "ironing", "polishing",
    "painting", "splitting", "slaughter",
]

# (scopes, goods, alternatives); an alternative is a list of criteria
# (type, pct, except_prefixes, chapters, prefixes); prefix fields accept ranges.
CTH = ("CTH", None, "", "", "")
CC = ("CC", None, "", "", "")


def maxnom(pct):
    return ("MAXNOM", Decimal(pct), "", "", "")


RULES = [
    ([""], "anything else", [[CTH], [maxnom(50)]]),
    (["5201"], "raw cotton", [[("WO", None, "", "", "")]]),
    (["5205"], "cotton yarn", [[("CTH", None, "5204-5207", "", "")]]),
    (["5208"], "cotton woven fabric", [[("CTH", None, "5208-5212", "", "")], [maxnom(40)]]),
    (["6109"], "knitted T-shirts", [[("CC", None, "60", "", "")], [CC, maxnom(40)]]),
    (["6204"], "women's woven garments",
     [[("CC", None, "5111-5113, 5208-5212, 5407-5408, 5512-5516", "", "")], [CC, maxnom(40)]]),
    (["0806", "0813"], "grapes/raisins, dried fruit",
     [[("MATERIALS_WO", None, "", "08", "")]]),
    (["0802"], "nuts", [[("WO", None, "", "", "")]]),
    (["5701"], "knotted carpets", [[("CTH", None, "5106-5113", "", "")]]),
    (["7408"], "copper wire", [[CTH], [maxnom(50)]]),
    (["3102"], "nitrogen fertilisers", [[CTH], [maxnom(40)]]),
    (["2523"], "cement", [[CTH], [maxnom(50)]]),
    (["0401", "0406"], "milk, cheese", [[("MATERIALS_WO", None, "", "04", "")]]),
    (["2009"], "juices", [[CTH, ("MAX_MATERIAL_SHARE", Decimal(30), "", "", "17")]]),
    (["6403"], "leather footwear", [[("CTH", None, "6406", "", "")]]),
    (["5004"], "silk yarn", [[CTH], [maxnom(48)]]),
    (["5007"], "silk fabric", [[("CTH", None, "5004-5006", "", "")], [maxnom(40)]]),
]


def load(apps, schema_editor):
    RuleSet = apps.get_model("registry", "RuleSet")
    Rule = apps.get_model("registry", "Rule")
    Criterion = apps.get_model("registry", "Criterion")
    if RuleSet.objects.filter(code="MCA-2026", version=1).exists():
        return
    rule_set = RuleSet.objects.create(
        code="MCA-2026",
        version=1,
        valid_from=datetime.date(2026, 1, 1),
        valid_until=None,
        tolerance_pct=Decimal(10),
        legal_reference="Joint rules of origin of the Made in Central Asia brand, 2026",
        insufficient_operations=sorted(INSUFFICIENT),
    )
    for scopes, goods, alternatives in RULES:
        for scope in scopes:
            rule = Rule.objects.create(rule_set=rule_set, scope=scope, description=goods)
            for number, criteria in enumerate(alternatives, start=1):
                for position, (kind, pct, excepted, chapters, prefixes) in enumerate(criteria):
                    Criterion.objects.create(
                        rule=rule, alternative=number, position=position, type=kind, pct=pct,
                        except_prefixes=excepted, chapters=chapters, prefixes=prefixes,
                    )


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_hs_nomenclature")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
