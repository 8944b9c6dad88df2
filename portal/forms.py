"""Forms of the pages. Every field's widget says whether it is invalid and which hint and
error describe it (aria-invalid, aria-describedby), so that a screen reader reads the
error with the field; templates/includes/field.html lays them out and
templates/includes/error_summary.html lists the errors at the top."""

import functools

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from certification.exceptions import DomainError


class AccessibleForm:
    """Mixed into a form: aria attributes on each widget, and domain errors as form errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_fields()
        for name, field in self.fields.items():
            described = []
            if field.help_text:
                described.append(f"{self[name].auto_id}-hint")
            field.widget.attrs.setdefault("aria-describedby", " ".join(described) or None)

    def setup_fields(self):
        """Adjust the fields (choices, hints) before the aria attributes are worked out."""

    def full_clean(self):
        super().full_clean()
        self.mark_errors()

    def add_domain_error(self, error: DomainError):
        """Show a service's refusal on the form: on its fields where it names them."""
        placed = False
        for name, messages in (error.fields or {}).items():
            if name in self.fields:
                for message in messages:
                    self.add_error(name, message)
                placed = True
        if not placed:
            self.add_error(None, error.message)
        self.mark_errors()

    def mark_errors(self):
        if not self.is_bound:
            return
        for name in self.errors:
            if name not in self.fields:
                continue
            attrs = self.fields[name].widget.attrs
            attrs["aria-invalid"] = "true"
            ids = (attrs.get("aria-describedby") or "").split()
            if f"{self[name].auto_id}-error" not in ids:
                ids.append(f"{self[name].auto_id}-error")
            attrs["aria-describedby"] = " ".join(ids)


def error_list(form, prefix=""):
    """(link to the field, message) for each error of a bound form, for an error summary."""
    found = []
    for name, messages in form.errors.items():
        anchor = f"#{form[name].id_for_label}" if name in form.fields else None
        found += [(anchor, f"{prefix} {message}".strip()) for message in messages]
    return found


class SignUpForm(AccessibleForm, forms.Form):
    full_name = forms.CharField(
        label=_("Full name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name", "class": "width-medium"}),
    )
    email = forms.EmailField(
        label=_("Email address"),
        help_text=_("We send notices about your applications and certificates here."),
        widget=forms.EmailInput(
            attrs={"autocomplete": "email", "spellcheck": "false", "class": "width-medium"}
        ),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        help_text=_("At least 8 characters; not only digits, and not like your name or email."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "class": "width-medium"}),
    )


class LoginForm(AccessibleForm, auth_forms.AuthenticationForm):
    """Django's sign-in form with the email as the user name. Its one error for a wrong
    email or password never says which of the two was wrong."""

    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": _(
            "The email address or the password is not right. Check both and try again."
        ),
        "inactive": _("The email address or the password is not right. Check both and try again."),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("Email address")
        self.fields["username"].widget = forms.EmailInput(
            attrs={
                "autocomplete": "email",
                "spellcheck": "false",
                "autofocus": True,
                "class": "width-medium",
            }
        )
        self.fields["password"].widget.attrs["class"] = "width-medium"


class AccountForm(AccessibleForm, forms.Form):
    full_name = forms.CharField(
        label=_("Full name"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name", "class": "width-medium"}),
    )
    language = forms.ChoiceField(
        label=_("Language"),
        help_text=_("The language of these pages and of the emails we send you."),
        choices=settings.LANGUAGES,
        widget=forms.Select(attrs={"class": "width-medium"}),
    )


class PasswordChangeForm(AccessibleForm, auth_forms.PasswordChangeForm):
    pass


class PasswordResetForm(AccessibleForm, auth_forms.PasswordResetForm):
    pass


class SetPasswordForm(AccessibleForm, auth_forms.SetPasswordForm):
    pass


def _tax_id_hint():
    from registry.models import MemberState
    from registry.taxids import tax_id_label, tax_id_length

    formats = "; ".join(
        _("%(state)s: %(label)s, %(length)d digits")
        % {
            "state": state.local_name,
            "label": tax_id_label(state.code),
            "length": tax_id_length(state.code),
        }
        for state in MemberState.objects.order_by("name")
    )
    return _("The national tax id, digits only. %(formats)s.") % {"formats": formats}


class ProducerForm(AccessibleForm, forms.Form):
    legal_name = forms.CharField(
        label=_("Legal name"),
        max_length=255,
        help_text=_("As on the state's registration certificate."),
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    trade_name = forms.CharField(
        label=_("Trade name"), max_length=255, required=False, widget=forms.TextInput()
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=(),
        help_text=_("An individual entrepreneur's tax id is personal data: it is never published."),
        widget=forms.RadioSelect(),
    )
    member_state = forms.ChoiceField(
        label=_("Member state"), choices=(), widget=forms.Select(attrs={"class": "width-medium"})
    )
    tax_id = forms.CharField(
        label=_("Tax id"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "spellcheck": "false", "class": "width-medium"}
        ),
    )
    address = forms.CharField(
        label=_("Address"),
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
    )
    contact_email = forms.EmailField(
        label=_("Contact email"),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "class": "width-medium"}),
    )

    def __init__(self, *args, editing=False, **kwargs):
        self.editing = editing
        super().__init__(*args, **kwargs)

    def setup_fields(self):
        from registry.models import MemberState, Producer

        self.fields["kind"].choices = Producer.Kind.choices
        self.fields["member_state"].choices = [("", _("Choose a state"))] + [
            (state.code, state.local_name) for state in MemberState.objects.order_by("name")
        ]
        if self.editing:  # the state, tax id and kind identify the producer: they stay
            for name in ("kind", "member_state", "tax_id"):
                del self.fields[name]
        else:
            self.fields["tax_id"].help_text = _tax_id_hint()
            self.fields["kind"].initial = Producer.Kind.COMPANY


class InviteForm(AccessibleForm, forms.Form):
    email = forms.EmailField(
        label=_("Email address of their account"),
        help_text=_("They must have a manufacturer account already: ask them to create one first."),
        widget=forms.EmailInput(attrs={"class": "width-medium", "spellcheck": "false"}),
    )


@functools.cache
def country_choices():
    """Unknown first (it counts as non-originating), the six member states, then the world."""
    import pycountry

    from registry.models import MemberState

    states = list(MemberState.objects.order_by("name").values_list("code", "name"))
    zone = {code for code, _name in states}
    world = sorted(
        ((c.alpha_2, c.name) for c in pycountry.countries if c.alpha_2 not in zone),
        key=lambda pair: pair[1],
    )
    return [
        ("", _("Unknown (counts as non-originating)")),
        (_("Member states"), states),
        (_("Other countries"), world),
    ]


class ProductForm(AccessibleForm, forms.Form):
    producer = forms.ChoiceField(label=_("Producer"), choices=())
    name = forms.CharField(label=_("Product name"), max_length=255)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    hs_code = forms.CharField(
        label=_("HS code"),
        max_length=6,
        help_text=_(
            "The 6-digit HS 2022 subheading of the product, e.g. 610910 for cotton T-shirts."
        ),
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "class": "width-short",
                "spellcheck": "false",
                "data-hs-code": "",
            }
        ),
    )
    ex_works_price = forms.DecimalField(
        label=_("Ex-works price"),
        max_digits=14,
        decimal_places=2,
        min_value=0,
        help_text=_(
            "The price of the product as it leaves the factory, for the quantity the "
            "materials below are counted for."
        ),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "width-short"}),
    )
    currency = forms.ChoiceField(
        label=_("Currency"), choices=(), widget=forms.Select(attrs={"class": "width-short"})
    )
    process_steps = forms.CharField(
        label=_("Process steps"),
        required=False,
        help_text=_(
            "What is done to the materials, one step per line or separated by commas: for "
            "example spinning, weaving, sewing. Steps such as packing, cleaning or sorting alone "
            "do not confer origin."
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, producers=None, editing=False, **kwargs):
        self.producers = producers or []
        self.editing = editing
        super().__init__(*args, **kwargs)

    def setup_fields(self):
        from registry.models import Currency

        self.fields["currency"].choices = Currency.choices
        if self.editing:
            del self.fields["producer"]
        else:
            self.fields["producer"].choices = [(p.pk, p.legal_name) for p in self.producers]

    def clean_process_steps(self):
        raw = self.cleaned_data["process_steps"]
        return [step.strip() for step in raw.replace(",", "\n").splitlines() if step.strip()]


def is_hs_code(value):
    """Six digits: an HS subheading as the engine reads it."""
    return bool(value) and len(value) == 6 and value.isdigit()


class MaterialForm(AccessibleForm, forms.Form):
    description = forms.CharField(label=_("Material"), max_length=255)
    hs_code = forms.CharField(
        label=_("HS code"),
        max_length=6,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "spellcheck": "false", "data-hs-code": ""}
        ),
    )
    origin_country = forms.ChoiceField(label=_("Origin"), required=False, choices=())
    value = forms.DecimalField(
        label=_("Value"),
        max_digits=14,
        decimal_places=2,
        min_value=0,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )

    def setup_fields(self):
        self.fields["origin_country"].choices = country_choices()


MaterialFormSet = forms.formset_factory(MaterialForm, extra=0, can_delete=True)


class DocumentForm(AccessibleForm, forms.Form):
    file = forms.FileField(
        label=_("Supporting document"),
        help_text=_(
            "A PDF, PNG or JPEG file of at most 10 MB: for example an invoice for a material, "
            "a supplier's declaration or a photo of the production line."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}),
    )


class CodeForm(AccessibleForm, forms.Form):
    """A code of the authenticator app; at sign-in a recovery code too."""

    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "spellcheck": "false",
                "autocapitalize": "off",
                "class": "width-medium",
            }
        ),
    )

    def __init__(self, *args, recovery=True, **kwargs):
        self.recovery = recovery
        super().__init__(*args, **kwargs)

    def setup_fields(self):
        field = self.fields["code"]
        if self.recovery:
            field.help_text = _(
                "The six digits your authenticator app shows now. Without your phone, one of "
                "your recovery codes (each works once)."
            )
        else:
            field.help_text = _("The six digits the app shows for this registry now.")
            field.widget.attrs["inputmode"] = "numeric"


class TokenForm(AccessibleForm, forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What uses it, to tell it from your others: for example “border post 3”."),
        widget=forms.TextInput(attrs={"class": "width-medium"}),
    )
    days = forms.TypedChoiceField(label=_("Valid for"), coerce=int, choices=())

    def __init__(self, *args, longest=90, **kwargs):
        self.longest = longest
        super().__init__(*args, **kwargs)

    def setup_fields(self):
        lengths = sorted({days for days in (7, 30, 90, 180, 365) if days < self.longest})
        lengths.append(self.longest)
        self.fields["days"].choices = [
            (days, ngettext("%(days)d day", "%(days)d days", days) % {"days": days})
            for days in lengths
        ]
        self.fields["days"].initial = self.longest
        self.fields["days"].widget.attrs["class"] = "width-short"
