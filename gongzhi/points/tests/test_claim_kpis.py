"""The claims figures through the roll-ups equal the raw recount and the hand counts: after a build, after a claim
and a decision made since (no rebuild), around local midnight, on the 7-day boundary (to the microsecond), and a
second build changes nothing (SQLite and PostgreSQL). Fixed 2031 moments, no wall clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gongzhi.core.figures import Period
from gongzhi.points import claim_kpis
from gongzhi.points.claim_kpis import claim_figures, claim_figures_recount
from gongzhi.points.services import claim_approve, claim_reject, claim_submit
from gongzhi.points.tests.factories import reviewer, superuser
from gongzhi.rollups.checks import kpi_check
from gongzhi.rollups.models import DailyTotal, RollupState
from gongzhi.rollups.services import rollups_build

SHANGHAI = ZoneInfo("Asia/Shanghai")
FEBRUARY, MARCH, APRIL = Period.month(2031, 2), Period.month(2031, 3), Period.month(2031, 4)
YEAR = Period.year(2031)
# Monday 31 March to Sunday 6 April: the local midnight of 1 April inside one period.
TURN_OF_MONTH = Period.containing("week", date(2031, 3, 31))
PERIODS = (FEBRUARY, MARCH, APRIL, YEAR, TURN_OF_MONTH)
PLACES = ("district", "street", "community_a", "community_b", "grid_a1", "building_a1", "household_a1")
BUILT_AT = datetime(2031, 4, 2, 2, tzinfo=SHANGHAI)


def local(day: date, hour: int = 10, microsecond: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, microsecond=microsecond, tzinfo=SHANGHAI)


@pytest.fixture
def claims(world):
    """Claims by hand (local times, Asia/Shanghai):

    - r1 (household A1, building A1, community A): item 8 submitted 1 Feb, approved 2 Feb (February, in week);
      item 3 submitted 3 Mar 10:00, approved 10 Mar 10:00, exactly 7 days (in week); item 5 submitted
      10 Mar 10:00, approved 17 Mar 10:00 and one microsecond (late).
    - r2 (household A2, community A): item 8 submitted 20 Feb, approved 5 Mar (late); item 3 submitted 10 Mar,
      rejected 11 Mar (in week).
    - r3 (household B1, community B): item 8 submitted 28 Feb 16:00 UTC = 1 Mar 00:00 local (March), open;
      item 3 submitted 24 Mar, approved 31 Mar 15:59:59.999999 UTC = 23:59:59.999999 local (March, late);
      item 5 submitted 25 Mar, approved 31 Mar 16:00 UTC = 1 Apr 00:00 local (April, in week).
    """
    _login1, r1 = world.resident("household_a1")
    _login2, r2 = world.resident("household_a2")
    _login3, r3 = world.resident("household_b1")
    reviewer_b = reviewer(world.tree["community_b"])

    def submit(account, value: int, moment: datetime):
        return claim_submit(
            actor=world.worker if account is not r3 else superuser(),
            account=account,
            item=world.items[value],
            service_date=moment.astimezone(SHANGHAI).date(),
            description=f"服务 {account.pk} {value} {moment.isoformat()}",
            now=moment,
        )

    def approve(claim, moment: datetime, by=None):
        return claim_approve(actor=by or world.reviewer, claim=claim, now=moment)

    approve(submit(r1, 8, local(date(2031, 2, 1))), local(date(2031, 2, 2), 15))
    approve(submit(r1, 3, local(date(2031, 3, 3))), local(date(2031, 3, 10)))
    approve(submit(r1, 5, local(date(2031, 3, 10))), local(date(2031, 3, 17), microsecond=1))
    approve(submit(r2, 8, local(date(2031, 2, 20))), local(date(2031, 3, 5), 15))
    rejected = submit(r2, 3, local(date(2031, 3, 10)))
    claim_reject(actor=world.reviewer, claim=rejected, reason="不符合", now=local(date(2031, 3, 11), 15))
    submit(r3, 8, datetime(2031, 2, 28, 16, tzinfo=UTC))
    last_of_march = datetime(2031, 3, 31, 15, 59, 59, 999999, tzinfo=UTC)
    approve(submit(r3, 3, local(date(2031, 3, 24))), last_of_march, by=reviewer_b)
    approve(submit(r3, 5, local(date(2031, 3, 25))), datetime(2031, 3, 31, 16, tzinfo=UTC), by=reviewer_b)
    world.r1, world.r2, world.r3, world.reviewer_b = r1, r2, r3, reviewer_b
    return world


def _shown(place, period):
    """The rolled figures, checked against the recount: (submitted, approved, rejected, in week, decided)."""
    shown = claim_figures(place, period)
    assert shown == claim_figures_recount(place, period), (place.name, period.key)
    return (
        shown.submitted,
        shown.approved,
        shown.rejected,
        shown.reviewed_in_week.numerator,
        shown.reviewed_in_week.denominator,
    )


def _all_equal_the_recount(world):
    for name in PLACES:
        for period in PERIODS:
            _shown(world.tree[name], period)


def _totals():
    measures = DailyTotal.objects.filter(measure__startswith="points.claims.")
    return sorted(measures.values_list("measure", "place_id", "day", "value"))


HAND_COUNTS = {
    ("community_a", MARCH): (3, 3, 1, 2, 4),
    ("community_a", FEBRUARY): (2, 1, 0, 1, 1),
    ("community_b", MARCH): (3, 1, 0, 0, 1),
    ("community_b", APRIL): (0, 1, 0, 1, 1),
    ("community_b", TURN_OF_MONTH): (0, 2, 0, 1, 2),
    ("district", MARCH): (6, 4, 1, 2, 5),
    ("district", YEAR): (8, 6, 1, 4, 7),
    ("building_a1", MARCH): (2, 2, 0, 1, 2),
    # Below the rolled levels: counted from the raw rows, the same numbers.
    ("household_a1", MARCH): (2, 2, 0, 1, 2),
}


def test_unbuilt_rolled_and_recounted_figures_equal_the_hand_counts(claims):
    for (name, period), expected in HAND_COUNTS.items():
        assert _shown(claims.tree[name], period) == expected, (name, period.key)
    rollups_build(now=BUILT_AT)
    state = RollupState.objects.get(source=claim_kpis.DECIDED)
    assert state.built_to > 0 and state.built_at == BUILT_AT
    for (name, period), expected in HAND_COUNTS.items():
        assert _shown(claims.tree[name], period) == expected, (name, period.key)
    _all_equal_the_recount(claims)
    assert kpi_check([date(2031, 3, 15), date(2031, 4, 1)]) == []


def test_the_totals_keep_each_decision_on_its_local_day(claims):
    rollups_build(now=BUILT_AT)
    community_b = claims.tree["community_b"].pk
    approved = DailyTotal.objects.filter(measure="points.claims.approved", place_id=community_b)
    assert sorted(approved.values_list("day", "value")) == [(date(2031, 3, 31), 1), (date(2031, 4, 1), 1)]
    submitted = DailyTotal.objects.filter(measure="points.claims.submitted", place_id=community_b)
    assert (date(2031, 3, 1), 1) in set(submitted.values_list("day", "value"))
    assert not submitted.filter(day=date(2031, 2, 28)).exists()
    in_week = DailyTotal.objects.filter(measure="points.claims.in_week", place_id=claims.tree["community_a"].pk)
    # 10 March: r1's exactly-7-days approval; 11 March: r2's rejection; 17 March (7 days + 1 µs) has none.
    assert sorted(in_week.values_list("day", "value")) == [
        (date(2031, 2, 2), 1),
        (date(2031, 3, 10), 1),
        (date(2031, 3, 11), 1),
    ]


def test_a_claim_and_decisions_made_after_the_build_count_before_the_next_one(claims):
    rollups_build(now=BUILT_AT)
    before = _totals()
    # After the build: r2 claims on 2 April, approved on 3 April 09:00; r1's claim of 1 April 23:30 local is
    # rejected at 16:00 UTC on 8 April = 00:00 local on 9 April, 7 days 30 minutes later (late).
    fresh = claim_submit(
        actor=claims.worker,
        account=claims.r2,
        item=claims.items[5],
        service_date=date(2031, 4, 2),
        description="新的服务",
        now=local(date(2031, 4, 2)),
    )
    claim_approve(actor=claims.reviewer, claim=fresh, now=local(date(2031, 4, 3), 9))
    late = claim_submit(
        actor=claims.worker,
        account=claims.r1,
        item=claims.items[8],
        service_date=date(2031, 4, 1),
        description="晚到的服务",
        now=local(date(2031, 4, 1), 23) + timedelta(minutes=30),
    )
    claim_reject(actor=claims.reviewer, claim=late, reason="不符合", now=datetime(2031, 4, 8, 16, tzinfo=UTC))
    assert _totals() == before  # nothing rolled up yet: the new rows are counted live
    community_a, district = claims.tree["community_a"], claims.tree["district"]
    assert _shown(community_a, APRIL) == (2, 1, 1, 1, 2)
    assert _shown(community_a, Period.custom(date(2031, 4, 8), date(2031, 4, 8))) == (0, 0, 0, 0, 0)
    assert _shown(community_a, Period.custom(date(2031, 4, 9), date(2031, 4, 9))) == (0, 0, 1, 0, 1)
    assert _shown(district, YEAR) == (10, 7, 2, 5, 9)
    assert _shown(claims.tree["household_a1"], APRIL) == (1, 0, 1, 0, 1)
    _all_equal_the_recount(claims)
    assert kpi_check([date(2031, 4, 9)]) == []
    # Two runs later (the watermark lags one run) the totals hold them, and the figures have not moved.
    rollups_build(now=local(date(2031, 4, 10), 2))
    rollups_build(now=local(date(2031, 4, 10), 3))
    assert _totals() != before
    assert _shown(community_a, APRIL) == (2, 1, 1, 1, 2)
    assert _shown(district, YEAR) == (10, 7, 2, 5, 9)
    _all_equal_the_recount(claims)
    assert kpi_check([date(2031, 4, 9)]) == []


def test_a_second_build_changes_nothing(claims):
    rollups_build(now=BUILT_AT)
    first = _totals()
    assert first
    rollups_build(now=BUILT_AT + timedelta(hours=1))
    assert _totals() == first
    rollups_build(now=BUILT_AT + timedelta(hours=2))
    assert _totals() == first
    rollups_build(now=BUILT_AT + timedelta(hours=3), rebuild=True)
    assert _totals() == first
    _all_equal_the_recount(claims)


def test_only_approvals_and_rejections_are_decisions(claims):
    """Submissions, returns, first approvals and reversals are decision rows too, but not counted."""
    rollups_build(now=BUILT_AT)
    measures = {row[0] for row in _totals()}
    assert measures == {
        "points.claims.submitted",
        "points.claims.approved",
        "points.claims.rejected",
        "points.claims.in_week",
    }
    rolled = DailyTotal.objects.filter(measure="points.claims.approved", place_id=claims.tree["district"].pk)
    assert sum(rolled.values_list("value", flat=True)) == 6
