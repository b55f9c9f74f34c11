"""Pages of the points shop, mounted at /shop/."""

from django.urls import path

from . import views

app_name = "shop"
urlpatterns = [
    path("", views.home, name="home"),
    path("home-card/", views.home_card, name="home_card"),
    path("offers/new/", views.offer_new, name="offer_new"),
    path("offers/<int:offer_id>/", views.offer_detail, name="offer"),
    path("offers/<int:offer_id>/photo/", views.offer_photo, name="offer_photo"),
    path("offers/<int:offer_id>/restock/", views.offer_restock, name="offer_restock"),
    path("offers/<int:offer_id>/<slug:action>/", views.offer_action, name="offer_action"),
    path("orders/", views.my_orders, name="orders"),
    path("orders/<int:order_id>/", views.order_detail, name="order"),
    path("orders/<int:order_id>/cancel/", views.order_cancel, name="order_cancel"),
    path("card/", views.my_card, name="card"),
    path("counter/", views.counter, name="counter"),
    path("manage/", views.manage, name="manage"),
    path("manage/<int:community_id>/windows/", views.window_new, name="window_new"),
    path("manage/<int:community_id>/settings/", views.settings_save, name="settings"),
    path("manage/<int:community_id>/alliance/", views.alliance_join, name="alliance_join"),
    path("manage/alliance/<int:membership_id>/end/", views.alliance_end, name="alliance_end"),
    path("manage/alliance/<int:membership_id>/agreement/", views.alliance_agreement, name="alliance_agreement"),
    path("settlement/", views.settlement, name="settlement"),
    path("settlement.xlsx", views.settlement_xlsx, name="settlement_xlsx"),
    path("stock/", views.stock, name="stock"),
]
