"""Certificates in the manufacturer portal: the list with each one's status as
verification would give it, the certificate's page (what it certifies, its verification
link and QR code, its history), the PDF once a worker has stored it, and renewal."""

import segno
from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from certification import selectors
from certification.documents import store
from certification.exceptions import DomainError, NotFound
from certification.workflow import services
from portal.paging import page_of
from portal.producers import manufacturer_required


def _certificate(user, number):
    certificate = selectors.certificate_for(user, number)
    if certificate is None:
        raise Http404(_("No such certificate."))
    return certificate


def qr_svg(url, title=None):
    """The QR code of the verification URL as inline SVG (what the PDF prints too); of
    another address (an authenticator's key) with another title."""
    svg = segno.make(url, error="m").svg_inline(
        scale=4,
        border=4,
        dark="#1b1f23",
        light="#ffffff",
        omitsize=True,
        title=title or _("QR code of the certificate's verification page"),
    )
    return mark_safe(svg)  # noqa: S308 (segno's own markup, no user text in it)


# While the PDF is prepared the page refreshes itself, a bounded number of times (a worker
# that is down must not keep a screen reader starting over for ever), and the reader may
# stop it (WCAG 2.2.1).
MAX_REFRESHES = 24


def _refreshing(request, stored):
    try:
        done = max(0, min(int(request.GET.get("waited", 0)), MAX_REFRESHES))
    except ValueError:
        done = MAX_REFRESHES
    refresh = not stored and done < MAX_REFRESHES
    return {
        "refresh_seconds": store.RETRY_AFTER_SECONDS if refresh else None,
        "refresh_url": f"?waited={done + 1}",
        "stop_url": f"?waited={MAX_REFRESHES}",
        "stopped_waiting": not stored and not refresh,
    }


@manufacturer_required
def certificate_list(request):
    page, query = page_of(request, selectors.certificates_newest_first(request.user))
    selectors.with_standing(page)
    return render(request, "portal/certificates/list.html", {"page": page, "query": query})


@manufacturer_required
def certificate_detail(request, number):
    certificate = _certificate(request.user, number)
    stored = store.is_stored(certificate)
    renewal = selectors.open_renewal(certificate)
    context = {
        "certificate": certificate,
        "product": certificate.product_snapshot,
        "producer": certificate.producer_snapshot,
        "verify_url": store.verify_url(certificate),
        "qr": qr_svg(store.verify_url(certificate)),
        "pdf_ready": stored,
        **_refreshing(request, stored),
        "open_renewal": renewal,
        "renewal_problem": None if renewal else selectors.renewal_problem(certificate),
        "history": selectors.certificate_history(certificate),
    }
    return render(request, "portal/certificates/detail.html", context)


@manufacturer_required
def certificate_pdf(request, number):
    certificate = _certificate(request.user, number)
    file = store.open_stored(certificate)
    if file is None:
        messages.info(
            request,
            _("The PDF is being prepared; this page refreshes itself until it is ready."),
        )
        return redirect("portal:certificate", number=certificate.number)
    return FileResponse(file, content_type="application/pdf", filename=f"{certificate.number}.pdf")


@manufacturer_required
@require_POST
def certificate_renew(request, number):
    certificate = _certificate(request.user, number)
    try:
        application = services.application_create(
            actor=request.user,
            product_id=certificate.product_id,
            renews_number=certificate.number,
        )
    except NotFound as error:
        raise Http404 from error
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("portal:certificate", number=certificate.number)
    messages.success(
        request,
        _(
            "A renewal application is started. Check the product is still as certified, "
            "then submit it."
        ),
    )
    return redirect("portal:application", application_id=application.pk)
