"""The demo's sample certificates read, through verification, the statuses they stand for."""

import io

import pytest
from django.core.management import call_command

from certification.core import lifecycle
from certification.core.numbering import MEMBER_STATES
from certification.demo import EXPECTED_STATUS, RENEWAL_DAYS_LEFT, SAMPLES, seed_certificates
from certification.models import Application, Certificate
from certification.verification.lookup import find, verify_number
from certification.verification.signing import verify_token
from registry.demo import seed_demo

pytestmark = pytest.mark.django_db


def test_demo_certificates_read_the_stated_statuses():
    seed_demo()
    samples = seed_certificates()
    assert len(samples) == sum(len(kinds) for _state, _product, kinds in SAMPLES)
    for kind, number, product, _state, _note in samples:
        result = verify_number(number)
        assert result["status"] == EXPECTED_STATUS[kind], (kind, number, product)
        assert result["product"]["name"] == product
    results = [(state, verify_number(number)["status"]) for _k, number, _p, state, _n in samples]
    valid_states = {state for state, status in results if status == "valid"}
    assert valid_states == set(MEMBER_STATES)
    statuses = {status for _state, status in results}
    assert statuses == {"valid", "not_yet_valid", "suspended", "revoked", "expired"}


def test_demo_renewal_starts_the_day_after_the_renewed_certificate_ends():
    seed_demo()
    samples = dict((kind, number) for kind, number, *_rest in seed_certificates())
    renewed = Certificate.objects.get(number=samples["renewed"])
    renewal = Certificate.objects.get(number=samples["renewal"])
    assert renewal.renews_id == renewed.pk
    assert (renewal.valid_from - renewed.valid_until).days == 1


def test_demo_revoked_and_suspended_carry_their_reasons_and_moved_dates_are_signed():
    seed_demo()
    samples = dict((kind, number) for kind, number, *_rest in seed_certificates())
    for kind in ("revoked", "suspended"):
        found = find(samples[kind])
        assert found.stopped and found.record.status_reason and found.status_changed_on
    expired = Certificate.objects.get(number=samples["expired"])
    claims = verify_token(expired.token)
    assert claims["sub"] == expired.number and claims["iat"] < claims["exp"]


def test_seed_demo_is_idempotent_and_prints_each_sample_with_its_status():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    count = Certificate.objects.count()
    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert Certificate.objects.count() == count
    printed = again.getvalue()
    for certificate in Certificate.objects.all():
        assert certificate.number in printed
    for status in ("valid", "not_yet_valid", "suspended", "revoked", "expired"):
        assert f"  {status} " in printed
    assert "/verify/" in printed and "?t=" in printed


def test_one_demo_manufacturer_sees_every_status_and_open_applications(client):
    from registry.demo import DEMO_DOMAIN, DEMO_PASSWORD

    call_command("seed_demo", stdout=io.StringIO())
    applications = Application.objects.filter(producer__legal_name="Toshkent Textile LLC")
    open_statuses = set(applications.values_list("status", flat=True))
    assert {"draft", "submitted", "changes_requested"} <= open_statuses
    before = sorted(applications.values_list("pk", "status"))
    call_command("seed_demo", stdout=io.StringIO())  # idempotent: no second set
    assert sorted(applications.values_list("pk", "status")) == before

    assert client.login(email=f"maker1-uz@{DEMO_DOMAIN}", password=DEMO_PASSWORD)
    renewed = Certificate.objects.get(renewed_by__isnull=False)

    def days_left():
        return (renewed.valid_until - lifecycle.today_in(renewed.member_state)).days

    before = days_left()  # 30 unless Uzbekistan's midnight passed since the seed
    page = client.get("/portal/certificates/").content.decode()
    after = days_left()  # the page's day was one of these two
    for status in ("not yet valid", "suspended", "revoked", "expired", "valid"):
        assert f">{status}</span>" in page or f">\n{status}" in page, status
    assert before in (RENEWAL_DAYS_LEFT, RENEWAL_DAYS_LEFT - 1)
    assert f"expires in {before} days" in page or f"expires in {after} days" in page
    overview = client.get("/portal/").content.decode()
    assert "Changes requested" in overview and "Please upload the invoice" in overview


def test_seed_demo_gives_the_officials_a_printed_demo_key_on_the_embedded_default_only(
    client, settings
):
    import shlex
    import subprocess
    import sys

    from django.core.management import CommandError

    from registry.demo import DEMO_DOMAIN, DEMO_PASSWORD, DEMO_TOTP_KEY_BASE32
    from registry.models import AuthenticatorDevice

    out = io.StringIO()
    call_command("seed_demo", stdout=out)  # DEBUG is false in tests: as in production
    assert not AuthenticatorDevice.objects.exists()
    assert "sets up an authenticator app at its first sign-in" in out.getvalue()
    with pytest.raises(CommandError, match="only on the embedded default"):
        call_command("seed_demo", "--demo-second-factor", stdout=io.StringIO())

    settings.DEBUG = True  # the embedded default
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    printed = out.getvalue()
    assert "DEMO ONLY, EMBEDDED DEFAULT" in printed and DEMO_TOTP_KEY_BASE32 in printed
    assert AuthenticatorDevice.objects.filter(user__role="reviewer").count() == 6
    assert AuthenticatorDevice.objects.filter(user__role="secretariat").count() == 1
    assert not AuthenticatorDevice.objects.filter(user__role__in=["customs", "manufacturer"])
    # The printed one-liner gives the code a newcomer signs in with.
    line = next(line.strip() for line in printed.splitlines() if "python3 -c" in line)
    command = shlex.split(line)
    code = subprocess.run(  # noqa: S603
        [sys.executable, *command[1:]], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()
    email = f"reviewer-uz@{DEMO_DOMAIN}"
    client.post("/account/login/", {"username": email, "password": DEMO_PASSWORD})
    assert client.post("/account/login/code/", {"code": code})["Location"] == "/portal/"
    assert client.get("/workspace/").status_code == 200
