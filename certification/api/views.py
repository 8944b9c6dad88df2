"""The REST API (docs/api.md). Views stay thin: they check the request's shape,
call one service or selector, and render the fresh object."""

from django import forms
from django.contrib.auth import authenticate
from django.db.models import Prefetch
from django.http import FileResponse
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import Throttled
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from certification.api import serializers as s
from certification.api.authentication import SecondFactorRequired
from certification.api.throttling import (
    AddressThrottle,
    AuthThrottle,
    LoginAccountThrottle,
    client_address,
    sign_in_wait,
)
from certification.core import login_guard, policy
from certification.documents import store
from certification.exceptions import DomainError, NotFound, ValidationFailed
from certification.models import Application
from certification.workflow import accounts, services
from registry.models import Material, MemberState, User
from registry.selectors import product_assessment


def errors(*codes, extra=None):
    """OpenAPI responses for the error codes an operation may answer."""
    described = {
        400: "Invalid input (`validation_error`, with `fields`).",
        401: "No or invalid credentials.",
        403: "Authenticated, but not allowed to do this (`permission_denied`), or a reviewer's "
        "or the secretariat's account without a confirmed second factor "
        "(`second_factor_required`).",
        404: "Not found, or not visible to the caller.",
        409: "Not allowed from the current state, or a duplicate.",
        413: "The upload is larger than allowed.",
        429: "Too many requests; see `Retry-After`.",
    }
    responses = {
        code: OpenApiResponse(s.ErrorSerializer, description=described[code]) for code in codes
    }
    responses.update(extra or {})
    return responses


# Every operation behind a sign-in: a token or session that is not enough is a 401, a
# reviewer or the secretariat without a second factor a 403 (authentication.py).
COMMON = (401, 403, 404, 429)
# Ids in paths: digits the database's bigint can hold; anything else is a 404 by routing.
ID_PATTERN = r"[0-9]{1,18}"


# --- Auth ----------------------------------------------------------------------------------


class OtpRequired(DomainError):
    status = 401
    code = "otp_required"


class TokenView(APIView):
    """Email and password (and the authenticator's code where the account has or needs
    one) for a new named API token. Held up per address (THROTTLE_AUTH), per account
    (THROTTLE_LOGIN_ACCOUNT) and by the growing delay of the account and this address, as
    the sign-in page (certification/core/login_guard.py)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [AuthThrottle]

    @extend_schema(
        request=s.TokenRequestSerializer,
        responses={
            200: s.TokenResponseSerializer,
            **errors(429),
            400: OpenApiResponse(
                s.ErrorSerializer,
                description="`validation_error` (with `fields`) for a malformed request; "
                "`invalid_credentials` when the email or password is wrong (never saying "
                "which); `invalid_otp` when the one-time code is not right.",
            ),
            401: OpenApiResponse(
                s.ErrorSerializer,
                description="`otp_required`: the account signs in with a second factor; "
                "send its code as `otp`.",
            ),
            403: OpenApiResponse(
                s.ErrorSerializer,
                description="`second_factor_required`: a reviewer or the secretariat without "
                "an authenticator app sets one up on the pages first.",
            ),
        },
        examples=[
            OpenApiExample(
                "Log in",
                value={
                    "email": "reviewer-uz@demo.mca.example",
                    "password": "demo-Registry-2026",
                    "otp": "123456",
                    "name": "Review tooling",
                },
                request_only=True,
            )
        ],
        summary="Exchange email, password and one-time code for a new API token",
    )
    def post(self, request):
        data = s.TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email = data.validated_data["email"].lower()
        wait = sign_in_wait(request, email, [LoginAccountThrottle(email)])
        if wait:
            raise Throttled(wait)
        user = authenticate(request, email=email, password=data.validated_data["password"])
        if user is None:
            self.failed(request, email, User.objects.filter(email=email).first(), "password")
            message = _("Email or password is wrong.")
            raise ValidationFailed(
                message, code="invalid_credentials", fields={"non_field_errors": [message]}
            )
        if accounts.authenticator(user) is not None:
            otp = data.validated_data.get("otp")
            if not otp:
                raise OtpRequired(
                    _("This account signs in with a second factor: send its code as otp.")
                )
            if accounts.verify_code(user, otp) is None:
                self.failed(request, email, user, "second_factor")
                message = _("The one-time code is not right.")
                raise ValidationFailed(message, code="invalid_otp", fields={"otp": [message]})
        elif user.needs_second_factor:
            raise SecondFactorRequired()
        address = client_address(request)
        login_guard.succeeded(email, address)
        accounts.sign_in_recorded(user, succeeded=True, step="token", address=address, via="api")
        token, key = accounts.token_issue(
            actor=user,
            name=data.validated_data.get("name") or "API",
            days=data.validated_data.get("days"),
        )
        return Response(
            {
                "token": key,
                "id": token.pk,
                "name": token.name,
                "prefix": token.prefix,
                "created_at": token.created_at,
                "expires_at": token.expires_at,
            },
            headers={"Cache-Control": "no-store"},  # the key: kept by no cache on the way
        )

    @staticmethod
    def failed(request, email, user, step):
        address = client_address(request)
        login_guard.failed(email, address)
        accounts.sign_in_recorded(user, succeeded=False, step=step, address=address, via="api")


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [AuthThrottle]

    @extend_schema(
        request=s.RegisterSerializer,
        responses={201: s.AccountSerializer, **errors(400, 409, 429)},
        summary="Register a manufacturer account",
    )
    def post(self, request):
        data = s.RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.account_register(**data.validated_data)
        return Response(s.AccountSerializer(user).data, status=status.HTTP_201_CREATED)


# --- Producers -----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Producers the caller may see",
        responses={200: s.ProducerSerializer(many=True), **errors(*COMMON)},
    ),
    retrieve=extend_schema(
        summary="One producer", responses={200: s.ProducerSerializer, **errors(*COMMON)}
    ),
)
class ProducerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    lookup_value_regex = ID_PATTERN
    serializer_class = s.ProducerSerializer

    def get_queryset(self):
        return policy.producers_visible_to(self.request.user).order_by("legal_name", "id")

    @extend_schema(
        summary="Register a producer (the caller becomes its first member)",
        request=s.ProducerInputSerializer,
        responses={201: s.ProducerSerializer, **errors(400, 401, 403, 409, 429)},
        examples=[
            OpenApiExample(
                "Company in Uzbekistan",
                request_only=True,
                value={
                    "legal_name": "Samarkand Silk LLC",
                    "member_state": "UZ",
                    "tax_id": "301234567",
                    "address": "Samarkand, Registan st. 1",
                    "contact_email": "office@silk.example",
                },
            )
        ],
    )
    def create(self, request):
        data = s.ProducerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        producer = services.producer_register(actor=request.user, data=data.validated_data)
        return Response(s.ProducerSerializer(producer).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Invite a registered manufacturer account to the producer",
        request=s.InviteSerializer,
        responses={201: s.MembershipSerializer, **errors(400, 401, 403, 404, 409, 429)},
    )
    @action(detail=True, methods=["post"])
    def members(self, request, pk=None):
        data = s.InviteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.producer_invite_member(
            actor=request.user, producer_id=pk, email=data.validated_data["email"]
        )
        return Response(s.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


# --- Products ------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Products the caller may see",
        responses={200: s.ProductSerializer(many=True), **errors(*COMMON)},
    ),
    retrieve=extend_schema(
        summary="One product with its bill of materials",
        responses={200: s.ProductSerializer, **errors(*COMMON)},
    ),
)
class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    lookup_value_regex = ID_PATTERN
    serializer_class = s.ProductSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return (
            policy.products_visible_to(self.request.user)
            .prefetch_related(Prefetch("materials", Material.objects.order_by("position", "id")))
            .order_by("id")
        )

    def _fresh(self, product):
        return s.ProductSerializer(self.get_queryset().get(pk=product.pk)).data

    @extend_schema(
        summary="Create a product with its bill of materials",
        request=s.ProductInputSerializer,
        responses={201: s.ProductSerializer, **errors(400, 401, 403, 429)},
        examples=[
            OpenApiExample(
                "Knitted T-shirt",
                request_only=True,
                value={
                    "producer": 1,
                    "name": "Cotton T-shirt",
                    "hs_code": "610910",
                    "ex_works_price": "8.00",
                    "currency": "USD",
                    "process_steps": ["knitting", "cutting", "sewing"],
                    "materials": [
                        {
                            "description": "Combed cotton yarn",
                            "hs_code": "520522",
                            "origin_country": "UZ",
                            "value": "3.10",
                        },
                        {
                            "description": "Reactive dye",
                            "hs_code": "320416",
                            "origin_country": "DE",
                            "value": "0.40",
                        },
                    ],
                },
            )
        ],
    )
    def create(self, request):
        data = s.ProductInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        producer_id = fields.pop("producer")
        materials = fields.pop("materials", [])
        product = services.product_create(
            actor=request.user, producer_id=producer_id, data=fields, materials=materials
        )
        return Response(self._fresh(product), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a product; `materials`, when given, replaces the bill of materials",
        request=s.ProductPatchSerializer,
        responses={200: s.ProductSerializer, **errors(400, 401, 403, 404, 429)},
    )
    def partial_update(self, request, pk=None):
        data = s.ProductPatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        materials = fields.pop("materials", None)
        product = services.product_update(
            actor=request.user, product_id=pk, data=fields, materials=materials
        )
        return Response(self._fresh(product))

    @extend_schema(
        summary="Origin assessment from the current bill of materials",
        responses={200: s.AssessmentSerializer, **errors(*COMMON)},
    )
    @action(detail=True, methods=["get"])
    def origin(self, request, pk=None):
        product = self.get_object()
        try:
            return Response(product_assessment(product))
        except LookupError as error:
            raise ValidationFailed(str(error), code="no_rule_set") from None


# --- Applications --------------------------------------------------------------------------


class IdFilter(filters.Filter):
    """A primary key: a positive integer the database can hold (the fuzzer sends 1e24)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class ApplicationFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=Application.Status.choices)
    submitted_before = filters.IsoDateTimeFilter(field_name="submitted_at", lookup_expr="lt")
    submitted_after = filters.IsoDateTimeFilter(field_name="submitted_at", lookup_expr="gte")
    flagged = filters.BooleanFilter(method="filter_flagged")
    product = IdFilter(field_name="product_id")

    class Meta:
        model = Application
        fields = ["status", "product"]

    def filter_flagged(self, queryset, name, value):
        return (
            queryset.filter(assessment_verdict="FAIL")
            if value
            else queryset.exclude(assessment_verdict="FAIL")
        )


def _transition(service, input_serializer=None, argument=None, summary="", url_path=None):
    """One POST action per transition: validate the body, call the service, answer with
    the fresh application."""

    def view(self, request, pk=None):
        kwargs = {}
        if input_serializer is not None:
            data = input_serializer(data=request.data)
            data.is_valid(raise_exception=True)
            kwargs[argument] = data.validated_data.get(argument, "")
        service(actor=request.user, application_id=pk, **kwargs)
        return Response(self._fresh(pk))

    view.__name__ = service.__name__.removeprefix("application_")
    schema = extend_schema(
        summary=summary,
        request=input_serializer,
        responses={200: s.ApplicationSerializer, **errors(400, 401, 403, 404, 409, 429)},
    )
    return schema(action(detail=True, methods=["post"], url_path=url_path)(view))


@extend_schema_view(
    list=extend_schema(
        summary="Applications the caller may see (reviewers: their state's queue)",
        parameters=[
            OpenApiParameter(
                "status", str, many=True, enum=[c for c, _label in Application.Status.choices]
            )
        ],
        responses={200: s.ApplicationSerializer(many=True), **errors(400, 401, 403, 429)},
    ),
    retrieve=extend_schema(
        summary="One application", responses={200: s.ApplicationSerializer, **errors(*COMMON)}
    ),
)
class ApplicationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    lookup_value_regex = ID_PATTERN
    serializer_class = s.ApplicationSerializer
    filterset_class = ApplicationFilter

    def get_queryset(self):
        return (
            policy.applications_visible_to(self.request.user)
            .select_related("renews", "certificate__member_state__authority", "certificate__renews")
            .prefetch_related("documents")
            .order_by("submitted_at", "id")
        )

    def _fresh(self, pk):
        try:
            return s.ApplicationSerializer(self.get_queryset().get(pk=pk)).data
        except Application.DoesNotExist:  # e.g. a manufacturer's own withdrawn draft
            raise NotFound() from None

    @extend_schema(
        summary="Start an application (a draft) for a product, optionally renewing a certificate",
        request=s.ApplicationInputSerializer,
        responses={201: s.ApplicationSerializer, **errors(400, 401, 403, 429)},
    )
    def create(self, request):
        data = s.ApplicationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        application = services.application_create(
            actor=request.user,
            product_id=data.validated_data["product"],
            renews_number=data.validated_data.get("renews") or None,
        )
        return Response(self._fresh(application.pk), status=status.HTTP_201_CREATED)

    submit = _transition(
        services.application_submit, summary="Submit: the origin assessment is snapshotted"
    )
    withdraw = _transition(services.application_withdraw, summary="Withdraw")
    start_review = _transition(
        services.application_start_review,
        summary="Start the review (reviewer)",
        url_path="start-review",
    )
    request_changes = _transition(
        services.application_request_changes,
        s.CommentSerializer,
        "comment",
        summary="Ask the manufacturer for changes (reviewer; comment needed)",
        url_path="request-changes",
    )
    approve = _transition(
        services.application_approve,
        s.CommentSerializer,
        "comment",
        summary="Approve and issue the certificate (reviewer; a comment is needed to "
        "approve against a failing assessment)",
    )
    reject = _transition(
        services.application_reject,
        s.CommentSerializer,
        "comment",
        summary="Reject (reviewer; comment needed)",
    )

    @extend_schema(
        summary="Attach a supporting document (PDF, PNG or JPEG by content, at most 10 MB)",
        request={"multipart/form-data": s.DocumentUploadSerializer},
        responses={201: s.DocumentSerializer, **errors(400, 401, 403, 404, 409, 413, 429)},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def documents(self, request, pk=None):
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > services.MAX_DOCUMENT_BYTES + 64 * 1024:
            # Refuse before reading the body at all.
            raise PayloadTooLarge()
        upload = request.FILES.get("file")
        if upload is None:
            message = _("Attach the document as the multipart field `file`.")
            raise ValidationFailed(message, fields={"file": [message]})
        if upload.size > services.MAX_DOCUMENT_BYTES:
            raise PayloadTooLarge()
        document = services.document_add(actor=request.user, application_id=pk, upload=upload)
        return Response(s.DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


class PayloadTooLarge(ValidationFailed):
    status = 413
    code = "too_large"
    default_message = "A document may be at most 10 MB."


# --- Certificates --------------------------------------------------------------------------


def _certificate_action(service, summary):
    def view(self, request, number=None):
        data = s.ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        certificate = service(
            actor=request.user, number=number, reason=data.validated_data.get("reason", "")
        )
        return Response(s.CertificateSerializer(self._fresh(certificate.number)).data)

    view.__name__ = service.__name__.removeprefix("certificate_")
    schema = extend_schema(
        summary=summary,
        request=s.ReasonSerializer,
        responses={200: s.CertificateSerializer, **errors(400, 401, 403, 404, 409, 429)},
    )
    return schema(action(detail=True, methods=["post"])(view))


class _JSONWhateverTheClientAccepts(BaseContentNegotiation):
    """For the PDF download: a PDF reader asks with `Accept: application/pdf`, which must
    not turn its 202, 304 and error answers into 406; those are JSON, the PDF itself is a
    file response that no renderer touches."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


@extend_schema_view(
    list=extend_schema(
        summary="Certificates the caller may see",
        responses={200: s.CertificateSerializer(many=True), **errors(*COMMON)},
    ),
    retrieve=extend_schema(
        summary="One certificate by number",
        responses={200: s.CertificateSerializer, **errors(*COMMON)},
    ),
)
class CertificateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.CertificateSerializer
    lookup_field = "number"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return (
            policy.certificates_visible_to(self.request.user)
            .select_related("member_state__authority", "renews")
            .order_by("-issued_at", "-id")
        )

    def get_object(self):
        return self._fresh(self.kwargs["number"])

    def _fresh(self, number):
        certificate = self.get_queryset().filter(number=str(number).strip().upper()).first()
        if certificate is None:
            raise NotFound()
        return certificate

    suspend = _certificate_action(
        services.certificate_suspend, "Suspend (reviewer of the issuing state; reason needed)"
    )
    reinstate = _certificate_action(
        services.certificate_reinstate, "Reinstate a suspended certificate"
    )
    revoke = _certificate_action(services.certificate_revoke, "Revoke for good (reason needed)")

    @extend_schema(
        summary="The certificate as a PDF (one A4 page)",
        description=(
            "For the holder, reviewers of the issuing state, customs and the secretariat "
            "(404 to anyone else). The PDF is rendered shortly after the approval: until "
            'then the answer is 202 with `{"status": "being_prepared", "retry_after": '
            "seconds}` and a `Retry-After` header; ask again after that many seconds. "
            "The `ETag` is the file's SHA-256; `If-None-Match` with it answers 304."
        ),
        parameters=[
            OpenApiParameter(
                "If-None-Match",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="The ETag of a copy already held: 304 if it is still current.",
            ),
            OpenApiParameter(
                "ETag",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                response=[200, 304],
                description="The PDF's SHA-256 in hex, quoted.",
            ),
            OpenApiParameter(
                "Retry-After",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                response=[202],
                description="Seconds to wait before asking again.",
            ),
        ],
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description='The PDF, `Content-Disposition: inline; filename="<number>.pdf"`.',
            ),
            202: OpenApiResponse(
                inline_serializer(
                    "CertificatePdfPreparing",
                    {
                        "status": serializers.ChoiceField(choices=["being_prepared"]),
                        "retry_after": serializers.IntegerField(),
                    },
                ),
                description="Being rendered; ask again after `retry_after` seconds.",
            ),
            304: OpenApiResponse(description="Not modified: `If-None-Match` is current."),
            **errors(*COMMON),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[JSONRenderer],
        content_negotiation_class=_JSONWhateverTheClientAccepts,
    )
    def pdf(self, request, number=None):
        certificate = self._fresh(number)
        file = store.open_stored(certificate)
        if file is None:
            seconds = store.RETRY_AFTER_SECONDS
            return Response(
                {"status": "being_prepared", "retry_after": seconds},
                status=status.HTTP_202_ACCEPTED,
                headers={"Retry-After": str(seconds)},
            )
        etag = f'"{certificate.pdf_sha256}"'
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
            file.close()
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        response = FileResponse(
            file, content_type="application/pdf", filename=f"{certificate.number}.pdf"
        )
        for name, value in headers.items():
            response[name] = value
        return response


class MemberStateViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = s.MemberStateSerializer
    permission_classes = [AllowAny]
    throttle_classes = [AddressThrottle]
    pagination_class = None

    def get_queryset(self):
        return MemberState.objects.select_related("authority").order_by("code")
