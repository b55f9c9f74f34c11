from django.urls import path

from . import views

urlpatterns = [
    path("", views.place_index, name="place_index"),
]
