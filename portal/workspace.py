"""The reviewers' workspace: the queue of their state's applications and the application's
page with everything a decision rests on (the producer and whether its identity is
attested, the product and bill of materials as submitted, the origin assessment
snapshotted at submission, the documents, the history) and the decision forms.

The secretariat reads the same pages for every state and decides nothing: what a caller
sees comes from the policy's visible sets (another state's application is "not found"),
and the forms are offered only to whom the policy lets decide. Each decision is one
service call; two reviewers acting at once get one decision and a clear message."""

from functools import wraps

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from certification import selectors
from certification.core import policy
from certification.exceptions import DomainError, NotFound, TransitionNotAllowed
from certification.exceptions import PermissionDenied as DomainPermissionDenied
from certification.models import Application, Certificate
from certification.workflow import services
from portal import forms
from portal.applications import serve_document
from portal.paging import page_of
from portal.two_factor import second_factor_redirect
from registry.models import MemberState, User
from registry.selectors import in_language

QUEUE_PAGE_SIZE = 50
AGE_CHOICES = (7, 14, 30, 60)
Status = Application.Status


def official_required(view):
    """Signed in as a reviewer or the secretariat, in a session their authenticator app
    confirmed (else sent to set one up or to type its code, and back): the workspace is
    theirs."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.user.role not in (User.Role.REVIEWER, User.Role.SECRETARIAT):
            raise PermissionDenied(_("These pages are for the national authorities' reviewers."))
        return second_factor_redirect(request) or view(request, *args, **kwargs)

    return wrapped


class QueueFilter(forms.AccessibleForm, django_forms.Form):
    is_filter = True  # its fields are all optional: the page does not say so on each
    view = django_forms.ChoiceField(
        label=gettext_lazy("Show"),
        required=False,
        choices=list(selectors.QUEUE_VIEW_LABELS.items()),
    )
    chapter = django_forms.RegexField(
        label=gettext_lazy("HS chapter"),
        required=False,
        regex=r"^\d{2}$",
        max_length=2,
        error_messages={"invalid": gettext_lazy("An HS chapter is two digits, e.g. 61.")},
        widget=django_forms.TextInput(attrs={"inputmode": "numeric", "class": "width-short"}),
    )
    older_than = django_forms.TypedChoiceField(
        label=gettext_lazy("Waiting for"), required=False, coerce=int, empty_value=None
    )
    # The secretariat's only: it reads every state's queue.
    state = django_forms.ChoiceField(label=gettext_lazy("Member state"), required=False)

    def __init__(self, *args, all_states=False, **kwargs):
        self.all_states = all_states
        super().__init__(*args, **kwargs)

    def setup_fields(self):
        self.fields["older_than"].choices = [("", _("any time"))] + [
            (days, _("more than %(days)d days") % {"days": days}) for days in AGE_CHOICES
        ]
        if self.all_states:
            self.fields["state"].choices = [("", _("every state"))] + [
                (state.code, f"{state.local_name} ({state.code})")
                for state in MemberState.objects.order_by("code")
            ]
        else:
            del self.fields["state"]


@official_required
def queue(request):
    all_states = request.user.role == User.Role.SECRETARIAT
    form = QueueFilter(request.GET or None, all_states=all_states)
    criteria = form.cleaned_data if form.is_bound and form.is_valid() else {}
    view = criteria.get("view") or "waiting"
    state = criteria.get("state")
    now = timezone.now()
    applications = selectors.review_queue(
        request.user,
        view=view,
        chapter=criteria.get("chapter"),
        older_than_days=criteria.get("older_than"),
        state=state,
        now=now,
    )
    page, query = page_of(request, applications, QUEUE_PAGE_SIZE)
    _prepare_rows(page, now)
    context = {
        "form": form,
        "page": page,
        "view": view,
        "view_label": selectors.QUEUE_VIEW_LABELS[view],
        "query": query,
        "all_states": all_states,
        "state_label": dict(form.fields["state"].choices)[state] if state else "",
    }
    return render(request, "workspace/queue.html", context, status=400 if form.errors else 200)


# What each row of the queue shows, worked out once per row in Python: a page holds 50
# rows, and per-row template tags ({% url %}, {% blocktranslate %}, includes) were most
# of its rendering time (bench/review_queue.py).
TONES = {
    Status.APPROVED: "ok",
    Status.REJECTED: "bad",
    Status.CHANGES_REQUESTED: "bad",
    Status.WITHDRAWN: "muted-tag",
}


def _prepare_rows(page, now):
    url = reverse("workspace:application", args=[0])[: -len("0/")] + "{}/"
    for application in page:
        age = selectors.age_in_days(application, now)
        application.age = age
        application.url = url.format(application.pk)
        application.label = _("No. %(id)s") % {"id": application.pk}
        application.waiting = ngettext("%(days)d day", "%(days)d days", age) % {"days": age}
        application.since = _("since %(day)s") % {
            "day": date_format(application.submitted_at, "DATE_FORMAT")
        }
        application.status_tone = TONES.get(application.status, "warn")


def _application(user, application_id):
    application = (
        policy.applications_visible_to(user)
        .select_related(
            "producer__member_state__authority",
            "producer__verified_by",
            "member_state",
            "renews",
            "reviewer",
            "decided_by",
            "certificate",
        )
        .filter(pk=application_id)
        .first()
    )
    if application is None:
        raise Http404(_("No such application."))
    return application


class DecisionForm(forms.AccessibleForm, django_forms.Form):
    comment = django_forms.CharField(
        label=gettext_lazy("Comment"),
        required=False,
        max_length=5000,
        widget=django_forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, action, application, **kwargs):
        self.action = action
        self.application = application
        super().__init__(*args, prefix=action.replace(" ", "-"), **kwargs)

    def setup_fields(self):
        # Before AccessibleForm links the hint to the field (aria-describedby).
        field = self.fields["comment"]
        # Whether the comment is needed is the service's rule; the field says so (and is
        # not marked optional), with the service's own words when it is missing.
        field.required = services.comment_needed(self.application, self.action)
        if field.required:
            field.error_messages["required"] = services.COMMENT_NEEDED[self.action]
        if self.action == "request changes":
            field.label = _("What needs to change")
            field.help_text = _("The manufacturer reads this. Say what to correct or add.")
        elif self.action == "reject":
            field.label = _("Reason for the rejection")
            field.help_text = _("The manufacturer reads this.")
        elif self.action == "approve":
            if field.required:
                field.label = _("Why you approve although the origin check fails")
                field.help_text = _(
                    "Approving against the engine's verdict needs a written reason. "
                    "The secretariat sees it."
                )
            else:
                field.label = _("Comment")
                field.help_text = _("The manufacturer reads it.")


DECISIONS = {
    "start review": services.application_start_review,
    "request changes": services.application_request_changes,
    "reject": services.application_reject,
    "approve": services.application_approve,
}
DONE = {
    "start review": gettext_lazy("You are reviewing this application."),
    "request changes": gettext_lazy("Changes are requested; the manufacturer is told."),
    "reject": gettext_lazy("The application is rejected; the manufacturer is told."),
    "approve": gettext_lazy("Approved: certificate %(number)s is issued."),
}


def _decision_forms(user, application, bound=None):
    """The decision forms the user may use on the application now, by action."""
    try:
        policy.ensure_can_decide(user, application)
    except DomainError:
        return {}
    found = {}
    for action in DECISIONS:
        if services.application_allows(application, action):
            if bound is not None and bound.action == action:
                found[action] = bound
            else:
                found[action] = DecisionForm(action=action, application=application)
    return found


@official_required
def application_detail(request, application_id, bound=None, status=200):
    application = _application(request.user, application_id)
    snapshot = application.product_snapshot or {}
    decision_forms = _decision_forms(request.user, application, bound)
    context = {
        "application": application,
        "producer": application.producer,
        "product": snapshot,
        "materials": snapshot.get("materials", []),
        "assessment": in_language(application.assessment),
        "documents": application.documents.all(),
        "history": selectors.application_history(application),
        "decision_forms": decision_forms,
        "form": bound,  # for the error summary
        "age": selectors.age_in_days(application),
        "certificate": getattr(application, "certificate", None),
    }
    return render(request, "workspace/application.html", context, status=status)


def _nothing_changed(request, application, state):
    messages.error(
        request,
        _(
            "Nothing was changed: the application is %(state)s now (someone may have "
            "acted on it just before you)."
        )
        % {"state": Application.Status(state).label.lower()},
    )
    return redirect("workspace:application", application_id=application.pk)


@official_required
@require_POST
def application_decide(request, application_id, action):
    action = action.replace("-", " ")
    if action not in DECISIONS:
        raise Http404
    application = _application(request.user, application_id)
    # In the documented order: who may decide (403), then the state (409 as a message),
    # then the input (400); the service checks all again under its lock.
    try:
        policy.ensure_can_decide(request.user, application)
    except DomainPermissionDenied as error:
        raise PermissionDenied(error.message) from error
    if not services.application_allows(application, action):
        return _nothing_changed(request, application, application.status)
    form = DecisionForm(request.POST, action=action, application=application)
    if not form.is_valid():
        return application_detail(request, application.pk, bound=form, status=400)
    kwargs = {}
    if action != "start review":
        kwargs["comment"] = form.cleaned_data["comment"]
    try:
        DECISIONS[action](actor=request.user, application_id=application.pk, **kwargs)
    except NotFound as error:
        raise Http404 from error
    except DomainPermissionDenied as error:
        raise PermissionDenied(error.message) from error
    except TransitionNotAllowed as error:
        # Most often another reviewer acted first: say so, change nothing.
        return _nothing_changed(request, application, error.current)
    except DomainError as error:
        form.add_domain_error(error)
        return application_detail(request, application.pk, bound=form, status=400)
    certificate = Certificate.objects.filter(application=application).first()
    messages.success(request, str(DONE[action]) % {"number": getattr(certificate, "number", "")})
    return redirect("workspace:application", application_id=application.pk)


@official_required
def document(request, application_id, document_id):
    return serve_document(_application(request.user, application_id), document_id)
