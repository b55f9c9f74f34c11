"""Pages of the red points, mounted at /points/. Public pages (no login) live under /points/public/."""

from django.urls import path

from .views import public, resident, review, staff

app_name = "points"

urlpatterns = [
    # The resident's phone pages.
    path("", resident.home, name="home"),
    path("card/", resident.home_card, name="home_card"),
    path("claim/", resident.claim_new, name="claim_new"),
    path("claims/", resident.my_claims, name="my_claims"),
    path("claims/<int:claim_id>/", resident.claim_detail, name="claim_detail"),
    path("claims/<int:claim_id>/resubmit/", resident.claim_resubmit, name="claim_resubmit"),
    path("claims/<int:claim_id>/withdraw/", resident.claim_withdraw, name="claim_withdraw"),
    path("claims/<int:claim_id>/decide/", review.claim_decide, name="claim_decide"),
    path("photos/<int:photo_id>/", resident.claim_photo, name="claim_photo"),
    path("history/", resident.history, name="history"),
    # The review committee and staff.
    path("review/", review.review_queue, name="review_queue"),
    path("review/decide/", review.review_decide, name="review_decide"),
    path("record/", review.record, name="record"),
    path("record/<int:resident_id>/", review.record_claim, name="record_claim"),
    path("manage/catalogue/", staff.catalogue, name="catalogue"),
    path("manage/catalogue/new/", staff.item_new, name="item_new"),
    path("manage/catalogue/<int:item_id>/", staff.item_detail, name="item_detail"),
    path("manage/catalogue/<int:item_id>/toggle/", staff.item_toggle, name="item_toggle"),
    path("manage/adjustments/", staff.adjustments, name="adjustments"),
    path("manage/adjustments/<int:adjustment_id>/", staff.adjustment_decide, name="adjustment_decide"),
    path("manage/publications/", staff.publications, name="publications"),
    path("manage/publications/<int:publication_id>/", staff.publication_manage, name="publication_manage"),
    path("manage/selection/", staff.selections, name="selections"),
    path("manage/evaluation/", staff.evaluation, name="evaluation"),
    # Public pages, no login.
    path("public/", public.public_index, name="public_index"),
    path("public/<int:community_id>/", public.public_community, name="public_community"),
    path("public/<int:community_id>/<int:year>/<int:month>/", public.public_publication, name="public_publication"),
    path(
        "public/<int:community_id>/<int:year>/<int:month>.xlsx",
        public.public_publication_xlsx,
        name="public_publication_xlsx",
    ),
    path("public/<int:community_id>/<int:year>/<int:month>/objection/", public.objection_new, name="objection_new"),
    path("public/<int:community_id>/selection/<int:year>/", public.public_selection, name="public_selection"),
    path("public/rankings/<int:place_id>/", public.public_rankings, name="public_rankings"),
]
