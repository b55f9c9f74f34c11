"""Redemptions racing on PostgreSQL: real threads, committed transactions, a pool of 16 workers.

Run on PostgreSQL (``GONGZHI_DATABASE_URL=postgres://…``); SQLite takes one writer at a time, so racing there
proves nothing and these tests skip.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Sum

from gongzhi.core.testing import race
from gongzhi.points.ledger import account_figures, ledger_check, system_account
from gongzhi.points.models import HOLDER_KINDS, PointsAccount, Transfer
from gongzhi.shop.models import Offer, Redemption, StockMovement
from gongzhi.shop.services import redemption_place, redemptions_expire

from .factories import make_merchant, make_offer, resident_with_points

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrency is tested on PostgreSQL only"),
]


def assert_books_balance(offer: Offer) -> None:
    """Points: balances + held + spent == issued, no drift. Stock: never below zero, equal to its movements."""
    holders = PointsAccount.objects.filter(kind__in=HOLDER_KINDS).aggregate(b=Sum("balance"), h=Sum("held"))
    issued = -account_figures(system_account("issuance")).balance
    spent = account_figures(system_account("spent")).balance
    assert holders["b"] + holders["h"] + spent == issued
    assert ledger_check() == []
    offer.refresh_from_db()
    assert offer.stock >= 0
    assert sum(offer.stock_movements.values_list("change", flat=True)) == offer.stock


def test_200_residents_race_for_10_items(world):
    merchant = make_merchant(world["community_a"])
    offer = make_offer(world["community_a"], merchant, points_price=20, stock=10)
    buyers = [resident_with_points(world["household_a1"], 50) for _ in range(200)]

    results = race(
        [
            (
                lambda login=login, account=account: redemption_place(
                    actor=login, offer=offer, account=account, idempotency_key="race"
                )
            )
            for login, account in buyers
        ]
    )

    placed = [r for r in results if isinstance(r, Redemption)]
    assert len(placed) == 10
    assert sorted(set(r for r in results if not isinstance(r, Redemption))) == ["stock_exhausted"]
    assert Redemption.objects.filter(state="held").count() == 10
    assert Transfer.objects.filter(kind="hold").count() == 10
    assert StockMovement.objects.filter(offer=offer, reason="redemption").count() == 10
    assert_books_balance(offer)
    assert offer.stock == 0
    codes = list(Redemption.objects.values_list("pickup_code", flat=True))
    assert len(set(codes)) == 10


def test_one_resident_fires_20_orders_against_a_balance_for_3(world):
    merchant = make_merchant(world["community_a"])
    offer = make_offer(world["community_a"], merchant, points_price=10, stock=100)
    login, account = resident_with_points(world["household_a1"], 30)

    results = race(
        [
            (
                lambda index=index: redemption_place(
                    actor=login, offer=offer, account=account, idempotency_key=f"burst-{index}"
                )
            )
            for index in range(20)
        ]
    )

    assert sum(isinstance(r, Redemption) for r in results) == 3
    assert sorted(set(r for r in results if not isinstance(r, Redemption))) == ["insufficient_points"]
    account.refresh_from_db()
    assert (account.balance, account.held) == (0, 30)
    assert_books_balance(offer)
    assert offer.stock == 97


def test_one_resident_racing_the_limit_gets_exactly_the_limit(world):
    merchant = make_merchant(world["community_a"])
    offer = make_offer(world["community_a"], merchant, points_price=1, stock=100, per_person_limit=2)
    login, account = resident_with_points(world["household_a1"], 100)
    results = race(
        [
            (
                lambda index=index: redemption_place(
                    actor=login, offer=offer, account=account, idempotency_key=f"lim-{index}"
                )
            )
            for index in range(16)
        ]
    )
    assert sum(isinstance(r, Redemption) for r in results) == 2
    assert set(r for r in results if not isinstance(r, Redemption)) == {"limit_reached"}
    assert_books_balance(offer)


def test_a_retried_request_racing_itself_places_one_order(world):
    merchant = make_merchant(world["community_a"])
    offer = make_offer(world["community_a"], merchant, points_price=10, stock=10)
    login, account = resident_with_points(world["household_a1"], 100)
    results = race(
        [
            (lambda: redemption_place(actor=login, offer=offer, account=account, idempotency_key="retry"))
            for _ in range(16)
        ]
    )
    assert {r.pk for r in results} == {Redemption.objects.get().pk}
    account.refresh_from_db()
    assert (account.balance, account.held) == (90, 10)
    assert_books_balance(offer)


def test_orders_abandoned_mid_flight_are_released_by_the_expiry_job(world):
    """'Killed between hold and verification': orders placed, nobody comes; expiry runs twice, racing itself."""
    merchant = make_merchant(world["community_a"])
    offer = make_offer(world["community_a"], merchant, points_price=10, stock=10)
    buyers = [resident_with_points(world["household_a1"], 10) for _ in range(8)]
    placed = race(
        [
            (
                lambda login=login, account=account: redemption_place(
                    actor=login, offer=offer, account=account, idempotency_key="abandon"
                )
            )
            for login, account in buyers
        ]
    )
    later = max(order.expires_at for order in placed)
    expired = race([(lambda: redemptions_expire(now=later)) for _ in range(4)])
    assert sum(expired) == 8
    assert Redemption.objects.filter(state="expired").count() == 8
    assert Transfer.objects.filter(kind="release").count() == 8
    assert PointsAccount.objects.filter(kind__in=HOLDER_KINDS).aggregate(h=Sum("held"))["h"] == 0
    assert_books_balance(offer)
    assert offer.stock == 10
