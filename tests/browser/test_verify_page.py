"""The public verification page in a real browser, at a phone's size and a desktop's: what
a border officer sees after scanning the certificate's QR code or typing its number."""

import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.utils.formats import date_format
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from certification.core.numbering import format_number
from certification.documents.store import verify_url
from certification.models import Application
from certification.workflow import services
from tests.browser.conftest import MISSING, PHONE, SKIP_REASON
from tests.certification.conftest import Flow

S = Application.Status
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
READABLE_PX = 16  # below this phones make people zoom (and iOS zooms into form fields)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bool(MISSING), reason=SKIP_REASON),
    # The live server answers from another thread, so the data must be committed; the
    # serialized rollback restores the data migrations (member states, rules) after the flush.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

REASONS = {
    "suspended": "Factory inspection pending",
    "revoked": "Yarn invoices were forged",
}
WORDS = {"valid": "VALID", "suspended": "SUSPENDED", "revoked": "REVOKED"}


@pytest.fixture
def flow():
    return Flow("UZ")


def certificate_in(flow, status):
    """A certificate issued through the workflow, then suspended or revoked through it."""
    certificate = flow.application(S.APPROVED, product=flow.make_product()).certificate
    if status == "suspended":
        services.certificate_suspend(
            actor=flow.reviewer, number=certificate.number, reason=REASONS[status]
        )
    elif status == "revoked":
        services.certificate_revoke(
            actor=flow.reviewer, number=certificate.number, reason=REASONS[status]
        )
    return certificate


def open_page(browser, live_server, path):
    browser.get(live_server.url + path)  # returns once the page has loaded


def layout(browser, selector):
    """The viewport, the page's width and where the element is, in CSS pixels."""
    return browser.execute_script(
        """
        const box = document.querySelector(arguments[0]).getBoundingClientRect();
        return {
            width: window.innerWidth, height: window.innerHeight, ratio: window.devicePixelRatio,
            scrollWidth: document.documentElement.scrollWidth, scrollY: window.scrollY,
            top: box.top, bottom: box.bottom, left: box.left, right: box.right,
        };
        """,
        selector,
    )


def small_text(browser, minimum):
    """Visible text in <main> set below `minimum` px: [(size, text)]."""
    return browser.execute_script(
        """
        const walker = document.createTreeWalker(
            document.querySelector("main"), NodeFilter.SHOW_TEXT);
        const small = [];
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const text = node.textContent.trim();
            const element = node.parentElement;
            if (!text || !element.checkVisibility()) continue;
            const size = parseFloat(getComputedStyle(element).fontSize);
            if (size < arguments[0]) small.push([size, text.slice(0, 60)]);
        }
        return small;
        """,
        minimum,
    )


def assert_fits_the_screen(browser, viewport, selector):
    """No sideways scrolling, and `selector` wholly inside the first screen."""
    facts = layout(browser, selector)
    # A phone widens its layout viewport to fit a page that is too wide (and zooms out), so
    # both widths are compared with the screen's.
    assert facts["scrollWidth"] <= viewport.width and facts["width"] == viewport.width, (
        f"the page is wider than the {viewport.name}'s {viewport.width} px: {facts}"
    )
    assert (facts["height"], facts["ratio"]) == (viewport.height, viewport.scale), facts
    assert facts["scrollY"] == 0
    assert facts["top"] >= 0 and facts["bottom"] <= facts["height"], (
        f"{selector} is not within the first screen: {facts}"
    )
    assert facts["left"] >= 0 and facts["right"] <= facts["width"], facts


def tashkent_today():
    """Today in Tashkent, as the page writes a date in English (5 December 2026)."""
    return date_format(datetime.datetime.now(ZoneInfo("Asia/Tashkent")).date(), "DATE_FORMAT")


@pytest.mark.parametrize("status", ["valid", "suspended", "revoked"])
def test_status_is_in_the_first_screen_without_sideways_scrolling(
    flow, status, browser, viewport, live_server
):
    certificate = certificate_in(flow, status)
    open_page(browser, live_server, f"/verify/{certificate.number}/")
    if viewport.phone and status == "revoked":  # before the assertions: also shows a failure
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "verify-phone-revoked.png"))

    box = browser.find_element(By.CSS_SELECTOR, f".status.status-{status}")
    word = box.find_element(By.CSS_SELECTOR, ".word")
    assert word.is_displayed() and word.text == WORDS[status]
    # The whole verdict, the date and reason of a suspension or revocation included, is
    # read without scrolling; so is the number it is about.
    assert_fits_the_screen(browser, viewport, ".status")
    assert_fits_the_screen(browser, viewport, "h1.number")
    assert browser.find_element(By.CSS_SELECTOR, "h1.number").text == certificate.number
    if status == "valid":
        assert f"valid until {date_format(certificate.valid_until, 'DATE_FORMAT')}" in box.text
    else:
        assert f"{status.capitalize()} by the issuing authority on {tashkent_today()}" in box.text
        assert f"Reason given: {REASONS[status]}" in box.text
        assert "NOT" in box.text
    if viewport.phone:
        assert small_text(browser, READABLE_PX) == []


def test_qr_link_with_the_genuine_token_shows_the_check_as_valid(flow, phone, live_server):
    certificate = certificate_in(flow, "valid")
    link = urlsplit(verify_url(certificate))  # what the QR code on the PDF encodes
    open_page(phone, live_server, f"{link.path}?{link.query}")

    check = phone.find_element(By.ID, "token-check")
    assert "check-ok" in check.get_attribute("class").split()
    assert "The QR code's signature is genuine" in check.text
    assert "Its contents match this certificate in the registry." in check.text
    assert "NOT" not in check.text
    assert phone.find_element(By.CSS_SELECTOR, ".status-valid .word").text == "VALID"
    # Who scans a QR code reads both verdicts, the registry's and the signature's, at once.
    assert_fits_the_screen(phone, PHONE, ".status")
    assert_fits_the_screen(phone, PHONE, "#token-check .check-title")
    assert small_text(phone, READABLE_PX) == []


def test_forged_token_shows_the_check_as_not_valid(flow, phone, live_server):
    certificate = certificate_in(flow, "valid")
    header, payload, signature = certificate.token.split(".")
    forged = f"{header}.{payload}.{'A' * len(signature)}"
    open_page(phone, live_server, f"/verify/{certificate.number}/?t={forged}")

    check = phone.find_element(By.ID, "token-check")
    assert "check-bad" in check.get_attribute("class").split()
    assert "The QR code's signature is NOT valid: the document may be forged." in check.text
    assert phone.find_element(By.CSS_SELECTOR, ".status-valid .word").text == "VALID"
    assert_fits_the_screen(phone, PHONE, ".status")
    assert_fits_the_screen(phone, PHONE, "#token-check .check-title")
    assert small_text(phone, READABLE_PX) == []


def test_unknown_number_says_not_found(browser, viewport, live_server):
    number = format_number("AZ", 2026, 31337)
    open_page(browser, live_server, f"/verify/{number}/")

    box = browser.find_element(By.CSS_SELECTOR, ".status.status-not_found")
    assert box.find_element(By.CSS_SELECTOR, ".word").text == "NOT FOUND"
    assert "No certificate with this number is in the registry." in box.text
    assert_fits_the_screen(browser, viewport, ".status")
    if viewport.phone:
        assert small_text(browser, READABLE_PX) == []


def test_form_takes_a_typed_lower_case_number_with_spaces(flow, browser, viewport, live_server):
    certificate = certificate_in(flow, "valid")
    open_page(browser, live_server, "/verify/")
    assert_fits_the_screen(browser, viewport, "form.verify-form")
    if viewport.phone:
        assert small_text(browser, READABLE_PX) == []

    field = browser.find_element(By.ID, "number")
    button = browser.find_element(By.CSS_SELECTOR, "form.verify-form button[type=submit]")
    for target in (field, button):
        assert target.size["height"] >= 44, target.size  # a touch target (WCAG 2.5.5)
    field.send_keys(f"  {certificate.number.lower()}  ")
    button.click()
    page = f"{live_server.url}/verify/{certificate.number}/"
    WebDriverWait(browser, 10).until(lambda driver: driver.current_url == page)

    assert browser.find_element(By.CSS_SELECTOR, ".status-valid .word").text == "VALID"
    assert browser.find_element(By.CSS_SELECTOR, "h1.number").text == certificate.number
