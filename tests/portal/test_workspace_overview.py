"""The secretariat's overview: every state's queue with the median lead time from
submission to decision, decisions against the engine's verdict with their reasons, failed
notifications (never a secret) retried as the admin retries them, the rule sets with the
one in force and a link to edit it; a constant number of queries; and who may see the page
and use its forms. Signing in leads each official to their own start page."""

import datetime
import statistics

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from certification import selectors
from certification.models import Application, Delivery, OutboxEvent, WebhookSubscription
from registry.models import RuleSet
from tests.certification.conftest import Flow
from tests.credentials import current_code, enrolled
from tests.factories import (
    PASSWORD,
    CustomsFactory,
    ReviewerFactory,
    SecretariatFactory,
    state,
)
from tests.portal.conftest import text

pytestmark = pytest.mark.django_db
S = Application.Status
URL = "/workspace/overview/"
RETRY = "/workspace/overview/retry/"
SECRET_QUERY = "token=s3cr3t-in-the-url"


@pytest.fixture
def secretariat(client):
    client.force_login(SecretariatFactory(is_staff=True, is_superuser=True))
    return client


def bulk(flow, count=1, *, status, submitted_at=None, decided_at=None, verdict="PASS", **extra):
    """`count` applications of the flow's product, written directly (timestamps as given)."""
    snapshot = {"name": "Cotton T-shirt", "hs_code": "610910", "materials": []}
    return Application.objects.bulk_create(
        Application(
            product=flow.product,
            producer=flow.producer,
            member_state=flow.state,
            created_by=flow.member,
            status=status,
            submitted_at=submitted_at,
            decided_at=decided_at,
            decided_by=flow.reviewer if decided_at else None,
            product_snapshot=snapshot,
            assessment_verdict=verdict,
            **extra,
        )
        for _ in range(count)
    )


def decided(flow, lead_days, *, ago_days=3, status=S.APPROVED):
    now = timezone.now()
    decided_at = now - datetime.timedelta(days=ago_days)
    submitted_at = decided_at - datetime.timedelta(days=lead_days)
    return bulk(flow, status=status, submitted_at=submitted_at, decided_at=decided_at)[0]


def row_of(page, marker):
    """The table row holding `marker`."""
    rows = [row for row in page.split("<tr>") if marker in row]
    assert len(rows) == 1, marker
    return rows[0].split("</tr>")[0]


def section(page, anchor):
    return page.split(f'id="{anchor}"')[1].split("</section>")[0]


def failed_delivery(event="certificate.revoked", *, channel="webhook", error="", minutes=0):
    now = timezone.now()
    outbox = OutboxEvent.objects.create(event=event, occurred_at=now, next_attempt_at=now)
    failed_at = now - datetime.timedelta(minutes=minutes)
    if channel == "webhook":
        url = f"https://hooks.example.org/mca/in?{SECRET_QUERY}#frag"
        subscription = WebhookSubscription.objects.create(
            owner=CustomsFactory(), url=url, events=[event], secret="whsec_never_shown_0123"
        )
        # An address stored before fan-out redacted it: the page cuts the query string too.
        target = {"subscription": subscription, "address": url}
    else:
        recipient = ReviewerFactory()
        target = {"recipient": recipient, "address": recipient.email}
    return Delivery.objects.create(
        event=outbox,
        channel=channel,
        created_at=now - datetime.timedelta(days=1),
        next_attempt_at=now,
        attempts=9,
        failed_at=failed_at,
        last_error=error or "The receiver answered HTTP 503.",
        **target,
    )


# --- Queues and lead times -----------------------------------------------------------------


def test_each_states_queue_is_counted_and_linked_to_the_queue(secretariat):
    uz, kz = Flow("UZ"), Flow("KZ")
    now = timezone.now()
    bulk(uz, 3, status=S.SUBMITTED, submitted_at=now)
    bulk(uz, 2, status=S.UNDER_REVIEW, submitted_at=now)
    bulk(uz, 1, status=S.CHANGES_REQUESTED, submitted_at=now)
    bulk(uz, 4, status=S.DRAFT)  # not the authority's yet
    bulk(uz, 1, status=S.WITHDRAWN, submitted_at=now)
    bulk(kz, 1, status=S.SUBMITTED, submitted_at=now)
    expected = {
        code: {
            status: Application.objects.filter(member_state=code, status=status).count()
            for status in (S.SUBMITTED, S.UNDER_REVIEW, S.CHANGES_REQUESTED)
        }
        for code in ("UZ", "KZ", "TJ")
    }

    page = text(secretariat.get(URL))

    for code, counts in expected.items():
        row = row_of(page, f"({code})")
        for status, count in counts.items():
            if count:
                assert f'/workspace/?view={status}&amp;state={code}">{count}<' in row
            else:
                assert 'class="num"><span class="figure">0</span></td>' in row
    assert expected["UZ"] == {S.SUBMITTED: 3, S.UNDER_REVIEW: 2, S.CHANGES_REQUESTED: 1}
    # Every member state has its row, those without applications too.
    assert len(section(page, "queues").split("<tbody>")[1].split("<tr>")) - 1 == 6

    # The figure's link opens just that: the state's applications in that status.
    queue = text(secretariat.get("/workspace/", {"view": "submitted", "state": "UZ"}))
    submitted_uz = Application.objects.filter(member_state="UZ", status=S.SUBMITTED)
    assert all(f"/workspace/applications/{a.pk}/" in queue for a in submitted_uz)
    kz_application = Application.objects.get(member_state="KZ")
    assert f"/workspace/applications/{kz_application.pk}/" not in queue
    assert "Submitted · Uzbekistan (UZ): 3 applications" in queue


def test_the_median_lead_time_is_over_the_last_year_of_decisions(secretariat):
    uz, kz = Flow("UZ"), Flow("KZ")
    leads = {"UZ": [2, 9, 4], "KZ": [10, 1, 6, 2]}
    for lead in leads["UZ"]:
        decided(uz, lead)
    for lead in leads["KZ"]:
        decided(kz, lead, status=S.REJECTED)
    decided(uz, 100, ago_days=400)  # decided over a year ago: not counted
    bulk(uz, status=S.SUBMITTED, submitted_at=timezone.now() - datetime.timedelta(days=50))
    bulk(uz, status=S.WITHDRAWN, submitted_at=timezone.now() - datetime.timedelta(days=50))

    queues = {queue.state.code: queue for queue in selectors.state_queues(SecretariatFactory())}
    for code, days in leads.items():
        assert queues[code].median_days == statistics.median(days)
        assert queues[code].decisions == len(days)
    assert queues["TJ"].median_days is None and queues["TJ"].decisions == 0
    assert (queues["UZ"].median_days, queues["KZ"].median_days) == (4, 4)  # 4; (2 + 6) / 2

    page = text(secretariat.get(URL))
    uz_row = row_of(page, "(UZ)")
    assert '/workspace/?view=decided&amp;state=UZ">4<' in uz_row
    decisions = 'data-label="Decisions in 365 days" class="num"><span class="figure">3</span>'
    assert decisions in uz_row
    assert "no decisions" in row_of(page, "(TJ)")


def test_a_median_between_two_lead_times_is_their_mean_to_a_tenth_of_a_day(secretariat):
    flow = Flow("UZ")
    for hours in (30, 54):  # 1.25 and 2.25 days
        now = timezone.now()
        bulk(
            flow,
            status=S.APPROVED,
            submitted_at=now - datetime.timedelta(hours=hours),
            decided_at=now,
        )
    (uz,) = [q for q in selectors.state_queues(SecretariatFactory()) if q.state.code == "UZ"]
    assert uz.median_days == 1.8 and uz.decisions == 2


# --- Decisions against the verdict -----------------------------------------------------------


def test_decisions_against_the_verdict_are_listed_with_their_reasons(secretariat, flow):
    approved = flow.application(S.UNDER_REVIEW, product=flow.make_product(passing=False))
    flow.do("approve", approved, comment="Laboratory report: knitted in Namangan.")
    rejected = flow.application(S.UNDER_REVIEW, product=flow.make_product())
    flow.do("reject", rejected, comment="The invoice is forged.")
    following = flow.application(S.APPROVED, product=flow.make_product())  # with the check

    page = section(text(secretariat.get(URL)), "against")

    approved_row = row_of(page, f"/workspace/applications/{approved.pk}/")
    assert "Laboratory report: knitted in Namangan." in approved_row
    assert "although the origin check fails" in approved_row
    assert "Uzbekistan" in approved_row
    assert flow.reviewer.full_name in approved_row
    rejected_row = row_of(page, f"/workspace/applications/{rejected.pk}/")
    assert "The invoice is forged." in rejected_row
    assert "although the origin check passes" in rejected_row
    assert f"/workspace/applications/{following.pk}/" not in page
    # Newest first.
    assert page.index(f"/applications/{rejected.pk}/") < page.index(f"/applications/{approved.pk}/")


def test_only_the_latest_fifty_decisions_against_the_verdict_are_listed(secretariat, flow):
    now = timezone.now()
    for days in range(55):
        bulk(
            flow,
            status=S.APPROVED,
            verdict="FAIL",
            submitted_at=now - datetime.timedelta(days=days + 1),
            decided_at=now - datetime.timedelta(days=days),
            override_reason=f"Reason number {days}.",
        )
    page = section(text(secretariat.get(URL)), "against")
    assert page.count("/workspace/applications/") == 50
    assert "Reason number 49." in page and "Reason number 50." not in page


# --- Failed notifications --------------------------------------------------------------------


def test_failed_notifications_are_listed_without_secrets(secretariat):
    hook = failed_delivery(
        error=f"Could not deliver: ConnectError for https://hooks.example.org/mca/in?{SECRET_QUERY}"
    )
    email = failed_delivery("application.submitted", channel="email", minutes=5)
    pending = failed_delivery()
    Delivery.objects.filter(pk=pending.pk).update(failed_at=None)

    response = secretariat.get(URL)
    page = section(text(response), "failed")

    hook_row = row_of(page, f'value="{hook.pk}"')
    assert "https://hooks.example.org/mca/in" in hook_row and "certificate.revoked" in hook_row
    assert "Could not deliver: ConnectError for https://hooks.example.org/mca/in" in hook_row
    assert ">9</td>" in hook_row  # attempts
    email_row = row_of(page, f'value="{email.pk}"')
    assert email.address in email_row and "The receiver answered HTTP 503." in email_row
    assert f'value="{pending.pk}"' not in page
    assert "2 email and webhook deliveries failed" in page
    whole = text(response)
    assert "s3cr3t" not in whole and "#frag" not in whole
    assert hook.subscription.secret not in whole


def test_retry_now_puts_one_failed_delivery_back_in_line(secretariat):
    one, other = failed_delivery(), failed_delivery(channel="email")
    before = timezone.now()
    response = secretariat.post(RETRY, {"delivery": one.pk}, follow=True)
    assert "1 failed notification is queued for another try." in text(response)
    one.refresh_from_db()
    other.refresh_from_db()
    assert one.failed_at is None and one.next_attempt_at >= before
    assert one.lease_until is None and one.queued_at is None
    assert other.failed_at is not None

    # Pressed again (or on a stale page): nothing to do, and it says so.
    response = secretariat.post(RETRY, {"delivery": one.pk}, follow=True)
    assert "Nothing was queued" in text(response)


def test_retry_all_puts_every_failed_delivery_back_in_line(secretariat):
    failed = [failed_delivery(), failed_delivery(channel="email"), failed_delivery()]
    sent = failed_delivery()
    Delivery.objects.filter(pk=sent.pk).update(failed_at=None, sent_at=timezone.now())
    response = secretariat.post(RETRY, {"delivery": "all"}, follow=True)
    assert "3 failed notifications are queued for another try." in text(response)
    assert not Delivery.objects.filter(pk__in=[d.pk for d in failed], failed_at__isnull=False)
    sent.refresh_from_db()
    assert sent.sent_at is not None  # a sent one is never sent again
    assert "None: every email and webhook was delivered" in text(secretariat.get(URL))


def test_a_retry_without_a_delivery_named_is_refused(secretariat):
    delivery = failed_delivery()
    assert secretariat.post(RETRY, {}).status_code == 400
    assert secretariat.post(RETRY, {"delivery": "1; drop"}).status_code == 400
    assert secretariat.get(RETRY).status_code == 405
    delivery.refresh_from_db()
    assert delivery.failed_at is not None


# --- Rule sets -------------------------------------------------------------------------------


def test_rule_sets_are_listed_with_the_one_in_force_and_a_link_to_edit_them(secretariat, settings):
    # With DEBUG off (DATABASE_URL set) static files come from collectstatic's manifest;
    # the admin's page needs none of that here (as in tests/certification/test_notifications).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    current = RuleSet.objects.get(code="MCA-2026")  # the migration's
    today = timezone.localdate()
    upcoming = RuleSet.objects.create(
        code="MCA-2026", version=current.version + 1, valid_from=today + datetime.timedelta(90)
    )
    old = RuleSet.objects.create(
        code="MCA-2020",
        valid_from=datetime.date(2020, 1, 1),
        valid_until=datetime.date(2022, 12, 31),
    )

    page = section(text(secretariat.get(URL)), "rules")

    current_row = row_of(page, f"/admin/registry/ruleset/{current.pk}/change/")
    assert "in force" in current_row and "not yet" not in current_row
    assert f'class="num">{current.rules.count()}</td>' in current_row
    assert current.rules.count() > 0
    assert "not yet in force" in row_of(page, f"/admin/registry/ruleset/{upcoming.pk}/change/")
    old_row = row_of(page, f"/admin/registry/ruleset/{old.pk}/change/")
    assert "ended" in old_row and "1 January 2020 to 31 December 2022" in old_row
    # The link is the admin's own change page, which the secretariat's admin account opens.
    assert secretariat.get(f"/admin/registry/ruleset/{current.pk}/change/").status_code == 200


@pytest.mark.parametrize(
    "account",
    [{"is_staff": False}, {"is_staff": True}],  # the latter without the change permission
)
def test_without_an_admin_account_that_may_edit_rules_no_edit_link_is_offered(client, account):
    client.force_login(SecretariatFactory(**account))
    page = section(text(client.get(URL)), "rules")
    assert "/admin/" not in page
    assert "Editing needs an admin account that may change rule sets." in page


# --- Cost -----------------------------------------------------------------------------------


def test_the_overview_takes_the_same_queries_for_a_little_or_a_lot(secretariat):
    flows = [Flow(code) for code in ("UZ", "KZ", "KG")]

    def fill(count):
        now = timezone.now()
        for flow in flows:
            bulk(flow, count, status=S.SUBMITTED, submitted_at=now)
            bulk(flow, count, status=S.UNDER_REVIEW, submitted_at=now)
            for lead in range(count):
                decided(flow, lead + 1)
            bulk(
                flow,
                count,
                status=S.REJECTED,
                submitted_at=now,
                decided_at=now,
                override_reason="Against the check.",
            )
        for _ in range(count):
            failed_delivery()
            failed_delivery(channel="email")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = secretariat.get(URL)
        assert response.status_code == 200
        return len(captured)

    fill(1)
    few = queries()
    fill(30)
    many = queries()
    assert many == few


# --- Who may see and use it ------------------------------------------------------------------


def _actor(role, flow):
    return {
        "anonymous": None,
        "manufacturer": flow.member,
        "reviewer": flow.reviewer,
        "customs": CustomsFactory(),
        "secretariat": SecretariatFactory(),
    }[role]


@pytest.mark.parametrize(
    "role, expected",
    [
        ("anonymous", "sign in"),
        ("manufacturer", 403),
        ("reviewer", 403),
        ("customs", 403),
        ("secretariat", 200),
    ],
)
def test_who_sees_the_overview_and_may_retry(client, flow, role, expected):
    delivery = failed_delivery()
    other = failed_delivery(channel="email")
    user = _actor(role, flow)
    if user:
        client.force_login(user)

    page = client.get(URL)
    one = client.post(RETRY, {"delivery": delivery.pk})
    every = client.post(RETRY, {"delivery": "all"})

    delivery.refresh_from_db()
    other.refresh_from_db()
    if expected == "sign in":
        for response in (page, one, every):
            assert response.status_code == 302
            assert response["Location"].startswith("/account/login/")
    else:
        assert page.status_code == expected
    if expected == 200:
        assert one.status_code == every.status_code == 302
        assert delivery.failed_at is None and other.failed_at is None
    else:
        if expected == 403:
            assert one.status_code == every.status_code == 403
        assert delivery.failed_at is not None and other.failed_at is not None


def test_the_navigation_offers_the_overview_to_the_secretariat_only(client, flow):
    client.force_login(SecretariatFactory())
    page = text(client.get(URL))
    assert '<a href="/workspace/overview/" aria-current="page">Overview</a>' in page
    client.force_login(flow.reviewer)
    assert "/workspace/overview/" not in text(client.get("/workspace/"))


@pytest.mark.parametrize(
    "factory, start",
    [
        (lambda: ReviewerFactory(member_state=state("UZ")), "/workspace/"),
        (SecretariatFactory, "/workspace/overview/"),
        (CustomsFactory, "/account/"),
    ],
)
def test_signing_in_leads_each_official_to_their_own_start_page(client, factory, start):
    user = factory()
    if user.needs_second_factor:  # the password, then the code of the app
        enrolled(user)
    response = client.post("/account/login/", {"username": user.email, "password": PASSWORD})
    if user.needs_second_factor:
        assert response["Location"] == "/account/login/code/"
        response = client.post("/account/login/code/", {"code": current_code(user)})
    assert response["Location"] == "/portal/"
    assert client.get("/portal/")["Location"] == start
