"""Registering a producer in a real browser, at a phone's size and a desktop's: the tax id
hint, a refused tax id with the error summary and nothing lost, then the producer's page.
Screenshots of each step go to artifacts/."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from registry.models import Producer
from registry.taxids import example_tax_id
from tests.browser.conftest import MISSING, SKIP_REASON
from tests.browser.pages import (
    click_and_wait,
    follow_nav,
    no_sideways_scrolling,
    shot,
    sign_in,
    submit,
)
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bool(MISSING), reason=SKIP_REASON),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_manufacturer_registers_a_producer(browser, viewport, live_server):
    user = UserFactory()
    sign_in(browser, live_server, user)
    follow_nav(browser, "Producers")
    assert "You are not a member of any producer yet." in browser.page_source
    click_and_wait(browser, browser.find_element(By.LINK_TEXT, "Register a producer"))
    shot(browser, viewport, "4-producer-form")

    browser.find_element(By.ID, "id_legal_name").send_keys("Fargʻona Ipak LLC")
    Select(browser.find_element(By.ID, "id_member_state")).select_by_value("UZ")
    browser.find_element(By.ID, "id_tax_id").send_keys("1234")
    browser.find_element(By.ID, "id_address").send_keys("7 Mustaqillik St, Fergana")
    browser.find_element(By.ID, "id_contact_email").send_keys("office@ipak.example.uz")
    submit(browser)

    summary = browser.find_element(By.ID, "error-summary")
    assert browser.switch_to.active_element == summary
    assert "9 digits" in summary.text
    assert (
        browser.find_element(By.ID, "id_legal_name").get_attribute("value") == "Fargʻona Ipak LLC"
    )
    no_sideways_scrolling(browser)
    shot(browser, viewport, "5-producer-error")

    field = browser.find_element(By.ID, "id_tax_id")
    field.clear()
    field.send_keys(example_tax_id("UZ", 77 if viewport.phone else 78))
    submit(browser)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Fargʻona Ipak LLC"
    assert user.email in browser.find_element(By.TAG_NAME, "table").text
    assert Producer.objects.filter(legal_name="Fargʻona Ipak LLC", memberships__user=user).exists()
    no_sideways_scrolling(browser)
    shot(browser, viewport, "6-producer-page")


def test_a_manufacturer_adds_a_product_with_three_materials(browser, viewport, live_server):
    from tests.factories import MembershipFactory, ProducerFactory

    user = UserFactory()
    producer = ProducerFactory(legal_name="Toshkent Tekstil LLC")
    MembershipFactory(user=user, producer=producer)
    sign_in(browser, live_server, user)
    follow_nav(browser, "Products")
    click_and_wait(browser, browser.find_element(By.LINK_TEXT, "Add a product"))
    browser.find_element(By.ID, "id_name").send_keys("Cotton T-shirt")
    browser.find_element(By.ID, "id_hs_code").send_keys("610910")
    browser.find_element(By.ID, "id_ex_works_price").send_keys("10.00")
    browser.find_element(By.ID, "id_process_steps").send_keys("knitting, sewing")
    rows = [
        ("Cotton yarn", "520512", "UZ", "3.00"),
        ("Dye", "320411", "KZ", "0.50"),
        ("Buttons", "960622", "", "0.20"),
    ]
    for index, (description, code, country, value) in enumerate(rows):
        browser.find_element(By.ID, f"id_materials-{index}-description").send_keys(description)
        browser.find_element(By.ID, f"id_materials-{index}-hs_code").send_keys(code)
        Select(browser.find_element(By.ID, f"id_materials-{index}-origin_country")).select_by_value(
            country
        )
        browser.find_element(By.ID, f"id_materials-{index}-value").send_keys(value)
    no_sideways_scrolling(browser)
    shot(browser, viewport, "7-product-form")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, ".actions button[name=save]"))

    assert browser.find_element(By.TAG_NAME, "h1").text == "Cotton T-shirt"
    assessment = browser.find_element(By.ID, "assessment-title").find_element(By.XPATH, "..")
    assert "qualifies" in assessment.text and "does not qualify" not in assessment.text
    assert "Rule set MCA-2026" in assessment.text
    assert len(browser.find_elements(By.CSS_SELECTOR, "table tbody tr")) == 3
    no_sideways_scrolling(browser)
    shot(browser, viewport, "8-product-assessment")
