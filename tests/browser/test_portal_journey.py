"""A manufacturer's whole way through the portal in a real browser, at a phone's size and a
desktop's, from the home page without typing a URL: sign up, register the producer, add a
product with three materials (the origin check shows PASS with its sentences, live while
typing and on the saved product's page), apply, upload a supporting document and submit.
A failed product form keeps what was typed and shows the error summary. Once a reviewer
approves, the certificate is there with its QR code and PDF. Every page passes axe-core's
WCAG 2.1 A/AA rules with no serious or critical violation. Screenshots of each step go to
artifacts/portal-journey-*.png."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from certification.documents import store
from certification.models import Application, ApplicationDocument, Certificate
from certification.workflow import services
from registry.models import Product
from registry.taxids import example_tax_id
from tests.browser.conftest import MISSING, SKIP_REASON
from tests.browser.pages import (
    assert_accessible,
    click_and_wait,
    follow_nav,
    no_sideways_scrolling,
    submit,
)
from tests.factories import PASSWORD, ReviewerFactory, state

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bool(MISSING), reason=SKIP_REASON),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
MATERIALS = [
    ("Combed cotton yarn", "520522", "UZ", "3.10"),
    ("Reactive dye", "320416", "DE", "0.40"),
    ("Sewing thread", "520512", "KZ", "0.20"),
]


def step(browser, viewport, name):
    """Look at the page as a person would: it fits the screen, passes axe-core, and is
    kept as a screenshot."""
    from tests.browser.pages import ARTIFACTS

    no_sideways_scrolling(browser)
    assert_accessible(browser)
    ARTIFACTS.mkdir(exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    if not viewport.phone:
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": viewport.width,
                "height": min(height, 3000),
                "deviceScaleFactor": 1,
                "mobile": False,
            },
        )
    browser.save_screenshot(str(ARTIFACTS / f"portal-journey-{name}-{viewport.name}.png"))
    if not viewport.phone:
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": viewport.width,
                "height": viewport.height,
                "deviceScaleFactor": 1,
                "mobile": False,
            },
        )


def link(browser, text):
    click_and_wait(
        browser, browser.find_element(By.XPATH, f"//main//a[normalize-space()='{text}']")
    )


def button(browser, text):
    click_and_wait(
        browser,
        browser.find_element(
            By.XPATH, f"//main//button[normalize-space()='{text}' and not(@aria-hidden)]"
        ),
    )


def fill_product(browser, name, hs_code):
    browser.find_element(By.ID, "id_name").send_keys(name)
    browser.find_element(By.ID, "id_hs_code").send_keys(hs_code)
    browser.find_element(By.ID, "id_ex_works_price").send_keys("8.00")
    browser.find_element(By.ID, "id_process_steps").send_keys("knitting, cutting, sewing")
    for index, (description, code, country, value) in enumerate(MATERIALS):
        browser.find_element(By.ID, f"id_materials-{index}-description").send_keys(description)
        browser.find_element(By.ID, f"id_materials-{index}-hs_code").send_keys(code)
        Select(browser.find_element(By.ID, f"id_materials-{index}-origin_country")).select_by_value(
            country
        )
        browser.find_element(By.ID, f"id_materials-{index}-value").send_keys(value)


def test_a_newcomer_signs_up_and_applies_for_the_label(browser, viewport, live_server, tmp_path):
    reviewer = ReviewerFactory(member_state=state("UZ"))
    email = f"journey-{viewport.name}@toshtex.example.uz"

    # Sign up from the home page.
    browser.get(live_server.url + "/")
    step(browser, viewport, "01-home")
    link(browser, "Create a manufacturer account")
    browser.find_element(By.ID, "id_full_name").send_keys("Dilnoza Karimova")
    browser.find_element(By.ID, "id_email").send_keys(email)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    submit(browser)
    assert "Your account is ready." in browser.page_source

    # Register the producer.
    link(browser, "Register a producer")
    step(browser, viewport, "02-producer-form")
    browser.find_element(By.ID, "id_legal_name").send_keys("Toshkent Tekstil LLC")
    Select(browser.find_element(By.ID, "id_member_state")).select_by_value("UZ")
    browser.find_element(By.ID, "id_tax_id").send_keys(
        example_tax_id("UZ", 41 if viewport.phone else 42)
    )
    browser.find_element(By.ID, "id_address").send_keys("12 Bunyodkor Ave, Tashkent")
    browser.find_element(By.ID, "id_contact_email").send_keys("office@toshtex.example.uz")
    submit(browser)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Toshkent Tekstil LLC"
    step(browser, viewport, "03-producer")

    # A product form with a wrong HS code keeps everything typed and says what is wrong.
    link(browser, "Add a product")
    fill_product(browser, "Cotton T-shirt, knitted", "61091")
    # With JavaScript on, the check waits for a whole HS code.
    live = browser.find_element(By.ID, "live-check")
    WebDriverWait(browser, 10).until(lambda b: "6-digit HS code" in live.text)
    button(browser, "Save and check origin")
    summary = browser.find_element(By.ID, "error-summary")
    assert browser.switch_to.active_element == summary
    assert "There is a problem" in summary.text
    assert (
        browser.find_element(By.ID, "id_name").get_attribute("value") == "Cotton T-shirt, knitted"
    )
    assert browser.find_element(By.ID, "id_materials-2-value").get_attribute("value") == "0.20"
    assert Product.objects.count() == 0
    step(browser, viewport, "04-product-error")

    # Corrected: the live check follows, then the saved product shows PASS with its sentences.
    field = browser.find_element(By.ID, "id_hs_code")
    field.clear()
    field.send_keys("610910")
    live = browser.find_element(By.ID, "live-check")
    WebDriverWait(browser, 10).until(lambda b: "qualifies" in live.text)
    assert "T-shirts, singlets" in browser.find_element(By.ID, "id_hs_code-description").text
    step(browser, viewport, "05-product-live-check")
    button(browser, "Save and check origin")
    assessment = browser.find_element(By.CSS_SELECTOR, "section.assessment")
    assert "qualifies" in assessment.text and "does not qualify" not in assessment.text
    assert "Originating under the rule for heading 6109 of MCA-2026" in assessment.text
    assert "Every non-originating material changes chapter" in assessment.text
    product = Product.objects.get(name="Cotton T-shirt, knitted")
    assert product.materials.count() == 3
    step(browser, viewport, "06-product")

    # Apply, upload a document, submit.
    button(browser, "Apply for the label")
    application = Application.objects.get(product=product)
    assert application.status == Application.Status.DRAFT
    step(browser, viewport, "07-application-draft")
    invoice = tmp_path / "yarn-invoice.pdf"
    invoice.write_bytes(PDF)
    browser.find_element(By.ID, "id_file").send_keys(str(invoice))
    button(browser, "Upload")
    assert "yarn-invoice.pdf is added." in browser.page_source
    assert ApplicationDocument.objects.filter(application=application).count() == 1
    button(browser, "Submit to the national authority")
    application.refresh_from_db()
    assert application.status == Application.Status.SUBMITTED
    assert "Submitted. The national authority is told" in browser.page_source
    history = browser.find_element(By.CSS_SELECTOR, "ol.history").text
    assert "Document added: yarn-invoice.pdf" in history and "Submitted for review" in history
    step(browser, viewport, "08-application-submitted")

    follow_nav(browser, "Overview")
    assert "With the national authority" in browser.page_source
    step(browser, viewport, "09-overview")
    follow_nav(browser, "Applications")
    step(browser, viewport, "10-applications")

    # The reviewer approves (their pages are another issue's); the holder finds the
    # certificate, its QR code and, once the worker has stored it, the PDF.
    services.application_start_review(actor=reviewer, application_id=application.pk)
    services.application_approve(actor=reviewer, application_id=application.pk)
    certificate = Certificate.objects.get(application=application)
    store.render_and_store(certificate.pk)
    follow_nav(browser, "Certificates")
    assert certificate.number in browser.page_source
    step(browser, viewport, "11-certificates")
    click_and_wait(browser, browser.find_element(By.LINK_TEXT, certificate.number))
    assert browser.find_element(By.CSS_SELECTOR, "h1.number").text == certificate.number
    assert browser.find_element(By.CSS_SELECTOR, "figure.qr svg").is_displayed()
    assert browser.find_element(By.LINK_TEXT, "Download the PDF").is_displayed()
    step(browser, viewport, "12-certificate")


def test_a_csv_with_one_bad_row_shows_that_row_and_imports_nothing(
    browser, viewport, live_server, tmp_path
):
    from tests.browser.pages import sign_in
    from tests.factories import MembershipFactory, ProducerFactory, UserFactory

    user = UserFactory()
    MembershipFactory(user=user, producer=ProducerFactory(legal_name="Toshkent Tekstil LLC"))
    sign_in(browser, live_server, user)
    follow_nav(browser, "Products")
    link(browser, "Import from a CSV file")
    header = (
        "product_ref,name,description,hs_code,ex_works_price,currency,process_steps,"
        "material_description,material_hs_code,material_origin_country,material_value"
    )
    rows = [
        header,
        "TS-1,Cotton T-shirt,,610910,10.00,USD,knitting; sewing,Cotton yarn,520512,UZ,3.00",
        "TS-1,,,,,,,Dye,999999,DE,0.50",
        "BAG-1,Canvas bag,,420222,4.00,USD,cutting; sewing,Cotton canvas,520942,UZ,1.20",
    ]
    sheet = tmp_path / "products.csv"
    sheet.write_text("\n".join(rows) + "\n")
    browser.find_element(By.ID, "id_file").send_keys(str(sheet))
    button(browser, "Import products")

    summary = browser.find_element(By.ID, "error-summary")
    assert browser.switch_to.active_element == summary
    assert "Nothing was imported" in summary.text
    assert "Row 3" in summary.text and "999999" in summary.text
    assert "Row 2" not in summary.text and "Row 4" not in summary.text
    assert Product.objects.count() == 0
    step(browser, viewport, "13-import-error")
