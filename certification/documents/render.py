"""The certificate PDF (docs/api.md): one A4 page in English, Russian and the issuing
state's language, set in DejaVu Sans, with a QR code that carries the verification URL.

Independent of the database: the caller builds a plain-data context from the certificate
record and gets the PDF bytes back. The page is the template filled in and laid out by
WeasyPrint as one document, through its public API only (HTML, CSS, FontConfiguration and
a URL fetcher), so that a WeasyPrint upgrade within the range requirements.txt allows
cannot break it; tests/certification/test_pdf.py fails should this module reach into
WeasyPrint's internals. The parsed stylesheet and the font configuration are made once per
process and reused by every render. A render runs in a worker after the approval commits,
never while someone waits on a request (bench/pdf.py measures its throughput).
"""

import functools
import io
import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import segno
import weasyprint
from django.template.loader import render_to_string
from django.utils.text import Truncator
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

logger = logging.getLogger(__name__)

TEMPLATE = "certificates/certificate.html"
STYLESHEET = "certificates/certificate.css"
MARK = "certificates/mark.svg"
# Pseudo URLs of the two images, answered by _Resources.
BASE_URL = "certificate:/"
MARK_URL = "certificate:/mark.svg"
QR_URL = "certificate:/qr.svg"

LANGUAGES = ("uz", "kk", "ky", "tg", "tk", "az")

# Every label is printed in all three languages at once: English, Russian and the issuing
# state's language. Uzbek is in the official Latin script with the modifier letters
# U+02BB (oʻ, gʻ) and U+02BC (tutuq belgisi), which DejaVu Sans covers. The HS code is named
# after each state's national goods nomenclature (TN VED and its equivalents), whose first
# six digits are the HS subheading.
LABELS: dict[str, dict[str, str]] = {
    "brand": {
        "en": "Made in Central Asia",
        "ru": "Сделано в Центральной Азии",
        "uz": "Markaziy Osiyoda ishlab chiqarilgan",
        "kk": "Орталық Азияда жасалған",
        "ky": "Борбордук Азияда жасалган",
        "tg": "Дар Осиёи Марказӣ истеҳсол шудааст",
        "tk": "Merkezi Aziýada öndürildi",
        "az": "Mərkəzi Asiyada istehsal olunub",
    },
    "title": {
        "en": "Certificate of origin",
        "ru": "Сертификат происхождения",
        "uz": "Kelib chiqish sertifikati",
        "kk": "Шығу тегі туралы сертификат",
        "ky": "Келип чыгуу сертификаты",
        "tg": "Сертификати пайдоиш",
        "tk": "Gelip çykyş şahadatnamasy",
        "az": "Mənşə sertifikatı",
    },
    "number": {
        "en": "Certificate number",
        "ru": "Номер сертификата",
        "uz": "Sertifikat raqami",
        "kk": "Сертификат нөмірі",
        "ky": "Сертификаттын номери",
        "tg": "Рақами сертификат",
        "tk": "Şahadatnamanyň belgisi",
        "az": "Sertifikatın nömrəsi",
    },
    "country": {
        "en": "Country of origin",
        "ru": "Страна происхождения",
        "uz": "Kelib chiqqan mamlakat",
        "kk": "Шығарылған елі",
        "ky": "Келип чыккан өлкө",
        "tg": "Кишвари пайдоиш",
        "tk": "Gelip çykan ýurdy",
        "az": "Mənşə ölkəsi",
    },
    "producer": {
        "en": "Producer",
        "ru": "Производитель",
        "uz": "Ishlab chiqaruvchi",
        "kk": "Өндіруші",
        "ky": "Өндүрүүчү",
        "tg": "Истеҳсолкунанда",
        "tk": "Öndüriji",
        "az": "İstehsalçı",
    },
    "trade_name": {
        "en": "Trade name",
        "ru": "Торговое наименование",
        "uz": "Savdo nomi",
        "kk": "Сауда атауы",
        "ky": "Соода аталышы",
        "tg": "Номи тиҷоратӣ",
        "tk": "Söwda ady",
        "az": "Ticarət adı",
    },
    "address": {
        "en": "Address",
        "ru": "Адрес",
        "uz": "Manzil",
        "kk": "Мекенжайы",
        "ky": "Дареги",
        "tg": "Суроға",
        "tk": "Salgysy",
        "az": "Ünvan",
    },
    # The abbreviations the tax ID goes by on each state's own forms (STIR, BSN, INN, RMA,
    # VÖEN); a customs officer of that state reads them at a glance.
    "tax_id": {
        "en": "Tax ID",
        "ru": "ИНН",
        "uz": "STIR",
        "kk": "БСН",
        "ky": "ИНН",
        "tg": "РМА",
        "tk": "Salgyt belgisi",
        "az": "VÖEN",
    },
    "product": {
        "en": "Product",
        "ru": "Продукция",
        "uz": "Mahsulot",
        "kk": "Өнім",
        "ky": "Продукция",
        "tg": "Маҳсулот",
        "tk": "Önüm",
        "az": "Məhsul",
    },
    "hs_code": {
        "en": "HS code",
        "ru": "Код ТН ВЭД",
        "uz": "TIF TN kodi",
        "kk": "СЭҚ ТН коды",
        "ky": "ТЭИ ТН коду",
        "tg": "Рамзи НМ ФИХ",
        "tk": "Haryt kody",
        "az": "XİF MN kodu",
    },
    "origin_criterion": {
        "en": "Origin criterion",
        "ru": "Критерий происхождения",
        "uz": "Kelib chiqish mezoni",
        "kk": "Шығу тегінің өлшемшарты",
        "ky": "Келип чыгуу критерийи",
        "tg": "Меъёри пайдоиш",
        "tk": "Gelip çykyş ölçegi",
        "az": "Mənşə meyarı",
    },
    "valid_from": {
        "en": "Valid from",
        "ru": "Действителен с",
        "uz": "Amal qilish muddatining boshlanishi",
        "kk": "Қолданылу мерзімінің басталуы",
        "ky": "Колдонулуу мөөнөтүнүн башталышы",
        "tg": "Мӯҳлати эътибор аз",
        "tk": "Hereket möhletiniň başy",
        "az": "Etibarlılıq müddətinin başlanğıcı",
    },
    "valid_until": {
        "en": "Valid until",
        "ru": "Действителен до",
        "uz": "Amal qilish muddatining tugashi",
        "kk": "Қолданылу мерзімінің аяқталуы",
        "ky": "Колдонулуу мөөнөтүнүн аякташы",
        "tg": "Мӯҳлати эътибор то",
        "tk": "Hereket möhletiniň ahyry",
        "az": "Etibarlılıq müddətinin sonu",
    },
    "issued_at": {
        "en": "Date of issue",
        "ru": "Дата выдачи",
        "uz": "Berilgan sana",
        "kk": "Берілген күні",
        "ky": "Берилген күнү",
        "tg": "Санаи додан",
        "tk": "Berlen senesi",
        "az": "Verilmə tarixi",
    },
    "authority": {
        "en": "Issuing authority",
        "ru": "Выдавший орган",
        "uz": "Sertifikatni bergan organ",
        "kk": "Берген орган",
        "ky": "Берген орган",
        "tg": "Мақоми додаанда",
        "tk": "Beren edara",
        "az": "Verən orqan",
    },
    "verify": {
        "en": "Verify this certificate",
        "ru": "Проверка сертификата",
        "uz": "Sertifikatni tekshirish",
        "kk": "Сертификатты тексеру",
        "ky": "Сертификатты текшерүү",
        "tg": "Санҷиши сертификат",
        "tk": "Şahadatnamany barlamak",
        "az": "Sertifikatın yoxlanılması",
    },
    # The status note of a renewal, followed by the number of the certificate it renews.
    "renews": {
        "en": "Renewal of certificate",
        "ru": "Продление сертификата",
        "uz": "Sertifikatni uzaytirish",
        "kk": "Сертификатты ұзарту",
        "ky": "Сертификатты узартуу",
        "tg": "Тамдиди сертификат",
        "tk": "Şahadatnamany uzaltmak",
        "az": "Sertifikatın uzadılması",
    },
    # The QR token proves authenticity, not the current status (docs/api.md): the
    # reader is sent to the registry for that.
    "verify_hint": {
        "en": "Scan the QR code to check the current status in the registry.",
        "ru": "Отсканируйте QR-код, чтобы проверить текущий статус в реестре.",
        "uz": "Reestrdagi joriy holatni tekshirish uchun QR-kodni skanerlang.",
        "kk": "Тізілімдегі ағымдағы мәртебені тексеру үшін QR-кодты сканерлеңіз.",
        "ky": "Реестрдеги учурдагы статусту текшерүү үчүн QR-кодду сканерлеңиз.",
        "tg": "Барои санҷиши вазъи ҷорӣ дар феҳрист QR-кодро скан кунед.",
        "tk": "Reýestrdäki häzirki ýagdaýy barlamak üçin QR-kody skanirläň.",
        "az": "Reyestrdəki cari statusu yoxlamaq üçün QR-kodu skan edin.",
    },
}

# The states' own names in Russian and in their language; the context carries the English.
STATE_NAMES: dict[str, dict[str, str]] = {
    "UZ": {"ru": "Узбекистан", "uz": "Oʻzbekiston"},
    "KZ": {"ru": "Казахстан", "kk": "Қазақстан"},
    "KG": {"ru": "Кыргызстан", "ky": "Кыргызстан"},
    "TJ": {"ru": "Таджикистан", "tg": "Тоҷикистон"},
    "TM": {"ru": "Туркменистан", "tk": "Türkmenistan"},
    "AZ": {"ru": "Азербайджан", "az": "Azərbaycan"},
}

# Level M survives a scuffed print. The QR is drawn at a fixed size (50 mm, see
# certificate.css), so a longer URL only makes the modules smaller: at version 24 they are
# 0.41 mm, 2.4 pixels of a 150 dpi scan. Past that, level L buys the room instead. The
# longest real URL (64-character Cyrillic names in the token, ~730 characters) is version
# 22 at level M.
QR_ERROR = "m"
QR_MAX_VERSION_AT_M = 24

FONT_CONFIG = FontConfiguration()

# Pango's font map is not documented as thread-safe and FONT_CONFIG is shared, so renders
# in one process take turns (a render is CPU-bound under the GIL anyway).
_render_lock = threading.Lock()


@functools.cache
def _stylesheet() -> weasyprint.CSS:
    return weasyprint.CSS(string=render_to_string(STYLESHEET), font_config=FONT_CONFIG)


def labels_for(language: str) -> dict[str, dict[str, str]]:
    """Each label as {"en", "ru", "local"} for the issuing state's language."""
    if language not in LANGUAGES:
        raise ValueError(f"No certificate labels for language {language!r}.")
    return {
        key: {"en": texts["en"], "ru": texts["ru"], "local": texts[language]}
        for key, texts in LABELS.items()
    }


def qr_code(data: str) -> segno.QRCode:
    """The QR code for `data`: level M, or L when M would make the modules too small."""
    code = segno.make(data, error=QR_ERROR, boost_error=False, micro=False)
    if code.version > QR_MAX_VERSION_AT_M:
        code = segno.make(data, error="l", boost_error=False, micro=False)
    return code


def qr_svg(data: str) -> bytes:
    """The QR code as segno draws it in SVG, one unit per module with the standard
    4-module quiet zone; the stylesheet gives it its printed size, as a vector image it
    prints crisp at any resolution."""
    out = io.BytesIO()
    qr_code(data).save(out, kind="svg", xmldecl=False, scale=1, border=4)
    return out.getvalue()


@functools.cache
def _mark_svg() -> bytes:
    return render_to_string(MARK).encode()


class _Resources(URLFetcher):
    """Serves the certificate's two images and refuses every other URL, so a rendering
    never reads a file or the network whatever ends up in the data. (A subclass of
    weasyprint.urls.URLFetcher with its own `fetch` is WeasyPrint's documented way to
    answer URLs.)"""

    def __init__(self, qr: bytes):
        super().__init__(allowed_protocols=())
        self.images = {MARK_URL: _mark_svg(), QR_URL: qr}

    def fetch(self, url, headers=None):
        if url not in self.images:
            raise ValueError(f"The certificate loads no outside resources: {url}")
        return URLFetcherResponse(url, self.images[url], {"Content-Type": "image/svg+xml"})


def _format_date(value: date | datetime, time_zone: str | None = None) -> str:
    # Day.month.year is how every member state writes dates on official papers.
    if isinstance(value, datetime):
        if time_zone and value.tzinfo is not None:
            value = value.astimezone(ZoneInfo(time_zone))
        value = value.date()
    return value.strftime("%d.%m.%Y")


def _address_without_query(url: str) -> str:
    # The printed address a person can type: the token stays in the QR code only.
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


@dataclass(frozen=True)
class _Fit:
    """How one free-text field goes on the page: set smaller past `long` and `longer`
    characters, cut (with an ellipsis) past `cut`."""

    long: int
    longer: int
    cut: int

    def __call__(self, text: str | None) -> dict[str, str]:
        text = text or ""
        if len(text) > self.cut:  # Truncator would leave it as it is, only slower
            text = Truncator(text).chars(self.cut)
        size = "longer" if len(text) > self.longer else "long" if len(text) > self.long else ""
        return {"text": text, "size": size}


# The longest values the registry accepts must still fit on the one page above the QR code
# (tests/certification/test_pdf.py renders them). The names are the certificate's subject
# and are printed whole (the registry allows 255 characters); secondary text is cut.
FIT = {
    "legal_name": _Fit(80, 160, 255),
    "trade_name": _Fit(50, 80, 120),
    "address": _Fit(110, 160, 220),
    "product_name": _Fit(80, 160, 255),
    "description": _Fit(120, 120, 180),
    "hs_description": _Fit(90, 160, 220),
    "origin_criterion": _Fit(40, 80, 120),
    "authority": _Fit(90, 150, 200),
    "status_note": _Fit(120, 120, 160),
}


def _one_line(text: str | None) -> str:
    # An address typed on several lines runs on one here: the page has room for words, not
    # for an unbounded number of lines.
    return ", ".join(line.strip(" ,") for line in (text or "").splitlines() if line.strip(" ,"))


def certificate_html(context: dict, *, compact: bool = False) -> str:
    """The certificate as HTML: the template filled in with one certificate (`context` as
    for render_certificate_pdf); `compact` sets everything tighter, for values too long
    for the regular layout."""
    state = context["state"]
    producer = context["producer"]
    product = context["product"]
    language = state["language"]
    state_names = STATE_NAMES.get(state["code"], {})
    # The English name leads; Russian and the state's own follow (once, when they coincide).
    other_names = [state_names.get("ru"), state_names.get(language)]
    trade_name = producer.get("trade_name")
    return render_to_string(
        TEMPLATE,
        {
            **context,
            "compact": compact,
            "L": labels_for(language),
            "state_names_other": [name for name in dict.fromkeys(other_names) if name],
            "valid_from_text": _format_date(context["valid_from"]),
            "valid_until_text": _format_date(context["valid_until"]),
            "issued_at_text": _format_date(context["issued_at"], state.get("time_zone")),
            "verify_address": _address_without_query(context["verify_url"]),
            "show_trade_name": bool(trade_name) and trade_name != producer.get("legal_name"),
            "fit": {
                "legal_name": FIT["legal_name"](producer.get("legal_name")),
                "trade_name": FIT["trade_name"](trade_name),
                "address": FIT["address"](_one_line(producer.get("address"))),
                "product_name": FIT["product_name"](product.get("name")),
                "description": FIT["description"](product.get("description")),
                "hs_description": FIT["hs_description"](product.get("hs_description")),
                "origin_criterion": FIT["origin_criterion"](context.get("origin_criterion")),
                "authority": FIT["authority"](context["authority"].get("name")),
                "status_note": FIT["status_note"](context.get("status_note")),
            },
            "mark_url": MARK_URL,
            "qr_url": QR_URL,
        },
    )


def _render(html: str, resources: _Resources) -> weasyprint.Document:
    page = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=resources)
    return page.render(stylesheets=[_stylesheet()], font_config=FONT_CONFIG)


def render_certificate_pdf(context: dict) -> bytes:
    """Render one certificate as a one-page A4 PDF.

    `context` is plain data: number, state {code, name, language[, time_zone]}, authority
    {name}, producer {legal_name, trade_name, address, tax_id (None: not printed)}, product
    {name, hs_code, hs_description, description}, origin_criterion, valid_from, valid_until,
    issued_at, verify_url, an optional status_note and, for a renewal, the number of the
    certificate it renews (`renews`).
    """
    resources = _Resources(qr_svg(context["verify_url"]))
    with _render_lock:
        document = _render(certificate_html(context), resources)
        if len(document.pages) > 1:
            # Only the longest values get here: set the page tighter rather than spill over.
            document = _render(certificate_html(context, compact=True), resources)
            if len(document.pages) > 1:  # the values are cut so that this cannot happen
                logger.error("Certificate %s does not fit one page.", context["number"])
        return document.write_pdf()
