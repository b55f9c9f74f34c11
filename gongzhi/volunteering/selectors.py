"""Every read of volunteering. Each takes the actor and scopes by reach (organisers), by the actor's own records
(volunteers, party members) or by the organisations they represent (employers). ``access_<thing>`` answers the
same NotFound whether the record is missing or out of reach.

Public notices: an activity (not its roster) and a wish on the wall (its text, the resident's name masked) are
visible to any signed-in account, as a notice board would be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from gongzhi.core.access import parse_id, reach
from gongzhi.core.actors import MaybeAnonymousActor
from gongzhi.core.errors import NotFound
from gongzhi.core.figures import Period
from gongzhi.core.masking import mask_name
from gongzhi.core.roles import Permission
from gongzhi.people.models import Organisation, PartyMembership
from gongzhi.places.models import Place, PlaceKind

from .access import represented_organisation_ids, resident_of, signed_in
from .kpis import home_service_week
from .models import Activity, DualRegistration, HonourHours, Post, PostClaim, SignUp, Team, TeamMember, Wish

WALL_STATES = (Wish.State.OPEN, Wish.State.CLAIMED, Wish.State.FULFILLED, Wish.State.CONFIRMED)


def managed_q(actor: MaybeAnonymousActor, field: str = "community__path") -> Q:
    return reach(actor, Permission.VOLUNTEERING_MANAGE).q(field)


def managed_communities(actor: MaybeAnonymousActor) -> list[Place]:
    """Communities the actor organises in, by name."""
    return list(
        Place.objects.filter(
            reach(actor, Permission.VOLUNTEERING_MANAGE).q("path"), kind=PlaceKind.COMMUNITY, is_active=True
        ).order_by("path")[:200]
    )


def home_community_of(actor: MaybeAnonymousActor) -> Place | None:
    resident = resident_of(actor)
    if resident is None:
        return None
    household = resident.household
    assert household is not None
    return Place.objects.filter(pk__in=household.ancestor_ids, kind=PlaceKind.COMMUNITY).first()


# ---------------------------------------------------------------- activities


def access_activity(actor: MaybeAnonymousActor, activity_id: Any) -> Activity:
    """An activity, as a public notice: any signed-in account (else NotFound)."""
    pk = parse_id(activity_id)
    if pk is None or not signed_in(actor):
        raise NotFound()
    activity = Activity.objects.select_related("community", "team", "point_item").filter(pk=pk).first()
    if activity is None:
        raise NotFound()
    return activity


def access_managed_activity(actor: MaybeAnonymousActor, activity_id: Any) -> Activity:
    """An activity the actor organises (``volunteering.manage`` over its community), else NotFound."""
    activity = access_activity(actor, activity_id)
    if not reach(actor, Permission.VOLUNTEERING_MANAGE).covers(activity.community.path):
        raise NotFound()
    return activity


def activities_near(actor: MaybeAnonymousActor, *, now: datetime, scope: str = "community") -> QuerySet[Activity]:
    """Open activities not yet over, for a volunteer: of their community (``scope="community"``), of their street
    (``"street"``) or all; soonest first."""
    queryset = Activity.objects.filter(state=Activity.State.OPEN, ends_at__gt=now).select_related("community")
    community = home_community_of(actor)
    if community is not None and scope in ("community", "street"):
        path = community.path
        if scope == "street" and community.parent_id:
            path = community.path.rsplit("/", 2)[0] + "/"
        queryset = queryset.filter(community__path__startswith=path)
    return queryset.order_by("starts_at", "pk")


@dataclass(frozen=True)
class ActivityFilters:
    text: str = ""
    state: str = ""
    community_id: int | None = None


def activities_managed(actor: MaybeAnonymousActor, filters: ActivityFilters | None = None) -> QuerySet[Activity]:
    """The activities the actor organises, latest first, with their places taken and waiting counts."""
    filters = filters or ActivityFilters()
    queryset = Activity.objects.filter(managed_q(actor)).select_related("community")
    if filters.text:
        queryset = queryset.filter(Q(title__icontains=filters.text) | Q(location__icontains=filters.text))
    if filters.state in Activity.State.values:
        queryset = queryset.filter(state=filters.state)
    if filters.community_id:
        queryset = queryset.filter(community_id=filters.community_id)
    return queryset.annotate(
        waiting=Count("signups", filter=Q(signups__state=SignUp.State.WAITING)),
    ).order_by("-starts_at", "-pk")


def roster(activity: Activity) -> list[SignUp]:
    """Every sign-up of an activity for its organiser: places first, then offers, the waiting list in order, then
    cancelled and expired ones (late cancellations shown)."""
    order: dict[str, int] = {SignUp.State.CONFIRMED: 0, SignUp.State.OFFERED: 1, SignUp.State.WAITING: 2}
    rows = list(SignUp.objects.filter(activity=activity).select_related("resident", "claim"))
    return sorted(rows, key=lambda s: (order.get(s.state, 3), s.position or 0, s.pk))


def own_signup(actor: MaybeAnonymousActor, activity: Activity) -> SignUp | None:
    resident = resident_of(actor)
    if resident is None:
        return None
    return SignUp.objects.filter(activity=activity, resident=resident).order_by("-pk").first()


def access_signup(actor: MaybeAnonymousActor, signup_id: Any) -> SignUp:
    """One's own sign-up, or one of an activity the actor organises."""
    pk = parse_id(signup_id)
    signup = SignUp.objects.select_related("activity__community", "resident").filter(pk=pk).first() if pk else None
    if signup is None:
        raise NotFound()
    resident = resident_of(actor)
    if resident is not None and resident.pk == signup.resident_id:
        return signup
    if reach(actor, Permission.VOLUNTEERING_MANAGE).covers(signup.activity.community.path):
        return signup
    raise NotFound()


def my_signups(actor: MaybeAnonymousActor) -> QuerySet[SignUp]:
    resident = resident_of(actor)
    if resident is None:
        return SignUp.objects.none()
    return (
        SignUp.objects.filter(resident=resident)
        .select_related("activity", "activity__community")
        .order_by("-activity__starts_at", "-pk")
    )


@dataclass(frozen=True)
class HoursSummary:
    credit_minutes: int
    honour_minutes: int
    activities: int

    @property
    def credit_hours(self) -> float:
        return round(self.credit_minutes / 60, 1)

    @property
    def honour_hours(self) -> float:
        return round(self.honour_minutes / 60, 1)


def hours_of(resident: Any, period: Period | None = None) -> HoursSummary:
    """A resident's credit hours (from check-in/out), the activities they count from, and honour hours, apart."""
    signups = SignUp.objects.filter(resident=resident, state=SignUp.State.CONFIRMED, credit_minutes__gt=0)
    honour = HonourHours.objects.filter(resident=resident)
    if period is not None:
        signups = signups.filter(activity__starts_at__gte=period.start, activity__starts_at__lt=period.end)
        honour = honour.filter(served_on__gte=period.first, served_on__lte=period.last)
    row = signups.aggregate(minutes=Sum("credit_minutes"), count=Count("pk"))
    return HoursSummary(
        credit_minutes=row["minutes"] or 0,
        honour_minutes=honour.aggregate(minutes=Sum("minutes"))["minutes"] or 0,
        activities=row["count"],
    )


def my_hours(actor: MaybeAnonymousActor, period: Period | None = None) -> HoursSummary | None:
    resident = resident_of(actor)
    return None if resident is None else hours_of(resident, period)


def my_honour_hours(actor: MaybeAnonymousActor) -> QuerySet[HonourHours]:
    resident = resident_of(actor)
    if resident is None:
        return HonourHours.objects.none()
    return HonourHours.objects.filter(resident=resident).order_by("-served_on")


# ---------------------------------------------------------------- teams


def teams_managed(actor: MaybeAnonymousActor) -> QuerySet[Team]:
    return (
        Team.objects.filter(managed_q(actor), is_active=True)
        .select_related("community", "organisation")
        .annotate(member_count=Count("members", filter=Q(members__state=TeamMember.State.ACTIVE)))
        .order_by("community__path", "name")
    )


def teams_open_to(actor: MaybeAnonymousActor) -> QuerySet[Team]:
    """Active teams of the volunteer's community."""
    community = home_community_of(actor)
    if community is None:
        return Team.objects.none()
    return Team.objects.filter(community=community, is_active=True).order_by("name")


def access_team(actor: MaybeAnonymousActor, team_id: Any) -> Team:
    """A team the actor organises, or one of their own community."""
    pk = parse_id(team_id)
    team = Team.objects.select_related("community").filter(pk=pk).first() if pk else None
    if team is None:
        raise NotFound()
    community = home_community_of(actor)
    if (community is not None and team.community_id == community.pk) or reach(
        actor, Permission.VOLUNTEERING_MANAGE
    ).covers(team.community.path):
        return team
    raise NotFound()


def access_team_member(actor: MaybeAnonymousActor, member_id: Any) -> TeamMember:
    pk = parse_id(member_id)
    member = TeamMember.objects.select_related("team__community").filter(pk=pk).first() if pk else None
    if member is None:
        raise NotFound()
    resident = resident_of(actor)
    if (resident is not None and resident.pk == member.resident_id) or reach(
        actor, Permission.VOLUNTEERING_MANAGE
    ).covers(member.team.community.path):
        return member
    raise NotFound()


def team_members(team: Team) -> QuerySet[TeamMember]:
    return team.members.exclude(state=TeamMember.State.LEFT).select_related("resident").order_by("state", "pk")


# ---------------------------------------------------------------- dual registration


def own_membership(actor: MaybeAnonymousActor) -> PartyMembership | None:
    resident = resident_of(actor)
    if resident is None:
        return None
    return PartyMembership.objects.filter(resident=resident, is_active=True).select_related("employer").first()


def registration_of(membership: PartyMembership) -> DualRegistration | None:
    """The registration in force of a membership, if any."""
    return (
        DualRegistration.objects.filter(membership=membership)
        .exclude(state=DualRegistration.State.ENDED)
        .select_related("community", "employer")
        .first()
    )


def access_registration(actor: MaybeAnonymousActor, registration_id: Any) -> DualRegistration:
    """The member's own, one the actor's staff reach covers, or one of an organisation they represent."""
    pk = parse_id(registration_id)
    registration = (
        DualRegistration.objects.select_related("community", "membership__resident", "employer").filter(pk=pk).first()
        if pk
        else None
    )
    if registration is None:
        raise NotFound()
    resident = resident_of(actor)
    if resident is not None and resident.pk == registration.membership.resident_id:
        return registration
    if reach(actor, Permission.PARTY_MANAGE).covers(registration.community.path) or reach(
        actor, Permission.VOLUNTEERING_MANAGE
    ).covers(registration.community.path):
        return registration
    if registration.employer_id in represented_organisation_ids(actor):
        return registration
    raise NotFound()


def registrations_managed(actor: MaybeAnonymousActor, *, state: str = "") -> QuerySet[DualRegistration]:
    queryset = DualRegistration.objects.filter(
        reach(actor, Permission.PARTY_MANAGE).q("community__path") | managed_q(actor)
    ).select_related("community", "membership__resident", "employer")
    if state in DualRegistration.State.values:
        queryset = queryset.filter(state=state)
    return queryset.order_by("-registered_on", "-pk")


def registrations_of_employers(actor: MaybeAnonymousActor) -> QuerySet[DualRegistration]:
    """Registrations of the members employed by the organisations the actor represents."""
    return (
        DualRegistration.objects.filter(employer_id__in=represented_organisation_ids(actor))
        .select_related("community", "membership__resident", "employer")
        .order_by("state", "-registered_on", "pk")
    )


def represented_organisations(actor: MaybeAnonymousActor) -> list[Organisation]:
    return list(Organisation.objects.filter(pk__in=represented_organisation_ids(actor)).order_by("name"))


def posts_of(community: Place) -> QuerySet[Post]:
    return (
        Post.objects.filter(community=community, is_active=True)
        .annotate(held=Count("claims", filter=Q(claims__released_on__isnull=True)))
        .order_by("title")
    )


def open_post_claims(registration: DualRegistration) -> QuerySet[PostClaim]:
    return registration.post_claims.filter(released_on__isnull=True).select_related("post")


def access_post(actor: MaybeAnonymousActor, post_id: Any) -> Post:
    pk = parse_id(post_id)
    post = Post.objects.select_related("community").filter(pk=pk).first() if pk else None
    if post is None or not signed_in(actor):
        raise NotFound()
    return post


def access_post_claim(actor: MaybeAnonymousActor, claim_id: Any) -> PostClaim:
    pk = parse_id(claim_id)
    claim = PostClaim.objects.select_related("registration").filter(pk=pk).first() if pk else None
    if claim is None:
        raise NotFound()
    access_registration(actor, claim.registration_id)
    return claim


@dataclass(frozen=True)
class MemberRecord:
    """One registered member's service in a period, for the employer's report card."""

    registration: DualRegistration
    name: str
    community: str
    activities: int
    credit_hours: float
    honour_hours: float
    home_weeks: int
    wishes: int
    points_claimed: int
    points_approved: int


def member_records(registrations: list[DualRegistration], period: Period) -> list[MemberRecord]:
    """Per registered member: activities attended, credit and honour hours, home-service weeks served in, wishes
    fulfilled (confirmed) and points from these (claimed, approved) in ``period``. Four queries whatever the size."""
    residents = [r.membership.resident_id for r in registrations]
    signups = list(
        SignUp.objects.filter(
            resident_id__in=residents,
            state=SignUp.State.CONFIRMED,
            credit_minutes__gt=0,
            activity__starts_at__gte=period.start,
            activity__starts_at__lt=period.end,
        ).values("resident_id", "credit_minutes", "activity__starts_at", "claim__state", "claim__value")
    )
    honour = dict(
        HonourHours.objects.filter(resident_id__in=residents, served_on__gte=period.first, served_on__lte=period.last)
        .values("resident_id")
        .annotate(minutes=Sum("minutes"))
        .values_list("resident_id", "minutes")
    )
    wishes = list(
        Wish.objects.filter(
            claimer_resident_id__in=residents,
            state=Wish.State.CONFIRMED,
            confirmed_at__gte=period.start,
            confirmed_at__lt=period.end,
        ).values("claimer_resident_id", "claim__state", "claim__value")
    )
    records = []
    for registration in registrations:
        resident_id = registration.membership.resident_id
        own = [s for s in signups if s["resident_id"] == resident_id]
        own_wishes = [w for w in wishes if w["claimer_resident_id"] == resident_id]
        weeks = set()
        for signup in own:
            day = timezone.localtime(signup["activity__starts_at"]).date()
            week = home_service_week(day.year, day.month)
            if week.first <= day <= week.last:
                weeks.add((day.year, day.month))
        claims = [(row["claim__state"], row["claim__value"] or 0) for row in [*own, *own_wishes] if row["claim__state"]]
        records.append(
            MemberRecord(
                registration=registration,
                name=mask_name(registration.membership.resident.name),
                community=registration.community.name,
                activities=len(own),
                credit_hours=round(sum(s["credit_minutes"] for s in own) / 60, 1),
                honour_hours=round((honour.get(resident_id) or 0) / 60, 1),
                home_weeks=len(weeks),
                wishes=len(own_wishes),
                points_claimed=sum(value for state, value in claims if state != "withdrawn"),
                points_approved=sum(value for state, value in claims if state == "approved"),
            )
        )
    return records


def employer_report(actor: MaybeAnonymousActor, organisation: Organisation, period: Period) -> list[MemberRecord]:
    """The report card of an employer's registered members for ``period`` (a year or a quarter): only for a
    representative of the organisation (or staff over its place), else NotFound."""
    if organisation.pk not in represented_organisation_ids(actor) and not reach(actor, Permission.PARTY_MANAGE).covers(
        organisation.place.path
    ):
        raise NotFound()
    registrations = list(
        DualRegistration.objects.filter(employer=organisation, registered_on__lte=period.last)
        .filter(~Q(state=DualRegistration.State.ENDED) | Q(ended_on__gte=period.first))
        .select_related("community", "membership__resident")
        .order_by("membership__resident__name", "pk")
    )
    return member_records(registrations, period)


def access_employer(actor: MaybeAnonymousActor, organisation_id: Any) -> Organisation:
    pk = parse_id(organisation_id)
    organisation = Organisation.objects.select_related("place").filter(pk=pk).first() if pk else None
    if organisation is None:
        raise NotFound()
    if organisation.pk in represented_organisation_ids(actor) or reach(actor, Permission.PARTY_MANAGE).covers(
        organisation.place.path
    ):
        return organisation
    raise NotFound()


# ---------------------------------------------------------------- wishes


def wish_wall(actor: MaybeAnonymousActor, community: Place | None = None) -> QuerySet[Wish]:
    """Wishes on the wall (approved and after), of one community or all; newest first."""
    if not signed_in(actor):
        return Wish.objects.none()
    queryset = Wish.objects.filter(state__in=WALL_STATES).select_related("resident", "community")
    if community is not None:
        queryset = queryset.filter(community=community)
    return queryset.order_by("state", "-posted_at", "-pk")


def access_wish(actor: MaybeAnonymousActor, wish_id: Any) -> Wish:
    """A wish on the wall (any signed-in account), one's own, one posted by the actor, or one in their reach."""
    pk = parse_id(wish_id)
    wish = Wish.objects.select_related("household", "community", "resident").filter(pk=pk).first() if pk else None
    if wish is None or not signed_in(actor):
        raise NotFound()
    resident = resident_of(actor)
    if (
        wish.state in WALL_STATES
        or wish.posted_by_id == actor.pk
        or (resident is not None and resident.pk == wish.resident_id)
    ):
        return wish
    if reach(actor, Permission.WISH_APPROVE).covers(wish.household.path) or reach(
        actor, Permission.VOLUNTEERING_MANAGE
    ).covers(wish.household.path):
        return wish
    raise NotFound()


def wishes_managed(actor: MaybeAnonymousActor, *, state: str = "") -> QuerySet[Wish]:
    queryset = Wish.objects.filter(
        reach(actor, Permission.WISH_APPROVE).q("household__path") | managed_q(actor, "household__path")
    ).select_related("resident", "community")
    if state in Wish.State.values:
        queryset = queryset.filter(state=state)
    return queryset.order_by("-posted_at", "-pk")


def my_wishes(actor: MaybeAnonymousActor) -> QuerySet[Wish]:
    resident = resident_of(actor)
    if resident is None:
        return Wish.objects.none()
    return Wish.objects.filter(Q(resident=resident) | Q(claimed_by=actor)).order_by("-posted_at", "-pk")


def wish_flags(wish: Wish, *, now: datetime) -> dict[str, bool]:
    """Unclaimed for more than a week on the wall; past the day wished for and not fulfilled."""
    from .kpis import UNCLAIMED_FLAG_DAYS

    unclaimed = (
        wish.state == Wish.State.OPEN
        and wish.decided_at is not None
        and (now - wish.decided_at).days >= UNCLAIMED_FLAG_DAYS
    )
    overdue = wish.state in (Wish.State.OPEN, Wish.State.CLAIMED) and wish.due_on < timezone.localdate(now)
    return {"unclaimed": unclaimed, "overdue": overdue}


# ---------------------------------------------------------------- the cockpit's ledger (工作台账)


def activities_ledger(actor: MaybeAnonymousActor, place: Place, period: Period) -> QuerySet[Activity]:
    """Activities of communities in ``place``'s subtree starting in ``period``, in order (the cockpit's
    volunteering ledger). NotFound unless ``cockpit.report_generate`` reaches the place."""
    from gongzhi.core.access import require_reach
    from gongzhi.core.tree import subtree_q

    require_reach(actor, Permission.REPORT_GENERATE, place.path)
    return (
        Activity.objects.filter(subtree_q(place.path, "community__path"))
        .filter(starts_at__gte=period.start, starts_at__lt=period.end)
        .select_related("community", "team")
        .order_by("starts_at", "pk")
    )


def attendances_ledger(actor: MaybeAnonymousActor, place: Place, period: Period) -> QuerySet[SignUp]:
    """The sign-ups (with check-in, check-out and credited minutes) of ``activities_ledger``'s activities
    (read-only, unmasked rows: the caller masks)."""
    return (
        SignUp.objects.filter(activity__in=activities_ledger(actor, place, period).order_by())
        .select_related("activity", "resident")
        .order_by("activity__starts_at", "activity_id", "pk")
    )


# ---------------------------------------------------------------- personal data (collected by people.personal_data)


def personal_data_of(resident: Any, account: Any) -> list[dict[str, Any]]:
    """What volunteering holds about ``resident``: sign-ups and attendance, honour hours, team memberships, wishes
    posted for them, and the hour totals. Read-only plain rows; the caller has checked who asks."""
    from django.utils.translation import gettext as gettext_now

    if resident is None:
        signups, honour, teams, wishes = [], [], [], []
    else:
        signups = list(SignUp.objects.filter(resident=resident).select_related("activity").order_by("created_at", "pk"))
        honour = list(HonourHours.objects.filter(resident=resident).order_by("served_on", "pk"))
        teams = list(TeamMember.objects.filter(resident=resident).select_related("team").order_by("joined_at", "pk"))
        wishes = list(Wish.objects.filter(resident=resident).order_by("pk"))
    totals = hours_of(resident) if resident is not None else None
    return [
        {
            "key": "volunteering.signups",
            "title": gettext_now("Volunteer sign-ups and attendance"),
            "columns": [
                ("activity", gettext_now("activity")),
                ("starts_at", gettext_now("starts at")),
                ("state", gettext_now("state")),
                ("checked_in_at", gettext_now("checked in")),
                ("checked_out_at", gettext_now("checked out")),
                ("credit_minutes", gettext_now("credit minutes")),
            ],
            "rows": [
                {
                    "activity": signup.activity.title,
                    "starts_at": signup.activity.starts_at,
                    "state": signup.get_state_display(),
                    "checked_in_at": signup.checked_in_at,
                    "checked_out_at": signup.checked_out_at,
                    "credit_minutes": signup.credit_minutes,
                }
                for signup in signups
            ],
        },
        {
            "key": "volunteering.honour_hours",
            "title": gettext_now("Honour hours"),
            "columns": [
                ("served_on", gettext_now("served on")),
                ("minutes", gettext_now("minutes")),
                ("reason", gettext_now("why")),
            ],
            "rows": [{"served_on": row.served_on, "minutes": row.minutes, "reason": row.reason} for row in honour],
        },
        {
            "key": "volunteering.hours",
            "title": gettext_now("Volunteer hours in all"),
            "columns": [
                ("credit_hours", gettext_now("credit hours")),
                ("honour_hours", gettext_now("honour hours")),
                ("activities", gettext_now("activities")),
            ],
            "rows": []
            if totals is None
            else [
                {
                    "credit_hours": totals.credit_hours,
                    "honour_hours": totals.honour_hours,
                    "activities": totals.activities,
                }
            ],
        },
        {
            "key": "volunteering.teams",
            "title": gettext_now("Volunteer teams"),
            "columns": [
                ("team", gettext_now("team")),
                ("skills", gettext_now("skills")),
                ("state", gettext_now("state")),
            ],
            "rows": [
                {"team": member.team.name, "skills": member.skills, "state": member.get_state_display()}
                for member in teams
            ],
        },
        {
            "key": "volunteering.wishes",
            "title": gettext_now("Micro-wishes"),
            "columns": [
                ("title", gettext_now("wish")),
                ("text", gettext_now("what is wished for")),
                ("state", gettext_now("state")),
            ],
            "rows": [
                {"title": wish.title, "text": wish.public_text, "state": wish.get_state_display()} for wish in wishes
            ],
        },
    ]
