from django.urls import path

from . import views

urlpatterns = [
    path("", views.place_index, name="place_index"),
    path("<int:place_id>/", views.place_detail, name="place_detail"),
    path("<int:place_id>/residents/", views.place_residents, name="place_residents"),
    path("<int:place_id>/residents.xlsx", views.place_residents_export, name="place_residents_export"),
    path("residents/", views.resident_search, name="resident_search"),
    path("residents/<int:resident_id>/", views.resident_detail, name="resident_detail"),
]
