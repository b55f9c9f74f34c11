"""Pages of deliberation, mounted at /deliberation/."""

from django.urls import path  # noqa: F401

app_name = "deliberation"
urlpatterns: list = []
