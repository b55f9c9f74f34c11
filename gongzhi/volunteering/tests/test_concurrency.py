"""Sign-ups racing on PostgreSQL: real threads, committed transactions. SQLite takes one writer at a time, so racing
there proves nothing and these tests skip."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from gongzhi.core.testing import race
from gongzhi.volunteering.models import Activity, SignUp
from gongzhi.volunteering.services import activity_join, signup_cancel

from .factories import NOW, make_activity, volunteer

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrency is tested on PostgreSQL only"),
]


def test_120_volunteers_race_for_10_places(world):
    activity = make_activity(world, capacity=10)
    people = [volunteer(world) for _ in range(120)]

    results = race([lambda person=person: activity_join(actor=person, activity=activity, now=NOW) for person in people])

    assert all(isinstance(result, SignUp) for result in results)
    activity.refresh_from_db()
    assert activity.taken == 10
    assert SignUp.objects.filter(activity=activity, state="confirmed").count() == 10
    waiting = list(SignUp.objects.filter(activity=activity, state="waiting").order_by("position"))
    assert [s.position for s in waiting] == list(range(1, 111))
    # the waiting order is the order the sign-ups were committed in
    assert [s.pk for s in waiting] == sorted(s.pk for s in waiting)


def test_the_same_volunteer_twice_at_once_gets_one_signup(world):
    activity = make_activity(world, capacity=10)
    person = volunteer(world)
    results = race([lambda: activity_join(actor=person, activity=activity, now=NOW) for _ in range(8)])
    assert sum(isinstance(result, SignUp) for result in results) == 1
    assert set(r for r in results if not isinstance(r, SignUp)) == {"already_signed_up"}


def test_cancellations_racing_sign_ups_never_overbook(world):
    activity = make_activity(world, capacity=5)
    holders = [volunteer(world) for _ in range(5)]
    signups = [activity_join(actor=person, activity=activity, now=NOW) for person in holders]
    newcomers = [volunteer(world) for _ in range(30)]
    calls = [
        (
            lambda person=person, signup=signup: signup_cancel(
                actor=person, signup=signup, now=NOW + timedelta(minutes=1)
            )
        )
        for person, signup in zip(holders, signups, strict=True)
    ] + [
        lambda person=person: activity_join(actor=person, activity=activity, now=NOW + timedelta(minutes=1))
        for person in newcomers
    ]
    race(calls)
    activity = Activity.objects.get(pk=activity.pk)
    held = SignUp.objects.filter(activity=activity, state__in=["confirmed", "offered"]).count()
    assert held == activity.taken == 5
