"""Volunteering's state changes: sign-up and the waiting list, check-in rules, closing into points claims, honour
hours, teams, dual registration and posts, the wish life cycle; every bad input refused with nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gongzhi.core.testing import assert_refused, image_upload
from gongzhi.points.models import Claim, ClaimState
from gongzhi.points.selectors import claim_queue, resident_account
from gongzhi.points.services import claim_approve
from gongzhi.volunteering import tokens
from gongzhi.volunteering.errors import VolunteeringError
from gongzhi.volunteering.models import (
    Activity,
    ClaimerKind,
    DualRegistration,
    Eligibility,
    SignUp,
    TeamMember,
    TeamPurpose,
    Wish,
    WishEvent,
)
from gongzhi.volunteering.services import (
    activity_close,
    activity_join,
    attendance_mark,
    check_in,
    check_out,
    honour_hours_add,
    offer_confirm,
    offers_expire,
    post_claim,
    post_create,
    registration_confirm,
    registration_create,
    registration_end,
    signup_cancel,
    team_create,
    team_join,
    team_member_approve,
    wish_approve,
    wish_claim,
    wish_claim_withdraw,
    wish_confirm,
    wish_fulfil,
    wish_post,
    wish_refuse,
)

from .factories import NOW, make_activity, party_member, volunteer

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- sign-up and the waiting list


def test_join_takes_places_then_waits_in_order(world):
    activity = make_activity(world, capacity=2)
    people = [volunteer(world) for _ in range(4)]
    signups = [activity_join(actor=person, activity=activity, now=NOW) for person in people]
    assert [s.state for s in signups] == ["confirmed", "confirmed", "waiting", "waiting"]
    assert [s.position for s in signups[2:]] == [1, 2]
    activity.refresh_from_db()
    assert activity.taken == 2


def test_cancel_promotes_the_first_waiting_who_confirms(world):
    activity = make_activity(world, capacity=1)
    first, second, third = (volunteer(world) for _ in range(3))
    held = activity_join(actor=first, activity=activity, now=NOW)
    waiting = activity_join(actor=second, activity=activity, now=NOW)
    activity_join(actor=third, activity=activity, now=NOW)

    signup_cancel(actor=first, signup=held, now=NOW + timedelta(minutes=5))

    waiting.refresh_from_db()
    assert waiting.state == SignUp.State.OFFERED
    assert waiting.offer_expires_at == NOW + timedelta(minutes=5, hours=12)
    confirmed = offer_confirm(actor=second, signup=waiting, now=NOW + timedelta(hours=1))
    assert confirmed.state == SignUp.State.CONFIRMED
    activity.refresh_from_db()
    assert activity.taken == 1


def test_an_unconfirmed_offer_expires_and_moves_on(world):
    activity = make_activity(world, capacity=1)
    first, second, third = (volunteer(world) for _ in range(3))
    held = activity_join(actor=first, activity=activity, now=NOW)
    offered = activity_join(actor=second, activity=activity, now=NOW)
    next_in_line = activity_join(actor=third, activity=activity, now=NOW)
    signup_cancel(actor=first, signup=held, now=NOW)

    assert offers_expire(now=NOW + timedelta(hours=11)) == 0
    assert offers_expire(now=NOW + timedelta(hours=12)) == 1
    assert offers_expire(now=NOW + timedelta(hours=12)) == 0  # twice: nothing more

    offered.refresh_from_db()
    next_in_line.refresh_from_db()
    assert offered.state == SignUp.State.EXPIRED
    assert next_in_line.state == SignUp.State.OFFERED
    assert_refused(
        VolunteeringError.SIGNUP_STATE,
        lambda: offer_confirm(actor=second, signup=offered, now=NOW + timedelta(hours=13)),
    )
    activity.refresh_from_db()
    assert activity.taken == 1


def test_late_cancellation_is_recorded(world):
    activity = make_activity(world, capacity=3)
    person = volunteer(world)
    signup = activity_join(actor=person, activity=activity, now=NOW)
    cancelled = signup_cancel(actor=person, signup=signup, now=activity.starts_at - timedelta(hours=2))
    assert cancelled.late_cancellation is True


def test_join_refusals_change_nothing(world):
    full = make_activity(world, capacity=1)
    person, other = volunteer(world), volunteer(world)
    activity_join(actor=person, activity=full, now=NOW)
    assert_refused(VolunteeringError.ALREADY_SIGNED_UP, lambda: activity_join(actor=person, activity=full, now=NOW))
    assert_refused(
        VolunteeringError.SIGNUP_CLOSED,
        lambda: activity_join(actor=other, activity=full, now=full.signup_closes_at),
    )
    party_only = make_activity(world, eligibility=Eligibility.PARTY_MEMBERS)
    assert_refused(VolunteeringError.NOT_ELIGIBLE, lambda: activity_join(actor=other, activity=party_only, now=NOW))
    team = team_create(
        actor=world.organiser, community=world.community, name="巡逻队", purpose=TeamPurpose.PATROL, now=NOW
    )
    team_only = make_activity(world, eligibility=Eligibility.TEAM, team=team)
    assert_refused(VolunteeringError.NOT_ELIGIBLE, lambda: activity_join(actor=other, activity=team_only, now=NOW))
    skilled = make_activity(world, eligibility=Eligibility.SKILL, skill="理发")
    assert_refused(VolunteeringError.NOT_ELIGIBLE, lambda: activity_join(actor=other, activity=skilled, now=NOW))
    # a full activity is not refused: the volunteer joins the waiting list instead
    assert activity_join(actor=other, activity=full, now=NOW).state == SignUp.State.WAITING
    # a member of the team with the skill may join both
    member = team_join(actor=world.organiser, team=team, resident=other.resident, skills="理发, 电工", now=NOW)
    assert member.state == TeamMember.State.ACTIVE
    assert activity_join(actor=other, activity=team_only, now=NOW).state == SignUp.State.CONFIRMED
    assert activity_join(actor=other, activity=skilled, now=NOW).state == SignUp.State.CONFIRMED


def test_staff_without_a_resident_record_cannot_join(world):
    activity = make_activity(world)
    assert_refused(
        VolunteeringError.NOT_A_RESIDENT, lambda: activity_join(actor=world.organiser, activity=activity, now=NOW)
    )


def test_activity_input_is_checked(world):
    from gongzhi.volunteering.services import ActivityInput, activity_create

    bad = ActivityInput(title="", location="", starts_at=NOW + timedelta(days=1), ends_at=NOW, capacity=0)
    error = assert_refused(
        "validation_failed",
        lambda: activity_create(actor=world.organiser, community=world.community, data=bad, now=NOW),
    )
    assert {"title", "location", "ends_at", "capacity"} <= set(error.fields)
    good = ActivityInput(
        title="t", location="l", starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=1, hours=1), capacity=3
    )
    assert_refused(
        "not_found", lambda: activity_create(actor=world.organiser_b, community=world.community, data=good, now=NOW)
    )


# ---------------------------------------------------------------- check-in and check-out


def _started(world, **extra):
    activity = make_activity(world, starts_at=NOW, hours=2, now=NOW - timedelta(days=1), **extra)
    person = volunteer(world)
    activity_join(actor=person, activity=activity, now=NOW - timedelta(hours=3))
    return activity, person


def test_check_in_and_out_with_the_rotating_token(world):
    activity, person = _started(world)
    at = NOW + timedelta(minutes=1)
    signup = check_in(actor=person, activity=activity, token=tokens.token_for(activity, at), now=at)
    assert signup.check_in_method == SignUp.Method.SCAN
    later = NOW + timedelta(hours=2)
    signup = check_out(actor=person, activity=activity, code=tokens.typed_code_for(activity, later), now=later)
    assert signup.check_out_method == SignUp.Method.CODE


def test_token_rules(world):
    activity, person = _started(world)
    other_activity = make_activity(world)
    at = NOW + timedelta(minutes=10)
    shown = tokens.token_for(activity, at)
    # the previous slot still works (rotated while scanning); older ones do not
    assert tokens.verify_token(activity, shown, at + timedelta(seconds=30)) is None
    assert_refused(
        VolunteeringError.TOKEN_STALE,
        lambda: check_in(actor=person, activity=activity, token=shown, now=at + timedelta(seconds=61)),
    )
    forged = shown[:-3] + ("000" if not shown.endswith("000") else "111")
    assert_refused(
        VolunteeringError.TOKEN_INVALID, lambda: check_in(actor=person, activity=activity, token=forged, now=at)
    )
    assert_refused(
        VolunteeringError.TOKEN_INVALID, lambda: check_in(actor=person, activity=activity, token="garbage", now=at)
    )
    assert_refused(
        VolunteeringError.TOKEN_OTHER_ACTIVITY,
        lambda: check_in(actor=person, activity=activity, token=tokens.token_for(other_activity, at), now=at),
    )
    stale_code = tokens.typed_code_for(activity, at - timedelta(minutes=3))
    if stale_code != tokens.typed_code_for(activity, at) and stale_code != tokens.typed_code_for(
        activity, at - timedelta(seconds=30)
    ):
        assert_refused(
            VolunteeringError.TOKEN_STALE, lambda: check_in(actor=person, activity=activity, code=stale_code, now=at)
        )
    # outside the window (start − 30 minutes … end + 30 minutes), even with a fresh token
    early = NOW - timedelta(minutes=31)
    assert_refused(
        VolunteeringError.OUTSIDE_WINDOW,
        lambda: check_in(actor=person, activity=activity, token=tokens.token_for(activity, early), now=early),
    )
    late = NOW + timedelta(hours=2, minutes=31)
    assert_refused(
        VolunteeringError.OUTSIDE_WINDOW,
        lambda: check_in(actor=person, activity=activity, token=tokens.token_for(activity, late), now=late),
    )
    # checking out before in; twice in
    assert_refused(
        VolunteeringError.NOT_CHECKED_IN,
        lambda: check_out(actor=person, activity=activity, token=tokens.token_for(activity, at), now=at),
    )
    check_in(actor=person, activity=activity, token=shown, now=at)
    assert_refused(
        VolunteeringError.ALREADY_CHECKED_IN,
        lambda: check_in(actor=person, activity=activity, token=shown, now=at),
    )
    # someone not signed up
    stranger = volunteer(world)
    assert_refused(
        VolunteeringError.NOT_SIGNED_UP, lambda: check_in(actor=stranger, activity=activity, token=shown, now=at)
    )


def test_a_photographed_code_is_useless_later(world):
    activity, person = _started(world)
    photographed = tokens.token_for(activity, NOW)
    assert_refused(
        VolunteeringError.TOKEN_STALE,
        lambda: check_in(actor=person, activity=activity, token=photographed, now=NOW + timedelta(minutes=5)),
    )


# ---------------------------------------------------------------- closing: hours and points


def _attended(world, activity, person, minutes):
    signup = SignUp.objects.get(activity=activity, resident=person.resident)
    return attendance_mark(
        actor=world.organiser,
        signup=signup,
        checked_in_at=activity.starts_at,
        checked_out_at=activity.starts_at + timedelta(minutes=minutes),
        now=activity.ends_at,
    )


def test_close_turns_attendance_into_claims_once(world):
    activity = make_activity(world, starts_at=NOW, hours=2, capacity=5, now=NOW - timedelta(days=1))
    full, short, absent = (volunteer(world) for _ in range(3))
    for person in (full, short, absent):
        activity_join(actor=person, activity=activity, now=NOW - timedelta(hours=5))
    _attended(world, activity, full, 100)  # 100 of 120 minutes ≥ 60 %
    _attended(world, activity, short, 60)  # 50 %: no credit hours
    after = NOW + timedelta(hours=3)

    result = activity_close(
        actor=world.organiser, activity=activity, beneficiary_person_times=40, beneficiary_households=12, now=after
    )
    assert (result.attended, result.no_shows, result.claims, result.refused) == (1, 1, 1, 0)
    again = activity_close(actor=world.organiser, activity=activity, now=after + timedelta(hours=1))
    assert again.claims == 0
    claims = Claim.objects.filter(source_type="volunteering.attendance")
    assert claims.count() == 1
    claim = claims.get()
    assert claim.state == ClaimState.SUBMITTED and claim.value == 5
    assert claim in claim_queue(world.reviewer)
    rows = {s.resident_id: s for s in SignUp.objects.filter(activity=activity)}
    assert rows[full.resident_id].credit_minutes == 100
    assert rows[short.resident_id].credit_minutes == 0
    assert rows[absent.resident_id].no_show is True
    activity.refresh_from_db()
    assert activity.state == Activity.State.CLOSED and activity.beneficiary_person_times == 40

    claim_approve(actor=world.reviewer, claim=claim, now=after + timedelta(days=1))
    assert resident_account(full.resident).balance == 5


def test_close_refusals(world):
    activity = make_activity(world, starts_at=NOW, hours=2, now=NOW - timedelta(days=1))
    assert_refused(
        VolunteeringError.ACTIVITY_NOT_OVER,
        lambda: activity_close(actor=world.organiser, activity=activity, now=NOW + timedelta(hours=1)),
    )
    assert_refused(
        "not_found", lambda: activity_close(actor=world.organiser_b, activity=activity, now=NOW + timedelta(hours=3))
    )
    from gongzhi.core.roles import Role
    from gongzhi.people.tests.factories import account_with_role

    district_admin = account_with_role(Role.DISTRICT_ADMIN, world.tree["district"], username="district_x")
    assert_refused(
        VolunteeringError.CANNOT_RECORD_CLAIMS,
        lambda: activity_close(actor=district_admin, activity=activity, now=NOW + timedelta(hours=3)),
    )


def test_honour_hours_are_kept_apart_with_reason(world):
    from gongzhi.volunteering.selectors import hours_of

    person = volunteer(world)
    assert_refused(
        "validation_failed",
        lambda: honour_hours_add(
            actor=world.organiser, resident=person.resident, minutes=60, served_on=NOW.date(), reason="", now=NOW
        ),
    )
    assert_refused(
        "not_found",
        lambda: honour_hours_add(
            actor=world.organiser_b, resident=person.resident, minutes=60, served_on=NOW.date(), reason="x", now=NOW
        ),
    )
    honour_hours_add(
        actor=world.organiser, resident=person.resident, minutes=90, served_on=NOW.date(), reason="抗洪抢险", now=NOW
    )
    summary = hours_of(person.resident)
    assert (summary.credit_minutes, summary.honour_minutes) == (0, 90)


# ---------------------------------------------------------------- teams


def test_team_join_approve_and_lead(world):
    team = team_create(
        actor=world.organiser, community=world.community, name="银发助老队", purpose=TeamPurpose.ELDERLY_CARE, now=NOW
    )
    person = volunteer(world)
    member = team_join(actor=person, team=team, skills="陪护", now=NOW)
    assert member.state == TeamMember.State.PENDING
    assert_refused(VolunteeringError.ALREADY_IN_TEAM, lambda: team_join(actor=person, team=team, now=NOW))
    assert_refused("not_found", lambda: team_member_approve(actor=person, member=member, now=NOW))
    member = team_member_approve(actor=world.organiser, member=member, lead=True, now=NOW)
    assert member.state == TeamMember.State.ACTIVE and member.is_lead
    assert_refused(
        "validation_failed",
        lambda: team_create(
            actor=world.organiser, community=world.community, name="银发助老队", purpose="nope", now=NOW
        ),
    )


# ---------------------------------------------------------------- dual registration and posts


def test_registration_confirmed_by_the_employer_representative(world):
    member = party_member(world)
    membership = member.resident.party_membership
    registration = registration_create(actor=member, membership=membership, now=NOW)
    assert registration.state == DualRegistration.State.PENDING
    membership.refresh_from_db()
    assert membership.registered_at_home_on == NOW.date()
    assert_refused(
        VolunteeringError.ALREADY_REGISTERED, lambda: registration_create(actor=member, membership=membership, now=NOW)
    )
    assert_refused(
        VolunteeringError.NOT_EMPLOYER_REPRESENTATIVE,
        lambda: registration_confirm(actor=world.other_representative, registration=registration, now=NOW),
    )
    assert_refused(
        VolunteeringError.NOT_EMPLOYER_REPRESENTATIVE,
        lambda: registration_confirm(actor=member, registration=registration, now=NOW),
    )
    confirmed = registration_confirm(actor=world.representative, registration=registration, now=NOW)
    assert confirmed.state == DualRegistration.State.CONFIRMED and confirmed.confirmed_by == world.representative

    post = post_create(actor=world.organiser, community=world.community, title="楼栋联络员", slots=1, now=NOW)
    post_claim(actor=member, registration=confirmed, post=post, now=NOW)
    assert_refused(
        VolunteeringError.POST_CLAIMED, lambda: post_claim(actor=member, registration=confirmed, post=post, now=NOW)
    )
    other = party_member(world)
    other_registration = registration_create(actor=world.organiser, membership=other.resident.party_membership, now=NOW)
    assert_refused(
        VolunteeringError.POST_FULL,
        lambda: post_claim(actor=other, registration=other_registration, post=post, now=NOW),
    )

    registration_end(actor=member, registration=confirmed, now=NOW)
    membership.refresh_from_db()
    assert membership.registered_at_home_on is None


def test_only_in_service_members_register(world):
    retired = party_member(world, in_service=False)
    assert_refused(
        VolunteeringError.NOT_IN_SERVICE,
        lambda: registration_create(actor=retired, membership=retired.resident.party_membership, now=NOW),
    )
    member = party_member(world)
    stranger = volunteer(world)
    assert_refused(
        "not_found", lambda: registration_create(actor=stranger, membership=member.resident.party_membership, now=NOW)
    )


# ---------------------------------------------------------------- wishes


def _wish(world, resident_login, **extra):
    return wish_post(
        actor=resident_login,
        resident=resident_login.resident,
        title=extra.pop("title", "想要一台收音机"),
        public_text=extra.pop("public_text", "老人独居，想听戏曲。"),
        due_on=(NOW + timedelta(days=20)).date(),
        point_item=world.item,
        now=NOW,
        **extra,
    )


def test_wish_life_cycle(world):
    elder = volunteer(world, name="王奶奶")
    wish = _wish(world, elder)
    assert wish.state == Wish.State.SUBMITTED
    wish = wish_approve(actor=world.organiser, wish=wish, now=NOW)
    assert wish.state == Wish.State.OPEN
    member = party_member(world)
    wish = wish_claim(actor=member, wish=wish, now=NOW)
    wish = wish_claim_withdraw(actor=member, wish=wish, reason="出差", now=NOW)
    assert wish.state == Wish.State.OPEN
    assert list(WishEvent.objects.filter(wish=wish).values_list("action", flat=True)) == ["claim", "withdraw"]
    wish = wish_claim(actor=member, wish=wish, claimer_kind=ClaimerKind.PARTY_MEMBER, now=NOW + timedelta(hours=1))
    other = party_member(world)
    assert_refused(VolunteeringError.WISH_ALREADY_CLAIMED, lambda: wish_claim(actor=other, wish=wish, now=NOW))
    assert_refused(
        VolunteeringError.NOT_CLAIMER, lambda: wish_fulfil(actor=other, wish=wish, photo=image_upload(), now=NOW)
    )
    wish = wish_fulfil(actor=member, wish=wish, photo=image_upload(), note="已送到", now=NOW + timedelta(days=1))
    assert wish.state == Wish.State.FULFILLED and wish.fulfilment_photo
    assert_refused(VolunteeringError.WISH_NOT_YOURS, lambda: wish_confirm(actor=other, wish=wish, now=NOW))
    wish = wish_confirm(actor=elder, wish=wish, now=NOW + timedelta(days=2))
    assert wish.state == Wish.State.CONFIRMED
    assert wish.claim is not None and wish.claim.account.resident_id == member.resident_id
    assert wish.claim.state == ClaimState.SUBMITTED


def test_wish_with_personal_data_is_refused(world):
    elder = volunteer(world)
    for text in ("请打电话 138 1234 5678", "身份证110101199003071234", "座机 010-12345678"):
        assert_refused(VolunteeringError.WISH_PERSONAL_DATA, lambda text=text: _wish(world, elder, public_text=text))
    assert_refused(VolunteeringError.WISH_PERSONAL_DATA, lambda: _wish(world, elder, title="13812345678"))


def test_wish_refusal_and_reach(world):
    elder = volunteer(world)
    wish = _wish(world, elder)
    assert_refused("not_found", lambda: wish_approve(actor=world.organiser_b, wish=wish, now=NOW))
    assert_refused("validation_failed", lambda: wish_refuse(actor=world.organiser, wish=wish, reason="", now=NOW))
    refused = wish_refuse(actor=world.organiser, wish=wish, reason="超出微心愿范围", now=NOW)
    assert refused.state == Wish.State.REFUSED
    member = party_member(world)
    assert_refused("not_found", lambda: wish_claim(actor=member, wish=refused, now=NOW))
    not_member = volunteer(world)
    assert_refused(VolunteeringError.NOT_ELIGIBLE, lambda: wish_claim(actor=not_member, wish=refused, now=NOW))


def test_a_worker_posts_and_confirms_for_a_resident(world):
    elder = volunteer(world)
    wish = wish_post(
        actor=world.organiser,
        resident=elder.resident,
        title="修理轮椅",
        public_text="轮椅坏了",
        due_on=(NOW + timedelta(days=5)).date(),
        point_item=world.item,
        now=NOW,
    )
    assert wish.on_behalf
    wish = wish_approve(actor=world.organiser, wish=wish, now=NOW)
    wish = wish_claim(
        actor=world.representative,
        wish=wish,
        claimer_kind=ClaimerKind.ORGANISATION,
        organisation=world.employer,
        now=NOW,
    )
    wish = wish_fulfil(actor=world.representative, wish=wish, photo=image_upload(), now=NOW)
    wish = wish_confirm(actor=world.organiser, wish=wish, now=NOW)
    assert wish.state == Wish.State.CONFIRMED
    assert wish.claim is not None and wish.claim.account.organisation_id == world.employer.pk


def test_a_full_waiting_list_refuses(world):
    activity = make_activity(world, capacity=1, waiting_limit=1)
    first, second, third = (volunteer(world) for _ in range(3))
    activity_join(actor=first, activity=activity, now=NOW)
    assert activity_join(actor=second, activity=activity, now=NOW).state == SignUp.State.WAITING
    assert_refused(VolunteeringError.ACTIVITY_FULL, lambda: activity_join(actor=third, activity=activity, now=NOW))
