import pytest
from rest_framework.test import APIClient

from tests.credentials import api_key


def client_for(user=None, **token):
    """An API client with a new token of `user` (a reviewer's or the secretariat's with an
    authenticator app, unless second_factor=False), or none."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user, **token)}")
    return client


@pytest.fixture
def api():
    return client_for


def assert_error(response, status, code=None, fields=()):
    """The error body shape of docs/api.md, with the status and code expected."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
    for field in fields:
        assert field in body["error"]["fields"], body
    return body["error"]
