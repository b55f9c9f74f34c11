"""The KPI catalogue in the API (mounted at /api/v1/kpis): every figure of a place and period with its definition,
grouped by domain, and the catalogue of definitions alone."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import FileResponse
from django.urls import reverse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from gongzhi.core import kpi_catalogue
from gongzhi.core.api_support import ERRORS
from gongzhi.core.db_router import reading_from_replica
from gongzhi.core.kpi_catalogue import FigureValue
from gongzhi.core.roles import Permission
from gongzhi.rollups.selectors import one_snapshot

from .models import ReportRun
from .periods import period_from
from .reporting import access_report_run, report_run_download, report_run_request
from .selectors import cockpit_place, cockpit_snapshot

router = Router(tags=["kpis"])


class KpiQuery(Schema):
    place: int = Field(..., description="The place whose subtree is counted")
    period: str | None = Field(None, description="2026-W10, 2026-03, 2026-Q1, 2026 or 2026-03-01..2026-03-31")
    from_: date | None = Field(None, alias="from", description="First day of a custom range (with `to`)")
    to: date | None = Field(None, description="Last day of a custom range (with `from`)")


class RateOut(Schema):
    numerator: int
    denominator: int
    percent: float | None = Field(None, description="Rounded half-up to one decimal; null when nothing to rate")
    numerator_counts: str
    denominator_counts: str


class FigureOut(Schema):
    key: str
    name: str
    definition: str
    unit: str
    value: Any = Field(None, description="A number, a decimal as text, a mapping, a list, or null (shown '—')")
    shown: str
    rate: RateOut | None = None


class GroupOut(Schema):
    key: str
    name: str
    figures: list[FigureOut]


class DomainOut(Schema):
    key: str
    name: str
    groups: list[GroupOut]


class PlaceOut(Schema):
    id: int
    name: str
    kind: str


class PeriodOut(Schema):
    kind: str
    key: str
    first: date
    last: date


class KpisOut(Schema):
    place: PlaceOut
    period: PeriodOut
    domains: list[DomainOut]


class DefinitionOut(Schema):
    key: str
    name: str
    definition: str
    unit: str
    domain: str
    group: str
    numerator_counts: str | None = None
    denominator_counts: str | None = None


def _figure(value: FigureValue) -> dict:
    return value.as_dict()


@router.get("", response={200: KpisOut, **ERRORS}, summary="Every figure of a place and period, with definitions")
def kpis(request, query: Query[KpiQuery]):
    with reading_from_replica():
        place = cockpit_place(request.user, query.place)
        period = period_from(today=timezone.localdate(), key=query.period, first=query.from_, last=query.to)
        with one_snapshot():
            snapshot = cockpit_snapshot(request.user, place, period)
    return {
        "place": {"id": place.pk, "name": place.name, "kind": place.kind},
        "period": period.as_dict(),
        "domains": [
            {
                "key": domain_values.domain.key,
                "name": str(domain_values.domain.name),
                "groups": [
                    {
                        "key": group_values.group.key,
                        "name": str(group_values.group.name),
                        "figures": [_figure(value) for value in group_values.values],
                    }
                    for group_values in domain_values.groups
                ],
            }
            for domain_values in snapshot.domains
        ],
    }


@router.get("/catalogue", response={200: list[DefinitionOut], **ERRORS}, summary="The definition of every figure")
def catalogue(request):
    rows = []
    for key, (group, figure) in kpi_catalogue.figures().items():
        rows.append(
            {
                "key": key,
                "name": str(figure.name),
                "definition": str(figure.definition),
                "unit": figure.unit,
                "domain": key.split(".")[0],
                "group": str(group.name),
                "numerator_counts": None if figure.numerator is None else str(figure.numerator),
                "denominator_counts": None if figure.denominator is None else str(figure.denominator),
            }
        )
    return rows


# ---------------------------------------------------------------- work reports written in the background


class ReportAsk(Schema):
    place: int = Field(..., description="The place whose subtree the report covers")
    period: str | None = Field(None, description="2026-W10, 2026-03, 2026-Q1, 2026 or 2026-03-01..2026-03-31")
    from_: date | None = Field(None, alias="from", description="First day of a custom range (with `to`)")
    to: date | None = Field(None, description="Last day of a custom range (with `from`)")
    format: str = Field("docx", description="docx or pdf")


class ReportRunOut(Schema):
    id: int
    place: int
    period: str
    format: str
    state: str = Field(..., description="queued, running, done or failed")
    progress: int = Field(..., description="0–100")
    error: str
    requested_at: datetime
    finished_at: datetime | None
    file_url: str | None = Field(None, description="Where to download the file once done")


def _run(run: ReportRun) -> dict:
    return {
        "id": run.pk,
        "place": run.place_id,
        "period": run.period_key,
        "format": run.format,
        "state": run.state,
        "progress": run.progress,
        "error": run.error,
        "requested_at": run.requested_at,
        "finished_at": run.finished_at,
        "file_url": reverse("api:cockpit_report_file", args=[run.pk]) if run.state == "done" else None,
    }


@router.post(
    "/reports",
    response={202: ReportRunOut, **ERRORS},
    summary="Ask for a work report (written in the background; asking again while it runs returns the same run)",
)
def report_ask(request, payload: ReportAsk):
    place = cockpit_place(request.user, payload.place, Permission.REPORT_GENERATE)
    period = period_from(today=timezone.localdate(), key=payload.period, first=payload.from_, last=payload.to)
    run = report_run_request(actor=request.user, place=place, period=period, format=payload.format, now=timezone.now())
    return Status(202, _run(run))


@router.get("/reports/{run_id}", response={200: ReportRunOut, **ERRORS}, summary="A work report's state and progress")
def report_status(request, run_id: int):
    return _run(access_report_run(request.user, run_id))


@router.get(
    "/reports/{run_id}/file",
    response={200: None, **ERRORS},
    url_name="cockpit_report_file",
    summary="The finished work report's file (.docx or PDF)",
)
def report_file(request, run_id: int):
    run = access_report_run(request.user, run_id)
    handle, filename = report_run_download(actor=request.user, run=run, now=timezone.now())
    response = FileResponse(handle, as_attachment=True, filename=filename)
    response["Cache-Control"] = "private, no-store"
    return response
