"""Distinct counts through the first-seen roll-ups (gongzhi.rollups.distinct): participants and depositor
households equal the raw recount and the hand counts when built, with postings since, after a back-dated earning
that moves a household's first day, and after the next runs; ``check_distinct`` finds a tampered total. Hand
counts: gongzhi/cockpit/tests/conftest.py (r1 of household a1 awarded 8 on 10 Feb, 5 on 3 Mar, 3 on 10 Mar; r2 of
household a2 rejected)."""

from __future__ import annotations

from datetime import date

from django.db.models import F

from gongzhi.cockpit.tests.conftest import FEBRUARY, MARCH, at
from gongzhi.core.figures import Period
from gongzhi.points import kpis, ledger_kpis
from gongzhi.points.ledger import Leg, post_transfer, system_account
from gongzhi.points.models import TransferKind
from gongzhi.rollups.distinct import check_distinct, distinct_source
from gongzhi.rollups.models import DailyTotal, FirstSeen
from gongzhi.rollups.services import rollups_build

APRIL_FIRST = at(date(2031, 4, 1), 2)
PERIODS = (
    MARCH,
    FEBRUARY,
    Period.month(2031, 1),
    Period.week(date(2031, 3, 3)),
    Period.quarter(2031, 1),
    Period.year(2031),
    Period.custom(date(2031, 2, 1), date(2031, 3, 5)),
)
PLACES = ("district", "street", "community_a", "grid_a1", "community_b", "household_a1")


def _figures(world, place, period):
    shown = (
        kpis.ledger_figures(world[place], period).participants,
        kpis.moral_bank_figures(world[place], period).depositor_households,
    )
    counted = (
        kpis.ledger_figures_recount(world[place], period).participants,
        kpis.moral_bank_figures_recount(world[place], period).depositor_households,
    )
    assert shown == counted, (place, period)
    return shown


def _all_agree(world):
    for place in PLACES:
        for period in PERIODS:
            _figures(world, place, period)
    for source in (ledger_kpis.PARTICIPANTS, ledger_kpis.DEPOSITORS):
        assert check_distinct(distinct_source(source)) == []


def _award(account, points: int, day: date, key: str, *, posted: date):
    post_transfer(
        kind=TransferKind.AWARD,
        idempotency_key=key,
        legs=[Leg(system_account("issuance").pk, -points), Leg(account.pk, points, counts_as_earned=True)],
        actor=None,
        effective_date=day,
        now=at(posted),
    )


def test_built_distinct_counts_equal_the_hand_counts(world):
    rollups_build(now=APRIL_FIRST)
    participants = ledger_kpis.PARTICIPANTS
    # r1 once per bucket it earned in: two months, two weeks of March and one of February, one quarter, one year.
    assert FirstSeen.objects.filter(measure=f"{participants}.month").count() == 2
    assert FirstSeen.objects.filter(measure=f"{participants}.week").count() == 3
    assert FirstSeen.objects.filter(measure=f"{participants}.year").count() == 1
    assert (
        DailyTotal.objects.get(measure=f"{participants}.month", place_id=world["district"].pk, day=MARCH.first).value
        == 1
    )
    assert _figures(world, "district", MARCH) == (1, 1)
    assert _figures(world, "community_a", Period.month(2031, 1)) == (0, 0)
    assert _figures(world, "community_b", MARCH) == (0, 0)
    _all_agree(world)


def test_postings_since_the_run_are_counted_once(world):
    rollups_build(now=APRIL_FIRST)
    r1, r2 = world.r1, world.r2
    # r1 again in March (already counted), r2 for the first time (a new participant and a new household).
    _award(r1, 2, date(2031, 3, 20), "test:r1-again", posted=date(2031, 4, 2))
    _award(r2, 2, date(2031, 3, 21), "test:r2-first", posted=date(2031, 4, 2))
    _award(r2, 1, date(2031, 3, 22), "test:r2-second", posted=date(2031, 4, 2))
    assert _figures(world, "district", MARCH) == (2, 2)
    assert _figures(world, "district", FEBRUARY) == (1, 1)
    _all_agree(world)
    # The watermark lags one run: two runs take them in, and the figures stay the same.
    rollups_build(now=at(date(2031, 4, 2), 3))
    rollups_build(now=at(date(2031, 4, 2), 4))
    assert _figures(world, "district", MARCH) == (2, 2)
    _all_agree(world)
    kept = sorted(FirstSeen.objects.values_list("measure", "bucket", "subject", "day"))
    totals = sorted(DailyTotal.objects.values_list("measure", "place_id", "day", "value"))
    rollups_build(now=at(date(2031, 4, 2), 5))
    assert sorted(FirstSeen.objects.values_list("measure", "bucket", "subject", "day")) == kept
    assert sorted(DailyTotal.objects.values_list("measure", "place_id", "day", "value")) == totals


def test_a_back_dated_earning_moves_the_household_earlier(world):
    r2 = world.r2
    _award(r2, 2, date(2031, 3, 21), "test:r2-march", posted=date(2031, 3, 21))
    rollups_build(now=APRIL_FIRST)
    assert _figures(world, "district", FEBRUARY) == (1, 1)
    # On 2 April, a correction effective 15 January: household a2 has been a depositor since January.
    _award(r2, 1, date(2031, 1, 15), "test:r2-january", posted=date(2031, 4, 2))
    assert _figures(world, "district", FEBRUARY) == (1, 2)
    assert _figures(world, "district", Period.month(2031, 1)) == (1, 1)
    _all_agree(world)
    rollups_build(now=at(date(2031, 4, 2), 3))
    rollups_build(now=at(date(2031, 4, 2), 4))
    seen = FirstSeen.objects.get(measure=f"{ledger_kpis.DEPOSITORS}.ever", subject=r2.place_path)
    assert seen.day == date(2031, 1, 15)
    assert _figures(world, "district", FEBRUARY) == (1, 2)
    _all_agree(world)


def test_check_distinct_finds_a_tampered_total_and_a_lost_record(world):
    rollups_build(now=APRIL_FIRST)
    source = distinct_source(ledger_kpis.PARTICIPANTS)
    DailyTotal.objects.filter(measure=f"{source.key}.month", place_id=world["district"].pk).update(value=F("value") + 1)
    problems = check_distinct(source)
    assert any(f"place {world['district'].pk}" in problem for problem in problems)
    FirstSeen.objects.filter(measure=f"{source.key}.year").delete()
    assert any("in the rows, not recorded" in problem for problem in check_distinct(source))
