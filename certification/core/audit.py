"""The audit trail: append-only events in one SHA-256 hash chain.

Each event's hash covers its own content and the previous event's hash, so editing or
deleting any row breaks the chain from there on. Appends lock the single chain-head row,
so two concurrent transitions cannot both link to the same predecessor (a fork).
Appends must run inside the transaction of the change they record.

A chain kept only in the database cannot show that its newest events were deleted, nor that
the whole chain was recomputed after an old event was rewritten: the signed checkpoints
kept outside it can (certification/verification/checkpoints.py). ``verify_chain`` takes
them as ``Mark``s: the position, id and hash the chain must have there."""

import hashlib
import json
import re
from typing import NamedTuple

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from certification.models import AuditChainHead, AuditEvent

GENESIS = "0" * 64
_SECRET_KEY = re.compile(r"pass(word)?|secret|token|key|authorization|signature", re.I)
MASK = "***"


def mask_secrets(value):
    """A copy of value with the values of secret-looking keys replaced, at any depth."""
    if isinstance(value, dict):
        return {
            k: (MASK if _SECRET_KEY.search(str(k)) else mask_secrets(v)) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_secrets(v) for v in value]
    return value


def _canonical(event, prev_hash):
    body = {
        "prev_hash": prev_hash,
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "comment": event.comment,
        "data": event.data,
        "created_at": event.created_at.isoformat(timespec="microseconds"),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compute_hash(event, prev_hash):
    return hashlib.sha256(_canonical(event, prev_hash).encode()).hexdigest()


def _locked_head():
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        # First append ever: create the head; a concurrent first append loses the insert
        # race and retries the locked read.
        try:
            with transaction.atomic():
                AuditChainHead.objects.create(pk=1, last_hash=GENESIS)
        except IntegrityError:
            pass  # a concurrent first append created it; lock it below
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


def record(actor, action, target, *, from_state="", to_state="", comment="", data=None):
    """Append one event about `target` (a model instance). Returns the event."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record must run inside the transaction of the change")
    head = _locked_head()
    event = AuditEvent(
        actor=actor if actor is not None and actor.pk else None,
        actor_label=getattr(actor, "email", "") or "system",
        action=action,
        target_type=target._meta.model_name,
        target_id=str(target.pk),
        from_state=from_state or "",
        to_state=to_state or "",
        comment=comment or "",
        data=mask_secrets(data or {}),
        created_at=timezone.now(),
        prev_hash=head.last_hash,
    )
    # Round-trip the data through JSON so the hash is computed over what is stored.
    event.data = json.loads(json.dumps(event.data, default=str))
    event.hash = compute_hash(event, head.last_hash)
    event.save()
    head.last_hash = event.hash
    head.last_event = event
    head.save(update_fields=["last_hash", "last_event"])
    return event


class Mark(NamedTuple):
    """What the chain held at a checkpoint: ``sequence`` events, the last of them with this
    id and hash (None and GENESIS for an empty chain). ``label`` names it in messages."""

    sequence: int
    event_id: int | None
    hash: str
    label: str


def _mark_problem(mark, event):
    if event is not None and (event.id, event.hash) == (mark.event_id, mark.hash):
        return None
    if event is None and mark.sequence == 0 and mark.hash == GENESIS:
        return None
    if event is None:
        found = "missing"
    elif event.id != mark.event_id:
        found = f"event {event.id}, not event {mark.event_id}"
    else:
        found = f"event {event.id} with the hash {event.hash[:16]}…, not {mark.hash[:16]}…"
    return (
        f"the chain does not extend {mark.label}: its event number {mark.sequence} is "
        f"{found}, so events up to it were deleted, rewritten or reordered"
    )


def check_mark(mark):
    """Whether the chain still holds ``mark``: its event, with its hash, preceded by exactly
    ``mark.sequence - 1`` others. None when it does, else (event id, reason). It counts the
    events up to the mark from the first one, but needs no lock: appends only ever add
    events after it."""
    if not mark.sequence:
        return None
    anchor = AuditEvent.objects.filter(pk=mark.event_id).first()
    problem = _mark_problem(mark, anchor)
    if problem is not None:
        return mark.event_id, problem
    held = AuditEvent.objects.filter(pk__lte=anchor.pk).count()
    if held != mark.sequence:
        return mark.event_id, (
            f"the chain does not extend {mark.label}: {held} events lead to its event "
            f"{anchor.pk}, not {mark.sequence}, so events before it were deleted or added"
        )
    return None


def verify_chain(marks=(), *, since=None, until=None):
    """Walk the chain. Returns None when intact, else (event id or None, reason) for the
    first broken link.

    ``marks`` (checkpoints): the chain must hold each one's event, with its hash, at its
    position, and be at least as long as the longest. ``since`` (one mark, which
    ``check_mark`` found the chain still holds): walk only the events after it (how each new
    checkpoint is checked against the previous one). ``until`` ((event id or None, hash):
    the head as read before): the chain must end there, and events appended since are not
    walked; without it, the chain must end at the stored head."""
    prev_hash, position, last_id = GENESIS, 0, None
    events = AuditEvent.objects.order_by("id")
    if since is not None and since.sequence:
        events = events.filter(pk__gt=since.event_id)
        prev_hash, position, last_id = since.hash, since.sequence, since.event_id
    if until is not None:
        end_id, end_hash = until
        events = events.filter(pk__lte=end_id) if end_id is not None else events.none()
    wanted = {}
    for mark in marks:
        wanted.setdefault(mark.sequence, []).append(mark)
    for mark in wanted.get(0, ()):
        if mark.hash != GENESIS:
            return None, _mark_problem(mark, None)
    for event in events.iterator(chunk_size=2000):
        if event.prev_hash != prev_hash:
            return event.id, "links to a different predecessor: an earlier event was deleted"
        if compute_hash(event, prev_hash) != event.hash:
            return event.id, "its content does not match its hash: the event was altered"
        position += 1
        for mark in wanted.get(position, ()):
            problem = _mark_problem(mark, event)
            if problem is not None:
                return event.id, problem
        prev_hash = event.hash
        last_id = event.id
    if until is None:
        head = AuditChainHead.objects.filter(pk=1).first()
        end_hash = head.last_hash if head is not None else prev_hash
    if end_hash != prev_hash:
        return last_id, "the chain ends early: the latest events were deleted"
    longest = max(marks, key=lambda mark: mark.sequence, default=None)
    if longest is not None and longest.sequence > position:
        return last_id, (
            f"the chain ends early: it holds {position} events, but {longest.label} "
            f"recorded {longest.sequence}, so its latest events were deleted"
        )
    return None
