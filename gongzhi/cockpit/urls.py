"""Pages of the cockpit, mounted at /cockpit/."""

from django.urls import path

from . import views

app_name = "cockpit"
urlpatterns = [
    path("", views.home, name="home"),
    path("<int:place_id>/", views.place, name="place"),
    path("<int:place_id>/trend/", views.trend, name="trend"),
    path("<int:place_id>/workbook.xlsx", views.workbook, name="workbook"),
    path("<int:place_id>/report.docx", views.report, name="report"),
]
