"""Pages of deliberation, mounted at /deliberation/."""

from django.urls import path

from . import staff_views, views

app_name = "deliberation"
urlpatterns = [
    path("", views.home, name="home"),
    path("home-card/", views.home_card, name="home_card"),
    path("propose/", views.propose, name="propose"),
    path("topics/<int:topic_id>/", views.topic_detail, name="topic"),
    path("topics/<int:topic_id>/cosign/", views.topic_cosign, name="cosign"),
    path("topics/<int:topic_id>/rate/", views.topic_rate, name="rate"),
    path("votes/<int:vote_id>/cast/", views.vote_cast, name="cast"),
    path("public/", views.public_index, name="public_index"),
    path("public/<int:community_id>/", views.public_record, name="public_record"),
    path("public/topics/<int:topic_id>/", views.public_topic, name="public_topic"),
    path("public/votes/<int:vote_id>/", views.public_vote, name="public_vote"),
    path("manage/", staff_views.agenda, name="agenda"),
    path("manage/<int:community_id>/catalogue/", staff_views.catalogue, name="catalogue"),
    path("manage/topics/<int:topic_id>/", staff_views.staff_topic, name="staff_topic"),
    path("manage/topics/<int:topic_id>/<slug:action>/", staff_views.staff_topic_action, name="staff_topic_action"),
    path("manage/votes/<int:vote_id>/", staff_views.staff_vote, name="staff_vote"),
]
