"""Pages of the cockpit, mounted at /cockpit/."""

from django.urls import path  # noqa: F401

app_name = "cockpit"
urlpatterns: list = []
