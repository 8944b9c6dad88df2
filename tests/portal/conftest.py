import pytest

from tests.certification.conftest import Flow


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
