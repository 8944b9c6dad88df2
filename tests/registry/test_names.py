"""Names that are data, in the reader's language: member states from the ISO 3166
translations, national authorities from their own names."""

import pytest
from django.utils import translation

from registry.models import Authority, MemberState
from registry.names import country_name

pytestmark = pytest.mark.django_db

STATES_IN = {
    "en": "Kyrgyzstan",
    "ru": "Киргизия",
    "uz": "Qirgʻiziston",
    "kk": "Қырғызстан",
    "ky": "Кыргызстан",
    "tg": "Қирғизистон",
    "tk": "Gyrgyzystan",
    "az": "Qırğızıstan",
}


@pytest.mark.parametrize("language, name", STATES_IN.items())
def test_a_member_state_is_named_in_the_readers_language(language, name):
    state = MemberState.objects.get(code="KG")
    with translation.override(language):
        assert state.local_name == name


def test_uzbek_names_use_the_modifier_letter_turned_comma():
    assert "\u02bb" in country_name("UZ", "uz")  # Oʻzbekiston


@pytest.mark.parametrize("language", ["ru", "uz", "kk", "ky", "tg", "tk", "az"])
def test_every_authority_has_its_name_in_every_language(language):
    for authority in Authority.objects.all():
        with translation.override(language):
            assert authority.local_name != authority.name, (authority.member_state_id, language)


def test_an_authority_without_a_translation_falls_back_to_english():
    authority = Authority.objects.get(member_state_id="AZ")
    authority.names = {}
    with translation.override("kk"):
        assert authority.local_name == authority.name


def test_pages_show_names_in_the_readers_language(client, settings):
    from tests.certification.conftest import Flow

    flow = Flow("UZ")
    client.force_login(flow.member)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "kk"
    page = client.get(f"/portal/products/{flow.product.pk}/").content.decode()
    assert "Өзбекстан" in page
