"""The pages, through the real client: volunteers, organisers, party members, employers; denied paths change
nothing; list pages keep their query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from gongzhi.core.testing import assert_refused, image_upload
from gongzhi.volunteering import tokens
from gongzhi.volunteering.models import Activity, SignUp, Wish
from gongzhi.volunteering.services import activity_join, wish_approve, wish_post

from .factories import NOW, make_activity, party_member, volunteer

pytestmark = pytest.mark.django_db


def client_for(account) -> Client:
    client = Client()
    client.force_login(account)
    return client


@time_machine.travel(NOW, tick=False)
def test_volunteer_joins_and_checks_in_with_the_typed_code(world):
    activity = make_activity(world, starts_at=NOW + timedelta(minutes=10), now=NOW - timedelta(days=1))
    person = volunteer(world)
    client = client_for(person)
    home = client.get("/volunteering/")
    assert home.status_code == 200 and activity.title in home.content.decode()
    assert client.post(f"/volunteering/activities/{activity.pk}/", {"action": "join"}).status_code == 302
    signup = SignUp.objects.get(activity=activity, resident=person.resident)
    assert signup.state == SignUp.State.CONFIRMED
    wrong = client.post(f"/volunteering/activities/{activity.pk}/check-in/", {"action": "in", "code": "000000"})
    if tokens.typed_code_for(activity, NOW) != "000000":
        assert wrong.status_code in (409, 422) and "data-code=" in wrong.content.decode()
    code = tokens.typed_code_for(activity, NOW)
    assert (
        client.post(f"/volunteering/activities/{activity.pk}/check-in/", {"action": "in", "code": code}).status_code
        == 302
    )
    signup.refresh_from_db()
    assert signup.checked_in_at == NOW and signup.check_in_method == "code"
    hours = client.get("/volunteering/me/hours/?certificate=1")
    assert hours.status_code == 200


@time_machine.travel(NOW, tick=False)
def test_the_qr_link_checks_in_by_token(world):
    activity = make_activity(world, starts_at=NOW, now=NOW - timedelta(days=1))
    person = volunteer(world)
    activity_join(actor=person, activity=activity, now=NOW - timedelta(hours=1))
    screen = client_for(world.organiser).get(f"/volunteering/manage/{activity.pk}/screen/")
    assert screen.status_code == 200 and "<svg" in screen.content.decode()
    token = tokens.token_for(activity, NOW)
    assert token in screen.content.decode()
    page = client_for(person).get(f"/volunteering/activities/{activity.pk}/check-in/?token={token}")
    assert page.status_code == 200
    assert client_for(person).post(page.request["PATH_INFO"], {"action": "in", "token": token}).status_code == 302
    assert SignUp.objects.get(activity=activity).check_in_method == "scan"


@time_machine.travel(NOW, tick=False)
def test_organiser_pages(world):
    client = client_for(world.organiser)
    for _ in range(3):
        make_activity(world)
    page = client.get("/volunteering/manage/")
    assert page.status_code == 200 and 'data-testid="figures"' in page.content.decode()
    form = client.post(
        "/volunteering/manage/new/",
        {
            "community": world.community.pk,
            "title": "敬老院慰问",
            "location": "敬老院",
            "starts_at": "2031-03-20T09:00",
            "ends_at": "2031-03-20T11:00",
            "capacity": "8",
            "point_item": world.item.pk,
            "eligibility": "everyone",
        },
    )
    assert form.status_code == 302
    activity = Activity.objects.get(title="敬老院慰问")
    assert client.get(f"/volunteering/manage/{activity.pk}/").status_code == 200
    bad = client.post("/volunteering/manage/new/", {"community": world.community.pk, "title": "", "starts_at": "x"})
    assert bad.status_code == 422


def test_manage_list_query_count(world, django_assert_max_num_queries):
    for _ in range(12):
        make_activity(world)
    client = client_for(world.organiser)
    client.get("/volunteering/manage/")
    with django_assert_max_num_queries(25):
        assert client.get("/volunteering/manage/").status_code == 200


def test_denied_pages_change_nothing(world):
    activity = make_activity(world, starts_at=NOW - timedelta(hours=3), hours=1, now=NOW - timedelta(days=1))
    outsider = client_for(world.organiser_b)
    assert_refused("not_found", lambda: outsider.get(f"/volunteering/manage/{activity.pk}/"), status=404)
    assert_refused(
        "not_found", lambda: outsider.post(f"/volunteering/manage/{activity.pk}/", {"action": "close"}), status=404
    )
    resident = client_for(volunteer(world))
    assert_refused("not_found", lambda: resident.get("/volunteering/manage/"), status=404)
    assert_refused("not_found", lambda: resident.get("/volunteering/employer/"), status=404)
    assert_refused("not_found", lambda: resident.get(f"/volunteering/manage/{activity.pk}/screen/"), status=404)


@time_machine.travel(NOW, tick=False)
def test_wish_pages(world):
    elder = volunteer(world, name="孙奶奶")
    client = client_for(elder)
    refused = client.post(
        "/volunteering/wishes/new/", {"title": "想要收音机", "public_text": "请打 13812345678", "due_on": "2031-04-01"}
    )
    assert refused.status_code == 422 and Wish.objects.count() == 0
    assert "13812345678" in refused.content.decode()  # what was typed is kept in the form
    created = client.post(
        "/volunteering/wishes/new/", {"title": "想要收音机", "public_text": "听戏曲", "due_on": "2031-04-01"}
    )
    assert created.status_code == 302
    wish = Wish.objects.get()
    wish_approve(actor=world.organiser, wish=wish, now=NOW)
    member = party_member(world)
    member_client = client_for(member)
    wall = member_client.get("/volunteering/wishes/")
    assert "孙**" in wall.content.decode() and "孙奶奶" not in wall.content.decode()
    assert (
        member_client.post(
            f"/volunteering/wishes/{wish.pk}/", {"action": "claim", "claimer_kind": "party_member"}
        ).status_code
        == 302
    )
    assert (
        member_client.post(
            f"/volunteering/wishes/{wish.pk}/", {"action": "fulfil", "photo": image_upload()}
        ).status_code
        == 302
    )
    other = client_for(party_member(world))
    denied = other.post(f"/volunteering/wishes/{wish.pk}/", {"action": "confirm"})
    assert denied.status_code == 403
    assert client.post(f"/volunteering/wishes/{wish.pk}/", {"action": "confirm"}).status_code == 302
    wish.refresh_from_db()
    assert wish.state == Wish.State.CONFIRMED
    assert member_client.get(f"/volunteering/wishes/{wish.pk}/photo/").status_code == 200
    assert client_for(world.organiser).get("/volunteering/manage/wishes/?state=confirmed").status_code == 200


@time_machine.travel(NOW, tick=False)
def test_party_member_registers_and_employer_confirms(world):
    member = party_member(world)
    client = client_for(member)
    assert client.get("/volunteering/me/registration/").status_code == 200
    assert client.post("/volunteering/me/registration/", {"action": "register"}).status_code == 302
    registration = member.resident.party_membership.home_registrations.get()
    employer = client_for(world.representative)
    page = employer.get("/volunteering/employer/")
    assert page.status_code == 200 and 'data-testid="confirm-registration"' in page.content.decode()
    assert employer.post("/volunteering/employer/", {"registration": registration.pk}).status_code == 302
    registration.refresh_from_db()
    assert registration.state == "confirmed"
    wrong = client_for(world.other_representative)
    assert_refused(
        "not_found", lambda: wrong.post("/volunteering/employer/", {"registration": registration.pk}), status=404
    )


def test_wish_post_for_someone_else_is_not_found(world):
    elder = volunteer(world)
    wish = wish_post(
        actor=elder,
        resident=elder.resident,
        title="t",
        public_text="x",
        due_on=(NOW + timedelta(days=3)).date(),
        now=NOW,
    )
    stranger = client_for(volunteer(world, household=world.tree["household_b1"]))
    assert_refused("not_found", lambda: stranger.get(f"/volunteering/wishes/{wish.pk}/"), status=404)


def test_team_pages(world):
    organiser = client_for(world.organiser)
    assert (
        organiser.post(
            "/volunteering/teams/",
            {"action": "create", "community": world.community.pk, "name": "平安巡逻队", "purpose": "patrol"},
        ).status_code
        == 302
    )
    from gongzhi.volunteering.models import Team, TeamMember

    team = Team.objects.get(name="平安巡逻队")
    person = volunteer(world, name="周巡逻")
    resident = client_for(person)
    assert "平安巡逻队" in resident.get("/volunteering/teams/").content.decode()
    assert (
        resident.post("/volunteering/teams/", {"action": "join", "team": team.pk, "skills": "夜巡"}).status_code == 302
    )
    member = TeamMember.objects.get(team=team)
    assert member.state == "pending"
    page = organiser.get(f"/volunteering/teams/{team.pk}/")
    assert "周*" in page.content.decode() and "周巡逻" not in page.content.decode()
    assert organiser.post(f"/volunteering/teams/{team.pk}/", {"member": member.pk, "action": "lead"}).status_code == 302
    member.refresh_from_db()
    assert member.state == "active" and member.is_lead
    outsider = client_for(world.organiser_b)
    assert_refused(
        "not_found",
        lambda: outsider.post(f"/volunteering/teams/{team.pk}/", {"member": member.pk, "action": "leave"}),
        status=404,
    )


@time_machine.travel(NOW, tick=False)
def test_organiser_ticks_the_roster_and_closes(world):
    activity = make_activity(world, starts_at=NOW - timedelta(hours=3), hours=2, now=NOW - timedelta(days=1))
    person = volunteer(world)
    activity_join(actor=world.organiser, activity=activity, resident=person.resident, now=NOW - timedelta(hours=4))
    signup = SignUp.objects.get(activity=activity)
    client = client_for(world.organiser)
    ticked = client.post(
        f"/volunteering/manage/{activity.pk}/",
        {
            "action": "mark",
            "signup": signup.pk,
            "checked_in_at": "2031-03-12T07:00",
            "checked_out_at": "2031-03-12T09:00",
        },
    )
    assert ticked.status_code == 302
    signup.refresh_from_db()
    assert signup.check_in_method == "roster" and signup.checked_in_at == activity.starts_at
    wrong = client.post(
        f"/volunteering/manage/{activity.pk}/",
        {
            "action": "mark",
            "signup": signup.pk,
            "checked_in_at": "2031-03-12T09:00",
            "checked_out_at": "2031-03-12T08:00",
        },
    )
    assert wrong.status_code == 422
    closed = client.post(f"/volunteering/manage/{activity.pk}/", {"action": "close", "beneficiary_person_times": "12"})
    assert closed.status_code == 302
    signup.refresh_from_db()
    assert signup.credit_minutes == 120 and signup.claim is not None
    again = client.post(f"/volunteering/manage/{activity.pk}/", {"action": "close"})
    assert again.status_code == 302
    from gongzhi.points.models import Claim

    assert Claim.objects.filter(source_type="volunteering.attendance").count() == 1


@time_machine.travel(NOW, tick=False)
def test_organiser_calls_an_activity_off_from_the_roster(world):
    activity = make_activity(world, starts_at=NOW + timedelta(days=2), now=NOW - timedelta(days=1))
    person = volunteer(world)
    activity_join(actor=world.organiser, activity=activity, resident=person.resident, now=NOW)
    client = client_for(world.organiser)
    page = client.get(f"/volunteering/manage/{activity.pk}/")
    assert b'data-testid="cancel-form"' in page.content
    url = f"/volunteering/manage/{activity.pk}/"
    assert_refused("validation_failed", lambda: client.post(url, {"action": "cancel", "reason": " "}), status=422)
    outsider = client_for(world.organiser_b)
    assert_refused("not_found", lambda: outsider.post(url, {"action": "cancel", "reason": "rain"}), status=404)
    assert client.post(url, {"action": "cancel", "reason": "暴雨预警"}).status_code == 302
    activity.refresh_from_db()
    assert activity.state == Activity.State.CANCELLED and activity.taken == 0
    assert SignUp.objects.get(activity=activity).state == SignUp.State.CANCELLED
    assert b'data-testid="cancel-form"' not in client.get(url).content


@time_machine.travel(NOW, tick=False)
def test_organiser_adds_honour_hours_from_the_roster(world):
    from gongzhi.volunteering.models import HonourHours

    activity = make_activity(world, starts_at=NOW - timedelta(hours=3), hours=2, now=NOW - timedelta(days=1))
    person = volunteer(world)
    activity_join(actor=world.organiser, activity=activity, resident=person.resident, now=NOW - timedelta(hours=4))
    signup = SignUp.objects.get(activity=activity)
    client = client_for(world.organiser)
    url = f"/volunteering/manage/{activity.pk}/"
    assert b'data-testid="honour-form"' in client.get(url).content
    for bad in ({"minutes": "lots", "reason": "tidied up"}, {"minutes": "1.5", "reason": ""}, {"minutes": "30"}):
        assert_refused(
            "validation_failed", lambda bad=bad: client.post(url, {"action": "honour", "signup": signup.pk, **bad})
        )
    other = make_activity(world, starts_at=NOW - timedelta(hours=3), hours=1, now=NOW - timedelta(days=1))
    assert_refused(
        "not_found",
        lambda: client.post(
            f"/volunteering/manage/{other.pk}/",
            {"action": "honour", "signup": signup.pk, "minutes": "1", "reason": "x"},
        ),
        status=404,
    )
    added = client.post(url, {"action": "honour", "signup": signup.pk, "minutes": "1.5", "reason": "留下打扫"})
    assert added.status_code == 302
    hours = HonourHours.objects.get()
    assert (hours.minutes, hours.reason, hours.activity_id, hours.added_by_id) == (
        90,
        "留下打扫",
        activity.pk,
        world.organiser.pk,
    )
    signup.refresh_from_db()
    assert signup.credit_minutes == 0  # honour hours never mix with credit hours
