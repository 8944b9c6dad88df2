"""The reviewers' workspace: the producers of the reviewer's state (searched by name or tax
id, filtered by whether their identity is attested) and the producer's page with its
details, its attestation, members, products, applications and certificates, and the form
to attest its identity.

Producers of another state are "not found"; only a reviewer of the producer's state
attests (services.producer_attest, once). The secretariat reads every state's producers
and attests none."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from certification import selectors
from certification.core import policy
from certification.exceptions import DomainError, NotFound
from certification.exceptions import PermissionDenied as DomainPermissionDenied
from certification.workflow import services
from portal.paging import page_of
from portal.workspace import official_required
from portal.workspace_lists import SearchForm, filter_choice, render_list

# The rows of each list on a producer's page (its products, applications, certificates).
SECTION_PAGE_SIZE = 20


class ProducerFilter(SearchForm):
    Q_LABEL = gettext_lazy("Name or tax id")

    attested = filter_choice(
        gettext_lazy("Identity"),
        gettext_lazy("attested or not"),
        selectors.PRODUCER_ATTESTED_CHOICES,
    )


@official_required
def producer_list(request):
    form = ProducerFilter(request.GET or None)
    producers = selectors.workspace_producers(request.user, **form.criteria())
    return render_list(request, form, producers, "workspace/producers.html")


def _producer(user, producer_id):
    producer = selectors.workspace_producer(user, producer_id)
    if producer is None:
        raise Http404(_("No such producer."))
    return producer


def _may_attest(user, producer):
    if producer.verified_at is not None:
        return False
    try:
        policy.ensure_can_attest(user, producer)
    except DomainError:
        return False
    return True


@official_required
def producer_detail(request, producer_id):
    producer = _producer(request.user, producer_id)
    overview = selectors.producer_overview(request.user, producer)
    context = {
        "producer": producer,
        "may_attest": _may_attest(request.user, producer),
        "attested_on": selectors.day_in_state(producer.member_state, producer.verified_at),
        "memberships": overview["memberships"],
    }
    # Its products, applications and certificates: each list a page at a time, each with
    # its own page number in the query string.
    for name in ("products", "applications", "certificates"):
        page, query = page_of(request, overview[name], SECTION_PAGE_SIZE, f"{name}_page")
        context[name], context[f"{name}_query"] = page, query
    selectors.with_standing(context["certificates"])
    return render(request, "workspace/producer.html", context)


@official_required
@require_POST
def producer_attest(request, producer_id):
    producer = _producer(request.user, producer_id)
    try:
        services.producer_attest(actor=request.user, producer_id=producer.pk)
    except NotFound as error:
        raise Http404 from error
    except DomainPermissionDenied as error:
        raise PermissionDenied(error.message) from error
    except DomainError as error:  # attested already (by a colleague, a moment ago?)
        messages.error(request, _("Nothing was changed: %(reason)s") % {"reason": error.message})
    else:
        messages.success(
            request,
            _("You attested the identity of %(name)s.") % {"name": producer.legal_name},
        )
    return redirect("workspace:producer", producer_id=producer.pk)
