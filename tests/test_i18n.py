"""Eight languages everywhere: every text of the templates goes through the translation
machinery, the catalogues hold every string the code marks, the strings each language must
have are translated (all of them in Russian; the public pages, the emails and the
verification in the others) and none is fuzzy, Uzbek uses its proper letters, and the
pages and an email come out with no English left."""

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = [code for code, _name in settings.LANGUAGES if code != "en"]

# What must be complete in every language: the public pages (home, verification, the
# register and its statistics), the layout around them, and the emails.
PUBLIC = (
    "templates/base.html",
    "templates/home.html",
    "templates/includes/",
    "templates/verify/",
    "templates/registry/",
    "templates/emails/",
    "certification/views.py",
    "certification/statistics.py",
    "certification/register/",
    "portal/register.py",
    "portal/statistics.py",
    "portal/charts.py",
)


def catalogue(language):
    return polib.pofile(str(ROOT / "locale" / language / "LC_MESSAGES" / "django.po"))


def is_public(entry):
    return any(path.startswith(PUBLIC) for path, _line in entry.occurrences)


def missing(entry):
    if entry.obsolete:
        return False
    if "fuzzy" in entry.flags:
        return True
    if entry.msgid_plural:
        return not all(entry.msgstr_plural.values())
    return not entry.msgstr


# --- Every text of the templates is marked -------------------------------------------

COMMENT = re.compile(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}|{#.*?#}", re.S)
BLOCK = re.compile(r"{%\s*blocktrans(?:late)?\b.*?%}.*?{%\s*endblocktrans(?:late)?\s*%}", re.S)
TAG = re.compile(r"{%.*?%}|{{.*?}}", re.S)
WORD = re.compile(r"[^\W\d_]{2,}")
# Text in these elements is data or code (HS codes, CSV column names, examples of a file).
VERBATIM = {"code", "kbd", "samp", "script", "style"}
SEEN_AS_TEXT = {"aria-label", "placeholder", "title", "alt"}


class _TextFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self.stack = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        verbatim = tag in VERBATIM or "mono" in (attrs.get("class") or "").split()
        self.stack.append((tag, verbatim))
        for name, value in attrs.items():
            if name in SEEN_AS_TEXT and value and WORD.search(value.replace("§", "")):
                self.found.append(f'{name}="{value}"')

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if any(verbatim for _tag, verbatim in self.stack):
            return
        text = " ".join(data.replace("§", " ").split())
        # A block's output that is an attribute (`{% block main_class %} class="narrow"`).
        text = re.sub(r'\b[\w-]+="[^"]*"', "", text)
        if WORD.search(text.replace("SHA-256", "")):
            self.found.append(text)


def unmarked_texts(source):
    source = TAG.sub("§", BLOCK.sub("§", COMMENT.sub("", source)))
    finder = _TextFinder()
    finder.feed(source)
    return finder.found


def test_every_template_text_is_marked_for_translation():
    found = {}
    for path in sorted((ROOT / "templates").rglob("*")):
        relative = path.relative_to(ROOT / "templates").as_posix()
        # The certificate prints its labels in three languages at once, from the
        # LABELS table of certification/documents/render.py.
        if path.suffix not in (".html", ".txt") or relative.startswith("certificates/"):
            continue
        source = path.read_text()
        texts = (
            unmarked_texts(source)
            if path.suffix == ".html"
            else [
                t
                for t in TAG.sub("§", BLOCK.sub("§", COMMENT.sub("", source))).split("§")
                if WORD.search(t)
            ]
        )
        if texts:
            found[relative] = texts
    assert found == {}, "mark these for translation ({% translate %} / {% blocktranslate %})"


def test_the_check_finds_an_unmarked_text():
    assert unmarked_texts('<p>{% translate "Fine" %}</p><p>Not marked</p>') == ["Not marked"]
    assert unmarked_texts('<input aria-label="Search">') == ['aria-label="Search"']
    assert (
        unmarked_texts("<code>product_ref</code>{% blocktranslate %}x{% endblocktranslate %}") == []
    )


# --- The catalogues hold every marked string, complete where they must be -------------


@pytest.fixture(scope="module")
def marked_strings(tmp_path_factory):
    """The msgids makemessages finds in the code now, from a copy of the tree (so that
    the repository's catalogues are not touched)."""
    copy = tmp_path_factory.mktemp("tree")
    for name in ("certification", "config", "portal", "registry", "templates"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "manage.py", copy / "manage.py")
    (copy / "locale").mkdir()
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "ru", "--no-location"],
        cwd=copy,
        check=True,
        capture_output=True,
        env={"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin"},
    )
    found = polib.pofile(str(copy / "locale" / "ru" / "LC_MESSAGES" / "django.po"))
    return {(entry.msgctxt, entry.msgid) for entry in found}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogue_holds_every_marked_string(language, marked_strings):
    held = {(entry.msgctxt, entry.msgid) for entry in catalogue(language) if not entry.obsolete}
    absent = sorted(msgid for _context, msgid in marked_strings - held)
    assert absent == [], "run: manage.py makemessages -a, then translate and compilemessages"


def test_russian_is_complete():
    incomplete = [entry.msgid for entry in catalogue("ru") if missing(entry)]
    assert incomplete == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_public_pages_and_emails_are_complete(language):
    incomplete = [e.msgid for e in catalogue(language) if is_public(e) and missing(e)]
    assert incomplete == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_is_up_to_date(language):
    folder = ROOT / "locale" / language / "LC_MESSAGES"
    compiled = polib.mofile(str(folder / "django.mo"))
    source = {
        e.msgid: e.msgstr for e in catalogue(language) if e.translated() and not e.msgid_plural
    }
    stale = [
        msgid
        for msgid, msgstr in source.items()
        if compiled.find(msgid) is None or compiled.find(msgid).msgstr != msgstr
    ]
    assert stale == [], "run: manage.py compilemessages"


PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|{{\s*\w+\s*}}|</?\w+")


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_every_placeholder_and_tag(language):
    """Each translation holds the placeholders and tags of its English text: a plural
    form those of the singular or of the plural (languages differ in which form a count
    of one takes)."""
    broken = []
    for entry in catalogue(language):
        if not entry.translated():
            continue
        english = [sorted(PLACEHOLDER.findall(entry.msgid))]
        if entry.msgid_plural:
            english.append(sorted(PLACEHOLDER.findall(entry.msgid_plural)))
        for text in [entry.msgstr] if not entry.msgid_plural else entry.msgstr_plural.values():
            if sorted(PLACEHOLDER.findall(text)) not in english:
                broken.append(entry.msgid)
    assert broken == []


def test_uzbek_uses_its_own_letters():
    """oʻ and gʻ with U+02BB, the tutuq belgisi with U+02BC: never an ASCII apostrophe or
    a quotation mark in their place."""
    wrong = []
    for entry in catalogue("uz"):
        for text in [entry.msgstr, *entry.msgstr_plural.values()]:
            if re.search(r"[OoGg]['‘’`]|\w['‘’`]\w", text):
                wrong.append(text)
    assert wrong == []
    assert any("\u02bb" in entry.msgstr for entry in catalogue("uz"))


# --- Pages and an email in each language, no English left ------------------------------

# A phrase of each page in English that must be gone in every other language.
ENGLISH = {
    "home": ["Verify a certificate", "Joint brand of"],
    "valid": ["This certificate is in force today", "Issuing authority"],
    "revoked": ["Revoked by the issuing authority", "Reason given"],
    "registry": ["Certified products", "Member state"],
    "email": ["was approved", "Verification page"],
}
# Letters only that language writes, so the page is in it and not merely non-English.
SCRIPT = {
    "ru": "ы",
    "uz": "\u02bb",
    "kk": "қ",
    "ky": "ү",
    "tg": "ҳ",
    "tk": "ý",
    "az": "ə",
}


@pytest.fixture
def certificates(db):
    from certification.models import Application, Certificate
    from certification.workflow import services
    from tests.certification.conftest import Flow

    flow = Flow("UZ")
    valid = Certificate.objects.get(application=flow.application(Application.Status.APPROVED))
    revoked = Certificate.objects.get(
        application=flow.application(Application.Status.APPROVED, product=flow.make_product())
    )
    services.certificate_revoke(actor=flow.reviewer, number=revoked.number, reason="Forged")
    return flow, valid, revoked


@pytest.mark.parametrize("language", LANGUAGES)
def test_pages_and_the_approval_email_have_no_english_left(language, certificates, client):
    from certification.models import OutboxEvent
    from certification.notifications import emails

    flow, valid, revoked = certificates
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    pages = {
        "home": client.get("/"),
        "valid": client.get(f"/verify/{valid.number}/"),
        "revoked": client.get(f"/verify/{revoked.number}/"),
        "registry": client.get("/registry/", {"q": "cotton"}),
    }
    texts = {}
    for name, response in pages.items():
        assert response.status_code == 200, name
        html = response.content.decode()
        assert f'<html lang="{language}"' in html
        texts[name] = html
    flow.member.language = language
    event = OutboxEvent.objects.filter(event="application.approved").first()
    message = emails.build(event, flow.member, delivery_id=1)
    texts["email"] = message.body + message.alternatives[0][0]
    for name, text in texts.items():
        left = [phrase for phrase in ENGLISH[name] if phrase in text]
        assert left == [], (language, name)
        assert SCRIPT[language] in text, (language, name)
    with translation.override(language):
        assert translation.gettext("VALID") in texts["valid"]
        assert translation.gettext("REVOKED") in texts["revoked"]
