"""The case figures of shared/kpis.md ("Cases and disputes", agent services), for any place (its subtree) and any
period (``gongzhi.core.figures.Period``: Monday-start weeks, months, quarters, years, custom ranges; local days in
Asia/Shanghai). Each group of figures is one aggregate query, whatever the amount of data.

Definitions (a rate is always a ``Rate`` with numerator and denominator):

Cases — by the place of the matter (``Case.place``) under the chosen place:
- received: submitted in the period, not counting requests merged into another as duplicates (the matter is
  counted once, on the request it was merged into);
- closed: closed in the period (``closed_at``; rejected and withdrawn requests are not "closed");
- open: received in the period and not yet finished now (submitted, accepted, in progress, or resolved and waiting
  for the resident's rating);
- on-time rate: closed in the period and never overdue / closed in the period;
- satisfaction rate: satisfied + basically satisfied / closed in the period with a rating;
- resolved-in-grid rate (小事不出网格): closed in the period and resolved at grid level / closed in the period;
- resolved-in-community rate (大事不出社区): resolved at grid or community level / closed in the period.

Disputes — found in the period under the place (a cohort: what became of the disputes found then): found, resolved
(agreement), referred, not resolved, still in mediation; resolution rate = resolved / found (seed 004: 195 / 203 =
96.1 %).

Visits — visits made in the period to households under the place: visits, households visited, opinions collected,
handled (on the spot, after the visit, or passed up as a case that has since been finished), being handled (pending,
or passed up as a case still open), passed up as cases. handled + being handled = collected (seed 004: 733 + 63 =
796).

Agent services — matters of residents under the place: received in the period, completed in the period, still open
now of those received; agents = distinct agents who received or completed a matter in the period.

Roll-ups (``gongzhi.rollups``): received, open, closed, on time, rated, satisfied, resolved in grid / in community
are kept as daily totals per place (the district, streets and communities; below, counted from the cases) by
submission and closing day. A case changes after the fact (closed late, rated, merged as a duplicate, finished):
each change writes the case's trail (``CaseEvent``), which makes the case's days dirty until the next run rebuilds
them; dirty days and today are counted from the cases (``ROLLUP_SOURCES``). So "open" (received in the period, not
finished now) is exact at every moment though it depends on now.
``case_figures_recount`` counts everything from the cases; ``gongzhi kpi_check`` compares the two.

Not computed here: problems solved through forums and joint meetings are co-building's figures
(``gongzhi.cobuilding.kpis.meeting_figures``, catalogue key ``cobuilding.meetings.problems_solved``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gongzhi.core.access import reach, require_authenticated
from gongzhi.core.actors import Actor
from gongzhi.core.errors import NotFound
from gongzhi.core.figures import Figures, Period, Rate
from gongzhi.core.kpi_catalogue import Figure, FigureGroup, KpiDomain, Unit
from gongzhi.core.roles import Permission
from gongzhi.core.tree import subtree_q
from gongzhi.places.models import Place
from gongzhi.rollups.selectors import place_totals, totals
from gongzhi.rollups.sources import Measure, Source, count_of, local_day, moment_days

from .models import (
    FINAL_STATES,
    OPEN_STATES,
    UNFINISHED_STATES,
    AgentService,
    AgentServiceState,
    Case,
    CaseEvent,
    CaseLevel,
    CaseState,
    Dispute,
    DisputeState,
    HouseholdVisit,
    Satisfaction,
    VisitOutcome,
)

GOOD_RATINGS = (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED)
IN_COMMUNITY_LEVELS = (CaseLevel.GRID, CaseLevel.COMMUNITY)


@dataclass(frozen=True)
class CaseFigures(Figures):
    received: int
    closed: int
    open: int
    on_time: Rate
    satisfaction: Rate
    resolved_in_grid: Rate
    resolved_in_community: Rate


@dataclass(frozen=True)
class DisputeFigures(Figures):
    found: int
    resolved: int
    referred: int
    not_resolved: int
    in_mediation: int
    resolution_rate: Rate


@dataclass(frozen=True)
class VisitFigures(Figures):
    visits: int
    households: int
    opinions: int
    handled: int
    being_handled: int
    passed_up: int


@dataclass(frozen=True)
class AgentFigures(Figures):
    agents: int
    received: int
    completed: int
    open: int


# ---------------------------------------------------------------- the case conditions, shared with performance.py


def received_q(period: Period) -> Q:
    return Q(submitted_at__gte=period.start, submitted_at__lt=period.end) & ~Q(state=CaseState.DUPLICATE)


def closed_q(period: Period) -> Q:
    return Q(state=CaseState.CLOSED, closed_at__gte=period.start, closed_at__lt=period.end)


def case_counts(period: Period, condition: Q | None = None, prefix: str = "") -> dict:
    """The aggregate expressions of the case figures for the cases matching ``condition`` (keys prefixed)."""
    condition = condition if condition is not None else Q()
    received, closed = received_q(period) & condition, closed_q(period) & condition
    return {
        f"{prefix}received": Count("pk", filter=received),
        f"{prefix}open": Count("pk", filter=received & ~Q(state__in=FINAL_STATES)),
        f"{prefix}closed": Count("pk", filter=closed),
        f"{prefix}on_time": Count("pk", filter=closed & Q(is_overdue=False)),
        f"{prefix}rated": Count("pk", filter=closed & ~Q(satisfaction="")),
        f"{prefix}satisfied": Count("pk", filter=closed & Q(satisfaction__in=GOOD_RATINGS)),
        f"{prefix}in_grid": Count("pk", filter=closed & Q(resolved_level=CaseLevel.GRID)),
        f"{prefix}in_community": Count("pk", filter=closed & Q(resolved_level__in=IN_COMMUNITY_LEVELS)),
    }


def case_figures_from(row: dict, prefix: str = "") -> CaseFigures:
    value = {name[len(prefix) :]: count or 0 for name, count in row.items() if name.startswith(prefix)}
    closed = value["closed"]
    return CaseFigures(
        received=value["received"],
        closed=closed,
        open=value["open"],
        on_time=Rate(value["on_time"], closed),
        satisfaction=Rate(value["satisfied"], value["rated"]),
        resolved_in_grid=Rate(value["in_grid"], closed),
        resolved_in_community=Rate(value["in_community"], closed),
    )


def period_cases(place: Place, period: Period):
    """Cases under the place received or closed in the period (the rows the case figures read)."""
    return Case.objects.filter(subtree_q(place.path, "place__path")).filter(
        Q(submitted_at__gte=period.start, submitted_at__lt=period.end)
        | Q(closed_at__gte=period.start, closed_at__lt=period.end)
    )


# ---------------------------------------------------------------- figures (one query each)


def case_figures_recount(place: Place, period: Period) -> CaseFigures:
    """The case figures counted from the cases alone (the reference ``gongzhi kpi_check`` compares with)."""
    return case_figures_from(period_cases(place, period).aggregate(**case_counts(period)))


RECEIVED, CLOSED = "cases.received", "cases.closed"
_CLOSED_MEASURES = ("closed", "on_time", "rated", "satisfied", "in_grid", "in_community")


_IS_CLOSED = Q(state=CaseState.CLOSED)
ROLLUP_SOURCES = (
    Source(
        RECEIVED,
        Case.objects.all,
        "place__path",
        local_day("submitted_at"),
        moment_days("submitted_at"),
        (
            Measure("cases.cases.received", count_of(~Q(state=CaseState.DUPLICATE))),
            # "Open": received and not finished now. A case that finishes writes a trail event, which makes its
            # submission day dirty until the next run, so the figure is exact at every moment.
            Measure("cases.cases.open", count_of(Q(state__in=UNFINISHED_STATES))),
        ),
        changes=CaseEvent.objects.all,
        change_row="case_id",
    ),
    Source(
        CLOSED,
        Case.objects.all,
        "place__path",
        local_day("closed_at"),
        moment_days("closed_at"),
        (
            Measure("cases.cases.closed", count_of(_IS_CLOSED)),
            Measure("cases.cases.on_time", count_of(_IS_CLOSED & Q(is_overdue=False))),
            Measure("cases.cases.rated", count_of(_IS_CLOSED & ~Q(satisfaction=""))),
            Measure("cases.cases.satisfied", count_of(_IS_CLOSED & Q(satisfaction__in=GOOD_RATINGS))),
            Measure("cases.cases.in_grid", count_of(_IS_CLOSED & Q(resolved_level=CaseLevel.GRID))),
            Measure("cases.cases.in_community", count_of(_IS_CLOSED & Q(resolved_level__in=IN_COMMUNITY_LEVELS))),
        ),
        changes=CaseEvent.objects.all,
        change_row="case_id",
    ),
)


_RECEIVED_MEASURES = ["cases.cases.received", "cases.cases.open"]


def _figures(received: dict[str, int], closed: dict[str, int]) -> CaseFigures:
    row = {name: closed.get(f"cases.cases.{name}", 0) for name in _CLOSED_MEASURES}
    counts = {"received": received.get("cases.cases.received", 0), "open": received.get("cases.cases.open", 0)}
    return case_figures_from({**row, **counts})


def case_figures(place: Place, period: Period) -> CaseFigures:
    """The case figures (the module's definitions): roll-ups for the clean days, the cases for dirty days and
    today. Equal to ``case_figures_recount`` at every moment."""
    received = place_totals(RECEIVED, place, period.first, period.last, _RECEIVED_MEASURES)
    keys = [f"cases.cases.{name}" for name in _CLOSED_MEASURES]
    closed = place_totals(CLOSED, place, period.first, period.last, keys)
    return _figures(received, closed)


def case_figures_for_places(places: list[Place], period: Period) -> dict[int, CaseFigures]:
    """``case_figures`` of each place, in a few queries for them all (rankings)."""
    received = totals(RECEIVED, places, period.first, period.last, _RECEIVED_MEASURES)
    keys = [f"cases.cases.{name}" for name in _CLOSED_MEASURES]
    closed = totals(CLOSED, places, period.first, period.last, keys)
    return {
        place.pk: _figures(received.get((place.pk, None), {}), closed.get((place.pk, None), {})) for place in places
    }


def received_by_day(place: Place, first, last) -> dict:
    """Cases received under the place per local day (trends): the same totals as ``case_figures``."""
    found = totals(RECEIVED, [place], first, last, ["cases.cases.received"], by_day=True)
    return {day: value.get("cases.cases.received", 0) for (_pk, day), value in found.items() if day is not None}


def dispute_figures(place: Place, period: Period) -> DisputeFigures:
    row = (
        Dispute.objects.filter(subtree_q(place.path, "place__path"))
        .filter(found_on__gte=period.first, found_on__lte=period.last)
        .aggregate(
            found=Count("pk"),
            resolved=Count("pk", filter=Q(state=DisputeState.AGREEMENT)),
            referred=Count("pk", filter=Q(state=DisputeState.REFERRED)),
            not_resolved=Count("pk", filter=Q(state=DisputeState.NOT_RESOLVED)),
            in_mediation=Count("pk", filter=Q(state__in=(DisputeState.OPEN, DisputeState.MEDIATING))),
        )
    )
    return DisputeFigures(**row, resolution_rate=Rate(row["resolved"], row["found"]))


def visit_figures(place: Place, period: Period) -> VisitFigures:
    case_finished = Q(outcome=VisitOutcome.BECAME_CASE) & ~Q(became_case__state__in=OPEN_STATES)
    handled = Q(outcome__in=(VisitOutcome.HANDLED_ON_SPOT, VisitOutcome.HANDLED_LATER)) | case_finished
    row = (
        HouseholdVisit.objects.filter(subtree_q(place.path, "household__path"))
        .filter(visited_on__gte=period.first, visited_on__lte=period.last)
        .aggregate(
            visits=Count("pk"),
            households=Count("household_id", distinct=True),
            opinions=Count("pk", filter=~Q(outcome=VisitOutcome.NONE)),
            handled=Count("pk", filter=handled),
            passed_up=Count("pk", filter=Q(outcome=VisitOutcome.BECAME_CASE)),
        )
    )
    return VisitFigures(being_handled=row["opinions"] - row["handled"], **row)


def agent_figures(place: Place, period: Period) -> AgentFigures:
    received = Q(received_at__gte=period.start, received_at__lt=period.end)
    completed = Q(state=AgentServiceState.COMPLETED, completed_at__gte=period.start, completed_at__lt=period.end)
    row = (
        AgentService.objects.filter(subtree_q(place.path, "place__path"))
        .filter(received | completed)
        .aggregate(
            agents=Count("agent_id", distinct=True),
            received=Count("pk", filter=received),
            completed=Count("pk", filter=completed),
            open=Count(
                "pk",
                filter=received & Q(state__in=(AgentServiceState.RECEIVED, AgentServiceState.IN_PROGRESS)),
            ),
        )
    )
    return AgentFigures(**row)


def agent_counts(place: Place, period: Period) -> list[dict]:
    """Per agent: matters received, completed in the period, and open of those received (one query)."""
    from gongzhi.people.models import Account

    received = Q(received_at__gte=period.start, received_at__lt=period.end)
    completed = Q(state=AgentServiceState.COMPLETED, completed_at__gte=period.start, completed_at__lt=period.end)
    counts = (
        AgentService.objects.filter(subtree_q(place.path, "place__path"))
        .filter(received | completed)
        .values("agent_id")
        .annotate(
            received=Count("pk", filter=received),
            completed=Count("pk", filter=completed),
            open=Count(
                "pk", filter=received & Q(state__in=(AgentServiceState.RECEIVED, AgentServiceState.IN_PROGRESS))
            ),
        )
    )
    rows: list[dict[str, Any]] = list(counts)
    labels = {account.pk: account.label for account in Account.objects.filter(pk__in=[r["agent_id"] for r in rows])}
    for row in rows:
        row["agent"] = labels.get(row["agent_id"], "")
    return sorted(rows, key=lambda row: (-row["completed"], row["agent"], row["agent_id"]))


# ---------------------------------------------------------------- all together, with the access check


@dataclass(frozen=True)
class CaseKpis:
    place: Place
    period: Period
    cases: CaseFigures
    disputes: DisputeFigures
    visits: VisitFigures
    agent_services: AgentFigures

    def as_dict(self) -> dict:
        return {
            "place": {"id": self.place.pk, "name": self.place.name, "kind": self.place.kind},
            "period": self.period.as_dict(),
            "cases": self.cases.as_dict(),
            "disputes": self.disputes.as_dict(),
            "visits": self.visits.as_dict(),
            "agent_services": self.agent_services.as_dict(),
            "not_computed": [
                _("problems solved through forums and joint meetings: a co-building figure (/api/v1/kpis)")
            ],
        }


def require_figures_reach(actor: Actor, place: Place) -> None:
    """Figures of a place are for those who see its cases (``case.view`` over it); else NotFound."""
    require_authenticated(actor)
    if place is None or not reach(actor, Permission.CASE_VIEW).covers(place.path):
        raise NotFound()


def case_kpis(*, actor: Actor, place: Place, period: Period) -> CaseKpis:
    """Every case figure for the place and period: four queries."""
    require_figures_reach(actor, place)
    return CaseKpis(
        place=place,
        period=period,
        cases=case_figures(place, period),
        disputes=dispute_figures(place, period),
        visits=visit_figures(place, period),
        agent_services=agent_figures(place, period),
    )


ROLLUP_CHECKS = (("cases.cases", case_figures, case_figures_recount),)


# ---------------------------------------------------------------- the KPI catalogue (gongzhi.core.kpi_catalogue)

KPI_DOMAIN = KpiDomain(
    "cases",
    gettext_lazy("Cases and disputes"),
    groups=(
        FigureGroup(
            "cases.cases",
            gettext_lazy("Residents' requests"),
            case_figures,
            (
                Figure(
                    "received",
                    gettext_lazy("Cases received"),
                    gettext_lazy(
                        "Requests about places under the place submitted in the "
                        "period, duplicates merged into another not counted."
                    ),
                ),
                Figure(
                    "closed",
                    gettext_lazy("Cases closed"),
                    gettext_lazy("Requests closed in the period (rejected and withdrawn ones are not closed)."),
                ),
                Figure(
                    "open",
                    gettext_lazy("Cases still open"),
                    gettext_lazy("Requests received in the period and not finished now."),
                ),
                Figure(
                    "on_time",
                    gettext_lazy("Cases closed on time"),
                    gettext_lazy(
                        "Requests closed in the period that were never overdue, over the requests closed in the period."
                    ),
                    Unit.RATE,
                    numerator=gettext_lazy("closed and never overdue"),
                    denominator=gettext_lazy("closed in the period"),
                ),
                Figure(
                    "satisfaction",
                    gettext_lazy("Satisfaction"),
                    gettext_lazy(
                        "Requests closed in the period rated satisfied or basically satisfied, over those closed in "
                        "the period with a rating."
                    ),
                    Unit.RATE,
                    numerator=gettext_lazy("rated satisfied or basically satisfied"),
                    denominator=gettext_lazy("closed in the period with a rating"),
                ),
                Figure(
                    "resolved_in_grid",
                    gettext_lazy("Resolved in the grid"),
                    gettext_lazy(
                        "Requests closed in the period resolved at grid level, over those closed in the period "
                        "(小事不出网格)."
                    ),
                    Unit.RATE,
                    numerator=gettext_lazy("resolved at grid level"),
                    denominator=gettext_lazy("closed in the period"),
                ),
                Figure(
                    "resolved_in_community",
                    gettext_lazy("Resolved in the community"),
                    gettext_lazy(
                        "Requests closed in the period resolved at grid or community level, over those closed in the "
                        "period (大事不出社区)."
                    ),
                    Unit.RATE,
                    numerator=gettext_lazy("resolved at grid or community level"),
                    denominator=gettext_lazy("closed in the period"),
                ),
            ),
        ),
        FigureGroup(
            "cases.disputes",
            gettext_lazy("Dispute mediation"),
            dispute_figures,
            (
                Figure(
                    "found",
                    gettext_lazy("Disputes found"),
                    gettext_lazy("Disputes under the place found in the period (a cohort)."),
                ),
                Figure("resolved", gettext_lazy("Disputes resolved"), gettext_lazy("Of those, settled by agreement.")),
                Figure("referred", gettext_lazy("Disputes referred"), gettext_lazy("Of those, referred elsewhere.")),
                Figure(
                    "not_resolved",
                    gettext_lazy("Disputes not resolved"),
                    gettext_lazy("Of those, closed without agreement."),
                ),
                Figure(
                    "in_mediation",
                    gettext_lazy("Disputes in mediation"),
                    gettext_lazy("Of those, still open or being mediated."),
                ),
                Figure(
                    "resolution_rate",
                    gettext_lazy("Dispute resolution rate"),
                    gettext_lazy(
                        "Disputes found in the period and settled by agreement, over the disputes found in the period."
                    ),
                    Unit.RATE,
                    numerator=gettext_lazy("settled by agreement"),
                    denominator=gettext_lazy("disputes found in the period"),
                ),
            ),
        ),
        FigureGroup(
            "cases.visits",
            gettext_lazy("Household visits"),
            visit_figures,
            (
                Figure(
                    "visits",
                    gettext_lazy("Visits made"),
                    gettext_lazy("Visits made in the period to households under the place."),
                ),
                Figure(
                    "households",
                    gettext_lazy("Households visited"),
                    gettext_lazy("Distinct households visited in the period."),
                ),
                Figure(
                    "opinions",
                    gettext_lazy("Opinions collected"),
                    gettext_lazy("Visits in the period at which an opinion was collected."),
                ),
                Figure(
                    "handled",
                    gettext_lazy("Opinions handled"),
                    gettext_lazy(
                        "Opinions handled on the spot, after the visit, or "
                        "passed up as a case that has since been finished."
                    ),
                ),
                Figure(
                    "being_handled",
                    gettext_lazy("Opinions being handled"),
                    gettext_lazy("Opinions collected and not handled yet."),
                ),
                Figure(
                    "passed_up",
                    gettext_lazy("Opinions passed up as cases"),
                    gettext_lazy("Opinions passed up as requests."),
                ),
            ),
        ),
        FigureGroup(
            "cases.agent_services",
            gettext_lazy("Agent services"),
            agent_figures,
            (
                Figure(
                    "agents",
                    gettext_lazy("Agents at work"),
                    gettext_lazy("Distinct agents who received or completed a matter in the period."),
                ),
                Figure(
                    "received",
                    gettext_lazy("Agent matters received"),
                    gettext_lazy("Matters of residents under the place received in the period."),
                ),
                Figure(
                    "completed",
                    gettext_lazy("Agent matters completed"),
                    gettext_lazy("Matters completed in the period."),
                ),
                Figure(
                    "open",
                    gettext_lazy("Agent matters still open"),
                    gettext_lazy("Matters received in the period and still open now."),
                ),
            ),
        ),
    ),
)
