"""The API, through the real client with a bearer token: the error shape, the codes, nothing changed on refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from gongzhi.core.testing import assert_refused
from gongzhi.people.services import api_token_issue
from gongzhi.volunteering import tokens
from gongzhi.volunteering.models import SignUp

from .factories import NOW, make_activity, volunteer

pytestmark = pytest.mark.django_db


def api(account) -> Client:
    raw = api_token_issue(account=account, now=NOW)
    return Client(headers={"Authorization": f"Bearer {raw}"})


@time_machine.travel(NOW, tick=False)
def test_join_check_in_and_errors(world):
    activity = make_activity(world, starts_at=NOW + timedelta(minutes=10), capacity=1, now=NOW - timedelta(days=1))
    person, other = volunteer(world), volunteer(world)
    client = api(person)
    joined = client.post(f"/api/v1/volunteering/activities/{activity.pk}/join")
    assert joined.status_code == 201 and joined.json()["state"] == "confirmed"
    assert_refused(
        "already_signed_up", lambda: client.post(f"/api/v1/volunteering/activities/{activity.pk}/join"), status=409
    )
    waiting = api(other).post(f"/api/v1/volunteering/activities/{activity.pk}/join")
    assert waiting.json()["state"] == "waiting" and waiting.json()["position"] == 1
    forged = client.post(
        f"/api/v1/volunteering/activities/{activity.pk}/check-in",
        {"token": f"{activity.pk}.1.abc"},
        content_type="application/json",
    )
    assert forged.status_code == 422 and forged.json()["code"] == "token_invalid"
    token = tokens.token_for(activity, NOW)
    done = client.post(
        f"/api/v1/volunteering/activities/{activity.pk}/check-in", {"token": token}, content_type="application/json"
    )
    assert done.status_code == 200 and done.json()["checked_in_at"]
    assert_refused(
        "already_checked_in",
        lambda: client.post(
            f"/api/v1/volunteering/activities/{activity.pk}/check-in", {"token": token}, content_type="application/json"
        ),
    )
    assert SignUp.objects.filter(activity=activity, checked_in_at__isnull=False).count() == 1


@time_machine.travel(NOW, tick=False)
def test_organiser_endpoints(world):
    activity = make_activity(world, starts_at=NOW - timedelta(hours=3), hours=1, now=NOW - timedelta(days=1))
    organiser = api(world.organiser)
    assert organiser.get(f"/api/v1/volunteering/activities/{activity.pk}/roster").status_code == 200
    assert organiser.get(f"/api/v1/volunteering/activities/{activity.pk}/token").json()["in_window"] is False
    closed = organiser.post(
        f"/api/v1/volunteering/activities/{activity.pk}/close",
        {"beneficiary_person_times": 3},
        content_type="application/json",
    )
    assert closed.status_code == 200 and closed.json()["activity"]["state"] == "closed"
    outsider = api(world.organiser_b)
    assert_refused(
        "not_found", lambda: outsider.get(f"/api/v1/volunteering/activities/{activity.pk}/roster"), status=404
    )
    figures = organiser.get(f"/api/v1/volunteering/figures?place_id={world.community.pk}&period=2031-03")
    assert figures.status_code == 200 and figures.json()["activities"]["held"] == 1
    assert figures.json()["dual_registration"]["rate"]["percent"] is None
    created = organiser.post(
        "/api/v1/volunteering/activities",
        {
            "community_id": world.community.pk,
            "title": "x",
            "location": "y",
            "starts_at": (NOW + timedelta(days=1)).isoformat(),
            "ends_at": NOW.isoformat(),
            "capacity": 3,
        },
        content_type="application/json",
    )
    assert created.status_code == 422 and "ends_at" in created.json()["fields"]


@time_machine.travel(NOW, tick=False)
def test_wish_with_phone_refused_over_the_api(world):
    person = volunteer(world)
    client = api(person)
    assert_refused(
        "wish_personal_data",
        lambda: client.post(
            "/api/v1/volunteering/wishes",
            {"title": "t", "public_text": "电话 13912345678", "due_on": "2031-04-01"},
            content_type="application/json",
        ),
        status=422,
    )


def test_team_endpoints(world):
    organiser = api(world.organiser)
    created = organiser.post(
        "/api/v1/volunteering/teams",
        {"community_id": world.community.pk, "name": "助老队", "purpose": "elderly_care"},
        content_type="application/json",
    )
    assert created.status_code == 201
    team_id = created.json()["id"]
    person = volunteer(world)
    mine = api(person)
    joined = mine.post(
        f"/api/v1/volunteering/teams/{team_id}/join", {"skills": "陪护"}, content_type="application/json"
    )
    assert joined.status_code == 201 and joined.json()["state"] == "pending"
    assert_refused(
        "already_in_team",
        lambda: mine.post(f"/api/v1/volunteering/teams/{team_id}/join", {}, content_type="application/json"),
        status=409,
    )
    member_id = joined.json()["id"]
    assert_refused(
        "not_found",
        lambda: mine.post(
            f"/api/v1/volunteering/team-members/{member_id}/approve", {}, content_type="application/json"
        ),
        status=404,
    )
    approved = organiser.post(
        f"/api/v1/volunteering/team-members/{member_id}/approve", {"lead": True}, content_type="application/json"
    )
    assert approved.json()["is_lead"] is True
    assert mine.post(f"/api/v1/volunteering/team-members/{member_id}/leave").json()["state"] == "left"


@time_machine.travel(NOW, tick=False)
def test_wish_flow_over_the_api(world):
    from gongzhi.core.testing import image_upload

    from .factories import party_member

    elder, member = volunteer(world), party_member(world)
    posted = api(elder).post(
        "/api/v1/volunteering/wishes",
        {"title": "想要一本字典", "public_text": "孩子上学用", "due_on": "2031-04-01"},
        content_type="application/json",
    )
    assert posted.status_code == 201 and posted.json()["state"] == "submitted"
    wish_id = posted.json()["id"]
    assert api(world.organiser).post(f"/api/v1/volunteering/wishes/{wish_id}/approve").json()["state"] == "open"
    claimer = api(member)
    assert (
        claimer.post(f"/api/v1/volunteering/wishes/{wish_id}/claim", {}, content_type="application/json").json()[
            "state"
        ]
        == "claimed"
    )
    other = api(party_member(world))
    assert_refused(
        "wish_already_claimed",
        lambda: other.post(f"/api/v1/volunteering/wishes/{wish_id}/claim", {}, content_type="application/json"),
        status=409,
    )
    fulfilled = claimer.post(f"/api/v1/volunteering/wishes/{wish_id}/fulfil", {"photo": image_upload(), "note": "送到"})
    assert fulfilled.status_code == 200 and fulfilled.json()["state"] == "fulfilled"
    assert_refused("wish_not_yours", lambda: other.post(f"/api/v1/volunteering/wishes/{wish_id}/confirm"), status=403)
    assert api(elder).post(f"/api/v1/volunteering/wishes/{wish_id}/confirm").json()["state"] == "confirmed"
    wall = claimer.get("/api/v1/volunteering/wishes").json()
    assert wall["results"][0]["name"].endswith("*")


@time_machine.travel(NOW, tick=False)
def test_guessing_the_typed_code_is_rate_limited(world, settings):
    from django.core.cache import cache

    activity = make_activity(world, starts_at=NOW, capacity=5, now=NOW - timedelta(days=1))
    person = volunteer(world)
    client = api(person)
    client.post(f"/api/v1/volunteering/activities/{activity.pk}/join")
    cache.clear()
    settings.GONGZHI_RATE_LIMITING = True
    settings.GONGZHI_RATE_LIMITS = {"checkin": {"account": 3, "address": 100, "seconds": 60}}
    url = f"/api/v1/volunteering/activities/{activity.pk}/check-in"
    for guess in ("000000", "000001", "000002"):
        assert client.post(url, {"code": guess}, content_type="application/json").status_code in (409, 422)
    right = tokens.typed_code_for(activity, NOW)
    assert_refused(
        "rate_limited", lambda: client.post(url, {"code": right}, content_type="application/json"), status=429
    )
    cache.clear()
