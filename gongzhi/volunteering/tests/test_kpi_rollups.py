"""The activity figures through the roll-ups equal the raw recount: after a build, after sign-ups and corrections
made since (before the next run), and a second run changes nothing; ``kpi_check`` finds a tampered total."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db.models import F, Q

from gongzhi.core.figures import Period
from gongzhi.rollups.checks import kpi_check
from gongzhi.rollups.models import DailyTotal
from gongzhi.rollups.selectors import coverage
from gongzhi.rollups.services import rollups_build
from gongzhi.rollups.sources import source
from gongzhi.volunteering import kpi_rollups, kpis, tokens
from gongzhi.volunteering.models import SignUp
from gongzhi.volunteering.services import (
    activity_cancel,
    activity_close,
    activity_join,
    attendance_mark,
    check_in,
    registration_create,
    registration_end,
    signup_cancel,
)

from .factories import NOW, make_activity, party_member, volunteer

pytestmark = pytest.mark.django_db

MARCH, YEAR = Period.month(2031, 3), Period.year(2031)
PERIODS = (MARCH, Period.month(2031, 4), YEAR, Period.custom(date(2031, 3, 14), date(2031, 3, 20)))


def _same_everywhere(world) -> None:
    places = [world.tree[name] for name in ("district", "street", "community_a", "community_b", "grid_a1")]
    places.append(world.tree["household_a1"])  # below the rolled levels: counted raw
    for place in places:
        for period in PERIODS:
            assert kpis.activity_figures(place, period) == kpis.activity_figures_recount(place, period), (
                place.name,
                period.key,
            )


def _served(world, activity, login, minutes: int = 120) -> SignUp:
    signup = activity_join(actor=login, activity=activity, now=activity.starts_at - timedelta(days=1))
    return attendance_mark(
        actor=world.organiser,
        signup=SignUp.objects.get(pk=signup.pk),
        checked_in_at=activity.starts_at,
        checked_out_at=activity.starts_at + timedelta(minutes=minutes),
        now=activity.ends_at,
    )


def _march_world(world):
    """Two activities in March: one closed (three attended, one too briefly, one no-show, one late cancellation),
    one called off (its sign-ups leave the figures)."""
    held = make_activity(world, starts_at=NOW + timedelta(days=2), capacity=10, now=NOW)
    for minutes in (120, 120, 120, 30):
        _served(world, held, volunteer(world), minutes)
    activity_join(actor=volunteer(world), activity=held, now=NOW)  # comes not: a no-show
    late = activity_join(actor=volunteer(world), activity=held, now=NOW)
    signup_cancel(actor=world.organiser, signup=late, now=held.starts_at - timedelta(hours=1))
    activity_close(
        actor=world.organiser,
        activity=held,
        beneficiary_person_times=40,
        beneficiary_households=12,
        now=held.ends_at + timedelta(hours=1),
    )
    called_off = make_activity(world, starts_at=NOW + timedelta(days=3), capacity=10, now=NOW)
    activity_join(actor=volunteer(world), activity=called_off, now=NOW)
    activity_cancel(actor=world.organiser, activity=called_off, reason="下雨", now=NOW + timedelta(days=1))
    return held


def _snapshot() -> list[tuple]:
    return list(
        DailyTotal.objects.order_by("measure", "place_id", "day").values_list("measure", "place_id", "day", "value")
    )


def test_rolled_up_activity_figures_equal_the_hand_counts(world):
    _march_world(world)
    rollups_build(now=NOW.replace(month=4, day=2))
    day = date(2031, 3, 14)
    community = world.community
    assert DailyTotal.objects.get(measure="volunteering.signups.signups", place_id=community.pk, day=day).value == 6
    figures = kpis.activity_figures(community, MARCH)
    assert (figures.activities, figures.held, figures.signups, figures.attendance) == (1, 1, 6, 3)
    assert (figures.no_shows, figures.late_cancellations, figures.credit_hours) == (1, 1, 6.0)
    assert (figures.beneficiary_person_times, figures.beneficiary_households) == (40, 12)
    _same_everywhere(world)
    # A second run finds nothing new and changes nothing.
    before = _snapshot()
    rollups_build(now=NOW.replace(month=4, day=2, hour=3))
    assert _snapshot() == before
    _same_everywhere(world)


def test_check_ins_and_late_corrections_are_exact_before_the_next_run(world):
    _march_world(world)
    # The next activity starts on 20 March; the roll-ups are built through 20 March on the 21st.
    later = make_activity(world, starts_at=NOW + timedelta(days=8), capacity=10, now=NOW)
    people = [volunteer(world) for _ in range(3)]
    for person in people:
        activity_join(actor=person, activity=later, now=NOW)
    rollups_build(now=NOW + timedelta(days=9))
    _same_everywhere(world)
    signups_source = source(kpi_rollups.SIGNUPS)
    assert coverage(signups_source).dirty == frozenset()
    # A check-in recorded on the day (inside the window), and a sign-up back-dated into a rolled day.
    moment = later.starts_at + timedelta(minutes=5)
    check_in(actor=people[0], activity=later, code=tokens.typed_code_for(later, moment), now=moment)
    activity_join(actor=volunteer(world), activity=later, now=later.starts_at - timedelta(hours=2))
    assert coverage(signups_source).dirty == {date(2031, 3, 20)}
    _same_everywhere(world)
    # The late correction: the organiser ticks the roster and closes the activity days after it was rolled up.
    attendance_mark(
        actor=world.organiser,
        signup=SignUp.objects.get(activity=later, resident=people[1].resident),
        checked_in_at=later.starts_at,
        checked_out_at=later.ends_at,
        now=later.ends_at + timedelta(days=2),
    )
    activity_close(
        actor=world.organiser, activity=later, beneficiary_person_times=9, now=later.ends_at + timedelta(days=2)
    )
    assert coverage(source(kpi_rollups.ACTIVITIES)).dirty == {date(2031, 3, 20)}
    figures = kpis.activity_figures(world.community, MARCH)
    assert (figures.activities, figures.held, figures.signups, figures.attendance) == (2, 2, 10, 4)
    _same_everywhere(world)
    # Today (after the last day rolled up) is counted from the rows.
    today = make_activity(world, starts_at=NOW + timedelta(days=12), capacity=10, now=NOW + timedelta(days=11))
    activity_join(actor=volunteer(world), activity=today, now=NOW + timedelta(days=11))
    _same_everywhere(world)
    # The next runs merge it all (the watermarks lag one run); then nothing changes any more.
    rollups_build(now=NOW + timedelta(days=12))
    rollups_build(now=NOW + timedelta(days=12, hours=1))
    assert coverage(signups_source).dirty == frozenset()
    _same_everywhere(world)
    before = _snapshot()
    rollups_build(now=NOW + timedelta(days=12, hours=2))
    assert _snapshot() == before
    assert kpi_check([date(2031, 3, 20)]) == []


def test_kpi_check_finds_a_tampered_total(world):
    _march_world(world)
    rollups_build(now=NOW.replace(month=4, day=2))
    assert kpi_check([date(2031, 3, 14)]) == []
    DailyTotal.objects.filter(
        measure="volunteering.signups.credit_minutes", place_id=world.tree["district"].pk, day=date(2031, 3, 14)
    ).update(value=1)
    problems = kpi_check([date(2031, 3, 14)])
    assert any(problem.startswith("volunteering.signups.credit_minutes") for problem in problems)
    assert any(problem.startswith("volunteering.activities ") for problem in problems)


def test_home_service_weeks_read_by_resident_equal_the_aggregate(world):
    members = [party_member(world) for _ in range(4)]
    registrations = [
        registration_create(
            actor=member,
            membership=member.resident.party_membership,
            registered_on=NOW.date() - timedelta(days=30),
            now=NOW - timedelta(days=20),
        )
        for member in members
    ]
    registration_end(actor=members[3], registration=registrations[3], now=NOW - timedelta(days=5))
    week = make_activity(world, starts_at=NOW.replace(day=26), capacity=10, now=NOW)
    for member, minutes in zip(members, (120, 120, 30, 120), strict=True):
        _served(world, week, member, minutes)
    earlier = make_activity(world, starts_at=NOW + timedelta(days=1), capacity=10, now=NOW)
    _served(world, earlier, members[2])
    for item in (week, earlier):
        activity_close(actor=world.organiser, activity=item, now=item.ends_at + timedelta(hours=1))
    for name in ("district", "community_a", "community_b", "grid_a1"):
        shown = kpis.home_service_week_figures(world.tree[name], 2031)
        assert shown == kpis.home_service_week_figures_recount(world.tree[name], 2031)
    march = kpis.home_service_week_figures(world.community, 2031)[2]
    assert (march.registered, march.served) == (3, 2)
    # The registration figures (the same probe through the copied start) agree with the activities' own starts.
    for name in ("district", "community_a"):
        for period in PERIODS:
            shown = kpis.registration_figures(world.tree[name], period)
            assert shown.served == _served_through_activities(world.tree[name], period), (name, period.key)
    copies = SignUp.objects.exclude(activity_starts_at=F("activity__starts_at"))
    assert SignUp.objects.exists() and not copies.exists()


def _served_through_activities(place, period) -> int:
    in_force = kpis.registrations_in_force(kpis.scope_path(place), period.last)
    served = Q(
        membership__resident__volunteer_signups__state=SignUp.State.CONFIRMED,
        membership__resident__volunteer_signups__credit_minutes__gt=0,
        membership__resident__volunteer_signups__activity__starts_at__gte=period.start,
        membership__resident__volunteer_signups__activity__starts_at__lt=period.end,
    )
    return in_force.filter(served).values("membership").distinct().count()
