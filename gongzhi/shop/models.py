"""The points shop and the merchant alliance: offers with stock, exchange windows, redemptions with pickup codes.

Redemption is where money-like value leaves the system: placing an order holds the points (a ledger hold) and the
stock in one transaction; the clerk's verification captures the hold; cancelling or expiry releases both.
Stock changes only through guarded updates, and every change is a StockMovement row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gongzhi.people.models import Organisation
from gongzhi.places.models import Place
from gongzhi.points.models import PointsAccount, Transfer


class AllianceMembership(models.Model):
    """A merchant's membership of a community's (or street's) alliance (商居联盟), with its signed agreement."""

    class State(models.TextChoices):
        ACTIVE = "active", _("active")
        ENDED = "ended", _("ended")

    merchant = models.ForeignKey(
        Organisation, verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="alliance_memberships"
    )
    place = models.ForeignKey(Place, verbose_name=_("alliance of"), on_delete=models.PROTECT, related_name="+")
    agreement_signed_on = models.DateField(_("agreement signed on"))
    agreement_file = models.FileField(_("agreement"), upload_to="alliance/", blank=True)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.ACTIVE)
    joined_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("alliance membership")
        verbose_name_plural = _("alliance memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "place"], condition=Q(state="active"), name="alliance_one_active_membership"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id} @ {self.place_id}"


class ShopSettings(models.Model):
    """Per community: exchange always open or only in windows; how long an unclaimed order is held."""

    community = models.OneToOneField(Place, on_delete=models.PROTECT, related_name="+")
    always_open = models.BooleanField(_("always open"), default=False)
    unclaimed_expiry_hours = models.PositiveIntegerField(_("hours before an unclaimed order expires"), default=72)

    class Meta:
        verbose_name = _("shop settings")
        verbose_name_plural = _("shop settings")

    def __str__(self) -> str:
        return f"{self.community_id}"


class ExchangeWindow(models.Model):
    """An exchange window (一季一兑换): offers are redeemable only inside one, unless the shop is always open."""

    community = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=60)
    starts_at = models.DateTimeField(_("opens"))
    ends_at = models.DateTimeField(_("closes"))

    class Meta:
        verbose_name = _("exchange window")
        verbose_name_plural = _("exchange windows")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="window_ends_after_start")
        ]

    def __str__(self) -> str:
        return self.name


class Offer(models.Model):
    """Goods or a service for points (optionally points plus cash), by a merchant or by the community's own shop."""

    class Kind(models.TextChoices):
        GOODS = "goods", _("goods")
        SERVICE = "service", _("service")
        DISCOUNT = "discount", _("discount")

    class State(models.TextChoices):
        DRAFT = "draft", _("draft")
        PENDING = "pending", _("waiting for approval")
        APPROVED = "approved", _("approved")
        WITHDRAWN = "withdrawn", pgettext_lazy("shop offer", "withdrawn")  # taken off the shelf: 已下架

    merchant = models.ForeignKey(
        Organisation,
        verbose_name=_("merchant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="offers",
        help_text=_("Empty for the community's own points shop."),
    )
    community = models.ForeignKey(
        Place,
        verbose_name=_("community"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The community (or street) that approves and shows the offer."),
    )
    eligible_places = models.ManyToManyField(
        Place,
        verbose_name=_("who may redeem"),
        blank=True,
        related_name="+",
        help_text=_("Communities whose residents may redeem; empty: all."),
    )
    account_kinds = models.JSONField(_("kinds of account that may redeem"), default=list, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.GOODS)
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    photo = models.FileField(_("photo"), upload_to="offers/", blank=True)
    points_price = models.PositiveIntegerField(_("points"))
    cash_price = models.DecimalField(_("cash (yuan)"), max_digits=10, decimal_places=2, default=0)
    discount_value = models.DecimalField(
        _("value given (yuan)"),
        max_digits=10,
        decimal_places=2,
        default=0,
        help_text=_("What the merchant gives up per redemption, for settlement."),
    )
    stock = models.IntegerField(_("stock"))
    per_person_limit = models.PositiveIntegerField(_("limit per person per window"), null=True, blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="offer_stock_not_negative"),
            models.CheckConstraint(condition=Q(points_price__gt=0), name="offer_points_positive"),
            models.CheckConstraint(condition=Q(valid_until__gte=models.F("valid_from")), name="offer_valid_range"),
        ]

    def __str__(self) -> str:
        return self.title


class StockMovement(models.Model):
    """Every change of an offer's stock, append-only: restock, redemption, release, correction."""

    class Reason(models.TextChoices):
        RESTOCK = "restock", _("restocked")
        REDEMPTION = "redemption", _("redeemed")
        RELEASE = "release", _("returned to stock")
        CORRECTION = "correction", _("correction")

    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="stock_movements")
    change = models.IntegerField(_("change"))
    reason = models.CharField(_("reason"), max_length=12, choices=Reason.choices)
    redemption = models.ForeignKey(
        "Redemption", null=True, blank=True, on_delete=models.PROTECT, related_name="stock_movements"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(change=0), name="stockmovement_not_zero")]

    def __str__(self) -> str:
        return f"{self.offer_id} {self.change:+d}"


class Redemption(models.Model):
    """An order: points held and stock taken at placing; completed when the clerk verifies the pickup code."""

    class State(models.TextChoices):
        HELD = "held", _("waiting for pickup")
        COMPLETED = "completed", _("completed")
        CANCELLED = "cancelled", _("cancelled")
        EXPIRED = "expired", _("expired")

    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="redemptions")
    account = models.ForeignKey(PointsAccount, on_delete=models.PROTECT, related_name="redemptions")
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    points = models.PositiveIntegerField(_("points"))
    cash_due = models.DecimalField(_("cash due (yuan)"), max_digits=10, decimal_places=2, default=0)
    discount_value = models.DecimalField(_("value given (yuan)"), max_digits=10, decimal_places=2, default=0)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.HELD, db_index=True)
    pickup_code = models.CharField(_("pickup code"), max_length=6)
    window = models.ForeignKey(ExchangeWindow, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(max_length=120, unique=True)
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    placed_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    hold_transfer = models.OneToOneField(Transfer, on_delete=models.PROTECT, related_name="+")
    finish_transfer = models.OneToOneField(Transfer, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Who verifies the order: "m<merchant id>" for a merchant's offer, "c<community id>" for the community's own
    # shop. A pickup code is unique among the open orders of one counter, so a clerk's typed code finds one order.
    counter = models.CharField(_("counter"), max_length=24, default="", db_index=True)

    class Meta:
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["offer", "pickup_code"], condition=Q(state="held"), name="redemption_open_code_unique_per_offer"
            ),
            models.UniqueConstraint(
                fields=["counter", "pickup_code"],
                condition=Q(state="held"),
                name="redemption_open_code_unique_per_counter",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="redemption_quantity_positive"),
        ]
        indexes = [models.Index(fields=["state", "expires_at"], name="redemption_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.offer_id} {self.account_id} {self.state}"


class PointsCard(models.Model):
    """A resident's points card (红色积分卡 / 一卡通): a signed QR identity plus a short code to type.

    The QR carries the account id and the card's code, signed with the site's key; reissuing a card changes the
    code, so an old printed card or screenshot stops working.
    """

    account = models.OneToOneField(PointsAccount, on_delete=models.PROTECT, related_name="points_card")
    code = models.CharField(_("card code"), max_length=8, unique=True)
    issued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("points card")
        verbose_name_plural = _("points cards")

    def __str__(self) -> str:
        return f"{self.account_id}"
