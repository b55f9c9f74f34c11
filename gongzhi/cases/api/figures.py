"""Figures in the API: the KPIs of a place and period (kpis.py), grid workers' performance and the red points claim
for a well-rated request (performance.py)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status

from gongzhi.core.api_support import ERRORS
from gongzhi.core.errors import ValidationFailed

from .. import kpis as _kpis
from .. import performance as _performance
from ..selectors import access_case
from .common import FiguresQuery, PeriodOut, RateOut, active_place, period_of

router = Router()


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


@router.get(
    "/kpis",
    response={200: KpisOut, **ERRORS},
    summary="Case, dispute, visit and agent service figures for a place and period",
)
def kpis(request, query: Query[FiguresQuery]):
    place = active_place(query.place_id)
    return _kpis.case_kpis(actor=request.user, place=place, period=period_of(query.period)).as_dict()


@router.get("/performance", response={200: PerformanceOut, **ERRORS}, summary="Grid workers' performance under a place")
def performance(request, query: Query[FiguresQuery]):
    place = active_place(query.place_id)
    period = period_of(query.period)
    workers = _performance.performance_for(actor=request.user, place=place, period=period)
    return {
        "place": {"id": place.pk, "name": place.name, "kind": place.kind},
        "period": period.as_dict(),
        "workers": [worker.as_dict() for worker in workers],
    }


@router.post(
    "/performance/points-claim",
    response={201: PointsClaimOut, **ERRORS},
    summary="Claim red points for the handler of a closed, well-rated request",
)
def performance_points_claim(request, payload: PointsClaimIn):
    from gongzhi.points.selectors import active_account, active_item

    case = access_case(request.user, payload.case_id)
    item = active_item(payload.item_id)
    if item is None:
        raise ValidationFailed(fields={"item_id": _("No such point item.")})
    account = None
    if payload.account_id is not None:
        account = active_account(payload.account_id)
        if account is None:
            raise ValidationFailed(fields={"account_id": _("No such points account.")})
    claim = _performance.case_points_claim(actor=request.user, case=case, item=item, account=account)
    return Status(201, {"claim_id": claim.pk, "state": claim.state})
