"""Audit checkpoints (docs/api.md, docs/operations.md): the chain's head signed with the
secretariat's key, listed publicly and copied outside the database; and
`verify_audit_chain --checkpoints FILE` finding a chain that no longer extends them."""

import errno
import json
import os
from io import StringIO

import jwt
import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from certification.core import audit
from certification.models import Application, AuditChainHead, AuditCheckpoint, AuditEvent
from certification.tasks import audit_checkpoint
from certification.verification import checkpoints, signing
from tests.certification.conftest import Flow

S = Application.Status


@pytest.fixture
def keys(settings, tmp_path):
    settings.SIGNING_KEYS_DIR = tmp_path / "keys"
    return settings.SIGNING_KEYS_DIR


@pytest.fixture
def copies(settings, tmp_path):
    """AUDIT_CHECKPOINT_FILE, as the secretariat keeps it outside the database."""
    settings.AUDIT_CHECKPOINT_FILE = str(tmp_path / "checkpoints.jsonl")
    return tmp_path / "checkpoints.jsonl"


@pytest.fixture
def chain(db, keys):
    """A few audit events: a producer, a product and an application taken to approval."""
    flow = Flow("UZ")
    flow.application(S.APPROVED)
    assert AuditEvent.objects.count() >= 4
    return flow


def _verify(path):
    out = StringIO()
    call_command("verify_audit_chain", "--checkpoints", str(path), stdout=out)
    return out.getvalue()


def _refused(path):
    with pytest.raises(CommandError) as caught:
        _verify(path)
    return str(caught.value)


def _rehash_from(event_id):
    """What someone with write access to the database does to hide a change: recompute every
    hash from `event_id` on, and the head, so that the chain alone looks intact."""
    prev_hash = (
        AuditEvent.objects.filter(pk__lt=event_id).order_by("-id").values_list("hash", flat=True)
    ).first() or audit.GENESIS
    for event in AuditEvent.objects.filter(pk__gte=event_id).order_by("id"):
        event.prev_hash = prev_hash
        event.hash = audit.compute_hash(event, prev_hash)
        event.save(update_fields=["prev_hash", "hash"])
        prev_hash = event.hash
    last = AuditEvent.objects.order_by("-id").first()
    AuditChainHead.objects.filter(pk=1).update(last_hash=prev_hash, last_event=last)
    assert audit.verify_chain() is None


def _claims(token, key_set):
    header = jwt.get_unverified_header(token)
    key = jwt.PyJWKSet.from_dict(key_set)[header["kid"]]
    return header, jwt.decode(token, key=key.key, algorithms=["EdDSA"])


def test_a_checkpoint_signs_the_head_with_the_secretariat_key(chain, copies):
    head = AuditChainHead.objects.get(pk=1)
    checkpoint = checkpoints.create()

    assert checkpoint.sequence == AuditEvent.objects.count()
    assert (checkpoint.last_event_id, checkpoint.hash) == (head.last_event_id, head.last_hash)
    web = Client()
    key_set = web.get("/transparency/jwks.json").json()
    header, claims = _claims(checkpoint.token, key_set)
    assert header["typ"] == checkpoints.TYP and header["kid"].startswith("secretariat-")
    assert claims == {
        "iss": "secretariat",
        "seq": checkpoint.sequence,
        "evt": head.last_event_id,
        "hash": head.last_hash,
        "iat": int(checkpoint.created_at.timestamp()),
    }
    # The secretariat's key is not an authority's: not in their key set, and never good for
    # a certificate token.
    authorities = {key["kid"] for key in web.get("/.well-known/jwks.json").json()["keys"]}
    assert header["kid"] not in authorities
    forged = signing.sign_claims("secretariat", {"iss": "secretariat", "sub": "MCA-UZ"})
    with pytest.raises(signing.TokenInvalid) as caught:
        signing.verify_token(forged)
    assert caught.value.code == "unknown_kid"

    (line,) = copies.read_text().splitlines()
    assert json.loads(line) == checkpoints.as_json(checkpoint)


def test_the_public_list_is_newest_first_and_paginated(chain, monkeypatch):
    made = [checkpoints.create() for _ in range(3)]
    web = Client()
    body = web.get("/transparency/checkpoints/").json()
    assert body["count"] == 3 and body["next"] is None and body["previous"] is None
    assert [item["token"] for item in body["results"]] == [c.token for c in reversed(made)]
    assert body["keys"].endswith("/transparency/jwks.json")

    monkeypatch.setattr("certification.views.CHECKPOINTS_PAGE_SIZE", 2)
    first = web.get("/transparency/checkpoints/")
    assert len(first.json()["results"]) == 2
    assert first.json()["next"].endswith("/transparency/checkpoints/?page=2")
    second = web.get("/transparency/checkpoints/", {"page": 2}).json()
    assert [item["token"] for item in second["results"]] == [made[0].token]
    assert web.get("/transparency/checkpoints/", {"page": 9}).status_code == 404
    assert "public" in first["Cache-Control"] and first["Access-Control-Allow-Origin"] == "*"
    cached = web.get("/transparency/checkpoints/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert cached.status_code == 304


def test_checkpoints_are_mailed_when_addresses_are_set(chain, settings, committing):
    settings.AUDIT_CHECKPOINT_EMAILS = ["archive@secretariat.example", "auditor@example.org"]
    checkpoint = committing(checkpoints.create)
    (message,) = mail.outbox
    assert message.to == settings.AUDIT_CHECKPOINT_EMAILS
    assert checkpoint.token in message.body
    assert checkpoints.line_of(checkpoint) in message.body
    assert message.extra_headers["Message-ID"].startswith(f"<audit-checkpoint-{checkpoint.pk}@")


def test_beat_and_the_command_make_checkpoints(chain, copies, settings):
    assert settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]["task"] == (
        "certification.audit_checkpoint"
    )
    assert audit_checkpoint() == AuditEvent.objects.count()
    out = StringIO()
    call_command("audit_checkpoint", stdout=out)
    assert "Checkpoint" in out.getvalue() and "secretariat-" in out.getvalue()
    assert len(copies.read_text().splitlines()) == 2 == AuditCheckpoint.objects.count()


def test_a_checkpoint_counts_on_from_the_previous_one(chain, copies):
    first = checkpoints.create()
    chain.application(S.SUBMITTED, product=chain.make_product())
    with CaptureQueriesContext(connection) as queries:
        second = checkpoints.create()
    assert second.sequence == AuditEvent.objects.count() > first.sequence
    table = AuditEvent._meta.db_table
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"] and table in q["sql"]]
    # The events up to the previous checkpoint once (is it still there, at its position?),
    # then only those since: never the whole chain again.
    assert len(counts) == 2
    assert f'"id" <= {first.last_event_id}' in counts[0]
    assert f'"id" > {first.last_event_id}' in counts[1]
    assert f'"id" <= {second.last_event_id}' in counts[1]


def test_a_checkpoint_stored_meanwhile_by_another_run_is_kept(chain, copies, monkeypatch):
    active_key, other = signing.active_key, []

    def racing(owner):
        if owner == signing.SECRETARIAT and not other:
            other.append(None)
            other[0] = checkpoints.create()  # another run, storing its checkpoint first
        return active_key(owner)

    monkeypatch.setattr(signing, "active_key", racing)
    assert checkpoints.create() == other[0]
    assert AuditCheckpoint.objects.count() == 1
    assert len(copies.read_text().splitlines()) == 1


def test_a_checkpoint_the_file_missed_is_appended_by_the_next(chain, copies, monkeypatch, caplog):
    first = checkpoints.create()
    storage = {"down": True}
    real_open = os.open

    def open_file(path, *args, **kwargs):
        if storage["down"] and str(path) == str(copies):
            raise OSError(errno.EIO, "Input/output error")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(checkpoints.os, "open", open_file)
    chain.application(S.SUBMITTED, product=chain.make_product())
    with pytest.raises(CommandError) as caught:
        call_command("audit_checkpoint", stdout=StringIO())
    missed = AuditCheckpoint.objects.order_by("-id").first()
    assert missed.sequence > first.sequence  # signed, stored and listed all the same
    assert f"checkpoint(s) {missed.sequence} are signed and stored but NOT in" in str(caught.value)
    (logged,) = [r for r in caplog.records if r.name == checkpoints.__name__]
    assert logged.levelname == "ERROR" and f"checkpoint(s) {missed.sequence} " in logged.message
    assert [json.loads(line)["sequence"] for line in copies.read_text().splitlines()] == [
        first.sequence
    ]

    storage["down"] = False
    chain.application(S.SUBMITTED, product=chain.make_product())
    last = checkpoints.create()
    lines = [json.loads(line) for line in copies.read_text().splitlines()]
    assert lines == [checkpoints.as_json(c) for c in (first, missed, last)]
    assert "it extends the 3 checkpoint(s) given" in _verify(copies)
    assert not AuditCheckpoint.objects.filter(copied_to_file=False).exists()


def test_checkpoints_made_before_the_file_was_set_are_appended_to_it(chain, settings, tmp_path):
    settings.AUDIT_CHECKPOINT_FILE = None
    before = checkpoints.create()
    settings.AUDIT_CHECKPOINT_FILE = str(tmp_path / "checkpoints.jsonl")
    after = checkpoints.create()
    lines = (tmp_path / "checkpoints.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        checkpoints.as_json(before),
        checkpoints.as_json(after),
    ]


def test_an_intact_chain_extends_its_checkpoints(chain, copies):
    checkpoints.create()
    chain.application(S.SUBMITTED, product=chain.make_product())  # more events after it
    checkpoints.create()
    chain.application(S.SUBMITTED, product=chain.make_product())
    assert "it extends the 2 checkpoint(s) given" in _verify(copies)


def test_deleting_the_newest_event_after_a_checkpoint_is_found(chain, copies):
    checkpoints.create()
    newest = AuditEvent.objects.order_by("-id").first()
    AuditChainHead.objects.filter(pk=1).update(last_event=None)
    newest.delete()
    previous = AuditEvent.objects.order_by("-id").first()
    AuditChainHead.objects.filter(pk=1).update(last_hash=previous.hash, last_event=previous)
    call_command("verify_audit_chain", stdout=StringIO())  # the chain alone looks intact

    message = _refused(copies)
    assert "the chain ends early" in message and "latest events were deleted" in message
    assert "(on line 1)" in message


def test_rewriting_an_old_event_after_a_checkpoint_is_found(chain, copies):
    checkpoints.create()
    old = AuditEvent.objects.order_by("id")[1]
    old.comment = "Nothing to see here."
    old.save(update_fields=["comment"])
    _rehash_from(old.pk)
    call_command("verify_audit_chain", stdout=StringIO())

    message = _refused(copies)
    assert "does not extend checkpoint" in message and "rewritten" in message


def test_reordering_events_before_a_checkpoint_is_found(chain, copies):
    checkpoints.create()
    first, second = AuditEvent.objects.order_by("id")[:2]
    for name in ("action", "target_type", "target_id", "data", "created_at"):
        one, other = getattr(first, name), getattr(second, name)
        setattr(first, name, other)
        setattr(second, name, one)
    first.save()
    second.save()
    _rehash_from(first.pk)

    assert "does not extend checkpoint" in _refused(copies)


def test_a_tampered_checkpoint_file_is_refused(chain, copies):
    checkpoints.create()
    line = json.loads(copies.read_text())

    copies.write_text(json.dumps({**line, "hash": "0" * 64}) + "\n")
    assert "was altered" in _refused(copies)

    header, payload, signature = line["token"].split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["seq"] -= 1
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    copies.write_text(json.dumps({"token": f"{header}.{forged}.{signature}"}) + "\n")
    assert "is not signed by the secretariat" in _refused(copies)

    # Signed by an authority's key instead of the secretariat's.
    kid, key = signing.active_key("UZ")
    other = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})
    copies.write_text(other + "\n")
    assert "is not signed by the secretariat" in _refused(copies)

    # Signed by the secretariat, but not as a checkpoint.
    untyped = signing.sign_claims("secretariat", claims)
    copies.write_text(untyped + "\n")
    assert "on line 1 is not a checkpoint" in _refused(copies)

    copies.write_text("not a checkpoint\n")
    assert "on line 1 is not signed by the secretariat" in _refused(copies)
    copies.write_text('{"sequence": 3}\n')
    assert "Line 1 holds no checkpoint token" in _refused(copies)
    copies.write_text("\n")
    assert "holds no checkpoint" in _refused(copies)


def test_a_new_checkpoint_is_refused_when_the_chain_changed_behind_the_last(chain):
    checkpoints.create()
    old = AuditEvent.objects.order_by("id").first()
    old.comment = "Rewritten."
    old.save(update_fields=["comment"])
    _rehash_from(old.pk)
    with pytest.raises(checkpoints.ChainChanged, match="does not extend checkpoint"):
        checkpoints.create()
    with pytest.raises(CommandError, match="does not extend checkpoint"):
        call_command("audit_checkpoint", stdout=StringIO())
    assert AuditCheckpoint.objects.count() == 1


def test_an_empty_chain_has_a_checkpoint_too(db, keys, copies):
    checkpoint = checkpoints.create()
    assert (checkpoint.sequence, checkpoint.last_event_id) == (0, None)
    assert checkpoint.hash == audit.GENESIS
    assert "intact: 0 events" in _verify(copies)


def test_without_the_secretariat_key_production_names_the_command(db, keys, settings):
    settings.SIGNING_KEYS_AUTOCREATE = False
    with pytest.raises(CommandError, match="rotate_signing_key --secretariat"):
        call_command("audit_checkpoint", stdout=StringIO())
    out = StringIO()
    call_command("rotate_signing_key", "--secretariat", stdout=out)
    assert "Created the first signing key of secretariat: secretariat-" in out.getvalue()
    call_command("audit_checkpoint", stdout=StringIO())
    assert signing.key_ids("secretariat") == (AuditCheckpoint.objects.get().key_id,)
