"""The register's statistics in a real browser, on a phone 360 px wide and on a desktop: the
charts drawn and legible, every data table open without the page scrolling sideways,
axe-core finding nothing serious; the whole page kept as artifacts/registry-statistics-*.png.
"""

import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import DESKTOP, MISSING, PHONE, SKIP_REASON, Viewport
from tests.browser.pages import ARTIFACTS, assert_accessible, no_sideways_scrolling
from tests.certification.conftest import Flow
from tests.portal.statistics_data import bulk_certificates

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bool(MISSING), reason=SKIP_REASON),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# The narrowest phone the pages are made for.
PHONE_360 = Viewport("phone", 360, 740, scale=2.0, user_agent=PHONE.user_agent)
SMALLEST_CHART_TEXT_PX = 12


@pytest.fixture(params=[PHONE_360, DESKTOP], ids=lambda viewport: viewport.name)
def viewport(request):
    return request.param


@pytest.fixture
def register():
    for code, count, lead_days in (("UZ", 70, 2), ("KZ", 45, 6), ("KG", 20, 12), ("AZ", 12, 4)):
        bulk_certificates(Flow(code), count, lead_days=lead_days)


def whole_page_shot(browser, viewport, name):
    """The page from top to bottom: the viewport made as tall as the page for the shot."""
    metrics = {"width": viewport.width, "deviceScaleFactor": viewport.scale}
    metrics["mobile"] = viewport.phone
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics | {"height": height})
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"registry-statistics-{name}.png"))
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", metrics | {"height": viewport.height}
    )


def test_the_statistics_page_reads_at_every_size(browser, viewport, live_server, register):
    browser.get(live_server.url + "/registry/statistics/")
    charts = browser.find_elements(By.CSS_SELECTOR, "figure.chart svg[role=img]")
    assert len(charts) == 4 and all(chart.size["height"] > 100 for chart in charts)
    smallest = browser.execute_script(
        "return Math.min(...[...document.querySelectorAll('.chart-svg text')]"
        ".map(t => t.getBoundingClientRect().height))"
    )
    assert smallest >= SMALLEST_CHART_TEXT_PX
    no_sideways_scrolling(browser)
    assert_accessible(browser)
    summaries = browser.find_elements(By.CSS_SELECTOR, "details.chart-data > summary")
    summaries[0].click()
    whole_page_shot(browser, viewport, "desktop" if viewport is DESKTOP else "phone")
    for summary in summaries[1:]:
        summary.click()
    for region in browser.find_elements(By.CSS_SELECTOR, ".chart-data .table-wrap"):
        assert region.is_displayed()
        # On a phone too, each table fits its card: no column hidden to the side.
        assert browser.execute_script(
            "return arguments[0].scrollWidth <= arguments[0].clientWidth", region
        )
    no_sideways_scrolling(browser)
    assert_accessible(browser)
