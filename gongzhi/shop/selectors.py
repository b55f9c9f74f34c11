"""Every read of the points shop, scoped to the actor.

- Residents see approved offers open to their account (the offer's community subtree, or its eligible places).
- Clerks see their merchants' offers and orders; shop staff see everything under the places they manage.
- ``access_<thing>`` returns the object or the same NotFound whether it is missing or out of reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from gongzhi.core.access import reach
from gongzhi.core.errors import NotFound
from gongzhi.core.roles import Permission
from gongzhi.people.models import Organisation, OrganisationKind
from gongzhi.places.models import Place
from gongzhi.points.models import PointsAccount

from .models import AllianceMembership, ExchangeWindow, Offer, Redemption, StockMovement
from .services import _path_ids, clerk_merchant_ids, may_act_for_account


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def resident_accounts(actor: Any) -> list[PointsAccount]:
    """The signed-in resident's own points accounts (party member first)."""
    if getattr(actor, "resident_id", None) is None:
        return []
    return list(
        PointsAccount.objects.filter(resident_id=actor.resident_id, kind__in=("party_member", "resident")).order_by(
            "kind"
        )
    )


def _visible_to_account_q(account: PointsAccount) -> Q:
    ids = _path_ids(account.place_path)
    return Q(eligible_places__isnull=True, community_id__in=ids) | Q(eligible_places__in=ids)


def offers_for_account(account: PointsAccount, *, today: date | None = None) -> QuerySet[Offer]:
    """Approved offers valid today (or later) that this account may redeem."""
    today = today or timezone.localdate()
    matching = (
        Offer.objects.filter(state=Offer.State.APPROVED, valid_until__gte=today)
        .filter(_visible_to_account_q(account))
        .values("pk")
    )
    kinds_ok = [
        offer_id
        for offer_id, kinds in Offer.objects.filter(pk__in=matching).values_list("pk", "account_kinds")
        if not kinds or account.kind in kinds
    ]
    return (
        Offer.objects.filter(pk__in=kinds_ok)
        .select_related("merchant", "community")
        .order_by("merchant_id", "points_price", "pk")
    )


def _staff_offer_q(actor: Any) -> Q:
    manage = reach(actor, Permission.SHOP_MANAGE)
    approve = reach(actor, Permission.OFFER_APPROVE)
    q = Q(pk__in=[])
    if not manage.is_empty:
        q |= manage.q("community__path")
    if not approve.is_empty:
        q |= approve.q("community__path")
    merchants = clerk_merchant_ids(actor)
    if merchants:
        q |= Q(merchant_id__in=merchants)
    return q


def access_offer(actor: Any, offer_id: Any) -> Offer:
    """An offer the actor may see: staff/clerks any state in reach, a resident an approved offer open to them."""
    pk = _int(offer_id)
    if pk is None or actor is None or not getattr(actor, "is_authenticated", False):
        raise NotFound()
    offer = Offer.objects.select_related("merchant", "community").filter(pk=pk).first()
    if offer is None:
        raise NotFound()
    if actor.is_superuser or Offer.objects.filter(_staff_offer_q(actor), pk=pk).exists():
        return offer
    if offer.state == Offer.State.APPROVED:
        for account in resident_accounts(actor):
            if Offer.objects.filter(_visible_to_account_q(account), pk=pk).exists():
                return offer
    raise NotFound()


def managed_offers(actor: Any, *, state: str | None = None) -> QuerySet[Offer]:
    """Offers in the actor's shop work (staff reach or their merchants), newest first."""
    qs = Offer.objects.select_related("merchant", "community")
    if not actor.is_superuser:
        qs = qs.filter(_staff_offer_q(actor))
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-created_at", "-pk")


def offers_to_approve(actor: Any) -> QuerySet[Offer]:
    approve = reach(actor, Permission.OFFER_APPROVE)
    if approve.is_empty:
        return Offer.objects.none()
    return (
        Offer.objects.filter(approve.q("community__path"), state=Offer.State.PENDING)
        .select_related("merchant", "community")
        .order_by("created_at", "pk")
    )


def my_orders(actor: Any, *, state: str | None = None) -> QuerySet[Redemption]:
    qs = Redemption.objects.filter(account__resident_id=getattr(actor, "resident_id", None) or -1)
    if state:
        qs = qs.filter(state=state)
    return qs.select_related("offer__merchant", "offer__community").order_by("-placed_at", "-pk")


def access_redemption(actor: Any, redemption_id: Any) -> Redemption:
    """An order the actor may see: its account's holder, a clerk of its counter, or shop staff over it."""
    pk = _int(redemption_id)
    if pk is None or actor is None or not getattr(actor, "is_authenticated", False):
        raise NotFound()
    redemption = (
        Redemption.objects.select_related("offer__merchant", "offer__community", "account").filter(pk=pk).first()
    )
    if redemption is None:
        raise NotFound()
    if may_act_for_account(actor, redemption.account):
        return redemption
    if redemption.offer.merchant_id and redemption.offer.merchant_id in clerk_merchant_ids(actor):
        return redemption
    if reach(actor, Permission.SHOP_MANAGE).covers(redemption.offer.community.path):
        return redemption
    raise NotFound()


def clerk_merchants(actor: Any) -> list[Organisation]:
    ids = clerk_merchant_ids(actor)
    return list(Organisation.objects.filter(pk__in=ids).order_by("name")) if ids else []


def access_merchant(actor: Any, merchant_id: Any) -> Organisation:
    """A merchant the actor clerks for, or one under the places the actor manages the shop or settlement of."""
    pk = _int(merchant_id)
    if pk is None or actor is None or not getattr(actor, "is_authenticated", False):
        raise NotFound()
    merchant = Organisation.objects.select_related("place").filter(pk=pk, kind=OrganisationKind.MERCHANT).first()
    if merchant is None:
        raise NotFound()
    if actor.is_superuser or pk in clerk_merchant_ids(actor):
        return merchant
    for permission in (Permission.SHOP_MANAGE, Permission.SETTLEMENT_VIEW):
        if reach(actor, permission).covers(merchant.place.path):
            return merchant
    raise NotFound()


def access_shop_place(actor: Any, place_id: Any, permission: str = Permission.SHOP_MANAGE) -> Place:
    pk = _int(place_id)
    place = Place.objects.filter(pk=pk, is_active=True).first() if pk is not None else None
    if place is None or not reach(actor, permission).covers(place.path):
        raise NotFound()
    return place


def shop_places(actor: Any, permission: str = Permission.SHOP_MANAGE) -> list[Place]:
    """Communities and streets in the actor's reach for ``permission`` (for pickers), at most 200."""
    scope = reach(actor, permission)
    if scope.is_empty:
        return []
    return list(
        Place.objects.filter(scope.q(), kind__in=("community", "street"), is_active=True).order_by("path")[:200]
    )


def counter_orders_today(counter: str, *, now: datetime | None = None) -> QuerySet[Redemption]:
    """A counter's orders placed or finished today (Asia/Shanghai), open ones first."""
    now = timezone.localtime(now or timezone.now())
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        Redemption.objects.filter(counter=counter)
        .filter(Q(placed_at__gte=start) | Q(finished_at__gte=start) | Q(state="held"))
        .select_related("offer", "account")
        .order_by("state", "-placed_at")[:200]
    )


def windows_of(community: Place) -> QuerySet[ExchangeWindow]:
    return ExchangeWindow.objects.filter(community=community).order_by("-starts_at")


def alliance_of(place: Place) -> QuerySet[AllianceMembership]:
    return AllianceMembership.objects.filter(place=place).select_related("merchant").order_by("state", "merchant__name")


def access_membership(actor: Any, membership_id: Any) -> AllianceMembership:
    """An alliance membership whose community or street the actor manages the shop of; else NotFound."""
    pk = _int(membership_id)
    membership = (
        AllianceMembership.objects.select_related("merchant", "place").filter(pk=pk).first() if pk is not None else None
    )
    if membership is None or not reach(actor, Permission.SHOP_MANAGE).covers(membership.place.path):
        raise NotFound()
    return membership


def merchants_to_enrol(place: Place) -> QuerySet[Organisation]:
    """Merchants located under ``place`` that are not active members of its alliance yet."""
    members = AllianceMembership.objects.filter(place=place, state=AllianceMembership.State.ACTIVE)
    return merchants_near(place).exclude(pk__in=members.values("merchant_id"))


def merchants_near(place: Place) -> QuerySet[Organisation]:
    """Merchants located in the place's subtree (candidates for its alliance)."""
    from gongzhi.core.tree import subtree_q

    return Organisation.objects.filter(
        subtree_q(place.path, "place__path"), kind=OrganisationKind.MERCHANT, is_active=True
    ).order_by("name")


# ---------------------------------------------------------------- settlement


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of a calendar month in Asia/Shanghai, as aware datetimes."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    tz = timezone.get_current_timezone()
    return (
        timezone.make_aware(datetime.combine(first, time.min), tz),
        timezone.make_aware(datetime.combine(following, time.min), tz),
    )


def parse_month(text: str | None) -> date:
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        return date(year, month, 1)
    except (TypeError, ValueError):
        return timezone.localdate().replace(day=1)


@dataclass
class SettlementRow:
    merchant_id: int | None
    merchant_name: str
    community_name: str
    orders: int
    quantity: int
    points: int
    discount_value: Decimal
    cash_due: Decimal


def _yuan(value: Any) -> Decimal:
    """Sums come back as Decimal on PostgreSQL and as int or float on SQLite: always two decimal places."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _settlement_scope(actor: Any, merchant: Organisation | None) -> Q | None:
    if merchant is not None:
        return Q(offer__merchant=merchant)
    if actor.is_superuser:
        return Q()
    scope = reach(actor, Permission.SETTLEMENT_VIEW)
    q = scope.q("offer__community__path") if not scope.is_empty else None
    merchants = clerk_merchant_ids(actor)
    if merchants:
        clerk = Q(offer__merchant_id__in=merchants)
        q = clerk if q is None else (q | clerk)
    return q


def settlement(actor: Any, month: date, *, merchant: Organisation | None = None) -> list[SettlementRow]:
    """Per merchant (and per community's own shop) for a month: completed orders, points, value given, cash due.

    Orders count in the month they were completed (picked up). ``merchant`` must come from ``access_merchant``.
    """
    scope = _settlement_scope(actor, merchant)
    if scope is None:
        return []
    start, end = month_bounds(month)
    rows = (
        Redemption.objects.filter(scope, state=Redemption.State.COMPLETED, finished_at__gte=start, finished_at__lt=end)
        .values("offer__merchant_id", "offer__merchant__name", "offer__community__name")
        .annotate(
            orders=Count("pk"),
            quantity=Sum("quantity"),
            points=Sum("points"),
            discount=Sum("discount_value"),
            cash=Sum("cash_due"),
        )
        .order_by("offer__community__name", "offer__merchant__name")
    )
    return [
        SettlementRow(
            merchant_id=row["offer__merchant_id"],
            merchant_name=row["offer__merchant__name"] or "",
            community_name=row["offer__community__name"],
            orders=row["orders"],
            quantity=row["quantity"] or 0,
            points=row["points"] or 0,
            discount_value=_yuan(row["discount"]),
            cash_due=_yuan(row["cash"]),
        )
        for row in rows
    ]


def stock_movements(actor: Any, month: date, *, community: Place | None = None) -> QuerySet[StockMovement]:
    """Stock movements of the offers shown by places in reach (settlement or shop work), in a month."""
    start, end = month_bounds(month)
    qs = StockMovement.objects.filter(at__gte=start, at__lt=end).select_related("offer__merchant", "offer__community")
    if community is not None:
        from gongzhi.core.tree import subtree_q

        qs = qs.filter(subtree_q(community.path, "offer__community__path"))
    if not actor.is_superuser:
        q = Q(pk__in=[])
        for permission in (Permission.SETTLEMENT_VIEW, Permission.SHOP_MANAGE):
            scope = reach(actor, permission)
            if not scope.is_empty:
                q |= scope.q("offer__community__path")
        merchants = clerk_merchant_ids(actor)
        if merchants:
            q |= Q(offer__merchant_id__in=merchants)
        qs = qs.filter(q)
    return qs.order_by("-at", "-pk")
