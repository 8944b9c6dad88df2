"""The whole loop between a manufacturer, the national reviewer and a customs officer, in
Chromium, each person in a browser of their own: the manufacturer applies; the reviewer
of its state finds it in the queue and requests changes; the manufacturer answers and
submits again; the reviewer approves; the holder downloads the PDF; a customs officer
opens the QR code's verification URL at a phone's size and reads "valid"; the reviewer
revokes, and the same page reads "revoked". A reviewer of another state gets "not found"
for the application and the certificate. Each workspace page passes axe-core; screenshots
go to artifacts/review-loop-*.png."""

import tempfile
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from certification.documents import store
from certification.models import Application, Certificate
from tests.browser.conftest import DESKTOP, MISSING, SKIP_REASON, start_chromium
from tests.browser.pages import (
    ARTIFACTS,
    assert_accessible,
    click_and_wait,
    follow_nav,
    no_sideways_scrolling,
    sign_in,
)
from tests.certification.conftest import Flow
from tests.factories import ReviewerFactory, state

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bool(MISSING), reason=SKIP_REASON),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def second_browser(live_server):
    """A second person at a desk: a browser of their own, so two sessions live at once."""
    profile = tempfile.mkdtemp(prefix="chromium-second-")
    driver = start_chromium(DESKTOP, profile)
    yield driver
    driver.quit()


def snap(browser, name):
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"review-loop-{name}.png"))


def press(browser, text):
    click_and_wait(
        browser,
        browser.find_element(
            By.XPATH, f"//main//button[normalize-space()='{text}' and not(@aria-hidden)]"
        ),
    )


def write(browser, field_id, text):
    field = browser.find_element(By.ID, field_id)
    field.clear()
    field.send_keys(text)


def test_apply_review_change_approve_verify_revoke(
    _chromium_sessions, second_browser, phone, live_server
):
    flow = Flow("UZ")
    manufacturer, reviewer = _chromium_sessions(DESKTOP), second_browser
    manufacturer.delete_all_cookies()

    # The manufacturer applies.
    sign_in(manufacturer, live_server, flow.member)
    manufacturer.get(f"{live_server.url}/portal/products/{flow.product.pk}/")
    press(manufacturer, "Apply for the label")
    press(manufacturer, "Submit to the national authority")
    application = Application.objects.get(product=flow.product)
    assert application.status == Application.Status.SUBMITTED

    # The reviewer finds it in the queue, takes it and asks for a change.
    sign_in(reviewer, live_server, flow.reviewer)
    follow_nav(reviewer, "Queue")
    assert_accessible(reviewer)
    snap(reviewer, "1-queue")
    row = reviewer.find_element(By.XPATH, f"//a[@href='/workspace/applications/{application.pk}/']")
    click_and_wait(reviewer, row)
    press(reviewer, "Start review")
    write(reviewer, "id_request-changes-comment", "Attach the invoice for the combed yarn.")
    press(reviewer, "Request changes")
    assert "Changes are requested" in reviewer.page_source
    assert_accessible(reviewer)
    snap(reviewer, "2-changes-requested")

    # The manufacturer reads the comment, adds the invoice and submits again.
    follow_nav(manufacturer, "Overview")
    assert "Attach the invoice for the combed yarn." in manufacturer.page_source
    click_and_wait(
        manufacturer,
        manufacturer.find_element(By.XPATH, f"//a[@href='/portal/applications/{application.pk}/']"),
    )
    invoice = Path(tempfile.mkdtemp()) / "yarn-invoice.pdf"
    invoice.write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
    manufacturer.find_element(By.ID, "id_file").send_keys(str(invoice))
    press(manufacturer, "Upload")
    press(manufacturer, "Submit again")
    application.refresh_from_db()
    assert application.status == Application.Status.SUBMITTED

    # The reviewer approves.
    reviewer.refresh()
    assert "yarn-invoice.pdf" in reviewer.page_source
    press(reviewer, "Start review")
    press(reviewer, "Approve")
    certificate = Certificate.objects.get(application=application)
    assert f"certificate {certificate.number} is issued" in reviewer.page_source
    snap(reviewer, "3-approved")

    # The holder downloads the PDF once the worker stored it.
    store.render_and_store(certificate.pk)
    manufacturer.get(f"{live_server.url}/portal/certificates/{certificate.number}/")
    pdf_link = manufacturer.find_element(By.LINK_TEXT, "Download the PDF")
    pdf = manufacturer.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.arrayBuffer())"
        ".then(b => done(String.fromCharCode(...new Uint8Array(b).slice(0, 5))));",
        pdf_link.get_attribute("href"),
    )
    assert pdf == "%PDF-"

    # A customs officer scans the QR code: the verification page at a phone's size.
    certificate.refresh_from_db()
    url = store.verify_url(certificate).replace(
        store.verify_url(certificate).split("/verify/")[0], live_server.url
    )
    phone.get(url)
    assert phone.find_element(By.CSS_SELECTOR, ".status .word").text == "VALID"
    no_sideways_scrolling(phone)
    snap(phone, "4-verify-valid-phone")

    # The reviewer revokes; the same page now says so.
    reviewer.get(f"{live_server.url}/workspace/certificates/{certificate.number}/")
    assert_accessible(reviewer)
    write(reviewer, "id_revoke-reason", "The yarn invoice was forged.")
    press(reviewer, "Revoke the certificate for good")
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.REVOKED
    snap(reviewer, "5-revoked")
    phone.get(url)
    assert phone.find_element(By.CSS_SELECTOR, ".status .word").text == "REVOKED"
    snap(phone, "6-verify-revoked-phone")

    # A reviewer of another state finds neither.
    outsider = ReviewerFactory(member_state=state("KZ"))
    reviewer.delete_all_cookies()
    sign_in(reviewer, live_server, outsider)
    for path in (
        f"/workspace/applications/{application.pk}/",
        f"/workspace/certificates/{certificate.number}/",
    ):
        reviewer.get(live_server.url + path)
        assert "Not Found" in reviewer.title or "not found" in reviewer.page_source.lower()
        assert certificate.number not in reviewer.page_source
