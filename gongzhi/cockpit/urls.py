"""Pages of the cockpit, mounted at /cockpit/."""

from django.urls import path

from . import report_views, views

app_name = "cockpit"
urlpatterns = [
    path("", views.home, name="home"),
    path("<int:place_id>/", views.place, name="place"),
    path("<int:place_id>/trend/", views.trend, name="trend"),
    path("<int:place_id>/compare/", views.compare, name="compare"),
    path("<int:place_id>/workbook.xlsx", views.workbook, name="workbook"),
    path("<int:place_id>/report.docx", views.report, name="report"),
    path("<int:place_id>/reports/", report_views.report_request, name="report_request"),
    path("<int:place_id>/ledgers/<slug:domain>.xlsx", report_views.ledger, name="ledger"),
    path("reports/<int:run_id>/", report_views.report_run, name="report_run"),
    path("reports/<int:run_id>/file", report_views.report_file, name="report_file"),
]
