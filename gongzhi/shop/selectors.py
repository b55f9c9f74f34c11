"""Every read of the points shop, scoped to the actor.

- Residents see approved offers open to their account (the offer's community subtree, or its eligible places).
  The account a person spends from is the one /points/ shows them first (``points.selectors.own_accounts``): a
  resident's own, a representative's organisation's.
- Clerks see their merchants' offers and orders; shop staff see everything under the places they manage.
- ``access_<thing>`` returns the object or the same NotFound whether it is missing or out of reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import parse_id, reach
from gongzhi.core.actors import Actor, MaybeAnonymousActor
from gongzhi.core.errors import NotFound
from gongzhi.core.roles import Permission
from gongzhi.core.tree import path_ids
from gongzhi.people.models import Organisation, OrganisationKind
from gongzhi.places.models import Place
from gongzhi.points.selectors import active_account, holder_kinds, own_accounts

from .access import clerk_merchant_ids, may_act_for_account
from .models import AllianceMembership, ExchangeWindow, Offer, Redemption, ShopSettings, StockMovement

if TYPE_CHECKING:
    from gongzhi.points.models import PointsAccount

MAX_QUANTITY = 20


# ---------------------------------------------------------------- the account that pays


def shop_accounts(actor: MaybeAnonymousActor | None) -> list[PointsAccount]:
    """The accounts the actor spends from, in the order /points/ shows them (``own_accounts``).

    A resident's own (party member first), a representative's organisation's. A resident whose account is not
    made yet gets it unsaved (no points): reading the shop writes nothing.
    """
    if actor is None or not getattr(actor, "is_authenticated", False):
        return []
    kinds = holder_kinds()
    return [account for account in own_accounts(cast("Actor", actor)) if account.kind in kinds]


def shop_account(actor: MaybeAnonymousActor | None, account_id: Any = None) -> PointsAccount | None:
    """The account that pays: ``account_id`` when given (one the actor may act for, else NotFound), else the first
    of ``shop_accounts`` (None when the actor has none)."""
    if account_id in (None, ""):
        accounts = shop_accounts(actor)
        return accounts[0] if accounts else None
    own = next((account for account in shop_accounts(actor) if account.pk == parse_id(account_id)), None)
    if own is not None:
        return own
    account = active_account(account_id)
    if account is None or not may_act_for_account(actor, account):
        raise NotFound()
    return account


def resident_accounts(actor: MaybeAnonymousActor | None) -> list[PointsAccount]:
    """The actor's own accounts that exist already (saved), for reach checks."""
    return [account for account in shop_accounts(actor) if account.pk]


# ---------------------------------------------------------------- exchange windows


@dataclass(frozen=True)
class WindowState:
    open: bool
    window: ExchangeWindow | None
    next_window: ExchangeWindow | None = None


def window_state(community_id: int | None, now: datetime | None = None) -> WindowState:
    """Whether exchange is open now for residents of ``community_id``, and in which window."""
    now = now or timezone.now()
    settings = ShopSettings.objects.filter(community_id=community_id).first() if community_id else None
    if settings is not None and settings.always_open:
        return WindowState(True, None)
    window = (
        ExchangeWindow.objects.filter(community_id=community_id, starts_at__lte=now, ends_at__gt=now)
        .order_by("starts_at")
        .first()
    )
    if window is not None:
        return WindowState(True, window)
    upcoming = ExchangeWindow.objects.filter(community_id=community_id, starts_at__gt=now).order_by("starts_at").first()
    return WindowState(False, None, upcoming)


def quarter_start(now: datetime) -> datetime:
    """The first moment of the calendar quarter (Asia/Shanghai) of ``now``."""
    local = timezone.localtime(now)
    month = 3 * ((local.month - 1) // 3) + 1
    return local.replace(month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


# ---------------------------------------------------------------- eligibility and how many


def offer_eligible(offer: Offer, account: PointsAccount) -> bool:
    """Eligible places given: the account lies under one of them; none given: under the offer's community."""
    if offer.account_kinds and account.kind not in offer.account_kinds:
        return False
    ids = set(path_ids(account.place_path))
    eligible = [place.pk for place in offer.eligible_places.all()]
    if eligible:
        return bool(ids & set(eligible))
    return offer.community_id in ids


def quantity_taken(offer: Offer, account: PointsAccount, window: WindowState, now: datetime) -> int:
    """How many of the offer the account holds or picked up in this exchange window (or quarter, always open)."""
    if not account.pk:
        return 0
    taken = Redemption.objects.filter(
        offer=offer, account=account, state__in=(Redemption.State.HELD, Redemption.State.COMPLETED)
    )
    taken = taken.filter(window=window.window) if window.window else taken.filter(placed_at__gte=quarter_start(now))
    return taken.aggregate(total=Sum("quantity"))["total"] or 0


@dataclass(frozen=True)
class RedeemChoice:
    """How many of an offer the account can order now, and if none, why (shown beside a disabled button)."""

    most: int
    reason: str = ""
    shortfall: int = 0  # points missing for one
    limit_left: int | None = None  # None: no per-person limit

    @property
    def possible(self) -> bool:
        return self.most > 0


def redeem_choice(offer: Offer, account: PointsAccount, *, window: WindowState, now: datetime) -> RedeemChoice:
    """The most the account can order: the per-person limit left, the stock, what the balance affords, 20.

    The page sets the quantity field's maximum from it and says why the button is off; ``redemption_place``
    checks the same three under its lock and refuses with the matching code.
    """
    limit_left = None
    if offer.per_person_limit:
        limit_left = max(0, offer.per_person_limit - quantity_taken(offer, account, window, now))
    balance = account.balance if account.pk else 0
    affordable = balance // offer.points_price if offer.points_price > 0 else MAX_QUANTITY
    most = min(MAX_QUANTITY, offer.stock, affordable, MAX_QUANTITY if limit_left is None else limit_left)
    if offer.stock <= 0:
        return RedeemChoice(0, _("Out of stock"), limit_left=limit_left)
    if limit_left == 0:
        reason = _("You have redeemed the limit of %(limit)s in this exchange window") % {
            "limit": offer.per_person_limit
        }
        return RedeemChoice(0, reason, limit_left=0)
    if affordable <= 0:
        shortfall = offer.points_price - balance
        return RedeemChoice(
            0, _("%(points)s points short") % {"points": shortfall}, shortfall=shortfall, limit_left=limit_left
        )
    return RedeemChoice(most, limit_left=limit_left)


def _visible_to_account_q(account: PointsAccount) -> Q:
    ids = path_ids(account.place_path)
    return Q(eligible_places__isnull=True, community_id__in=ids) | Q(eligible_places__in=ids)


def offers_for_account(account: PointsAccount, *, now: datetime | None = None) -> QuerySet[Offer]:
    """Approved offers valid today (or later) that this account may redeem."""
    today = timezone.localdate(now or timezone.now())
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


def _staff_offer_q(actor: Actor) -> Q:
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


def access_offer(actor: MaybeAnonymousActor | None, offer_id: Any) -> Offer:
    """An offer the actor may see: staff/clerks any state in reach, a resident an approved offer open to them."""
    pk = parse_id(offer_id)
    if pk is None or actor is None or not getattr(actor, "is_authenticated", False):
        raise NotFound()
    offer = Offer.objects.select_related("merchant", "community").filter(pk=pk).first()
    if offer is None:
        raise NotFound()
    if actor.is_superuser or Offer.objects.filter(_staff_offer_q(cast("Actor", actor)), pk=pk).exists():
        return offer
    if offer.state == Offer.State.APPROVED:
        for account in shop_accounts(actor):
            if Offer.objects.filter(_visible_to_account_q(account), pk=pk).exists():
                return offer
    raise NotFound()


def managed_offers(actor: Actor, *, state: str | None = None) -> QuerySet[Offer]:
    """Offers in the actor's shop work (staff reach or their merchants), newest first."""
    qs = Offer.objects.select_related("merchant", "community")
    if not actor.is_superuser:
        qs = qs.filter(_staff_offer_q(actor))
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-created_at", "-pk")


def offers_to_approve(actor: Actor) -> QuerySet[Offer]:
    approve = reach(actor, Permission.OFFER_APPROVE)
    if approve.is_empty:
        return Offer.objects.none()
    return (
        Offer.objects.filter(approve.q("community__path"), state=Offer.State.PENDING)
        .select_related("merchant", "community")
        .order_by("created_at", "pk")
    )


def my_orders(actor: Actor, *, state: str | None = None) -> QuerySet[Redemption]:
    """The orders of the actor's own accounts (a representative: the organisation's), newest first."""
    qs = Redemption.objects.filter(account_id__in=[account.pk for account in resident_accounts(actor)])
    if state:
        qs = qs.filter(state=state)
    return qs.select_related("offer__merchant", "offer__community").order_by("-placed_at", "-pk")


def access_redemption(actor: Actor, redemption_id: Any) -> Redemption:
    """An order the actor may see: its account's holder, a clerk of its counter, or shop staff over it."""
    pk = parse_id(redemption_id)
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


def clerk_merchants(actor: Actor) -> list[Organisation]:
    ids = clerk_merchant_ids(actor)
    return list(Organisation.objects.filter(pk__in=ids).order_by("name")) if ids else []


def access_merchant(actor: Actor, merchant_id: Any) -> Organisation:
    """A merchant the actor clerks for, or one under the places the actor manages the shop or settlement of."""
    pk = parse_id(merchant_id)
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


def access_shop_place(actor: Actor, place_id: Any, permission: str = Permission.SHOP_MANAGE) -> Place:
    pk = parse_id(place_id)
    place = Place.objects.filter(pk=pk, is_active=True).first() if pk is not None else None
    if place is None or not reach(actor, permission).covers(place.path):
        raise NotFound()
    return place


def shop_places(actor: Actor, permission: str = Permission.SHOP_MANAGE) -> list[Place]:
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
        .order_by("state", "-placed_at", "-pk")
    )


def windows_of(community: Place) -> QuerySet[ExchangeWindow]:
    return ExchangeWindow.objects.filter(community=community).order_by("-starts_at")


def alliance_of(place: Place) -> QuerySet[AllianceMembership]:
    return AllianceMembership.objects.filter(place=place).select_related("merchant").order_by("state", "merchant__name")


def access_membership(actor: Actor, membership_id: Any) -> AllianceMembership:
    """An alliance membership whose community or street the actor manages the shop of; else NotFound."""
    pk = parse_id(membership_id)
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


def parse_month(text: str | None, *, now: datetime | None = None) -> date:
    """The first day of the month written ``YYYY-MM``; the month of ``now`` (default: this one) if unreadable."""
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        return date(year, month, 1)
    except (TypeError, ValueError):
        return timezone.localdate(now or timezone.now()).replace(day=1)


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


def _settlement_scope(actor: Actor, merchant: Organisation | None) -> Q | None:
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


def settlement(actor: Actor, month: date, *, merchant: Organisation | None = None) -> list[SettlementRow]:
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


def stock_movements(actor: Actor, month: date, *, community: Place | None = None) -> QuerySet[StockMovement]:
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


# ---------------------------------------------------------------- personal data (collected by people.personal_data)


def personal_data_of(resident: Any, account: Any) -> list[dict[str, Any]]:
    """What the shop holds about ``resident``: the orders of their points accounts and their points card (issued
    date only: the card's code is a credential). Read-only plain rows; the caller has checked who asks."""
    from .models import PointsCard

    orders = (
        Redemption.objects.filter(account__resident=resident).select_related("offer").order_by("placed_at", "pk")
        if resident is not None
        else Redemption.objects.none()
    )
    cards = PointsCard.objects.filter(account__resident=resident) if resident is not None else PointsCard.objects.none()
    return [
        {
            "key": "shop.orders",
            "title": _("Points shop orders"),
            "columns": [
                ("placed_at", _("placed at")),
                ("offer", _("offer")),
                ("quantity", _("quantity")),
                ("points", _("points")),
                ("state", _("state")),
                ("finished_at", _("finished at")),
            ],
            "rows": [
                {
                    "placed_at": order.placed_at,
                    "offer": order.offer.title,
                    "quantity": order.quantity,
                    "points": order.points,
                    "state": order.get_state_display(),
                    "finished_at": order.finished_at,
                }
                for order in orders
            ],
        },
        {
            "key": "shop.cards",
            "title": _("Points card"),
            "columns": [("issued_at", _("issued at"))],
            "rows": [{"issued_at": card.issued_at} for card in cards.order_by("pk")],
        },
    ]
