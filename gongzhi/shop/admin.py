"""Back-office for the points shop, scoped by the access rule. Orders, stock and offers change only through the
services: the admin shows them read-only; its actions (approve offers, end a membership) call the services, and a
new alliance membership is saved through ``alliance_join``."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from gongzhi.core.admin_support import ReadOnlyAdmin, ScopedAdmin
from gongzhi.core.errors import DomainError
from gongzhi.core.roles import Permission

from .models import AllianceMembership, ExchangeWindow, Offer, Redemption, ShopSettings, StockMovement
from .services import alliance_end, alliance_join, offer_approve


class AllianceForm(forms.ModelForm):
    class Meta:
        model = AllianceMembership
        fields = ("merchant", "place", "agreement_signed_on", "agreement_file")


@admin.register(AllianceMembership)
class AllianceMembershipAdmin(ScopedAdmin):
    scope_permission = Permission.SHOP_MANAGE
    scope_path_field = "place__path"
    form = AllianceForm
    list_display = ("merchant", "place", "agreement_signed_on", "state", "joined_at")
    list_filter = ("state",)
    search_fields = ("merchant__name",)
    autocomplete_fields = ()
    actions = ["end_selected"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = alliance_join(
            actor=request.user,
            merchant=data["merchant"],
            place=data["place"],
            agreement_signed_on=data["agreement_signed_on"],
            agreement_file=data.get("agreement_file"),
        )
        obj.pk = saved.pk

    @admin.action(description=_("End the selected memberships"))
    def end_selected(self, request, queryset):
        for membership in queryset:
            try:
                alliance_end(actor=request.user, membership=membership)
            except DomainError as error:
                self.message_user(request, f"{membership}: {error.message}", messages.ERROR)


@admin.register(Offer)
class OfferAdmin(ReadOnlyAdmin):
    scope_permission = Permission.SHOP_MANAGE
    scope_path_field = "community__path"
    list_display = ("title", "merchant", "community", "state", "points_price", "cash_price", "stock", "valid_until")
    list_filter = ("state", "kind")
    search_fields = ("title", "merchant__name")
    actions = ["approve_selected"]

    @admin.action(description=_("Approve the selected offers"))
    def approve_selected(self, request, queryset):
        done = 0
        for offer in queryset.select_related("community"):
            try:
                offer_approve(actor=request.user, offer=offer)
                done += 1
            except DomainError as error:
                self.message_user(request, f"{offer}: {error.message}", messages.ERROR)
        if done:
            self.message_user(request, _("%(count)s offers approved.") % {"count": done})


@admin.register(ExchangeWindow)
class ExchangeWindowAdmin(ReadOnlyAdmin):
    scope_permission = Permission.SHOP_MANAGE
    scope_path_field = "community__path"
    list_display = ("name", "community", "starts_at", "ends_at")


@admin.register(ShopSettings)
class ShopSettingsAdmin(ReadOnlyAdmin):
    scope_permission = Permission.SHOP_MANAGE
    scope_path_field = "community__path"
    list_display = ("community", "always_open", "unclaimed_expiry_hours")


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    scope_permission = Permission.SETTLEMENT_VIEW
    scope_path_field = "offer__community__path"
    list_display = ("at", "offer", "change", "reason", "redemption", "actor", "note")
    list_filter = ("reason",)


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    scope_permission = Permission.SHOP_MANAGE
    scope_path_field = "offer__community__path"
    list_display = ("id", "offer", "account", "quantity", "points", "state", "placed_at", "expires_at", "finished_at")
    list_filter = ("state",)
    search_fields = ("offer__title", "account__display_name")
    exclude = ("pickup_code",)  # the code is the resident's to show; the admin does not need it
