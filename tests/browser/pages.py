"""What the browser tests share: following a link or a form to the next page, screenshots
into artifacts/, the check that a page does not scroll sideways, and signing in."""

import itertools
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.credentials import current_code, enrolled
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
# axe-core from npm (package.json; `./dev.sh test` installs it with `npm ci`).
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
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
    click_and_wait(
        browser,
        browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]:not([aria-hidden])"),
    )


def sign_in(browser, live_server, user, password=PASSWORD):
    """The sign-in page; for a reviewer or the secretariat (given an authenticator app for
    the occasion) then the second step, with the app's current code."""
    if user.needs_second_factor:
        enrolled(user)
    browser.get(live_server.url + "/account/login/")
    browser.find_element(By.ID, "id_username").send_keys(user.email)
    browser.find_element(By.ID, "id_password").send_keys(password)
    submit(browser)
    if user.needs_second_factor:
        browser.find_element(By.ID, "id_code").send_keys(current_code(user))
        submit(browser)


def accessibility_violations(browser, impacts=("serious", "critical")):
    """What axe-core finds against WCAG 2.1 A and AA on the page as it stands, of the given
    impacts: [(rule, impact, help, [the first offending elements])]."""
    # Only reached with Chromium running: a missing axe-core fails, never skips, lest the
    # journey that checks this page go silently untested from here on.
    if not AXE.exists():
        pytest.fail(
            f"axe-core is missing ({AXE} absent) while Chromium is here to run it: "
            "run `npm ci` (./dev.sh test does, where npm is installed)",
            pytrace=False,
        )
    browser.execute_script(AXE.read_text())
    found = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: "tag", values: arguments[0]}})
          .then(result => done(result.violations.map(v => [
            v.id, v.impact, v.help, v.nodes.slice(0, 3).map(n => n.target.join(" "))])))
          .catch(error => done([["axe-error", "critical", String(error), []]]));
        """,
        AXE_TAGS,
    )
    return [tuple(item) for item in found if item[1] in impacts]


def assert_accessible(browser):
    violations = accessibility_violations(browser)
    assert violations == [], f"{browser.current_url}: {violations}"


def follow_nav(browser, text):
    """Follow a link (or press a button) of the main navigation, opening its menu first
    where the screen is narrow enough to fold it. The link's text may go on (a count)."""
    xpath = (
        "//nav[contains(@class, 'site-nav')]"
        f"//*[self::a or self::button][starts-with(normalize-space(), '{text}')]"
    )

    def shown():
        return [
            element for element in browser.find_elements(By.XPATH, xpath) if element.is_displayed()
        ]

    if not shown():
        browser.find_element(By.CSS_SELECTOR, ".nav-menu > summary").click()
    click_and_wait(browser, shown()[0])
