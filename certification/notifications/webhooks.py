"""Webhooks for customs and integrators (docs/api.md): subscriptions, the target
check, the signature and the POST itself.

Server-side request forgery is the risk of any webhook feature: a subscriber could point
the registry at its own internal network (the database, the metadata service of the
cloud). So a target must be http(s), and every address its host resolves to must be a
public one, checked when subscribing and again at every send, where the connection is
then made to the address that was checked (a host that resolves differently a second
later, "DNS rebinding", gains nothing). WEBHOOK_ALLOW_PRIVATE_TARGETS lifts the check
(the embedded default, tests with receivers on 127.0.0.1).
"""

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from certification.core import audit
from certification.exceptions import NotFound, PermissionDenied, ValidationFailed
from certification.models import Delivery, WebhookSubscription
from certification.notifications import outbox
from registry.models import User

SUBSCRIBABLE_EVENTS = tuple(event for event in outbox.CERTIFICATE_EVENTS)
SUBSCRIBER_ROLES = (User.Role.CUSTOMS, User.Role.REVIEWER, User.Role.SECRETARIAT)
MAX_SUBSCRIPTIONS_PER_ACCOUNT = 20
SIGNATURE_HEADER = "X-MCA-Signature"
USER_AGENT = "MCA-Registry-Webhooks/1"


class TargetRefused(Exception):
    """The URL may not be called: wrong scheme, unresolvable, or a private address."""


# --- Targets -----------------------------------------------------------------------------


def resolve(host, port):
    """The addresses `host` resolves to (a seam for tests)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def _is_public(address):
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    # is_global is false for loopback, private (RFC 1918, fc00::/7), link-local (the cloud
    # metadata address 169.254.169.254), shared (100.64/10), reserved and documentation
    # ranges; multicast is global but no place for a webhook.
    return ip.is_global and not ip.is_multicast


def parse_target(url):
    """(scheme, host, port) of an acceptable webhook URL, or TargetRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused(_("This is not a valid URL.")) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(_("Only http and https URLs are accepted."))
    if parts.username is not None or parts.password is not None:
        raise TargetRefused(
            _("Credentials in the URL are not accepted; the signature authenticates us.")
        )
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def checked_addresses(url, *, allow_private=None):
    """The public addresses the URL's host resolves to (all of them must be public), or
    [] when private targets are allowed (then nothing is resolved here). Raises
    TargetRefused."""
    _scheme, host, port = parse_target(url)
    if allow_private is None:
        allow_private = settings.WEBHOOK_ALLOW_PRIVATE_TARGETS
    if allow_private:
        return []
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        raise TargetRefused(_("The host name does not resolve.")) from None
    if not addresses:
        raise TargetRefused(_("The host name does not resolve."))
    if not all(_is_public(address) for address in addresses):
        raise TargetRefused(_("Loopback and private network addresses are not accepted."))
    return addresses


def redacted(url):
    """The URL without query string and fragment, for logs and the audit trail
    (integrators sometimes put tokens there)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


# --- Subscriptions (services) ------------------------------------------------------------


def ensure_can_subscribe(actor):
    if (
        actor is None
        or not actor.is_authenticated
        or not actor.is_active
        or actor.role not in SUBSCRIBER_ROLES
    ):
        raise PermissionDenied(
            _("Only customs officers, reviewers and the secretariat subscribe to webhooks.")
        )


def subscriptions_visible_to(user):
    """A subscription exists only for its owner (and the secretariat in the admin)."""
    if user is None or not user.is_authenticated:
        return WebhookSubscription.objects.none()
    return WebhookSubscription.objects.filter(owner=user, deleted_at=None)


def subscribe(*, actor, url, events):
    """Create a subscription. Returns it with its secret, which the caller shows once."""
    ensure_can_subscribe(actor)
    url = (url or "").strip()
    try:
        checked_addresses(url)
    except TargetRefused as refusal:
        raise ValidationFailed(str(refusal), fields={"url": [str(refusal)]}) from None
    wanted = list(dict.fromkeys(events or []))
    unknown = [event for event in wanted if event not in SUBSCRIBABLE_EVENTS]
    if not wanted or unknown:
        message = _("Choose one or more of: %(events)s.") % {
            "events": ", ".join(SUBSCRIBABLE_EVENTS)
        }
        raise ValidationFailed(message, fields={"events": [message]})
    with transaction.atomic():
        # Lock the owner so two concurrent subscriptions cannot both pass the cap.
        User.objects.select_for_update().filter(pk=actor.pk).first()
        if subscriptions_visible_to(actor).count() >= MAX_SUBSCRIPTIONS_PER_ACCOUNT:
            message = _("An account may have at most %(count)s webhook subscriptions.") % {
                "count": MAX_SUBSCRIPTIONS_PER_ACCOUNT
            }
            raise ValidationFailed(message, fields={"url": [message]})
        subscription = WebhookSubscription.objects.create(
            owner=actor, url=url, events=wanted, secret="whsec_" + secrets.token_urlsafe(32)
        )
        # The secret never enters the audit trail.
        audit.record(
            actor,
            "webhook.subscribed",
            subscription,
            data={"url": redacted(url), "events": wanted},
        )
    return subscription


def unsubscribe(*, actor, subscription_id):
    """Delete a subscription: its pending deliveries stop; its log stays for the record."""
    with transaction.atomic():
        try:
            subscription = (
                subscriptions_visible_to(actor).select_for_update().filter(pk=int(subscription_id))
            ).first()
        except (TypeError, ValueError):
            subscription = None
        if subscription is None:
            raise NotFound()
        now = timezone.now()
        subscription.deleted_at = now
        subscription.secret = ""
        subscription.save(update_fields=["deleted_at", "sealed_secret"])
        Delivery.objects.filter(subscription=subscription, sent_at=None, failed_at=None).update(
            failed_at=now, lease_until=None, last_error="The subscription was deleted."
        )
        audit.record(
            actor, "webhook.deleted", subscription, data={"url": redacted(subscription.url)}
        )
    return subscription


# --- Sending -----------------------------------------------------------------------------


def body_bytes(event, *, sent_at):
    """The JSON body of docs/api.md, as the bytes that are signed and sent."""
    body = {
        "id": str(event.pk),
        "event": event.event,
        "occurred_at": event.occurred_at.isoformat(),
        "sent_at": sent_at.isoformat(),
        **event.payload,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret, body):
    """`sha256=<hex HMAC-SHA256 of the raw body keyed with the secret's UTF-8 bytes>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class SendFailed(Exception):
    def __init__(self, message, status_code=None):
        super().__init__(message)
        self.status_code = status_code


def post(subscription, body, *, headers):
    """POST the body to the subscription's URL. Returns the status code of a 2xx answer;
    raises TargetRefused (the target is not acceptable now) or SendFailed."""
    scheme, host, port = parse_target(subscription.url)
    addresses = checked_addresses(subscription.url)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature(subscription.secret, body),
        **headers,
    }
    url = subscription.url
    extensions = {}
    if addresses:
        # Connect to the address that was checked, keeping the name for Host and TLS.
        parts = urlsplit(url)
        ip = addresses[0]
        literal = f"[{ip}]" if ":" in ip else ip
        default_port = 443 if scheme == "https" else 80
        netloc = literal if port == default_port else f"{literal}:{port}"
        url = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
        headers["Host"] = parts.netloc
        if scheme == "https":
            extensions["sni_hostname"] = host
    timeout = httpx.Timeout(settings.WEBHOOK_TIMEOUT_SECONDS)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            request = client.build_request(
                "POST", url, content=body, headers=headers, extensions=extensions
            )
            response = client.send(request, stream=True)
            response.close()  # the answer's body is not needed (nor read: it may be huge)
    except httpx.TimeoutException:
        raise SendFailed(f"No answer within {timeout.read:g} seconds.") from None
    except httpx.HTTPError as error:
        raise SendFailed(f"Could not deliver: {type(error).__name__}: {error}"[:300]) from None
    if not 200 <= response.status_code < 300:
        raise SendFailed(
            f"The receiver answered HTTP {response.status_code}.",
            status_code=response.status_code,
        )
    return response.status_code
