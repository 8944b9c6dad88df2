"""Secrets at rest and in what the registry says (docs/operations.md, "Secrets at rest"):
webhook secrets and authenticator keys sealed with SECRETS_KEYS, rotated by
`manage.py rotate_secrets`; API tokens kept as their SHA-256; a database dump holds nothing
usable; a whole flow leaves no key, secret, code or password in the logs, the audit trail
or the API's answers (but the one answer meant to carry it, once); and the migration of a
database holding the former plain tokens and secrets loses none of them."""

import base64
import hashlib
import io
import json
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from certification.models import Application, AuditEvent, WebhookSubscription
from certification.notifications import webhooks
from registry import sealing
from registry.models import ApiToken, AuthenticatorDevice
from tests.certification.conftest import Flow
from tests.credentials import api_key, current_code, enrolled, wrong_code
from tests.factories import PASSWORD, CustomsFactory

S = Application.Status


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
def test_a_database_dump_holds_no_usable_webhook_secret_token_key_or_app_key(settings):
    customs = CustomsFactory()
    hook = _subscribe(customs)
    key = api_key(customs)
    device = enrolled(customs)
    app_key = (device.key.hex(), device.base32_key)
    out = io.StringIO()
    call_command("dumpdata", "registry", "certification", stdout=out)
    dump = out.getvalue()
    for secret in (hook.secret, key, *app_key):
        assert secret not in dump
    rows = {(row["model"], row["pk"]): row["fields"] for row in json.loads(dump)}
    sealed = rows[("certification.webhooksubscription", hook.pk)]["sealed_secret"]
    token = next(f for (model, _pk), f in rows.items() if model == "registry.apitoken")
    # What the dump holds does not authenticate, and opens only with SECRETS_KEYS.
    for stored in (token["digest"], token["prefix"]):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {stored}")
        assert api.get("/api/v1/producers/").status_code == 401
    assert hashlib.sha256(key.encode()).hexdigest() == token["digest"]
    settings.SECRETS_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(sealing.SealBroken):
        sealing.unseal(sealed)


@pytest.mark.django_db
def test_rotate_secrets_seals_everything_again_with_the_new_first_key(settings):
    customs = CustomsFactory()
    secret = _subscribe(customs).secret
    app_key = enrolled(customs).key
    new = io.StringIO()
    call_command("rotate_secrets", "--new-key", stdout=new)
    new_key = new.getvalue().strip()
    Fernet(new_key)  # a valid key
    settings.SECRETS_KEYS = [new_key, *settings.SECRETS_KEYS]
    out = io.StringIO()
    call_command("rotate_secrets", stdout=out)
    assert "1 webhook subscriptions, 1 authenticator apps" in out.getvalue()
    settings.SECRETS_KEYS = [new_key]  # the old key dropped: everything still opens
    assert WebhookSubscription.objects.get().secret == secret
    assert AuthenticatorDevice.objects.get().key == app_key


@pytest.mark.django_db
def test_rotate_secrets_refuses_and_changes_nothing_without_the_old_key(settings):
    _subscribe(CustomsFactory())
    before = WebhookSubscription.objects.values_list("sealed_secret", flat=True).get()
    settings.SECRETS_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="Nothing was changed"):
        call_command("rotate_secrets", stdout=io.StringIO())
    assert WebhookSubscription.objects.values_list("sealed_secret", flat=True).get() == before


# --- Nothing secret in logs, audit data or API answers -----------------------------------------


@pytest.mark.django_db
def test_a_whole_flow_leaves_no_secret_in_logs_audit_data_or_api_answers(client, caplog, settings):
    flow = Flow("UZ")
    reviewer = flow.reviewer
    device = enrolled(reviewer)
    application = flow.application(S.UNDER_REVIEW)
    answers, once = [], {}
    # Everything logged from here on, at every level, the SQL log with its parameters too.
    settings.DEBUG = True
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    caplog.clear()

    def api(client, method, path, body=None, *, status, carries=None):
        response = getattr(client, method)(path, body, format="json")
        # Each step did what it is there for: a refusal is not mistaken for an answer.
        assert response.status_code == status, (method, path, response.content)
        if carries:  # the one answer meant to carry a new key or secret
            once[carries] = response.json()
        else:
            answers.append(response.content.decode())
        return response

    # The pages: the password, then the code (a wrong one first).
    password = client.post("/account/login/", {"username": reviewer.email, "password": PASSWORD})
    assert password["Location"] == "/account/login/code/"
    assert client.post("/account/login/code/", {"code": wrong_code(reviewer)}).status_code == 400
    assert client.post("/account/login/code/", {"code": current_code(reviewer)}).status_code == 302
    # The API: a token for email, password and code, then what it is used for.
    anonymous = APIClient()
    wrong = {"email": reviewer.email, "password": "x"}
    api(anonymous, "post", "/api/v1/auth/token/", wrong, status=400)
    body = {"email": reviewer.email, "password": PASSWORD, "otp": current_code(reviewer)}
    issued = api(anonymous, "post", "/api/v1/auth/token/", body, status=200, carries="token")
    key = issued.json()["token"]
    caller = APIClient()
    caller.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    hook = api(
        caller,
        "post",
        "/api/v1/webhooks/",
        {"url": "https://hooks.example.org/in", "events": ["certificate.revoked"]},
        status=201,
        carries="webhook",
    ).json()
    api(caller, "get", "/api/v1/webhooks/", status=200)
    api(caller, "get", f"/api/v1/webhooks/{hook['id']}/", status=200)
    approve = f"/api/v1/applications/{application.pk}/approve/"
    api(caller, "post", approve, {"comment": "ok"}, status=200)
    api(caller, "get", "/api/v1/auth/tokens/", status=200)
    browser = APIClient()
    browser.cookies = client.cookies  # the pages' session, confirmed by the code
    second = api(
        browser, "post", "/api/v1/auth/tokens/", {"name": "two"}, status=201, carries="second"
    )
    api(caller, "delete", f"/api/v1/auth/tokens/{second.json()['id']}/", status=204)
    api(caller, "delete", f"/api/v1/webhooks/{hook['id']}/", status=204)
    api(caller, "get", "/api/v1/producers/", status=200)

    secrets = {
        "token key": key,
        "second token key": once["second"]["token"],
        "webhook secret": hook["secret"],
        "app key (hex)": device.key.hex(),
        "app key (base32)": device.base32_key,
        "password": PASSWORD,
    }
    audit = json.dumps(list(AuditEvent.objects.values("data", "comment", "actor_label")))
    assert "select" in caplog.text.lower()  # the SQL log was captured
    for name, secret in secrets.items():
        assert secret not in caplog.text, f"{name} in the logs"
        assert secret not in audit, f"{name} in the audit trail"
        assert not any(secret in answer for answer in answers), f"{name} in an API answer"
    # Each new key or secret was in its own answer, once.
    assert once["token"]["token"] == key and once["webhook"]["secret"] == hook["secret"]


# --- The migration of a database with plain tokens and secrets ---------------------------------

BEFORE = [("registry", "0005_authority_names"), ("certification", "0005_application_queue_indexes")]


def _leaves():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_migrating_keeps_every_token_and_webhook_secret():
    # Back to a database of before the change. 0007 refuses to be reversed (its keys are
    # gone); on this test database, which never had the old table, it changed nothing, so it
    # is marked unapplied only, as `migrate --fake registry 0006_credentials` would.
    MigrationExecutor(connection).migrate([("registry", "0006_credentials")], fake=True)
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    User = old.get_model("registry", "User")
    Subscription = old.get_model("certification", "WebhookSubscription")
    customs = User.objects.create(
        email="old-customs@example.org", role="customs", member_state_id="KZ", password="x"
    )
    maker = User.objects.create(email="old-maker@example.org", role="manufacturer", password="x")
    kept = Subscription.objects.create(
        owner=customs,
        url="https://hooks.example.org/a",
        events=["certificate.revoked"],
        secret="whsec_plain-old-secret-0123456789",
    )
    gone = Subscription.objects.create(
        owner=customs, url="https://hooks.example.org/b", events=["certificate.revoked"], secret=""
    )
    keys = {customs.pk: "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", maker.pk: "0" * 8 + "f" * 32}
    with connection.cursor() as cursor:
        # DRF authtoken's table as it was (the app is no longer installed).
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) NOT NULL PRIMARY KEY, "
            "created timestamp with time zone NOT NULL, user_id bigint NOT NULL UNIQUE)"
        )
        for user_id, key in keys.items():
            cursor.execute(
                "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
                [
                    key,
                    "2026-01-02 03:04:05+00:00"
                    if connection.vendor == "postgresql"
                    else "2026-01-02 03:04:05",
                    user_id,
                ],
            )

    executor = MigrationExecutor(connection)
    executor.migrate(_leaves())

    assert "authtoken_token" not in connection.introspection.table_names()
    tokens = {token.user_id: token for token in ApiToken.objects.all()}
    assert set(tokens) == set(keys)
    for user_id, key in keys.items():
        token = tokens[user_id]
        assert token.name == "migrated" and token.prefix == key[:8]
        assert token.digest == hashlib.sha256(key.encode()).hexdigest()
        assert token.created_at.year == 2026 and token.created_at.month == 1
        assert (token.expires_at - token.created_at).days > 90 - 1
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert api.get("/api/v1/producers/").status_code == 200, "the old key still works"
    subscription = WebhookSubscription.objects.get(pk=kept.pk)
    assert subscription.sealed_secret.startswith(sealing.SEALED_PREFIX)
    assert subscription.secret == "whsec_plain-old-secret-0123456789"
    assert WebhookSubscription.objects.get(pk=gone.pk).sealed_secret == ""
    body = b"{}"
    assert webhooks.signature(subscription.secret, body) == webhooks.signature(
        "whsec_plain-old-secret-0123456789", body
    )

    # Going back opens the secrets again (the tokens stay hashed: their keys are not kept).
    executor = MigrationExecutor(connection)
    executor.migrate([("certification", "0005_application_queue_indexes")])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret FROM certification_webhooksubscription WHERE id = %s", [kept.pk]
        )
        assert cursor.fetchone()[0] == "whsec_plain-old-secret-0123456789"
    MigrationExecutor(connection).migrate(_leaves())


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_going_back_past_the_tokens_migration_is_refused_and_keeps_the_tokens():
    """0007 dropped the table of plain keys: going back cannot bring them back, so it is
    refused rather than leaving clients with neither the old keys nor a word about it."""
    from django.db.migrations.exceptions import IrreversibleError

    api_key(CustomsFactory())
    try:
        with pytest.raises(IrreversibleError, match="0007_api_tokens_from_authtoken"):
            MigrationExecutor(connection).migrate([("registry", "0006_credentials")])
        recorded = MigrationExecutor(connection).loader.applied_migrations
        assert ("registry", "0007_api_tokens_from_authtoken") in recorded
        assert ApiToken.objects.count() == 1
    finally:
        MigrationExecutor(connection).migrate(_leaves())


def test_the_demo_key_printed_is_the_demo_key():
    from registry.demo import DEMO_TOTP_KEY, DEMO_TOTP_KEY_BASE32

    assert base64.b32decode(DEMO_TOTP_KEY_BASE32) == DEMO_TOTP_KEY
