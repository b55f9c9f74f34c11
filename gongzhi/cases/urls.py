"""Pages of resident requests, mounted at /cases/ (app_name "cases")."""

from django.urls import path

from . import hotline_views, merge_views, open311_views, views, visit_views

app_name = "cases"

urlpatterns = [
    path("", views.home, name="home"),
    path("mine/", views.mine, name="mine"),
    path("new/", views.case_new, name="new"),
    path("<int:case_id>/", views.case_detail, name="detail"),
    path("<int:case_id>/act/", views.case_act, name="act"),
    path("<int:case_id>/merge/", merge_views.merge_confirm, name="merge"),
    path("<int:case_id>/unmerge/", merge_views.merge_undo, name="unmerge"),
    path("photos/<int:photo_id>/", views.case_photo, name="photo"),
    path("queue/", views.queue, name="queue"),
    path("visit/", visit_views.visit_new, name="visit_new"),
    path("visit/households/", visit_views.visit_household_options, name="visit_households"),
    path("hotline/", hotline_views.hotline_new, name="hotline_new"),
    path("hotline/import/", hotline_views.hotline_import_page, name="hotline_import"),
    path("hotline/import/<int:progress_id>/", hotline_views.hotline_progress, name="hotline_progress"),
    path("inbox/", views.inbox_page, name="inbox"),
    path("inbox/read/", views.inbox_read, name="inbox_read"),
    path("inbox/<int:notification_id>/", views.inbox_open, name="inbox_open"),
    path("inbox/badge/", views.inbox_badge, name="inbox_badge"),
    path("card/", views.home_card, name="home_card"),
    # Configuration staff do on pages: Open311 keys, the categories' questions (open311_views.py).
    path("manage/open311/", open311_views.open311_keys_page, name="open311_keys"),
    path("manage/open311/<int:key_id>/revoke/", open311_views.open311_key_revoke_page, name="open311_key_revoke"),
    path("manage/categories/", open311_views.categories_page, name="categories"),
    path("manage/categories/<int:category_id>/", open311_views.category_attributes_page, name="category_attributes"),
    path("manage/questions/<int:attribute_id>/", open311_views.attribute_edit, name="attribute_edit"),
    path(
        "manage/questions/<int:attribute_id>/archive/",
        open311_views.attribute_archive_page,
        name="attribute_archive",
    ),
]
