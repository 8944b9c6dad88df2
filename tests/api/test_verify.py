"""Customs verification over HTTP and the JWKS a customs system checks tokens against."""

import base64
import json

import jwt
import pytest

from certification.core.numbering import format_number
from certification.models import Application
from certification.verification import signing
from tests.api.conftest import assert_error, client_for
from tests.certification.conftest import Flow
from tests.certification.test_verification import VERIFY_KEYS
from tests.factories import CustomsFactory, ReviewerFactory, SecretariatFactory

S = Application.Status


@pytest.fixture
def flow(db):
    return Flow("UZ")


@pytest.fixture
def certificate(flow):
    return flow.application(S.APPROVED).certificate


@pytest.fixture
def customs_api(db):
    return client_for(CustomsFactory())


def _verify(client, number):
    return client.get(f"/api/v1/certificates/{number}/verify/")


def _bulk(client, numbers):
    return client.post("/api/v1/certificates/verify/", {"numbers": numbers}, format="json")


def _mistyped(number):
    return number[:-2] + f"{(int(number[-2:]) + 1) % 100:02d}"


def _jwks(client=None):
    response = (client or client_for()).get("/.well-known/jwks.json")
    assert response.status_code == 200
    return response.json()


def _decode_with_jwks(token, jwks):
    """What a customs system does offline: PyJWT and the published key set only."""
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWKSet.from_dict(jwks)[kid]
    return jwt.decode(token, key=key.key, algorithms=["EdDSA"])


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(segment):
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


# --- single ----------------------------------------------------------------------------------


def test_customs_verify_a_certificate(flow, certificate, customs_api):
    response = _verify(customs_api, certificate.number)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == VERIFY_KEYS
    assert body["number"] == certificate.number
    assert body["status"] == "valid"
    assert body["product"] == {"name": flow.product.name, "hs_code": flow.product.hs_code}
    assert body["producer"] == {
        "name": flow.producer.legal_name,
        "country": "UZ",
        "tax_id": flow.producer.tax_id,
    }
    assert body["issuing_authority"]["code"] == "UZ"
    assert body["issuing_authority"]["name"] == flow.state.authority.name
    assert body["token"] == certificate.token


@pytest.mark.parametrize(
    "make_user",
    [
        lambda: ReviewerFactory(member_state_id="KZ"),  # any state's reviewer
        lambda: ReviewerFactory(member_state_id="UZ"),
        SecretariatFactory,
        lambda: CustomsFactory(member_state_id="AZ"),
    ],
)
def test_reviewers_secretariat_and_customs_of_any_state_verify(certificate, make_user):
    response = _verify(client_for(make_user()), certificate.number)
    assert response.status_code == 200, response.content


def test_manufacturers_are_refused_and_anonymous_callers_must_authenticate(flow, certificate):
    assert_error(_verify(client_for(flow.member), certificate.number), 403, "permission_denied")
    assert_error(_bulk(client_for(flow.member), [certificate.number]), 403, "permission_denied")
    assert_error(_verify(client_for(), certificate.number), 401, "not_authenticated")
    assert_error(_bulk(client_for(), [certificate.number]), 401, "not_authenticated")


def test_lower_case_is_accepted(certificate, customs_api):
    response = _verify(customs_api, certificate.number.lower())
    assert response.status_code == 200
    assert response.json()["number"] == certificate.number


def test_check_digit_typo_is_invalid_number(certificate, customs_api):
    error = assert_error(_verify(customs_api, _mistyped(certificate.number)), 400, "invalid_number")
    assert "mistyped" in error["message"]
    assert error["fields"]["number"]


@pytest.mark.parametrize(
    "text, reason",
    [
        ("MCA-UZ-26-000123-97", "shape"),
        ("MCA-RU-2026-000123-97", "member state"),
        ("MCA-UZ-2026-000000-97", "000000"),
    ],
)
def test_malformed_numbers_are_invalid_number_with_the_reason(customs_api, text, reason):
    error = assert_error(_verify(customs_api, text), 400, "invalid_number")
    assert reason in error["message"]


def test_unknown_number_is_404(customs_api):
    assert_error(_verify(customs_api, format_number("TM", 2026, 77)), 404, "not_found")


def test_revoke_then_verify_shows_revoked_at_once(flow, certificate, customs_api):
    reviewer = client_for(flow.reviewer)
    response = reviewer.post(
        f"/api/v1/certificates/{certificate.number}/revoke/",
        {"reason": "Origin not proven"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert _verify(customs_api, certificate.number).json()["status"] == "revoked"
    assert _bulk(customs_api, [certificate.number]).json()["results"][0]["status"] == "revoked"


def test_single_verify_costs_a_constant_number_of_queries(
    flow, certificate, customs_api, django_assert_num_queries
):
    # Through Django (the test client): one for the API token, one for the certificate. In
    # production config/wsgi.py answers a token's GET in one (tests/api/test_fastpath.py).
    _verify(customs_api, certificate.number)
    with django_assert_num_queries(2):
        assert _verify(customs_api, certificate.number).status_code == 200
    with django_assert_num_queries(2):
        assert _verify(customs_api, format_number("KG", 2026, 5)).status_code == 404
    with django_assert_num_queries(1):  # a typo never reaches the certificates
        assert _verify(customs_api, _mistyped(certificate.number)).status_code == 400


# --- bulk ------------------------------------------------------------------------------------


def test_bulk_keeps_order_with_valid_unknown_invalid_and_duplicates(flow, certificate, customs_api):
    other = flow.application(S.APPROVED, product=flow.make_product()).certificate
    unknown = format_number("KZ", 2026, 123456)
    typo = _mistyped(other.number)
    numbers = [other.number, unknown, typo, certificate.number.lower(), other.number, "junk"]
    response = _bulk(customs_api, numbers)
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(r["number"], r["status"]) for r in results] == [
        (other.number, "valid"),
        (unknown, "not_found"),
        (typo, "invalid_number"),
        (certificate.number, "valid"),
        (other.number, "valid"),
        ("junk", "invalid_number"),
    ]
    assert set(results[0]) == VERIFY_KEYS
    assert set(results[1]) == {"number", "status"}
    assert "mistyped" in results[2]["message"]


def test_bulk_costs_a_constant_number_of_queries(
    flow, certificate, customs_api, django_assert_num_queries
):
    few = [certificate.number]
    many = [certificate.number] * 500 + [format_number("TJ", 2026, n) for n in range(1, 501)]
    _bulk(customs_api, few)
    with django_assert_num_queries(2):
        assert len(_bulk(customs_api, few).json()["results"]) == 1
    with django_assert_num_queries(2):
        assert len(_bulk(customs_api, many).json()["results"]) == 1000


@pytest.mark.parametrize(
    "body",
    [
        {"numbers": []},
        {"numbers": ["MCA-UZ-2026-000123-97"] * 1001},
        {"numbers": "MCA-UZ-2026-000123-97"},
        {"numbers": [None]},
        {"numbers": [{"number": "x"}]},
        {},
    ],
)
def test_bulk_refuses_a_malformed_request(customs_api, body):
    response = customs_api.post("/api/v1/certificates/verify/", body, format="json")
    assert_error(response, 400, "validation_error", fields=["numbers"])


def test_bulk_route_is_not_taken_for_a_certificate_number(customs_api):
    # "certificates/verify/" must not reach the certificate detail view as number "verify".
    response = customs_api.get("/api/v1/certificates/verify/")
    assert_error(response, 405, "method_not_allowed")


# --- JWKS and tokens ---------------------------------------------------------------------


def test_jwks_is_public_cacheable_and_publishes_public_keys_only(certificate):
    response = client_for().get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "public" in response["Cache-Control"] and "max-age=" in response["Cache-Control"]
    assert response["Access-Control-Allow-Origin"] == "*"
    keys = response.json()["keys"]
    assert certificate.key_id in {key["kid"] for key in keys}
    for key in keys:
        assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}
        assert [key[name] for name in ("kty", "crv", "alg", "use")] == [
            "OKP",
            "Ed25519",
            "EdDSA",
            "sig",
        ]
        assert len(_unb64(key["x"])) == 32 and "=" not in key["x"]
    again = client_for().get("/.well-known/jwks.json", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_token_from_verify_checks_with_pyjwt_against_the_jwks_endpoint(certificate, customs_api):
    token = _verify(customs_api, certificate.number).json()["token"]
    claims = _decode_with_jwks(token, _jwks())
    assert claims["sub"] == certificate.number
    assert claims["iss"] == "UZ"
    assert claims["hs"] == certificate.product_snapshot["hs_code"]
    assert claims["tin"] == certificate.producer_snapshot["tax_id"]


def test_one_changed_claim_is_rejected(certificate):
    header, payload, signature = certificate.token.split(".")
    claims = json.loads(_unb64(payload))
    claims["hs"] = "620520"
    tampered = ".".join([header, _b64(json.dumps(claims).encode()), signature])
    with pytest.raises(jwt.InvalidSignatureError):
        _decode_with_jwks(tampered, _jwks())
    with pytest.raises(signing.TokenInvalid):
        signing.verify_token(tampered)


def test_a_signature_by_another_states_key_is_rejected(certificate):
    header, payload, _signature = certificate.token.split(".")
    kz_kid, kz_key = signing.active_key("KZ")
    # Signed with Kazakhstan's key but naming Uzbekistan's key id: the signature fails.
    forged = jwt.PyJWS().encode(
        _unb64(payload), kz_key, algorithm="EdDSA", headers={"kid": certificate.key_id}
    )
    with pytest.raises(jwt.InvalidSignatureError):
        _decode_with_jwks(forged, _jwks())
    # Naming Kazakhstan's own key: the signature holds, but Kazakhstan cannot issue for UZ.
    honest_kid = jwt.PyJWS().encode(
        _unb64(payload), kz_key, algorithm="EdDSA", headers={"kid": kz_kid}
    )
    assert _decode_with_jwks(honest_kid, _jwks())["iss"] == "UZ"
    assert jwt.get_unverified_header(honest_kid)["kid"].startswith("kz-")
    with pytest.raises(signing.TokenInvalid) as excinfo:
        signing.verify_token(honest_kid)
    assert excinfo.value.code == "issuer_mismatch"


def test_rotation_keeps_old_tokens_verifiable(flow, certificate, customs_api):
    old_kid = certificate.key_id
    new_kid = signing.rotate_key("UZ")
    jwks = _jwks()
    assert {old_kid, new_kid} <= {key["kid"] for key in jwks["keys"]}
    assert _decode_with_jwks(certificate.token, jwks)["sub"] == certificate.number
    renewed = flow.application(S.APPROVED, product=flow.make_product()).certificate
    assert renewed.key_id == new_kid
    assert _decode_with_jwks(_verify(customs_api, renewed.number).json()["token"], jwks)


def test_schema_docs_and_jwks_answer_without_a_token(db, settings):
    # With DEBUG off (DATABASE_URL set) static files come from collectstatic's manifest,
    # which a test run does not build.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    anonymous = client_for()
    schema = anonymous.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    single = paths["/api/v1/certificates/{number}/verify/"]["get"]
    bulk = paths["/api/v1/certificates/verify/"]["post"]
    assert {"200", "400", "401", "403", "404", "429"} <= set(single["responses"])
    assert {"200", "400", "401", "403", "429"} <= set(bulk["responses"])
    assert anonymous.get("/api/v1/docs/").status_code == 200
    assert anonymous.get("/.well-known/jwks.json").status_code == 200


def test_bulk_answers_odd_strings_and_json_numbers_item_by_item(customs_api):
    for body in ('{"numbers": ["MCA-\\ud83d-2026", "\\u0000", "ok"]}', '{"numbers": [123]}'):
        response = customs_api.post(
            "/api/v1/certificates/verify/", body, content_type="application/json"
        )
        assert response.status_code == 200, response.content
        assert {r["status"] for r in response.json()["results"]} == {"invalid_number"}
