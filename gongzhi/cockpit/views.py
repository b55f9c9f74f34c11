"""Pages of the cockpit (/cockpit/): the figures of a place and period with their definitions, the comparison
with the previous period, rankings and drill-down to the places below, a monthly trend, a wall-screen mode, and
the ledger workbook. Thin: parse → access → selectors → render."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import kpi_catalogue
from gongzhi.core.access import reach
from gongzhi.core.audit import audit_record
from gongzhi.core.db_router import replica_reads
from gongzhi.core.errors import ValidationFailed
from gongzhi.core.figures import Period, PeriodKind
from gongzhi.core.roles import Permission
from gongzhi.core.views_support import domain_errors
from gongzhi.places.selectors import place_visible_ancestors
from gongzhi.rollups.selectors import one_snapshot

from . import selectors
from .exports import XLSX_CONTENT_TYPE, cockpit_workbook
from .ledgers import LEDGERS, can_reveal
from .models import ReportFormat
from .periods import period_from
from .report import DOCX_CONTENT_TYPE, work_report
from .reporting import report_runs_recent

ECHARTS_STATIC = "cockpit/vendor/echarts.min.js"
WALL_REFRESH_MINUTES = 5


def charts_available() -> bool:
    """Whether the build step vendored ECharts (``make install`` → ``make vendor``)."""
    return finders.find(ECHARTS_STATIC) is not None


def _period(request) -> tuple[Period, dict]:
    """The period asked for, or this month with the error to show in the chooser.

    The chooser sends ``kind`` (week / month / quarter / year around ``day``, or custom with ``from`` and ``to``);
    links send ``period=<key>`` (or ``from`` and ``to``)."""
    today = timezone.localdate()
    params = request.GET
    kind = params.get("kind")
    try:
        if kind == PeriodKind.CUSTOM:
            period = period_from(today=today, first=params.get("from") or None, last=params.get("to") or None)
            if period.kind != PeriodKind.CUSTOM:
                raise ValidationFailed(fields={"from": _("Give the first and the last day of the range.")})
        elif kind:
            period = period_from(today=today, kind=kind, day=params.get("day"))
        else:
            period = period_from(today=today, key=params.get("period"), first=params.get("from"), last=params.get("to"))
        return period, {}
    except ValidationFailed as error:
        return Period.month(today.year, today.month), {name: str(message) for name, message in error.fields.items()}


def _keep(period: Period, wall: bool) -> str:
    """The query string that keeps the period (and wall mode) through a link."""
    query = {"period": period.key}
    if wall:
        query["wall"] = "1"
    return urlencode(query)


@login_required
@domain_errors
def home(request):
    """The actor's own top place's cockpit, or the choice between several, or an empty state."""
    places = selectors.cockpit_top_places(request.user)
    if len(places) == 1:
        query = request.GET.urlencode()
        return redirect(reverse("cockpit:place", args=[places[0].pk]) + (f"?{query}" if query else ""))
    return render(request, "cockpit/choose.html", {"places": places})


@login_required
@domain_errors
@replica_reads
def place(request, place_id: int):
    actor = request.user
    place = selectors.cockpit_place(actor, place_id)
    period, period_errors = _period(request)
    wall = request.GET.get("wall") == "1"
    # The comparison with the previous period comes in its own request (``compare``, fetched by the page like the
    # trend), so the page answers with the period's figures at once; ?compare=1 puts it in the page (no script).
    inline = request.GET.get("compare") == "1"
    # One state of the database for every figure of the page (rollups.selectors.one_snapshot).
    with one_snapshot():
        snapshot = selectors.cockpit_snapshot(actor, place, period)
        previous = selectors.cockpit_snapshot(actor, place, period.previous(), besides=snapshot) if inline else None
        children, rankings = selectors.cockpit_rankings(actor, place, period)
    keep = _keep(period, wall)
    compare_url = ""
    if not inline:
        token = selectors.remember_shown(place, snapshot)
        compare_url = f"{reverse('cockpit:compare', args=[place.pk])}?{keep}&{urlencode({'shown': token})}"
    refresh_minutes = int(getattr(settings, "GONGZHI_COCKPIT_WALL_REFRESH_MINUTES", WALL_REFRESH_MINUTES))
    context = {
        "place": place,
        "ancestors": place_visible_ancestors(actor, place),
        "period": period,
        "previous_period": period.previous(),
        "period_errors": period_errors,
        "period_kinds": [
            (PeriodKind.WEEK, "week"),
            (PeriodKind.MONTH, "month"),
            (PeriodKind.QUARTER, "quarter"),
            (PeriodKind.YEAR, "year"),
            (PeriodKind.CUSTOM, "custom"),
        ],
        "domains": _figure_rows(snapshot, previous),
        "compare_url": compare_url,
        "children": children,
        "rankings": rankings,
        "keep": keep,
        "keep_period": _keep(period, False),
        "wall": wall,
        "refresh_minutes": refresh_minutes,
        "refresh_seconds": refresh_minutes * 60,
        "rankings_chart": [
            {
                "name": str(ranking.figure_name),
                "places": [row.place.name for _rank, row, _value in ranking.rows],
                "values": [None if value.number is None else float(value.number) for _r, _row, value in ranking.rows],
            }
            for ranking in rankings
        ],
        "charts_available": charts_available(),
        "echarts_static": ECHARTS_STATIC,
        "can_export": reach(actor, Permission.REPORT_GENERATE).covers(place.path),
        "report_formats": ReportFormat.choices,
        "report_runs": report_runs_recent(actor, place),
        "ledgers": [(key, title) for key, (title, _sheets) in LEDGERS.items()],
        "can_reveal": can_reveal(actor, place),
    }
    return render(request, "cockpit/place.html", context)


def _figure_rows(snapshot, previous) -> list[dict]:
    compared = selectors.compare(snapshot, previous)
    return [
        {
            "domain": domain_values.domain,
            "groups": [
                {"group": group_values.group, "rows": [compared[value.key] for value in group_values.values]}
                for group_values in domain_values.groups
            ],
        }
        for domain_values in snapshot.domains
    ]


@login_required
@domain_errors
@replica_reads
def compare(request, place_id: int):
    """The figures beside the previous period's (a fragment the page fetches): against the figures the page showed
    (``shown``), or computed again when they are no longer kept."""
    actor = request.user
    place = selectors.cockpit_place(actor, place_id)
    period, _errors = _period(request)
    with one_snapshot():
        snapshot = selectors.shown_snapshot(place, period, request.GET.get("shown", ""))
        if snapshot is None:
            snapshot = selectors.cockpit_snapshot(actor, place, period)
        previous = selectors.cockpit_snapshot(actor, place, period.previous(), besides=snapshot)
    context = {"domains": _figure_rows(snapshot, previous), "period": period, "previous_period": period.previous()}
    return render(request, "cockpit/_figures.html", context)


@login_required
@domain_errors
@replica_reads
def trend(request, place_id: int):
    """The monthly trend (a table, and the chart's data), loaded on its own by the cockpit page."""
    place = selectors.cockpit_place(request.user, place_id)
    period, _errors = _period(request)
    with one_snapshot():
        points = selectors.cockpit_trend(request.user, place, period)
    figures = kpi_catalogue.figures()
    keys = [key for key in selectors.TREND_FIGURES if key in figures]
    series = [{"key": key, "name": str(figures[key][1].name)} for key in keys]
    chart = {
        "months": [point.period.key for point in points],
        "series": [{**item, "values": [point.values[item["key"]].number for point in points]} for item in series],
    }
    context = {"place": place, "points": points, "keys": keys, "series": series, "chart": chart}
    return render(request, "cockpit/_trend.html", context)


@login_required
@domain_errors
@replica_reads
def workbook(request, place_id: int):
    """The ledger workbook of the whole cockpit (figures only: no personal data), for report generators."""
    place = selectors.cockpit_place(request.user, place_id, Permission.REPORT_GENERATE)
    period, _errors = _period(request)
    with one_snapshot():
        snapshot = selectors.cockpit_snapshot(request.user, place, period)
    content = cockpit_workbook(place=place, snapshot=snapshot, generated_at=timezone.localtime())
    audit_record(
        actor=request.user,
        action="cockpit.workbook_export",
        target=place,
        place_path=place.path,
        changes={"period": period.key},
    )
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="cockpit-{place.pk}-{period.key}.xlsx"'
    return response


@login_required
@domain_errors
@replica_reads
def report(request, place_id: int):
    """The work report (.docx) of the place and period, for report generators, written while the request waits (the
    page asks for it in the background instead: report_views.py)."""
    place = selectors.cockpit_place(request.user, place_id, Permission.REPORT_GENERATE)
    period, _errors = _period(request)
    with one_snapshot():
        snapshot = selectors.cockpit_snapshot(request.user, place, period)
        previous = selectors.cockpit_snapshot(request.user, place, period.previous(), besides=snapshot)
    content = work_report(place=place, snapshot=snapshot, previous=previous, generated_at=timezone.localtime())
    audit_record(
        actor=request.user,
        action="cockpit.report_export",
        target=place,
        place_path=place.path,
        changes={"period": period.key, "format": ReportFormat.DOCX},
    )
    response = HttpResponse(content, content_type=DOCX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="report-{place.pk}-{period.key}.docx"'
    return response
