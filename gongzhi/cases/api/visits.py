"""Household visits in the API: logging a visit, settling a pending opinion, the weekly summaries (visits.py)."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from gongzhi.core.access import reach
from gongzhi.core.api_support import ERRORS, Page, PageQuery, paginate
from gongzhi.core.errors import NotFound
from gongzhi.core.figures import Period
from gongzhi.core.roles import Permission
from gongzhi.core.tree import subtree_q
from gongzhi.places.models import Place

from .. import visits as _visits
from ..models import HouseholdVisit, VisitOutcome
from ..selectors import access_category
from .common import FiguresQuery, PeriodOut, active_place, reporter_resident

router = Router()


class VisitIn(Schema):
    household_id: int
    visited_on: date
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
    visited_on: date
    findings: str
    opinion: str
    outcome: str
    outcome_label: str
    case_id: int | None
    settled_at: datetime | None
    settlement_note: str


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


@router.get(
    "/visits", response={200: Page[VisitOut], **ERRORS}, summary="Household visits I logged or that lie in my reach"
)
def visit_list(request, query: Query[VisitListQuery]):
    queryset = _visits.visit_queryset(request.user).select_related("household", "visitor")
    if query.outcome:
        queryset = queryset.filter(outcome=query.outcome)
    if query.place_id:
        queryset = queryset.filter(subtree_q(active_place(query.place_id).path, "household__path"))
    queryset = queryset.order_by("-visited_on", "-id")
    return paginate(queryset, query, render=visit_out)


@router.post(
    "/visits", response={201: VisitOut, **ERRORS}, summary="Log a household visit (an opinion may become a case)"
)
def visit_create(request, payload: VisitIn):
    household = Place.objects.filter(pk=payload.household_id).first()
    category = access_category(payload.category_id) if payload.category_id else None
    resident = reporter_resident(request, payload.reporter_resident_id)
    visit = _visits.visit_log(
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


@router.get(
    "/visits/summary",
    response={200: VisitSummaryOut, **ERRORS},
    summary="My visit summary for a week (default: this week)",
)
def visit_my_summary(request, period: str | None = None):
    chosen = Period.from_key(period) if period else Period.week(timezone.localdate())
    return _visits.my_visit_summary(request.user, chosen).as_dict()


@router.get(
    "/visits/summaries",
    response={200: list[VisitSummaryOut], **ERRORS},
    summary="Each visitor's summary under a place for a period",
)
def visit_summaries(request, query: Query[FiguresQuery]):
    place = active_place(query.place_id)
    user = request.user
    if not (reach(user, Permission.CASE_VIEW).covers(place.path)):
        raise NotFound()
    chosen = Period.from_key(query.period) if query.period else Period.week(timezone.localdate())
    return [summary.as_dict() for summary in _visits.visit_summaries(period=chosen, place=place)]


@router.get("/visits/{int:visit_id}", response={200: VisitOut, **ERRORS}, summary="One household visit")
def visit_detail(request, visit_id: int):
    return visit_out(_visits.access_visit(request.user, visit_id))


@router.post(
    "/visits/{int:visit_id}/handle", response={200: VisitOut, **ERRORS}, summary="The pending opinion was handled later"
)
def visit_handle(request, visit_id: int, payload: VisitHandleIn):
    visit = _visits.visit_opinion_handle(
        actor=request.user, visit=_visits.access_visit(request.user, visit_id), note=payload.note
    )
    return _visit_reload(request, visit)


@router.post(
    "/visits/{int:visit_id}/to-case",
    response={200: VisitOut, **ERRORS},
    summary="Pass the pending opinion up as a case",
)
def visit_to_case(request, visit_id: int, payload: VisitToCaseIn):
    visit = _visits.visit_opinion_to_case(
        actor=request.user,
        visit=_visits.access_visit(request.user, visit_id),
        category=access_category(payload.category_id),
        note=payload.note,
        reporter_resident=reporter_resident(request, payload.reporter_resident_id),
    )
    return _visit_reload(request, visit)
