"""Certificates in the manufacturer portal: the list with each status as verification
gives it (valid, expiring in N days, suspended, revoked, expired), the certificate's page
with its verification link and QR code, the PDF once stored (and a page that refreshes
itself until then), renewal when it is open; the dashboard; emails that link to the
portal's pages."""

import datetime
import re

import pytest
import zxingcpp
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image, ImageDraw

from certification.core import lifecycle
from certification.documents import store
from certification.models import Application, Certificate
from certification.notifications import emails
from certification.workflow import services
from tests.factories import MembershipFactory, ProducerFactory, ProductFactory, UserFactory
from tests.portal.conftest import text

pytestmark = pytest.mark.django_db
S = Application.Status


def issued(flow, product=None, **dates):
    application = flow.application(S.APPROVED, product=product)
    certificate = Certificate.objects.get(application=application)
    if dates:
        Certificate.objects.filter(pk=certificate.pk).update(**dates)
        certificate.refresh_from_db()
    return certificate


def _uz():
    from registry.models import MemberState

    return MemberState.objects.get(code="UZ")


def decode_qr(svg):
    """Draw segno's inline SVG (one horizontal stroke a run of dark modules) as a picture
    and read it with zxing-cpp, as a phone's camera would read the screen."""
    size = int(float(re.search(r'viewBox="0 0 (\d+) ', svg).group(1)) / 4)
    path = re.search(r'class="qrline"[^>]*\sd="([^"]+)"', svg).group(1)
    scale = 8
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    x = y = 0.0
    tokens = re.findall(r"[Mmh]|-?\d+(?:\.\d+)?", path)
    index = 0
    while index < len(tokens):
        op = tokens[index]
        if op in "Mm":
            dx, dy = float(tokens[index + 1]), float(tokens[index + 2])
            x, y = (dx, dy) if op == "M" else (x + dx, y + dy)
            index += 3
        else:
            length = float(tokens[index + 1])
            row = int(y)
            draw.rectangle(
                [x * scale, row * scale, (x + length) * scale - 1, (row + 1) * scale - 1], fill=0
            )
            x += length
            index += 2
    (result,) = zxingcpp.read_barcodes(image)
    return result.text


@pytest.fixture
def stopped_clock(monkeypatch):
    """timezone.now stopped at one instant for the test: the dates set here and the page's
    "expires in N days" count from the same day in Tashkent, even across its midnight."""
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    return now


def test_the_list_gives_each_certificate_its_status(stopped_clock, holder, flow):
    day = lifecycle.today_in(_uz(), stopped_clock)
    valid = issued(flow)
    expiring = issued(
        flow, ProductFactory(producer=flow.producer), valid_until=day + datetime.timedelta(days=12)
    )
    suspended = issued(flow, ProductFactory(producer=flow.producer))
    services.certificate_suspend(actor=flow.reviewer, number=suspended.number, reason="Audit")
    revoked = issued(flow, ProductFactory(producer=flow.producer))
    services.certificate_revoke(actor=flow.reviewer, number=revoked.number, reason="Fraud")
    expired = issued(
        flow,
        ProductFactory(producer=flow.producer),
        valid_from=day - datetime.timedelta(days=400),
        valid_until=day - datetime.timedelta(days=1),
    )

    page = text(holder.get("/portal/certificates/"))

    def status_of(certificate):
        row = page.split(certificate.number, 2)[2].split("</tr>")[0]
        return re.search(r'class="tag (\w+)">\s*(.*?)\s*</span>', row).groups()

    assert status_of(valid) == ("ok", "valid")
    assert status_of(expiring) == ("warn", "expires in 12 days")
    assert status_of(suspended) == ("bad", "suspended")
    assert status_of(revoked) == ("bad", "revoked")
    assert status_of(expired) == ("bad", "expired")


def test_the_certificate_page_links_its_verification_and_shows_its_qr_code(holder, flow):
    certificate = issued(flow)
    page = text(holder.get(f"/portal/certificates/{certificate.number}/"))
    assert f'<h1 class="number">{certificate.number}</h1>' in page
    assert flow.product.name in page
    assert certificate.origin_criterion in page
    assert flow.state.authority.name in page
    url = store.verify_url(certificate)
    assert f'href="{url}"' in page
    svg = page[page.index("<svg") : page.index("</svg>") + 6]
    assert "<title>" in svg  # named for screen readers
    assert decode_qr(svg) == url


def test_while_the_pdf_is_prepared_the_page_says_so_and_refreshes_itself(holder, flow):
    certificate = issued(flow)
    assert not store.is_stored(certificate)
    page = text(holder.get(f"/portal/certificates/{certificate.number}/"))
    assert '<meta http-equiv="refresh" content="5; url=?waited=1">' in page
    assert 'href="?waited=24">Stop refreshing this page</a>' in page
    assert "The PDF is being prepared." in page
    response = holder.get(f"/portal/certificates/{certificate.number}/pdf/", follow=True)
    assert response.redirect_chain[-1][0] == f"/portal/certificates/{certificate.number}/"
    assert "this page refreshes itself until it is ready" in text(response)


def test_the_page_stops_refreshing_when_asked_or_after_two_minutes(holder, flow):
    certificate = issued(flow)
    url = f"/portal/certificates/{certificate.number}/"
    page = text(holder.get(url, {"waited": "5"}))
    assert 'content="5; url=?waited=6"' in page
    for waited in ("24", "999", "nonsense"):
        page = text(holder.get(url, {"waited": waited}))
        assert 'http-equiv="refresh"' not in page
        assert "The PDF is not ready yet." in page
        assert f'href="{url}">Check again</a>' in page


def test_once_stored_the_pdf_downloads(holder, flow):
    certificate = issued(flow)
    store.render_and_store(certificate.pk)
    page = text(holder.get(f"/portal/certificates/{certificate.number}/"))
    assert 'http-equiv="refresh"' not in page
    assert "Download the PDF" in page
    response = holder.get(f"/portal/certificates/{certificate.number}/pdf/")
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{certificate.number}.pdf"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_renewal_is_offered_in_its_window_and_starts_a_renewal_application(holder, flow):
    day = lifecycle.today_in(_uz())
    certificate = issued(flow, valid_until=day + datetime.timedelta(days=200))
    page = text(holder.get(f"/portal/certificates/{certificate.number}/"))
    assert "Renewal opens 90 days before the certificate ends" in page
    assert "Start a renewal application" not in page
    refused = holder.post(f"/portal/certificates/{certificate.number}/renew/", follow=True)
    assert "Renewal opens 90 days before" in text(refused)
    assert not Application.objects.filter(renews=certificate).exists()

    Certificate.objects.filter(pk=certificate.pk).update(
        valid_until=day + datetime.timedelta(days=30)
    )
    page = text(holder.get(f"/portal/certificates/{certificate.number}/"))
    assert "Start a renewal application" in page
    response = holder.post(f"/portal/certificates/{certificate.number}/renew/", follow=True)
    renewal = Application.objects.get(renews=certificate)
    assert renewal.status == S.DRAFT and renewal.product_id == certificate.product_id
    assert response.redirect_chain[-1][0] == f"/portal/applications/{renewal.pk}/"
    assert f"renews certificate {certificate.number}" in text(response)
    page = text(holder.get(f"/portal/certificates/{certificate.number}/"))
    assert "A renewal application is open" in page
    assert "Start a renewal application" not in page


def test_another_producers_certificate_is_not_found(client, flow):
    certificate = issued(flow)
    outsider = UserFactory()
    MembershipFactory(user=outsider, producer=ProducerFactory())
    client.force_login(outsider)
    for url in (
        f"/portal/certificates/{certificate.number}/",
        f"/portal/certificates/{certificate.number}/pdf/",
    ):
        assert client.get(url).status_code == 404
    assert client.post(f"/portal/certificates/{certificate.number}/renew/").status_code == 404
    assert certificate.number not in text(client.get("/portal/certificates/"))


def test_the_certificate_list_takes_the_same_queries_for_one_or_ten(holder, flow):
    issued(flow)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert holder.get("/portal/certificates/").status_code == 200
        return len(captured)

    one = queries()
    for _ in range(9):
        issued(flow, ProductFactory(producer=flow.producer))
    assert queries() == one


def test_the_dashboard_puts_what_needs_attention_first(stopped_clock, holder, flow):
    day = lifecycle.today_in(_uz(), stopped_clock)
    changes = flow.application(S.CHANGES_REQUESTED)
    draft = flow.application(product=ProductFactory(producer=flow.producer, name="Silk scarf"))
    waiting = flow.application(S.SUBMITTED, product=ProductFactory(producer=flow.producer))
    expiring = issued(
        flow,
        ProductFactory(producer=flow.producer),
        valid_until=day + datetime.timedelta(days=45),
    )
    later = issued(flow, ProductFactory(producer=flow.producer))

    page = text(holder.get("/portal/"))

    attention = page.split("Needs your attention")[1].split("With the national authority")[0]
    assert (
        attention.index(f"/portal/applications/{changes.pk}/")
        < attention.index(expiring.number)
        < attention.index(f"/portal/applications/{draft.pk}/")
    )
    assert "Please attach the yarn invoice." in attention
    assert "expires in 45 days" in attention
    assert later.number not in page
    assert f"/portal/applications/{waiting.pk}/" in page.split("With the national authority")[1]


def test_a_certificate_being_renewed_leaves_the_dashboard(holder, flow):
    day = lifecycle.today_in(_uz())
    certificate = issued(flow, valid_until=day + datetime.timedelta(days=20))
    assert certificate.number in text(holder.get("/portal/"))
    flow.application(renews=certificate)
    assert certificate.number not in text(holder.get("/portal/"))


def test_a_newcomer_is_guided_from_the_dashboard(client):
    client.force_login(UserFactory())
    page = text(client.get("/portal/"))
    assert "Start here" in page and "/portal/producers/new/" in page


def test_signing_in_leads_to_the_dashboard(client, flow):
    from tests.factories import PASSWORD

    response = client.post("/account/login/", {"username": flow.member.email, "password": PASSWORD})
    assert response["Location"] == "/portal/"


def test_emails_to_manufacturers_link_to_their_portal_pages(
    flow, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.PUBLIC_BASE_URL = "https://registry.example.org"
    with django_capture_on_commit_callbacks(execute=True):
        application = flow.application(S.CHANGES_REQUESTED)
    with django_capture_on_commit_callbacks(execute=True):
        flow.do("submit", application)
        flow.do("start", application)
        flow.do("approve", application)
    certificate = Certificate.objects.get(application=application)
    to_member = [m for m in mailoutbox if m.to == [flow.member.email]]
    assert to_member, "the member was sent no email"
    bodies = "\n".join(m.body for m in to_member)
    htmls = "\n".join(m.alternatives[0][0] for m in to_member)
    portal_application = f"https://registry.example.org/portal/applications/{application.pk}/"
    portal_certificate = f"https://registry.example.org/portal/certificates/{certificate.number}/"
    assert portal_application in bodies and portal_application in htmls
    assert portal_certificate in bodies and portal_certificate in htmls
    assert "/api/v1/" not in bodies + htmls


def test_a_reviewer_is_sent_to_the_workspace(flow):
    from certification.models import OutboxEvent

    application = flow.application(S.SUBMITTED)
    event = OutboxEvent(
        event="application.submitted", payload={"application": {"id": application.pk}}
    )
    context = emails.context_for(event, flow.reviewer)
    assert context["application_url"].endswith(f"/workspace/applications/{application.pk}/")
