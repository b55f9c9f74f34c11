"""The figures equal hand counts; a community with no registered members shows "—"."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gongzhi.core.figures import Period, Rate
from gongzhi.volunteering import kpis
from gongzhi.volunteering.models import SignUp
from gongzhi.volunteering.services import (
    activity_close,
    activity_join,
    attendance_mark,
    honour_hours_add,
    registration_create,
    registration_end,
    team_create,
    team_join,
)

from .factories import NOW, make_activity, party_member, volunteer

pytestmark = pytest.mark.django_db


def _serve(world, activity, login, minutes=120):
    signup = activity_join(actor=login, activity=activity, now=activity.starts_at - timedelta(days=1))
    attendance_mark(
        actor=world.organiser,
        signup=SignUp.objects.get(pk=signup.pk),
        checked_in_at=activity.starts_at,
        checked_out_at=activity.starts_at + timedelta(minutes=minutes),
        now=activity.ends_at,
    )


def test_rates_equal_hand_counts(world):
    # seven registered in-service members in community A; five of them serve in March 2031, one registration ended
    members = [party_member(world) for _ in range(8)]
    registrations = [
        registration_create(
            actor=m,
            membership=m.resident.party_membership,
            registered_on=NOW.date() - timedelta(days=30),
            now=NOW - timedelta(days=20),
        )
        for m in members
    ]
    registration_end(actor=members[7], registration=registrations[7], now=NOW - timedelta(days=10))
    # the home-service week of March 2031 is 25–31 March
    week_start = NOW.replace(day=25)
    activity = make_activity(world, starts_at=week_start, hours=2, capacity=10, now=week_start - timedelta(days=3))
    for member in members[:4]:
        _serve(world, activity, member)
    _serve(world, activity, members[4], minutes=30)  # 25 %: does not count
    earlier = make_activity(world, starts_at=NOW + timedelta(days=1), hours=2, capacity=10, now=NOW)
    _serve(world, earlier, members[5])
    _serve(world, earlier, volunteer(world))  # not a party member
    honour_hours_add(
        actor=world.organiser,
        resident=members[6].resident,
        minutes=90,
        served_on=NOW.date(),
        reason="应急",
        now=NOW + timedelta(days=1),
    )
    for item in (activity, earlier):
        activity_close(
            actor=world.organiser,
            activity=item,
            beneficiary_person_times=30,
            beneficiary_households=9,
            now=item.ends_at + timedelta(hours=1),
        )
    team = team_create(
        actor=world.organiser, community=world.community, name="环境卫生队", purpose="sanitation", now=NOW
    )
    for member in members[:3]:
        team_join(actor=world.organiser, team=team, resident=member.resident, now=NOW)

    march = Period.month(2031, 3)
    figures = kpis.registration_figures(world.community, march)
    assert (figures.registered, figures.served) == (7, 5)  # members 0–3 and 5
    assert figures.rate == Rate(5, 7)
    assert str(figures.rate.percent) == "71.4"

    activities = kpis.activity_figures(world.community, march)
    assert (activities.activities, activities.held, activities.signups, activities.attendance) == (2, 2, 7, 6)
    assert activities.credit_hours == 12.0  # six attended 120 minutes
    assert activities.honour_hours == 1.5
    assert (activities.beneficiary_person_times, activities.beneficiary_households) == (60, 18)

    teams = kpis.team_figures(world.community, march)
    assert (teams.teams, teams.members) == (1, 3)

    weeks = kpis.home_service_week_figures(world.community, 2031)
    march_week = weeks[2]
    assert (march_week.first, march_week.last) == ("2031-03-25", "2031-03-31")
    assert (march_week.registered, march_week.served) == (7, 4)
    assert (weeks[1].registered, weeks[1].served) == (8, 0)  # February: all eight registered on 10 Feb, none served
    assert weeks[0].registered == 0 and weeks[0].rate.percent is None  # January: nobody registered yet

    # a community with no registered members: no rate ("—")
    empty = kpis.registration_figures(world.community_b, march)
    assert (empty.registered, empty.served, empty.rate.percent) == (0, 0, None)
    assert str(empty.rate).startswith("–")
    # a street sums its communities
    street = kpis.registration_figures(world.tree["street"], march)
    assert (street.registered, street.served) == (7, 5)


def test_seed_rate_is_exact():
    assert str(Rate(3218, 3747).percent) == "85.9"
