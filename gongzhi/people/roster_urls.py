"""Roster import pages, mounted at /roster/."""

from django.urls import path

from . import roster_views

urlpatterns = [
    path("", roster_views.roster_index, name="roster_index"),
    path("template.xlsx", roster_views.roster_template, name="roster_template"),
    path("<int:progress_id>/", roster_views.roster_progress, name="roster_progress"),
    path("<int:progress_id>/errors.xlsx", roster_views.roster_errors, name="roster_errors"),
]
