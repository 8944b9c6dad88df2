"""Customs verification over the API (docs/api.md):

    GET  /api/v1/certificates/{number}/verify/
    POST /api/v1/certificates/verify/   {"numbers": [...]}   (1 to 1000)

for customs officers, reviewers and the secretariat. The views are deliberately lean (the
verify objects are plain dicts from certification.verification.lookup, no ModelSerializer): this is
the endpoint border posts and customs systems call all day. The global authentication and
throttles apply as everywhere else. A GET with an API token is usually answered before it
gets here, with the same body and headers, by certification.api.fastpath. The serializers
below describe the schema and check the bulk request's shape; they never touch a model.
"""

import json

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from certification.api.authentication import ApiTokenAuthentication, VerifiedSessionAuthentication
from certification.api.serializers import ErrorSerializer
from certification.api.views import errors
from certification.core import policy
from certification.core.numbering import EXAMPLE, InvalidNumber
from certification.exceptions import ValidationFailed
from certification.verification import lookup

STATUSES = ["valid", "not_yet_valid", "expired", "suspended", "revoked"]


class JSONOnly(DefaultContentNegotiation):
    """These endpoints answer JSON whatever the Accept header says (no browsable API), so
    there is nothing to negotiate."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class CanVerify(BasePermission):
    message = gettext_lazy("Only customs officers and reviewers verify certificates.")

    def has_permission(self, request, view):
        return policy.can_verify_certificates(request.user)


# --- Schema ------------------------------------------------------------------------------


class _NameHs(serializers.Serializer):
    name = serializers.CharField()
    hs_code = serializers.CharField(help_text="6-digit HS code.")


class _Producer(serializers.Serializer):
    name = serializers.CharField(help_text="Legal name, as certified.")
    country = serializers.CharField(help_text="Member state (ISO 3166-1 alpha-2).")
    tax_id = serializers.CharField(
        allow_null=True, help_text="Null for an individual entrepreneur (personal data)."
    )


class _Authority(serializers.Serializer):
    code = serializers.CharField(help_text="Issuing member state.")
    name = serializers.CharField()


class VerifyResultSerializer(serializers.Serializer):
    number = serializers.CharField(help_text="Canonical form of the number.")
    status = serializers.ChoiceField(
        choices=STATUSES,
        help_text="Derived now, in the issuing state's time zone, from the stored status "
        "and the validity dates.",
    )
    valid_from = serializers.DateField()
    valid_until = serializers.DateField(help_text="Last valid day, in the issuing state.")
    product = _NameHs(help_text="As certified (snapshot taken at issue).")
    producer = _Producer(help_text="As certified (snapshot taken at issue).")
    issuing_authority = _Authority()
    origin_criterion = serializers.CharField()
    token = serializers.CharField(
        help_text="Compact JWS (EdDSA) verifiable offline against /.well-known/jwks.json. "
        "It proves authenticity, not current status."
    )
    checked_at = serializers.DateTimeField()

    class Meta:
        ref_name = "VerifyResult"


class VerifyMissSerializer(serializers.Serializer):
    number = serializers.CharField(
        help_text="Canonical form for not_found; as given for invalid_number."
    )
    status = serializers.ChoiceField(choices=[lookup.NOT_FOUND, lookup.INVALID_NUMBER])
    message = serializers.CharField(
        required=False, help_text="Why the number is invalid (invalid_number only)."
    )


class VerifyBulkSerializer(serializers.Serializer):
    numbers = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        min_length=1,
        max_length=lookup.MAX_BULK,
        help_text="1 to 1000 numbers, any letter case; duplicates allowed.",
    )


class VerifyBulkResponseSerializer(serializers.Serializer):
    results = PolymorphicProxySerializer(
        component_name="VerifyItem",
        serializers=[VerifyResultSerializer, VerifyMissSerializer],
        resource_type_field_name=None,
        many=True,
    )


_VALID_EXAMPLE = {
    "number": EXAMPLE,
    "status": "valid",
    "valid_from": "2026-03-15",
    "valid_until": "2028-03-14",
    "product": {"name": "Cotton T-shirt, knitted", "hs_code": "610910"},
    "producer": {"name": "Toshkent Textile LLC", "country": "UZ", "tax_id": "301234567"},
    "issuing_authority": {
        "code": "UZ",
        "name": "Ministry of Investment, Industry and Trade of the Republic of Uzbekistan",
    },
    "origin_criterion": "CTH",
    "token": "eyJhbGciOiJFZERTQSIsImtpZCI6InV6LTIwMjYwMzE1LTFhMmIzYzRkIn0.eyJpc3Mi...",
    "checked_at": "2026-04-02T07:31:09.512Z",
}
_INVALID_MESSAGE = "The check digits do not match: the number was probably mistyped."
_INVALID_NUMBER_RESPONSE = OpenApiResponse(
    ErrorSerializer,
    description="`invalid_number`: malformed or mistyped (check digits), with the reason.",
    examples=[
        OpenApiExample(
            "Mistyped",
            value={
                "error": {
                    "code": "invalid_number",
                    "message": f"The certificate number is not valid: {_INVALID_MESSAGE}",
                    "fields": {"number": [_INVALID_MESSAGE]},
                }
            },
        )
    ],
)


# --- Views -------------------------------------------------------------------------------


class VerifyView(APIView):
    authentication_classes = [ApiTokenAuthentication, VerifiedSessionAuthentication]
    permission_classes = [IsAuthenticated, CanVerify]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnly

    @extend_schema(
        operation_id="certificates_verify",
        summary="Verify one certificate (customs, reviewers, secretariat)",
        description="The certificate's status now, its validity, what it certifies and its "
        "signed token. Reads the primary database: a suspension or revocation shows at once.",
        tags=["certificates"],
        parameters=[
            OpenApiParameter(
                "number",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="Certificate number, any letter case.",
                examples=[OpenApiExample("Number", value=EXAMPLE)],
            )
        ],
        responses={
            200: OpenApiResponse(
                VerifyResultSerializer,
                examples=[OpenApiExample("Valid", value=_VALID_EXAMPLE)],
            ),
            400: _INVALID_NUMBER_RESPONSE,
            **errors(401, 403, 429),
            404: OpenApiResponse(
                ErrorSerializer, description="`not_found`: no certificate has this number."
            ),
        },
    )
    def get(self, request, number):
        try:
            return json_response(lookup.verify_number(number))
        except InvalidNumber as error:
            raise _invalid(error) from None


class VerifyBulkView(APIView):
    authentication_classes = [ApiTokenAuthentication, VerifiedSessionAuthentication]
    permission_classes = [IsAuthenticated, CanVerify]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnly
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="certificates_verify_bulk",
        summary="Verify up to 1000 certificates at once (customs, reviewers, secretariat)",
        description="One result per number, in the order given (duplicates answered each "
        "time): a verify object, or `{number, status: not_found}`, or `{number, status: "
        "invalid_number, message}`.",
        tags=["certificates"],
        request=VerifyBulkSerializer,
        responses={
            200: VerifyBulkResponseSerializer,
            **errors(400, 401, 403, 429),
        },
        examples=[
            OpenApiExample(
                "Three numbers",
                request_only=True,
                value={"numbers": [EXAMPLE, "mca-kz-2026-000001-23", "MCA-UZ-2026-000123-79"]},
            ),
            OpenApiExample(
                "Results in request order",
                response_only=True,
                value={
                    "results": [
                        _VALID_EXAMPLE,
                        {"number": "MCA-KZ-2026-000001-23", "status": "not_found"},
                        {
                            "number": "MCA-UZ-2026-000123-79",
                            "status": "invalid_number",
                            "message": _INVALID_MESSAGE,
                        },
                    ]
                },
            ),
        ],
    )
    def post(self, request):
        numbers = request.data.get("numbers") if isinstance(request.data, dict) else None
        if not (
            isinstance(numbers, list)
            and 1 <= len(numbers) <= lookup.MAX_BULK
            and all(isinstance(number, str) for number in numbers)
        ):
            # Anything but a list of strings gets the serializer's full account of what is
            # wrong; a well-formed list skips its per-item field machinery (a thousand
            # CharFields), since every string gets a verdict of its own anyway.
            data = VerifyBulkSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            numbers = data.validated_data["numbers"]
        return json_response({"results": lookup.verify_many(numbers)})


def json_response(data, status=200):
    """The answer as DRF's JSONRenderer writes it (compact, UTF-8), without the renderer
    and template-response machinery in between."""
    return HttpResponse(json_body(data), content_type="application/json", status=status)


def json_body(data):
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate echoed back from an invalid number
        return json.dumps(data, separators=(",", ":"), allow_nan=False).encode("ascii")


def _invalid(error):
    message = str(error)
    return ValidationFailed(
        _("The certificate number is not valid: %(reason)s") % {"reason": message},
        code="invalid_number",
        fields={"number": [message]},
    )
