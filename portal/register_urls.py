"""The public register of certified products, under /registry/ (portal/register.py): the
search, product and producer pages and the open data export. The statistics page
(portal/statistics.py) is under /registry/statistics/ too, but routed in config/urls.py,
before this include."""

from django.urls import path

from portal import register

app_name = "register"

urlpatterns = [
    path("", register.search_page, name="search"),
    path("products/<int:product_id>/", register.product_page, name="product"),
    path("producers/<int:producer_id>/", register.producer_page, name="producer"),
    path("export.csv", register.export_file, {"format": "csv"}, name="export-csv"),
    path("export.json", register.export_file, {"format": "json"}, name="export-json"),
]
