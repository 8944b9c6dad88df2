"""The reviewers' workspace, under /workspace/ (portal/workspace.py)."""

from django.urls import path

from portal import workspace, workspace_overview

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
]
