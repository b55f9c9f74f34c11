"""Issue #15: the shop's selectors and services that read the clock take ``now`` and follow it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gongzhi.shop.access import clerk_merchant_ids
from gongzhi.shop.models import Redemption
from gongzhi.shop.selectors import parse_month
from gongzhi.shop.services import redemption_cancel, redemption_place, redemption_verify
from gongzhi.shop.tests.factories import make_offer

# Far from any day the tests run on, so a function reading the wall clock instead of ``now`` shows.
NOW = datetime(2031, 5, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_an_unreadable_month_is_the_month_of_the_given_now():
    assert parse_month("2026-03", now=NOW) == date(2026, 3, 1)
    assert parse_month("", now=NOW) == date(2031, 5, 1)
    assert parse_month("not-a-month", now=datetime(2031, 4, 30, 16, 30, tzinfo=ZoneInfo("UTC"))) == date(2031, 5, 1)


def test_clerks_are_judged_on_the_day_of_the_given_now(world):
    clerk, merchant = world["clerk"], world["merchant"]
    assert clerk_merchant_ids(clerk, now=NOW) == {merchant.pk}
    # The day before the clerk's role started: not a clerk then (and the answer kept for one day is not reused).
    assert clerk_merchant_ids(clerk, now=datetime(2020, 1, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))) == set()
    assert clerk_merchant_ids(clerk, now=NOW) == {merchant.pk}


def test_the_points_postings_of_an_order_carry_the_given_now(world):
    community, merchant = world["community"], world["merchant"]
    offer = make_offer(
        community, merchant, points_price=10, stock=5, valid_from=date(2031, 5, 1), valid_until=date(2031, 6, 30)
    )
    login, account = world["buyer"], world["account"]
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="far-1", now=NOW)
    assert order.placed_at == NOW
    assert order.hold_transfer.created_at == NOW
    assert order.hold_transfer.effective_date == date(2031, 5, 5)
    picked_up = NOW + timedelta(hours=2)
    done = redemption_verify(actor=world["clerk"], code=order.pickup_code, merchant=merchant, now=picked_up)
    assert done.finished_at == picked_up
    assert Redemption.objects.get(pk=order.pk).finish_transfer.created_at == picked_up

    second = redemption_place(actor=login, offer=offer, account=account, idempotency_key="far-2", now=NOW)
    cancelled_at = NOW + timedelta(hours=3)
    cancelled = redemption_cancel(actor=login, redemption=second, now=cancelled_at)
    assert cancelled.finished_at == cancelled_at
    assert Redemption.objects.get(pk=second.pk).finish_transfer.created_at == cancelled_at
