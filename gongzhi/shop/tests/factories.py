"""Factories for the points shop, built through the services (so audit, stock movements and postings are real)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from django.utils import timezone

from gongzhi.core.roles import Role
from gongzhi.people.models import Organisation, OrganisationKind
from gongzhi.people.tests.factories import account_with_role
from gongzhi.places.tests.factories import make_tree, superuser
from gongzhi.points.ledger import Leg, account_figures, post_transfer, system_account
from gongzhi.points.models import PointsAccount, TransferKind
from gongzhi.points.tests.factories import resident_with_login
from gongzhi.shop.models import Offer
from gongzhi.shop.services import (
    OfferInput,
    alliance_join,
    offer_approve,
    offer_create,
    offer_submit,
    shop_settings_update,
    window_create,
)

_serial = itertools.count(1)


def credit(account: PointsAccount, amount: int) -> None:
    """Issue points to an account (an adjustment from the issuance account), as the points app would."""
    post_transfer(
        kind=TransferKind.ADJUSTMENT,
        idempotency_key=f"test-credit-{account.pk}-{next(_serial)}",
        legs=[Leg(system_account("issuance").pk, -amount), Leg(account.pk, amount, counts_as_earned=True)],
        actor=superuser(),
    )
    account.refresh_from_db()


def make_merchant(community, name: str | None = None, *, join: bool = True) -> Organisation:
    merchant = Organisation.objects.create(
        kind=OrganisationKind.MERCHANT, name=name or f"商家{next(_serial)}", place=community
    )
    if join:
        alliance_join(actor=superuser(), merchant=merchant, place=community, agreement_signed_on=date(2026, 1, 5))
    return merchant


def clerk_of(merchant: Organisation, username: str | None = None):
    return account_with_role(Role.MERCHANT_CLERK, merchant.place, username=username, organisation=merchant)


def open_shop(community, *, always_open: bool = True, hours: int = 72) -> None:
    shop_settings_update(actor=superuser(), community=community, always_open=always_open, unclaimed_expiry_hours=hours)


def open_window(community, name: str = "本季兑换"):
    now = timezone.now()
    return window_create(
        actor=superuser(),
        community=community,
        name=name,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=13),
    )


def make_offer(community, merchant=None, *, approve: bool = True, **fields) -> Offer:
    today = timezone.localdate()
    data = OfferInput(
        title=fields.pop("title", f"优惠{next(_serial)}"),
        points_price=fields.pop("points_price", 10),
        stock=fields.pop("stock", 5),
        valid_from=fields.pop("valid_from", today - timedelta(days=1)),
        valid_until=fields.pop("valid_until", today + timedelta(days=60)),
        **fields,
    )
    offer = offer_create(actor=superuser(), community=community, merchant=merchant, data=data)
    if approve:
        offer_submit(actor=superuser(), offer=offer)
        offer = offer_approve(actor=superuser(), offer=offer)
    return offer


def resident_with_points(household, points: int = 100, name: str | None = None):
    login, account = resident_with_login(household, name=name)
    if points:
        credit(account, points)
    return login, account


def issued_total() -> int:
    return -account_figures(system_account("issuance")).balance


def make_world() -> dict:
    """The place tree; community A's shop always open, with two merchants of its alliance and a clerk for each;
    an approved offer of the first (牛肉面一碗, 30 points, 5 in stock) and a resident of A with 100 points."""
    tree = make_tree()
    community = tree["community_a"]
    open_shop(community)
    merchant = make_merchant(community, "张记面馆")
    other = make_merchant(community, "李家超市")
    buyer, buyer_account = resident_with_points(tree["household_a1"], 100, name="张三")
    world = dict(tree)
    world.update(
        community=community,
        merchant=merchant,
        other_merchant=other,
        clerk=clerk_of(merchant, "clerk_a"),
        other_clerk=clerk_of(other, "clerk_b"),
        offer=make_offer(community, merchant, title="牛肉面一碗", points_price=30, stock=5),
        buyer=buyer,
        account=buyer_account,
    )
    return world
