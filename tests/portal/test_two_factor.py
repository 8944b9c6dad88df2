"""Two-factor sign-in on the pages: reviewers and the secretariat act only in a session their
authenticator app confirmed; setting an app up (QR code, key as text, a first code, ten
recovery codes shown once and kept hashed); the sign-in's second step, with a code or a
recovery code; the secretariat's reset, audited; manufacturers may choose; the growing
delay after failed sign-ins, and its end; officials' sign-ins in the audit trail."""

import base64
import re

import pytest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP

from certification.core import login_guard
from certification.exceptions import PermissionDenied
from certification.models import Application, AuditEvent
from certification.workflow import accounts
from registry.credentials import sha256
from registry.models import AuthenticatorDevice, RecoveryCode
from tests.credentials import current_code, enrolled, wrong_code
from tests.factories import PASSWORD, ReviewerFactory, SecretariatFactory, UserFactory
from tests.portal.conftest import text

pytestmark = pytest.mark.django_db
S = Application.Status


def sign_in(client, user, password=PASSWORD, **extra):
    return client.post("/account/login/", {"username": user.email, "password": password}, **extra)


def key_of(key_text):
    """The raw key of a key typed in as the page shows it (base32 in groups)."""
    compact = key_text.replace(" ", "")
    return base64.b32decode(compact + "=" * (-len(compact) % 8))


def code_for_key(key_text):
    """The app's code for a key typed in as the page shows it."""
    return f"{TOTP(key_of(key_text)).token():06d}"


# --- Reviewers and the secretariat act only with a second factor --------------------------


def test_a_reviewer_without_a_second_factor_cannot_approve_through_the_pages(client, flow):
    application = flow.application(S.UNDER_REVIEW)
    response = sign_in(client, flow.reviewer)
    # Signed in, but sent to set up an app, and nothing of the workspace opens before.
    setup = "/account/two-factor/setup/?next=%2Fportal%2F"
    assert response.status_code == 302 and response["Location"] == setup
    queue = client.get("/workspace/")
    assert queue["Location"] == "/account/two-factor/setup/?next=%2Fworkspace%2F"
    approve = client.post(f"/workspace/applications/{application.pk}/approve/", {})
    assert approve.status_code == 302
    assert approve["Location"].startswith("/account/two-factor/setup/")
    application.refresh_from_db()
    assert application.status == S.UNDER_REVIEW


def test_a_session_its_app_has_not_confirmed_is_sent_to_type_a_code(client, flow):
    enrolled(flow.reviewer)
    client.force_login(flow.reviewer, second_factor=False)  # say, an app set up elsewhere
    response = client.get("/workspace/")
    assert response["Location"] == "/account/login/code/?next=%2Fworkspace%2F"
    page = client.get(response["Location"])
    assert "Confirm this session" in text(page)
    confirmed = client.post(
        "/account/login/code/", {"code": current_code(flow.reviewer), "next": "/workspace/"}
    )
    assert confirmed["Location"] == "/workspace/"
    assert client.get("/workspace/").status_code == 200


def test_setting_up_an_app_with_its_qr_code_and_key_then_the_recovery_codes(client, flow):
    reviewer = flow.reviewer
    sign_in(client, reviewer)
    page = client.get("/account/two-factor/setup/?next=/workspace/")
    html = text(page)
    assert (
        page.status_code == 200 and "<svg" in html and "QR code for your authenticator app" in html
    )
    key_text = re.search(r'<span class="number" id="key">([A-Z2-7 ]+)</span>', html).group(1)
    # The same key on the next visit until it is confirmed (the phone may be slow).
    assert key_text in text(client.get("/account/two-factor/setup/"))
    wrong = client.post("/account/two-factor/setup/", {"code": wrong_code(key_of(key_text))})
    assert wrong.status_code == 400 and "That code is not right" in text(wrong)
    done = client.post(
        "/account/two-factor/setup/", {"code": code_for_key(key_text), "next": "/workspace/"}
    )
    codes = re.findall(r"<li>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</li>", text(done))
    assert done.status_code == 200 and len(codes) == 10 and done["Cache-Control"] == "no-store"
    # Kept as their SHA-256 only; the key sealed, never as the app shows it.
    device = AuthenticatorDevice.objects.get(user=reviewer)
    assert device.confirmed
    stored = set(RecoveryCode.objects.filter(device=device).values_list("digest", flat=True))
    assert stored == {sha256(code.replace("-", "")) for code in codes}
    assert key_text.replace(" ", "") not in device.sealed_key
    assert AuditEvent.objects.filter(
        action="account.otp_enrolled", target_id=str(reviewer.pk)
    ).exists()
    # The session is confirmed: the workspace opens.
    assert client.get("/workspace/").status_code == 200
    # Shown once: the two-factor page tells how many are left, never which.
    overview = text(client.get("/account/two-factor/"))
    assert "Recovery codes left" in overview and codes[0] not in overview


def test_signing_in_is_the_password_then_the_code(client, flow):
    reviewer = flow.reviewer
    enrolled(reviewer)
    response = sign_in(client, reviewer, next="/workspace/")
    assert response["Location"] == "/account/login/code/"
    assert "_auth_user_id" not in client.session  # nothing signed in before the code
    assert client.get("/workspace/")["Location"].startswith("/account/login/")
    wrong = client.post("/account/login/code/", {"code": wrong_code(reviewer)})
    assert wrong.status_code == 400 and "That code is not right" in text(wrong)
    right = client.post("/account/login/code/", {"code": current_code(reviewer)})
    assert right.status_code == 302
    assert client.session[DEVICE_ID_SESSION_KEY]
    assert client.get("/workspace/").status_code == 200


def test_the_password_step_gives_the_session_a_new_key(client, flow):
    """A session key planted in the browser before the password (session fixation) does not
    carry the sign-in waiting for its code."""
    from django.conf import settings
    from django.test import Client

    reviewer = flow.reviewer
    enrolled(reviewer)
    session = client.session
    session["planted"] = True
    session.save()
    planted = session.session_key
    attacker = Client()
    attacker.cookies[settings.SESSION_COOKIE_NAME] = planted
    assert sign_in(client, reviewer)["Location"] == "/account/login/code/"
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != planted
    # The planted key waits for no code: the attacker's code signs nobody in.
    response = attacker.post("/account/login/code/", {"code": current_code(reviewer)})
    assert response.status_code == 302 and response["Location"] == "/account/login/"
    assert "_auth_user_id" not in attacker.session
    # The browser that gave the password finishes its sign-in.
    done = client.post("/account/login/code/", {"code": current_code(reviewer)})
    assert done.status_code == 302 and int(client.session["_auth_user_id"]) == reviewer.pk


def test_a_code_is_accepted_once(client, flow):
    reviewer = flow.reviewer
    code = current_code(reviewer)
    sign_in(client, reviewer)
    assert client.post("/account/login/code/", {"code": code}).status_code == 302
    client.post("/account/logout/")
    sign_in(client, reviewer)
    again = client.post("/account/login/code/", {"code": code})
    assert again.status_code == 400


def test_a_recovery_code_signs_in_once_and_says_how_many_are_left(client, flow):
    reviewer = flow.reviewer
    codes = enrolled(reviewer).new_recovery_codes()
    sign_in(client, reviewer)
    used = client.post(
        "/account/login/code/", {"code": codes[3].upper().replace("-", " ")}, follow=True
    )
    assert "You signed in with a recovery code; 9 are left." in text(used)
    client.post("/account/logout/")
    sign_in(client, reviewer)
    assert client.post("/account/login/code/", {"code": codes[3]}).status_code == 400
    assert AuditEvent.objects.filter(action="account.recovery_code_used").count() == 1


def test_the_secretariat_resets_a_lost_second_factor_and_it_is_audited(client, flow):
    reviewer = flow.reviewer
    enrolled(reviewer)
    secretariat = SecretariatFactory()
    accounts.two_factor_reset(actor=secretariat, user_id=reviewer.pk)
    assert not AuthenticatorDevice.objects.filter(user=reviewer).exists()
    event = AuditEvent.objects.get(action="account.otp_reset")
    assert (event.actor_id, event.target_id) == (secretariat.pk, str(reviewer.pk))
    # The reviewer sets up an app again at the next sign-in.
    assert sign_in(client, reviewer)["Location"].startswith("/account/two-factor/setup/")
    # Nobody else resets.
    with pytest.raises(PermissionDenied, match="secretariat"):
        accounts.two_factor_reset(actor=ReviewerFactory(), user_id=reviewer.pk)


def test_a_manufacturer_chooses_and_then_signs_in_with_the_app_too(client, manufacturer):
    client.force_login(manufacturer)
    page = text(client.get("/account/two-factor/"))
    assert "Set up two-factor sign-in" in page
    html = text(client.get("/account/two-factor/setup/"))
    key_text = re.search(r'id="key">([A-Z2-7 ]+)</span>', html).group(1)
    client.post("/account/two-factor/setup/", {"code": code_for_key(key_text)})
    client.post("/account/logout/")
    assert sign_in(client, manufacturer)["Location"] == "/account/login/code/"
    client.post("/account/login/code/", {"code": current_code(manufacturer)})
    # Turned off with a code of the app; then the password alone signs in again.
    refused = client.post("/account/two-factor/turn-off/", {"off-code": wrong_code(manufacturer)})
    assert refused.status_code == 400 and "That code is not right" in text(refused)
    off = client.post("/account/two-factor/turn-off/", {"off-code": current_code(manufacturer)})
    assert (
        off.status_code == 302
        and not AuthenticatorDevice.objects.filter(user=manufacturer).exists()
    )
    client.post("/account/logout/")
    assert sign_in(client, manufacturer)["Location"] == "/portal/"


def test_setting_up_an_app_ends_the_accounts_other_sessions_and_keeps_this_one(
    client, manufacturer
):
    from django.test import Client

    other = Client()  # signed in with the password alone, before the app
    other.force_login(manufacturer)
    client.force_login(manufacturer)
    assert other.get("/account/").status_code == 200
    html = text(client.get("/account/two-factor/setup/"))
    key_text = re.search(r'id="key">([A-Z2-7 ]+)</span>', html).group(1)
    done = client.post("/account/two-factor/setup/", {"code": code_for_key(key_text)})
    assert done.status_code == 200 and len(re.findall(r"<li>([a-z2-7-]{19})</li>", text(done)))
    # The older session ends; this one stays signed in, confirmed by the app.
    assert other.get("/account/")["Location"].startswith("/account/login/")
    assert other.get("/account/two-factor/")["Location"].startswith("/account/login/")
    assert client.get("/account/").status_code == 200
    overview = client.get("/account/two-factor/")
    assert overview.status_code == 200 and "Turn off two-factor sign-in" in text(overview)
    assert client.session[DEVICE_ID_SESSION_KEY]


def test_reviewers_may_not_turn_it_off(client, flow):
    client.force_login(flow.reviewer)
    assert "Turn off two-factor sign-in" not in text(client.get("/account/two-factor/"))
    response = client.post(
        "/account/two-factor/turn-off/", {"off-code": current_code(flow.reviewer)}
    )
    assert response.status_code == 400
    assert AuthenticatorDevice.objects.filter(user=flow.reviewer).exists()


def test_new_recovery_codes_replace_the_old_for_a_code_of_the_app(client, flow):
    reviewer = flow.reviewer
    old = enrolled(reviewer).new_recovery_codes()
    client.force_login(reviewer)
    renewed = client.post(
        "/account/two-factor/recovery-codes/", {"renew-code": current_code(reviewer)}
    )
    new = re.findall(r"<li>([a-z2-7-]{19})</li>", text(renewed))
    assert len(new) == 10 and not set(new) & set(old)
    assert RecoveryCode.objects.count() == 10


def test_a_recovery_code_neither_turns_the_app_off_nor_renews_the_codes(client, manufacturer):
    device = enrolled(manufacturer)
    old = device.new_recovery_codes()
    client.force_login(manufacturer)
    client.post("/account/login/code/", {"code": current_code(manufacturer)})
    renewed = client.post("/account/two-factor/recovery-codes/", {"renew-code": old[0]})
    assert renewed.status_code == 400 and "That code is not right" in text(renewed)
    assert not re.findall(r"<li>([a-z2-7-]{19})</li>", text(renewed))
    off = client.post("/account/two-factor/turn-off/", {"off-code": old[1]})
    assert off.status_code == 400 and "That code is not right" in text(off)
    assert AuthenticatorDevice.objects.filter(user=manufacturer).exists()
    # Neither recovery code was used up; the old ones stand, and still sign in.
    remaining = set(RecoveryCode.objects.values_list("digest", flat=True))
    assert remaining == {sha256(code.replace("-", "")) for code in old}
    assert not AuditEvent.objects.filter(
        action__in=["account.otp_disabled", "account.recovery_codes_renewed"]
    ).exists()
    # A code of the app does both.
    renewed = client.post(
        "/account/two-factor/recovery-codes/", {"renew-code": current_code(manufacturer)}
    )
    assert (
        renewed.status_code == 200
        and len(re.findall(r"<li>([a-z2-7-]{19})</li>", text(renewed))) == 10
    )
    off = client.post("/account/two-factor/turn-off/", {"off-code": current_code(manufacturer)})
    assert off.status_code == 302
    assert not AuthenticatorDevice.objects.filter(user=manufacturer).exists()


# --- Failed sign-ins: a growing delay that ends --------------------------------------------


def test_failed_sign_ins_wait_longer_each_time_and_the_wait_ends(client, monkeypatch, settings):
    settings.LOGIN_DELAY_MAX_SECONDS = 8
    now = [1_000_000.0]
    monkeypatch.setattr(login_guard, "clock", lambda: now[0])
    user = UserFactory()
    for _ in range(login_guard.FREE_FAILURES):
        assert sign_in(client, user, "wrong").status_code == 200  # typing mistakes
    waits = []
    for _ in range(5):
        assert sign_in(client, user, "wrong").status_code == 200
        refused = sign_in(client, user)  # even the right password, while it waits
        assert refused.status_code == 429 and "Too many sign-in attempts" in text(refused)
        waits.append(login_guard.wait_seconds(user.email, "127.0.0.1"))
        now[0] += waits[-1]
    assert waits == [1, 2, 4, 8, 8]  # doubling, capped
    # The wait is over: the right password signs in, and the slate is clean.
    assert sign_in(client, user)["Location"] == "/portal/"
    assert login_guard.wait_seconds(user.email, "127.0.0.1") == 0


@pytest.mark.parametrize("after_call", [1, 2, 3])
def test_failures_at_the_same_moment_are_all_counted(monkeypatch, after_call):
    """Another worker's failure lands between this one's steps with the cache (after its
    first, second or third call): both count (before, the count was read and written back,
    and one was lost)."""
    from django.core.cache import cache

    monkeypatch.setattr(login_guard, "clock", lambda: 1_000_000.0)
    email, address = "Someone@Example.org", "203.0.113.9"
    for _ in range(login_guard.FREE_FAILURES - 1):
        login_guard.failed(email, address)

    class Overlapped:
        """The cache, with the other worker's whole failure after this one's n-th call."""

        def __init__(self):
            self.calls = 0

        def __getattr__(self, name):
            method = getattr(cache, name)

            def call(*args, **kwargs):
                result = method(*args, **kwargs)
                self.calls += 1
                if self.calls == after_call:
                    monkeypatch.setattr(login_guard, "cache", cache)
                    login_guard.failed(email, address)  # the other worker
                    monkeypatch.setattr(login_guard, "cache", self)
                return result

            return call

    overlapped = Overlapped()
    monkeypatch.setattr(login_guard, "cache", overlapped)
    login_guard.failed(email, address)
    monkeypatch.setattr(login_guard, "cache", cache)
    assert overlapped.calls >= after_call  # the other worker's failure did land in between
    # FREE_FAILURES + 1 failures in all: the next try waits a second.
    assert login_guard.wait_seconds(email, address) == 1
    assert login_guard.wait_seconds(" someone@example.ORG ", address) == 1


def test_the_delay_and_the_per_account_throttle_name_an_account_alike():
    from certification.api.throttling import LoginAccountThrottle

    digest = login_guard.account_digest(" Someone@Example.org")
    assert LoginAccountThrottle("someone@example.org ").ident == digest
    assert len(digest) == 32 and "someone" not in digest


def test_the_delay_holds_up_the_guessing_address_only(client, monkeypatch):
    monkeypatch.setattr(login_guard, "clock", lambda: 1_000_000.0)
    user = UserFactory()
    for _ in range(login_guard.FREE_FAILURES + 3):
        sign_in(client, user, "wrong", REMOTE_ADDR="203.0.113.9")
    assert sign_in(client, user, REMOTE_ADDR="203.0.113.9").status_code == 429
    assert sign_in(client, user, REMOTE_ADDR="198.51.100.7")["Location"] == "/portal/"


def test_a_known_browser_is_not_held_up_by_attempts_from_elsewhere(monkeypatch, flow, client):
    from django.test import Client
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login_account", "3/h")
    reviewer = flow.reviewer
    sign_in(client, reviewer)  # this browser signed in before (and set up nothing yet)
    client.post("/account/logout/")
    attacker = Client()
    for n in range(5):
        attacker.post(
            "/account/login/",
            {"username": reviewer.email, "password": "guess"},
            REMOTE_ADDR=f"192.0.2.{n}",
        )
    assert sign_in(Client(), reviewer, REMOTE_ADDR="192.0.2.99").status_code == 429
    assert sign_in(client, reviewer).status_code == 302  # its own browser still signs in


def test_an_attacker_repeating_every_hour_holds_up_api_sign_in_not_the_known_browser(
    monkeypatch, flow, client
):
    """What docs/operations.md says of an attacker who knows the email: as long as they go
    on, auth/token/ and new browsers are held up; the known browser and the account's tokens
    are not."""
    import time as clock

    from django.test import Client
    from rest_framework.test import APIClient

    from certification.api import throttling
    from tests.credentials import api_key

    now = [clock.time()]
    monkeypatch.setattr(throttling.SlidingWindowThrottle, "timer", lambda self: now[0])
    reviewer = flow.reviewer
    key = api_key(reviewer)  # a token made before, with its app
    sign_in(client, reviewer)  # this browser signed in before
    client.post("/account/login/code/", {"code": current_code(reviewer)})
    client.post("/account/logout/")
    attacker = Client()
    for hour in range(3):  # the attacker comes back every hour
        for n in range(10):
            attacker.post(
                "/account/login/",
                {"username": reviewer.email, "password": "guess"},
                REMOTE_ADDR=f"192.0.2.{n}",
            )
        api = APIClient().post(
            "/api/v1/auth/token/",
            {"email": reviewer.email, "password": PASSWORD, "otp": current_code(reviewer)},
            format="json",
            REMOTE_ADDR="198.51.100.7",
        )
        assert api.status_code == 429, hour
        assert sign_in(Client(), reviewer, REMOTE_ADDR="198.51.100.8").status_code == 429
        assert sign_in(client, reviewer)["Location"] == "/account/login/code/"
        client.post("/account/login/code/", {"code": current_code(reviewer)})
        assert client.get("/account/").status_code == 200
        client.post("/account/logout/")
        token = APIClient()
        token.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert token.get("/api/v1/applications/").status_code == 200
        now[0] += 3600


def test_officials_sign_ins_and_failures_are_audited_without_the_password(
    client, flow, manufacturer
):
    reviewer = flow.reviewer
    enrolled(reviewer)
    sign_in(client, reviewer, "not-the-Password-1")
    sign_in(client, reviewer)
    client.post("/account/login/code/", {"code": wrong_code(reviewer)})
    client.post("/account/login/code/", {"code": current_code(reviewer)})
    sign_in(client, manufacturer, "wrong")  # not an official: not recorded
    events = AuditEvent.objects.filter(target_type="user", action__startswith="account.sign")
    assert [(e.action, e.data["step"], e.actor_id) for e in events.order_by("id")] == [
        ("account.sign_in_failed", "password", None),
        ("account.sign_in_failed", "second_factor", None),
        ("account.signed_in", "second_factor", reviewer.pk),
    ]
    assert {e.target_id for e in events} == {str(reviewer.pk)}
    assert all(e.data["address"] == "127.0.0.1" and e.data["via"] == "pages" for e in events)
    dumped = str(list(events.values_list("data", "comment")))
    assert "not-the-Password-1" not in dumped and PASSWORD not in dumped


# --- Sessions -------------------------------------------------------------------------------


def test_sign_out_everywhere_ends_every_session_and_keeps_the_tokens(client, manufacturer):
    from django.test import Client

    from tests.credentials import api_key

    key = api_key(manufacturer)
    other = Client()
    other.force_login(manufacturer)
    client.force_login(manufacturer)
    assert other.get("/account/").status_code == 200
    response = client.post("/account/sign-out-everywhere/", follow=True)
    assert "You are signed out everywhere" in text(response)
    assert other.get("/account/")["Location"].startswith("/account/login/")
    assert client.get("/account/")["Location"].startswith("/account/login/")
    assert AuditEvent.objects.filter(action="account.signed_out_everywhere").count() == 1
    api = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/producers/").status_code == 200
    # Signing in again works as before.
    assert sign_in(client, manufacturer)["Location"] == "/portal/"


def test_an_officials_session_ends_after_the_idle_time(client, flow, settings, monkeypatch):
    import time

    settings.SESSION_IDLE_MINUTES = 30
    client.force_login(flow.reviewer)
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start + 29 * 60)
    assert client.get("/workspace/").status_code == 200  # still in time; the clock restarts
    monkeypatch.setattr(time, "time", lambda: start + 58 * 60)
    assert client.get("/workspace/").status_code == 200
    monkeypatch.setattr(time, "time", lambda: start + 89 * 60)
    response = client.get("/workspace/", follow=True)
    assert response.redirect_chain[0][0] == "/account/login/?next=/workspace/"
    assert "You were signed out after 30 minutes without activity." in text(response)


def test_a_manufacturers_session_has_no_idle_limit(client, manufacturer, monkeypatch):
    import time

    client.force_login(manufacturer)
    start = time.time()
    client.get("/account/")
    monkeypatch.setattr(time, "time", lambda: start + 5 * 3600)
    assert client.get("/account/").status_code == 200


def test_session_cookies_are_http_only_and_lax(settings):
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"
