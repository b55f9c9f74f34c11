"""Redemption end to end through the services, and every refusal leaving nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from gongzhi.core.errors import Conflict, DomainError, NotFound
from gongzhi.core.jobs import run_job
from gongzhi.core.models import AuditEntry
from gongzhi.core.testing import assert_refused
from gongzhi.places.tests.factories import superuser
from gongzhi.points.ledger import ledger_check
from gongzhi.points.models import Transfer
from gongzhi.shop.models import Offer, Redemption, StockMovement
from gongzhi.shop.selectors import settlement
from gongzhi.shop.services import (
    card_lookup,
    card_token,
    offer_restock,
    pickup_token,
    points_card_issue,
    redemption_cancel,
    redemption_place,
    redemption_verify,
    redemptions_expire,
    shop_settings_update,
)

from .factories import credit, make_offer, open_window, resident_with_points

pytestmark = pytest.mark.django_db


def figures(offer, account):
    offer.refresh_from_db()
    account.refresh_from_db()
    return {
        "stock": offer.stock,
        "balance": account.balance,
        "held": account.held,
        "orders": Redemption.objects.count(),
        "movements": StockMovement.objects.count(),
        "transfers": Transfer.objects.count(),
    }


def test_place_holds_points_and_stock_and_verify_captures(world):
    offer = world["offer"]
    login, account = world["buyer"], world["account"]
    order = redemption_place(actor=login, offer=offer, account=account, quantity=2, idempotency_key="k1")
    offer.refresh_from_db()
    account.refresh_from_db()
    assert (offer.stock, account.balance, account.held) == (3, 40, 60)
    assert order.state == "held" and len(order.pickup_code) == 6 and order.counter == f"m{world['merchant'].pk}"
    assert order.stock_movements.get().change == -2
    assert AuditEntry.objects.filter(action="shop.redemption_place", object_id=str(order.pk)).exists()

    again = redemption_place(actor=login, offer=offer, account=account, quantity=2, idempotency_key="k1")
    assert again.pk == order.pk
    assert figures(offer, account)["held"] == 60 and Redemption.objects.count() == 1

    done = redemption_verify(actor=world["clerk"], code=order.pickup_code, merchant=world["merchant"])
    account.refresh_from_db()
    assert done.state == "completed" and done.verified_by == world["clerk"]
    assert (account.balance, account.held) == (40, 0)
    assert ledger_check() == []

    # The same code again: a clear error, nothing captured twice.
    with pytest.raises(DomainError) as caught:
        redemption_verify(actor=world["clerk"], code=order.pickup_code, merchant=world["merchant"])
    assert caught.value.code == "code_used"
    assert Transfer.objects.filter(kind="capture").count() == 1


def test_scanned_qr_token_verifies_and_a_forged_one_does_not(world):
    offer = world["offer"]
    login, account = world["buyer"], world["account"]
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="qr")
    with pytest.raises(DomainError) as caught:
        redemption_verify(actor=world["clerk"], code=pickup_token(order) + "x", merchant=world["merchant"])
    assert caught.value.code == "wrong_code"
    done = redemption_verify(actor=world["clerk"], code=pickup_token(order), merchant=world["merchant"])
    assert done.state == "completed"


def test_the_same_key_for_a_different_order_is_refused(world):
    offer = world["offer"]
    login, account = world["buyer"], world["account"]
    redemption_place(actor=login, offer=offer, account=account, idempotency_key="same")
    assert_refused(
        "idempotency_conflict",
        lambda: redemption_place(actor=login, offer=offer, account=account, quantity=2, idempotency_key="same"),
    )


def test_not_enough_points(world):
    offer = world["offer"]
    login, account = resident_with_points(world["household_a1"], 20)
    assert_refused(
        "insufficient_points",
        lambda: redemption_place(actor=login, offer=offer, account=account, idempotency_key="poor"),
    )


def test_stock_exhausted(world):
    offer = make_offer(world["community"], world["merchant"], points_price=5, stock=1)
    login, account = world["buyer"], world["account"]
    redemption_place(actor=login, offer=offer, account=account, idempotency_key="first")
    assert_refused(
        "stock_exhausted",
        lambda: redemption_place(actor=login, offer=offer, account=account, idempotency_key="second"),
    )


def test_limit_per_person_per_window(world):
    offer = make_offer(world["community"], world["merchant"], points_price=5, stock=10, per_person_limit=2)
    login, account = world["buyer"], world["account"]
    redemption_place(actor=login, offer=offer, account=account, quantity=2, idempotency_key="a")
    assert_refused(
        "limit_reached",
        lambda: redemption_place(actor=login, offer=offer, account=account, idempotency_key="b"),
    )


def test_cancelled_orders_do_not_count_towards_the_limit(world):
    offer = make_offer(world["community"], world["merchant"], points_price=5, stock=10, per_person_limit=1)
    login, account = world["buyer"], world["account"]
    first = redemption_place(actor=login, offer=offer, account=account, idempotency_key="a")
    redemption_cancel(actor=login, redemption=first)
    assert redemption_place(actor=login, offer=offer, account=account, idempotency_key="b").state == "held"


def test_out_of_window(world):
    offer = world["offer"]
    shop_settings_update(actor=superuser(), community=world["community"], always_open=False, unclaimed_expiry_hours=72)
    login, account = world["buyer"], world["account"]
    assert_refused(
        "out_of_window",
        lambda: redemption_place(actor=login, offer=offer, account=account, idempotency_key="closed"),
    )
    window = open_window(world["community"])
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="open")
    assert order.window == window


def test_offers_not_approved_or_out_of_date_are_not_redeemable(world):
    login, account = world["buyer"], world["account"]
    draft = make_offer(world["community"], world["merchant"], approve=False)
    assert_refused(
        "offer_unavailable",
        lambda: redemption_place(actor=login, offer=draft, account=account, idempotency_key="d"),
    )
    later = make_offer(
        world["community"],
        world["merchant"],
        valid_from=timezone.localdate() + timedelta(days=3),
        valid_until=timezone.localdate() + timedelta(days=9),
    )
    assert_refused(
        "offer_not_valid_today",
        lambda: redemption_place(actor=login, offer=later, account=account, idempotency_key="l"),
    )


def test_a_resident_of_another_community_is_not_eligible(world):
    offer = world["offer"]
    login, account = resident_with_points(world["household_b1"], 100)
    assert_refused(
        "not_eligible",
        lambda: redemption_place(actor=login, offer=offer, account=account, idempotency_key="x"),
    )


def test_nobody_orders_on_someone_elses_account(world):
    offer = world["offer"]
    _login, account = world["buyer"], world["account"]
    stranger, _ = resident_with_points(world["household_a2"], 100)
    assert_refused(
        "not_found",
        lambda: redemption_place(actor=stranger, offer=offer, account=account, idempotency_key="x"),
    )


def test_clerk_of_another_merchant_and_wrong_codes(world):
    offer = world["offer"]
    login, account = world["buyer"], world["account"]
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="k")
    other = world["other_clerk"]
    # Another merchant's clerk, naming this merchant: not found, nothing captured.
    assert_refused(
        "not_found",
        lambda: redemption_verify(actor=other, code=order.pickup_code, merchant=world["merchant"]),
    )
    # At their own counter the code is simply not there.
    assert_refused(
        "wrong_code",
        lambda: redemption_verify(actor=other, code=order.pickup_code, merchant=world["other_merchant"]),
    )
    wrong = f"{(int(order.pickup_code) + 1) % 1_000_000:06d}"
    assert_refused(
        "wrong_code",
        lambda: redemption_verify(actor=world["clerk"], code=wrong, merchant=world["merchant"]),
    )
    assert_refused(
        "wrong_code",
        lambda: redemption_verify(actor=world["clerk"], code="12ab", merchant=world["merchant"]),
    )
    order.refresh_from_db()
    assert order.state == "held"


def test_cancel_releases_points_and_stock_once(world):
    offer = world["offer"]
    login, account = world["buyer"], world["account"]
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="c")
    redemption_cancel(actor=login, redemption=order)
    again = redemption_cancel(actor=login, redemption=order)
    assert again.state == "cancelled"
    after = figures(offer, account)
    assert (after["stock"], after["balance"], after["held"]) == (5, 100, 0)
    assert Transfer.objects.filter(kind="release").count() == 1
    assert list(order.stock_movements.order_by("pk").values_list("change", "reason")) == [
        (-1, "redemption"),
        (1, "release"),
    ]
    with pytest.raises(Conflict):
        redemption_verify(actor=world["clerk"], code=pickup_token(order), merchant=world["merchant"])


def test_a_completed_order_cannot_be_cancelled(world):
    offer = world["offer"]
    login, account = world["buyer"], world["account"]
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="c")
    redemption_verify(actor=world["clerk"], code=order.pickup_code, merchant=world["merchant"])
    assert_refused("order_closed", lambda: redemption_cancel(actor=login, redemption=order))


def test_abandoned_orders_expire_through_the_job(world):
    offer = world["offer"]
    """A process that died between placing and verification leaves nothing stuck."""
    login, account = world["buyer"], world["account"]
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="gone")
    assert redemptions_expire() == 0
    later = order.expires_at + timedelta(minutes=1)
    run = run_job("shop.expire_unclaimed", now=later)
    assert run.result == {"expired": 1}
    assert redemptions_expire(now=later) == 0
    order.refresh_from_db()
    after = figures(offer, account)
    assert order.state == "expired"
    assert (after["stock"], after["balance"], after["held"]) == (5, 100, 0)
    assert_refused(
        "code_used" if False else "wrong_code",
        lambda: redemption_verify(actor=world["clerk"], code=order.pickup_code, merchant=world["merchant"]),
    )
    assert ledger_check() == []


def test_expired_but_not_yet_released_order_is_refused_at_the_counter(world):
    login, account = world["buyer"], world["account"]
    offer = make_offer(world["community"], world["merchant"], points_price=5)
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="late")
    Redemption.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert_refused(
        "order_expired",
        lambda: redemption_verify(actor=world["clerk"], code=order.pickup_code, merchant=world["merchant"]),
    )


def test_points_card_finds_the_resident_and_open_orders_at_this_counter_only(world):
    offer = world["offer"]
    login, account = world["buyer"], world["account"]
    other_offer = make_offer(world["community"], world["other_merchant"], points_price=5)
    redemption_place(actor=login, offer=offer, account=account, idempotency_key="a")
    redemption_place(actor=login, offer=other_offer, account=account, idempotency_key="b")
    card = points_card_issue(actor=login, account=account)
    assert len(card.code) == 8
    found = card_lookup(actor=world["clerk"], code=card.code, merchant=world["merchant"])
    assert found.account == account and [o.offer_id for o in found.open_orders] == [offer.pk]
    by_qr = card_lookup(actor=world["clerk"], code=card_token(card), merchant=world["merchant"])
    assert by_qr.account == account
    assert AuditEntry.objects.filter(action="shop.card_lookup").count() == 2
    with pytest.raises(NotFound):
        card_lookup(actor=world["other_clerk"], code=card.code, merchant=world["merchant"])
    old_token = card_token(card)
    points_card_issue(actor=login, account=account, reissue=True)
    with pytest.raises(NotFound):
        card_lookup(actor=world["clerk"], code=old_token, merchant=world["merchant"])


def test_restock_never_below_zero(world):
    offer = world["offer"]
    with pytest.raises(DomainError) as caught:
        offer_restock(actor=superuser(), offer=offer, change=-6, note="盘点")
    assert caught.value.code == "stock_exhausted"
    offer_restock(actor=superuser(), offer=offer, change=-5, note="盘点")
    offer_restock(actor=superuser(), offer=offer, change=3)
    offer.refresh_from_db()
    assert offer.stock == 3
    assert sum(offer.stock_movements.values_list("change", flat=True)) == 3


def test_settlement_counts_completed_orders_of_the_month(world):
    login, account = world["buyer"], world["account"]
    credit(account, 100)
    offer = make_offer(
        world["community"], world["merchant"], points_price=50, stock=5, cash_price=50, discount_value="5.00"
    )
    done = redemption_place(actor=login, offer=offer, account=account, idempotency_key="s1")
    redemption_verify(actor=world["clerk"], code=done.pickup_code, merchant=world["merchant"])
    redemption_place(actor=login, offer=offer, account=account, idempotency_key="s2")  # still open: not settled
    rows = settlement(superuser(), timezone.localdate().replace(day=1))
    assert [(r.merchant_name, r.orders, r.points, str(r.discount_value), str(r.cash_due)) for r in rows] == [
        ("张记面馆", 1, 50, "5.00", "50.00")
    ]
    assert settlement(world["clerk"], timezone.localdate().replace(day=1))[0].orders == 1
    assert settlement(world["other_clerk"], timezone.localdate().replace(day=1)) == []
    assert Offer.objects.get(pk=offer.pk).stock == 3
