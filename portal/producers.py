"""Producers in the manufacturer portal: the caller's producers, registering one, its page
with the members, editing it and inviting another member. Every read goes through the
policy's visible set (another producer is "not found"), every write through
certification/workflow/services.py."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from certification.core import policy
from certification.exceptions import Conflict, DomainError, NotFound
from certification.workflow import services
from portal import forms
from registry.models import ProducerMembership, User


def manufacturer_required(view):
    """Signed in, as a manufacturer: the portal's pages are theirs."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.user.role != User.Role.MANUFACTURER:
            raise PermissionDenied(_("These pages are for manufacturer accounts."))
        return view(request, *args, **kwargs)

    return wrapped


def _producer(user, producer_id):
    producer = (
        policy.producers_visible_to(user)
        .select_related("member_state")
        .filter(pk=producer_id)
        .first()
    )
    if producer is None:
        raise Http404(_("No such producer."))
    return producer


@manufacturer_required
def producer_list(request):
    producers = (
        policy.producers_visible_to(request.user)
        .select_related("member_state")
        .order_by("legal_name")
    )
    return render(request, "portal/producers/list.html", {"producers": producers})


@manufacturer_required
@require_http_methods(["GET", "POST"])
def producer_create(request):
    form = forms.ProducerForm(request.POST or None)
    duplicate = False
    if request.method == "POST" and form.is_valid():
        try:
            producer = services.producer_register(actor=request.user, data=form.cleaned_data)
        except DomainError as error:
            duplicate = isinstance(error, Conflict)
            form.add_domain_error(error)
        else:
            messages.success(request, _("The producer is registered."))
            return redirect("portal:producer", producer_id=producer.pk)
    status = 400 if form.is_bound and form.errors else 200
    context = {"form": form, "duplicate": duplicate}
    return render(request, "portal/producers/form.html", context, status=status)


@manufacturer_required
@require_http_methods(["GET", "POST"])
def producer_edit(request, producer_id):
    producer = _producer(request.user, producer_id)
    initial = {field: getattr(producer, field) for field in services.PRODUCER_EDITABLE_FIELDS}
    form = forms.ProducerForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.producer_update(
                actor=request.user, producer_id=producer.pk, data=form.cleaned_data
            )
        except NotFound as error:
            raise Http404 from error
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("The producer is saved."))
            return redirect("portal:producer", producer_id=producer.pk)
    status = 400 if form.is_bound and form.errors else 200
    context = {"form": form, "producer": producer}
    return render(request, "portal/producers/form.html", context, status=status)


@manufacturer_required
def producer_detail(request, producer_id, invite_form=None, status=200):
    producer = _producer(request.user, producer_id)
    memberships = (
        ProducerMembership.objects.filter(producer=producer)
        .select_related("user", "invited_by")
        .order_by("created_at")
    )
    context = {
        "producer": producer,
        "memberships": memberships,
        "invite_form": invite_form or forms.InviteForm(),
        "form": invite_form,  # for the error summary
    }
    return render(request, "portal/producers/detail.html", context, status=status)


@manufacturer_required
@require_POST
def producer_invite(request, producer_id):
    producer = _producer(request.user, producer_id)
    form = forms.InviteForm(request.POST)
    if form.is_valid():
        try:
            membership = services.producer_invite_member(
                actor=request.user, producer_id=producer.pk, email=form.cleaned_data["email"]
            )
        except NotFound as error:
            raise Http404 from error
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(
                request,
                _("%(email)s is now a member of %(producer)s.")
                % {"email": membership.user.email, "producer": producer.legal_name},
            )
            return redirect("portal:producer", producer_id=producer.pk)
    return producer_detail(request, producer.pk, invite_form=form, status=400)
