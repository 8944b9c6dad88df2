"""The public register of certified products, under /registry/ (portal/register.py): the
search, product and producer pages and the open data export. The statistics page
(portal/statistics.py) lives here too."""

from django.urls import path  # noqa: F401 - the paths are added below

app_name = "register"

urlpatterns = []
