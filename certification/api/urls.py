from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from certification.api import tokens, verify, views, webhooks

app_name = "api"

router = SimpleRouter()
router.register("producers", views.ProducerViewSet, basename="producer")
router.register("products", views.ProductViewSet, basename="product")
router.register("applications", views.ApplicationViewSet, basename="application")
router.register("certificates", views.CertificateViewSet, basename="certificate")
router.register("member-states", views.MemberStateViewSet, basename="member-state")
router.register("webhooks", webhooks.WebhookViewSet, basename="webhook")
router.register("auth/tokens", tokens.ApiTokenViewSet, basename="api-token")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("auth/register/", views.RegisterView.as_view(), name="auth-register"),
    path(
        "schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
        name="schema",
    ),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(
            url_name="api:schema", authentication_classes=[], permission_classes=[]
        ),
        name="docs",
    ),
    # Before the router: "certificates/verify/" must not be read as a certificate number.
    path("certificates/verify/", verify.VerifyBulkView.as_view(), name="verify-certificates"),
    path(
        "certificates/<str:number>/verify/",
        verify.VerifyView.as_view(),
        name="verify-certificate",
    ),
    path("", include(router.urls)),
]
