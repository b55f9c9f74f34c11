"""Redemption end to end through the services, and every refusal leaving nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from gongzhi.core.errors import Conflict, DomainError, NotFound
from gongzhi.core.jobs import run_job
from gongzhi.core.models import AuditEntry
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


def snapshot(offer, account):
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


def refused(code, fn, offer, account):
    before = snapshot(offer, account)
    with pytest.raises(DomainError) as caught:
        fn()
    assert caught.value.code == code, caught.value.as_dict()
    assert snapshot(offer, account) == before
    return caught.value


def test_place_holds_points_and_stock_and_verify_captures(shop, offer, buyer):
    login, account = buyer
    order = redemption_place(actor=login, offer=offer, account=account, quantity=2, idempotency_key="k1")
    offer.refresh_from_db()
    account.refresh_from_db()
    assert (offer.stock, account.balance, account.held) == (3, 40, 60)
    assert order.state == "held" and len(order.pickup_code) == 6 and order.counter == f"m{shop['merchant'].pk}"
    assert order.stock_movements.get().change == -2
    assert AuditEntry.objects.filter(action="shop.redemption_place", object_id=str(order.pk)).exists()

    again = redemption_place(actor=login, offer=offer, account=account, quantity=2, idempotency_key="k1")
    assert again.pk == order.pk
    assert snapshot(offer, account)["held"] == 60 and Redemption.objects.count() == 1

    done = redemption_verify(actor=shop["clerk"], code=order.pickup_code, merchant=shop["merchant"])
    account.refresh_from_db()
    assert done.state == "completed" and done.verified_by == shop["clerk"]
    assert (account.balance, account.held) == (40, 0)
    assert ledger_check() == []

    # The same code again: a clear error, nothing captured twice.
    with pytest.raises(DomainError) as caught:
        redemption_verify(actor=shop["clerk"], code=order.pickup_code, merchant=shop["merchant"])
    assert caught.value.code == "code_used"
    assert Transfer.objects.filter(kind="capture").count() == 1


def test_scanned_qr_token_verifies_and_a_forged_one_does_not(shop, offer, buyer):
    login, account = buyer
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="qr")
    with pytest.raises(DomainError) as caught:
        redemption_verify(actor=shop["clerk"], code=pickup_token(order) + "x", merchant=shop["merchant"])
    assert caught.value.code == "wrong_code"
    done = redemption_verify(actor=shop["clerk"], code=pickup_token(order), merchant=shop["merchant"])
    assert done.state == "completed"


def test_the_same_key_for_a_different_order_is_refused(shop, offer, buyer):
    login, account = buyer
    redemption_place(actor=login, offer=offer, account=account, idempotency_key="same")
    refused(
        "idempotency_conflict",
        lambda: redemption_place(actor=login, offer=offer, account=account, quantity=2, idempotency_key="same"),
        offer,
        account,
    )


def test_not_enough_points(shop, offer, tree):
    login, account = resident_with_points(tree["household_a1"], 20)
    refused(
        "insufficient_points",
        lambda: redemption_place(actor=login, offer=offer, account=account, idempotency_key="poor"),
        offer,
        account,
    )


def test_stock_exhausted(shop, buyer):
    offer = make_offer(shop["community"], shop["merchant"], points_price=5, stock=1)
    login, account = buyer
    redemption_place(actor=login, offer=offer, account=account, idempotency_key="first")
    refused(
        "stock_exhausted",
        lambda: redemption_place(actor=login, offer=offer, account=account, idempotency_key="second"),
        offer,
        account,
    )


def test_limit_per_person_per_window(shop, buyer):
    offer = make_offer(shop["community"], shop["merchant"], points_price=5, stock=10, per_person_limit=2)
    login, account = buyer
    redemption_place(actor=login, offer=offer, account=account, quantity=2, idempotency_key="a")
    refused(
        "limit_reached",
        lambda: redemption_place(actor=login, offer=offer, account=account, idempotency_key="b"),
        offer,
        account,
    )


def test_cancelled_orders_do_not_count_towards_the_limit(shop, buyer):
    offer = make_offer(shop["community"], shop["merchant"], points_price=5, stock=10, per_person_limit=1)
    login, account = buyer
    first = redemption_place(actor=login, offer=offer, account=account, idempotency_key="a")
    redemption_cancel(actor=login, redemption=first)
    assert redemption_place(actor=login, offer=offer, account=account, idempotency_key="b").state == "held"


def test_out_of_window(shop, offer, buyer):
    shop_settings_update(actor=superuser(), community=shop["community"], always_open=False, unclaimed_expiry_hours=72)
    login, account = buyer
    refused(
        "out_of_window",
        lambda: redemption_place(actor=login, offer=offer, account=account, idempotency_key="closed"),
        offer,
        account,
    )
    window = open_window(shop["community"])
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="open")
    assert order.window == window


def test_offers_not_approved_or_out_of_date_are_not_redeemable(shop, buyer):
    login, account = buyer
    draft = make_offer(shop["community"], shop["merchant"], approve=False)
    refused(
        "offer_unavailable",
        lambda: redemption_place(actor=login, offer=draft, account=account, idempotency_key="d"),
        draft,
        account,
    )
    later = make_offer(
        shop["community"],
        shop["merchant"],
        valid_from=timezone.localdate() + timedelta(days=3),
        valid_until=timezone.localdate() + timedelta(days=9),
    )
    refused(
        "offer_not_valid_today",
        lambda: redemption_place(actor=login, offer=later, account=account, idempotency_key="l"),
        later,
        account,
    )


def test_a_resident_of_another_community_is_not_eligible(shop, offer, tree):
    login, account = resident_with_points(tree["household_b1"], 100)
    refused(
        "not_eligible",
        lambda: redemption_place(actor=login, offer=offer, account=account, idempotency_key="x"),
        offer,
        account,
    )


def test_nobody_orders_on_someone_elses_account(shop, offer, buyer, tree):
    _login, account = buyer
    stranger, _ = resident_with_points(tree["household_a2"], 100)
    refused(
        "not_found",
        lambda: redemption_place(actor=stranger, offer=offer, account=account, idempotency_key="x"),
        offer,
        account,
    )


def test_clerk_of_another_merchant_and_wrong_codes(shop, offer, buyer):
    login, account = buyer
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="k")
    other = shop["other_clerk"]
    # Another merchant's clerk, naming this merchant: not found, nothing captured.
    refused(
        "not_found",
        lambda: redemption_verify(actor=other, code=order.pickup_code, merchant=shop["merchant"]),
        offer,
        account,
    )
    # At their own counter the code is simply not there.
    refused(
        "wrong_code",
        lambda: redemption_verify(actor=other, code=order.pickup_code, merchant=shop["other_merchant"]),
        offer,
        account,
    )
    wrong = f"{(int(order.pickup_code) + 1) % 1_000_000:06d}"
    refused(
        "wrong_code",
        lambda: redemption_verify(actor=shop["clerk"], code=wrong, merchant=shop["merchant"]),
        offer,
        account,
    )
    refused(
        "wrong_code",
        lambda: redemption_verify(actor=shop["clerk"], code="12ab", merchant=shop["merchant"]),
        offer,
        account,
    )
    order.refresh_from_db()
    assert order.state == "held"


def test_cancel_releases_points_and_stock_once(shop, offer, buyer):
    login, account = buyer
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="c")
    redemption_cancel(actor=login, redemption=order)
    again = redemption_cancel(actor=login, redemption=order)
    assert again.state == "cancelled"
    after = snapshot(offer, account)
    assert (after["stock"], after["balance"], after["held"]) == (5, 100, 0)
    assert Transfer.objects.filter(kind="release").count() == 1
    assert list(order.stock_movements.order_by("pk").values_list("change", "reason")) == [
        (-1, "redemption"),
        (1, "release"),
    ]
    with pytest.raises(Conflict):
        redemption_verify(actor=shop["clerk"], code=pickup_token(order), merchant=shop["merchant"])


def test_a_completed_order_cannot_be_cancelled(shop, offer, buyer):
    login, account = buyer
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="c")
    redemption_verify(actor=shop["clerk"], code=order.pickup_code, merchant=shop["merchant"])
    refused("order_closed", lambda: redemption_cancel(actor=login, redemption=order), offer, account)


def test_abandoned_orders_expire_through_the_job(shop, offer, buyer):
    """A process that died between placing and verification leaves nothing stuck."""
    login, account = buyer
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="gone")
    assert redemptions_expire() == 0
    later = order.expires_at + timedelta(minutes=1)
    run = run_job("shop.expire_unclaimed", now=later)
    assert run.result == {"expired": 1}
    assert redemptions_expire(now=later) == 0
    order.refresh_from_db()
    after = snapshot(offer, account)
    assert order.state == "expired"
    assert (after["stock"], after["balance"], after["held"]) == (5, 100, 0)
    refused(
        "code_used" if False else "wrong_code",
        lambda: redemption_verify(actor=shop["clerk"], code=order.pickup_code, merchant=shop["merchant"]),
        offer,
        account,
    )
    assert ledger_check() == []


def test_expired_but_not_yet_released_order_is_refused_at_the_counter(shop, buyer):
    login, account = buyer
    offer = make_offer(shop["community"], shop["merchant"], points_price=5)
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="late")
    Redemption.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    refused(
        "order_expired",
        lambda: redemption_verify(actor=shop["clerk"], code=order.pickup_code, merchant=shop["merchant"]),
        offer,
        account,
    )


def test_points_card_finds_the_resident_and_open_orders_at_this_counter_only(shop, offer, buyer):
    login, account = buyer
    other_offer = make_offer(shop["community"], shop["other_merchant"], points_price=5)
    redemption_place(actor=login, offer=offer, account=account, idempotency_key="a")
    redemption_place(actor=login, offer=other_offer, account=account, idempotency_key="b")
    card = points_card_issue(actor=login, account=account)
    assert len(card.code) == 8
    found = card_lookup(actor=shop["clerk"], code=card.code, merchant=shop["merchant"])
    assert found.account == account and [o.offer_id for o in found.open_orders] == [offer.pk]
    by_qr = card_lookup(actor=shop["clerk"], code=card_token(card), merchant=shop["merchant"])
    assert by_qr.account == account
    assert AuditEntry.objects.filter(action="shop.card_lookup").count() == 2
    with pytest.raises(NotFound):
        card_lookup(actor=shop["other_clerk"], code=card.code, merchant=shop["merchant"])
    old_token = card_token(card)
    points_card_issue(actor=login, account=account, reissue=True)
    with pytest.raises(NotFound):
        card_lookup(actor=shop["clerk"], code=old_token, merchant=shop["merchant"])


def test_restock_never_below_zero(shop, offer):
    with pytest.raises(DomainError) as caught:
        offer_restock(actor=superuser(), offer=offer, change=-6, note="盘点")
    assert caught.value.code == "stock_exhausted"
    offer_restock(actor=superuser(), offer=offer, change=-5, note="盘点")
    offer_restock(actor=superuser(), offer=offer, change=3)
    offer.refresh_from_db()
    assert offer.stock == 3
    assert sum(offer.stock_movements.values_list("change", flat=True)) == 3


def test_settlement_counts_completed_orders_of_the_month(shop, buyer):
    login, account = buyer
    credit(account, 100)
    offer = make_offer(
        shop["community"], shop["merchant"], points_price=50, stock=5, cash_price=50, discount_value="5.00"
    )
    done = redemption_place(actor=login, offer=offer, account=account, idempotency_key="s1")
    redemption_verify(actor=shop["clerk"], code=done.pickup_code, merchant=shop["merchant"])
    redemption_place(actor=login, offer=offer, account=account, idempotency_key="s2")  # still open: not settled
    rows = settlement(superuser(), timezone.localdate().replace(day=1))
    assert [(r.merchant_name, r.orders, r.points, str(r.discount_value), str(r.cash_due)) for r in rows] == [
        ("张记面馆", 1, 50, "5.00", "50.00")
    ]
    assert settlement(shop["clerk"], timezone.localdate().replace(day=1))[0].orders == 1
    assert settlement(shop["other_clerk"], timezone.localdate().replace(day=1)) == []
    assert Offer.objects.get(pk=offer.pk).stock == 3
