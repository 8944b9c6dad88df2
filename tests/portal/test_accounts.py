"""Account pages: sign up, sign in and its limits, sign out, the account's language,
password change and reset. Asserted as a person meets them: the page's text, the error
summary, the rows written, the email sent."""

import re

import pytest
from django.core import mail
from rest_framework.throttling import SimpleRateThrottle

from certification.models import AuditEvent
from registry.models import User
from tests.factories import PASSWORD, ReviewerFactory, UserFactory

pytestmark = pytest.mark.django_db


def text(response):
    return response.content.decode()


def test_a_newcomer_finds_sign_up_from_the_home_page(client):
    home = text(client.get("/"))
    assert 'href="/account/signup/"' in home and 'href="/account/login/"' in home


def test_sign_up_opens_a_manufacturer_account_and_signs_in(client):
    response = client.post(
        "/account/signup/",
        {"full_name": "Dilnoza Karimova", "email": " Dilnoza@Example.UZ ", "password": PASSWORD},
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    assert response.status_code == 302 and response["Location"] == "/portal/producers/"
    user = User.objects.get(email="dilnoza@example.uz")
    assert user.role == User.Role.MANUFACTURER and user.full_name == "Dilnoza Karimova"
    assert user.language == "ru"  # the language the page was served in
    assert AuditEvent.objects.filter(action="account.registered", target_id=str(user.pk)).exists()
    page = text(client.get("/account/"))
    assert "dilnoza@example.uz" in page


def test_a_failed_sign_up_keeps_what_was_typed_and_lists_the_errors_on_top(client):
    response = client.post(
        "/account/signup/", {"full_name": "Aziz", "email": "aziz@example.uz", "password": "123"}
    )
    assert response.status_code == 400
    page = text(response)
    summary = page[
        page.index('class="error-summary"') : page.index(
            "</div>", page.index('class="error-summary"')
        )
    ]
    assert "There is a problem" in summary
    assert 'href="#id_password"' in summary and "too short" in summary
    assert 'value="aziz@example.uz"' in page and 'value="Aziz"' in page  # nothing lost
    assert (
        'aria-invalid="true"' in page
        and 'aria-describedby="id_password-hint id_password-error"' in page
    )
    assert "<title>Error:" in page
    assert not User.objects.filter(email="aziz@example.uz").exists()


def test_a_taken_email_is_a_form_error_and_no_second_account(client, manufacturer):
    response = client.post(
        "/account/signup/",
        {"full_name": "Someone", "email": manufacturer.email.upper(), "password": PASSWORD},
    )
    assert response.status_code == 400
    assert "An account with this email already exists." in text(response)
    assert User.objects.filter(email=manufacturer.email).count() == 1


def test_sign_in_with_the_right_password_serves_the_accounts_language(client):
    user = UserFactory(language="uz")
    response = client.post("/account/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert response.cookies["django_language"].value == "uz"
    assert client.get("/account/").context["user"] == user


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(client, manufacturer):
    wrong = text(client.post("/account/login/", {"username": manufacturer.email, "password": "x"}))
    unknown = text(
        client.post("/account/login/", {"username": "nobody@example.org", "password": "x"})
    )
    message = "The email address or the password is not right. Check both and try again."
    assert message in wrong and message in unknown
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"|value="[^"]*@[^"]*"')
    assert strip.sub("", wrong) == strip.sub("", unknown)


def test_sign_in_is_limited_per_account_from_any_address(client, monkeypatch, manufacturer):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login_account", "3/h")
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        response = client.post(
            "/account/login/",
            {"username": manufacturer.email, "password": "wrong"},
            REMOTE_ADDR=address,
        )
        assert response.status_code == 200
    # The right password from a fourth address: still refused until the hour has passed.
    response = client.post(
        "/account/login/",
        {"username": manufacturer.email, "password": PASSWORD},
        REMOTE_ADDR="10.0.0.4",
    )
    assert response.status_code == 429
    assert "Too many sign-in attempts." in text(response)
    assert "_auth_user_id" not in client.session
    # Another account is not held up.
    other = UserFactory()
    response = client.post(
        "/account/login/", {"username": other.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.4"
    )
    assert response.status_code == 302


def test_sign_in_is_limited_per_address(client, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login", "2/min")
    for n in range(2):
        client.post("/account/login/", {"username": f"a{n}@example.org", "password": "x"})
    response = client.post("/account/login/", {"username": "a3@example.org", "password": "x"})
    assert response.status_code == 429 and "Too many sign-in attempts." in text(response)


def test_sign_out_is_a_post_and_ends_the_session(client, manufacturer):
    client.force_login(manufacturer)
    assert client.get("/account/logout/").status_code == 405
    response = client.post("/account/logout/", follow=True)
    assert "You are signed out." in text(response)
    assert client.get("/account/").status_code == 302  # to sign in


def test_pages_that_need_an_account_send_to_sign_in_and_back(client):
    response = client.get("/account/password/")
    assert response.status_code == 302
    assert response["Location"] == "/account/login/?next=/account/password/"


def test_the_account_page_changes_name_and_language_with_an_audit_event(client, manufacturer):
    client.force_login(manufacturer)
    response = client.post("/account/", {"full_name": "Nodira Aliyeva", "language": "kk"})
    assert response.status_code == 302
    manufacturer.refresh_from_db()
    assert manufacturer.language == "kk" and manufacturer.full_name == "Nodira Aliyeva"
    assert response.cookies["django_language"].value == "kk"
    event = AuditEvent.objects.get(action="account.updated", target_id=str(manufacturer.pk))
    assert event.data == {"fields": ["full_name", "language"]}


def test_an_unknown_language_is_refused_and_nothing_changes(client, manufacturer):
    client.force_login(manufacturer)
    response = client.post("/account/", {"full_name": "X", "language": "fr"})
    assert response.status_code == 400 and 'href="#id_language"' in text(response)
    manufacturer.refresh_from_db()
    assert manufacturer.language == "en" and manufacturer.full_name != "X"


def test_password_change_asks_for_the_old_one(client, manufacturer):
    client.force_login(manufacturer)
    new = "another-Long-passphrase-42"
    refused = client.post(
        "/account/password/",
        {"old_password": "wrong", "new_password1": new, "new_password2": new},
    )
    assert refused.status_code == 200 and 'href="#id_old_password"' in text(refused)
    done = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        follow=True,
    )
    assert "Your password is changed." in text(done)
    manufacturer.refresh_from_db()
    assert manufacturer.check_password(new)


def test_password_reset_answers_alike_and_mails_only_a_real_account(client, settings):
    settings.PUBLIC_BASE_URL = "https://registry.example.org"
    user = ReviewerFactory()
    known = client.post("/account/password/reset/", {"email": user.email})
    unknown = client.post("/account/password/reset/", {"email": "nobody@example.org"})
    assert known["Location"] == unknown["Location"] == "/account/password/reset/sent/"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
    link = re.search(
        r"https://registry\.example\.org(/account/password/reset/\S+/)", mail.outbox[0].body
    )
    assert link, mail.outbox[0].body
    form = client.get(link.group(1), follow=True)
    assert "Choose a new password" in text(form)
    new = "fresh-Passphrase-for-2027"
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}, follow=True
    )
    assert "Your password is set. Sign in with it." in text(done)
    user.refresh_from_db()
    assert user.check_password(new)
    # The link works once.
    again = client.get(link.group(1), follow=True)
    assert "This link does not work any more" in text(again)


def test_the_language_switcher_works_without_javascript(client):
    response = client.post("/i18n/setlang/", {"language": "ru", "next": "/account/login/"})
    assert response.status_code == 302 and response["Location"] == "/account/login/"
    page = client.get("/account/login/")
    assert '<html lang="ru">' in text(page)
