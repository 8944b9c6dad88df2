"""The reviewers' workspace: the producers of the state (search by name or tax id, filter by
attestation, paginated with a constant number of queries), the producer's page (details,
attestation, members, products, applications, certificates), attesting its identity once
(services.producer_attest: audited, as the first approval does), and every role on every
page and form."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import date_format

from certification.exceptions import Conflict, NotFound, PermissionDenied
from certification.models import Application, AuditEvent, Certificate
from certification.workflow import services
from registry.models import Producer, Product
from tests.factories import (
    CustomsFactory,
    MembershipFactory,
    ProducerFactory,
    ReviewerFactory,
    SecretariatFactory,
    UserFactory,
    state,
)
from tests.portal.conftest import (
    REFUSED_POST,
    WORKSPACE_LIST_ACCESS,
    WORKSPACE_PAGE_ACCESS,
    assert_list_access,
    page_as,
    rows,
    text,
    workspace_roles,
)

pytestmark = pytest.mark.django_db
S = Application.Status


@pytest.fixture
def stopped_clock(monkeypatch):
    """timezone.now stopped at one instant for the test: what it makes and the page it reads
    fall on the same day even when the test runs across midnight."""
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    return now


def listed(client, producers, query=None):
    page = text(client.get("/workspace/producers/", query or {}))
    return {p.legal_name for p in producers if f"/workspace/producers/{p.pk}/" in page}


def test_the_list_shows_the_states_producers_by_name(reviewing, flow):
    Producer.objects.filter(pk=flow.producer.pk).update(legal_name="Zarafshon Textiles LLC")
    first = ProducerFactory(legal_name="Andijan Cotton LLC")
    elsewhere = ProducerFactory(legal_name="Almaty Wool LLP", member_state=state("KZ"))
    flow.application(S.APPROVED)  # one product, one certificate, identity attested

    page = text(reviewing.get("/workspace/producers/"))

    found = rows(page)
    assert len(found) == 2 and "2 producers, by name" in page
    assert first.legal_name in found[0] and "Not yet attested" in found[0]
    assert "Zarafshon Textiles LLC" in found[1] and "Attested" in found[1]
    assert '<td data-label="Certificates">1</td>' in found[1]
    assert elsewhere.legal_name not in page


@pytest.mark.parametrize(
    "query",
    [
        lambda p: "  andijan cot ",
        lambda p: "SILK ROAD",  # the trade name
        lambda p: f" {p.tax_id} ",
        lambda p: p.tax_id[:6],
    ],
    ids=["name in lower case with spaces", "trade name", "tax id", "part of the tax id"],
)
def test_the_search_finds_by_name_or_tax_id(reviewing, flow, query):
    wanted = ProducerFactory(legal_name="Andijan Cotton LLC", trade_name="Silk Road")
    unwanted = ProducerFactory(legal_name="Bukhara Leather LLC", tax_id="987654321")
    if query(wanted) == wanted.tax_id[:6]:
        assert not unwanted.tax_id.startswith(wanted.tax_id[:6])
    assert listed(reviewing, [wanted, unwanted], {"q": query(wanted)}) == {wanted.legal_name}


def test_the_attestation_filter(reviewing, flow):
    flow.application(S.APPROVED)  # attests the flow's producer
    new = ProducerFactory()
    everyone = [flow.producer, new]
    assert listed(reviewing, everyone, {"attested": "yes"}) == {flow.producer.legal_name}
    assert listed(reviewing, everyone, {"attested": "no"}) == {new.legal_name}
    assert listed(reviewing, everyone) == {flow.producer.legal_name, new.legal_name}
    response = reviewing.get("/workspace/producers/", {"attested": "maybe"})
    assert response.status_code == 400 and 'id="error-summary"' in text(response)


def test_the_list_takes_the_same_queries_for_ten_or_a_hundred_producers(reviewing, flow):
    def fill(count):
        for _ in range(count):
            producer = ProducerFactory()
            MembershipFactory(producer=producer, user=UserFactory())

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = reviewing.get("/workspace/producers/", {"q": "LLC", "attested": "no"})
        assert response.status_code == 200
        return len(captured), text(response)

    flow.application(S.APPROVED)
    fill(9)
    ten, _page = queries()
    fill(90)
    hundred, page = queries()
    assert hundred == ten
    assert "99 producers" in page and len(rows(page)) == 50 and "Page 1 of 2" in page


def test_the_producer_page_shows_its_details_members_goods_and_certificates(
    stopped_clock, reviewing, flow
):
    MembershipFactory(producer=flow.producer, user=UserFactory(full_name="Dilnoza Karimova"))
    approved = flow.application(S.APPROVED)
    certificate = Certificate.objects.get(application=approved)
    waiting = flow.application(S.SUBMITTED, product=flow.make_product())
    draft = flow.application(product=flow.make_product())

    page = text(reviewing.get(f"/workspace/producers/{flow.producer.pk}/"))

    assert flow.producer.legal_name in page and flow.producer.tax_id in page
    assert flow.producer.contact_email in page
    members = page.split('id="members-title"')[1].split('id="products-title"')[0]
    assert flow.member.email in members and "Dilnoza Karimova" in members
    assert date_format(stopped_clock.date(), "DATE_FORMAT") in members  # member since
    assert flow.product.name in page.split('id="products-title"')[1]
    applications = page.split('id="applications-title"')[1].split('id="certificates-title"')[0]
    assert f'href="/workspace/applications/{approved.pk}/"' in applications
    assert f'href="/workspace/applications/{waiting.pk}/"' in applications
    assert f"No. {draft.pk}" not in applications  # a draft is its members' business
    certificates = page.split('id="certificates-title"')[1]
    assert f'href="/workspace/certificates/{certificate.number}/"' in certificates
    assert "valid" in certificates
    # The first approval attested it: by whom, when; no form to attest again.
    assert '<span class="tag ok">Attested</span> on' in page and flow.reviewer.full_name in page
    assert "Attest identity" not in page


def test_the_producer_pages_each_list_on_its_own(monkeypatch, reviewing, flow):
    """A producer with thousands of products is not one endless page: its products,
    applications and certificates come a page at a time, each with its own page number,
    and a link to the next page of one list keeps the others where they were."""
    from portal import workspace_producers

    monkeypatch.setattr(workspace_producers, "SECTION_PAGE_SIZE", 2)
    names = [f"Product {letter}" for letter in "ABCDEF"]
    for name in names:
        Product.objects.filter(pk=flow.make_product().pk).update(name=name)
    url = f"/workspace/producers/{flow.producer.pk}/"

    def products(page):
        section = page.split('id="products-title"')[1].split('id="applications-title"')[0]
        return [row.split("</td>")[0].removeprefix("<td>") for row in rows(section)]

    first = text(reviewing.get(url))
    every = products(first)
    assert len(every) == 2 and "Page 1 of 4" in first  # the flow's and six more, by name
    assert 'href="?products_page=2#products-title" rel="next"' in first
    second = text(reviewing.get(url, {"products_page": 2, "certificates_page": 1}))
    assert 'href="?certificates_page=1&amp;products_page=3#products-title" rel="next"' in second
    for number in (2, 3, 4):
        every += products(text(reviewing.get(url, {"products_page": number})))
    assert every == sorted(every) and len(every) == len(set(every)) == 7
    assert set(names) <= set(every)


def test_a_reviewer_attests_a_producers_identity_once(reviewing, flow):
    url = f"/workspace/producers/{flow.producer.pk}/"
    page = text(reviewing.get(url))
    assert "Not yet attested" in page and "Attest identity" in page

    response = reviewing.post(url + "attest/", follow=True)

    flow.producer.refresh_from_db()
    assert flow.producer.verified_by == flow.reviewer and flow.producer.verified_at
    (event,) = AuditEvent.objects.filter(action="producer.attested")
    assert event.actor == flow.reviewer and event.target_id == str(flow.producer.pk)
    page = text(response)
    assert f"You attested the identity of {flow.producer.legal_name}." in page
    assert f"by {flow.reviewer.full_name}" in page and "Attest identity" not in page

    # A colleague who had the page open presses the button a moment later.
    colleague = ReviewerFactory(member_state=flow.state)
    reviewing.force_login(colleague)
    verified_at = flow.producer.verified_at
    response = reviewing.post(url + "attest/", follow=True)
    assert "Nothing was changed: The producer&#x27;s identity was attested already" in text(
        response
    )
    flow.producer.refresh_from_db()
    assert flow.producer.verified_by == flow.reviewer and flow.producer.verified_at == verified_at
    assert AuditEvent.objects.filter(action="producer.attested").count() == 1


def test_an_attested_producers_first_approval_keeps_the_attestation(flow):
    services.producer_attest(actor=flow.reviewer, producer_id=flow.producer.pk)
    flow.producer.refresh_from_db()
    attested_at = flow.producer.verified_at
    flow.application(S.APPROVED)
    flow.producer.refresh_from_db()
    assert flow.producer.verified_at == attested_at


@pytest.mark.parametrize(
    "actor, refusal",
    [
        (lambda flow: ReviewerFactory(member_state=state("KZ")), NotFound),
        (lambda flow: CustomsFactory(), NotFound),
        (lambda flow: flow.member, PermissionDenied),  # a member: sees it, may not attest
        (lambda flow: SecretariatFactory(), PermissionDenied),
        (lambda flow: flow.reviewer, None),
    ],
    ids=["reviewer of another state", "customs", "member", "secretariat", "reviewer"],
)
def test_producer_attest_checks_in_the_services_order(flow, actor, refusal):
    attested_first = refusal is None  # the state's reviewer, then again
    if attested_first:
        services.producer_attest(actor=flow.reviewer, producer_id=flow.producer.pk)
        refusal = Conflict  # the second time
    with pytest.raises(refusal):
        services.producer_attest(actor=actor(flow), producer_id=flow.producer.pk)
    flow.producer.refresh_from_db()
    attested = AuditEvent.objects.filter(action="producer.attested")
    if attested_first:
        assert flow.producer.verified_by == flow.reviewer and flow.producer.verified_at
        (event,) = attested
        assert event.actor == flow.reviewer and event.target_id == str(flow.producer.pk)
    else:
        assert flow.producer.verified_by is None and flow.producer.verified_at is None
        assert not attested.exists()


# --- Every role on every page and form -------------------------------------------------


@pytest.mark.parametrize("role, expected", WORKSPACE_LIST_ACCESS)
def test_who_sees_the_list(client, flow, role, expected):
    user = workspace_roles(flow)[role]
    row = f"/workspace/producers/{flow.producer.pk}/"
    assert_list_access(client, user, "/workspace/producers/", row, expected)


@pytest.mark.parametrize("role, page, form", WORKSPACE_PAGE_ACCESS)
def test_who_sees_the_producer_and_may_attest_it(client, flow, role, page, form):
    url = f"/workspace/producers/{flow.producer.pk}/"
    body = page_as(client, workspace_roles(flow)[role], url, page)
    if page == 200:
        assert flow.producer.legal_name in body
        assert ("Attest identity" in body) == form
    if form:
        return  # the reviewer's attestation is tested above

    assert client.post(url + "attest/").status_code == REFUSED_POST[page]
    flow.producer.refresh_from_db()
    assert flow.producer.verified_at is None and flow.producer.verified_by is None
    assert not AuditEvent.objects.filter(action="producer.attested").exists()


def test_an_unknown_producer_is_not_found(reviewing):
    assert reviewing.get("/workspace/producers/999999/").status_code == 404
    assert reviewing.post("/workspace/producers/999999/attest/").status_code == 404
