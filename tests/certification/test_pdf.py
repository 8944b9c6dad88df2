"""The certificate PDF (docs/api.md): one A4 page, trilingual, DejaVu Sans only, and a
QR code that decodes from a 150 dpi scan to exactly the verification URL. No database."""

import base64
import io
import json
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pypdf
import pytest
from PIL import Image

from certification.documents.render import LABELS, render_certificate_pdf

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_PDF = REPO_ROOT / "artifacts" / "certificate-sample-UZ.pdf"

needs_pdftoppm = pytest.mark.skipif(
    shutil.which("pdftoppm") is None,
    reason="pdftoppm is missing: apt-get install poppler-utils to rasterise the PDF",
)

STATES = {
    "UZ": (
        "Uzbekistan",
        "uz",
        "Ministry of Investment, Industry and Trade of the Republic of Uzbekistan",
        "Tashkent Textile Mill LLC",
        "301234567",
        "Asia/Tashkent",
    ),
    "KZ": (
        "Kazakhstan",
        "kk",
        "Ministry of Trade and Integration of the Republic of Kazakhstan",
        "Alatau Confectionery LLP",
        "180540012345",
        "Asia/Almaty",
    ),
    "KG": (
        "Kyrgyzstan",
        "ky",
        "Ministry of Economy and Commerce of the Kyrgyz Republic",
        "Issyk-Kul Felt Workshop LLC",
        "02304201910123",
        "Asia/Bishkek",
    ),
    "TJ": (
        "Tajikistan",
        "tg",
        "Ministry of Industry and New Technologies of the Republic of Tajikistan",
        "Khujand Silk LLC",
        "510012345",
        "Asia/Dushanbe",
    ),
    "TM": (
        "Turkmenistan",
        "tk",
        "Ministry of Trade and Foreign Economic Relations of Turkmenistan",
        "Ahal Carpet Works",
        "101234567890",
        "Asia/Ashgabat",
    ),
    "AZ": (
        "Azerbaijan",
        "az",
        "Ministry of Economy of the Republic of Azerbaijan",
        "Ganja Pomegranate Products LLC",
        "1401234561",
        "Asia/Baku",
    ),
}

# The longest names a token carries (docs/api.md: cut at 64 characters), in
# Cyrillic, so every letter is two bytes of UTF-8 in the token.
LONG_PRODUCER = "Общество с ограниченной ответственностью «Текстильная фабрика Ташкент»"[:64]
LONG_PRODUCT = "Футболка мужская трикотажная из хлопка с круглым вырезом горловины"[:64]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token_like(number, state, hs_code, product, producer, tax_id):
    """A compact JWS shaped as docs/api.md describes it, with a random signature:
    the PDF only carries it, so its size is what matters here."""
    header = {"alg": "EdDSA", "kid": f"{state.lower()}-2026-3f8a1c9e2b7d4a60"}
    claims = {"iss": state, "sub": number, "hs": hs_code, "prd": product[:64], "pro": producer[:64]}
    if tax_id:
        claims["tin"] = tax_id
    claims.update(nbf=1768469400, exp=1831575599, iat=1768469400)
    parts = [
        json.dumps(part, ensure_ascii=False, separators=(",", ":")).encode()
        for part in (header, claims)
    ]
    return ".".join([_b64(parts[0]), _b64(parts[1]), _b64(bytes(range(64)))])


def sample_context(code="UZ", *, producer=None, product=None, tax_id="default", token=None):
    name, language, authority, default_producer, default_tax_id, time_zone = STATES[code]
    producer = producer or default_producer
    product = product or "Men's cotton T-shirt, crew neck"
    tax_id = default_tax_id if tax_id == "default" else tax_id
    number = f"MCA-{code}-2026-000123-97"
    token = token or token_like(number, code, "610910", product, producer, tax_id)
    return {
        "number": number,
        "state": {"code": code, "name": name, "language": language, "time_zone": time_zone},
        "authority": {"name": authority},
        "producer": {
            "legal_name": producer,
            "trade_name": "Silk Road Cotton",
            "address": "12 Amir Temur Avenue, Yunusabad district, 100084",
            "tax_id": tax_id,
        },
        "product": {
            "name": product,
            "hs_code": "610910",
            "hs_description": "T-shirts, singlets and other vests; of cotton, knitted or crocheted",
            "description": "100% cotton single jersey, 160 g/m², sizes S–XXL.",
        },
        "origin_criterion": "CC except chapter 60",
        "valid_from": date(2026, 1, 15),
        "valid_until": date(2028, 1, 14),
        # 23:30 UTC on the 14th is already the 15th in every member state.
        "issued_at": datetime(2026, 1, 14, 23, 30, tzinfo=UTC),
        "verify_url": f"https://registry.example.org/verify/{number}/?t={token}",
        "status_note": None,
    }


def pdf_text(pdf: bytes) -> str:
    """The page's text with all white space (line breaks included) folded to one space."""
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    return re.sub(r"\s+", " ", text)


def embedded_fonts(pdf: bytes) -> set[str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    fonts, seen = set(), set()

    def walk(resources):
        resources = resources.get_object() if resources is not None else {}
        for font in (resources.get("/Font") or {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]))
        for xobject in (resources.get("/XObject") or {}).values():
            ref = getattr(xobject, "idnum", None)
            if ref in seen:
                continue
            seen.add(ref)
            xobject = xobject.get_object()
            if "/Resources" in xobject:
                walk(xobject["/Resources"])

    for page in reader.pages:
        walk(page.get("/Resources"))
    return fonts


def decode_qr(pdf: bytes, tmp_path: Path, dpi: int = 150) -> list[str]:
    import zxingcpp

    source = tmp_path / "certificate.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(source), str(tmp_path / "page")],
        check=True,
    )
    with Image.open(tmp_path / "page.png") as image:
        return [
            barcode.text
            for barcode in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        ]


@pytest.fixture(scope="module", params=list(STATES))
def rendered(request):
    context = sample_context(request.param)
    return context, render_certificate_pdf(context)


def test_certificate_is_one_a4_page(rendered):
    _, pdf = rendered
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points


def test_certificate_shows_number_product_producer_and_dates(rendered):
    context, pdf = rendered
    text = pdf_text(pdf)
    for expected in (
        context["number"],
        context["product"]["name"],
        context["product"]["hs_code"],
        context["producer"]["legal_name"],
        context["producer"]["address"],
        context["authority"]["name"],
        context["origin_criterion"],
        "15.01.2026",  # valid from, and the day of issue in the state's time zone
        "14.01.2028",
        "registry.example.org/verify/" + context["number"] + "/",
    ):
        assert expected in text


def test_certificate_labels_are_in_english_russian_and_the_states_language(rendered):
    context, pdf = rendered
    text = pdf_text(pdf).casefold()  # English labels are set in capitals by the stylesheet
    language = context["state"]["language"]
    for key in (
        "title",
        "number",
        "producer",
        "tax_id",
        "product",
        "hs_code",
        "origin_criterion",
        "valid_from",
        "valid_until",
        "authority",
        "verify",
    ):
        for lang in ("en", "ru", language):
            assert LABELS[key][lang].casefold() in text, (key, lang)


def test_certificate_embeds_only_dejavu_fonts(rendered):
    _, pdf = rendered
    fonts = embedded_fonts(pdf)
    assert fonts
    assert all("DejaVu" in font for font in fonts), fonts


@needs_pdftoppm
def test_qr_decodes_at_150_dpi_to_the_verify_url(rendered, tmp_path):
    context, pdf = rendered
    assert decode_qr(pdf, tmp_path) == [context["verify_url"]]


@needs_pdftoppm
@pytest.mark.parametrize("code", ["UZ", "KZ"])
def test_qr_decodes_with_the_longest_cyrillic_names(code, tmp_path):
    context = sample_context(code, producer=LONG_PRODUCER, product=LONG_PRODUCT)
    assert len(context["verify_url"]) > 650  # the real worst case: names as UTF-8 in the token
    pdf = render_certificate_pdf(context)
    text = pdf_text(pdf)

    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 1
    assert LONG_PRODUCER in text and LONG_PRODUCT in text
    assert decode_qr(pdf, tmp_path) == [context["verify_url"]]


@needs_pdftoppm
def test_qr_decodes_with_a_450_character_token(tmp_path):
    token = _b64(bytes(range(256)) * 2)[:450]
    context = sample_context("TJ", producer=LONG_PRODUCER, product=LONG_PRODUCT, token=token)
    assert decode_qr(render_certificate_pdf(context), tmp_path) == [context["verify_url"]]


@needs_pdftoppm
def test_qr_falls_back_to_level_l_and_still_decodes_for_a_very_long_url(tmp_path):
    context = sample_context("AZ", token=_b64(bytes(range(256)) * 3)[:900])
    assert decode_qr(render_certificate_pdf(context), tmp_path) == [context["verify_url"]]


def word_boxes(pdf: bytes, tmp_path: Path) -> list[tuple[float, float, float, float, str]]:
    """Every word on the page with its box in points (x0, y0, x1, y1; y grows downwards)."""
    source = tmp_path / "words.pdf"
    source.write_bytes(pdf)
    html = subprocess.run(
        ["pdftotext", "-bbox", str(source), "-"], check=True, capture_output=True, text=True
    ).stdout
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>'
    return [(*map(float, box), word) for *box, word in re.findall(pattern, html)]


def longest_values_context():
    """Every field at the most the registry accepts (names 255, authority 200), the free
    text far beyond what the page prints, and a status note."""

    def cyrillic(length):
        return ("Общество с ограниченной ответственностью Ташкент Самарканд Бухара " * 50)[:length]

    context = sample_context("KZ", producer=cyrillic(255), product=cyrillic(254) + "Ж")
    context["producer"]["trade_name"] = cyrillic(250)
    context["producer"]["address"] = "\n".join([cyrillic(120)] * 10)
    context["product"]["description"] = cyrillic(5000)
    context["product"]["hs_description"] = cyrillic(400)
    context["origin_criterion"] = cyrillic(200)
    context["authority"]["name"] = cyrillic(200)
    context["status_note"] = "Suspended on 01.03.2026; replaces MCA-KZ-2025-000042-51"
    return context


@needs_pdftoppm
def test_longest_values_fit_on_one_page_clear_of_the_qr_code(tmp_path):
    context = longest_values_context()
    pdf = render_certificate_pdf(context)

    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 1
    text = pdf_text(pdf)
    assert context["producer"]["legal_name"] in text  # names are printed whole
    assert context["product"]["name"] in text
    assert decode_qr(pdf, tmp_path) == [context["verify_url"]]

    # No word runs into the QR code or its quiet zone (zxing gives the symbol's corners
    # in pixels at 150 dpi; 4 modules of quiet zone are under 2.5 mm).
    import zxingcpp

    with Image.open(tmp_path / "page.png") as image:
        (barcode,) = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    corners = [
        barcode.position.top_left,
        barcode.position.top_right,
        barcode.position.bottom_left,
        barcode.position.bottom_right,
    ]
    points_per_pixel, quiet_zone = 72 / 150, 2.5 / 25.4 * 72
    qr_left = min(p.x for p in corners) * points_per_pixel - quiet_zone
    qr_right = max(p.x for p in corners) * points_per_pixel + quiet_zone
    qr_top = min(p.y for p in corners) * points_per_pixel - quiet_zone
    qr_bottom = max(p.y for p in corners) * points_per_pixel + quiet_zone
    overlapping = [
        word
        for x0, y0, x1, y1, word in word_boxes(pdf, tmp_path)
        if x0 < qr_right and x1 > qr_left and y0 < qr_bottom and y1 > qr_top
    ]
    assert overlapping == []


def test_companys_tax_id_is_printed():
    pdf = render_certificate_pdf(sample_context("KZ", tax_id="180540012345"))
    text = pdf_text(pdf)
    assert "180540012345" in text
    assert LABELS["tax_id"]["en"].casefold() in text.casefold()


def test_individual_entrepreneurs_tax_id_is_not_printed():
    # An individual entrepreneur's tax id is personal data (docs/api.md).
    pdf = render_certificate_pdf(sample_context("KZ", tax_id=None))
    text = pdf_text(pdf)
    assert "180540012345" not in text
    assert LABELS["tax_id"]["en"].casefold() not in text.casefold()
    assert LABELS["tax_id"]["kk"] not in text


def test_status_note_is_printed_when_given():
    context = sample_context("KG")
    context["status_note"] = "Replaces certificate MCA-KG-2025-000042-51"
    assert "Replaces certificate MCA-KG-2025-000042-51" in pdf_text(render_certificate_pdf(context))


def test_names_are_escaped_not_interpreted_as_html():
    context = sample_context("UZ", producer='<img src="file:///etc/passwd"> & Sons <b>LLC</b>')
    text = pdf_text(render_certificate_pdf(context))
    assert '<img src="file:///etc/passwd"> & Sons <b>LLC</b>' in text


def test_unknown_language_is_refused():
    context = sample_context("UZ")
    context["state"]["language"] = "fr"
    with pytest.raises(ValueError, match="fr"):
        render_certificate_pdf(context)


def test_pdf_is_titled_by_the_certificate_and_its_one_outline_entry_is_the_title(rendered):
    context, pdf = rendered
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert reader.metadata.title == f"{LABELS['title']['en']} {context['number']}"
    assert reader.metadata.author == context["authority"]["name"]
    assert [entry["/Title"] for entry in reader.outline] == [LABELS["title"]["en"]]


def test_rendering_is_deterministic():
    # The stored file's SHA-256 is its ETag (docs/api.md): a second render of the same
    # certificate gives the same bytes.
    context = sample_context("TM")
    assert render_certificate_pdf(context) == render_certificate_pdf(context)


def test_renders_at_once_in_threads_give_each_its_own_certificate():
    # On the embedded default a render runs in a thread of its own (store.queue_render).
    from concurrent.futures import ThreadPoolExecutor

    contexts = [sample_context(code) for code in ("UZ", "KG", "AZ", "UZ")]
    contexts[3]["producer"]["legal_name"] = "Samarkand Paper Mill LLC"
    alone = [render_certificate_pdf(context) for context in contexts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(render_certificate_pdf, contexts)) == alone


def test_only_the_longest_values_take_a_second_layout(monkeypatch):
    # A certificate is laid out once; only values too long for the regular layout are
    # laid out again in the compact one (certification/documents/render.py).
    import weasyprint

    layouts, render = [], weasyprint.HTML.render

    def counted(self, *args, **kwargs):
        layouts.append(self)
        return render(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.HTML, "render", counted)
    render_certificate_pdf(sample_context("KZ", producer=LONG_PRODUCER, product=LONG_PRODUCT))
    assert len(layouts) == 1
    render_certificate_pdf(longest_values_context())
    assert len(layouts) == 3


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "https://example.org/logo.svg", "certificate:/other.svg"]
)
def test_the_render_loads_nothing_but_its_two_images(url):
    from certification.documents.render import MARK_URL, QR_URL, _Resources

    resources = _Resources(b"<svg/>")
    with pytest.raises(ValueError, match="no outside resources"):
        resources.fetch(url)
    assert resources.fetch(QR_URL).read() == b"<svg/>"
    assert resources.fetch(MARK_URL).read().startswith(b"<svg")


def test_a_control_character_in_a_name_still_renders():
    context = sample_context("KG", producer="Issyk-Kul\x0bFelt Workshop LLC")
    assert len(pypdf.PdfReader(io.BytesIO(render_certificate_pdf(context))).pages) == 1


def test_renewal_names_the_certificate_it_renews_in_three_languages():
    context = sample_context("AZ")
    context["renews"] = "MCA-AZ-2025-000042-51"
    text = pdf_text(render_certificate_pdf(context))
    label = LABELS["renews"]
    assert f"{label['en']} / {label['ru']} / {label['az']}: MCA-AZ-2025-000042-51" in text


def test_fonts_are_subset_by_harfbuzz():
    # Without libharfbuzz-subset0 WeasyPrint falls back to fontTools and every certificate
    # takes several times longer (README, "System packages"; .ci/run installs it).
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    assert harfbuzz_subset, "apt-get install libharfbuzz-subset0"
    assert harfbuzz.hb_version_atleast(4, 1, 0)


def test_writes_a_sample_for_people_to_open():
    SAMPLE_PDF.parent.mkdir(exist_ok=True)
    SAMPLE_PDF.write_bytes(render_certificate_pdf(sample_context("UZ")))
    assert SAMPLE_PDF.read_bytes().startswith(b"%PDF-")
