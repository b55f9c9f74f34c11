"""Roll-up sources: how a domain's raw records become daily totals, and how a figure adds what the totals lack.

A domain declares, in its ``kpis.py``, ``ROLLUP_SOURCES = (Source(...), ...)``: the raw rows (a queryset), the
lookup of each row's place path, the expression of its local day, a ``Q`` selecting the rows of a range of days,
and its measures (aggregates, each with a full key such as ``points.ledger.issued``; a measure with ``split`` is
kept per value of that expression, key ``<key>:<value>``, e.g. issued per category).

Two kinds of source, so that a figure is exact at every moment without touching the write path:

- **append-only** (``changes is None``: rows are never updated, e.g. ledger entries). The totals hold exactly the
  rows with ``pk <= state.built_to``; a figure is the totals plus the same aggregate over ``pk > built_to`` (one
  primary-key range scan of the rows posted since the last run). A back-dated posting (a reversal or adjustment
  effective in an earlier month) is one of those rows until the next run merges it into its own day.
- **changing** (rows are updated, with a change record per update, e.g. cases and their trail). The totals hold
  the days up to ``state.built_through`` as the last run saw them; a day is *dirty* when a row of that day is new
  (``pk > built_to``) or changed (a change record ``pk > changes_to``), e.g. a case closed late makes its
  submission day dirty. A figure is the totals of the clean days plus the raw count of the dirty days and of the
  days after ``built_through`` (today). The next run rebuilds the dirty days (delete + insert, one transaction).

The watermarks lag one run (``observed``): a run rolls up to the highest pk seen by the *previous* run, by which
time every transaction that took a lower pk has committed, so no row is skipped by commit order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet, Sum, Value
from django.db.models.functions import TruncDate
from django.utils import timezone

from gongzhi.core.figures import Period
from gongzhi.core.kpi_catalogue import declared_by_apps
from gongzhi.places.models import PlaceKind

# Totals are kept for the levels whose subtrees grow with the district: the district, its streets and their
# communities. Below a community (areas, grids, compounds, buildings, households) a subtree holds a few hundred
# homes, and its figures are counted from the raw records through the path and date indexes; keeping daily totals
# for every grid and building would multiply the totals twenty-fold (one row per building and day and measure)
# for figures that are cheap to count.
ROLLED_KINDS = (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY)


@dataclass(frozen=True)
class Measure:
    key: str
    # An aggregate over the source's rows that is NULL when no row counts (Sum with a filter; a count is
    # Sum(Value(1), filter=...)), so that no total is stored for (place, day) pairs without any.
    value: Any
    split: Any = None  # an expression: the measure is kept per its value, key "<key>:<value>"


@dataclass(frozen=True)
class Source:
    key: str
    rows: Callable[[], QuerySet]
    path: str  # lookup of the row's place path, e.g. "account__place_path"
    day: Any  # expression of the row's local day
    days: Callable[[date, date], Q]  # the rows whose day lies in first..last (served by the raw indexes)
    measures: tuple[Measure, ...]
    changes: Callable[[], QuerySet] | None = None  # change records (pk grows with time), for changing sources
    change_row: str = ""  # the change record's field naming the changed row, e.g. "case_id"

    @property
    def append_only(self) -> bool:
        return self.changes is None

    def measure(self, key: str) -> Measure:
        return next(measure for measure in self.measures if measure.key == key)


# ---------------------------------------------------------------- helpers for declaring a source


def count_of(condition: Q | None = None) -> Sum:
    """A measure counting the rows (that match ``condition``): NULL when none does, so no total is stored."""
    return Sum(Value(1), filter=condition)


def local_day(field: str) -> TruncDate:
    """A source's ``day``: the local day of a timestamp."""
    return TruncDate(field, tzinfo=timezone.get_default_timezone())


def moment_days(field: str) -> Callable[[date, date], Q]:
    """A source's ``days``: the rows whose timestamp falls on the local days first..last."""

    def days(first: date, last: date) -> Q:
        span = Period.custom(first, last)
        return Q(**{f"{field}__gte": span.start, f"{field}__lt": span.end})

    return days


@cache
def sources() -> tuple[Source, ...]:
    """Every installed gongzhi app's ``kpis.ROLLUP_SOURCES``, in INSTALLED_APPS order."""
    return tuple(found for declared in declared_by_apps("ROLLUP_SOURCES") for found in declared)


def source(key: str) -> Source:
    return next(candidate for candidate in sources() if candidate.key == key)


# ---------------------------------------------------------------- SQL of the build


def ancestors_join(path_column: str) -> str:
    """FROM-clause fragment giving ``anc_id``: every place id along a row's path (the row's ancestors)."""
    if connection.vendor == "postgresql":
        return (
            f"CROSS JOIN LATERAL unnest(string_to_array(trim(both '/' from {path_column}), '/')) AS anc(id_text) "
            "JOIN places_place p ON p.id = anc.id_text::bigint"
        )
    return (
        f"JOIN json_each('[' || replace(trim({path_column}, '/'), '/', ',') || ']') AS anc "
        "JOIN places_place p ON p.id = anc.value"
    )


def select_totals_sql(source: Source, measure: Measure, condition: Q) -> tuple[str, list]:
    """SELECT (measure key, place id, day, value): the measure over the rows matching ``condition``, grouped by
    each rolled ancestor of the row's place and the row's day."""
    from django.db.models import F

    grouping: dict[str, Any] = {"r_path": F(source.path), "r_day": source.day}
    if measure.split is not None:
        grouping["r_split"] = measure.split
    grouped = source.rows().filter(condition).values(**grouping).annotate(r_value=measure.value).order_by()
    inner, params = grouped.query.sql_with_params()
    key_sql = "%s || COALESCE(g.r_split, '')" if measure.split is not None else "%s"
    key = f"{measure.key}:" if measure.split is not None else measure.key
    kinds = ", ".join(["%s"] * len(ROLLED_KINDS))
    sql = (
        f"SELECT {key_sql}, p.id, g.r_day, SUM(g.r_value) FROM ({inner}) g {ancestors_join('g.r_path')} "
        f"WHERE p.kind IN ({kinds}) AND g.r_value IS NOT NULL AND g.r_day IS NOT NULL "
        "GROUP BY 1, 2, 3"
    )
    return sql, [key, *params, *[str(kind) for kind in ROLLED_KINDS]]


def insert_totals_sql(source: Source, measure: Measure, condition: Q, *, add: bool) -> tuple[str, list]:
    """One INSERT ... SELECT of ``select_totals_sql``.

    ``add``: merge into existing totals (append-only sources); otherwise the caller has deleted the days first."""
    select, params = select_totals_sql(source, measure, condition)
    sql = f"INSERT INTO rollups_dailytotal (measure, place_id, day, value) {select}"
    if add:
        sql += " ON CONFLICT (measure, place_id, day) DO UPDATE SET value = rollups_dailytotal.value + excluded.value"
    return sql, params


def day_runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) ranges: {1, 2, 3, 7} → [(1, 3), (7, 7)]."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def days_q(source: Source, days: Iterable[date]) -> Q:
    """Rows of any of ``days`` (one range per run of consecutive days); no days: nothing."""
    condition = Q(pk__in=[])
    for first, last in day_runs(days):
        condition |= source.days(first, last)
    return condition
