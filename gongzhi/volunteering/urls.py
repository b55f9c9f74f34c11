"""Pages of volunteering, mounted at /volunteering/."""

from django.urls import path  # noqa: F401

app_name = "volunteering"
urlpatterns: list = []
