from django.urls import path

from . import party_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_page, name="login"),
    path("logout/", views.logout_page, name="logout"),
    path("me/", views.me, name="me"),
    path("me/household/", views.my_household, name="my_household"),
    path("me/elder-mode/", views.elder_mode, name="elder_mode"),
    path("me/language/", views.language, name="language"),
    path("party/", party_views.party_index, name="party_index"),
    path("party/<int:community_id>/", party_views.party_members, name="party_members"),
    path("party/<int:community_id>/add/", party_views.party_member_add, name="party_member_add"),
    path("party/members/<int:membership_id>/", party_views.party_member_edit, name="party_member_edit"),
    path("party/members/<int:membership_id>/end/", party_views.party_member_end, name="party_member_end"),
]
