"""The shop figures against hand counts (dates relative to the test clock's today, so they hold on any day)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from gongzhi.core.figures import Period
from gongzhi.places.tests.factories import superuser
from gongzhi.shop.kpis import shop_figures
from gongzhi.shop.services import redemption_place, redemption_verify

from .factories import make_merchant, make_offer, open_shop


def _around_today() -> Period:
    today = timezone.localdate()
    return Period.custom(today - timedelta(days=1), today + timedelta(days=1))


def test_shop_figures_by_hand(world):
    """Two merchants in A's alliance and one in B's; the noodle offer (30 points, 5 yuan off) redeemed once and
    picked up; the own shop's rice (10 points) twice in one order, picked up; one more order still waiting."""
    community = world["community"]
    noodle = world["offer"]
    rice = make_offer(community, None, title="大米一袋", points_price=10, stock=10)
    discounted = make_offer(
        community,
        world["merchant"],
        title="理发",
        points_price=20,
        stock=3,
        kind="service",
        discount_value=Decimal("5.50"),
    )
    open_shop(world["community_b"])
    make_merchant(world["community_b"], "王记修鞋")
    buyer, account = world["buyer"], world["account"]

    first = redemption_place(actor=buyer, offer=discounted, account=account, idempotency_key="a")
    redemption_verify(actor=world["clerk"], code=first.pickup_code, merchant=world["merchant"])
    second = redemption_place(actor=buyer, offer=rice, account=account, quantity=2, idempotency_key="b")
    redemption_verify(actor=superuser(), code=second.pickup_code, community=community)
    redemption_place(actor=buyer, offer=noodle, account=account, idempotency_key="c")  # still waiting

    figures = shop_figures(community, _around_today())
    assert figures.merchants == 2
    assert (figures.offers, figures.own_shop_offers, figures.merchant_offers) == (3, 1, 2)
    assert (figures.redemptions, figures.points_redeemed) == (2, 20 + 20)
    assert figures.value_given == Decimal("5.50")
    assert figures.own_shop_goods_issued == 2
    district = shop_figures(world["district"], _around_today())
    assert district.merchants == 3 and district.redemptions == 2
    other = shop_figures(world["community_b"], _around_today())
    assert (other.merchants, other.offers, other.redemptions) == (1, 0, 0)
    assert figures.as_dict()["value_given"] == "5.50"


def test_an_ended_membership_still_counts_in_the_periods_it_was_in_force(world):
    from gongzhi.shop.models import AllianceMembership
    from gongzhi.shop.services import alliance_end

    membership = AllianceMembership.objects.get(merchant=world["other_merchant"])
    alliance_end(actor=superuser(), membership=membership)
    today = timezone.localdate()
    assert shop_figures(world["community"], Period.custom(today, today)).merchants == 2
    later = Period.custom(today + timedelta(days=2), today + timedelta(days=3))
    assert shop_figures(world["community"], later).merchants == 1
