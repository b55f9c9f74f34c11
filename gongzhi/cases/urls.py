"""Pages of resident requests, mounted at /cases/ (app_name "cases")."""

from django.urls import path

from . import views

app_name = "cases"

urlpatterns = [
    path("", views.home, name="home"),
    path("mine/", views.mine, name="mine"),
    path("new/", views.case_new, name="new"),
    path("<int:case_id>/", views.case_detail, name="detail"),
    path("<int:case_id>/act/", views.case_act, name="act"),
    path("photos/<int:photo_id>/", views.case_photo, name="photo"),
    path("queue/", views.queue, name="queue"),
    path("visit/", views.visit_new, name="visit_new"),
    path("hotline/", views.hotline_new, name="hotline_new"),
    path("hotline/import/", views.hotline_import_page, name="hotline_import"),
    path("hotline/import/<int:progress_id>/", views.hotline_progress, name="hotline_progress"),
    path("inbox/", views.inbox_page, name="inbox"),
    path("inbox/read/", views.inbox_read, name="inbox_read"),
    path("inbox/<int:notification_id>/", views.inbox_open, name="inbox_open"),
    path("inbox/badge/", views.inbox_badge, name="inbox_badge"),
    path("card/", views.home_card, name="home_card"),
]
