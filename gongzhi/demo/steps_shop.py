"""Demo step: the points shop, made through the services (stock movements, holds and captures are real).

- The main community's merchants join its alliance (商居联盟) with signed agreements; the pharmacy joins the
  street's alliance, so its offer shows in every community of the street.
- The community's own points shop (爱心超市) and each merchant publish offers, approved by the secretary:
  goods, services, a "50 yuan buys 55" points-plus-cash promotion (seed 001), a breakfast with a limit per window.
- Exchange in quarterly windows (一季一兑换): last quarter's window, and this one open now.
- Orders: a dozen residents with enough points redeem (placed at the counter by the secretary for them); most are
  picked up, a few wait. The ``resident`` login has one order waiting and one picked up at the ``merchant``
  login's shop, so the counter, the settlement and "my orders" all have something to show.

Deterministic for a seed (pickup and card codes come from ``context.rng("shop")``) and quick.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from unittest import mock

from django.utils import timezone

from gongzhi.core.errors import DomainError
from gongzhi.core.roles import Role
from gongzhi.core.tree import subtree_q
from gongzhi.people.models import Organisation, OrganisationKind, RoleAssignment

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


def is_loaded() -> bool:
    from gongzhi.shop.models import Offer

    from .figures import DEMO_DISTRICT_CODE

    return Offer.objects.filter(community__path__startswith=_district_path(DEMO_DISTRICT_CODE)).exists()


def _district_path(code: str) -> str:
    from gongzhi.places.models import Place, PlaceKind

    district = Place.objects.filter(kind=PlaceKind.DISTRICT, code=code, is_active=True).first()
    return district.path if district else "/nonexistent/"


def load(context) -> dict[str, int]:
    from gongzhi.shop import services

    rng = context.rng("shop")
    with (
        mock.patch.object(services, "_new_code", lambda: f"{rng.randrange(1_000_000):06d}"),
        mock.patch.object(services, "_new_card_code", lambda: f"{rng.randrange(100_000_000):08d}"),
    ):
        return _load(context, services)


def _load(context, services) -> dict[str, int]:
    community = context.main_community
    street = community.parent
    secretary = context.account("secretary")
    admin = context.account("admin")
    today = timezone.localdate()
    counts = {"alliance": 0, "offer": 0, "window": 0, "order": 0}

    merchants = list(
        Organisation.objects.filter(place=community, kind=OrganisationKind.MERCHANT, is_active=True).order_by("pk")
    )
    by_prefix = {next((p for p in _prefixes() if m.name.startswith(p)), m.name): m for m in merchants}
    signed = today - timedelta(days=200)
    for merchant in merchants:
        place = street if merchant.name.startswith(STREET_OFFER[0]) else community
        services.alliance_join(actor=admin, merchant=merchant, place=place, agreement_signed_on=signed)
        counts["alliance"] += 1

    services.shop_settings_update(actor=secretary, community=community, always_open=False, unclaimed_expiry_hours=72)
    quarter = services._quarter_start(timezone.now())
    tz = timezone.get_current_timezone()
    last_start = (quarter - timedelta(days=80)).replace(day=1)
    services.window_create(
        actor=secretary,
        community=community,
        name=f"{last_start:%Y}年第{(last_start.month - 1) // 3 + 1}季度兑换",
        starts_at=last_start,
        ends_at=last_start + timedelta(days=14),
    )
    opens = timezone.make_aware(datetime.combine(today - timedelta(days=3), time(8)), tz)
    services.window_create(
        actor=secretary,
        community=community,
        name=f"{today:%Y}年第{(today.month - 1) // 3 + 1}季度兑换",
        starts_at=opens,
        ends_at=opens + timedelta(days=14),
    )
    counts["window"] = 2

    street_admin = context.account("street")

    def publish(place, merchant, title, kind, points, cash, value, stock, limit):
        actor = secretary if place == community else street_admin
        data = services.OfferInput(
            title=title,
            kind=kind,
            points_price=points,
            cash_price=Decimal(cash),
            discount_value=Decimal(value),
            stock=stock,
            per_person_limit=limit,
            valid_from=today - timedelta(days=30),
            valid_until=today + timedelta(days=180),
        )
        offer = services.offer_create(actor=actor, community=place, merchant=merchant, data=data)
        services.offer_submit(actor=actor, offer=offer)
        counts["offer"] += 1
        return services.offer_approve(actor=actor, offer=offer)

    offers = []
    for title, points, stock, limit in OWN_SHOP:
        offers.append(publish(community, None, title, "goods", points, "0", str(points / 10), stock, limit))
    for prefix, *rest in MERCHANT_OFFERS:
        if prefix in by_prefix:
            offers.append(publish(community, by_prefix[prefix], *rest))
    if STREET_OFFER[0] in by_prefix:
        offers.append(publish(street, by_prefix[STREET_OFFER[0]], *STREET_OFFER[1:]))

    counts["order"] += _orders(context, services, community, offers, secretary, admin)
    return counts


def _prefixes() -> list[str]:
    return [row[0] for row in MERCHANT_OFFERS] + [STREET_OFFER[0]]


def _orders(context, services, community, offers, secretary, admin) -> int:
    from gongzhi.points.models import PointsAccount

    rng = context.rng("shop-orders")
    cheapest = min(offer.points_price for offer in offers)
    accounts = list(
        PointsAccount.objects.filter(
            subtree_q(community.path, "place_path"), kind__in=("resident", "party_member"), balance__gte=cheapest
        ).order_by("-balance", "pk")[:12]
    )
    clerk_offers = _clerk_offers(context, offers)
    placed = 0
    for index, account in enumerate(accounts):
        # The first orders go to the demo clerk's shop, so its counter and settlement have something to show.
        pool = clerk_offers if index < 2 and clerk_offers else offers
        affordable = [offer for offer in pool if offer.points_price <= account.balance] or [
            offer for offer in offers if offer.points_price <= account.balance
        ]
        offer = affordable[rng.randrange(len(affordable))]
        try:
            order = services.redemption_place(
                actor=secretary, offer=offer, account=account, idempotency_key=f"demo-{account.pk}"
            )
        except DomainError:
            continue
        placed += 1
        if index % 3 != 1:  # two in three are picked up, the rest wait at the counter
            services.redemption_verify(
                actor=_verifier(order, secretary, admin), code=order.pickup_code, **_counter(order)
            )
    placed += _resident_login_orders(context, services, offers, clerk_offers)
    return placed


def _clerk_offers(context, offers) -> list:
    role = RoleAssignment.objects.filter(account=context.account("merchant"), role=Role.MERCHANT_CLERK).first()
    return [offer for offer in offers if role is not None and offer.merchant_id == role.organisation_id]


def _verifier(order, secretary, admin):
    return secretary if order.offer.merchant_id is None else admin


def _counter(order) -> dict:
    return {"merchant": order.offer.merchant} if order.offer.merchant_id else {"community": order.offer.community}


def _resident_login_orders(context, services, offers, clerk_offers) -> int:
    login = context.account("resident")
    account = services.ensure_resident_account(login)
    clerk = context.account("merchant")
    placed = 0
    waiting = sorted((o for o in offers if o not in clerk_offers), key=lambda offer: offer.points_price)
    for pool, verify, key in ((clerk_offers, True, "demo-resident-1"), (waiting, False, "demo-resident-2")):
        account.refresh_from_db()
        affordable = sorted((o for o in pool if o.points_price <= account.balance), key=lambda o: o.points_price)
        if not affordable:
            continue
        order = services.redemption_place(actor=login, offer=affordable[0], account=account, idempotency_key=key)
        placed += 1
        if verify:
            services.redemption_verify(actor=clerk, code=order.pickup_code, merchant=affordable[0].merchant)
    services.points_card_issue(actor=login, account=account)
    return placed
