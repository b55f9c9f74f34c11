"""Pages of cobuilding, mounted at /cobuilding/."""

from django.urls import path  # noqa: F401

app_name = "cobuilding"
urlpatterns: list = []
