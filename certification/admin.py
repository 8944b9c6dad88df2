from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from certification.core import lifecycle
from certification.models import (
    Application,
    ApplicationDocument,
    AuditEvent,
    Certificate,
    Delivery,
    DeliveryAttempt,
    OutboxEvent,
    WebhookSubscription,
)
from certification.notifications import dispatch
from certification.workflow import accounts
from registry.admin import UserAdmin
from registry.models import ApiToken, AuthenticatorDevice, User
from registry.selectors import in_language

# --- Notifications: what the secretariat watches (failed deliveries above all) -----------


class DeliveryStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("pending", _("Pending")), ("sent", _("Sent")), ("failed", _("Failed"))]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(sent_at=None, failed_at=None)
        if self.value() == "sent":
            return queryset.filter(sent_at__isnull=False)
        if self.value() == "failed":
            return queryset.filter(failed_at__isnull=False)
        return queryset


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the workflow and the workers only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ["number", "started_at", "finished_at", "ok", "status_code", "error", "duration_ms"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "event_name",
        "channel",
        "address",
        "state",
        "attempts",
        "next_attempt_at",
        "last_error",
    ]
    list_filter = [DeliveryStateFilter, "channel", "event__event"]
    search_fields = ["address", "event__id"]
    list_select_related = ["event"]
    date_hierarchy = "created_at"
    inlines = [DeliveryAttemptInline]
    actions = ["retry_now"]
    exclude = ["subscription", "recipient"]
    readonly_fields = [
        "event",
        "channel",
        "address",
        "created_at",
        "attempts",
        "next_attempt_at",
        "lease_until",
        "queued_at",
        "sent_at",
        "failed_at",
        "last_error",
    ]

    @admin.display(description=_("event"), ordering="event__event")
    def event_name(self, delivery):
        return delivery.event.event

    @admin.action(description=_("Retry the selected deliveries now"), permissions=["change"])
    def retry_now(self, request, queryset):
        count = dispatch.retry_now(queryset)
        self.message_user(request, _("%(count)s deliveries will be retried.") % {"count": count})

    def has_change_permission(self, request, obj=None):
        # Needed for the action; every field stays read-only.
        return request.user.is_superuser


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "event", "application", "certificate", "sent_at", "failed_at"]
    list_filter = ["event"]
    search_fields = ["id", "certificate__number"]
    date_hierarchy = "occurred_at"
    readonly_fields = [
        "id",
        "event",
        "application",
        "certificate",
        "payload",
        "occurred_at",
        "attempts",
        "next_attempt_at",
        "lease_until",
        "queued_at",
        "sent_at",
        "failed_at",
        "last_error",
        "key",
    ]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["id", "owner", "url", "events", "created_at", "deleted_at"]
    list_filter = ["deleted_at"]
    search_fields = ["url", "owner__email"]
    # Never the secret: it was shown to its owner once.
    fields = ["owner", "url", "events", "created_at", "deleted_at"]
    readonly_fields = fields


# --- The workflow's records: read-only here, changed only through the services -----------


class DocumentInline(admin.TabularInline):
    model = ApplicationDocument
    extra = 0
    can_delete = False
    fields = ["original_name", "content_type", "size", "sha256", "uploaded_by", "uploaded_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "product",
        "producer",
        "member_state",
        "status",
        "assessment_verdict",
        "submitted_at",
        "decided_at",
    ]
    list_filter = ["status", "member_state", "assessment_verdict"]
    search_fields = ["product__name", "producer__legal_name", "producer__tax_id"]
    list_select_related = ["product", "producer"]
    inlines = [DocumentInline]
    exclude = ["assessment", "product_snapshot"]
    readonly_fields = ["assessment_message"]

    @admin.display(description=_("origin assessment at submission"))
    def assessment_message(self, application):
        if not application.assessment:
            return "-"
        assessment = in_language(application.assessment)
        return f"{assessment['verdict']}: {assessment['message']}"


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "producer",
        "product",
        "status",
        "derived",
        "valid_from",
        "valid_until",
    ]
    list_filter = ["member_state", "status"]
    search_fields = ["number", "producer__legal_name", "product__name"]
    list_select_related = ["producer", "product", "member_state"]
    exclude = ["token"]

    @admin.display(description=_("in force"))
    def derived(self, certificate):
        return lifecycle.derived_status(certificate)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "from_state",
        "to_state",
    ]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_label", "target_id", "comment"]
    date_hierarchy = "created_at"


# --- Accounts: second factor and API tokens (certification/workflow/accounts.py) ----------


admin.site.unregister(User)


@admin.register(User)
class AccountAdmin(UserAdmin):
    """The accounts, with what the secretariat does about signing in: reset a lost second
    factor (audited as account.otp_reset), and each account's API token lifetime (Profile;
    customs officers up to a year)."""

    list_display = [*UserAdmin.list_display, "second_factor"]
    actions = ["reset_second_factor"]

    def get_queryset(self, request):
        confirmed = AuthenticatorDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        return super().get_queryset(request).annotate(has_app=Exists(confirmed))

    @admin.display(description=_("second factor"), boolean=True, ordering="has_app")
    def second_factor(self, user):
        return user.has_app

    @admin.action(description=_("Reset two-factor sign-in of the selected accounts"))
    def reset_second_factor(self, request, queryset):
        for user in queryset:
            accounts.two_factor_reset(actor=request.user, user_id=user.pk)
        self.message_user(
            request,
            _("%(count)s accounts set up an authenticator app again at their next sign-in.")
            % {"count": len(queryset)},
        )


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Every account's API tokens: names, first characters and dates only (the keys are
    not kept). The secretariat may revoke them (audited as token.revoked)."""

    list_display = ["name", "prefix", "user", "created_at", "expires_at", "revoked_at"]
    list_filter = ["user__role", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__email"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    fields = list_display
    readonly_fields = list_display
    actions = ["revoke"]

    @admin.action(description=_("Revoke the selected tokens"), permissions=["change"])
    def revoke(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at=None):
            accounts.token_revoke(actor=request.user, token_id=token.pk)
            revoked += 1
        self.message_user(request, _("%(count)s tokens revoked.") % {"count": revoked})

    def has_change_permission(self, request, obj=None):
        # Needed for the action; every field stays read-only.
        return request.user.is_superuser
