"""The six member states and their national authorities (docs/architecture.md).
Names and validity are the secretariat's to edit afterwards in the admin."""

from django.db import migrations

STATES = [
    # code, name, language, IANA time zone, authority
    ("UZ", "Uzbekistan", "uz", "Asia/Tashkent",
     "Ministry of Investment, Industry and Trade of the Republic of Uzbekistan"),
    ("KZ", "Kazakhstan", "kk", "Asia/Almaty",
     "Ministry of Trade and Integration of the Republic of Kazakhstan"),
    ("KG", "Kyrgyzstan", "ky", "Asia/Bishkek",
     "Ministry of Economy and Commerce of the Kyrgyz Republic"),
    ("TJ", "Tajikistan", "tg", "Asia/Dushanbe",
     "Ministry of Economic Development and Trade of the Republic of Tajikistan"),
    ("TM", "Turkmenistan", "tk", "Asia/Ashgabat",
     "Ministry of Trade and Foreign Economic Relations of Turkmenistan"),
    ("AZ", "Azerbaijan", "az", "Asia/Baku",
     "Ministry of Economy of the Republic of Azerbaijan"),
]


def load(apps, schema_editor):
    MemberState = apps.get_model("registry", "MemberState")
    Authority = apps.get_model("registry", "Authority")
    for code, name, language, zone, authority in STATES:
        state, _ = MemberState.objects.update_or_create(
            code=code, defaults={"name": name, "language": language, "time_zone": zone}
        )
        Authority.objects.get_or_create(
            member_state=state, defaults={"name": authority, "certificate_validity_months": 24}
        )


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
