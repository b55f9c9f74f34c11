"""The demo is always current: loaded on any day (or topped up on a later one), a newcomer sees a living district —
an exchange window open, orders held at the counter, claims in the review queue, requests inside and past their
deadlines, this week's visits, last months' lists published. The clock is frozen with time-machine."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db.models import Count, Q
from django.test import Client
from django.utils import timezone

from gongzhi.cases.models import OPEN_STATES, Case, CaseState, HouseholdVisit
from gongzhi.cases.selectors import case_queryset, my_cases
from gongzhi.cases.visits import my_visit_summary
from gongzhi.core.figures import Period
from gongzhi.demo import load_demo
from gongzhi.people.models import Account
from gongzhi.places.models import Place, PlaceKind
from gongzhi.points.ledger import ledger_check
from gongzhi.points.models import Claim, PointsAccount, Publication
from gongzhi.points.selectors import claim_queue
from gongzhi.shop.models import ExchangeWindow, Offer, Redemption
from gongzhi.shop.selectors import counter_orders_today, my_orders, window_state

pytestmark = pytest.mark.django_db

SMALL = 0.05
SHANGHAI = ZoneInfo("Asia/Shanghai")
DAYS = {
    "the issue's day": datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI),
    "a summer evening": datetime(2027, 6, 15, 22, 30, tzinfo=SHANGHAI),
    "a leap day before work": datetime(2028, 2, 29, 7, 45, tzinfo=SHANGHAI),
    "new year's day": datetime(2027, 1, 1, 9, 30, tzinfo=SHANGHAI),
}


def _month_start(day, back: int) -> object:
    index = day.year * 12 + day.month - 1 - back
    return day.replace(year=index // 12, month=index % 12 + 1, day=1)


def _login(username: str) -> Client:
    client = Client()
    client.force_login(Account.objects.get(username=username))
    return client


def assert_living_district(now: datetime) -> None:
    """What a newcomer sees on ``now``'s day, through the selectors and the pages."""
    today = timezone.localdate(now)
    main = Place.objects.get(kind=PlaceKind.COMMUNITY, name="卓越社区")
    street = main.parent
    logins = {name: Account.objects.get(username=name) for name in ("reviewer", "resident", "district", "merchant")}

    # The shop: a window open now, offers on the shelf, several accounts that can afford the cheapest one.
    window = window_state(main.pk, now)
    assert window.open and window.window.starts_at <= now < window.window.ends_at
    shelf = Offer.objects.filter(
        state="approved", community__in=[main, street], valid_from__lte=today, valid_until__gte=today, stock__gt=0
    )
    cheapest = min(shelf.values_list("points_price", flat=True))
    people = PointsAccount.objects.filter(community=main, kind__in=("resident", "party_member"))
    assert people.filter(balance__gte=cheapest).count() >= 3
    # Orders held at the counters, not yet past their pickup time: the clerk's and the resident login's.
    held = Redemption.objects.filter(state="held", expires_at__gt=now, offer__community__in=[main, street])
    assert held.count() >= 2
    merchant_id = logins["merchant"].role_assignments.get().organisation_id
    assert counter_orders_today(f"m{merchant_id}", now=now).filter(state="held", expires_at__gt=now).exists()
    assert my_orders(logins["resident"], state="held").filter(expires_at__gt=now).exists()

    # Points: the review queue has today's claims, none of them in a month already published (so all decidable).
    queue = claim_queue(logins["reviewer"])
    assert any(timezone.localdate(claim.submitted_at) == today for claim in queue)
    closed = {
        (row["community_id"], row["month"])
        for row in Publication.objects.exclude(state="open").values("community_id", "month")
    }
    assert not any((claim.community_id, claim.service_date.replace(day=1)) in closed for claim in queue)
    recent = [_month_start(today, 1), _month_start(today, 2)]
    assert Publication.objects.filter(community=main, month__in=recent).exclude(state="open").exists()

    # Requests: some inside their deadline, some passed up for being overdue, the resident's newest raised today.
    visible = case_queryset(logins["district"]).filter(place__path__startswith=main.path, state__in=OPEN_STATES)
    in_time = Q(state=CaseState.SUBMITTED, accept_by__gt=now) | Q(resolve_by__gt=now)
    assert visible.filter(in_time, is_overdue=False).exists()
    assert visible.filter(is_overdue=True).exists()
    newest = my_cases(logins["resident"]).first()
    assert timezone.localdate(newest.submitted_at) == today and newest.state in OPEN_STATES
    # Visits this week (Monday to today) by the building head.
    week = Period.week(today)
    head = Account.objects.get(username="buildinghead")
    assert my_visit_summary(head, week).visits >= 1
    assert HouseholdVisit.objects.filter(visitor=head, visited_on__range=(week.first, today)).exists()

    assert ledger_check() == []

    # The pages the logins open first.
    assert 'data-testid="window"' in _login("resident").get("/shop/").content.decode()
    assert "state-held" in _login("merchant").get("/shop/counter/").content.decode()
    assert 'data-testid="queue-row"' in _login("reviewer").get("/points/review/").content.decode()
    assert 'data-testid="queue-row"' in _login("gridworker").get("/cases/queue/").content.decode()


def _rows() -> dict[str, int]:
    return {
        "claim": Claim.objects.count(),
        "publication": Publication.objects.count(),
        "offer": Offer.objects.count(),
        "window": ExchangeWindow.objects.count(),
        "order": Redemption.objects.count(),
        "case": Case.objects.count(),
        "visit": HouseholdVisit.objects.count(),
    }


@pytest.mark.parametrize("now", list(DAYS.values()), ids=list(DAYS))
def test_the_demo_is_alive_on_any_day(now):
    with time_machine.travel(now, tick=False):
        load_demo(scale=SMALL)
        assert_living_district(now)


def test_an_old_demo_is_topped_up_once_a_day():
    loaded = DAYS["the issue's day"]
    with time_machine.travel(loaded, tick=False):
        load_demo(scale=SMALL)
    later = loaded + timedelta(days=90)
    with time_machine.travel(later, tick=False):
        ran = load_demo(scale=SMALL)
        assert {"gongzhi.demo.steps_points", "gongzhi.demo.steps_shop", "gongzhi.demo.steps_cases"} <= set(ran)
        assert_living_district(later)
        rows = _rows()
        assert load_demo(scale=SMALL) == {}  # the same day again: nothing new
        assert _rows() == rows
    # Nothing duplicated: one offer of a title on the shelf, windows that never overlap.
    shelf = Offer.objects.filter(state="approved").values("community", "merchant", "title").annotate(n=Count("id"))
    assert all(row["n"] == 1 for row in shelf)
    windows = list(ExchangeWindow.objects.order_by("community_id", "starts_at"))
    for before, after in pairwise(windows):
        assert before.community_id != after.community_id or before.ends_at <= after.starts_at
    # Much later, the offers of the first load are past their dates: published again, and the district still lives.
    much_later = later + timedelta(days=160)
    with time_machine.travel(much_later, tick=False):
        ran = load_demo(scale=SMALL)
        assert ran["gongzhi.demo.steps_shop"]["offer_renewed"] >= 6
        assert_living_district(much_later)
