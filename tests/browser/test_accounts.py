"""Account pages in a real browser, at a phone's size and a desktop's: a newcomer finds
sign-up from the home page, a failed form shows its error summary and keeps what was typed,
and the account is opened. Screenshots of each step go to artifacts/."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from registry.models import User
from tests.browser.conftest import MISSING, SKIP_REASON
from tests.browser.pages import click_and_wait, follow_nav, no_sideways_scrolling, shot, submit
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bool(MISSING), reason=SKIP_REASON),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_newcomer_signs_up_from_the_home_page(browser, viewport, live_server):
    browser.get(live_server.url + "/")
    click_and_wait(browser, browser.find_element(By.LINK_TEXT, "Create a manufacturer account"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Create a manufacturer account"
    no_sideways_scrolling(browser)
    shot(browser, viewport, "1-signup")

    email = f"newcomer-{viewport.name}@example.uz"
    browser.find_element(By.ID, "id_full_name").send_keys("Dilnoza Karimova")
    browser.find_element(By.ID, "id_email").send_keys(email)
    browser.find_element(By.ID, "id_password").send_keys("short")
    submit(browser)

    summary = browser.find_element(By.ID, "error-summary")
    assert "There is a problem" in summary.text
    # The summary takes focus, so a screen reader reads it first; its link leads to the field.
    assert browser.switch_to.active_element == summary
    assert browser.find_element(By.ID, "id_email").get_attribute("value") == email
    assert browser.find_element(By.ID, "id_password").get_attribute("aria-invalid") == "true"
    no_sideways_scrolling(browser)
    shot(browser, viewport, "2-signup-error")
    summary.find_element(By.CSS_SELECTOR, "a[href='#id_password']").click()
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)  # focus is in the field
    submit(browser)

    assert browser.find_element(By.TAG_NAME, "h1").text == "Your producers"
    assert "Your account is ready. You are signed in." in browser.page_source
    assert User.objects.filter(email=email, role=User.Role.MANUFACTURER).exists()
    shot(browser, viewport, "3-account")

    follow_nav(browser, "Sign out")
    assert "You are signed out." in browser.page_source
    click_and_wait(browser, browser.find_element(By.LINK_TEXT, "Sign in"))
    browser.find_element(By.ID, "id_username").send_keys(email)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    submit(browser)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Overview"


def test_the_language_switcher_serves_the_page_in_the_chosen_language(phone, live_server):
    phone.get(live_server.url + "/account/login/")
    Select(phone.find_element(By.ID, "language-choice")).select_by_value("ru")
    click_and_wait(phone, phone.find_element(By.CSS_SELECTOR, ".language-switcher button"))
    assert phone.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ru"
    assert phone.current_url == live_server.url + "/account/login/"
