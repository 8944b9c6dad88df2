"""Lists shown a page at a time (the manufacturer's products, applications and certificates,
the workspace's queue, certificates and producers): ``?page=N`` picks the page, the other
query parameters (the filters) stay in the page links, and templates/includes/
pagination.html draws those links."""

from django.core.paginator import Paginator

PAGE_SIZE = 50


def page_of(request, items, size=None):
    """(the page of `items` the request asks for, the query string of the page links
    without the page number). A page number that is not one, or past the end, gives the
    last page (Django's get_page)."""
    page = Paginator(items, size or PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return page, query.urlencode()
