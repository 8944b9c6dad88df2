"""Products in the manufacturer portal: the list, one form for the product and its whole
bill of materials (rows added and removed without JavaScript), and the product's page with
its origin assessment, worked out by the engine from the saved data. Writes go through
certification/workflow/services.py; what a caller may see comes from the policy."""

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from certification import selectors
from certification.core import policy
from certification.exceptions import DomainError, NotFound
from certification.workflow import services
from portal import forms
from portal.paging import page_of
from portal.producers import manufacturer_required
from registry.models import HSCode, Material
from registry.selectors import draft_assessment, hs_codes_matching, product_assessment

BLANK_ROWS = 3  # empty material rows offered on a new product


def product_or_404(user, product_id):
    product = (
        policy.products_visible_to(user)
        .select_related("producer__member_state")
        .filter(pk=product_id)
        .first()
    )
    if product is None:
        raise Http404(_("No such product."))
    return product


@manufacturer_required
def product_list(request):
    products = (
        policy.products_visible_to(request.user)
        .select_related("producer")
        .annotate(material_count=Count("materials"))
        .order_by("producer__legal_name", "name")
    )
    page, query = page_of(request, products)
    has_producer = policy.producers_visible_to(request.user).exists()
    context = {"page": page, "query": query, "has_producer": has_producer}
    return render(request, "portal/products/list.html", context)


@manufacturer_required
def product_detail(request, product_id):
    product = product_or_404(request.user, product_id)
    materials = list(Material.objects.filter(product=product).order_by("position", "id"))
    codes = {product.hs_code, *(m.hs_code for m in materials)}
    descriptions = dict(HSCode.objects.filter(code__in=codes).values_list("code", "description"))
    for material in materials:
        material.hs_description = descriptions.get(material.hs_code, "")
    context = {
        "product": product,
        "materials": materials,
        "hs_description": descriptions.get(product.hs_code, ""),
        "assessment": product_assessment(product),
        "open_applications": selectors.open_applications_for_product(request.user, product.pk),
    }
    return render(request, "portal/products/detail.html", context)


def own_producers(request):
    """The caller's producers by name, for a new product's form; when there is none, a
    message that says to register one first (the caller then sends to producer-create)."""
    producers = list(policy.producers_visible_to(request.user).order_by("legal_name"))
    if not producers:
        messages.warning(request, _("Register your producer first: products belong to one."))
    return producers


@manufacturer_required
@require_http_methods(["GET", "POST"])
def product_create(request):
    producers = own_producers(request)
    if not producers:
        return redirect("portal:producer-create")
    initial = {"producer": request.GET.get("producer")}
    return _product_form(request, None, producers=producers, initial=initial)


@manufacturer_required
@require_http_methods(["GET", "POST"])
def product_edit(request, product_id):
    product = product_or_404(request.user, product_id)
    initial = {
        "name": product.name,
        "description": product.description,
        "hs_code": product.hs_code,
        "ex_works_price": product.ex_works_price,
        "currency": product.currency,
        "process_steps": "\n".join(product.process_steps or ()),
    }
    rows = [
        {
            "description": m.description,
            "hs_code": m.hs_code,
            "origin_country": m.origin_country or "",
            "value": m.value,
        }
        for m in Material.objects.filter(product=product).order_by("position", "id")
    ]
    return _product_form(request, product, initial=initial, rows=rows)


def _product_form(request, product, *, producers=None, initial=None, rows=()):
    editing = product is not None
    data = request.POST if request.method == "POST" else None
    if data is not None and "add_row" in data:
        # "Add a material row": the same form again with one more empty row, nothing saved.
        data = data.copy()
        data["materials-TOTAL_FORMS"] = str(int(data.get("materials-TOTAL_FORMS", 0)) + 1)
        form = forms.ProductForm(data, producers=producers, editing=editing)
        formset = forms.MaterialFormSet(data, prefix="materials")
        return _render_form(request, product, form, formset, status=200, validate=False)
    form = forms.ProductForm(data, producers=producers, editing=editing, initial=initial)
    formset = forms.MaterialFormSet(data, prefix="materials", initial=list(rows) or None)
    if data is None:
        if not editing:
            formset = forms.MaterialFormSet(prefix="materials", initial=[{}] * BLANK_ROWS)
        return _render_form(request, product, form, formset, status=200, validate=False)

    if form.is_valid() and formset.is_valid():
        # The rows already saved, and the new ones filled in; not those ticked for removal.
        kept = [
            row
            for index, row in enumerate(formset.forms)
            if (index < formset.initial_form_count() or row.has_changed())
            and not row.cleaned_data.get("DELETE")
        ]
        materials = [
            {
                "description": row.cleaned_data["description"],
                "hs_code": row.cleaned_data["hs_code"],
                "origin_country": row.cleaned_data["origin_country"] or None,
                "value": row.cleaned_data["value"],
            }
            for row in kept
        ]
        fields = {k: v for k, v in form.cleaned_data.items() if k != "producer"}
        try:
            if editing:
                saved = services.product_update(
                    actor=request.user, product_id=product.pk, data=fields, materials=materials
                )
            else:
                saved = services.product_create(
                    actor=request.user,
                    producer_id=form.cleaned_data["producer"],
                    data=fields,
                    materials=materials,
                )
        except NotFound as error:
            raise Http404 from error
        except DomainError as error:
            _place_errors(error, form, kept)
        else:
            messages.success(request, _("The product is saved. Its origin assessment is below."))
            return redirect("portal:product", product_id=saved.pk)
    return _render_form(request, product, form, formset, status=400, validate=True)


def _place_errors(error, form, rows):
    """A service's refusal on the form: the product's fields, and each material's on its
    row (the service numbers the materials as they were passed: the rows kept)."""
    fields = error.fields or {}
    material_errors = fields.get("materials") or {}
    product_errors = {name: value for name, value in fields.items() if name != "materials"}
    if product_errors or not material_errors:
        form.add_domain_error(DomainError(error.message, fields=product_errors))
    for index, row_errors in material_errors.items():
        row = rows[int(index)]
        for name, row_messages in row_errors.items():
            for message in row_messages:
                row.add_error(name if name in row.fields else None, message)
        row.mark_errors()


def _render_form(request, product, form, formset, *, status, validate):
    summary = []
    if validate:
        summary = forms.error_list(form)
        for number, row in enumerate(formset.forms, start=1):
            summary += forms.error_list(row, _("Material %(n)d:") % {"n": number})
        summary += [(None, message) for message in formset.non_form_errors()]
    context = {"form": form, "formset": formset, "product": product, "summary": summary}
    return render(request, "portal/products/form.html", context, status=status)


@manufacturer_required
@require_POST
def product_check(request):
    """The origin check of the product form as it stands, not saved: what the form's
    script shows as the manufacturer types (static/js/product-form.js). An HTML fragment;
    rows not complete yet are left out and counted."""
    form = forms.ProductForm(request.POST, editing=True)
    formset = forms.MaterialFormSet(request.POST, prefix="materials")
    form.is_valid()
    needed = ("hs_code", "ex_works_price")
    context = {"assessment": None, "skipped": 0}
    if any(name in form.errors for name in needed) or not forms.is_hs_code(
        form.cleaned_data.get("hs_code")
    ):
        return render(request, "portal/products/_live_check.html", context)
    materials = []
    for row in formset.forms if formset.is_bound and formset.management_form.is_valid() else ():
        if not row.has_changed() or (row.is_valid() and row.cleaned_data.get("DELETE")):
            continue
        if row.is_valid() and forms.is_hs_code(row.cleaned_data["hs_code"]):
            materials.append(row.cleaned_data)
        else:
            context["skipped"] += 1
    try:
        context["assessment"] = draft_assessment(form.cleaned_data, materials)
    except LookupError as error:
        context["problem"] = str(error)
    return render(request, "portal/products/_live_check.html", context)


@manufacturer_required
@require_GET
def hs_lookup(request):
    """HS subheadings matching what is typed in an HS code field, for its suggestions."""
    return JsonResponse({"results": hs_codes_matching(request.GET.get("q"))})
