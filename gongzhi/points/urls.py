"""Pages of the red points, mounted at /points/. Public pages (no login) live under /points/public/."""

from django.urls import path

from . import views

app_name = "points"

urlpatterns = [
    # The resident's phone pages.
    path("", views.home, name="home"),
    path("card/", views.home_card, name="home_card"),
    path("claim/", views.claim_new, name="claim_new"),
    path("claims/", views.my_claims, name="my_claims"),
    path("claims/<int:claim_id>/", views.claim_detail, name="claim_detail"),
    path("claims/<int:claim_id>/resubmit/", views.claim_resubmit, name="claim_resubmit"),
    path("claims/<int:claim_id>/withdraw/", views.claim_withdraw, name="claim_withdraw"),
    path("photos/<int:photo_id>/", views.claim_photo, name="claim_photo"),
    path("history/", views.history, name="history"),
    # The review committee and staff.
    path("review/", views.review_queue, name="review_queue"),
    path("review/decide/", views.review_decide, name="review_decide"),
    path("record/", views.record, name="record"),
    path("record/<int:resident_id>/", views.record_claim, name="record_claim"),
    path("manage/catalogue/", views.catalogue, name="catalogue"),
    path("manage/catalogue/new/", views.item_new, name="item_new"),
    path("manage/catalogue/<int:item_id>/", views.item_detail, name="item_detail"),
    path("manage/catalogue/<int:item_id>/toggle/", views.item_toggle, name="item_toggle"),
    path("manage/adjustments/", views.adjustments, name="adjustments"),
    path("manage/adjustments/<int:adjustment_id>/", views.adjustment_decide, name="adjustment_decide"),
    path("manage/publications/", views.publications, name="publications"),
    path("manage/publications/<int:publication_id>/", views.publication_manage, name="publication_manage"),
    path("manage/selection/", views.selections, name="selections"),
    path("manage/evaluation/", views.evaluation, name="evaluation"),
    # Public pages, no login.
    path("public/", views.public_index, name="public_index"),
    path("public/<int:community_id>/", views.public_community, name="public_community"),
    path("public/<int:community_id>/<int:year>/<int:month>/", views.public_publication, name="public_publication"),
    path(
        "public/<int:community_id>/<int:year>/<int:month>.xlsx",
        views.public_publication_xlsx,
        name="public_publication_xlsx",
    ),
    path("public/<int:community_id>/<int:year>/<int:month>/objection/", views.objection_new, name="objection_new"),
    path("public/<int:community_id>/selection/<int:year>/", views.public_selection, name="public_selection"),
    path("public/rankings/<int:place_id>/", views.public_rankings, name="public_rankings"),
]
