"""The case figures through the roll-ups equal the raw recount, including after a case is closed late (its
trail makes its days dirty until the next run). Hand counts: see gongzhi/cockpit/tests/conftest.py."""

from __future__ import annotations

from datetime import date

from gongzhi.cases import kpis
from gongzhi.cases.models import Case, CaseEvent, CaseEventKind, CaseState
from gongzhi.cockpit.tests.conftest import FEBRUARY, MARCH, at
from gongzhi.core.figures import Period
from gongzhi.rollups.models import DailyTotal
from gongzhi.rollups.selectors import coverage
from gongzhi.rollups.services import rollups_build
from gongzhi.rollups.sources import source

APRIL = Period.month(2031, 4)


def _same_as_recount(place, period):
    shown = kpis.case_figures(place, period)
    assert shown == kpis.case_figures_recount(place, period)
    return shown


def test_rolled_up_case_figures_equal_the_hand_counts(world):
    rollups_build(now=at(date(2031, 4, 1), 2))
    community = world["community_a"]
    assert (
        DailyTotal.objects.get(measure="cases.cases.received", place_id=community.pk, day=date(2031, 3, 5)).value == 3
    )
    # Below the community (a grid) nothing is kept: its figures are counted from the cases.
    assert not DailyTotal.objects.filter(place_id=world["grid_a1"].pk).exists()
    march = _same_as_recount(world["community_a"], MARCH)
    assert (march.received, march.closed, march.open) == (4, 3, 1)
    assert (march.on_time.numerator, march.on_time.denominator) == (2, 3)
    assert (march.resolved_in_community.numerator, march.satisfaction.numerator) == (3, 2)
    assert _same_as_recount(world["district"], FEBRUARY).closed == 1
    assert _same_as_recount(world["community_b"], MARCH).on_time.percent is None
    for place in ("district", "street", "grid_a1", "grid_a2"):
        _same_as_recount(world[place], MARCH)


def test_a_case_closed_late_is_exact_before_and_after_the_next_run(world):
    rollups_build(now=at(date(2031, 4, 1), 2))
    late = Case.objects.get(state=CaseState.SUBMITTED)
    # Closed on 31 March at 23:30 local time, recorded on 2 April (the trail says so, as the services write it).
    closed_at = at(date(2031, 3, 31), 23).replace(minute=30)
    Case.objects.filter(pk=late.pk).update(
        state=CaseState.CLOSED, closed_at=closed_at, resolved_level="grid", updated_at=at(date(2031, 4, 2))
    )
    CaseEvent.objects.create(case=late, kind=CaseEventKind.CLOSED, level="grid", occurred_at=at(date(2031, 4, 2)))
    assert coverage(source(kpis.CLOSED)).dirty == {date(2031, 3, 31)}
    before = _same_as_recount(world["community_a"], MARCH)
    assert (before.closed, before.open, before.on_time.denominator) == (4, 0, 4)
    rollups_build(now=at(date(2031, 4, 3), 2))
    rollups_build(now=at(date(2031, 4, 3), 3))
    assert (
        DailyTotal.objects.get(measure="cases.cases.closed", place_id=world["district"].pk, day=date(2031, 3, 31)).value
        == 1
    )
    assert _same_as_recount(world["community_a"], MARCH) == before
    for place in ("district", "grid_a1"):
        for period in (MARCH, APRIL, Period.year(2031)):
            _same_as_recount(world[place], period)
    # Today (after the last day rolled up) is counted from the cases.
    Case.objects.create(
        category=world["category"],
        text="新",
        channel="staff",
        place=world["grid_a1"],
        submitted_at=at(date(2031, 4, 3), 9),
        reported_at=at(date(2031, 4, 3), 9),
        handling_place=world["grid_a1"],
    )
    assert _same_as_recount(world["grid_a1"], APRIL).received == 1
