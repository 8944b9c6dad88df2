"""Webhook subscriptions over the API (docs/api.md): create (the secret is in
that answer only), list, read, delete, and each subscription's delivery log. Customs
officers, reviewers (their own state's certificates) and the secretariat subscribe; a
subscription exists only for its owner (404 for anyone else)."""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from certification.api.views import COMMON, errors
from certification.exceptions import NotFound
from certification.models import Delivery, DeliveryAttempt, WebhookSubscription
from certification.notifications import webhooks

# --- Serializers -------------------------------------------------------------------------


class WebhookInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500, help_text="http(s); public addresses only.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=webhooks.SUBSCRIBABLE_EVENTS),
        allow_empty=False,
        max_length=len(webhooks.SUBSCRIBABLE_EVENTS),
    )


class WebhookSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(
        help_text="Keys the HMAC-SHA256 of `X-MCA-Signature`. Shown in this answer only."
    )


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = [
            "number",
            "started_at",
            "finished_at",
            "ok",
            "status_code",
            "error",
            "duration_ms",
        ]


class DeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.UUIDField(source="event.id")
    event = serializers.CharField(source="event.event")
    occurred_at = serializers.DateTimeField(source="event.occurred_at")
    state = serializers.ChoiceField(choices=["pending", "sent", "failed"])
    attempt_log = DeliveryAttemptSerializer(many=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_id",
            "event",
            "occurred_at",
            "state",
            "attempts",
            "next_attempt_at",
            "sent_at",
            "failed_at",
            "last_error",
            "attempt_log",
        ]


# --- Views -------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="The caller's webhook subscriptions",
        responses={200: WebhookSerializer(many=True), **errors(*COMMON)},
    ),
    retrieve=extend_schema(
        summary="One webhook subscription (without its secret)",
        responses={200: WebhookSerializer, **errors(*COMMON)},
    ),
    destroy=extend_schema(
        summary="Delete a subscription: pending deliveries stop",
        responses={204: None, **errors(*COMMON)},
    ),
)
class WebhookViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = WebhookSerializer

    def get_queryset(self):
        return webhooks.subscriptions_visible_to(self.request.user).order_by("id")

    def get_object(self):
        try:
            return self.get_queryset().get(pk=int(self.kwargs["pk"]))
        except (ValueError, TypeError, WebhookSubscription.DoesNotExist):
            raise NotFound() from None

    @extend_schema(
        summary="Subscribe a URL to certificate events; the answer carries the secret once",
        request=WebhookInputSerializer,
        responses={201: WebhookCreatedSerializer, **errors(400, 401, 403, 429)},
        examples=[
            OpenApiExample(
                "Customs integration",
                request_only=True,
                value={
                    "url": "https://customs.example.kz/mca/events",
                    "events": ["certificate.revoked", "certificate.suspended"],
                },
            )
        ],
    )
    def create(self, request):
        webhooks.ensure_can_subscribe(request.user)  # 403 before 400
        data = WebhookInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = webhooks.subscribe(actor=request.user, **data.validated_data)
        return Response(WebhookCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, pk=None):
        webhooks.unsubscribe(actor=request.user, subscription_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="The subscription's delivery log, newest first, with every attempt",
        responses={200: DeliverySerializer(many=True), **errors(*COMMON)},
    )
    @action(detail=True, methods=["get"], serializer_class=DeliverySerializer)
    def deliveries(self, request, pk=None):
        subscription = self.get_object()
        queryset = (
            Delivery.objects.filter(subscription=subscription)
            .select_related("event")
            .prefetch_related(
                Prefetch("attempt_log", DeliveryAttempt.objects.order_by("number", "id"))
            )
            .order_by("-created_at", "-id")
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)
