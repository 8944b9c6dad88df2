from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from certification import views as certification_views
from certification.api.errors import json_error
from certification.health import healthz
from portal import statistics

admin.site.site_header = "Made in Central Asia — registry administration"
admin.site.site_title = "MCA registry"

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("admin/", admin.site.urls),
    path("", include("portal.urls")),
    path("workspace/", include("portal.workspace_urls")),
    # Before the register's include: Django takes the first pattern that matches.
    path("registry/statistics/", statistics.statistics_page, name="statistics"),
    path("registry/statistics/<slug:chart>.csv", statistics.statistics_csv, name="statistics-csv"),
    path("registry/", include("portal.register_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include("certification.api.urls")),
    path(".well-known/jwks.json", certification_views.jwks, name="jwks"),
    path(
        ".well-known/mca-status/<str:country>.jws",
        certification_views.status_list_jws,
        name="status-list",
    ),
    path("transparency/jwks.json", certification_views.secretariat_jwks, name="secretariat-jwks"),
    path("transparency/checkpoints/", certification_views.checkpoint_list, name="checkpoints"),
    path("verify/", certification_views.verify_form, name="verify-form"),
    path("verify/<str:number>/", certification_views.verify_page, name="verify-page"),
]


def _is_api(request):
    return request.path.startswith("/api/")


def handler404(request, exception=None):
    if _is_api(request):
        return json_error(404, "not_found", "Not found.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if _is_api(request):
        return json_error(500, "server_error", "Something went wrong on our side; it was logged.")
    from django.views.defaults import server_error

    return server_error(request)
