"""The manufacturer's lists (products, applications, certificates) come a page at a time,
whatever the number of rows (a CSV import makes hundreds of products): each page is one
slice of the rows in the list's order, and its links keep the filters."""

import re

import pytest

from certification.models import Application, Certificate
from portal import paging
from tests.factories import ProductFactory
from tests.portal.conftest import rows, text

pytestmark = pytest.mark.django_db
S = Application.Status


@pytest.fixture
def pages_of_two(monkeypatch):
    monkeypatch.setattr(paging, "PAGE_SIZE", 2)


def links(page, prefix):
    """The links to rows of the list's table, in their order."""
    return [re.search(rf'href="({prefix}[^"]+)"', row).group(1) for row in rows(page)]


def test_products_come_fifty_to_a_page(holder, flow):
    for number in range(51):
        ProductFactory(producer=flow.producer, name=f"Product {number:02d}")
    first = text(holder.get("/portal/products/"))
    assert len(rows(first)) == 50
    assert "Page 1 of 2" in first and 'href="?page=2" rel="next"' in first
    second = text(holder.get("/portal/products/", {"page": 2}))
    # By producer and name: the flow's own product and the 51 made here, each once.
    listed = links(first, "/portal/products/") + links(second, "/portal/products/")
    assert len(listed) == len(set(listed)) == 52
    assert ["Product 50" in row for row in rows(second)] == [False, True]
    assert 'href="?page=1" rel="prev"' in second and 'rel="next"' not in second


def test_application_pages_keep_the_status_filter(pages_of_two, holder, flow):
    drafts = [flow.application(S.DRAFT) for _ in range(3)]
    flow.application(S.SUBMITTED)
    first = text(holder.get("/portal/applications/", {"status": "draft"}))
    assert "Page 1 of 2" in first
    assert 'href="?status=draft&amp;page=2" rel="next"' in first
    second = text(holder.get("/portal/applications/", {"status": "draft", "page": "2"}))
    # Latest change first: the first draft made is the last row.
    listed = links(first, "/portal/applications/") + links(second, "/portal/applications/")
    assert listed == [f"/portal/applications/{a.pk}/" for a in reversed(drafts)]


def test_certificate_pages_give_each_row_its_status(pages_of_two, holder, flow):
    for _ in range(3):
        flow.application(S.APPROVED, product=ProductFactory(producer=flow.producer))
    newest_first = list(Certificate.objects.order_by("-issued_at", "-id"))
    first = text(holder.get("/portal/certificates/"))
    second = text(holder.get("/portal/certificates/", {"page": 2}))
    listed = links(first, "/portal/certificates/") + links(second, "/portal/certificates/")
    assert listed == [f"/portal/certificates/{c.number}/" for c in newest_first]
    assert all(">valid</span>" in row for row in rows(first) + rows(second))
    # A page number past the end shows the last page; one that is not a number, the first.
    assert rows(text(holder.get("/portal/certificates/", {"page": 9}))) == rows(second)
    assert rows(text(holder.get("/portal/certificates/", {"page": "x"}))) == rows(first)
