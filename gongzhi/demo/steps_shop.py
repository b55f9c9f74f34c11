"""Demo step: the points shop, made through the services (stock movements, holds and captures are real).

- The main community's merchants join its alliance (商居联盟) with signed agreements; the pharmacy joins the
  street's alliance, so its offer shows in every community of the street.
- The community's own points shop (爱心超市) and each merchant publish offers, approved by the secretary:
  goods, services, a "50 yuan buys 55" points-plus-cash promotion (seed 001), a breakfast with a limit per window.
- Exchange in quarterly windows (一季一兑换): last quarter's window, and this one open now (since three days).
- Orders during the open window: a dozen residents with enough points redeem (placed at the counter by the
  secretary for them); most are picked up, the newest wait. The ``resident`` login has one order picked up at the
  ``merchant`` login's shop and one waiting, so the counter, the settlement and "my orders" all have something.

``top_up`` brings a shop loaded on an earlier day current: orders past their pickup time expire (as the hourly job
does), offers running out of dates or stock are renewed or restocked, a window opens if none is open now, and
new orders are placed (some waiting at the counter) when none waits.

Deterministic for a seed and a day (pickup and card codes come from ``context.rng``) and quick.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, time, timedelta
from decimal import Decimal
from unittest import mock

from django.utils import timezone
from django.utils.translation import gettext_lazy

from gongzhi.core.errors import DomainError
from gongzhi.core.roles import Role
from gongzhi.core.tree import subtree_q
from gongzhi.people.models import Organisation, OrganisationKind, RoleAssignment

TITLE = gettext_lazy("Points shop: offers, exchange windows and orders")

# (name prefix of the merchant, title, kind, points, cash, value given, stock, limit per window)
MERCHANT_OFFERS = (
    ("惠民超市", "购物满50元送55元（积分抵5元）", "discount", 20, "50", "5", 200, None),
    ("惠民超市", "土鸡蛋一盒", "goods", 30, "0", "12", 40, 2),
    ("便民理发店", "理发一次", "service", 40, "0", "20", 30, 1),
    ("口腔诊所", "口腔检查一次", "service", 50, "0", "60", 20, 1),
    ("好邻居早餐店", "早餐一份", "goods", 10, "0", "8", 100, 2),
    ("洁美洗衣店", "洗衣八折券", "discount", 15, "0", "10", 50, None),
)
STREET_OFFER = ("仁和大药房", "血压血糖检测 + 健康咨询", "service", 30, "0", "25", 60, 1)
OWN_SHOP = (
    ("大米 5 公斤", 80, 20, 1),
    ("食用油 1.8 升", 60, 20, 1),
    ("洗衣液", 30, 40, 2),
    ("毛巾两条", 10, 60, None),
    ("雨伞", 25, 30, 1),
)
ORDERS = 12  # accounts that redeem in a window (besides the resident login)
WINDOW_DAYS = 14
WINDOW_OPENED_DAYS_AGO = 3
VALID_DAYS = 180
RENEW_WITHIN_DAYS = 30  # offers valid for less than this are published again
LOW_STOCK = 10
ORDERS_SINCE = timedelta(hours=60)  # orders of a load are placed over the last 60 hours (pickup time is 72)


def is_loaded() -> bool:
    from gongzhi.shop.models import Offer

    from .figures import DEMO_DISTRICT_CODE

    return Offer.objects.filter(community__path__startswith=_district_path(DEMO_DISTRICT_CODE)).exists()


def _district_path(code: str) -> str:
    from gongzhi.places.models import Place, PlaceKind

    district = Place.objects.filter(kind=PlaceKind.DISTRICT, code=code, is_active=True).first()
    return district.path if district else "/nonexistent/"


@contextmanager
def _codes(context, stream: str):
    """Pickup and card codes from the demo's own generator, so a seed gives the same data."""
    from gongzhi.shop import services

    rng = context.rng(stream)
    with (
        mock.patch.object(services, "_new_code", lambda: f"{rng.randrange(1_000_000):06d}"),
        mock.patch.object(services, "_new_card_code", lambda: f"{rng.randrange(100_000_000):08d}"),
    ):
        yield services


def load(context) -> dict[str, int]:
    with _codes(context, "shop") as services:
        return _load(context, services)


def _quarter_name(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local:%Y}年第{(local.month - 1) // 3 + 1}季度兑换"


def _load(context, services) -> dict[str, int]:
    from gongzhi.shop.selectors import quarter_start

    community = context.main_community
    street = community.parent
    secretary = context.account("secretary")
    admin = context.account("admin")
    now, today = context.now, context.today
    counts = {"alliance": 0, "offer": 0, "window": 0, "order": 0}

    merchants = list(
        Organisation.objects.filter(place=community, kind=OrganisationKind.MERCHANT, is_active=True).order_by("pk")
    )
    signed = today - timedelta(days=200)
    for merchant in merchants:
        place = street if merchant.name.startswith(STREET_OFFER[0]) else community
        services.alliance_join(actor=admin, merchant=merchant, place=place, agreement_signed_on=signed, now=now)
        counts["alliance"] += 1

    services.shop_settings_update(actor=secretary, community=community, always_open=False, unclaimed_expiry_hours=72)
    last_start = (quarter_start(now) - timedelta(days=80)).replace(day=1)
    services.window_create(
        actor=secretary,
        community=community,
        name=_quarter_name(last_start),
        starts_at=last_start,
        ends_at=last_start + timedelta(days=WINDOW_DAYS),
    )
    counts["window"] = 1 + _open_window(context, services, community)

    by_prefix = {next((p for p in _prefixes() if m.name.startswith(p)), m.name): m for m in merchants}
    offers = []
    for title, points, stock, limit in OWN_SHOP:
        offers.append(
            _publish(context, services, community, None, title, "goods", points, "0", str(points / 10), stock, limit)
        )
    for prefix, *rest in MERCHANT_OFFERS:
        if prefix in by_prefix:
            offers.append(_publish(context, services, community, by_prefix[prefix], *rest))
    if STREET_OFFER[0] in by_prefix:
        offers.append(_publish(context, services, street, by_prefix[STREET_OFFER[0]], *STREET_OFFER[1:]))
    counts["offer"] = len(offers)
    counts["order"] = _orders(context, services, community, offers, secretary, admin)
    return counts


def _publish(context, services, place, merchant, title, kind, points, cash, value, stock, limit):
    """An offer made, submitted and approved by the staff of ``place``, valid from a month ago for half a year."""
    actor = context.account("secretary" if place == context.main_community else "street")
    data = services.OfferInput(
        title=title,
        kind=kind,
        points_price=points,
        cash_price=Decimal(cash),
        discount_value=Decimal(value),
        stock=stock,
        per_person_limit=limit,
        valid_from=context.today - timedelta(days=30),
        valid_until=context.today + timedelta(days=VALID_DAYS),
    )
    offer = services.offer_create(actor=actor, community=place, merchant=merchant, data=data)
    services.offer_submit(actor=actor, offer=offer)
    return services.offer_approve(actor=actor, offer=offer, now=context.now)


def _prefixes() -> list[str]:
    return [row[0] for row in MERCHANT_OFFERS] + [STREET_OFFER[0]]


def _open_window(context, services, community) -> int:
    """This quarter's window, open now: from three days ago (or the end of the last window) for two weeks."""
    from gongzhi.shop.models import ExchangeWindow

    now = context.now
    if services.window_state(community.pk, now).open:
        return 0
    starts = timezone.make_aware(datetime.combine(context.today - timedelta(days=WINDOW_OPENED_DAYS_AGO), time(8)))
    before = ExchangeWindow.objects.filter(community=community, starts_at__lte=now).order_by("-ends_at").first()
    if before is not None and before.ends_at > starts:
        starts = before.ends_at
    ends = max(starts + timedelta(days=WINDOW_DAYS), now + timedelta(days=WINDOW_DAYS - WINDOW_OPENED_DAYS_AGO))
    after = ExchangeWindow.objects.filter(community=community, starts_at__gt=now).order_by("starts_at").first()
    if after is not None:
        ends = min(ends, after.starts_at)
    services.window_create(
        actor=context.account("secretary"), community=community, name=_quarter_name(now), starts_at=starts, ends_at=ends
    )
    return 1


def _order_moments(context, community, count: int) -> list[datetime]:
    """``count`` moments in the open window, oldest first, spread over the last 60 hours (all before now)."""
    from gongzhi.shop.selectors import window_state

    now = context.now
    state = window_state(community.pk, now)
    start = now - ORDERS_SINCE
    if state.window is not None:
        start = max(start, state.window.starts_at)
    return [start + (now - start) * (index + 1) / (count + 2) for index in range(count)]


def _orders(context, services, community, offers, secretary, admin, *, key: str = "demo") -> int:
    """A dozen accounts with the points redeem; two in three pick up, the newest wait at the counter."""
    from gongzhi.points.models import PointsAccount

    rng = context.rng(f"shop-orders:{key}")
    cheapest = min(offer.points_price for offer in offers)
    logins = [context.account(name).resident_id for name in ("resident", "partymember")]
    accounts = list(
        PointsAccount.objects.filter(
            subtree_q(community.path, "place_path"), kind__in=("resident", "party_member"), balance__gte=cheapest
        )
        .exclude(resident_id__in=logins)
        .order_by("-balance", "pk")[:ORDERS]
    )
    clerk_offers = _clerk_offers(context, offers)
    moments = _order_moments(context, community, len(accounts) + 2)
    placed = 0
    for index, account in enumerate(accounts):
        # The first orders go to the demo clerk's shop, so its counter and settlement have something to show.
        pool = clerk_offers if index < 2 and clerk_offers else offers
        affordable = [offer for offer in pool if offer.points_price <= account.balance] or [
            offer for offer in offers if offer.points_price <= account.balance
        ]
        offer = affordable[rng.randrange(len(affordable))]
        placed_at = moments[index]
        with context.clock(placed_at):
            try:
                order = services.redemption_place(
                    actor=secretary, offer=offer, account=account, idempotency_key=f"{key}-{account.pk}", now=placed_at
                )
            except DomainError:
                continue
        placed += 1
        if index % 3 != 1 and index < len(accounts) - 1:  # two in three are picked up; the newest waits
            picked_up = placed_at + (context.now - placed_at) / 3
            with context.clock(picked_up):
                services.redemption_verify(
                    actor=_verifier(order, secretary, admin), code=order.pickup_code, now=picked_up, **_counter(order)
                )
    placed += _resident_login_orders(context, services, offers, clerk_offers, moments[-2:], key=key)
    return placed


def _clerk_offers(context, offers) -> list:
    role = RoleAssignment.objects.filter(account=context.account("merchant"), role=Role.MERCHANT_CLERK).first()
    return [offer for offer in offers if role is not None and offer.merchant_id == role.organisation_id]


def _verifier(order, secretary, admin):
    return secretary if order.offer.merchant_id is None else admin


def _counter(order) -> dict:
    return {"merchant": order.offer.merchant} if order.offer.merchant_id else {"community": order.offer.community}


def _resident_login_orders(context, services, offers, clerk_offers, moments, *, key: str) -> int:
    """The ``resident`` login: one order picked up at the clerk's shop, then the cheapest other one waiting."""
    login = context.account("resident")
    account = services.ensure_resident_account(login)
    clerk = context.account("merchant")
    placed = 0
    waiting = sorted((o for o in offers if o not in clerk_offers), key=lambda offer: offer.points_price)
    plans = ((clerk_offers, True, f"{key}-resident-1"), (waiting, False, f"{key}-resident-2"))
    for (pool, verify, order_key), placed_at in zip(plans, moments, strict=True):
        account.refresh_from_db()
        affordable = sorted((o for o in pool if o.points_price <= account.balance), key=lambda o: o.points_price)
        if not affordable:
            continue
        with context.clock(placed_at):
            try:
                order = services.redemption_place(
                    actor=login, offer=affordable[0], account=account, idempotency_key=order_key, now=placed_at
                )
            except DomainError:  # the limit of this window reached
                continue
        placed += 1
        if verify:
            picked_up = placed_at + (context.now - placed_at) / 3
            with context.clock(picked_up):
                services.redemption_verify(
                    actor=clerk, code=order.pickup_code, merchant=affordable[0].merchant, now=picked_up
                )
    if account is not None:
        services.points_card_issue(actor=login, account=account, now=context.now)
    return placed


# ---------------------------------------------------------------- top-up


def top_up(context, now: datetime) -> dict[str, int]:
    """Bring a shop loaded on an earlier day current at ``now``; nothing when orders wait and a window is open."""
    with _codes(context, f"shop:{context.today:%Y-%m-%d}") as services:
        return _top_up(context, services)


def _top_up(context, services) -> dict[str, int]:
    from gongzhi.shop.models import Offer, Redemption

    community = context.main_community
    now = context.now
    counts = {"order_expired": services.redemptions_expire(now=now)}
    offers = []
    shelf = Offer.objects.filter(community__path__startswith=community.parent.path, state=Offer.State.APPROVED)
    renewed = restocked = 0
    for offer in shelf.select_related("community", "merchant").order_by("pk"):
        if offer.valid_until < context.today + timedelta(days=RENEW_WITHIN_DAYS):
            offer = _renew(context, services, offer)
            renewed += 1
        elif offer.stock < LOW_STOCK:
            actor = context.account("secretary" if offer.community_id == community.pk else "street")
            with context.clock(now):
                offer = services.offer_restock(actor=actor, offer=offer, change=LOW_STOCK * 3, note="")
            restocked += 1
        offers.append(offer)
    counts.update(offer_renewed=renewed, offer_restocked=restocked)
    counts["window"] = _open_window(context, services, community)
    waiting = Redemption.objects.filter(
        offer__community__path__startswith=community.parent.path, state=Redemption.State.HELD, expires_at__gt=now
    )
    counts["order"] = 0
    if offers and not waiting.exists():
        secretary, admin = context.account("secretary"), context.account("admin")
        counts["order"] = _orders(
            context, services, community, offers, secretary, admin, key=f"demo-{context.today:%Y%m%d}"
        )
    return counts


def _renew(context, services, offer):
    """An offer about to run out of dates: taken off the shelf and published again for the next half year."""
    actor = context.account("secretary" if offer.community_id == context.main_community.pk else "street")
    services.offer_withdraw(actor=actor, offer=offer)
    return _publish(
        context,
        services,
        offer.community,
        offer.merchant,
        offer.title,
        offer.kind,
        offer.points_price,
        str(offer.cash_price),
        str(offer.discount_value),
        max(offer.stock, LOW_STOCK * 3),
        offer.per_person_limit,
    )
