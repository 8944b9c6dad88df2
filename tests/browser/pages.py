"""What the browser tests share: following a link or a form to the next page, screenshots
into artifacts/, the check that a page does not scroll sideways, and signing in."""

import itertools
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.factories import PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
_marks = itertools.count(1)


def shot(browser, viewport, name):
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"portal-{name}-{viewport.name}.png"))


def click_and_wait(browser, element):
    """Click what loads a new page, and wait until the new page has loaded.

    The old document is marked with a property of its window; the new one starts without
    it. (Waiting for the old <html> element to go stale asks Chromium about a node of a
    document being torn down, which it sometimes answers with an inspector error instead
    of "stale element".)"""
    mark = f"mca-{next(_marks)}"
    browser.execute_script("window.__mcaPage = arguments[0];", mark)
    element.click()

    def next_page_loaded(driver):
        return driver.execute_script(
            "return window.__mcaPage !== arguments[0] && document.readyState === 'complete';",
            mark,
        )

    WebDriverWait(browser, 10).until(next_page_loaded)


def no_sideways_scrolling(browser):
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= browser.execute_script("return window.innerWidth")


def submit(browser):
    """Press the main form's submit button and wait for the answer."""
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))


def sign_in(browser, live_server, user, password=PASSWORD):
    browser.get(live_server.url + "/account/login/")
    browser.find_element(By.ID, "id_username").send_keys(user.email)
    browser.find_element(By.ID, "id_password").send_keys(password)
    submit(browser)
