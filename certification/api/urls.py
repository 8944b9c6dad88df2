from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from certification.api import views

app_name = "api"

router = SimpleRouter()
router.register("producers", views.ProducerViewSet, basename="producer")
router.register("products", views.ProductViewSet, basename="product")
router.register("applications", views.ApplicationViewSet, basename="application")
router.register("certificates", views.CertificateViewSet, basename="certificate")
router.register("member-states", views.MemberStateViewSet, basename="member-state")

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
    path("", include(router.urls)),
]
