"""The verification page a customs officer opens from a QR code, in each of the eight
languages, at a phone's size: the page is in the chosen language (its <html lang> and its
status word), and a screenshot of each goes to artifacts/verify-<language>.png."""

import pytest
from django.conf import settings
from django.utils import translation
from selenium.webdriver.common.by import By

from certification.documents import store
from certification.models import Application, Certificate
from tests.browser.conftest import MISSING, SKIP_REASON
from tests.browser.pages import ARTIFACTS, no_sideways_scrolling
from tests.certification.conftest import Flow

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bool(MISSING), reason=SKIP_REASON),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_verification_page_in_every_language(phone, live_server):
    flow = Flow("UZ")
    certificate = Certificate.objects.get(application=flow.application(Application.Status.APPROVED))
    url = store.verify_url(certificate).replace(
        store.verify_url(certificate).split("/verify/")[0], live_server.url
    )
    phone.get(live_server.url + "/")
    ARTIFACTS.mkdir(exist_ok=True)
    for language, _name in settings.LANGUAGES:
        phone.delete_all_cookies()
        phone.add_cookie({"name": settings.LANGUAGE_COOKIE_NAME, "value": language})
        phone.get(url)
        assert phone.find_element(By.TAG_NAME, "html").get_attribute("lang") == language
        with translation.override(language):
            word = translation.gettext("VALID")
        assert phone.find_element(By.CSS_SELECTOR, ".status .word").text == word
        no_sideways_scrolling(phone)
        phone.save_screenshot(str(ARTIFACTS / f"verify-{language}.png"))
