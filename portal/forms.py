"""Forms of the pages. Every field's widget says whether it is invalid and which hint and
error describe it (aria-invalid, aria-describedby), so that a screen reader reads the
error with the field; templates/includes/field.html lays them out and
templates/includes/error_summary.html lists the errors at the top."""

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.utils.translation import gettext_lazy as _

from certification.exceptions import DomainError


class AccessibleForm:
    """Mixed into a form: aria attributes on each widget, and domain errors as form errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            described = []
            if field.help_text:
                described.append(f"{self[name].auto_id}-hint")
            field.widget.attrs.setdefault("aria-describedby", " ".join(described) or None)

    def full_clean(self):
        super().full_clean()
        self._mark_errors()

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
        self._mark_errors()

    def _mark_errors(self):
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
