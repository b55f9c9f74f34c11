from django.urls import path

from . import party_views, personal_data_views, two_factor_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_page, name="login"),
    path("login/code/", two_factor_views.login_code, name="login_code"),
    path("logout/", views.logout_page, name="logout"),
    path("me/two-factor/", two_factor_views.two_factor, name="two_factor"),
    path("me/two-factor/start/", two_factor_views.two_factor_start, name="two_factor_start"),
    path("me/two-factor/on/", two_factor_views.two_factor_turn_on, name="two_factor_on"),
    path("me/two-factor/off/", two_factor_views.two_factor_turn_off, name="two_factor_off"),
    path("me/", views.me, name="me"),
    path("me/household/", views.my_household, name="my_household"),
    path("me/personal-data/", personal_data_views.my_personal_data, name="my_personal_data"),
    path(
        "me/personal-data/download/",
        personal_data_views.my_personal_data_download,
        name="my_personal_data_download",
    ),
    path(
        "people/residents/<int:resident_id>/anonymise/",
        personal_data_views.resident_anonymise_page,
        name="resident_anonymise",
    ),
    path("me/elder-mode/", views.elder_mode, name="elder_mode"),
    path("me/language/", views.language, name="language"),
    path("party/", party_views.party_index, name="party_index"),
    path("party/<int:community_id>/", party_views.party_members, name="party_members"),
    path("party/<int:community_id>/add/", party_views.party_member_add, name="party_member_add"),
    path("party/members/<int:membership_id>/", party_views.party_member_edit, name="party_member_edit"),
    path("party/members/<int:membership_id>/end/", party_views.party_member_end, name="party_member_end"),
]
