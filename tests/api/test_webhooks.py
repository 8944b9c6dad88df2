"""Webhook subscriptions over HTTP: who may subscribe, the secret shown once, refused
targets, deletion and the delivery log."""

import ipaddress
import logging

import httpx
import pytest
from django.core.cache import cache
from django.utils import timezone

from certification.models import Application, AuditEvent, Delivery, WebhookSubscription
from certification.notifications import dispatch, webhooks
from tests.api.conftest import assert_error, client_for
from tests.certification.conftest import Flow
from tests.certification.receivers import Receiver
from tests.factories import CustomsFactory, ReviewerFactory, SecretariatFactory, UserFactory

pytestmark = pytest.mark.django_db

EVENTS = ["certificate.issued", "certificate.revoked"]


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    cache.clear()  # the throttles count in the cache, which outlives each test


@pytest.fixture
def public_dns(monkeypatch, settings):
    """Private targets refused, and every host name resolving as the test says."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    table = {"hooks.customs.example": ["203.0.113.10"]}  # made public by the patch below

    def resolve(host, port):
        if host in table:
            return table[host]
        try:
            return [str(ipaddress.ip_address(host))]  # a literal resolves to itself
        except ValueError:
            raise OSError("no such host") from None

    monkeypatch.setattr(webhooks, "resolve", resolve)
    monkeypatch.setattr(
        webhooks,
        "_is_public",
        lambda address: address == "203.0.113.10" or _really_public(address),
    )
    return table


_really_public = webhooks._is_public


def create(user, url="https://hooks.customs.example/mca", events=EVENTS):
    return client_for(user).post("/api/v1/webhooks/", {"url": url, "events": events}, format="json")


def test_customs_subscribes_and_sees_the_secret_once(public_dns, caplog):
    caplog.set_level(logging.DEBUG)
    customs = CustomsFactory()
    response = create(customs)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "url", "events", "created_at", "secret"}
    assert body["events"] == EVENTS and body["secret"].startswith("whsec_")
    secret = body["secret"]
    assert WebhookSubscription.objects.get(pk=body["id"]).secret == secret
    client = client_for(customs)
    listed = client.get("/api/v1/webhooks/").json()
    assert [item["id"] for item in listed["results"]] == [body["id"]]
    detail = client.get(f"/api/v1/webhooks/{body['id']}/")
    for later in (listed, detail.json()):
        assert secret not in str(later) and "secret" not in str(later)
    audit = AuditEvent.objects.get(action="webhook.subscribed")
    assert secret not in str(audit.data) and secret not in audit.comment
    assert secret not in caplog.text


@pytest.mark.parametrize("factory", [ReviewerFactory, SecretariatFactory])
def test_reviewers_and_the_secretariat_may_subscribe(public_dns, factory):
    assert create(factory()).status_code == 201


def test_manufacturers_may_not_subscribe(public_dns):
    assert_error(create(UserFactory(), url="ftp://nope"), 403, "permission_denied")


def test_anonymous_callers_get_401(db):
    assert_error(client_for().get("/api/v1/webhooks/"), 401)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.customs.example/x",
        "file:///etc/passwd",
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://100.64.0.1/hook",
        "https://user:pass@hooks.customs.example/mca",
        "https://unknown-host.example/mca",
        "not a url",
    ],
)
def test_refused_targets(public_dns, url):
    public_dns["localhost"] = ["127.0.0.1"]
    response = create(CustomsFactory(), url=url)
    assert_error(response, 400, fields=["url"])
    assert not WebhookSubscription.objects.exists()


def test_a_host_resolving_to_any_private_address_is_refused(public_dns):
    public_dns["mixed.example"] = ["203.0.113.10", "10.1.2.3"]
    assert_error(create(CustomsFactory(), url="https://mixed.example/h"), 400, fields=["url"])


def test_private_targets_are_allowed_when_the_setting_says_so(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    assert create(CustomsFactory(), url="http://127.0.0.1:9/hook").status_code == 201


@pytest.mark.parametrize(
    "events", [[], ["application.approved"], ["certificate.expiring"], "certificate.issued"]
)
def test_events_must_be_certificate_events(public_dns, events):
    assert_error(create(CustomsFactory(), events=events), 400, fields=["events"])


def test_others_cannot_see_or_delete_a_subscription(public_dns):
    owner, other = CustomsFactory(), CustomsFactory()
    hook_id = create(owner).json()["id"]
    client = client_for(other)
    assert client.get("/api/v1/webhooks/").json()["results"] == []
    assert_error(client.get(f"/api/v1/webhooks/{hook_id}/"), 404, "not_found")
    assert_error(client.get(f"/api/v1/webhooks/{hook_id}/deliveries/"), 404, "not_found")
    assert_error(client.delete(f"/api/v1/webhooks/{hook_id}/"), 404, "not_found")
    assert_error(client_for(owner).get("/api/v1/webhooks/abc/"), 404)


def test_delete_stops_the_subscription_and_is_audited(public_dns):
    owner = CustomsFactory()
    hook_id = create(owner).json()["id"]
    client = client_for(owner)
    assert client.delete(f"/api/v1/webhooks/{hook_id}/").status_code == 204
    assert_error(client.get(f"/api/v1/webhooks/{hook_id}/"), 404)
    assert_error(client.delete(f"/api/v1/webhooks/{hook_id}/"), 404)
    subscription = WebhookSubscription.objects.get(pk=hook_id)
    assert subscription.deleted_at is not None and subscription.secret == ""
    assert AuditEvent.objects.filter(action="webhook.deleted", target_id=str(hook_id)).exists()


def test_at_most_twenty_subscriptions_per_account(public_dns):
    owner = CustomsFactory()
    for _ in range(webhooks.MAX_SUBSCRIPTIONS_PER_ACCOUNT):
        assert create(owner).status_code == 201
    assert_error(create(owner), 400, fields=["url"])


def test_the_delivery_log_shows_every_attempt(settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    receiver = Receiver([500, 200])
    try:
        customs = CustomsFactory()
        response = create(customs, url=receiver.url, events=["certificate.issued"])
        hook_id = response.json()["id"]
        flow = Flow("UZ")
        with django_capture_on_commit_callbacks(execute=True):
            app = flow.application(Application.Status.APPROVED)
        delivery = Delivery.objects.get(subscription_id=hook_id)
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert dispatch.deliver(delivery.pk) == "sent"
    finally:
        receiver.stop()
    log = client_for(customs).get(f"/api/v1/webhooks/{hook_id}/deliveries/")
    assert log.status_code == 200
    (entry,) = log.json()["results"]
    assert entry["event"] == "certificate.issued" and entry["state"] == "sent"
    assert entry["event_id"] == receiver.bodies()[0]["id"]
    assert entry["attempts"] == 2
    assert [(a["number"], a["ok"], a["status_code"]) for a in entry["attempt_log"]] == [
        (1, False, 500),
        (2, True, 200),
    ]
    assert entry["attempt_log"][0]["error"] == "The receiver answered HTTP 500."
    assert app.certificate.number in str(receiver.bodies()[0])


def test_send_time_check_refuses_a_host_that_now_resolves_privately(
    public_dns, django_capture_on_commit_callbacks
):
    customs = CustomsFactory()
    hook_id = create(customs).json()["id"]
    public_dns["hooks.customs.example"] = ["10.0.0.7"]  # DNS changed after subscribing
    flow = Flow("UZ")
    with django_capture_on_commit_callbacks(execute=True):
        flow.application(Application.Status.APPROVED)
    delivery = Delivery.objects.get(subscription_id=hook_id)
    assert delivery.state == "pending"
    assert delivery.last_error.startswith("Refused: Loopback and private")
    attempt = delivery.attempt_log.get()
    assert attempt.ok is False and attempt.status_code is None


def test_send_connects_to_the_checked_address(public_dns, monkeypatch):
    """The POST goes to the address that passed the check, with the original Host."""
    sent = {}

    class FakeResponse:
        status_code = 204

        def close(self):
            pass

    def fake_send(self, request, **kwargs):
        sent["url"] = str(request.url)
        sent["host"] = request.headers["Host"]
        sent["sni"] = request.extensions.get("sni_hostname")
        return FakeResponse()

    monkeypatch.setattr(httpx.Client, "send", fake_send)
    subscription = WebhookSubscription(
        url="https://hooks.customs.example:8443/mca?x=1", secret="s", events=EVENTS
    )
    assert webhooks.post(subscription, b"{}", headers={}) == 204
    assert sent == {
        "url": "https://203.0.113.10:8443/mca?x=1",
        "host": "hooks.customs.example:8443",
        "sni": "hooks.customs.example",
    }
