"""Secrets at rest (docs/operations.md, "Secrets at rest"): webhook secrets sealed with
SECRETS_KEYS, rotated by `manage.py rotate_secrets`; a database dump holds none usable; and
the migration of a database holding the former plain secrets loses none of them."""

import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from certification.models import WebhookSubscription
from certification.notifications import webhooks
from registry import sealing
from tests.factories import CustomsFactory


@pytest.fixture(autouse=True)
def _no_name_lookups(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # example.org need not resolve


def _subscribe(user):
    return webhooks.subscribe(
        actor=user, url="https://hooks.example.org/mca", events=["certificate.revoked"]
    )


# --- Sealing ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_webhook_secret_is_stored_sealed_and_read_back(settings):
    hook = _subscribe(CustomsFactory())
    stored = WebhookSubscription.objects.values_list("sealed_secret", flat=True).get()
    assert hook.secret.startswith("whsec_") and hook.secret not in stored
    assert stored.startswith(sealing.SEALED_PREFIX)
    assert WebhookSubscription.objects.get().secret == hook.secret
    settings.SECRETS_KEYS = [Fernet.generate_key().decode()]  # not the key it was sealed with
    with pytest.raises(sealing.SealBroken, match="opens with none of SECRETS_KEYS"):
        WebhookSubscription.objects.get().secret  # noqa: B018


@pytest.mark.django_db
def test_a_database_dump_holds_no_usable_webhook_secret(settings):
    hook = _subscribe(CustomsFactory())
    out = io.StringIO()
    call_command("dumpdata", "registry", "certification", stdout=out)
    dump = out.getvalue()
    assert hook.secret not in dump
    rows = {(row["model"], row["pk"]): row["fields"] for row in json.loads(dump)}
    sealed = rows[("certification.webhooksubscription", hook.pk)]["sealed_secret"]
    # What the dump holds opens only with SECRETS_KEYS.
    settings.SECRETS_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(sealing.SealBroken):
        sealing.unseal(sealed)


@pytest.mark.django_db
def test_rotate_secrets_seals_everything_again_with_the_new_first_key(settings):
    secret = _subscribe(CustomsFactory()).secret
    new = io.StringIO()
    call_command("rotate_secrets", "--new-key", stdout=new)
    new_key = new.getvalue().strip()
    Fernet(new_key)  # a valid key
    settings.SECRETS_KEYS = [new_key, *settings.SECRETS_KEYS]
    out = io.StringIO()
    call_command("rotate_secrets", stdout=out)
    assert "1 webhook subscriptions" in out.getvalue()
    settings.SECRETS_KEYS = [new_key]  # the old key dropped: everything still opens
    assert WebhookSubscription.objects.get().secret == secret


@pytest.mark.django_db
def test_rotate_secrets_refuses_and_changes_nothing_without_the_old_key(settings):
    _subscribe(CustomsFactory())
    before = WebhookSubscription.objects.values_list("sealed_secret", flat=True).get()
    settings.SECRETS_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(Exception, match="Nothing was changed"):
        call_command("rotate_secrets", stdout=io.StringIO())
    assert WebhookSubscription.objects.values_list("sealed_secret", flat=True).get() == before


# --- The migration of a database with plain secrets ---------------------------------------------

BEFORE = [("certification", "0005_application_queue_indexes")]


def _leaves():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_migrating_keeps_every_webhook_secret():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    User = old.get_model("registry", "User")
    Subscription = old.get_model("certification", "WebhookSubscription")
    customs = User.objects.create(
        email="old-customs@example.org", role="customs", member_state_id="KZ", password="x"
    )
    kept = Subscription.objects.create(
        owner=customs,
        url="https://hooks.example.org/a",
        events=["certificate.revoked"],
        secret="whsec_plain-old-secret-0123456789",
    )
    gone = Subscription.objects.create(
        owner=customs, url="https://hooks.example.org/b", events=["certificate.revoked"], secret=""
    )

    executor = MigrationExecutor(connection)
    executor.migrate(_leaves())

    subscription = WebhookSubscription.objects.get(pk=kept.pk)
    assert subscription.sealed_secret.startswith(sealing.SEALED_PREFIX)
    assert subscription.secret == "whsec_plain-old-secret-0123456789"
    assert WebhookSubscription.objects.get(pk=gone.pk).sealed_secret == ""
    body = b"{}"
    assert webhooks.signature(subscription.secret, body) == webhooks.signature(
        "whsec_plain-old-secret-0123456789", body
    )

    # Going back opens the secrets again.
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret FROM certification_webhooksubscription WHERE id = %s", [kept.pk]
        )
        assert cursor.fetchone()[0] == "whsec_plain-old-secret-0123456789"
    MigrationExecutor(connection).migrate(_leaves())
