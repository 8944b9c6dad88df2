"""Audit checkpoints (docs/api.md, docs/operations.md): the head of the audit chain (how
many events, the last one's id and hash, the time) signed with the secretariat's key, kept
in the database for the public list at /transparency/checkpoints/ and copied outside it: a
JSON line appended to AUDIT_CHECKPOINT_FILE and a mail to AUDIT_CHECKPOINT_EMAILS.

The chain alone cannot show that its newest events were deleted, or that it was recomputed
after an old event was rewritten; a chain that no longer extends a checkpoint kept elsewhere
can (``manage.py verify_audit_chain --checkpoints FILE``). Each new checkpoint is made only
if the chain still extends the previous one, so the secretariat never signs a chain that was
changed behind it.

A checkpoint's JWS header has ``typ`` ``mca-checkpoint+jwt`` and the secretariat's kid;
its claims::

    {"iss": "secretariat", "seq": 1234, "evt": 1240, "hash": "9f2c…", "iat": 1774000000}

``seq`` is the number of events in the chain, ``evt`` the id of the last one (null while
the chain is empty), ``hash`` its hash (64 zeros while empty).
"""

import json
import logging
import os
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from certification.core import audit, queueing
from certification.models import AuditChainHead, AuditCheckpoint, AuditEvent
from certification.verification import signing

logger = logging.getLogger(__name__)

TYP = "mca-checkpoint+jwt"
CLAIMS = ("seq", "evt", "hash", "iat")


class ChainChanged(Exception):
    """The chain no longer extends the previous checkpoint: nothing is signed."""


class NotCopied(Exception):
    """A checkpoint was signed and stored, but AUDIT_CHECKPOINT_FILE could not be appended
    to; the next checkpoint appends whatever the file misses."""


class CheckpointInvalid(Exception):
    """A checkpoint given to be checked is not one the secretariat signed as it reads."""


def _moment(timestamp):
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def as_json(checkpoint: AuditCheckpoint) -> dict:
    """What the public list, the file and the mail show of a checkpoint."""
    return {
        "sequence": checkpoint.sequence,
        "event_id": checkpoint.last_event_id,
        "hash": checkpoint.hash,
        "created_at": _moment(int(checkpoint.created_at.timestamp())),
        "kid": checkpoint.key_id,
        "token": checkpoint.token,
    }


def newest_first():
    return AuditCheckpoint.objects.order_by("-id")


def line_of(checkpoint: AuditCheckpoint) -> str:
    return json.dumps(as_json(checkpoint), separators=(",", ":")) + "\n"


def _label(sequence, iat, where=""):
    return f"checkpoint {sequence} of {_moment(iat)}{where}"


def _mark_of(checkpoint):
    if checkpoint is None:
        return None
    iat = int(checkpoint.created_at.timestamp())
    return audit.Mark(
        checkpoint.sequence,
        checkpoint.last_event_id,
        checkpoint.hash,
        _label(checkpoint.sequence, iat),
    )


def create(*, now=None) -> AuditCheckpoint:
    """Sign the chain's current head, store it, and copy it outside the database.

    Audited transitions do not wait while the chain is checked and the head signed: the
    head is read as committed, not locked (appends only add events after it), the events up
    to the previous checkpoint are counted (is it still there, at its position?), those
    since walked up to the head read, and the head's position is the previous one's plus
    the events since. The head's lock, which every append takes, is held only to store the
    checkpoint, so that two runs take turns and the list stays in order; a run that finds
    another's checkpoint stored meanwhile stores nothing and returns that one.

    Raises ChainChanged when the chain does not extend the previous checkpoint,
    SigningKeyMissing when the secretariat has no key (production: ``manage.py
    rotate_signing_key --secretariat``), and NotCopied when AUDIT_CHECKPOINT_FILE could not
    be appended to (the checkpoint is stored and listed; the next one appends it)."""
    previous = AuditCheckpoint.objects.order_by("-id").first()
    since = _mark_of(previous)
    head = AuditChainHead.objects.filter(pk=1).first()
    last_id = head.last_event_id if head else None
    last_hash = head.last_hash if head else audit.GENESIS
    problem = audit.check_mark(since) if since is not None else None
    problem = problem or audit.verify_chain(since=since, until=(last_id, last_hash))
    if problem is not None:
        event_id, reason = problem
        where = f"event {event_id}" if event_id is not None else "its start"
        raise ChainChanged(f"Audit chain broken at {where}: {reason}.")
    counted, sequence = AuditEvent.objects.none(), 0
    if last_id is not None:
        counted = AuditEvent.objects.filter(pk__lte=last_id)
    if since is not None and since.sequence:
        counted, sequence = counted.filter(pk__gt=since.event_id), since.sequence
    sequence += counted.count()
    moment = (now or timezone.now()).replace(microsecond=0)
    claims = {
        "iss": signing.SECRETARIAT,
        "seq": sequence,
        "evt": last_id,
        "hash": last_hash,
        "iat": int(moment.timestamp()),
    }
    kid, token = signing.sign_with_kid(signing.SECRETARIAT, claims, typ=TYP)
    with transaction.atomic():
        AuditChainHead.objects.select_for_update().filter(pk=1).first()
        newest = AuditCheckpoint.objects.order_by("-id").first()
        if newest is not None and (previous is None or newest.pk != previous.pk):
            return newest  # made by another run meanwhile
        checkpoint = AuditCheckpoint.objects.create(
            sequence=sequence,
            last_event_id=last_id,
            hash=last_hash,
            created_at=moment,
            key_id=kid,
            token=token,
        )
        if settings.AUDIT_CHECKPOINT_EMAILS:
            transaction.on_commit(lambda: queue_mail(checkpoint.pk), robust=True)
    if settings.AUDIT_CHECKPOINT_FILE:
        copy_to_file(settings.AUDIT_CHECKPOINT_FILE)
    return checkpoint


def copy_to_file(path) -> int:
    """Append to ``path``, oldest first, every stored checkpoint not copied to the file yet:
    the one just made, and any that an earlier run could not append (the file's storage
    down, say); returns how many. When an append fails, logs at ERROR which checkpoints the
    file misses and raises NotCopied; they stay marked to be appended next time. A crash
    between an append and its mark appends that line again: a repeated line is harmless."""
    copied, error = [], None
    with transaction.atomic():
        pending = list(
            AuditCheckpoint.objects.select_for_update().filter(copied_to_file=False).order_by("id")
        )
        for checkpoint in pending:
            try:
                append_to_file(path, checkpoint)
            except OSError as caught:
                error = caught
                break
            copied.append(checkpoint.pk)
        AuditCheckpoint.objects.filter(pk__in=copied).update(copied_to_file=True)
    if error is None:
        return len(copied)
    missing = ", ".join(str(c.sequence) for c in pending[len(copied) :])
    message = (
        f"Audit checkpoint(s) {missing} are signed and stored but NOT in "
        f"AUDIT_CHECKPOINT_FILE {path} ({error}); the next checkpoint appends them "
        "(manage.py audit_checkpoint makes one now)."
    )
    logger.error(message)
    raise NotCopied(message) from error


def append_to_file(path, checkpoint: AuditCheckpoint) -> None:
    """One JSON line at the end of ``path``, in one write (O_APPEND), flushed to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line_of(checkpoint).encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def queue_mail(checkpoint_id) -> None:
    queueing.queue(queueing.MAIL_AUDIT_CHECKPOINT, [checkpoint_id])


def mail(checkpoint_id) -> int:
    """Mail the checkpoint to AUDIT_CHECKPOINT_EMAILS (the task, retried by Celery)."""
    checkpoint = AuditCheckpoint.objects.get(pk=checkpoint_id)
    recipients = list(settings.AUDIT_CHECKPOINT_EMAILS)
    if not recipients:
        return 0
    domain = urlsplit(settings.PUBLIC_BASE_URL).hostname or "localhost"
    body = (
        f"The audit chain of {settings.PUBLIC_BASE_URL} held {checkpoint.sequence} events "
        f"at {as_json(checkpoint)['created_at']}; the last one has the hash {checkpoint.hash}.\n\n"
        "Keep this message. Appended to a file, the line below lets "
        "`manage.py verify_audit_chain --checkpoints FILE` show whether the chain was changed "
        "since (docs/operations.md).\n\n" + line_of(checkpoint)
    )
    message = EmailMessage(
        subject=f"MCA audit checkpoint {checkpoint.sequence}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        headers={
            "Message-ID": f"<audit-checkpoint-{checkpoint.pk}@{domain}>",
            "Auto-Submitted": "auto-generated",
        },
    )
    return message.send()


# --- checking a file of checkpoints ------------------------------------------------------


def _read_claims(token, where):
    try:
        claims = signing.verify_token(token, owners=signing.SECRETARIAT_OWNERS, typ=TYP)
    except signing.TokenInvalid as error:
        if error.code == "wrong_type":
            raise CheckpointInvalid(f"The checkpoint {where} is not a checkpoint.") from error
        raise CheckpointInvalid(
            f"The checkpoint {where} is not signed by the secretariat: {error}"
        ) from error
    if any(name not in claims for name in CLAIMS):
        raise CheckpointInvalid(f"The checkpoint {where} is not a checkpoint.")
    return claims


def read_marks(lines) -> list:
    """The Marks of checkpoint lines (the file's JSON lines, or bare tokens), each checked:
    signed with a secretariat key, and saying in readable fields what it signed. Raises
    CheckpointInvalid naming the line."""
    marks = []
    for number, text in enumerate(lines, start=1):
        text = text.strip()
        if not text:
            continue
        where = f"on line {number}"
        try:
            fields = json.loads(text) if text.startswith("{") else {"token": text}
        except ValueError as error:
            raise CheckpointInvalid(f"Line {number} is neither JSON nor a token.") from error
        token = fields.get("token") if isinstance(fields, dict) else None
        if not isinstance(token, str):
            raise CheckpointInvalid(f"Line {number} holds no checkpoint token.")
        claims = _read_claims(token, where)
        signed = {
            "sequence": claims["seq"],
            "event_id": claims["evt"],
            "hash": claims["hash"],
            "created_at": _moment(claims["iat"]),
        }
        altered = sorted(key for key, value in signed.items() if fields.get(key, value) != value)
        if altered:
            raise CheckpointInvalid(
                f"The checkpoint {where} was altered: its {', '.join(altered)} "
                "differ from what the secretariat signed."
            )
        label = _label(claims["seq"], claims["iat"], f" ({where})")
        marks.append(audit.Mark(claims["seq"], claims["evt"], claims["hash"], label))
    return marks
