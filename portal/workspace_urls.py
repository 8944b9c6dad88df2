"""The reviewers' workspace, under /workspace/ (portal/workspace.py)."""

from django.urls import path

from portal import workspace, workspace_certificates, workspace_overview, workspace_producers

app_name = "workspace"

urlpatterns = [
    path("", workspace.queue, name="queue"),
    path("overview/", workspace_overview.overview, name="overview"),
    path("overview/retry/", workspace_overview.retry, name="overview-retry"),
    path("applications/<int:application_id>/", workspace.application_detail, name="application"),
    path(
        "applications/<int:application_id>/<slug:action>/",
        workspace.application_decide,
        name="decide",
    ),
    path(
        "applications/<int:application_id>/documents/<int:document_id>/",
        workspace.document,
        name="document",
    ),
    path("certificates/", workspace_certificates.certificate_list, name="certificates"),
    path(
        "certificates/<str:number>/",
        workspace_certificates.certificate_detail,
        name="certificate",
    ),
    path(
        "certificates/<str:number>/<slug:action>/",
        workspace_certificates.certificate_action,
        name="certificate-action",
    ),
    path("producers/", workspace_producers.producer_list, name="producers"),
    path("producers/<int:producer_id>/", workspace_producers.producer_detail, name="producer"),
    path(
        "producers/<int:producer_id>/attest/",
        workspace_producers.producer_attest,
        name="producer-attest",
    ),
]
