"""The public register's pages, under /registry/: the search of certified products, a
product's and a producer's page, and the open data export (CSV, JSON). Anyone may read
them, signed in or not. What is listed, how it is searched and what the export holds are
certification/register's; these views read the request and render."""

import hashlib

from django import forms as django_forms
from django.http import Http404, HttpResponseNotModified, StreamingHttpResponse
from django.shortcuts import render
from django.utils.http import http_date, parse_http_date_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from certification.core import lifecycle
from certification.register import export, search
from portal import forms
from registry.models import MemberState
from registry.nomenclature import SECTION_NAMES

STATUS_LABELS = {
    lifecycle.VALID: gettext_lazy("Valid"),
    lifecycle.NOT_YET_VALID: gettext_lazy("Not yet valid"),
    lifecycle.EXPIRED: gettext_lazy("Expired"),
    lifecycle.SUSPENDED: gettext_lazy("Suspended"),
    lifecycle.REVOKED: gettext_lazy("Revoked"),
}
SORT_LABELS = {
    search.RELEVANCE: gettext_lazy("Best match"),
    search.DATE: gettext_lazy("Newest first"),
}


class SearchForm(forms.AccessibleForm, django_forms.Form):
    q = django_forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        max_length=200,
        help_text=gettext_lazy(
            "Product, producer or trade name, or the goods' HS description; Latin or "
            "Cyrillic letters."
        ),
        widget=django_forms.TextInput(attrs={"type": "search", "spellcheck": "false"}),
    )
    state = django_forms.MultipleChoiceField(
        label=gettext_lazy("Member state"),
        required=False,
        widget=django_forms.CheckboxSelectMultiple,
    )
    section = django_forms.ChoiceField(label=gettext_lazy("HS section"), required=False)
    hs = django_forms.RegexField(
        label=gettext_lazy("HS chapter, heading or subheading"),
        required=False,
        regex=r"^(\d{2}|\d{4}|\d{6})$",
        help_text=gettext_lazy("2, 4 or 6 digits, e.g. 61 or 6109."),
        error_messages={
            "invalid": gettext_lazy(
                "Give an HS chapter (2 digits), heading (4) or subheading (6), e.g. 6109."
            )
        },
        widget=django_forms.TextInput(
            attrs={"inputmode": "numeric", "class": "width-short", "autocomplete": "off"}
        ),
    )
    status = django_forms.MultipleChoiceField(
        label=gettext_lazy("Certificate status"),
        required=False,
        choices=list(STATUS_LABELS.items()),
        widget=django_forms.CheckboxSelectMultiple,
    )
    sort = django_forms.ChoiceField(
        label=gettext_lazy("Order"),
        required=False,
        choices=list(SORT_LABELS.items()),
        widget=django_forms.RadioSelect,
    )

    def setup_fields(self):
        self.fields["state"].choices = sorted(
            ((s.code, s.local_name) for s in MemberState.objects.all()), key=lambda c: c[1]
        )
        self.fields["section"].choices = [("", _("Any section"))] + [
            (numeral, f"{numeral} · {name}") for numeral, name in SECTION_NAMES.items()
        ]

    def criteria(self):
        data = self.cleaned_data
        return search.Criteria(
            q=data.get("q") or "",
            states=tuple(data.get("state") or ()),
            section=data.get("section") or "",
            hs=data.get("hs") or "",
            statuses=tuple(data.get("status") or (lifecycle.VALID,)),
            sort=data.get("sort") or search.RELEVANCE,
        )


def _form(request):
    """The bound search form (its defaults when the request has no filter) and its criteria,
    None when the input is not valid."""
    data = request.GET.copy()
    data.pop("after", None)
    if not data.get("status"):
        data.setlist("status", [lifecycle.VALID])
    if not data.get("sort"):
        data["sort"] = search.RELEVANCE
    form = SearchForm(data)
    return form, form.criteria() if form.is_valid() else None


def _query(request, *, without=("after",)):
    query = request.GET.copy()
    for name in without:
        query.pop(name, None)
    return query.urlencode()


def _filtered(criteria):
    """Whether the criteria differ from the defaults in anything but the words."""
    return criteria != search.Criteria(q=criteria.q)


@require_safe
def search_page(request):
    form, criteria = _form(request)
    page = search.search(criteria, after=request.GET.get("after")) if criteria else None
    context = {
        "form": form,
        "page": page,
        "criteria": criteria,
        "status_labels": STATUS_LABELS,
        "query": _query(request),
        "paged": bool(request.GET.get("after")),
        "filters_open": bool(form.errors) or (criteria and _filtered(criteria)),
        "licence_name": export.LICENCE,
        "licence_url": export.LICENCE_URL,
    }
    return render(request, "registry/search.html", context, status=400 if form.errors else 200)


@require_safe
def product_page(request, product_id):
    entries = search.product_entries(product_id)
    if not entries:
        raise Http404(_("No certified product has this number."))
    context = {
        "entries": entries,
        "product": entries[0],
        "section_title": SECTION_NAMES.get(entries[0].hs_section, ""),
        "status_labels": STATUS_LABELS,
    }
    return render(request, "registry/product.html", context)


@require_safe
def producer_page(request, producer_id):
    entries = search.producer_entries(producer_id)
    if not entries:
        raise Http404(_("No producer with certified products has this number."))
    context = {"entries": entries, "producer": entries[0], "status_labels": STATUS_LABELS}
    return render(request, "registry/producer.html", context)


EXPORTS = {
    "csv": ("text/csv; charset=utf-8", export.csv_lines),
    "json": ("application/json", export.json_chunks),
}


@require_safe
def export_file(request, format):
    """The open data file: the register for the search's criteria, streamed, with a
    validator from the register's last change (304 when the client has it already)."""
    form, criteria = _form(request)
    if criteria is None:
        return render(request, "registry/search.html", {"form": form}, status=400)
    changed = search.last_modified()
    version = int(changed.timestamp() * 1_000_000) if changed else 0
    # What the file's rows depend on: not the page's order (the file is newest first
    # whatever `sort` says), nor the order the statuses or states were given in.
    asked = hashlib.sha256(repr(search.rows_key(criteria)).encode()).hexdigest()[:16]
    # Weak: the same rows, but not the same bytes (the JSON's generated_at differs).
    etag = f'W/"{format}-{version}-{asked}"'
    last_modified = http_date(changed.timestamp()) if changed else None
    if _not_modified(request, etag, changed):
        response = HttpResponseNotModified()
    else:
        content_type, chunks = EXPORTS[format]
        response = StreamingHttpResponse(chunks(criteria), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="mca-register.{format}"'
    response["ETag"] = etag
    if last_modified:
        response["Last-Modified"] = last_modified
    response["Link"] = f'<{export.LICENCE_URL}>; rel="license"'
    response["X-Licence"] = export.LICENCE_LINE
    response["Cache-Control"] = "public, max-age=60"
    return response


def _not_modified(request, etag, changed):
    tags = request.headers.get("If-None-Match")
    if tags is not None:
        # The weak comparison (RFC 9110, 13.1.2): W/ aside, the tags are equal.
        tags = [_opaque(tag) for tag in tags.split(",")]
        return _opaque(etag) in tags or "*" in tags
    since = request.headers.get("If-Modified-Since")
    if since and changed is not None:
        moment = parse_http_date_safe(since)
        return moment is not None and int(changed.timestamp()) <= moment
    return False


def _opaque(tag):
    return tag.strip().removeprefix("W/")
