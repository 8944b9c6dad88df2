"""The public verification page a border officer reaches by scanning a QR code."""

import datetime
import re
from datetime import UTC

import pytest
from django.test import Client
from django.utils.formats import date_format

from certification.core.numbering import format_number
from certification.models import Application, Certificate
from certification.verification import signing
from certification.workflow import services

S = Application.Status


def long(day):
    """A date as the page writes it in English (config/formats/en: 5 December 2026)."""
    return date_format(day, "DATE_FORMAT")


@pytest.fixture
def certificate(flow):
    return flow.application(S.APPROVED).certificate


@pytest.fixture
def web():
    return Client()


def _page(web, number, token=None):
    url = f"/verify/{number}/"
    return web.get(url, {"t": token} if token is not None else {})


def _text(response):
    """The page's visible text, tags removed and white space collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _tashkent_today():
    return datetime.datetime.now(UTC).astimezone(datetime.timezone(datetime.timedelta(hours=5)))


def test_home_links_to_the_form_and_the_form_is_phone_friendly(db, web):
    assert 'href="/verify/"' in web.get("/").content.decode()
    response = web.get("/verify/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="viewport"' in html and 'content="width=device-width' in html
    assert 'name="number"' in html and 'autocapitalize="characters"' in html
    assert '<html lang="en">' in html


def test_typed_number_in_any_case_goes_to_its_page(certificate, web):
    response = web.get("/verify/", {"number": f"  {certificate.number.lower()} "})
    assert response.status_code == 302
    assert response["Location"] == f"/verify/{certificate.number}/"
    lower = _page(web, certificate.number.lower(), token="abc")
    assert lower.status_code == 302
    assert lower["Location"] == f"/verify/{certificate.number}/?t=abc"


def test_mistyped_number_is_a_form_error_with_the_reason(certificate, web):
    typo = certificate.number[:-2] + f"{(int(certificate.number[-2:]) + 1) % 100:02d}"
    response = web.get("/verify/", {"number": typo})
    assert response.status_code == 200
    assert "check digits do not match" in _text(response)
    assert 'aria-invalid="true"' in response.content.decode()
    page = _page(web, typo)
    assert page.status_code == 400
    assert "check digits do not match" in _text(page)
    shape = _page(web, "ABC-123")
    assert shape.status_code == 400 and "has the shape" in _text(shape)


def test_valid_certificate_shows_what_it_covers(flow, certificate, web):
    response = _page(web, certificate.number)
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    text = _text(response)
    assert "VALID" in text and 'class="status status-valid"' in response.content.decode()
    assert f"valid until {long(certificate.valid_until)}" in text
    for shown in (
        flow.product.name,
        flow.product.hs_code,
        flow.producer.legal_name,
        flow.producer.tax_id,
        flow.state.authority.name,
        certificate.origin_criterion,
        long(certificate.valid_from),
    ):
        assert shown in text, shown


def test_tax_id_of_an_individual_entrepreneur_is_hidden(flow, web):
    flow.producer.kind = "individual"
    flow.producer.save()
    certificate = flow.application(S.APPROVED).certificate
    text = _text(_page(web, certificate.number))
    assert flow.producer.tax_id not in text
    assert "Not published" in text


def test_revoked_shows_at_once_with_date_and_reason(flow, certificate, web):
    assert "VALID" in _text(_page(web, certificate.number))
    services.certificate_revoke(
        actor=flow.reviewer, number=certificate.number, reason="Yarn invoices were forged"
    )
    response = _page(web, certificate.number)
    html = response.content.decode()
    text = _text(response)
    assert 'class="status status-revoked"' in html and "REVOKED" in text
    assert f"Revoked by the issuing authority on {long(_tashkent_today().date())}" in text
    assert "Yarn invoices were forged" in text
    assert 'class="status status-valid"' not in html


def test_suspended_shows_date_and_reason(flow, certificate, web):
    services.certificate_suspend(
        actor=flow.reviewer, number=certificate.number, reason="Factory inspection pending"
    )
    response = _page(web, certificate.number)
    text = _text(response)
    assert 'class="status status-suspended"' in response.content.decode() and "SUSPENDED" in text
    assert f"on {long(_tashkent_today().date())}" in text
    assert "Factory inspection pending" in text and "NOT in force" in text


def test_expired_and_not_yet_valid_say_so_with_the_dates(certificate, web):
    today = _tashkent_today().date()
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_from=today - datetime.timedelta(days=730), valid_until=today - datetime.timedelta(1)
    )
    text = _text(_page(web, certificate.number))
    assert "EXPIRED" in text and long(today - datetime.timedelta(1)) in text
    start = today + datetime.timedelta(days=10)
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_from=start, valid_until=start + datetime.timedelta(days=700)
    )
    text = _text(_page(web, certificate.number))
    assert "NOT YET VALID" in text and f"comes into force on {long(start)}" in text


def test_unknown_number_says_not_found(db, web):
    response = _page(web, format_number("AZ", 2026, 31337))
    assert response.status_code == 404
    assert "NOT FOUND" in _text(response)


# --- the token of the QR code ----------------------------------------------------------------


def test_genuine_matching_token(certificate, web):
    text = _text(_page(web, certificate.number, certificate.token))
    assert "signature is genuine" in text
    assert "Its contents match this certificate" in text
    assert certificate.key_id in text


def test_forged_token(certificate, web):
    header, payload, signature = certificate.token.split(".")
    forged = f"{header}.{payload}.{'A' * len(signature)}"
    response = _page(web, certificate.number, forged)
    text = _text(response)
    assert "signature is NOT valid" in text
    assert "does not match its content" in text
    assert "check-bad" in response.content.decode()
    # The registry's status is still shown beside it.
    assert 'class="status status-valid"' in response.content.decode()


def test_genuine_token_of_another_certificate_does_not_match(flow, certificate, web):
    other = flow.application(S.APPROVED, product=flow.make_product()).certificate
    text = _text(_page(web, certificate.number, other.token))
    assert "signature is genuine" in text
    assert "does NOT match this certificate" in text
    assert other.number in text


def test_token_with_changed_names_does_not_match(flow, certificate, web):
    claims = signing.verify_token(certificate.token)
    claims["prd"] = "Something else entirely"
    resigned = signing.sign_claims("UZ", claims)  # genuine key, claims not of this record
    text = _text(_page(web, certificate.number, resigned))
    assert "signature is genuine" in text
    assert "product name in the token differs" in text


def test_token_is_checked_even_when_the_number_is_unknown(certificate, web):
    unknown = format_number("UZ", 2026, 654321)
    response = _page(web, unknown, certificate.token)
    text = _text(response)
    assert response.status_code == 404 and "NOT FOUND" in text
    assert "signature is genuine" in text
    assert "no certificate with this number is in the registry" in text
    garbage = _text(_page(web, unknown, "not-a-token"))
    assert "signature is NOT valid" in garbage and "malformed" in garbage


def test_a_status_list_given_as_the_token_is_refused(certificate, web):
    listed = web.get(f"/.well-known/mca-status/{certificate.member_state_id}.jws")
    response = _page(web, certificate.number, listed.content.decode())
    text = _text(response)
    assert "signature is genuine" not in text
    assert "signature is NOT valid" in text and "not a certificate token" in text
    assert "check-bad" in response.content.decode()


def test_token_is_checked_on_an_invalid_number_page(certificate, web):
    text = _text(_page(web, "MCA-UZ-2026-000001-00", certificate.token))
    assert "check digits" in text and "signature is genuine" in text


def test_the_page_says_when_the_status_was_read_and_links_the_state_s_status_list(certificate, web):
    before = datetime.datetime.now(UTC).replace(microsecond=0)
    response = _page(web, certificate.number)
    html = response.content.decode()
    moment = re.search(r'<time datetime="([^"]+)">([^<]+) UTC</time>', html)
    assert moment is not None
    read = datetime.datetime.fromisoformat(moment[1])
    assert before <= read <= datetime.datetime.now(UTC)
    assert moment[2] == read.strftime("%Y-%m-%d %H:%M:%S")
    assert f"Status read from the registry at {moment[2]} UTC" in _text(response)
    assert 'href="/.well-known/mca-status/UZ.jws"' in html

    unknown = _page(web, format_number("KZ", 2026, 999))
    assert 'href="/.well-known/mca-status/KZ.jws"' in unknown.content.decode()
