"""Pages of volunteering, mounted at /volunteering/."""

from django.urls import path

from . import views

app_name = "volunteering"
urlpatterns = [
    path("", views.home, name="home"),
    path("activities/<int:activity_id>/", views.activity_detail, name="activity"),
    path("activities/<int:activity_id>/check-in/", views.check_in_page, name="check_in"),
    path("me/hours/", views.my_hours, name="hours"),
    path("me/registration/", views.my_registration, name="registration"),
    path("wishes/", views.wish_wall, name="wishes"),
    path("wishes/new/", views.wish_new, name="wish_new"),
    path("wishes/<int:wish_id>/", views.wish_detail, name="wish"),
    path("wishes/<int:wish_id>/photo/", views.wish_photo, name="wish_photo"),
    path("teams/", views.teams, name="teams"),
    path("teams/<int:team_id>/", views.team_detail, name="team"),
    path("manage/", views.manage, name="manage"),
    path("manage/new/", views.activity_new, name="activity_new"),
    path("manage/<int:activity_id>/", views.roster_page, name="roster"),
    path("manage/<int:activity_id>/screen/", views.screen, name="screen"),
    path("manage/wishes/", views.wishes_manage, name="wishes_manage"),
    path("employer/", views.employer, name="employer"),
    path("employer/<int:organisation_id>/report/", views.employer_report, name="employer_report"),
]
