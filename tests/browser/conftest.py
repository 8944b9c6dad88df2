"""Debian's chromium driven through Selenium and Debian's chromedriver, both from apt
(`.ci/run` installs them). The driver's path is always given, so Selenium Manager never
tries to download a driver or a browser: this machine reaches only the package registries."""

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
MISSING = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
SKIP_REASON = (
    f"needs Debian's chromium and chromium-driver ({', '.join(MISSING)} absent): "
    "apt-get install chromium chromium-driver (.ci/run does)"
)

# Headless Chromium as root, offline: no sandbox (root), and none of the background fetches
# (component updates, sync, QUIC probes) that would wait on a network this machine lacks.
HEADLESS_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=en-US",
]


@dataclass(frozen=True)
class Viewport:
    name: str
    width: int
    height: int
    scale: float = 1.0
    user_agent: str | None = None  # set: a phone (mobile emulation, touch)

    @property
    def phone(self):
        return self.user_agent is not None


PHONE = Viewport(
    "phone",
    390,
    844,
    scale=3.0,
    user_agent=(
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/156.0.0.0 Mobile Safari/537.36"
    ),
)
DESKTOP = Viewport("desktop", 1280, 800)


def start_chromium(viewport, profile):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in HEADLESS_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    if viewport.phone:
        metrics = {"width": viewport.width, "height": viewport.height}
        metrics.update(pixelRatio=viewport.scale, mobile=True, touch=True)
        emulation = {"deviceMetrics": metrics, "userAgent": viewport.user_agent}
        options.add_experimental_option("mobileEmulation", emulation)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    if not viewport.phone:
        # --window-size counts the window's frame; this sets the page's own viewport.
        metrics = {"width": viewport.width, "height": viewport.height}
        metrics.update(deviceScaleFactor=viewport.scale, mobile=False)
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture(scope="session")
def _chromium_sessions(live_server):
    """One browser per viewport for the whole run, each with a fresh profile, started on
    first use.

    The browsers quit before the live server stops, and the server then waits for the
    threads that served their connections (kept alive, or opened ahead of a request): one
    outliving the server would close the database connection the server shares with the
    tests (in-memory SQLite) after the sharing ended, or keep a PostgreSQL session open while
    the test database is dropped."""
    live_server.thread.httpd.daemon_threads = False  # socketserver joins them on close
    started = {}

    def session(viewport):
        if viewport.name not in started:
            profile = tempfile.mkdtemp(prefix=f"chromium-{viewport.name}-")
            started[viewport.name] = (start_chromium(viewport, profile), profile)
        return started[viewport.name][0]

    yield session
    for driver, profile in started.values():
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(params=[PHONE, DESKTOP], ids=lambda viewport: viewport.name)
def viewport(request):
    return request.param


@pytest.fixture
def browser(viewport, _chromium_sessions):
    driver = _chromium_sessions(viewport)
    driver.delete_all_cookies()
    return driver


@pytest.fixture
def phone(_chromium_sessions):
    driver = _chromium_sessions(PHONE)
    driver.delete_all_cookies()
    return driver
