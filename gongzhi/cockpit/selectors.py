"""Reads of the cockpit: which places an actor steers, the figures of a place and period (the KPI catalogue's
one computation), the comparison with the previous period, rankings of the places below and monthly trends.

Every function takes the actor and answers the same NotFound whether a place is missing or out of reach
(``cockpit.view``). The figures themselves are ``gongzhi.core.kpi_catalogue.compute``: pages, API, workbook and
report show the same numbers because they call the same functions.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet

from gongzhi.core import kpi_catalogue
from gongzhi.core.access import reach, require_reach
from gongzhi.core.actors import MaybeAnonymousActor
from gongzhi.core.figures import Period
from gongzhi.core.kpi_catalogue import FigureValue, Snapshot
from gongzhi.core.roles import Permission
from gongzhi.places.models import Place, PlaceKind
from gongzhi.places.selectors import access_place

# The rankings and the trend read these figures (each through its group's function, as everywhere).
RANKED_FIGURES = ("points.ledger.issued", "cases.cases.on_time")
TREND_FIGURES = ("points.ledger.issued", "cases.cases.received")
TREND_MONTHS = 12
# Places whose children are ranked and drilled into: the cockpit stops at the building.
LEAF_KINDS = frozenset({PlaceKind.BUILDING, PlaceKind.ENTRANCE, PlaceKind.HOUSEHOLD})
MOST_RANKED = 60


def cockpit_place(actor: MaybeAnonymousActor, place_id: Any, permission: str = Permission.COCKPIT_VIEW) -> Place:
    """The place, or NotFound whether it is missing or out of the actor's cockpit reach."""
    return access_place(actor, place_id, permission)


def cockpit_top_places(actor: MaybeAnonymousActor) -> list[Place]:
    """The highest places whose cockpit the actor may open (superusers: the districts)."""
    scope = reach(actor, Permission.COCKPIT_VIEW)
    if scope.everything:
        return list(Place.objects.filter(parent__isnull=True, is_active=True).order_by("name", "pk"))
    return list(Place.objects.filter(path__in=scope.paths, is_active=True).order_by("path"))


def cockpit_snapshot(
    actor: MaybeAnonymousActor, place: Place, period: Period, *, besides: Snapshot | None = None
) -> Snapshot:
    """Every registered figure of the place's subtree for the period (``besides``: the place's snapshot of another
    period, whose figures that stand as of now are reused)."""
    require_reach(actor, Permission.COCKPIT_VIEW, place.path)
    return kpi_catalogue.compute(place, period, besides=besides)


@dataclass(frozen=True)
class Compared:
    """A figure now and in the previous period (None while the comparison is still to come), and the change (a
    rate's in percentage points)."""

    current: FigureValue
    previous: FigureValue | None

    @property
    def change(self) -> int | Decimal | None:
        if self.previous is None:
            return None
        return kpi_catalogue.change(self.current, self.previous)


def compare(current: Snapshot, previous: Snapshot | None) -> dict[str, Compared]:
    """Each figure of ``current`` beside the same in ``previous`` (without ``previous``: beside nothing yet)."""
    if previous is None:
        return {key: Compared(value, None) for key, value in current.values.items()}
    return {
        key: Compared(value, previous.values[key]) for key, value in current.values.items() if key in previous.values
    }


# The page answers with the period's figures and fetches the comparison on its own (like the trend). The figures
# it showed are kept this long under a random token, so the comparison is made against exactly those numbers.
SHOWN_SECONDS = 600


def remember_shown(place: Place, snapshot: Snapshot) -> str:
    """Keep the figures a page showed (no personal data: counts and rates); the token for ``shown_snapshot``."""
    token = secrets.token_urlsafe(16)
    kept = {"place": place.pk, "period": snapshot.period.key, "values": kpi_catalogue.values_of(snapshot)}
    cache.set(f"cockpit:shown:{token}", kept, SHOWN_SECONDS)
    return token


def shown_snapshot(place: Place, period: Period, token: str) -> Snapshot | None:
    """The figures kept under ``token`` if they are this place's and period's (None: gone, or another's)."""
    kept = cache.get(f"cockpit:shown:{token}") if token else None
    if not kept or kept.get("place") != place.pk or kept.get("period") != period.key:
        return None
    return kpi_catalogue.snapshot_of(period, kept["values"])


def cockpit_children(actor: MaybeAnonymousActor, place: Place) -> QuerySet[Place]:
    """The active places right below, for rankings and drill-down (none below a building)."""
    require_reach(actor, Permission.COCKPIT_VIEW, place.path)
    if place.kind in LEAF_KINDS:
        return Place.objects.none()
    return Place.objects.filter(parent_id=place.pk, is_active=True).order_by("name", "pk")


@dataclass(frozen=True)
class RankedPlace:
    place: Place
    values: dict[str, FigureValue]


@dataclass(frozen=True)
class Ranking:
    key: str
    figure_name: Any
    rows: list[tuple[int, RankedPlace, FigureValue]]  # (rank, place, value); places without a value last, unranked


def _groups_of(keys: tuple[str, ...]) -> set[str]:
    registered = kpi_catalogue.figures()
    return {registered[key][0].key for key in keys if key in registered}


def cockpit_rankings(
    actor: MaybeAnonymousActor, place: Place, period: Period
) -> tuple[list[RankedPlace], list[Ranking]]:
    """The places right below (at most ``MOST_RANKED``) with the ranked figures, and one ranking per figure:
    highest first, equal values share a rank, a rate with nothing to rate ("—") comes last without a rank."""
    children = list(cockpit_children(actor, place)[:MOST_RANKED])
    registered = kpi_catalogue.figures()
    by_place: dict[int, dict[str, FigureValue]] = {child.pk: {} for child in children}
    slow = []
    for key in RANKED_FIGURES:
        if key not in registered:
            continue
        found = _values_for_places(key, children, period)
        if found is None:
            slow.append(key)
            continue
        group, figure = registered[key]
        for child in children:
            by_place[child.pk][key] = FigureValue(key, group, figure, found[child.pk])
    if slow:
        wanted = _groups_of(tuple(slow))
        for child in children:
            values = kpi_catalogue.compute(child, period, only=wanted).values
            by_place[child.pk].update({key: values[key] for key in slow if key in values})
    ranked = [RankedPlace(child, by_place[child.pk]) for child in children]
    rankings = []
    for key in RANKED_FIGURES:
        if key not in registered:
            continue
        with_number = [row for row in ranked if row.values[key].number is not None]
        without = [row for row in ranked if row.values[key].number is None]
        with_number.sort(key=lambda row: (-row.values[key].number, row.place.name, row.place.pk))  # type: ignore[operator]
        rows: list[tuple[int, RankedPlace, FigureValue]] = []
        rank, last_number = 0, None
        for position, row in enumerate(with_number, start=1):
            number = row.values[key].number
            if number != last_number:
                rank, last_number = position, number
            rows.append((rank, row, row.values[key]))
        rows.extend((0, row, row.values[key]) for row in without)
        rankings.append(Ranking(key, registered[key][1].name, rows))
    return ranked, rankings


def trend_months(last_day: date, months: int = TREND_MONTHS) -> list[Period]:
    """The ``months`` calendar months ending with the month of ``last_day``, oldest first."""
    periods = [Period.month(last_day.year, last_day.month)]
    while len(periods) < months:
        periods.append(periods[-1].previous())
    return list(reversed(periods))


@dataclass(frozen=True)
class TrendPoint:
    period: Period
    values: dict[str, FigureValue]


def cockpit_trend(actor: MaybeAnonymousActor, place: Place, period: Period) -> list[TrendPoint]:
    """The trend figures month by month over the twelve months ending with the period's last month."""
    require_reach(actor, Permission.COCKPIT_VIEW, place.path)
    months = trend_months(period.last)
    registered = kpi_catalogue.figures()
    by_month: list[dict[str, FigureValue]] = [{} for _month in months]
    slow = []
    for key in TREND_FIGURES:
        if key not in registered:
            continue
        daily = _values_by_day(key, place, months[0].first, months[-1].last)
        if daily is None:
            slow.append(key)
            continue
        group, figure = registered[key]
        for index, month in enumerate(months):
            total = sum(value for day, value in daily.items() if month.first <= day <= month.last)
            by_month[index][key] = FigureValue(key, group, figure, total)
    if slow:
        wanted = _groups_of(tuple(slow))
        for index, month in enumerate(months):
            values = kpi_catalogue.compute(place, month, only=wanted).values
            by_month[index].update({key: values[key] for key in slow if key in values})
    return [TrendPoint(month, values) for month, values in zip(months, by_month, strict=True)]


# The ranked and trend figures that their domains also compute for many places, or day by day, in a few queries
# through the same roll-ups as the group function (so the number is the one the group shows). Any other figure
# falls back to the group function per place and month.


def _values_for_places(key: str, places: list[Place], period: Period) -> dict[int, Any] | None:
    if key == "points.ledger.issued":
        from gongzhi.points.kpis import issued_for_places

        return issued_for_places(places, period)
    if key == "cases.cases.on_time":
        from gongzhi.cases.kpis import case_figures_for_places

        return {pk: figures.on_time for pk, figures in case_figures_for_places(places, period).items()}
    return None


def _values_by_day(key: str, place: Place, first: date, last: date) -> dict[date, int] | None:
    if key == "points.ledger.issued":
        from gongzhi.points.kpis import issued_by_day

        return issued_by_day(place, first, last)
    if key == "cases.cases.received":
        from gongzhi.cases.kpis import received_by_day

        return received_by_day(place, first, last)
    return None
