"""The reviewers' workspace: the certificates of the state (search by number, producer or
product; the status verification gives them, in the state's time zone; newest first;
paginated with a constant number of queries), the certificate's page, suspending,
reinstating and revoking it (audited, announced, read at once by the verification page),
and every role on every page and form."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import date_format

from certification import selectors
from certification.core import lifecycle
from certification.core.numbering import format_number
from certification.exceptions import TransitionNotAllowed
from certification.models import Application, AuditEvent, Certificate, OutboxEvent
from certification.workflow import services
from tests.certification.conftest import Flow
from tests.factories import ReviewerFactory, SecretariatFactory
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
C = Certificate.Status
CHANGES = ("certificate.suspended", "certificate.reinstated", "certificate.revoked")


def issue(flow, **changes):
    """A certificate of a new product of the flow's producer; `changes` written to it."""
    application = flow.application(S.APPROVED, product=flow.make_product())
    certificate = Certificate.objects.get(application=application)
    if changes:
        Certificate.objects.filter(pk=certificate.pk).update(**changes)
        certificate.refresh_from_db()
    return certificate


def listed(client, certificates, query=None):
    page = text(client.get("/workspace/certificates/", query or {}))
    return [c.number for c in certificates if f"/workspace/certificates/{c.number}/" in page]


def test_the_list_shows_the_states_certificates_newest_first(reviewing, flow):
    older = issue(flow, issued_at=timezone.now() - datetime.timedelta(days=3))
    newer = issue(flow)
    elsewhere = issue(Flow("KZ"))

    page = text(reviewing.get("/workspace/certificates/"))

    found = rows(page)
    assert len(found) == 2 and "2 certificates, newest first" in page
    assert newer.number in found[0] and older.number in found[1]
    assert newer.product_snapshot["name"] in found[0]
    assert '<span class="tag ok">valid</span>' in found[0]
    assert elsewhere.number not in page


@pytest.mark.parametrize(
    "query",
    [
        lambda c: f"  {c.number.lower()}  ",  # any case, surrounding spaces
        lambda c: c.number[-9:],  # a part of the number
        lambda c: c.producer_snapshot["legal_name"].upper(),
        lambda c: c.product_snapshot["name"].lower(),
    ],
    ids=["number in lower case with spaces", "part of the number", "producer", "product"],
)
def test_the_search_finds_by_number_producer_or_product(reviewing, flow, query):
    wanted = issue(flow)
    other = Flow("UZ")  # another producer of the state, with its own product
    unwanted = issue(other)
    assert listed(reviewing, [wanted, unwanted], {"q": query(wanted)}) == [wanted.number]


def test_a_search_that_finds_nothing_says_so(reviewing, flow):
    issue(flow)
    page = text(reviewing.get("/workspace/certificates/", {"q": "no such thing"}))
    assert "0 certificates" in page and "No certificate matches." in page


def _one_of_each_status(flow):
    today = lifecycle.today_in(flow.state)
    day = datetime.timedelta(days=1)
    return {
        lifecycle.VALID: issue(flow),
        lifecycle.SUSPENDED: issue(flow, status=C.SUSPENDED, status_reason="Audit."),
        lifecycle.REVOKED: issue(flow, status=C.REVOKED, status_reason="Fraud."),
        lifecycle.EXPIRED: issue(flow, valid_from=today - 400 * day, valid_until=today - day),
        lifecycle.NOT_YET_VALID: issue(flow, valid_from=today + day, valid_until=today + 99 * day),
    }


def test_the_status_filter_uses_the_status_verification_gives(reviewing, flow):
    certificates = _one_of_each_status(flow)
    everything = list(certificates.values())
    assert len(listed(reviewing, everything)) == 5
    for status, certificate in certificates.items():
        assert listed(reviewing, everything, {"status": status}) == [certificate.number], status
    page = text(reviewing.get("/workspace/certificates/", {"status": "expired"}))
    assert '<span class="tag bad">expired</span>' in page


def test_an_unknown_status_is_a_form_error(reviewing, flow):
    response = reviewing.get("/workspace/certificates/", {"status": "lost"})
    assert response.status_code == 400
    assert 'id="error-summary"' in text(response)


def test_the_status_filter_counts_days_in_each_issuing_states_time_zone(flow):
    # 20:00 UTC on 1 March is already 2 March in Tashkent (UTC+5) and in Baku (UTC+4).
    now = datetime.datetime(2026, 3, 1, 20, 0, tzinfo=datetime.UTC)
    last_day = datetime.date(2026, 3, 1)
    first_day = datetime.date(2026, 3, 2)
    ends = issue(flow, valid_from=datetime.date(2025, 3, 2), valid_until=last_day)
    starts = issue(flow, valid_from=first_day, valid_until=datetime.date(2028, 3, 1))
    secretariat = SecretariatFactory()

    def found(status):
        certificates = selectors.workspace_certificates(secretariat, status=status, now=now)
        return set(certificates.values_list("number", flat=True))

    assert found(lifecycle.EXPIRED) == {ends.number}
    assert found(lifecycle.VALID) == {starts.number}
    assert found(lifecycle.NOT_YET_VALID) == set()
    # The same answer as the status derived one certificate at a time.
    for certificate in (ends, starts):
        status = lifecycle.derived_status(certificate, lifecycle.today_in(flow.state, now))
        assert certificate.number in found(status)


def test_the_list_takes_the_same_queries_for_ten_or_a_hundred_certificates(reviewing, flow):
    template = issue(flow)
    made = iter(range(2, 10_000))

    def fill(count):
        now = timezone.now()
        applications = Application.objects.bulk_create(
            Application(
                product=flow.product,
                producer=flow.producer,
                member_state=flow.state,
                created_by=flow.member,
                status=S.APPROVED,
                submitted_at=now,
            )
            for _ in range(count)
        )
        certificates = []
        for application in applications:
            sequence = next(made)
            certificates.append(
                Certificate(
                    number=format_number("UZ", template.year, sequence),
                    member_state=flow.state,
                    year=template.year,
                    sequence=sequence,
                    application=application,
                    producer=flow.producer,
                    product=flow.product,
                    issued_at=now,
                    issued_by=flow.reviewer,
                    valid_from=template.valid_from,
                    valid_until=template.valid_until,
                    product_snapshot=template.product_snapshot,
                    producer_snapshot=template.producer_snapshot,
                    assessment=template.assessment,
                    origin_criterion=template.origin_criterion,
                )
            )
        Certificate.objects.bulk_create(certificates)

    def queries(query):
        with CaptureQueriesContext(connection) as captured:
            response = reviewing.get("/workspace/certificates/", query)
        assert response.status_code == 200
        return len(captured), text(response)

    fill(9)
    ten = queries({}), queries({"status": "valid", "q": "mca"})
    fill(90)
    hundred = queries({}), queries({"status": "valid", "q": "mca"})
    assert [count for count, _page in hundred] == [count for count, _page in ten]
    page = hundred[0][1]
    assert "100 certificates" in page and len(rows(page)) == 50 and "Page 1 of 2" in page
    second = text(reviewing.get("/workspace/certificates/", {"status": "valid", "page": "2"}))
    assert "Page 2 of 2" in second and len(rows(second)) == 50
    assert "?status=valid&amp;page=1" in second  # the filter kept in the page links


def test_the_certificate_page_shows_what_it_certifies_and_its_history(reviewing, flow):
    certificate = issue(flow)
    page = text(reviewing.get(f"/workspace/certificates/{certificate.number.lower()}/"))
    assert certificate.number in page
    assert certificate.product_snapshot["name"] in page
    assert certificate.producer_snapshot["legal_name"] in page
    assert certificate.producer_snapshot["tax_id"] in page
    assert date_format(certificate.valid_until, "DATE_FORMAT") in page
    assert f'href="/verify/{certificate.number}/"' in page
    assert f'href="/workspace/applications/{certificate.application_id}/"' in page
    assert f'href="/workspace/producers/{certificate.producer_id}/"' in page
    assert "Approved: certificate issued" in page.split('id="history"')[1]
    # An active certificate may be suspended or revoked, not reinstated.
    assert "Suspend the certificate" in page and "Revoke the certificate for good" in page
    assert "Reinstate the certificate" not in page
    assert "Revoking is final." in page


def _events(certificate, action):
    return AuditEvent.objects.filter(
        target_type="certificate", target_id=str(certificate.pk), action=action
    )


def test_suspend_reinstate_and_revoke_are_audited_announced_and_final(reviewing, flow):
    certificate = issue(flow)
    url = f"/workspace/certificates/{certificate.number}/"

    response = reviewing.post(
        url + "suspend/", {"suspend-reason": "Factory audit pending."}, follow=True
    )
    certificate.refresh_from_db()
    assert certificate.status == C.SUSPENDED
    assert certificate.status_reason == "Factory audit pending."
    page = text(response)
    assert f"Certificate {certificate.number} is suspended" in page
    assert "Factory audit pending." in page and "Reinstate the certificate" in page
    assert "Suspend the certificate" not in page
    (event,) = _events(certificate, "certificate.suspended")
    assert event.actor == flow.reviewer and event.comment == "Factory audit pending."
    assert OutboxEvent.objects.filter(event="certificate.suspended", certificate=certificate)

    reviewing.post(url + "reinstate/", {"reinstate-reason": ""})
    certificate.refresh_from_db()
    assert certificate.status == C.ACTIVE
    assert _events(certificate, "certificate.reinstated").count() == 1
    assert OutboxEvent.objects.filter(event="certificate.reinstated", certificate=certificate)

    response = reviewing.post(url + "revoke/", {"revoke-reason": "Forged invoices."}, follow=True)
    certificate.refresh_from_db()
    assert certificate.status == C.REVOKED and certificate.status_reason == "Forged invoices."
    assert _events(certificate, "certificate.revoked").count() == 1
    assert OutboxEvent.objects.filter(event="certificate.revoked", certificate=certificate)
    page = text(response)
    assert "Certificate revoked" in page.split('id="history"')[1]
    assert "Change the status" not in page  # revoked is final: no form is offered

    # Posting anyway (a page open from before) changes nothing and says why.
    for action in ("reinstate", "suspend", "revoke"):
        response = reviewing.post(url + f"{action}/", {f"{action}-reason": "Again."}, follow=True)
        assert "Nothing was changed: the certificate is revoked now" in text(response)
    certificate.refresh_from_db()
    assert certificate.status == C.REVOKED and certificate.status_reason == "Forged invoices."
    assert _events(certificate, "certificate.revoked").count() == 1


@pytest.mark.parametrize("action", ["suspend", "revoke"])
def test_suspending_or_revoking_needs_a_reason(reviewing, flow, action):
    certificate = issue(flow)
    url = f"/workspace/certificates/{certificate.number}/{action}/"
    response = reviewing.post(url, {f"{action}-reason": "   "})
    assert response.status_code == 400
    page = text(response)
    assert 'id="error-summary"' in page
    assert f'href="#id_{action}-reason"' in page  # the summary links to the field
    assert 'aria-invalid="true"' in page
    certificate.refresh_from_db()
    assert certificate.status == C.ACTIVE
    assert not AuditEvent.objects.filter(target_type="certificate").exists()
    assert not OutboxEvent.objects.filter(event__in=CHANGES).exists()


def test_a_service_refusal_on_the_reason_shows_on_the_form(reviewing, flow, monkeypatch):
    # The service, not the form, has the last word: its refusal becomes the form's error.
    certificate = issue(flow)
    monkeypatch.setattr(services, "certificate_needs_reason", lambda action: False)
    response = reviewing.post(
        f"/workspace/certificates/{certificate.number}/suspend/", {"suspend-reason": ""}
    )
    assert response.status_code == 400
    assert "Give the reason." in text(response).split('id="error-summary"')[1]
    certificate.refresh_from_db()
    assert certificate.status == C.ACTIVE


def test_a_colleague_acting_first_gets_a_clear_message_and_nothing_changes(
    reviewing, flow, monkeypatch
):
    certificate = issue(flow)
    stale = Certificate.objects.select_related("member_state").get(pk=certificate.pk)
    stale.standing = selectors.certificate_standing(stale)
    colleague = ReviewerFactory(member_state=flow.state)
    services.certificate_revoke(actor=colleague, number=certificate.number, reason="Fraud.")
    # The page was read before the colleague's revocation reached the database.
    monkeypatch.setattr(selectors, "certificate_for", lambda user, number: stale)

    response = reviewing.post(
        f"/workspace/certificates/{certificate.number}/suspend/",
        {"suspend-reason": "Audit."},
        follow=True,
    )
    assert "Nothing was changed: the certificate is revoked now" in text(response)
    certificate.refresh_from_db()
    assert certificate.status == C.REVOKED and certificate.status_reason == "Fraud."
    assert not _events(certificate, "certificate.suspended").exists()


def test_the_refusal_names_the_action_in_plain_words(flow):
    certificate = issue(flow)
    with pytest.raises(TransitionNotAllowed) as refused:
        services.certificate_reinstate(actor=flow.reviewer, number=certificate.number)
    assert str(refused.value) == "Cannot reinstate: the current state is active."


def test_a_revocation_shows_at_once_on_the_verification_page(reviewing, client, flow):
    certificate = issue(flow)
    verify = f"/verify/{certificate.number}/"
    assert "VALID" in text(client.get(verify))
    reviewing.post(
        f"/workspace/certificates/{certificate.number}/revoke/",
        {"revoke-reason": "Goods found to be of foreign origin."},
    )
    client.logout()
    page = text(client.get(verify))
    assert "REVOKED" in page and "It is NOT valid, and never will be again." in page
    assert "Goods found to be of foreign origin." in page


# --- Every role on every page and form -------------------------------------------------


@pytest.mark.parametrize("role, expected", WORKSPACE_LIST_ACCESS)
def test_who_sees_the_list(client, flow, role, expected):
    certificate = issue(flow)
    user = workspace_roles(flow)[role]
    row = f"/workspace/certificates/{certificate.number}/"
    assert_list_access(client, user, "/workspace/certificates/", row, expected)


@pytest.mark.parametrize("role, page, forms", WORKSPACE_PAGE_ACCESS)
def test_who_sees_the_certificate_and_may_change_it(client, flow, role, page, forms):
    certificate = issue(flow)
    url = f"/workspace/certificates/{certificate.number}/"
    body = page_as(client, workspace_roles(flow)[role], url, page)
    if page == 200:
        assert certificate.product_snapshot["name"] in body
        assert ("Change the status" in body) == forms
        assert ("Read only" in body) == (role == "secretariat")
    if forms:
        return  # the reviewer's changes are tested above

    for action in ("suspend", "reinstate", "revoke"):
        response = client.post(url + f"{action}/", {f"{action}-reason": "Because."})
        assert response.status_code == REFUSED_POST[page], (role, action)
    certificate.refresh_from_db()
    assert certificate.status == C.ACTIVE and certificate.status_reason == ""
    assert not AuditEvent.objects.filter(target_type="certificate").exists()
    assert not OutboxEvent.objects.filter(event__in=CHANGES).exists()


def test_an_unknown_action_or_number_is_not_found(reviewing, flow):
    certificate = issue(flow)
    url = f"/workspace/certificates/{certificate.number}/"
    assert reviewing.post(url + "destroy/", {}).status_code == 404
    assert reviewing.get("/workspace/certificates/MCA-UZ-2026-999999-00/").status_code == 404


def test_the_applications_page_links_to_its_certificate_and_producer(reviewing, flow):
    certificate = issue(flow)
    page = text(reviewing.get(f"/workspace/applications/{certificate.application_id}/"))
    assert f'href="/workspace/certificates/{certificate.number}/"' in page
    assert f'href="/workspace/producers/{flow.producer.pk}/"' in page
