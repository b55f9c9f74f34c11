"""Pages of co-building, mounted at /cobuilding/."""

from django.urls import path

from . import views

app_name = "cobuilding"
urlpatterns = [
    path("", views.home, name="home"),
    path("home-card/", views.home_card, name="home_card"),
    path("resources/new/", views.resource_new, name="resource_new"),
    path("needs/", views.needs, name="needs"),
    path("matches/<int:match_id>/answer/", views.match_answer, name="match_answer"),
    path("projects/", views.projects, name="projects"),
    path("projects/<int:project_id>/", views.project_detail, name="project"),
    path("projects/<int:project_id>/<slug:action>/", views.project_action, name="project_action"),
    path("photos/<int:photo_id>/", views.progress_photo, name="progress_photo"),
    path("fund/<int:community_id>/<int:year>/", views.fund, name="fund"),
    path("spendings/<int:spending_id>/<slug:action>/", views.spending_action, name="spending_action"),
    path("agreements/", views.agreements, name="agreements"),
    path("agreements/<int:agreement_id>/file/", views.agreement_file, name="agreement_file"),
    path("network/", views.network, name="network"),
    path("matters/<int:matter_id>/solve/", views.matter_solve, name="matter_solve"),
    path("commitments/<int:commitment_id>/mark/", views.commitment_mark, name="commitment_mark"),
    path("assessments/", views.assessments, name="assessments"),
    path("report-back/<int:year>/", views.report_back_index, name="report_back_index"),
    path("organisations/<int:organisation_id>/report/<int:year>/", views.report_back, name="report_back"),
    path("organisations/<int:organisation_id>/report/<int:year>.xlsx", views.report_back_xlsx, name="report_back_xlsx"),
]
