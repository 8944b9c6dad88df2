import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def client_for(user=None):
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
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
