"""Co-building in the API (mounted at /api/v1/cobuilding/). Thin: parse → access → one service call → answer.

Representatives: agreements of their organisations, publish resources, the open project list of the communities
they have agreements with, claim, report progress (multipart, with photos) and completion, ask for the points.
Staff: needs, matches, projects, confirmation, the fund and its spending, alliances, pairings and commitments,
meetings and matters, assessment scores and publication, figures, report-back.
Residents: rate a confirmed project of their community.
Lists answer one page (``Page[T]``); errors the one shape ``{"code", "message", "fields"}``; codes in
``cobuilding.errors.CobuildingError`` (docs/errors.md). Amounts are strings of yuan ("1200.50"), scores decimals.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from gongzhi.core.api_support import ERRORS, Page, PageQuery, paginate
from gongzhi.core.figures import Period
from gongzhi.core.roles import Permission
from gongzhi.points.selectors import active_item

from . import selectors, services
from .kpis import cobuilding_kpis
from .models import Agreement, Fund, Match, Project, Resource, Spending

router = Router(tags=["cobuilding"])


# ---------------------------------------------------------------- schemas


class AgreementOut(Schema):
    id: int
    organisation_id: int
    organisation_name: str
    community_id: int
    scope: str
    starts_on: date
    ends_on: date
    state: str
    renewed_from_id: int | None

    @staticmethod
    def resolve_organisation_name(agreement: Agreement) -> str:
        return agreement.organisation.name


class AgreementIn(Schema):
    organisation_id: int
    community_id: int
    scope: str = Field(..., max_length=2000)
    starts_on: date
    ends_on: date


class ResourceOut(Schema):
    id: int
    organisation_id: int
    organisation_name: str
    community_id: int
    kind: str
    title: str
    description: str
    opening_times: str
    available_from: date | None
    available_until: date | None
    state: str

    @staticmethod
    def resolve_organisation_name(resource: Resource) -> str:
        return resource.organisation.name


class ResourceIn(Schema):
    organisation_id: int
    community_id: int
    kind: str
    title: str = Field(..., max_length=120)
    description: str = ""
    opening_times: str = ""
    available_from: date | None = None
    available_until: date | None = None


class NeedOut(Schema):
    id: int
    community_id: int
    place_id: int
    kind: str
    title: str
    description: str
    source_kind: str
    source_reference: str
    state: str


class NeedIn(Schema):
    place_id: int
    kind: str
    title: str = Field(..., max_length=120)
    description: str = ""
    needed_from: date | None = None
    needed_until: date | None = None
    source_kind: str = "typed"
    source_reference: str = ""


class MatchOut(Schema):
    id: int
    need_id: int
    need_title: str
    resource_id: int
    resource_title: str
    organisation_name: str
    score: int
    reasons: list[str]
    state: str

    @staticmethod
    def resolve_need_title(match: Match) -> str:
        return match.need.title

    @staticmethod
    def resolve_resource_title(match: Match) -> str:
        return match.resource.title

    @staticmethod
    def resolve_organisation_name(match: Match) -> str:
        return match.resource.organisation.name


class AnswerIn(Schema):
    accept: bool


class ProjectOut(Schema):
    id: int
    community_id: int
    place_id: int
    need_id: int | None
    title: str
    description: str
    budget: Decimal
    state: str
    claimer_id: int | None
    claimer_name: str
    claimed_at: datetime | None
    reported_at: datetime | None
    confirmed_at: datetime | None
    rating_count: int
    rating_average: Decimal | None
    points_claim_id: int | None

    @staticmethod
    def resolve_claimer_name(project: Project) -> str:
        return project.claimer.name if project.claimer_id else ""


class ProjectIn(Schema):
    place_id: int
    title: str = Field(..., max_length=120)
    description: str = ""
    need_id: int | None = None
    resource_ids: list[int] = []
    budget: str = "0"
    point_item_id: int | None = None


class ClaimIn(Schema):
    organisation_id: int


class ConfirmIn(Schema):
    accept: bool = True


class RateIn(Schema):
    stars: int
    comment: str = ""


class FundOut(Schema):
    id: int
    community_id: int
    year: int
    budget: Decimal
    committed: Decimal
    spent: Decimal
    left: Decimal

    @staticmethod
    def resolve_left(fund: Fund) -> Decimal:
        return fund.left


class FundIn(Schema):
    community_id: int
    year: int
    budget: str


class SpendingOut(Schema):
    id: int
    fund_id: int
    project_id: int | None
    purpose: str
    amount: Decimal
    state: str
    requested_at: datetime
    decided_at: datetime | None
    paid_at: datetime | None


class SpendingIn(Schema):
    purpose: str = Field(..., max_length=200)
    amount: str
    project_id: int | None = None


class RankOut(Schema):
    organisation_id: int
    name: str
    earned: int
    rank: int


class CommitmentMarkIn(Schema):
    kept: bool
    decided_on: date
    note: str = ""


class ScoreIn(Schema):
    compound_id: int
    company_id: int
    year: int
    quarter: int
    party: str
    score: str


class PublishIn(Schema):
    compound_id: int
    year: int
    quarter: int


class ResultOut(Schema):
    id: int
    compound_id: int
    company_id: int
    year: int
    quarter: int
    weighted_score: Decimal
    grade: str
    stars: int
    reward: bool


class FiguresQuery(Schema):
    place_id: int
    period: str = Field(..., description="2031-Q1, 2031-05, 2031, 2031-W10 or 2031-01-01..2031-03-31")


class ReportQuery(Schema):
    year: int


class ListQuery(PageQuery):
    state: str = ""


def _now() -> datetime:
    return timezone.now()


# ---------------------------------------------------------------- agreements and lists


@router.get("/agreements", response={200: Page[AgreementOut], **ERRORS}, summary="Agreements in reach")
def agreement_list(request, query: Query[ListQuery]):
    agreements = selectors.agreements_visible(request.user)
    if query.state:
        agreements = agreements.filter(state=query.state)
    return paginate(agreements.order_by("-starts_on", "-id"), query)


@router.post("/agreements", response={201: AgreementOut, **ERRORS}, summary="Sign an agreement")
def agreement_sign(request, payload: AgreementIn):
    community = selectors.access_place_for(request.user, payload.community_id, Permission.COBUILDING_MANAGE)
    agreement = services.agreement_sign(
        actor=request.user,
        organisation=selectors.active_organisation(payload.organisation_id),
        community=community,
        scope=payload.scope,
        starts_on=payload.starts_on,
        ends_on=payload.ends_on,
        now=_now(),
    )
    return Status(201, agreement)


@router.get("/resources", response={200: Page[ResourceOut], **ERRORS}, summary="Resource list")
def resource_list(request, query: Query[ListQuery]):
    resources = selectors.resources_visible(request.user)
    if query.state:
        resources = resources.filter(state=query.state)
    return paginate(resources, query)


@router.post("/resources", response={201: ResourceOut, **ERRORS}, summary="Publish a resource")
def resource_publish(request, payload: ResourceIn):
    organisation = selectors.active_organisation(payload.organisation_id)
    community = selectors.access_agreement_community(request.user, payload.community_id)
    resource = services.resource_publish(
        actor=request.user,
        organisation=organisation,
        community=community,
        kind=payload.kind,
        title=payload.title,
        description=payload.description,
        opening_times=payload.opening_times,
        available_from=payload.available_from,
        available_until=payload.available_until,
        now=_now(),
    )
    return Status(201, resource)


@router.get("/needs", response={200: Page[NeedOut], **ERRORS}, summary="Need list")
def need_list(request, query: Query[ListQuery]):
    needs = selectors.needs_visible(request.user)
    if query.state:
        needs = needs.filter(state=query.state)
    return paginate(needs, query)


@router.post("/needs", response={201: NeedOut, **ERRORS}, summary="Publish a need")
def need_create(request, payload: NeedIn):
    place = selectors.access_place_for(request.user, payload.place_id, Permission.COBUILDING_MANAGE)
    need = services.need_create(
        actor=request.user,
        place=place,
        kind=payload.kind,
        title=payload.title,
        description=payload.description,
        needed_from=payload.needed_from,
        needed_until=payload.needed_until,
        source_kind=payload.source_kind,
        source_reference=payload.source_reference,
        now=_now(),
    )
    return Status(201, need)


@router.get("/matches", response={200: Page[MatchOut], **ERRORS}, summary="Suggested matches, both sides")
def match_list(request, query: Query[ListQuery]):
    matches = selectors.matches_visible(request.user)
    if query.state:
        matches = matches.filter(state=query.state)
    return paginate(matches, query)


@router.post("/matches/{match_id}/answer", response={200: MatchOut, **ERRORS}, summary="Accept or dismiss")
def match_answer(request, match_id: int, payload: AnswerIn):
    match = selectors.access_match(request.user, match_id)
    return services.match_answer(actor=request.user, match=match, accept=payload.accept, now=_now())


# ---------------------------------------------------------------- projects


@router.get("/projects", response={200: Page[ProjectOut], **ERRORS}, summary="Project list")
def project_list(request, query: Query[ListQuery]):
    return paginate(selectors.project_list(request.user, state=query.state), query)


@router.get("/projects/{project_id}", response={200: ProjectOut, **ERRORS}, summary="One project")
def project_detail(request, project_id: int):
    return selectors.access_project(request.user, project_id)


@router.post("/projects", response={201: ProjectOut, **ERRORS}, summary="Put a project on the list")
def project_create(request, payload: ProjectIn):
    place = selectors.access_place_for(request.user, payload.place_id, Permission.COBUILDING_MANAGE)
    need = selectors.access_need(request.user, payload.need_id) if payload.need_id else None
    resources = [selectors.access_resource(request.user, pk) for pk in payload.resource_ids]
    item = active_item(payload.point_item_id) if payload.point_item_id else None
    project = services.project_create(
        actor=request.user,
        place=place,
        title=payload.title,
        description=payload.description,
        need=need,
        resources=resources,
        budget=payload.budget,
        point_item=item,
        now=_now(),
    )
    return Status(201, project)


@router.post("/projects/{project_id}/claim", response={200: ProjectOut, **ERRORS}, summary="Claim a project")
def project_claim(request, project_id: int, payload: ClaimIn):
    project = selectors.access_project(request.user, project_id)
    organisation = selectors.active_organisation(payload.organisation_id)
    return services.project_claim(actor=request.user, project=project, organisation=organisation, now=_now())


@router.post("/projects/{project_id}/release", response={200: ProjectOut, **ERRORS}, summary="Give it back")
def project_release(request, project_id: int):
    project = selectors.access_project(request.user, project_id)
    return services.project_release(actor=request.user, project=project, now=_now())


@router.post(
    "/projects/{project_id}/progress",
    response={200: ProjectOut, **ERRORS},
    summary="Report progress or completion (multipart: note, completed, photos)",
)
def project_progress(
    request,
    project_id: int,
    note: Form[str],
    completed: Form[bool] = False,
    photos: File[list[UploadedFile]] = None,  # type: ignore[assignment]
):
    project = selectors.access_project(request.user, project_id)
    services.project_progress(
        actor=request.user, project=project, note=note, photos=photos or [], completed=completed, now=_now()
    )
    project.refresh_from_db()
    return project


@router.post("/projects/{project_id}/confirm", response={200: ProjectOut, **ERRORS}, summary="Confirm done")
def project_confirm(request, project_id: int, payload: ConfirmIn):
    project = selectors.access_project(request.user, project_id)
    return services.project_confirm(actor=request.user, project=project, accept=payload.accept, now=_now())


@router.post("/projects/{project_id}/rate", response={201: ProjectOut, **ERRORS}, summary="Rate (residents)")
def project_rate(request, project_id: int, payload: RateIn):
    now = _now()
    project = selectors.access_public_project(request.user, project_id, today=timezone.localdate(now))
    services.project_rate(actor=request.user, project=project, stars=payload.stars, comment=payload.comment, now=now)
    project.refresh_from_db()
    return Status(201, project)


@router.post("/projects/{project_id}/points", response={200: ProjectOut, **ERRORS}, summary="Claim the points")
def project_points(request, project_id: int):
    project = selectors.access_project(request.user, project_id)
    return services.project_points_request(actor=request.user, project=project, now=_now())


# ---------------------------------------------------------------- fund


@router.get("/funds", response={200: Page[FundOut], **ERRORS}, summary="Funds in reach")
def fund_list(request, query: Query[PageQuery]):
    return paginate(selectors.funds_visible(request.user), query)


@router.post("/funds", response={200: FundOut, **ERRORS}, summary="Set a yearly budget")
def fund_set(request, payload: FundIn):
    community = selectors.access_place_for(request.user, payload.community_id, Permission.FUND_APPROVE)
    return services.fund_set_budget(
        actor=request.user, community=community, year=payload.year, budget=payload.budget, now=_now()
    )


@router.post("/funds/{fund_id}/spendings", response={201: SpendingOut, **ERRORS}, summary="Request spending")
def spending_request(request, fund_id: int, payload: SpendingIn):
    fund = selectors.access_fund(request.user, fund_id)
    project = selectors.access_project(request.user, payload.project_id) if payload.project_id else None
    spending = services.spending_request(
        actor=request.user, fund=fund, purpose=payload.purpose, amount=payload.amount, project=project, now=_now()
    )
    return Status(201, spending)


_SPENDING_ACTIONS = {
    "approve": services.spending_approve,
    "refuse": services.spending_refuse,
    "pay": services.spending_pay,
    "cancel": services.spending_cancel,
}


@router.post(
    "/spendings/{spending_id}/{action}",
    response={200: SpendingOut, **ERRORS},
    summary="Approve, refuse, pay or cancel a spending",
)
def spending_decide(request, spending_id: int, action: str):
    spending = selectors.access_spending(request.user, spending_id)
    service = _SPENDING_ACTIONS.get(action)
    if service is None:
        from gongzhi.core.errors import NotFound

        raise NotFound()
    result: Spending = service(actor=request.user, spending=spending, now=_now())
    return result


# ---------------------------------------------------------------- alliances, pairings, assessment


@router.get("/alliances/{alliance_id}/ranking", response={200: list[RankOut], **ERRORS}, summary="Ranking")
def alliance_ranking(request, alliance_id: int):
    alliance = selectors.access_alliance(request.user, alliance_id)
    return selectors.alliance_ranking(request.user, alliance)


@router.post("/commitments/{commitment_id}/mark", response={200: dict, **ERRORS}, summary="Kept or not")
def commitment_mark(request, commitment_id: int, payload: CommitmentMarkIn):
    commitment = selectors.access_commitment(request.user, commitment_id)
    marked = services.commitment_mark(
        actor=request.user,
        commitment=commitment,
        kept=payload.kept,
        decided_on=payload.decided_on,
        note=payload.note,
        now=_now(),
    )
    return {"id": marked.pk, "state": marked.state}


@router.post("/assessment/scores", response={201: dict, **ERRORS}, summary="Enter one party's score")
def score_enter(request, payload: ScoreIn):
    compound = selectors.access_place_for(request.user, payload.compound_id, Permission.ASSESSMENT_SCORE)
    company = selectors.active_organisation(payload.company_id)
    row = services.score_enter(
        actor=request.user,
        compound=compound,
        company=company,
        year=payload.year,
        quarter=payload.quarter,
        party=payload.party,
        score=payload.score,
        now=_now(),
    )
    return Status(201, {"id": row.pk, "score": str(row.score)})


@router.post("/assessment/publish", response={201: ResultOut, **ERRORS}, summary="Publish a quarter")
def quarter_publish(request, payload: PublishIn):
    compound = selectors.access_place_for(request.user, payload.compound_id, Permission.ASSESSMENT_SCORE)
    result = services.quarter_publish(
        actor=request.user, compound=compound, year=payload.year, quarter=payload.quarter, now=_now()
    )
    return Status(201, result)


@router.get("/assessment/results", response={200: Page[ResultOut], **ERRORS}, summary="Published quarters")
def results(request, query: Query[PageQuery]):
    return paginate(selectors.assessment_results(request.user).order_by("-year", "-quarter", "compound_id"), query)


# ---------------------------------------------------------------- figures and report-back


@router.get("/figures", response={200: dict, **ERRORS}, summary="Co-building figures of a place and period")
def figures(request, query: Query[FiguresQuery]):
    place = selectors.access_place_for(request.user, query.place_id, Permission.COBUILDING_MANAGE)
    return cobuilding_kpis(actor=request.user, place=place, period=Period.from_key(query.period)).as_dict()


@router.get("/organisations/{organisation_id}/report-back", response={200: dict, **ERRORS}, summary="Report-back")
def report_back(request, organisation_id: int, query: Query[ReportQuery]):
    organisation = selectors.access_organisation(request.user, organisation_id)
    figures = selectors.report_back_figures(request.user, organisation, query.year)
    reported = figures.pop("reported")
    figures["reported_at"] = reported.sent_at.isoformat() if reported else None
    return {key: str(value) if isinstance(value, Decimal) else value for key, value in figures.items()}


@router.post("/organisations/{organisation_id}/report-back", response={201: dict, **ERRORS}, summary="Send it")
def report_back_send(request, organisation_id: int, query: Query[ReportQuery]):
    organisation = selectors.access_organisation(request.user, organisation_id)
    report = services.report_back_send(actor=request.user, organisation=organisation, year=query.year, now=_now())
    return Status(201, {"id": report.pk, "year": report.year, "department": report.department})


# ---------------------------------------------------------------- more records of the network (staff)


class AgreementEndIn(Schema):
    ended_on: date


class AgreementRenewIn(Schema):
    ends_on: date
    scope: str | None = None


class AllianceOut(Schema):
    id: int
    name: str
    place_id: int
    founded_on: date
    member_count: int


class AllianceIn(Schema):
    place_id: int
    name: str = Field(..., max_length=100)
    founded_on: date
    description: str = ""
    point_item_ids: list[int] = []


class MemberIn(Schema):
    organisation_id: int
    joined_on: date


class PairingOut(Schema):
    id: int
    community_id: int
    kind: str
    partner_label: str
    started_on: date
    ended_on: date | None


class PairingIn(Schema):
    community_id: int
    kind: str
    started_on: date
    partner_organisation_id: int | None = None
    partner_place_id: int | None = None
    partner_name: str = ""


class CommitmentIn(Schema):
    year: int
    title: str = Field(..., max_length=160)


class ActivityIn(Schema):
    community_id: int
    title: str = Field(..., max_length=120)
    held_on: date
    organisation_ids: list[int]
    participants: int = 0
    description: str = ""
    alliance_id: int | None = None
    pairing_id: int | None = None
    commitment_id: int | None = None


class MeetingOut(Schema):
    id: int
    community_id: int
    kind: str
    title: str
    held_on: date
    attendance: int
    matter_count: int
    solved_count: int


class MeetingIn(Schema):
    community_id: int
    kind: str
    title: str = Field(..., max_length=120)
    held_on: date
    attendee_ids: list[int] = []
    attendance: int = 0
    matters: list[str] = []


class FollowUpIn(Schema):
    note: str = Field(..., max_length=300)
    taken_by_id: int | None = None
    solved: bool = False


class WeightsIn(Schema):
    place_id: int
    party_organisation: str
    owners_committee: str
    housing_department: str


@router.post("/agreements/{agreement_id}/end", response={200: AgreementOut, **ERRORS}, summary="End an agreement")
def agreement_end(request, agreement_id: int, payload: AgreementEndIn):
    agreement = selectors.access_agreement(request.user, agreement_id)
    return services.agreement_end(actor=request.user, agreement=agreement, ended_on=payload.ended_on, now=_now())


@router.post("/agreements/{agreement_id}/renew", response={201: AgreementOut, **ERRORS}, summary="Renew it")
def agreement_renew(request, agreement_id: int, payload: AgreementRenewIn):
    agreement = selectors.access_agreement(request.user, agreement_id)
    renewal = services.agreement_renew(
        actor=request.user, agreement=agreement, ends_on=payload.ends_on, scope=payload.scope, now=_now()
    )
    return Status(201, renewal)


@router.post("/resources/{resource_id}/withdraw", response={200: ResourceOut, **ERRORS}, summary="Withdraw")
def resource_withdraw(request, resource_id: int):
    resource = selectors.access_resource(request.user, resource_id)
    return services.resource_withdraw(actor=request.user, resource=resource, now=_now())


@router.get("/alliances", response={200: Page[AllianceOut], **ERRORS}, summary="Points alliances")
def alliance_list(request, query: Query[PageQuery]):
    return paginate(selectors.alliances_visible(request.user).order_by("name"), query)


@router.post("/alliances", response={201: AllianceOut, **ERRORS}, summary="Found a points alliance")
def alliance_create(request, payload: AllianceIn):
    place = selectors.access_place_for(request.user, payload.place_id, Permission.COBUILDING_MANAGE)
    items = [item for item in (active_item(pk) for pk in payload.point_item_ids) if item is not None]
    alliance = services.alliance_create(
        actor=request.user,
        place=place,
        name=payload.name,
        founded_on=payload.founded_on,
        description=payload.description,
        point_items=items,
        now=_now(),
    )
    return Status(201, selectors.access_alliance(request.user, alliance.pk))


@router.post("/alliances/{alliance_id}/members", response={201: AllianceOut, **ERRORS}, summary="Add a member")
def alliance_join(request, alliance_id: int, payload: MemberIn):
    alliance = selectors.access_alliance(request.user, alliance_id)
    organisation = selectors.access_organisation(request.user, payload.organisation_id)
    services.alliance_join(
        actor=request.user, alliance=alliance, organisation=organisation, joined_on=payload.joined_on, now=_now()
    )
    return Status(201, selectors.access_alliance(request.user, alliance.pk))


@router.get("/pairings", response={200: Page[PairingOut], **ERRORS}, summary="Pairings")
def pairing_list(request, query: Query[PageQuery]):
    return paginate(selectors.pairings_visible(request.user), query)


@router.post("/pairings", response={201: PairingOut, **ERRORS}, summary="Pair a community")
def pairing_create(request, payload: PairingIn):
    community = selectors.access_place_for(request.user, payload.community_id, Permission.COBUILDING_MANAGE)
    partner = (
        selectors.active_organisation(payload.partner_organisation_id) if payload.partner_organisation_id else None
    )
    partner_place = selectors.partner_community(payload.partner_place_id) if payload.partner_place_id else None
    pairing = services.pairing_create(
        actor=request.user,
        community=community,
        kind=payload.kind,
        started_on=payload.started_on,
        partner_organisation=partner,
        partner_place=partner_place,
        partner_name=payload.partner_name,
        now=_now(),
    )
    return Status(201, pairing)


@router.post("/pairings/{pairing_id}/commitments", response={201: dict, **ERRORS}, summary="Add a commitment")
def commitment_add(request, pairing_id: int, payload: CommitmentIn):
    pairing = selectors.access_pairing(request.user, pairing_id)
    commitment = services.commitment_add(
        actor=request.user, pairing=pairing, year=payload.year, title=payload.title, now=_now()
    )
    return Status(201, {"id": commitment.pk, "state": commitment.state})


@router.post("/activities", response={201: dict, **ERRORS}, summary="Record a co-building activity")
def activity_record(request, payload: ActivityIn):
    user = request.user
    community = selectors.access_place_for(user, payload.community_id, Permission.COBUILDING_MANAGE)
    activity = services.activity_record(
        actor=user,
        community=community,
        title=payload.title,
        held_on=payload.held_on,
        organisations=[selectors.access_organisation(user, pk) for pk in payload.organisation_ids],
        participants=payload.participants,
        description=payload.description,
        alliance=selectors.access_alliance(user, payload.alliance_id) if payload.alliance_id else None,
        pairing=selectors.access_pairing(user, payload.pairing_id) if payload.pairing_id else None,
        commitment=selectors.access_commitment(user, payload.commitment_id) if payload.commitment_id else None,
        now=_now(),
    )
    return Status(201, {"id": activity.pk})


@router.get("/meetings", response={200: Page[MeetingOut], **ERRORS}, summary="Joint meetings and forums")
def meeting_list(request, query: Query[PageQuery]):
    return paginate(selectors.meetings_visible(request.user), query)


@router.post("/meetings", response={201: MeetingOut, **ERRORS}, summary="Record a meeting with its matters")
def meeting_record(request, payload: MeetingIn):
    user = request.user
    community = selectors.access_place_for(user, payload.community_id, Permission.COBUILDING_MANAGE)
    meeting = services.meeting_record(
        actor=user,
        community=community,
        kind=payload.kind,
        title=payload.title,
        held_on=payload.held_on,
        attendees=[selectors.access_organisation(user, pk) for pk in payload.attendee_ids],
        attendance=payload.attendance,
        matters=payload.matters,
        now=_now(),
    )
    return Status(201, selectors.access_meeting(user, meeting.pk))


@router.post("/matters/{matter_id}/follow-up", response={200: dict, **ERRORS}, summary="Follow up a matter")
def matter_follow_up(request, matter_id: int, payload: FollowUpIn):
    matter = selectors.access_matter(request.user, matter_id)
    taken_by = selectors.access_organisation(request.user, payload.taken_by_id) if payload.taken_by_id else None
    followed = services.matter_follow_up(
        actor=request.user, matter=matter, note=payload.note, taken_by=taken_by, solved=payload.solved, now=_now()
    )
    return {"id": followed.pk, "state": followed.state, "solved_on": followed.solved_on}


@router.post("/assessment/weights", response={200: dict, **ERRORS}, summary="Set the three parties' weights")
def weights_set(request, payload: WeightsIn):
    place = selectors.access_place_for(request.user, payload.place_id, Permission.ASSESSMENT_SCORE)
    weights = services.weights_set(
        actor=request.user,
        place=place,
        party_organisation=payload.party_organisation,
        owners_committee=payload.owners_committee,
        housing_department=payload.housing_department,
        now=_now(),
    )
    return {
        "place_id": place.pk,
        "party_organisation": str(weights.party_organisation),
        "owners_committee": str(weights.owners_committee),
        "housing_department": str(weights.housing_department),
    }
