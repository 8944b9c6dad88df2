"""The reviewers' workspace: the certificates of the reviewer's state (searched by number,
producer or product, filtered by the status verification gives them) and the
certificate's page with what it certifies, its status and history, and the forms to
suspend, reinstate or revoke it.

What a caller sees comes from the policy's visible sets (another state's certificate is
"not found"); the forms are offered only to a reviewer of the issuing state, and only
those the certificate's status allows (services.CERTIFICATE_TRANSITIONS). Each form posts
to one service call; the verification page reads the change at once. The secretariat
reads every state's certificates and changes none."""

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from certification import selectors
from certification.core import policy
from certification.exceptions import DomainError, NotFound, TransitionNotAllowed
from certification.exceptions import PermissionDenied as DomainPermissionDenied
from certification.models import Certificate
from certification.workflow import services
from portal import forms
from portal.workspace import official_required
from portal.workspace_lists import SearchForm, filter_choice, render_list
from registry.models import User


class CertificateFilter(SearchForm):
    Q_LABEL = gettext_lazy("Number, producer or product")

    status = filter_choice(
        gettext_lazy("Status"), gettext_lazy("any status"), selectors.CERTIFICATE_STATUS_CHOICES
    )


@official_required
def certificate_list(request):
    form = CertificateFilter(request.GET or None)
    certificates = selectors.workspace_certificates(request.user, **form.criteria())
    return render_list(
        request, form, certificates, "workspace/certificates.html", selectors.with_standing
    )


def _certificate(user, number):
    certificate = selectors.certificate_for(user, number)
    if certificate is None:
        raise Http404(_("No such certificate."))
    return certificate


ACTIONS = {
    "suspend": services.certificate_suspend,
    "reinstate": services.certificate_reinstate,
    "revoke": services.certificate_revoke,
}
DONE = {
    "suspend": gettext_lazy(
        "Certificate %(number)s is suspended: the verification page says so from now on."
    ),
    "reinstate": gettext_lazy(
        "Certificate %(number)s is reinstated: the verification page says so from now on."
    ),
    "revoke": gettext_lazy(
        "Certificate %(number)s is revoked: the verification page says so from now on."
    ),
}


class StatusChangeForm(forms.AccessibleForm, django_forms.Form):
    reason = django_forms.CharField(
        max_length=5000, widget=django_forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, action, **kwargs):
        self.action = action
        super().__init__(*args, prefix=action, **kwargs)

    def setup_fields(self):
        field = self.fields["reason"]
        # Whether a reason is needed is the service's rule; the form only asks it.
        field.required = services.certificate_needs_reason(self.action)
        if self.action == "suspend":
            field.label = _("Reason for the suspension")
            field.help_text = _("Customs and the public read it on the verification page.")
            field.error_messages["required"] = _("Give the reason for the suspension.")
        elif self.action == "revoke":
            field.label = _("Reason for the revocation")
            field.help_text = _("Customs and the public read it on the verification page.")
            field.error_messages["required"] = _("Give the reason for the revocation.")
        else:
            field.label = _("Note on the reinstatement")
            field.help_text = _("Kept in the certificate's history.")


def _status_forms(user, certificate, bound=None):
    """The status changes the user may make to the certificate now, by action."""
    try:
        policy.ensure_can_manage_certificate(user, certificate)
    except DomainError:
        return {}
    return {
        action: bound
        if bound is not None and bound.action == action
        else StatusChangeForm(action=action)
        for action in ACTIONS
        if services.certificate_allows(certificate, action)
    }


@official_required
def certificate_detail(request, number, bound=None, status=200):
    certificate = _certificate(request.user, number)
    context = {
        "certificate": certificate,
        "product": certificate.product_snapshot,
        "producer": certificate.producer_snapshot,
        "status_forms": _status_forms(request.user, certificate, bound),
        "read_only": request.user.role == User.Role.SECRETARIAT,
        "form": bound,  # for the error summary
        "history": selectors.certificate_history(certificate),
        **selectors.certificate_days(certificate),
    }
    return render(request, "workspace/certificate.html", context, status=status)


def _nothing_changed(request, certificate, current):
    # Most often another reviewer acted first: say so, change nothing.
    messages.error(
        request,
        _(
            "Nothing was changed: the certificate is %(state)s now (someone may have acted "
            "on it just before you)."
        )
        % {"state": Certificate.Status(current).label.lower()},
    )
    return redirect("workspace:certificate", number=certificate.number)


@official_required
@require_POST
def certificate_action(request, number, action):
    if action not in ACTIONS:
        raise Http404
    certificate = _certificate(request.user, number)
    # In the services' order: may see it (above), may do it, allowed from its status, input.
    try:
        policy.ensure_can_manage_certificate(request.user, certificate)
    except DomainPermissionDenied as error:
        raise PermissionDenied(error.message) from error
    if not services.certificate_allows(certificate, action):
        return _nothing_changed(request, certificate, certificate.status)
    form = StatusChangeForm(request.POST, action=action)
    if not form.is_valid():
        return certificate_detail(request, certificate.number, bound=form, status=400)
    try:
        ACTIONS[action](
            actor=request.user, number=certificate.number, reason=form.cleaned_data["reason"]
        )
    except NotFound as error:
        raise Http404 from error
    except DomainPermissionDenied as error:
        raise PermissionDenied(error.message) from error
    except TransitionNotAllowed as error:
        return _nothing_changed(request, certificate, error.current)
    except DomainError as error:
        form.add_domain_error(error)
        return certificate_detail(request, certificate.number, bound=form, status=400)
    messages.success(request, str(DONE[action]) % {"number": certificate.number})
    return redirect("workspace:certificate", number=certificate.number)
