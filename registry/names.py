"""Names that are data, in the reader's language: countries from pycountry's translations
of ISO 3166-1 (the iso-codes project), which cover all eight languages of the registry;
the national authorities' names from their own `names` field (registry/models.py)."""

import functools
import gettext

import pycountry
from django.utils import translation


@functools.cache
def _iso3166(language):
    return gettext.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True
    )


def country_name(code, language=None):
    """The country's common name in `language` (the active one by default); English
    where iso-codes has no translation."""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    name = getattr(country, "common_name", None) or country.name
    language = (language or translation.get_language() or "en").split("-")[0]
    if language == "en":
        return name
    translated = _iso3166(language).gettext(name)
    if translated == name and name != country.name:
        translated = _iso3166(language).gettext(country.name)
    return translated


def state_name(code, english_name, language=None):
    """A member state's name as the registry writes it: its own (English) name in English,
    else the country's name in the language."""
    language = (language or translation.get_language() or "en").split("-")[0]
    return english_name if language == "en" else country_name(code, language)
