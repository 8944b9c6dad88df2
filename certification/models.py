"""The decision and its proof: applications, certificates and their numbering, the audit
chain and the outbox (docs/architecture.md and docs/api.md). State changes happen only in
certification/workflow/services.py; nothing here carries business rules."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from registry import sealing
from registry.models import MemberState, Producer, Product


class Application(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        UNDER_REVIEW = "under_review", _("Under review")
        CHANGES_REQUESTED = "changes_requested", _("Changes requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="applications")
    # Denormalised from the product so that visibility filters need no join through it.
    producer = models.ForeignKey(Producer, on_delete=models.PROTECT, related_name="applications")
    member_state = models.ForeignKey(MemberState, on_delete=models.PROTECT, related_name="+")
    renews = models.ForeignKey(
        "Certificate", on_delete=models.PROTECT, null=True, blank=True, related_name="renewals"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Snapshots taken on submit: what the reviewer decides on, immune to later edits.
    assessment = models.JSONField(null=True, blank=True)
    assessment_verdict = models.CharField(max_length=4, blank=True)
    product_snapshot = models.JSONField(null=True, blank=True)
    last_comment = models.TextField(blank=True)
    override_reason = models.TextField(
        blank=True, help_text=_("Why the decision goes against the engine's verdict.")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["member_state", "status", "submitted_at"]),
            # The reviewers' queue (selectors.review_queue): a state's waiting, and its
            # decided, applications in the order shown (oldest submission first), so that a
            # page reads its 50 rows instead of sorting the whole view (bench/review_queue.py).
            models.Index(
                fields=["member_state", "submitted_at", "id"],
                condition=models.Q(status__in=["submitted", "under_review"]),
                name="application_queue_waiting",
            ),
            models.Index(
                fields=["member_state", "submitted_at", "id"],
                condition=models.Q(status__in=["approved", "rejected"]),
                name="application_queue_decided",
            ),
        ]

    def __str__(self):
        return f"Application {self.pk} ({self.get_status_display()})"

    @property
    def flagged(self):
        """An application whose snapshotted assessment fails may be submitted, but is
        flagged for the reviewer."""
        return self.assessment_verdict == "FAIL"


DOCUMENT_TYPES = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}


def document_path(instance, filename):
    # Named by content hash: the uploader's file name never reaches the file system.
    extension = DOCUMENT_TYPES.get(instance.content_type, "")
    return f"applications/{instance.application_id}/{instance.sha256}{extension}"


class ApplicationDocument(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="documents")
    file = models.FileField(upload_to=document_path, max_length=255)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name


class Certificate(models.Model):
    """Stored status is what an authority decided; whether it is in force (valid,
    not_yet_valid, expired) is derived when read from the dates (certification/lifecycle)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        REVOKED = "revoked", _("Revoked")

    number = models.CharField(max_length=24, unique=True)
    member_state = models.ForeignKey(MemberState, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField()
    application = models.OneToOneField(
        Application, on_delete=models.PROTECT, related_name="certificate"
    )
    producer = models.ForeignKey(Producer, on_delete=models.PROTECT, related_name="certificates")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="certificates")
    renews = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="renewed_by"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.TextField(blank=True)
    issued_at = models.DateTimeField()
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    valid_from = models.DateField()
    valid_until = models.DateField()
    # What the certificate certifies, frozen at issue (docs/architecture.md).
    product_snapshot = models.JSONField()
    producer_snapshot = models.JSONField()
    assessment = models.JSONField()
    origin_criterion = models.CharField(max_length=255)
    # Proof, added after the number is allocated: the signed token and the rendered PDF.
    token = models.TextField(blank=True)
    key_id = models.CharField(max_length=64, blank=True)
    pdf = models.FileField(upload_to="certificates/", blank=True, max_length=255)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    pdf_rendered_version = models.PositiveIntegerField(null=True, blank=True)
    version = models.PositiveIntegerField(
        default=1, help_text=_("Raised whenever what the PDF shows changes.")
    )
    expiry_recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member_state", "year", "sequence"], name="certificate_unique_sequence"
            )
        ]
        indexes = [
            # The few suspended and revoked certificates of a state, read for its status list
            # (certification/verification/status_list.py) from the index alone, without
            # scanning the active ones.
            models.Index(
                fields=["member_state", "year", "sequence", "status", "status_changed_at"],
                condition=~models.Q(status="active"),
                name="certificate_stopped",
            )
        ]

    def __str__(self):
        return self.number


class CertificateCounter(models.Model):
    """The last number issued per (state, year). Locked inside the approval transaction,
    so numbers are gap-free: a rolled-back approval rolls its number back too, which a
    database sequence would not."""

    member_state = models.ForeignKey(MemberState, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last_sequence = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member_state", "year"], name="counter_unique_year")
        ]

    def __str__(self):
        return f"{self.member_state_id} {self.year}: {self.last_sequence}"


class AuditEvent(models.Model):
    """Append-only; every event's hash covers its content and the previous event's hash."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=32)
    target_id = models.CharField(max_length=32)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    comment = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self):
        return f"{self.action} {self.target_type}:{self.target_id}"


class AuditChainHead(models.Model):
    """A single row locked by every append, so concurrent transitions never fork the chain."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_hash = models.CharField(max_length=64)
    last_event = models.ForeignKey(
        AuditEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    def __str__(self):
        return self.last_hash


class AuditCheckpoint(models.Model):
    """The head of the audit chain at one moment, signed with the secretariat's key
    (certification/verification/checkpoints.py) and copied outside the database, so that
    events deleted or rewritten later are found (`manage.py verify_audit_chain
    --checkpoints FILE`)."""

    sequence = models.PositiveBigIntegerField(help_text=_("Events in the chain up to the head."))
    # The head event's id; no foreign key: a checkpoint must outlive the events it vouches
    # for, so that their deletion shows.
    last_event_id = models.BigIntegerField(null=True, blank=True)
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    key_id = models.CharField(max_length=64)
    token = models.TextField()
    # Appended to AUDIT_CHECKPOINT_FILE; one whose append failed is appended by the next.
    copied_to_file = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"checkpoint {self.sequence} {self.hash[:12]}"


class StatusList(models.Model):
    """A member state's latest signed list of suspended and revoked certificates
    (certification/verification/status_list.py), served at /.well-known/mca-status/{CC}.jws.
    One row per state, replaced whenever it is generated again."""

    member_state = models.OneToOneField(
        MemberState, on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    token = models.TextField(blank=True)
    etag = models.CharField(max_length=66, blank=True)
    entries = models.PositiveIntegerField(default=0)
    issued_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"status list {self.member_state_id} ({self.entries})"


class OutboxEvent(models.Model):
    """A domain event written in the same transaction as the change it announces.
    Dispatch claims it with a lease and fans it out into one Delivery per recipient
    (certification/notifications/dispatch.py); `sent_at` is set once those deliveries exist, and
    each delivery is marked sent only after its receiver accepted it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.CharField(max_length=64)
    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    certificate = models.ForeignKey(
        Certificate, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Scheduled events (expiry reminders, the expiry itself) carry a key so that they are
    # written once however often their job runs.
    key = models.CharField(max_length=100, unique=True, null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["occurred_at"]
        indexes = [models.Index(fields=["sent_at", "failed_at", "next_attempt_at"])]

    def __str__(self):
        return f"{self.event} {self.id}"


# --- Notifications (docs/api.md, docs/operations.md) ---------------------------------------


class WebhookSubscription(models.Model):
    """An endpoint that receives certificate events, owned by a customs officer, a reviewer
    (their own state's certificates only) or the secretariat. The secret signs every
    delivery; the API shows it once, in the answer to the subscription, and never again.
    It is stored sealed (registry/sealing.py, SECRETS_KEYS): ``secret`` reads and sets it in
    the clear, ``sealed_secret`` is what the database holds ("" once deleted)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="webhook_subscriptions"
    )
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)
    sealed_secret = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Deleting keeps the row (and its delivery log) but stops every pending delivery.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.url} ({self.owner_id})"

    @property
    def secret(self):
        return sealing.unseal(self.sealed_secret) if self.sealed_secret else ""

    @secret.setter
    def secret(self, value):
        self.sealed_secret = sealing.seal(value) if value else ""


class Delivery(models.Model):
    """One outbox event to one recipient over one channel: an email to one account or a
    POST to one webhook. Each has its own attempts, lease and backoff, so a failing
    webhook is retried alone and never resends the email or the other webhooks."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        WEBHOOK = "webhook", _("Webhook")

    event = models.ForeignKey(OutboxEvent, on_delete=models.PROTECT, related_name="deliveries")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    subscription = models.ForeignKey(
        WebhookSubscription,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    address = models.CharField(max_length=500, help_text=_("Email address or URL at fan-out."))
    created_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    # When a task for it was last put on the queue: the sweep does not queue it again
    # while that task may still be waiting in the broker.
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["sent_at", "failed_at", "next_attempt_at"])]
        constraints = [
            # One email per account and one POST per subscription for each event, however
            # often the fan-out runs.
            models.UniqueConstraint(
                fields=["event", "recipient"], name="delivery_once_per_account"
            ),
            models.UniqueConstraint(
                fields=["event", "subscription"], name="delivery_once_per_subscription"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(channel="email", recipient__isnull=False, subscription__isnull=True)
                    | models.Q(
                        channel="webhook", recipient__isnull=True, subscription__isnull=False
                    )
                ),
                name="delivery_channel_matches_target",
            ),
        ]

    def __str__(self):
        return f"{self.event.event} -> {self.channel} {self.address}"

    @property
    def state(self):
        if self.sent_at:
            return "sent"
        if self.failed_at:
            return "failed"
        return "pending"


class DeliveryAttempt(models.Model):
    """The log of one try. Written when the try starts, completed when it ends: a try
    whose worker died has no outcome (`ok` is null)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(null=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="attempt_number_unique")
        ]

    def __str__(self):
        return f"attempt {self.number} of delivery {self.delivery_id}"


class Heartbeat(models.Model):
    """The last time a periodic task ran on a worker (beat -> broker -> worker -> database
    all work); /healthz reads it."""

    name = models.CharField(max_length=32, primary_key=True)
    beat_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} {self.beat_at:%Y-%m-%d %H:%M:%S}"

# --- The public register (certification/register/, docs/architecture.md) -----------------


class RegisterEntry(models.Model):
    """One certificate as the public register shows and searches it: what it certified
    (the snapshots taken at issue), its producer as it is named now, and the folded terms
    the search matches. Written only by certification/register/index.py, in the same
    transaction as the change it follows; a certificate whose producer is not verified is
    kept unlisted. On PostgreSQL the table also has `vector`, a stored tsvector of `terms`
    with its GIN index (migration 0004), which the model does not declare."""

    certificate = models.OneToOneField(
        Certificate, on_delete=models.CASCADE, primary_key=True, related_name="register_entry"
    )
    number = models.CharField(max_length=24)
    member_state = models.ForeignKey(MemberState, on_delete=models.PROTECT, related_name="+")
    producer = models.ForeignKey(Producer, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    listed = models.BooleanField(default=True)
    status = models.CharField(max_length=10)  # stored: active, suspended, revoked
    issued_at = models.DateTimeField()
    valid_from = models.DateField()
    valid_until = models.DateField()
    # The first and the first-no-longer moments of validity: midnight of valid_from and of
    # the day after valid_until in the issuing state's time zone.
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    product_name = models.CharField(max_length=255)
    hs_code = models.CharField(max_length=6)
    hs_heading = models.CharField(max_length=4)
    hs_chapter = models.CharField(max_length=2)
    hs_section = models.CharField(max_length=5)
    hs_description = models.TextField()
    producer_name = models.CharField(max_length=255)
    producer_trade_name = models.CharField(max_length=255, blank=True)
    certified_producer_name = models.CharField(max_length=255)
    producer_kind = models.CharField(max_length=16)
    # Empty for an individual entrepreneur: that tax id is personal data and never enters
    # the register.
    producer_tax_id = models.CharField(max_length=20, blank=True)
    origin_criterion = models.CharField(max_length=255)
    terms = models.TextField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["issued_at", "certificate"], name="register_issued"),
            models.Index(
                fields=["member_state", "issued_at", "certificate"], name="register_state_issued"
            ),
            models.Index(fields=["hs_section"], name="register_section"),
            models.Index(fields=["hs_chapter"], name="register_chapter"),
            models.Index(fields=["hs_heading"], name="register_heading"),
            models.Index(fields=["updated_at"], name="register_updated"),
            models.Index(fields=["starts_at"], name="register_starts"),
            models.Index(fields=["ends_at"], name="register_ends"),
        ]

    def __str__(self):
        return f"{self.number} {self.product_name}"

    @property
    def member_state_name(self):
        return self.member_state.local_name


class RegisterWord(models.Model):
    """A word of the listed register entries' terms, how many entries hold it and how many
    hold it in the product's name: the search corrects a misspelt word to the closest of
    these (pg_trgm), widens a beginning to the words it begins, and reads how common each
    is to choose its plan."""

    word = models.CharField(max_length=255, primary_key=True)
    entries = models.PositiveIntegerField(default=0)
    names = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.word} ({self.entries})"
