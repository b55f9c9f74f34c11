"""Volunteering in the API (mounted at /api/v1/volunteering/). Thin: parse → access → one service call → answer.

Volunteers: activities near me, join, cancel, confirm an offered place, check in / out (scanned token or typed
code), my sign-ups and hours. Organisers: create, roster, the current screen token, close. Party members: my
registration, register, claim posts. Employers' representatives: confirm registrations, the report card.
Wishes: the wall, post, approve / refuse, claim / withdraw, fulfil (photo), confirm. Figures per place and period.
Errors follow the one shape ``{"code", "message", "fields"}``; the app's codes are ``VolunteeringError``.
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from gongzhi.core.api_support import ERRORS, Page, PageQuery, paginate
from gongzhi.core.errors import NotFound
from gongzhi.core.figures import Period
from gongzhi.core.masking import mask_name
from gongzhi.core.ratelimit import rate_limit_request
from gongzhi.core.roles import Permission
from gongzhi.places.selectors import access_place
from gongzhi.points.selectors import active_item

from . import kpis, selectors, services, tokens
from .models import SignUp, Wish

router = Router(tags=["volunteering"])


class ActivityOut(Schema):
    id: int
    title: str
    description: str
    location: str
    community_id: int
    starts_at: datetime
    ends_at: datetime
    capacity: int
    taken: int
    eligibility: str
    skill: str
    signup_closes_at: datetime
    cancel_deadline: datetime
    point_item_id: int | None
    state: str


class SignUpOut(Schema):
    id: int
    activity_id: int
    state: str
    position: int | None
    offer_expires_at: datetime | None
    late_cancellation: bool
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    credit_minutes: int
    no_show: bool


class RosterRowOut(SignUpOut):
    name: str
    claim_id: int | None
    claim_refusal: str

    @staticmethod
    def resolve_name(signup: SignUp) -> str:
        return mask_name(signup.resident.name)


class ActivityIn(Schema):
    community_id: int
    title: str
    location: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    description: str = ""
    point_item_id: int | None = None
    eligibility: str = "everyone"
    skill: str = ""
    signup_closes_at: datetime | None = None
    cancel_deadline: datetime | None = None
    attendance_share: int = 60


class CheckIn(Schema):
    token: str = ""
    code: str = ""


class CloseIn(Schema):
    beneficiary_person_times: int | None = None
    beneficiary_households: int | None = None


class CloseOut(Schema):
    activity: ActivityOut
    attended: int
    no_shows: int
    claims: int
    refused: int


class TokenOut(Schema):
    token: str
    code: str
    seconds_left: int
    in_window: bool


class NearQuery(PageQuery):
    scope: str = "community"


class HoursOut(Schema):
    credit_hours: float
    honour_hours: float
    activities: int


class RegistrationOut(Schema):
    id: int
    community_id: int
    employer_id: int | None
    registered_on: date
    state: str
    confirmed_at: datetime | None


class RegistrationIn(Schema):
    registered_on: date | None = None


class PostClaimIn(Schema):
    post_id: int


class ReportRowOut(Schema):
    name: str
    community: str
    activities: int
    credit_hours: float
    honour_hours: float
    home_weeks: int
    wishes: int
    points_claimed: int
    points_approved: int


class WishOut(Schema):
    id: int
    title: str
    public_text: str
    name: str
    community_id: int
    due_on: date
    state: str
    claimer_kind: str

    @staticmethod
    def resolve_name(wish: Wish) -> str:
        return mask_name(wish.resident.name)


class WishIn(Schema):
    title: str
    public_text: str
    due_on: date
    resident_id: int | None = None
    point_item_id: int | None = None


class WishClaimIn(Schema):
    claimer_kind: str = "party_member"
    team_id: int | None = None
    organisation_id: int | None = None


class ReasonIn(Schema):
    reason: str = ""


class TeamOut(Schema):
    id: int
    name: str
    purpose: str
    community_id: int
    organisation_id: int | None


class TeamIn(Schema):
    community_id: int
    name: str
    purpose: str
    description: str = ""


class TeamJoinIn(Schema):
    skills: str = ""
    resident_id: int | None = None


class TeamMemberOut(Schema):
    id: int
    team_id: int
    state: str
    is_lead: bool
    skills: str


class ApproveIn(Schema):
    lead: bool = False


class FiguresQuery(Schema):
    place_id: int
    period: str


def _now() -> datetime:
    return timezone.now()


# ---------------------------------------------------------------- volunteers


@router.get(
    "/activities", response={200: Page[ActivityOut], **ERRORS}, summary="Open activities near me, soonest first"
)
def activity_near(request, query: Query[NearQuery]):
    return paginate(selectors.activities_near(request.user, now=_now(), scope=query.scope), query)


@router.get("/activities/managed", response={200: Page[ActivityOut], **ERRORS}, summary="Activities I organise")
def activity_managed(request, query: Query[PageQuery]):
    return paginate(selectors.activities_managed(request.user), query)


@router.post("/activities", response={201: ActivityOut, **ERRORS}, summary="Publish an activity")
def activity_create(request, payload: ActivityIn):
    community = access_place(request.user, payload.community_id, Permission.VOLUNTEERING_MANAGE)
    item = active_item(payload.point_item_id) if payload.point_item_id else None
    data = services.ActivityInput(
        title=payload.title,
        location=payload.location,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        capacity=payload.capacity,
        description=payload.description,
        point_item=item,
        eligibility=payload.eligibility,
        skill=payload.skill,
        signup_closes_at=payload.signup_closes_at,
        cancel_deadline=payload.cancel_deadline,
        attendance_share=payload.attendance_share,
    )
    return Status(201, services.activity_create(actor=request.user, community=community, data=data, now=_now()))


@router.get("/activities/{activity_id}", response={200: ActivityOut, **ERRORS}, summary="One activity")
def activity_detail(request, activity_id: int):
    return selectors.access_activity(request.user, activity_id)


@router.post(
    "/activities/{activity_id}/join",
    response={201: SignUpOut, **ERRORS},
    summary="Sign up (a place or the waiting list)",
)
def activity_join(request, activity_id: int):
    activity = selectors.access_activity(request.user, activity_id)
    return Status(201, services.activity_join(actor=request.user, activity=activity, now=_now()))


@router.post("/signups/{signup_id}/cancel", response={200: SignUpOut, **ERRORS}, summary="Cancel a sign-up")
def signup_cancel(request, signup_id: int):
    signup = selectors.access_signup(request.user, signup_id)
    return services.signup_cancel(actor=request.user, signup=signup, now=_now())


@router.post(
    "/signups/{signup_id}/confirm",
    response={200: SignUpOut, **ERRORS},
    summary="Take a place offered from the waiting list",
)
def signup_confirm(request, signup_id: int):
    signup = selectors.access_signup(request.user, signup_id)
    return services.offer_confirm(actor=request.user, signup=signup, now=_now())


@router.post(
    "/activities/{activity_id}/check-in", response={200: SignUpOut, **ERRORS}, summary="Check in (token or code)"
)
def activity_check_in(request, activity_id: int, payload: CheckIn):
    activity = selectors.access_activity(request.user, activity_id)
    rate_limit_request(request, "checkin", now=_now())
    return services.check_in(actor=request.user, activity=activity, token=payload.token, code=payload.code, now=_now())


@router.post("/activities/{activity_id}/check-out", response={200: SignUpOut, **ERRORS}, summary="Check out")
def activity_check_out(request, activity_id: int, payload: CheckIn):
    activity = selectors.access_activity(request.user, activity_id)
    rate_limit_request(request, "checkin", now=_now())
    return services.check_out(actor=request.user, activity=activity, token=payload.token, code=payload.code, now=_now())


@router.get("/me/signups", response={200: Page[SignUpOut], **ERRORS}, summary="My sign-ups")
def my_signups(request, query: Query[PageQuery]):
    return paginate(selectors.my_signups(request.user), query)


@router.get("/me/hours", response={200: HoursOut, **ERRORS}, summary="My credit hours and honour hours")
def my_hours(request):
    summary = selectors.my_hours(request.user)
    if summary is None:
        raise NotFound()
    return {
        "credit_hours": summary.credit_hours,
        "honour_hours": summary.honour_hours,
        "activities": summary.activities,
    }


# ---------------------------------------------------------------- organisers


@router.get("/activities/{activity_id}/roster", response={200: list[RosterRowOut], **ERRORS}, summary="The roster")
def activity_roster(request, activity_id: int):
    return selectors.roster(selectors.access_managed_activity(request.user, activity_id))


@router.get(
    "/activities/{activity_id}/token", response={200: TokenOut, **ERRORS}, summary="The check-in code on screen now"
)
def activity_token(request, activity_id: int):
    activity = selectors.access_managed_activity(request.user, activity_id)
    now = _now()
    return {
        "token": tokens.token_for(activity, now),
        "code": tokens.typed_code_for(activity, now),
        "seconds_left": tokens.seconds_left(now),
        "in_window": tokens.in_window(activity, now),
    }


@router.post(
    "/activities/{activity_id}/close",
    response={200: CloseOut, **ERRORS},
    summary="Close: hours from attendance, claims into the review queue (idempotent)",
)
def activity_close(request, activity_id: int, payload: CloseIn):
    activity = selectors.access_managed_activity(request.user, activity_id)
    result = services.activity_close(
        actor=request.user,
        activity=activity,
        beneficiary_person_times=payload.beneficiary_person_times,
        beneficiary_households=payload.beneficiary_households,
        now=_now(),
    )
    return {
        "activity": result.activity,
        "attended": result.attended,
        "no_shows": result.no_shows,
        "claims": result.claims,
        "refused": result.refused,
    }


# ---------------------------------------------------------------- dual registration


@router.get("/me/registration", response={200: RegistrationOut, **ERRORS}, summary="My dual registration")
def my_registration(request):
    membership = selectors.own_membership(request.user)
    registration = selectors.registration_of(membership) if membership else None
    if registration is None:
        raise NotFound()
    return registration


@router.post("/me/registration", response={201: RegistrationOut, **ERRORS}, summary="Register with my home community")
def my_registration_create(request, payload: RegistrationIn):
    membership = selectors.own_membership(request.user)
    if membership is None:
        raise NotFound()
    return Status(
        201,
        services.registration_create(
            actor=request.user, membership=membership, registered_on=payload.registered_on, now=_now()
        ),
    )


@router.post("/registrations/{registration_id}/confirm", response={200: RegistrationOut, **ERRORS}, summary="Confirm")
def registration_confirm(request, registration_id: int):
    registration = selectors.access_registration(request.user, registration_id)
    return services.registration_confirm(actor=request.user, registration=registration, now=_now())


@router.post("/registrations/{registration_id}/posts", response={201: dict, **ERRORS}, summary="Claim a post")
def registration_post_claim(request, registration_id: int, payload: PostClaimIn):
    registration = selectors.access_registration(request.user, registration_id)
    post = selectors.access_post(request.user, payload.post_id)
    claim = services.post_claim(actor=request.user, registration=registration, post=post, now=_now())
    return Status(201, {"id": claim.pk, "post_id": post.pk, "claimed_on": claim.claimed_on.isoformat()})


@router.get(
    "/employers/{organisation_id}/report",
    response={200: list[ReportRowOut], **ERRORS},
    summary="An employer's report card of its registered members (period: 2031 or 2031-Q1)",
)
def employer_report(request, organisation_id: int, period: str):
    organisation = selectors.access_employer(request.user, organisation_id)
    return selectors.employer_report(request.user, organisation, Period.from_key(period))


# ---------------------------------------------------------------- wishes


@router.get("/wishes", response={200: Page[WishOut], **ERRORS}, summary="The wish wall (names masked)")
def wish_wall(request, query: Query[PageQuery]):
    return paginate(selectors.wish_wall(request.user, selectors.home_community_of(request.user)), query)


@router.post("/wishes", response={201: WishOut, **ERRORS}, summary="Post a wish (for myself, or a resident)")
def wish_post(request, payload: WishIn):
    from gongzhi.people.selectors import access_resident

    if payload.resident_id:
        resident = access_resident(request.user, payload.resident_id)
    else:
        resident = selectors.resident_of(request.user)
        if resident is None:
            raise NotFound()
    item = active_item(payload.point_item_id) if payload.point_item_id else None
    wish = services.wish_post(
        actor=request.user,
        resident=resident,
        title=payload.title,
        public_text=payload.public_text,
        due_on=payload.due_on,
        point_item=item,
        now=_now(),
    )
    return Status(201, wish)


@router.post("/wishes/{wish_id}/approve", response={200: WishOut, **ERRORS}, summary="Approve for the wall")
def wish_approve(request, wish_id: int):
    wish = selectors.access_wish(request.user, wish_id)
    return services.wish_approve(actor=request.user, wish=wish, now=_now())


@router.post("/wishes/{wish_id}/refuse", response={200: WishOut, **ERRORS}, summary="Refuse, saying why")
def wish_refuse(request, wish_id: int, payload: ReasonIn):
    wish = selectors.access_wish(request.user, wish_id)
    return services.wish_refuse(actor=request.user, wish=wish, reason=payload.reason, now=_now())


@router.post("/wishes/{wish_id}/claim", response={200: WishOut, **ERRORS}, summary="Claim a wish")
def wish_claim(request, wish_id: int, payload: WishClaimIn):
    wish = selectors.access_wish(request.user, wish_id)
    team = selectors.access_team(request.user, payload.team_id) if payload.team_id else None
    organisation = (
        next((o for o in selectors.represented_organisations(request.user) if o.pk == payload.organisation_id), None)
        if payload.organisation_id
        else None
    )
    return services.wish_claim(
        actor=request.user,
        wish=wish,
        claimer_kind=payload.claimer_kind,
        team=team,
        organisation=organisation,
        now=_now(),
    )


@router.post("/wishes/{wish_id}/withdraw", response={200: WishOut, **ERRORS}, summary="Withdraw one's claim")
def wish_withdraw(request, wish_id: int, payload: ReasonIn):
    wish = selectors.access_wish(request.user, wish_id)
    return services.wish_claim_withdraw(actor=request.user, wish=wish, reason=payload.reason, now=_now())


@router.post("/wishes/{wish_id}/fulfil", response={200: WishOut, **ERRORS}, summary="Report fulfilled, with a photo")
def wish_fulfil(request, wish_id: int, note: Form[str] = "", photo: File[UploadedFile] = None):
    wish = selectors.access_wish(request.user, wish_id)
    return services.wish_fulfil(actor=request.user, wish=wish, photo=photo, note=note, now=_now())


@router.post("/wishes/{wish_id}/confirm", response={200: WishOut, **ERRORS}, summary="Confirm the wish came true")
def wish_confirm(request, wish_id: int):
    wish = selectors.access_wish(request.user, wish_id)
    return services.wish_confirm(actor=request.user, wish=wish, now=_now())


# ---------------------------------------------------------------- teams


@router.get("/teams", response={200: Page[TeamOut], **ERRORS}, summary="Teams I organise, else my community's")
def team_list(request, query: Query[PageQuery]):
    managed = selectors.teams_managed(request.user)
    return paginate(managed if managed.exists() else selectors.teams_open_to(request.user), query)


@router.post("/teams", response={201: TeamOut, **ERRORS}, summary="Create a team")
def team_create(request, payload: TeamIn):
    community = access_place(request.user, payload.community_id, Permission.VOLUNTEERING_MANAGE)
    team = services.team_create(
        actor=request.user,
        community=community,
        name=payload.name,
        purpose=payload.purpose,
        description=payload.description,
        now=_now(),
    )
    return Status(201, team)


@router.post("/teams/{team_id}/join", response={201: TeamMemberOut, **ERRORS}, summary="Ask to join (or add)")
def team_join(request, team_id: int, payload: TeamJoinIn):
    from gongzhi.people.selectors import access_resident

    team = selectors.access_team(request.user, team_id)
    resident = access_resident(request.user, payload.resident_id) if payload.resident_id else None
    member = services.team_join(actor=request.user, team=team, resident=resident, skills=payload.skills, now=_now())
    return Status(201, member)


@router.post("/team-members/{member_id}/approve", response={200: TeamMemberOut, **ERRORS}, summary="Approve")
def team_member_approve(request, member_id: int, payload: ApproveIn):
    member = selectors.access_team_member(request.user, member_id)
    return services.team_member_approve(actor=request.user, member=member, lead=payload.lead, now=_now())


@router.post("/team-members/{member_id}/leave", response={200: TeamMemberOut, **ERRORS}, summary="Leave or remove")
def team_leave(request, member_id: int):
    member = selectors.access_team_member(request.user, member_id)
    return services.team_leave(actor=request.user, member=member, now=_now())


# ---------------------------------------------------------------- figures


@router.get("/figures", response={200: dict, **ERRORS}, summary="Service figures for a place and period")
def figures(request, query: Query[FiguresQuery]):
    place = access_place(request.user, query.place_id, Permission.VOLUNTEERING_MANAGE)
    period = Period.from_key(query.period)
    return {
        "period": period.as_dict(),
        "teams": kpis.team_figures(place, period).as_dict(),
        "activities": kpis.activity_figures(place, period).as_dict(),
        "dual_registration": kpis.registration_figures(place, period).as_dict(),
        "home_service_week": [row.as_dict() for row in kpis.home_service_week_figures(place, period.first.year)],
        "wishes": kpis.wish_figures(place, period, now=_now()).as_dict(),
    }
