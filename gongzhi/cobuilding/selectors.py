"""Every read of co-building. Each takes the actor and scopes by the place path (staff: cobuilding.manage over the
place; representatives: their own organisations and the communities they have agreements with; residents: their
own community's public lists). ``access_<thing>`` answers the same NotFound whether missing or out of reach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, Max, Q, QuerySet, Sum
from django.utils import timezone

from gongzhi.core.access import parse_id, reach
from gongzhi.core.actors import MaybeAnonymousActor
from gongzhi.core.errors import NotFound
from gongzhi.core.roles import Permission
from gongzhi.core.tree import subtree_q
from gongzhi.people.models import Organisation
from gongzhi.people.selectors import account_households
from gongzhi.places.models import Place, PlaceKind
from gongzhi.points.models import AccountKind
from gongzhi.points.selectors import accounts_visible, claims_of

from .access import represented_ids
from .models import (
    Activity,
    Agreement,
    Alliance,
    AllianceMember,
    AssessmentResult,
    Commitment,
    Fund,
    Match,
    Matter,
    Meeting,
    Need,
    Pairing,
    Project,
    ProjectClaim,
    ReportBack,
    Resource,
    Spending,
)


def _pk(value: Any) -> int:
    parsed = parse_id(value)
    if parsed is None:
        raise NotFound()
    return parsed


def staff_q(actor: MaybeAnonymousActor, field: str = "community__path") -> Q:
    return reach(actor, Permission.COBUILDING_MANAGE).q(field)


def agreement_community_ids(actor: MaybeAnonymousActor) -> set[int]:
    """Communities the actor's organisations have an agreement in force with."""
    organisations = represented_ids(actor)
    if not organisations:
        return set()
    return set(
        Agreement.objects.filter(organisation_id__in=organisations, state=Agreement.State.ACTIVE).values_list(
            "community_id", flat=True
        )
    )


def is_staff(actor: MaybeAnonymousActor) -> bool:
    return not reach(actor, Permission.COBUILDING_MANAGE).is_empty


def active_organisation(organisation_id: Any) -> Organisation:
    """An active organisation by id, for a service that checks itself who may act for it (a claim, a score)."""
    organisation = Organisation.objects.filter(pk=_pk(organisation_id), is_active=True).first()
    if organisation is None:
        raise NotFound()
    return organisation


def represented_organisations(actor: MaybeAnonymousActor) -> list[Organisation]:
    return list(Organisation.objects.filter(pk__in=represented_ids(actor), is_active=True).order_by("name"))


def staff_communities(actor: MaybeAnonymousActor) -> list[Place]:
    return list(
        Place.objects.filter(kind=PlaceKind.COMMUNITY, is_active=True)
        .filter(reach(actor, Permission.COBUILDING_MANAGE).q("path"))
        .order_by("path")[:200]
    )


def figures_place(actor: MaybeAnonymousActor) -> Place | None:
    """The highest place the actor manages co-building over (the district for a district admin), for the figures
    on their page."""
    scope = reach(actor, Permission.COBUILDING_MANAGE)
    places = Place.objects.filter(is_active=True)
    if not scope.everything:
        places = places.filter(path__in=list(scope.paths))
    return places.order_by("depth", "path").first()


def home_community(actor: MaybeAnonymousActor, *, today: date) -> Place | None:
    """The community of the actor's household (residents), or None."""
    if getattr(actor, "resident_id", None) is None:
        return None
    for household in account_households(actor, today=today):  # type: ignore[arg-type]
        ids = household.ancestor_ids
        community = Place.objects.filter(pk__in=ids, kind=PlaceKind.COMMUNITY).first()
        if community is not None:
            return community
    return None


# ---------------------------------------------------------------- agreements and lists


def agreements_visible(actor: MaybeAnonymousActor) -> QuerySet[Agreement]:
    return Agreement.objects.filter(staff_q(actor) | Q(organisation_id__in=represented_ids(actor))).select_related(
        "organisation", "community"
    )


def access_agreement(actor: MaybeAnonymousActor, agreement_id: Any) -> Agreement:
    agreement = agreements_visible(actor).filter(pk=_pk(agreement_id)).first()
    if agreement is None:
        raise NotFound()
    return agreement


def resources_visible(actor: MaybeAnonymousActor) -> QuerySet[Resource]:
    """Staff: resources offered to communities in reach; representatives: their own and the published ones of
    the communities they have agreements with."""
    return Resource.objects.filter(
        staff_q(actor)
        | Q(organisation_id__in=represented_ids(actor))
        | Q(community_id__in=agreement_community_ids(actor), state=Resource.State.PUBLISHED)
    ).select_related("organisation", "community")


def access_resource(actor: MaybeAnonymousActor, resource_id: Any) -> Resource:
    resource = resources_visible(actor).filter(pk=_pk(resource_id)).first()
    if resource is None:
        raise NotFound()
    return resource


def needs_visible(actor: MaybeAnonymousActor) -> QuerySet[Need]:
    return Need.objects.filter(
        staff_q(actor) | Q(community_id__in=agreement_community_ids(actor), state=Need.State.OPEN)
    ).select_related("community", "place")


def access_need(actor: MaybeAnonymousActor, need_id: Any) -> Need:
    need = needs_visible(actor).filter(pk=_pk(need_id)).first()
    if need is None:
        raise NotFound()
    return need


def matches_visible(actor: MaybeAnonymousActor) -> QuerySet[Match]:
    """Suggested matches: for staff of the need's community and for the resource's organisation (the two sides)."""
    return Match.objects.filter(
        staff_q(actor, "need__community__path") | Q(resource__organisation_id__in=represented_ids(actor))
    ).select_related("need", "resource", "resource__organisation", "need__community")


def access_match(actor: MaybeAnonymousActor, match_id: Any) -> Match:
    match = matches_visible(actor).filter(pk=_pk(match_id)).first()
    if match is None:
        raise NotFound()
    return match


def projects_visible(actor: MaybeAnonymousActor) -> QuerySet[Project]:
    """Staff: projects in reach; representatives: those of their agreement communities and those they claimed."""
    return Project.objects.filter(
        staff_q(actor) | Q(community_id__in=agreement_community_ids(actor)) | Q(claimer_id__in=represented_ids(actor))
    ).select_related("community", "place", "claimer", "need", "point_item")


def access_project(actor: MaybeAnonymousActor, project_id: Any) -> Project:
    project = projects_visible(actor).filter(pk=_pk(project_id)).first()
    if project is None:
        raise NotFound()
    return project


def project_list(
    actor: MaybeAnonymousActor, *, state: str = "", community_id: Any = None, text: str = ""
) -> QuerySet[Project]:
    projects = projects_visible(actor)
    if state:
        projects = projects.filter(state=state)
    if community_id:
        projects = projects.filter(community_id=_pk(community_id))
    if text:
        projects = projects.filter(title__icontains=text.strip()[:50])
    return projects.order_by("-created_at", "-id")


def public_projects(community: Place) -> QuerySet[Project]:
    """A community's projects done and confirmed, for residents (public: no personal data)."""
    return (
        Project.objects.filter(community=community, state=Project.State.CONFIRMED)
        .select_related("claimer", "place")
        .order_by("-confirmed_at", "-id")
    )


def access_public_project(actor: MaybeAnonymousActor, project_id: Any, *, today: date) -> Project:
    """A confirmed project of the resident's own community (to rate), or staff's / representative's view."""
    community = home_community(actor, today=today)
    project = None
    if community is not None:
        project = public_projects(community).filter(pk=_pk(project_id)).first()
    if project is None:
        return access_project(actor, project_id)
    return project


# ---------------------------------------------------------------- fund


def funds_visible(actor: MaybeAnonymousActor) -> QuerySet[Fund]:
    return Fund.objects.filter(
        staff_q(actor) | reach(actor, Permission.FUND_APPROVE).q("community__path")
    ).select_related("community")


def access_fund(actor: MaybeAnonymousActor, fund_id: Any) -> Fund:
    fund = funds_visible(actor).filter(pk=_pk(fund_id)).first()
    if fund is None:
        raise NotFound()
    return fund


def access_spending(actor: MaybeAnonymousActor, spending_id: Any) -> Spending:
    spending = (
        Spending.objects.filter(
            staff_q(actor, "fund__community__path") | reach(actor, Permission.FUND_APPROVE).q("fund__community__path")
        )
        .select_related("fund", "fund__community", "project")
        .filter(pk=_pk(spending_id))
        .first()
    )
    if spending is None:
        raise NotFound()
    return spending


def public_spending(community: Place, year: int) -> tuple[Fund | None, list[Spending]]:
    """The public list of a community's spending for a year (approved and paid), with the fund (print style)."""
    fund = Fund.objects.filter(community=community, year=year).first()
    if fund is None:
        return None, []
    rows = list(
        fund.spendings.filter(state__in=(Spending.State.APPROVED, Spending.State.PAID))
        .select_related("project")
        .order_by("requested_at", "id")
    )
    return fund, rows


# ---------------------------------------------------------------- alliances, pairings, meetings, assessments


def alliances_visible(actor: MaybeAnonymousActor) -> QuerySet[Alliance]:
    organisations = represented_ids(actor)
    return (
        Alliance.objects.filter(staff_q(actor, "place__path") | Q(members__organisation_id__in=organisations))
        .distinct()
        .annotate(member_count=Count("members", distinct=True))
        .select_related("place")
    )


def access_alliance(actor: MaybeAnonymousActor, alliance_id: Any) -> Alliance:
    alliance = alliances_visible(actor).filter(pk=_pk(alliance_id)).first()
    if alliance is None:
        raise NotFound()
    return alliance


@dataclass(frozen=True)
class RankedOrganisation:
    organisation_id: int
    name: str
    earned: int
    rank: int


def alliance_ranking(actor: MaybeAnonymousActor, alliance: Alliance) -> list[RankedOrganisation]:
    """The alliance's members ranked by the points their organisation accounts have earned in all (ties share a
    rank), read through the points app's own selectors."""
    member_ids = list(AllianceMember.objects.filter(alliance=alliance).values_list("organisation_id", flat=True))
    names = dict(Organisation.objects.filter(pk__in=member_ids).values_list("pk", "name"))
    earned = dict(
        accounts_visible(actor)  # type: ignore[arg-type]
        .filter(kind=AccountKind.ORGANISATION, organisation_id__in=member_ids)
        .values_list("organisation_id", "earned_total")
    )
    rows = sorted(((earned.get(pk, 0), names.get(pk, ""), pk) for pk in member_ids), key=lambda r: (-r[0], r[1]))
    ranked: list[RankedOrganisation] = []
    for position, (points, name, pk) in enumerate(rows, start=1):
        rank = ranked[-1].rank if ranked and ranked[-1].earned == points else position
        ranked.append(RankedOrganisation(pk, name, points, rank))
    return ranked


def pairings_visible(actor: MaybeAnonymousActor) -> QuerySet[Pairing]:
    return Pairing.objects.filter(
        staff_q(actor) | Q(partner_organisation_id__in=represented_ids(actor))
    ).select_related("community", "partner_organisation", "partner_place")


def access_pairing(actor: MaybeAnonymousActor, pairing_id: Any) -> Pairing:
    pairing = pairings_visible(actor).filter(pk=_pk(pairing_id)).first()
    if pairing is None:
        raise NotFound()
    return pairing


def access_commitment(actor: MaybeAnonymousActor, commitment_id: Any) -> Commitment:
    commitment = Commitment.objects.filter(pairing__in=pairings_visible(actor)).filter(pk=_pk(commitment_id)).first()
    if commitment is None:
        raise NotFound()
    return commitment


def meetings_visible(actor: MaybeAnonymousActor) -> QuerySet[Meeting]:
    return (
        Meeting.objects.filter(staff_q(actor))
        .select_related("community")
        .annotate(
            matter_count=Count("matters", distinct=True),
            solved_count=Count("matters", filter=Q(matters__state=Matter.State.SOLVED), distinct=True),
        )
        .order_by("-held_on", "-id")
    )


def access_meeting(actor: MaybeAnonymousActor, meeting_id: Any) -> Meeting:
    meeting = meetings_visible(actor).filter(pk=_pk(meeting_id)).first()
    if meeting is None:
        raise NotFound()
    return meeting


def access_matter(actor: MaybeAnonymousActor, matter_id: Any) -> Matter:
    matter = (
        Matter.objects.filter(staff_q(actor, "meeting__community__path"))
        .select_related("meeting", "meeting__community", "taken_by")
        .filter(pk=_pk(matter_id))
        .first()
    )
    if matter is None:
        raise NotFound()
    return matter


def assessment_results(actor: MaybeAnonymousActor) -> QuerySet[AssessmentResult]:
    """Published quarters of compounds the actor scores or manages."""
    return AssessmentResult.objects.filter(
        reach(actor, Permission.ASSESSMENT_SCORE).q("compound__path") | staff_q(actor, "compound__path")
    ).select_related("compound", "company")


def public_assessments(community: Place) -> QuerySet[AssessmentResult]:
    """Published quarters of the compounds of a community (public per compound)."""
    return (
        AssessmentResult.objects.filter(subtree_q(community.path, "compound__path"))
        .select_related("compound", "company")
        .order_by("compound__name", "-year", "-quarter")
    )


def activities_visible(actor: MaybeAnonymousActor) -> QuerySet[Activity]:
    return (
        Activity.objects.filter(staff_q(actor))
        .select_related("community", "pairing", "commitment")
        .prefetch_related("organisations")
        .order_by("-held_on", "-id")
    )


def scored_compounds(actor: MaybeAnonymousActor) -> list[Place]:
    """Compounds the actor may score (cobuilding.assessment_score over them)."""
    return list(
        Place.objects.filter(kind=PlaceKind.COMPOUND, is_active=True)
        .filter(reach(actor, Permission.ASSESSMENT_SCORE).q("path"))
        .order_by("path")[:300]
    )


def partner_community(place_id: Any) -> Place:
    """Any active community, as the partner of a pairing (a partner may be outside the actor's reach)."""
    place = Place.objects.filter(pk=_pk(place_id), kind=PlaceKind.COMMUNITY, is_active=True).first()
    if place is None:
        raise NotFound()
    return place


def access_place_for(actor: MaybeAnonymousActor, place_id: Any, permission: str) -> Place:
    place = Place.objects.filter(pk=_pk(place_id), is_active=True).first()
    if place is None or not reach(actor, permission).covers(place.path):
        raise NotFound()
    return place


def access_agreement_community(actor: MaybeAnonymousActor, community_id: Any) -> Place:
    """A community the actor's organisations have an agreement in force with, or one the actor manages."""
    pk = _pk(community_id)
    place = Place.objects.filter(pk=pk, kind=PlaceKind.COMMUNITY, is_active=True).first()
    if place is None or not (
        pk in agreement_community_ids(actor) or reach(actor, Permission.COBUILDING_MANAGE).covers(place.path)
    ):
        raise NotFound()
    return place


# ---------------------------------------------------------------- report-back


def organisations_for_report(actor: MaybeAnonymousActor) -> QuerySet[Organisation]:
    """Organisations whose report-back the actor may see: located under the actor's reach, or represented."""
    return Organisation.objects.filter(
        staff_q(actor, "place__path") | Q(pk__in=represented_ids(actor)), is_active=True
    ).select_related("place")


def access_organisation(actor: MaybeAnonymousActor, organisation_id: Any) -> Organisation:
    organisation = organisations_for_report(actor).filter(pk=_pk(organisation_id)).first()
    if organisation is None:
        raise NotFound()
    return organisation


def report_back_index(actor: MaybeAnonymousActor, year: int) -> list[dict[str, Any]]:
    """Organisations in the actor's reach with an agreement in force at some day of ``year``, each with whether
    it was reported back for that year (two queries)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    organisations = list(
        Organisation.objects.filter(staff_q(actor, "place__path"), is_active=True)
        .filter(
            Q(cobuilding_agreements__starts_on__lte=last)
            & (
                Q(cobuilding_agreements__ended_on__isnull=True, cobuilding_agreements__ends_on__gte=first)
                | Q(cobuilding_agreements__ended_on__gte=first)
            )
        )
        .distinct()
        .order_by("name")
    )
    reported = dict(
        ReportBack.objects.filter(organisation__in=organisations, year=year).values_list("organisation_id", "sent_at")
    )
    return [{"organisation": o, "reported_at": reported.get(o.pk)} for o in organisations]


def report_back_figures(actor: MaybeAnonymousActor, organisation: Organisation, year: int) -> dict[str, Any]:
    """What an organisation did in a year, for its supervising department. Definitions:

    agreements: in force at some day of the year; projects claimed: claims made in the year and not given back;
    projects completed: confirmed in the year with the organisation as claimer; average rating of those;
    activities: co-building activities held in the year it took part in; points: approved claims' points of its
    account with a service date in the year (points app's selectors); pairings: in force in the year with it as
    partner; commitments: of those pairings for the year, and kept; matters solved: meeting matters it took,
    solved in the year; assessments: quarters of the year published with it as property company, their average
    weighted score, the stars after the last one and the rewards.
    """
    first, last = date(year, 1, 1), date(year, 12, 31)
    start = timezone.make_aware(datetime(year, 1, 1))
    end = timezone.make_aware(datetime(year + 1, 1, 1))
    agreements = Agreement.objects.filter(organisation=organisation, starts_on__lte=last).filter(
        Q(ended_on__isnull=True, ends_on__gte=first) | Q(ended_on__gte=first)
    )
    claims = ProjectClaim.objects.filter(organisation=organisation, claimed_at__gte=start, claimed_at__lt=end).exclude(
        state=ProjectClaim.State.RELEASED
    )
    completed = Project.objects.filter(
        claimer=organisation, state=Project.State.CONFIRMED, confirmed_at__gte=start, confirmed_at__lt=end
    ).aggregate(count=Count("pk"), ratings=Sum("rating_count"), stars=Sum("rating_total"))
    activities = Activity.objects.filter(organisations=organisation, held_on__gte=first, held_on__lte=last)
    pairings = Pairing.objects.filter(partner_organisation=organisation, started_on__lte=last).filter(
        Q(ended_on__isnull=True) | Q(ended_on__gte=first)
    )
    commitments = Commitment.objects.filter(pairing__in=pairings, year=year).aggregate(
        total=Count("pk"), kept=Count("pk", filter=Q(state=Commitment.State.KEPT))
    )
    matters = Matter.objects.filter(
        taken_by=organisation, state=Matter.State.SOLVED, solved_on__gte=first, solved_on__lte=last
    ).count()
    assessments = AssessmentResult.objects.filter(company=organisation, year=year).aggregate(
        quarters=Count("pk"),
        average=Avg("weighted_score"),
        rewards=Count("pk", filter=Q(reward=True)),
        last_quarter=Max("quarter"),
    )
    last_stars = None
    if assessments["last_quarter"]:
        last_stars = (
            AssessmentResult.objects.filter(company=organisation, year=year, quarter=assessments["last_quarter"])
            .order_by("compound_id")
            .values_list("stars", flat=True)
            .first()
        )
    account = accounts_visible(actor).filter(kind=AccountKind.ORGANISATION, organisation=organisation).first()  # type: ignore[arg-type]
    points = 0
    if account is not None:
        points = (
            claims_of(actor, [account], state="approved")  # type: ignore[arg-type]
            .filter(service_date__gte=first, service_date__lte=last)
            .aggregate(total=Sum("value"))["total"]
            or 0
        )
    average = assessments["average"]
    rating = None
    if completed["ratings"]:
        rating = (Decimal(completed["stars"]) / completed["ratings"]).quantize(Decimal("0.1"))
    return {
        "organisation": organisation.name,
        "department": organisation.supervising_department,
        "year": year,
        "agreements": agreements.count(),
        "projects_claimed": claims.count(),
        "projects_completed": completed["count"],
        "average_rating": rating,
        "activities": activities.count(),
        "points": points,
        "pairings": pairings.count(),
        "commitments": commitments["total"],
        "commitments_kept": commitments["kept"],
        "matters_solved": matters,
        "assessment_quarters": assessments["quarters"],
        "assessment_average": None if average is None else Decimal(average).quantize(Decimal("0.01")),
        "assessment_stars": last_stars,
        "assessment_rewards": assessments["rewards"],
        "reported": ReportBack.objects.filter(organisation=organisation, year=year).first(),
    }


# ---------------------------------------------------------------- the cockpit's ledger (工作台账)


def projects_ledger(actor: MaybeAnonymousActor, place: Place, period: Any) -> QuerySet[Project]:
    """Micro-projects at places in ``place``'s subtree created, claimed or confirmed in ``period`` (the cockpit's
    co-building ledger). NotFound unless ``cockpit.report_generate`` reaches the place."""
    from gongzhi.core.access import require_reach

    require_reach(actor, Permission.REPORT_GENERATE, place.path)
    return (
        Project.objects.filter(subtree_q(place.path, "place__path"))
        .filter(
            Q(created_at__gte=period.start, created_at__lt=period.end)
            | Q(claimed_at__gte=period.start, claimed_at__lt=period.end)
            | Q(confirmed_at__gte=period.start, confirmed_at__lt=period.end)
        )
        .select_related("community", "place", "claimer")
        .order_by("created_at", "pk")
    )


def spending_ledger(actor: MaybeAnonymousActor, place: Place, period: Any) -> QuerySet[Spending]:
    """Spending of the service funds of communities in ``place``'s subtree asked for in ``period``."""
    from gongzhi.core.access import require_reach

    require_reach(actor, Permission.REPORT_GENERATE, place.path)
    return (
        Spending.objects.filter(subtree_q(place.path, "fund__community__path"))
        .filter(requested_at__gte=period.start, requested_at__lt=period.end)
        .select_related("fund__community", "project")
        .order_by("requested_at", "pk")
    )


# ---------------------------------------------------------------- personal data (collected by people.personal_data)


def personal_data_of(resident: Any, account: Any) -> list[dict[str, Any]]:
    """What co-building holds about a person: their ratings of micro-projects and the needs and progress reports
    their login ``account`` recorded (co-building names people only by account). Read-only plain rows."""
    from django.utils.translation import gettext as gettext_now

    from .models import Need, ProjectProgress, ProjectRating

    if account is None:
        return []
    ratings = ProjectRating.objects.filter(rated_by=account).select_related("project").order_by("rated_at", "pk")
    needs = Need.objects.filter(created_by=account).order_by("pk")
    reports = ProjectProgress.objects.filter(reported_by=account).select_related("project").order_by("pk")
    return [
        {
            "key": "cobuilding.ratings",
            "title": gettext_now("Ratings of co-building projects"),
            "columns": [
                ("project", gettext_now("project")),
                ("stars", gettext_now("stars")),
                ("comment", gettext_now("comment")),
                ("rated_at", gettext_now("rated at")),
            ],
            "rows": [
                {"project": row.project.title, "stars": row.stars, "comment": row.comment, "rated_at": row.rated_at}
                for row in ratings
            ],
        },
        {
            "key": "cobuilding.needs",
            "title": gettext_now("Co-building needs recorded"),
            "columns": [("title", gettext_now("title")), ("description", gettext_now("description"))],
            "rows": [{"title": need.title, "description": need.description} for need in needs],
        },
        {
            "key": "cobuilding.progress",
            "title": gettext_now("Co-building progress reported"),
            "columns": [
                ("project", gettext_now("project")),
                ("note", gettext_now("what was done")),
                ("reported_at", gettext_now("reported at")),
            ],
            "rows": [
                {"project": row.project.title, "note": row.note, "reported_at": row.reported_at} for row in reports
            ],
        },
    ]
