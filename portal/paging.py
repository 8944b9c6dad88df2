"""Lists shown a page at a time (the manufacturer's products, applications and certificates,
the workspace's queue, certificates and producers): ``?page=N`` picks the page, the other
query parameters (the filters) stay in the page links, and templates/includes/
pagination.html draws those links."""

from django.core.paginator import Paginator

PAGE_SIZE = 50


def page_of(request, items, size=None, param="page"):
    """(the page of `items` the request asks for, the query string of the page links
    without the page number). A page number past the end gives the last page, one that is
    not a number the first (Django's get_page). `param`: the page number's name, where one
    page shows more than one list."""
    page = Paginator(items, size or PAGE_SIZE).get_page(request.GET.get(param))
    query = request.GET.copy()
    query.pop(param, None)
    return page, query.urlencode()
