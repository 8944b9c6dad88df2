from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from registry import models, origin
from registry.selectors import product_assessment


@admin.register(models.MemberState)
class MemberStateAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "language", "time_zone"]


@admin.register(models.Authority)
class AuthorityAdmin(admin.ModelAdmin):
    list_display = ["name", "member_state", "certificate_validity_months"]


class MembershipInline(admin.TabularInline):
    model = models.ProducerMembership
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["producer"]
    readonly_fields = ["invited_by", "created_at"]


@admin.register(models.User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "member_state", "is_active"]
    list_filter = ["role", "member_state", "is_active", "is_staff"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            _("Profile"),
            {"fields": ("full_name", "role", "member_state", "language", "api_token_days")},
        ),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "role", "member_state", "password1", "password2"),
            },
        ),
    )
    inlines = [MembershipInline]


@admin.register(models.HSCode)
class HSCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "level", "description", "section"]
    list_filter = ["level", "section"]
    search_fields = ["code", "description"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SiteInline(admin.TabularInline):
    model = models.ProductionSite
    extra = 0


class ProducerMemberInline(admin.TabularInline):
    model = models.ProducerMembership
    fk_name = "producer"
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["invited_by", "created_at"]


@admin.register(models.Producer)
class ProducerAdmin(admin.ModelAdmin):
    list_display = ["legal_name", "kind", "member_state", "tax_id", "verified_at"]
    list_filter = ["member_state", "kind"]
    search_fields = ["legal_name", "trade_name", "tax_id"]
    readonly_fields = ["created_at", "created_by", "verified_at", "verified_by"]
    inlines = [SiteInline, ProducerMemberInline]
    # What identifies a producer and what the public register shows of it change through
    # the services (its members' page, the attestation), which audit the change and
    # re-index the register in the same transaction; here they are read only.
    identity_fields = ["legal_name", "trade_name", "kind", "member_state", "tax_id"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields + self.identity_fields if obj is not None else fields


class MaterialInline(admin.TabularInline):
    model = models.Material
    extra = 0
    fields = ["position", "description", "hs_code", "origin_country", "value"]


@admin.register(models.Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "producer", "hs_code", "ex_works_price", "currency"]
    list_filter = ["producer__member_state", "currency"]
    search_fields = ["name", "hs_code", "producer__legal_name"]
    autocomplete_fields = ["producer"]
    inlines = [MaterialInline]
    readonly_fields = ["origin_assessment"]

    @admin.display(description=_("Origin assessment (rule set in force, current materials)"))
    def origin_assessment(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        try:
            result = product_assessment(obj)
        except LookupError as error:
            return str(error)
        rows = format_html_join(
            "",
            "<li>{}. {}: {}</li>",
            (
                (c["alternative"] + 1, c["type"], ("✔ " if c["passed"] else "✘ ") + c["message"])
                for c in result["criteria"]
            ),
        )
        return format_html(
            "<p><strong>{}</strong> — {} ({} v{}, {})</p><ul>{}</ul>",
            result["verdict"],
            result["message"],
            result["rule_set"]["code"],
            result["rule_set"]["version"],
            gettext("rule for %(scope)s")
            % {"scope": result["rule"]["scope"] or gettext("default")},
            rows,
        )


class CriterionInlineFormSet(forms.BaseInlineFormSet):
    """A rule that cannot be evaluated is refused: at least one criterion, each valid."""

    def clean(self):
        super().clean()
        kept = [
            form
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE", False)
        ]
        if not kept:
            raise ValidationError(gettext("A rule needs at least one criterion."))
        if any(form.errors for form in kept):
            return  # each form shows its own error (a bad prefix range, say) first
        specs = {}
        for form in kept:
            specs.setdefault(form.cleaned_data["alternative"], []).append(form.instance.as_spec())
        rule = origin.RuleSpec(
            scope=self.instance.scope or "",
            alternatives=tuple(tuple(specs[k]) for k in sorted(specs)),
        )
        problems = origin.validate_rule(rule)
        if problems:
            raise ValidationError(problems)


class CriterionInline(admin.TabularInline):
    model = models.Criterion
    formset = CriterionInlineFormSet
    extra = 0
    fields = ["alternative", "position", "type", "pct", "except_prefixes", "chapters", "prefixes"]


@admin.register(models.Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "description"]
    list_filter = ["rule_set"]
    search_fields = ["scope", "description"]
    inlines = [CriterionInline]


class RuleInline(admin.TabularInline):
    model = models.Rule
    extra = 0
    show_change_link = True
    fields = ["scope", "description"]


@admin.register(models.RuleSet)
class RuleSetAdmin(admin.ModelAdmin):
    list_display = ["code", "version", "valid_from", "valid_until", "tolerance_pct"]
    inlines = [RuleInline]
