"""Applications in the manufacturer portal: the list, applying for a product (a draft),
the application's page (status, origin check, documents, full history) and its
transitions: submit or resubmit, withdraw, add a supporting document. Each transition is
one service call (certification/workflow/services.py); the page offers only what the
workflow would accept (certification/selectors.py), and the service checks again."""

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from certification import selectors
from certification.exceptions import DomainError, NotFound
from certification.models import Application, ApplicationDocument
from certification.workflow import services
from portal import forms
from portal.paging import page_of
from portal.producers import manufacturer_required
from portal.products import product_or_404
from registry.selectors import in_language, product_assessment

Status = Application.Status
# What a manufacturer is told of each state, in plain words.
STATUS_HELP = {
    Status.DRAFT: gettext_lazy(
        "Not sent yet. Add supporting documents if you have them, then submit it to the "
        "national authority."
    ),
    Status.SUBMITTED: gettext_lazy("Sent to the national authority; a reviewer will pick it up."),
    Status.UNDER_REVIEW: gettext_lazy("A reviewer of the national authority is examining it."),
    Status.CHANGES_REQUESTED: gettext_lazy(
        "The reviewer asked for changes (below). Edit the product or add documents, then "
        "submit it again."
    ),
    Status.APPROVED: gettext_lazy("Approved: the certificate is issued."),
    Status.REJECTED: gettext_lazy("Rejected by the national authority (reason below)."),
    Status.WITHDRAWN: gettext_lazy("Withdrawn: it will not be reviewed."),
}


def _application(user, application_id):
    application = selectors.application_for(user, application_id)
    if application is None:
        raise Http404(_("No such application."))
    return application


def _refusal(request, error):
    """A service's refusal as a message on the page; not-found stays a 404."""
    if isinstance(error, NotFound):
        raise Http404 from error
    messages.error(request, error.message)


@manufacturer_required
def application_list(request):
    status = request.GET.get("status") or None
    if status not in Status.values:
        status = None
    page, query = page_of(request, selectors.applications_of(request.user, status))
    context = {
        "page": page,
        "query": query,
        "status": status,
        "statuses": Status.choices,
    }
    return render(request, "portal/applications/list.html", context)


@manufacturer_required
@require_POST
def application_create(request, product_id):
    product = product_or_404(request.user, product_id)
    try:
        application = services.application_create(actor=request.user, product_id=product.pk)
    except DomainError as error:
        _refusal(request, error)
        return redirect("portal:product", product_id=product.pk)
    messages.success(
        request,
        _("Your application is started as a draft. Check it, add documents, then submit it."),
    )
    return redirect("portal:application", application_id=application.pk)


@manufacturer_required
def application_detail(request, application_id, document_form=None, status=200):
    application = _application(request.user, application_id)
    # Editable while it may be submitted (again): the workflow's own table says when.
    editable = services.application_allows(application, "submit")
    # Before submission the check runs on the product as it is now; from submission on,
    # the page shows what the reviewer decides on: the snapshot.
    assessment = in_language(application.assessment)
    if editable or assessment is None:
        try:
            assessment = product_assessment(application.product)
        except LookupError:
            assessment = None
    can = {
        action: selectors.manufacturer_can(request.user, application, action)
        for action in ("submit", "withdraw", "add a document")
    }
    context = {
        "application": application,
        "status_help": STATUS_HELP[application.status],
        "assessment": assessment,
        "live_assessment": editable,
        "documents": application.documents.all(),
        "history": selectors.application_history(application),
        "can_submit": can["submit"],
        "can_withdraw": can["withdraw"],
        "can_add_document": can["add a document"],
        "document_form": document_form or forms.DocumentForm(),
        "form": document_form,  # for the error summary
        "certificate": getattr(application, "certificate", None),
        # The reviewer's last comment is the manufacturer's to read while it asks for
        # changes, and after a rejection (its reason).
        "reviewer_comment": application.last_comment
        if application.status in (Status.CHANGES_REQUESTED, Status.REJECTED)
        else "",
    }
    return render(request, "portal/applications/detail.html", context, status=status)


@manufacturer_required
@require_POST
def application_submit(request, application_id):
    application = _application(request.user, application_id)
    resubmit = application.status == Status.CHANGES_REQUESTED
    try:
        services.application_submit(actor=request.user, application_id=application.pk)
    except DomainError as error:
        _refusal(request, error)
    else:
        messages.success(
            request,
            _("Submitted again. The reviewer is told.")
            if resubmit
            else _("Submitted. The national authority is told; you get an email when it decides."),
        )
    return redirect("portal:application", application_id=application.pk)


@manufacturer_required
@require_POST
def application_withdraw(request, application_id):
    application = _application(request.user, application_id)
    try:
        services.application_withdraw(actor=request.user, application_id=application.pk)
    except DomainError as error:
        _refusal(request, error)
    else:
        messages.success(request, _("The application is withdrawn."))
    return redirect("portal:application", application_id=application.pk)


@manufacturer_required
@require_POST
def document_add(request, application_id):
    application = _application(request.user, application_id)
    form = forms.DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            document = services.document_add(
                actor=request.user, application_id=application.pk, upload=form.cleaned_data["file"]
            )
        except NotFound as error:
            raise Http404 from error
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("%(name)s is added.") % {"name": document.original_name})
            return redirect("portal:application", application_id=application.pk)
    return application_detail(request, application.pk, document_form=form, status=400)


@manufacturer_required
def document_download(request, application_id, document_id):
    return serve_document(_application(request.user, application_id), document_id)


def serve_document(application, document_id):
    """A supporting document of an application the caller may see, opened in the browser."""
    document = ApplicationDocument.objects.filter(application=application, pk=document_id).first()
    if document is None:
        raise Http404(_("No such document."))
    response = FileResponse(
        document.file.open("rb"),
        content_type=document.content_type,
        as_attachment=False,
        filename=document.original_name,
    )
    # Served as the type its content was checked to be, never sniffed as something else,
    # and sandboxed: a PDF's scripts get no access to the registry's pages.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response
