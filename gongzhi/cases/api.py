"""The cases domain in the API (mounted at /api/v1/cases/).

Thin endpoints: parse → fetch with an access check → one service call → the case as JSON. Errors come back in
the project's one shape (``gongzhi/api.py``): a handler acting on a case not at their place gets 404, a move the
state machine forbids 409 ``invalid_transition``, a rating by anyone but the resident 403 ``not_reporter``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.masking import mask_name, mask_phone
from gongzhi.people.models import Organisation, Resident
from gongzhi.people.selectors import access_resident
from gongzhi.places.models import Place
from gongzhi.places.selectors import access_place

from . import services
from .hotline import hotline_import
from .models import Case, CaseChannel, CaseLevel, CaseState, Satisfaction
from .selectors import (
    QueueFilters,
    access_case,
    access_category,
    access_summons,
    can_handle,
    case_queryset,
    case_summonses,
    case_trail,
    category_list,
    handler_queue,
    inbox,
    intake_place,
    my_cases,
    possible_duplicates,
)
from .trail import trail_lines

router = Router(tags=["cases"])


# ---------------------------------------------------------------- schemas


class CategoryOut(Schema):
    id: int
    code: str
    name: str
    description: str


class CaseOut(Schema):
    id: int
    number: str
    category_id: int
    category_name: str
    text: str
    place_id: int
    place_name: str
    location_text: str
    channel: str
    state: str
    state_label: str
    level: str
    level_label: str
    handling_place_id: int
    handling_place_name: str
    handling_department_name: str | None
    reporter: str
    is_anonymous: bool
    contact_phone: str
    accept_by: datetime | None
    resolve_by: datetime | None
    is_overdue: bool
    reopen_count: int
    escalation_count: int
    satisfaction: str
    resolution: str
    reject_reason: str
    duplicate_of_id: int | None
    submitted_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None


class TrailLine(Schema):
    occurred_at: datetime
    kind: str
    level: str
    text: str
    actor: str | None = None


class SummonsOut(Schema):
    id: int
    department_id: int
    department_name: str
    note: str
    respond_by: datetime
    state: str
    is_overdue: bool
    response: str
    responded_at: datetime | None


class CaseDetailOut(CaseOut):
    trail: list[TrailLine]
    summonses: list[SummonsOut]
    actions: list[str]


class CasePage(Schema):
    count: int
    page: int
    page_size: int
    results: list[CaseOut]


class SubmitOut(Schema):
    case: CaseDetailOut
    possible_duplicates: list[CaseOut]


class CaseIn(Schema):
    category_id: int
    text: str = Field(..., max_length=2000)
    place_id: int | None = None
    location_text: str = Field("", max_length=255)
    anonymous: bool = False
    channel: str | None = Field(None, description="resident_app (default for residents), visit, hotline or staff")
    reporter_resident_id: int | None = None
    contact_name: str = Field("", max_length=50)
    contact_phone: str = Field("", max_length=20)


class NoteIn(Schema):
    note: str = Field("", max_length=500)


class ResolveIn(Schema):
    resolution: str = Field(..., max_length=2000)


class ReasonIn(Schema):
    reason: str = Field(..., max_length=500)


class OptionalReasonIn(Schema):
    reason: str = Field("", max_length=500)


class ReferIn(Schema):
    reason: str = Field(..., max_length=500)
    to_place_id: int | None = None
    to_department_id: int | None = None


class SummonIn(Schema):
    department_id: int
    note: str = Field(..., max_length=2000)
    respond_within_hours: int = Field(services.SUMMONS_DEFAULT_HOURS, ge=1, le=400)


class SummonsRespondIn(Schema):
    response: str = Field(..., max_length=2000)


class RateIn(Schema):
    rating: str = Field(..., description="satisfied, basically_satisfied or unsatisfied")
    comment: str = Field("", max_length=500)


class MergeIn(Schema):
    into_id: int
    note: str = Field("", max_length=500)


class QueueQuery(Schema):
    state: list[str] = Field(default_factory=list)
    level: str | None = None
    category: int | None = None
    overdue: bool | None = None
    place: int | None = None
    search: str = Field("", max_length=50)
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=200)


class PageQuery(Schema):
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=200)


class NotificationOut(Schema):
    id: int
    case_id: int | None
    kind: str
    text: str
    created_at: datetime
    read_at: datetime | None


class NotificationPage(Schema):
    count: int
    unread: int
    results: list[NotificationOut]


class ReadIn(Schema):
    ids: list[int] | None = None


class ReadOut(Schema):
    marked: int


class ImportErrorOut(Schema):
    row: int
    column: str
    message: str


class ImportOut(Schema):
    ok: bool
    rows: int
    created: int
    unchanged: int
    errors: list[ImportErrorOut]
    case_ids: list[int]


# ---------------------------------------------------------------- output


def _reporter_label(case: Case, viewer: Any) -> str:
    if case.reporter_account_id and case.reporter_account_id == getattr(viewer, "pk", None):
        return _("you")
    if case.is_anonymous:
        return _("anonymous")
    if case.reporter_resident_id:
        return mask_name(case.reporter_resident.name)
    if case.contact_name:
        return mask_name(case.contact_name)
    return ""


def case_out(case: Case, viewer: Any) -> dict:
    hidden = case.is_anonymous and case.reporter_account_id != getattr(viewer, "pk", None)
    return {
        "id": case.pk,
        "number": case.number,
        "category_id": case.category_id,
        "category_name": case.category.name,
        "text": case.text,
        "place_id": case.place_id,
        "place_name": case.place.name,
        "location_text": case.location_text,
        "channel": case.channel,
        "state": case.state,
        "state_label": str(CaseState(case.state).label),
        "level": case.level,
        "level_label": str(CaseLevel(case.level).label),
        "handling_place_id": case.handling_place_id,
        "handling_place_name": case.handling_place.name,
        "handling_department_name": case.handling_department.name if case.handling_department_id else None,
        "reporter": _reporter_label(case, viewer),
        "is_anonymous": case.is_anonymous,
        "contact_phone": "" if hidden else mask_phone(case.contact_phone) if case.contact_phone else "",
        "accept_by": case.accept_by,
        "resolve_by": case.resolve_by,
        "is_overdue": case.is_overdue,
        "reopen_count": case.reopen_count,
        "escalation_count": case.escalation_count,
        "satisfaction": case.satisfaction,
        "resolution": case.resolution,
        "reject_reason": case.reject_reason,
        "duplicate_of_id": case.duplicate_of_id,
        "submitted_at": case.submitted_at,
        "resolved_at": case.resolved_at,
        "closed_at": case.closed_at,
    }


def case_detail_out(case: Case, viewer: Any) -> dict:
    staff = can_handle(viewer, case) or case.reporter_account_id != getattr(viewer, "pk", None)
    data = case_out(case, viewer)
    data["trail"] = trail_lines(
        case_trail(case),
        with_actor=staff,
        hidden_actor_id=case.reporter_account_id if case.is_anonymous else None,
    )
    data["summonses"] = [
        {
            "id": summons.pk,
            "department_id": summons.department_id,
            "department_name": summons.department.name,
            "note": summons.note,
            "respond_by": summons.respond_by,
            "state": summons.state,
            "is_overdue": summons.is_overdue,
            "response": summons.response,
            "responded_at": summons.responded_at,
        }
        for summons in case_summonses(case)
    ]
    data["actions"] = services.allowed_actions(viewer, case)
    return data


def _reload(request, case: Case) -> dict:
    return case_detail_out(access_case(request.user, case.pk), request.user)


def _page(queryset, page: int, page_size: int, viewer: Any) -> dict:
    start = (page - 1) * page_size
    return {
        "count": queryset.count(),
        "page": page,
        "page_size": page_size,
        "results": [case_out(case, viewer) for case in queryset[start : start + page_size]],
    }


# ---------------------------------------------------------------- reading


@router.get("/categories", response=list[CategoryOut], summary="Request categories a case can be filed under")
def categories(request):
    return list(category_list())


@router.get("/mine", response=CasePage, summary="The requests I raised (resident)")
def mine(request, query: Query[PageQuery]):
    return _page(my_cases(request.user), query.page, query.page_size, request.user)


@router.get("/queue", response=CasePage, summary="Requests waiting at my places and departments (handler)")
def queue(request, query: Query[QueueQuery]):
    for state in query.state:
        if state not in CaseState.values:
            raise ValidationFailed(fields={"state": _("Unknown state.")})
    if query.level and query.level not in CaseLevel.values:
        raise ValidationFailed(fields={"level": _("Unknown level.")})
    place = access_place(request.user, query.place) if query.place is not None else None
    filters = QueueFilters(
        states=tuple(query.state) or QueueFilters().states,
        level=query.level,
        category_id=query.category,
        overdue=query.overdue,
        place=place,
        search=query.search,
    )
    return _page(handler_queue(request.user, filters), query.page, query.page_size, request.user)


@router.get("/notifications", response=NotificationPage, summary="My inbox")
def notifications(request, unread: bool = False):
    queryset = inbox(request.user, unread_only=unread)
    return {
        "count": queryset.count(),
        "unread": inbox(request.user, unread_only=True).count(),
        "results": list(queryset[:100]),
    }


@router.post("/notifications/read", response=ReadOut, summary="Mark my notifications read (all when no ids)")
def notifications_read(request, payload: ReadIn):
    return {"marked": services.notification_mark_read(actor=request.user, notification_ids=payload.ids)}


@router.get("/{int:case_id}", response=CaseDetailOut, summary="One request with its trail in plain words")
def case_detail(request, case_id: int):
    return case_detail_out(access_case(request.user, case_id), request.user)


@router.get("/{int:case_id}/duplicates", response=list[CaseOut], summary="Recent requests that may be the same matter")
def case_duplicates(request, case_id: int):
    case = access_case(request.user, case_id)
    found = possible_duplicates(request.user, category=case.category, place=case.place, exclude=case)
    return [case_out(item, request.user) for item in found]


# ---------------------------------------------------------------- intake


def _reporter_resident(request, resident_id: int | None) -> Resident | None:
    return access_resident(request.user, resident_id) if resident_id is not None else None


@router.post("", response={201: SubmitOut}, summary="Raise a request (resident) or record one (staff)")
def case_submit(request, payload: CaseIn):
    category = access_category(payload.category_id)
    place = intake_place(request.user, payload.place_id) if payload.place_id is not None else None
    channel = payload.channel or CaseChannel.RESIDENT_APP
    if channel not in CaseChannel.values:
        raise ValidationFailed(fields={"channel": _("Unknown channel.")})
    case = services.case_submit(
        actor=request.user,
        category=category,
        text=payload.text,
        place=place,
        location_text=payload.location_text,
        channel=channel,
        anonymous=payload.anonymous,
        reporter_resident=_reporter_resident(request, payload.reporter_resident_id),
        contact_name=payload.contact_name,
        contact_phone=payload.contact_phone,
    )
    duplicates = possible_duplicates(request.user, category=case.category, place=case.place, exclude=case)
    return Status(
        201,
        {
            "case": _reload(request, case),
            "possible_duplicates": [case_out(item, request.user) for item in duplicates],
        },
    )


@router.post("/import", response={200: ImportOut}, summary="Import the 12345 hotline's work orders (.xlsx)")
def hotline_import_endpoint(request, place_id: Form[int], file: File[UploadedFile]):
    place = access_place(request.user, place_id)
    report = hotline_import(actor=request.user, place=place, file_obj=file, filename=file.name)
    return {
        "ok": report.ok,
        "rows": report.rows,
        "created": report.created,
        "unchanged": report.unchanged,
        "errors": [{"row": error.row, "column": error.column, "message": error.message} for error in report.errors],
        "case_ids": report.case_ids,
    }


# ---------------------------------------------------------------- transitions


@router.post("/{int:case_id}/accept", response=CaseDetailOut, summary="Accept the request (handler)")
def accept(request, case_id: int, payload: NoteIn):
    case = services.case_accept(actor=request.user, case=access_case(request.user, case_id), note=payload.note)
    return _reload(request, case)


@router.post("/{int:case_id}/start", response=CaseDetailOut, summary="Start work on the request (handler)")
def start(request, case_id: int, payload: NoteIn):
    case = services.case_start(actor=request.user, case=access_case(request.user, case_id), note=payload.note)
    return _reload(request, case)


@router.post("/{int:case_id}/resolve", response=CaseDetailOut, summary="Record what was done (handler)")
def resolve(request, case_id: int, payload: ResolveIn):
    case = services.case_resolve(
        actor=request.user, case=access_case(request.user, case_id), resolution=payload.resolution
    )
    return _reload(request, case)


def _organisation(organisation_id: int | None) -> Organisation | None:
    if organisation_id is None:
        return None
    organisation = Organisation.objects.filter(pk=organisation_id, is_active=True).first()
    if organisation is None:
        raise NotFound()
    return organisation


@router.post("/{int:case_id}/refer", response=CaseDetailOut, summary="Refer across to another place or a department")
def refer(request, case_id: int, payload: ReferIn):
    case = access_case(request.user, case_id)
    to_place = None
    if payload.to_place_id is not None:
        # Referring across may go outside the handler's own reach (a neighbouring community): any active place.
        to_place = Place.objects.filter(pk=payload.to_place_id, is_active=True).first()
        if to_place is None:
            raise NotFound()
    case = services.case_refer(
        actor=request.user,
        case=case,
        reason=payload.reason,
        to_place=to_place,
        to_department=_organisation(payload.to_department_id),
    )
    return _reload(request, case)


@router.post("/{int:case_id}/escalate", response=CaseDetailOut, summary="Pass the request up one level, with a reason")
def escalate(request, case_id: int, payload: ReasonIn):
    case = services.case_escalate(actor=request.user, case=access_case(request.user, case_id), reason=payload.reason)
    return _reload(request, case)


@router.post("/{int:case_id}/summon", response=CaseDetailOut, summary="Summon a department (吹哨报到)")
def summon(request, case_id: int, payload: SummonIn):
    case = access_case(request.user, case_id)
    department = _organisation(payload.department_id)
    services.case_summon(
        actor=request.user,
        case=case,
        department=department,
        note=payload.note,
        respond_within_hours=payload.respond_within_hours,
    )
    return _reload(request, case)


@router.post("/summons/{int:summons_id}/respond", response=CaseDetailOut, summary="Answer a summons (department)")
def summons_respond(request, summons_id: int, payload: SummonsRespondIn):
    summons = services.summons_respond(
        actor=request.user, summons=access_summons(request.user, summons_id), response=payload.response
    )
    return case_detail_out(access_case(request.user, summons.case_id), request.user)


@router.post("/{int:case_id}/rate", response=CaseDetailOut, summary="Rate the result (the resident who raised it)")
def rate(request, case_id: int, payload: RateIn):
    if payload.rating not in Satisfaction.values:
        raise ValidationFailed(fields={"rating": _("Choose satisfied, basically satisfied or unsatisfied.")})
    case = services.case_rate(
        actor=request.user, case=access_case(request.user, case_id), rating=payload.rating, comment=payload.comment
    )
    return _reload(request, case)


@router.post("/{int:case_id}/close", response=CaseDetailOut, summary="Close a resolved request that was not rated")
def close(request, case_id: int, payload: NoteIn):
    case = services.case_close(actor=request.user, case=access_case(request.user, case_id), note=payload.note)
    return _reload(request, case)


@router.post("/{int:case_id}/reject", response=CaseDetailOut, summary="Reject the request, with a reason")
def reject(request, case_id: int, payload: ReasonIn):
    case = services.case_reject(actor=request.user, case=access_case(request.user, case_id), reason=payload.reason)
    return _reload(request, case)


@router.post("/{int:case_id}/withdraw", response=CaseDetailOut, summary="Withdraw my request (the resident)")
def withdraw(request, case_id: int, payload: OptionalReasonIn):
    case = services.case_withdraw(actor=request.user, case=access_case(request.user, case_id), reason=payload.reason)
    return _reload(request, case)


@router.post(
    "/{int:case_id}/merge", response=CaseDetailOut, summary="Merge this request into another about the same matter"
)
def merge(request, case_id: int, payload: MergeIn):
    case = access_case(request.user, case_id)
    into = case_queryset(request.user).filter(pk=payload.into_id).first()
    if into is None:
        raise NotFound()
    case = services.case_merge(actor=request.user, case=case, into=into, note=payload.note)
    return _reload(request, case)


# ================================================================ visits, disputes, agent services, figures
# (issue 5 items 5–8 and 11). Thin endpoints over visits.py, disputes.py, agents.py, kpis.py and performance.py.

from datetime import date as _date  # noqa: E402

from django.utils import timezone as _timezone  # noqa: E402

from gongzhi.core.access import reach as _reach  # noqa: E402
from gongzhi.core.figures import Period  # noqa: E402
from gongzhi.core.roles import Permission as _Permission  # noqa: E402
from gongzhi.core.tree import subtree_q as _subtree_q  # noqa: E402
from gongzhi.people.models import Account  # noqa: E402

from . import agents as _agents  # noqa: E402
from . import disputes as _disputes  # noqa: E402
from . import kpis as _kpis  # noqa: E402
from . import performance as _performance  # noqa: E402
from . import visits as _visits  # noqa: E402
from .models import (  # noqa: E402
    AgentService,
    AgentServiceState,
    Dispute,
    DisputeState,
    HouseholdVisit,
    VisitOutcome,
)


def _period(key: str | None) -> Period:
    """A period from its key ("2026-W10", "2026-03", "2026-Q1", "2026", "2026-03-01..2026-03-31"); this month by
    default."""
    if not key:
        today = _timezone.localdate()
        return Period.month(today.year, today.month)
    return Period.from_key(key)


def _active_place(place_id: Any) -> Place:
    try:
        place = Place.objects.filter(pk=int(place_id), is_active=True).first()
    except (TypeError, ValueError):
        place = None
    if place is None:
        raise NotFound()
    return place


def _account(account_id: int | None, field: str) -> Account | None:
    if account_id is None:
        return None
    account = Account.objects.filter(pk=account_id, is_active=True).first()
    if account is None:
        raise ValidationFailed(fields={field: _("No such person.")})
    return account


def _simple_page(queryset, page: int, page_size: int, render) -> dict:
    start = (page - 1) * page_size
    return {
        "count": queryset.count(),
        "page": page,
        "page_size": page_size,
        "results": [render(item) for item in queryset[start : start + page_size]],
    }


class RateOut(Schema):
    numerator: int
    denominator: int
    percent: float | None = Field(None, description="Rounded half-up to one decimal place; null when nothing to rate")


class PeriodOut(Schema):
    kind: str
    key: str
    first: _date
    last: _date


class FiguresQuery(Schema):
    place_id: int
    period: str | None = Field(None, description="2026-W10, 2026-03, 2026-Q1, 2026 or 2026-03-01..2026-03-31")


# ---------------------------------------------------------------- visits


class VisitIn(Schema):
    household_id: int
    visited_on: _date
    findings: str = Field("", max_length=2000)
    opinion: str = Field("", max_length=2000)
    handled_on_spot: bool = False
    create_case: bool = False
    category_id: int | None = None
    reporter_resident_id: int | None = None


class VisitOut(Schema):
    id: int
    household_id: int
    household_name: str
    visitor: str
    visited_on: _date
    findings: str
    opinion: str
    outcome: str
    outcome_label: str
    case_id: int | None
    settled_at: datetime | None
    settlement_note: str


class VisitPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[VisitOut]


class VisitListQuery(PageQuery):
    outcome: str | None = None
    place_id: int | None = None


class VisitHandleIn(Schema):
    note: str = Field(..., max_length=2000)


class VisitToCaseIn(Schema):
    category_id: int
    note: str = Field("", max_length=500)
    reporter_resident_id: int | None = None


class VisitSummaryOut(Schema):
    visitor_id: int
    visitor: str
    period: PeriodOut
    visits: int
    households: int
    opinions: int
    handled: int
    handled_on_spot: int
    handled_later: int
    passed_up: int
    pending: int


def visit_out(visit: HouseholdVisit) -> dict:
    return {
        "id": visit.pk,
        "household_id": visit.household_id,
        "household_name": visit.household.name,
        "visitor": visit.visitor.label,
        "visited_on": visit.visited_on,
        "findings": visit.findings,
        "opinion": visit.opinion,
        "outcome": visit.outcome,
        "outcome_label": str(VisitOutcome(visit.outcome).label),
        "case_id": visit.became_case_id,
        "settled_at": visit.settled_at,
        "settlement_note": visit.settlement_note,
    }


def _visit_reload(request, visit: HouseholdVisit) -> dict:
    return visit_out(_visits.access_visit(request.user, visit.pk))


@router.get("/visits", response=VisitPage, summary="Household visits I logged or that lie in my reach")
def visit_list(request, query: Query[VisitListQuery]):
    queryset = _visits.visit_queryset(request.user).select_related("household", "visitor")
    if query.outcome:
        queryset = queryset.filter(outcome=query.outcome)
    if query.place_id:
        queryset = queryset.filter(_subtree_q(_active_place(query.place_id).path, "household__path"))
    queryset = queryset.order_by("-visited_on", "-id")
    return _simple_page(queryset, query.page, query.page_size, visit_out)


@router.post("/visits", response={201: VisitOut}, summary="Log a household visit (an opinion may become a case)")
def visit_create(request, payload: VisitIn):
    household = Place.objects.filter(pk=payload.household_id).first()
    category = access_category(payload.category_id) if payload.category_id else None
    resident = _reporter_resident(request, payload.reporter_resident_id)
    visit = services.visit_log(
        actor=request.user,
        household=household,
        visited_on=payload.visited_on,
        findings=payload.findings,
        opinion=payload.opinion,
        handled_on_spot=payload.handled_on_spot,
        create_case=payload.create_case,
        category=category,
        reporter_resident=resident,
    )
    return Status(201, _visit_reload(request, visit))


@router.get("/visits/summary", response=VisitSummaryOut, summary="My visit summary for a week (default: this week)")
def visit_my_summary(request, period: str | None = None):
    chosen = Period.from_key(period) if period else Period.week(_timezone.localdate())
    return _visits.my_visit_summary(request.user, chosen).as_dict()


@router.get(
    "/visits/summaries", response=list[VisitSummaryOut], summary="Each visitor's summary under a place for a period"
)
def visit_summaries(request, query: Query[FiguresQuery]):
    place = _active_place(query.place_id)
    user = request.user
    if not (_reach(user, _Permission.CASE_VIEW).covers(place.path)):
        raise NotFound()
    chosen = Period.from_key(query.period) if query.period else Period.week(_timezone.localdate())
    return [summary.as_dict() for summary in _visits.visit_summaries(period=chosen, place=place)]


@router.get("/visits/{int:visit_id}", response=VisitOut, summary="One household visit")
def visit_detail(request, visit_id: int):
    return visit_out(_visits.access_visit(request.user, visit_id))


@router.post("/visits/{int:visit_id}/handle", response=VisitOut, summary="The pending opinion was handled later")
def visit_handle(request, visit_id: int, payload: VisitHandleIn):
    visit = _visits.visit_opinion_handle(
        actor=request.user, visit=_visits.access_visit(request.user, visit_id), note=payload.note
    )
    return _visit_reload(request, visit)


@router.post("/visits/{int:visit_id}/to-case", response=VisitOut, summary="Pass the pending opinion up as a case")
def visit_to_case(request, visit_id: int, payload: VisitToCaseIn):
    visit = _visits.visit_opinion_to_case(
        actor=request.user,
        visit=_visits.access_visit(request.user, visit_id),
        category=access_category(payload.category_id),
        note=payload.note,
        reporter_resident=_reporter_resident(request, payload.reporter_resident_id),
    )
    return _visit_reload(request, visit)


# ---------------------------------------------------------------- disputes


class PartyInSchema(Schema):
    side: str = Field(..., description="applicant, respondent or other")
    resident_id: int | None = None
    organisation_id: int | None = None
    name: str = Field("", max_length=100)
    phone: str = Field("", max_length=20)


class DisputeIn(Schema):
    place_id: int
    kind: str
    description: str = Field(..., max_length=2000)
    found_on: _date
    parties: list[PartyInSchema]
    mediator_id: int | None = None
    source_case_id: int | None = None


class PartyOut(Schema):
    id: int
    side: str
    kind: str
    name: str
    phone: str


class SessionOut(Schema):
    id: int
    held_at: datetime
    mediator: str
    notes: str


class DisputeOut(Schema):
    id: int
    kind: str
    kind_label: str
    place_id: int
    place_name: str
    description: str
    found_on: _date
    state: str
    state_label: str
    mediator_id: int | None
    mediator: str
    agreement_text: str
    referred_to: str
    outcome_note: str
    closed_at: datetime | None


class DisputeDetailOut(DisputeOut):
    parties: list[PartyOut]
    sessions: list[SessionOut]


class DisputePage(Schema):
    count: int
    page: int
    page_size: int
    results: list[DisputeOut]


class DisputeListQuery(PageQuery):
    state: str | None = None
    place_id: int | None = None


class MediatorIn(Schema):
    mediator_id: int


class SessionIn(Schema):
    held_at: datetime
    notes: str = Field(..., max_length=2000)


class AgreementIn(Schema):
    agreement: str = Field(..., max_length=2000)


class DisputeReferIn(Schema):
    reason: str = Field(..., max_length=500)
    to: str = Field("", max_length=150)
    to_organisation_id: int | None = None


def dispute_out(dispute: Dispute) -> dict:
    return {
        "id": dispute.pk,
        "kind": dispute.kind,
        "kind_label": str(dispute.get_kind_display()),
        "place_id": dispute.place_id,
        "place_name": dispute.place.name,
        "description": dispute.description,
        "found_on": dispute.found_on,
        "state": dispute.state,
        "state_label": str(DisputeState(dispute.state).label),
        "mediator_id": dispute.mediator_id,
        "mediator": dispute.mediator.label if dispute.mediator_id else "",
        "agreement_text": dispute.agreement_text,
        "referred_to": dispute.referred_to,
        "outcome_note": dispute.outcome_note,
        "closed_at": dispute.closed_at,
    }


def _party_out(party) -> dict:
    if party.organisation_id:
        kind, name = "organisation", party.organisation.name
    elif party.resident_id:
        kind, name = "resident", mask_name(party.resident.name)
    else:
        kind, name = "person", mask_name(party.name)
    return {"id": party.pk, "side": party.side, "kind": kind, "name": name, "phone": mask_phone(party.phone)}


def dispute_detail_out(dispute: Dispute) -> dict:
    data = dispute_out(dispute)
    data["parties"] = [_party_out(party) for party in _disputes.dispute_parties(dispute)]
    data["sessions"] = [
        {"id": item.pk, "held_at": item.held_at, "mediator": item.mediator.label, "notes": item.notes}
        for item in _disputes.dispute_sessions(dispute)
    ]
    return data


def _dispute_reload(request, dispute: Dispute) -> dict:
    return dispute_detail_out(_disputes.access_dispute(request.user, dispute.pk))


def _organisation_or_404(organisation_id: int | None) -> Organisation | None:
    if organisation_id is None:
        return None
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is None:
        raise NotFound()
    return organisation


@router.get("/disputes", response=DisputePage, summary="Disputes in my reach")
def dispute_list(request, query: Query[DisputeListQuery]):
    queryset = _disputes.dispute_queryset(request.user).select_related("place", "mediator")
    if query.state:
        queryset = queryset.filter(state=query.state)
    if query.place_id:
        queryset = queryset.filter(_subtree_q(_active_place(query.place_id).path, "place__path"))
    queryset = queryset.order_by("-found_on", "-id")
    return _simple_page(queryset, query.page, query.page_size, dispute_out)


@router.post("/disputes", response={201: DisputeDetailOut}, summary="Register a dispute with its parties")
def dispute_create(request, payload: DisputeIn):
    parties = []
    for party in payload.parties:
        resident = None
        if party.resident_id is not None:
            resident = Resident.objects.select_related("household").filter(pk=party.resident_id).first()
            if resident is None:
                raise NotFound()
        parties.append(
            _disputes.PartyIn(
                side=party.side,
                resident=resident,
                organisation=_organisation_or_404(party.organisation_id),
                name=party.name,
                phone=party.phone,
            )
        )
    source_case = access_case(request.user, payload.source_case_id) if payload.source_case_id else None
    dispute = _disputes.dispute_register(
        actor=request.user,
        place=Place.objects.filter(pk=payload.place_id).first(),
        kind=payload.kind,
        description=payload.description,
        found_on=payload.found_on,
        parties=parties,
        mediator=_account(payload.mediator_id, "mediator"),
        source_case=source_case,
    )
    return Status(201, _dispute_reload(request, dispute))


@router.get("/disputes/{int:dispute_id}", response=DisputeDetailOut, summary="One dispute with parties and sessions")
def dispute_detail(request, dispute_id: int):
    return dispute_detail_out(_disputes.access_dispute(request.user, dispute_id))


@router.post("/disputes/{int:dispute_id}/mediator", response=DisputeDetailOut, summary="Assign the mediator")
def dispute_mediator(request, dispute_id: int, payload: MediatorIn):
    dispute = _disputes.dispute_assign_mediator(
        actor=request.user,
        dispute=_disputes.access_dispute(request.user, dispute_id),
        mediator=_account(payload.mediator_id, "mediator"),
    )
    return _dispute_reload(request, dispute)


@router.post("/disputes/{int:dispute_id}/sessions", response=DisputeDetailOut, summary="Record a mediation session")
def dispute_session(request, dispute_id: int, payload: SessionIn):
    dispute = _disputes.access_dispute(request.user, dispute_id)
    _disputes.dispute_session_add(actor=request.user, dispute=dispute, held_at=payload.held_at, notes=payload.notes)
    return _dispute_reload(request, dispute)


@router.post("/disputes/{int:dispute_id}/resolve", response=DisputeDetailOut, summary="The parties reached agreement")
def dispute_resolve(request, dispute_id: int, payload: AgreementIn):
    dispute = _disputes.dispute_resolve(
        actor=request.user, dispute=_disputes.access_dispute(request.user, dispute_id), agreement=payload.agreement
    )
    return _dispute_reload(request, dispute)


@router.post("/disputes/{int:dispute_id}/refer", response=DisputeDetailOut, summary="Refer the dispute onward")
def dispute_refer(request, dispute_id: int, payload: DisputeReferIn):
    dispute = _disputes.dispute_refer(
        actor=request.user,
        dispute=_disputes.access_dispute(request.user, dispute_id),
        reason=payload.reason,
        to=payload.to,
        to_organisation=_organisation_or_404(payload.to_organisation_id),
    )
    return _dispute_reload(request, dispute)


@router.post(
    "/disputes/{int:dispute_id}/close-unresolved", response=DisputeDetailOut, summary="End mediation unresolved"
)
def dispute_close_unresolved(request, dispute_id: int, payload: ReasonIn):
    dispute = _disputes.dispute_close_unresolved(
        actor=request.user, dispute=_disputes.access_dispute(request.user, dispute_id), reason=payload.reason
    )
    return _dispute_reload(request, dispute)


# ---------------------------------------------------------------- agent services


class AgentServiceIn(Schema):
    resident_id: int
    kind: str
    title: str = Field(..., max_length=150)
    agent_id: int | None = None
    steps: list[str] | None = Field(None, description="Step titles; the usual steps for the kind when omitted")
    note: str = Field("", max_length=2000)
    due_by: datetime | None = None


class StepOut(Schema):
    position: int
    title: str
    done_at: datetime | None
    done_by: str
    note: str


class AgentServiceOut(Schema):
    id: int
    kind: str
    kind_label: str
    title: str
    resident: str
    place_id: int
    agent_id: int
    agent: str
    state: str
    state_label: str
    note: str
    received_at: datetime
    due_by: datetime | None
    completed_at: datetime | None


class AgentServiceDetailOut(AgentServiceOut):
    steps: list[StepOut]


class AgentServicePage(Schema):
    count: int
    page: int
    page_size: int
    results: list[AgentServiceOut]


class AgentServiceListQuery(PageQuery):
    state: str | None = None
    mine: bool = False


class StepIn(Schema):
    title: str = Field(..., max_length=150)


class AgentCountOut(Schema):
    agent_id: int
    agent: str
    received: int
    completed: int
    open: int


def agent_service_out(service: AgentService) -> dict:
    return {
        "id": service.pk,
        "kind": service.kind,
        "kind_label": str(service.get_kind_display()),
        "title": service.title,
        "resident": mask_name(service.resident.name),
        "place_id": service.place_id,
        "agent_id": service.agent_id,
        "agent": service.agent.label,
        "state": service.state,
        "state_label": str(AgentServiceState(service.state).label),
        "note": service.note,
        "received_at": service.received_at,
        "due_by": service.due_by,
        "completed_at": service.completed_at,
    }


def agent_service_detail_out(service: AgentService) -> dict:
    data = agent_service_out(service)
    data["steps"] = [
        {
            "position": step.position,
            "title": step.title,
            "done_at": step.done_at,
            "done_by": step.done_by.label if step.done_by_id else "",
            "note": step.note,
        }
        for step in _agents.agent_service_steps(service)
    ]
    return data


def _agent_service_reload(request, service: AgentService) -> dict:
    return agent_service_detail_out(_agents.access_agent_service(request.user, service.pk))


@router.get("/agent-services", response=AgentServicePage, summary="Agent service matters in my reach")
def agent_service_list(request, query: Query[AgentServiceListQuery]):
    queryset = _agents.agent_service_queryset(request.user).select_related("resident", "agent")
    if query.state:
        queryset = queryset.filter(state=query.state)
    if query.mine:
        queryset = queryset.filter(agent_id=request.user.pk)
    queryset = queryset.order_by("-received_at", "-id")
    return _simple_page(queryset, query.page, query.page_size, agent_service_out)


@router.get("/agent-services/counts", response=list[AgentCountOut], summary="Matters per agent for a place and period")
def agent_service_counts(request, query: Query[FiguresQuery]):
    place = _active_place(query.place_id)
    if not _reach(request.user, _Permission.AGENT_SERVICE).covers(place.path):
        _kpis.require_figures_reach(request.user, place)
    return _kpis.agent_counts(place, _period(query.period))


@router.post("/agent-services", response={201: AgentServiceDetailOut}, summary="Take on a matter for a resident")
def agent_service_create(request, payload: AgentServiceIn):
    resident = Resident.objects.select_related("household").filter(pk=payload.resident_id).first()
    if resident is None:
        raise NotFound()
    service = _agents.agent_service_open(
        actor=request.user,
        resident=resident,
        kind=payload.kind,
        title=payload.title,
        agent=_account(payload.agent_id, "agent"),
        steps=payload.steps,
        note=payload.note,
        due_by=payload.due_by,
    )
    return Status(201, _agent_service_reload(request, service))


@router.get("/agent-services/{int:service_id}", response=AgentServiceDetailOut, summary="One matter with its steps")
def agent_service_detail(request, service_id: int):
    return agent_service_detail_out(_agents.access_agent_service(request.user, service_id))


@router.post("/agent-services/{int:service_id}/steps", response=AgentServiceDetailOut, summary="Add a step")
def agent_service_step_add(request, service_id: int, payload: StepIn):
    service = _agents.access_agent_service(request.user, service_id)
    _agents.agent_service_step_add(actor=request.user, service=service, title=payload.title)
    return _agent_service_reload(request, service)


@router.post(
    "/agent-services/{int:service_id}/steps/{int:position}/done",
    response=AgentServiceDetailOut,
    summary="Mark a step done (in order)",
)
def agent_service_step_done(request, service_id: int, position: int, payload: NoteIn):
    service = _agents.access_agent_service(request.user, service_id)
    _agents.agent_service_step_done(actor=request.user, service=service, position=position, note=payload.note)
    return _agent_service_reload(request, service)


@router.post("/agent-services/{int:service_id}/complete", response=AgentServiceDetailOut, summary="Complete the matter")
def agent_service_complete(request, service_id: int, payload: NoteIn):
    service = _agents.agent_service_complete(
        actor=request.user, service=_agents.access_agent_service(request.user, service_id), note=payload.note
    )
    return _agent_service_reload(request, service)


@router.post("/agent-services/{int:service_id}/cancel", response=AgentServiceDetailOut, summary="Cancel the matter")
def agent_service_cancel(request, service_id: int, payload: ReasonIn):
    service = _agents.agent_service_cancel(
        actor=request.user, service=_agents.access_agent_service(request.user, service_id), reason=payload.reason
    )
    return _agent_service_reload(request, service)


# ---------------------------------------------------------------- KPIs and performance


class CaseFiguresOut(Schema):
    received: int
    closed: int
    open: int
    on_time: RateOut
    satisfaction: RateOut
    resolved_in_grid: RateOut
    resolved_in_community: RateOut


class DisputeFiguresOut(Schema):
    found: int
    resolved: int
    referred: int
    not_resolved: int
    in_mediation: int
    resolution_rate: RateOut


class VisitFiguresOut(Schema):
    visits: int
    households: int
    opinions: int
    handled: int
    being_handled: int
    passed_up: int


class AgentFiguresOut(Schema):
    agents: int
    received: int
    completed: int
    open: int


class KpiPlaceOut(Schema):
    id: int
    name: str
    kind: str


class KpisOut(Schema):
    place: KpiPlaceOut
    period: PeriodOut
    cases: CaseFiguresOut
    disputes: DisputeFiguresOut
    visits: VisitFiguresOut
    agent_services: AgentFiguresOut
    not_computed: list[str]


class WorkerPerformanceOut(Schema):
    account_id: int
    name: str
    grids: list[str]
    cases: CaseFiguresOut
    visits: int
    opinions: int


class PerformanceOut(Schema):
    place: KpiPlaceOut
    period: PeriodOut
    workers: list[WorkerPerformanceOut]


class PointsClaimIn(Schema):
    case_id: int
    item_id: int
    account_id: int | None = None


class PointsClaimOut(Schema):
    claim_id: int
    state: str


@router.get("/kpis", response=KpisOut, summary="Case, dispute, visit and agent service figures for a place and period")
def kpis(request, query: Query[FiguresQuery]):
    place = _active_place(query.place_id)
    return _kpis.case_kpis(actor=request.user, place=place, period=_period(query.period)).as_dict()


@router.get("/performance", response=PerformanceOut, summary="Grid workers' performance under a place")
def performance(request, query: Query[FiguresQuery]):
    place = _active_place(query.place_id)
    period = _period(query.period)
    workers = _performance.performance_for(actor=request.user, place=place, period=period)
    return {
        "place": {"id": place.pk, "name": place.name, "kind": place.kind},
        "period": period.as_dict(),
        "workers": [worker.as_dict() for worker in workers],
    }


@router.post(
    "/performance/points-claim",
    response={201: PointsClaimOut},
    summary="Claim red points for the handler of a closed, well-rated request",
)
def performance_points_claim(request, payload: PointsClaimIn):
    from gongzhi.points.models import PointItem, PointsAccount

    case = access_case(request.user, payload.case_id)
    item = PointItem.objects.filter(pk=payload.item_id, is_active=True).first()
    if item is None:
        raise ValidationFailed(fields={"item_id": _("No such point item.")})
    account = None
    if payload.account_id is not None:
        account = PointsAccount.objects.filter(pk=payload.account_id, is_active=True).first()
        if account is None:
            raise ValidationFailed(fields={"account_id": _("No such points account.")})
    claim = _performance.case_points_claim(actor=request.user, case=case, item=item, account=account)
    return Status(201, {"claim_id": claim.pk, "state": claim.state})
