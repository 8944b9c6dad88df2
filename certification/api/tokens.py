"""The caller's API tokens over the API (docs/api.md, "Signing in"): list them (in force,
expired and revoked, never a key), make one (its key in that answer only) and revoke one
(DELETE; it stops working at once, the current token included). A token exists only for
its owner: another account's is "not found".

A token makes no new token: only a browser session (an official's confirmed by its app) or
auth/token/ with the password (and an official's code) does, so that a leaked key cannot
outlive its own expiry or revocation by making others."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from certification.api import serializers as s
from certification.api.views import errors
from certification.exceptions import NotFound, PermissionDenied
from certification.workflow import accounts
from registry.models import ApiToken

TOKEN_ERRORS = (400, 401, 403, 404, 429)


class ApiTokenSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField(
        help_text="`active`, `expired` or `revoked`: only an active token is accepted."
    )
    current = serializers.SerializerMethodField(
        help_text="Whether this request was made with this token."
    )

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "created_at",
            "expires_at",
            "revoked_at",
            "status",
            "current",
        ]

    def get_status(self, token) -> str:
        return token.status()

    def get_current(self, token) -> bool:
        auth = self.context["request"].auth
        return isinstance(auth, ApiToken) and auth.pk == token.pk


class ApiTokenInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    days = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="How many days it lasts; at most, and by default, the account's token "
        "lifetime (90 days unless the secretariat set a customs account's longer).",
    )


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.SerializerMethodField(help_text="The key: in this answer only.")

    class Meta(ApiTokenSerializer.Meta):
        fields = ["token", *ApiTokenSerializer.Meta.fields]

    def get_token(self, token) -> str:
        return self.context["key"]


@extend_schema_view(
    list=extend_schema(
        summary="The caller's API tokens, newest first (never their keys)",
        responses={200: ApiTokenSerializer(many=True), **errors(*TOKEN_ERRORS)},
    ),
    retrieve=extend_schema(
        summary="One of the caller's API tokens",
        responses={200: ApiTokenSerializer, **errors(*TOKEN_ERRORS)},
    ),
    destroy=extend_schema(
        summary="Revoke a token: it stops working at once",
        responses={204: None, **errors(*TOKEN_ERRORS, 409)},
    ),
)
class ApiTokenViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ApiTokenSerializer
    lookup_value_regex = "[0-9]{1,18}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema's look at the view
            return ApiToken.objects.none()
        return accounts.tokens_of(self.request.user)

    def get_object(self):
        token = self.get_queryset().filter(pk=int(self.kwargs["pk"])).first()
        if token is None:
            raise NotFound()
        return token

    @extend_schema(
        summary="Make a new API token; the answer carries its key once",
        description="With a browser session only (a reviewer's or the secretariat's confirmed "
        "by its authenticator app): a request made with an API token is refused, 403 "
        "`session_required`. Without a session, `POST auth/token/` with the password (and "
        "the one-time code where the account has a second factor) makes a token.",
        request=ApiTokenInputSerializer,
        responses={
            201: ApiTokenCreatedSerializer,
            **errors(*TOKEN_ERRORS, 409),
            403: OpenApiResponse(
                s.ErrorSerializer,
                description="`session_required`: the request was made with an API token; a "
                "token makes no new token. `second_factor_required`: a reviewer's or the "
                "secretariat's session its app has not confirmed.",
            ),
        },
        examples=[
            OpenApiExample(
                "A border post's scanner",
                request_only=True,
                value={"name": "Border post 3 scanner", "days": 30},
            )
        ],
    )
    def create(self, request):
        if isinstance(request.auth, ApiToken):
            raise PermissionDenied(
                _(
                    "A token cannot make new tokens: make one on the pages "
                    "(/account/tokens/) or with your password at auth/token/."
                ),
                code="session_required",
            )
        data = ApiTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = accounts.token_issue(actor=request.user, **data.validated_data)
        context = {"request": request, "key": key}
        return Response(
            ApiTokenCreatedSerializer(token, context=context).data,
            status=status.HTTP_201_CREATED,
            headers={"Cache-Control": "no-store"},  # the key: kept by no cache on the way
        )

    def destroy(self, request, pk=None):
        accounts.token_revoke(actor=request.user, token_id=self.get_object().pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
