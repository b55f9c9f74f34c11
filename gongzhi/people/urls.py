from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_page, name="login"),
    path("logout/", views.logout_page, name="logout"),
    path("me/", views.me, name="me"),
    path("me/household/", views.my_household, name="my_household"),
    path("me/elder-mode/", views.elder_mode, name="elder_mode"),
    path("me/language/", views.language, name="language"),
]
