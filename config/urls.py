from django.contrib import admin
from django.urls import path
from django.views.generic import TemplateView

admin.site.site_header = "Made in Central Asia — registry administration"
admin.site.site_title = "MCA registry"

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("admin/", admin.site.urls),
]
