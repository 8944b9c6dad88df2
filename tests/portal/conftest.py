import pytest

from tests.certification.conftest import Flow
from tests.factories import CustomsFactory, ReviewerFactory, SecretariatFactory


def text(response):
    """The page's HTML, for asserting what the user reads."""
    return response.content.decode()


@pytest.fixture
def flow(db):
    """A producer in Uzbekistan with one member, the state's reviewer and a product that
    qualifies (tests/certification/conftest.py)."""
    return Flow("UZ")


@pytest.fixture
def holder(client, flow):
    """The test client, signed in as the flow's producer's member."""
    client.force_login(flow.member)
    return client


# --- The reviewers' workspace (tests/portal/test_workspace_*.py) ---------------------------


@pytest.fixture
def reviewing(client, flow):
    """The test client, signed in as the flow's state's reviewer."""
    client.force_login(flow.reviewer)
    return client


def rows(page):
    """The rows of the page's (first) table body, as HTML."""
    body = page.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in page else ""
    return body.split("<tr>")[1:]


def workspace_roles(flow):
    """An account of each kind, and none: the flow's member and its state's reviewer, a
    reviewer of another state, a customs officer, the secretariat."""
    return {
        "anonymous": None,
        "manufacturer": flow.member,
        "reviewer of the state": flow.reviewer,
        "reviewer of another state": ReviewerFactory(member_state=Flow("KZ").state),
        "customs": CustomsFactory(),
        "secretariat": SecretariatFactory(),
    }


# A list of the workspace: what each role gets.
WORKSPACE_LIST_ACCESS = [
    ("anonymous", "sign in"),
    ("manufacturer", 403),
    ("reviewer of the state", "listed"),
    ("reviewer of another state", "not listed"),
    ("customs", 403),  # customs see every certificate by the policy, but not here
    ("secretariat", "listed"),
]
# A page of the workspace: its status for each role, and whether its forms are offered.
WORKSPACE_PAGE_ACCESS = [
    ("anonymous", "sign in", False),
    ("manufacturer", 403, False),  # even the holder or a member: its pages are /portal/
    ("reviewer of the state", 200, True),
    ("reviewer of another state", 404, False),
    ("customs", 403, False),
    ("secretariat", 200, False),  # reads, never changes
]
# What posting a form answers to whom the page offers no form, by the page's status.
REFUSED_POST = {"sign in": 302, 403: 403, 404: 404, 200: 403}


def assert_list_access(client, user, url, row_link, expected):
    """GET the list as `user`: sent to sign in, refused, or shown with or without the row
    linking to `row_link`."""
    if user:
        client.force_login(user)
    response = client.get(url)
    if expected == "sign in":
        assert response.status_code == 302 and response["Location"].startswith("/account/login/")
    elif expected == 403:
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        assert (row_link in text(response)) == (expected == "listed")


def page_as(client, user, url, page):
    """GET the page as `user`, expecting `page` (a status, or "sign in"); the body if shown."""
    if user:
        client.force_login(user)
    response = client.get(url)
    assert response.status_code == (302 if page == "sign in" else page)
    return text(response) if page == 200 else ""
