"""Distinct counts through the roll-ups: how many different people (or households) a set of rows names.

A distinct count cannot be summed from daily totals (the same person earns on many days). A domain declares, in
its ``kpis.py``, ``DISTINCT_SOURCES = (DistinctSource(...), ...)``: append-only rows (e.g. ledger entries), the
expression of whom a row counts (``subject``), the row's place path and local day. The roll-up job then keeps:

- ``FirstSeen``: each subject once per calendar bucket (the week, month, quarter and year it falls in; Monday
  weeks as ``Period.week``) or, for a cumulative source, once for ever with the first day it was seen;
- ``DailyTotal``: the number of subjects first seen, per rolled place above the subject's row and per bucket start
  (cumulative: per first day). Since each subject is recorded once per bucket, these numbers add up.

A figure for a place and a week, month, quarter or year is then one ``DailyTotal`` row (cumulative, up to a day:
a range of them) plus the subjects of the rows posted since the last run (``pk > built_to``) that ``FirstSeen``
does not hold yet for that bucket (an anti-join of a primary-key range: the rows of the last hour). A custom range,
a place below the rolled levels or a source never built is counted from the raw rows. Exact at every moment, like
``gongzhi.rollups.sources`` (the same lagging watermark: a run takes rows up to the highest pk the previous run saw).

A subject is attributed to the place path of the first row that counted it. A subject whose rows lie under two
places (a resident with two accounts opened in different homes) is therefore counted under the first one only;
the district's figure is exact in any case.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import CharField, Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, TruncMonth, TruncQuarter, TruncWeek, TruncYear

from gongzhi.core.figures import Period, PeriodKind
from gongzhi.core.kpi_catalogue import declared_by_apps
from gongzhi.core.tree import path_ids, subtree_q
from gongzhi.places.models import Place

from .locks import lock_state
from .models import DailyTotal, FirstSeen, RollupState
from .selectors import remembered
from .sources import ROLLED_KINDS, ancestors_join

EVER = "ever"
ORIGIN = date(1900, 1, 1)
BUCKETS: dict[str, Any] = {
    PeriodKind.WEEK: TruncWeek,
    PeriodKind.MONTH: TruncMonth,
    PeriodKind.QUARTER: TruncQuarter,
    PeriodKind.YEAR: TruncYear,
}


@dataclass(frozen=True)
class DistinctSource:
    key: str
    rows: Callable[[], QuerySet]  # append-only rows that count (never updated)
    subject: str  # lookup of whom a row counts, e.g. "account__resident_id"; rows where it is NULL or "" don't
    path: str  # lookup of the row's place path
    day: str  # lookup of the row's local day (a date column)
    cumulative: bool = False  # count subjects seen on or before a day, rather than within a calendar bucket

    @property
    def kinds(self) -> tuple[str, ...]:
        return (EVER,) if self.cumulative else tuple(BUCKETS)

    def measure(self, kind: str) -> str:
        return f"{self.key}.{kind}"

    def counted(self) -> QuerySet:
        """The rows that name a subject, with it as text (``fs_subject``)."""
        return (
            self.rows()
            .annotate(fs_subject=Cast(F(self.subject), CharField()))
            .exclude(fs_subject__isnull=True)
            .exclude(fs_subject="")
        )


@cache
def distinct_sources() -> tuple[DistinctSource, ...]:
    """Every installed gongzhi app's ``kpis.DISTINCT_SOURCES``, in INSTALLED_APPS order."""
    return tuple(found for declared in declared_by_apps("DISTINCT_SOURCES") for found in declared)


def distinct_source(key: str) -> DistinctSource:
    return next(candidate for candidate in distinct_sources() if candidate.key == key)


# ---------------------------------------------------------------- building


def _first_seen_sql(source: DistinctSource, kind: str, condition: Q) -> tuple[str, list]:
    """INSERT of each (bucket, subject) of the rows matching ``condition`` not recorded yet."""
    bucket = Value(ORIGIN) if kind == EVER else BUCKETS[kind](F(source.day))
    grouped = (
        source.counted()
        .filter(condition)
        .values("fs_subject", fs_bucket=bucket)
        .annotate(fs_path=Min(F(source.path)), fs_day=Min(F(source.day)))
        .order_by()
    )
    inner, params = grouped.query.sql_with_params()
    sql = (
        "INSERT INTO rollups_firstseen (measure, bucket, subject, place_path, day) "
        f"SELECT %s, g.fs_bucket, g.fs_subject, g.fs_path, g.fs_day FROM ({inner}) g WHERE g.fs_bucket IS NOT NULL "
        "ON CONFLICT (measure, bucket, subject) DO NOTHING"
    )
    return sql, [source.measure(kind), *params]


def _totals_from_first_seen_sql(after: int, measures: list[str]) -> tuple[str, list]:
    """INSERT into the daily totals of the subjects recorded after ``after`` (bucket start, or first day)."""
    kinds = ", ".join(["%s"] * len(ROLLED_KINDS))
    names = ", ".join(["%s"] * len(measures))
    sql = (
        "INSERT INTO rollups_dailytotal (measure, place_id, day, value) "
        "SELECT f.measure, p.id, CASE WHEN f.bucket = %s THEN f.day ELSE f.bucket END, COUNT(*) "
        f"FROM rollups_firstseen f {ancestors_join('f.place_path')} "
        f"WHERE f.id > %s AND f.measure IN ({names}) AND p.kind IN ({kinds}) GROUP BY 1, 2, 3 "
        "ON CONFLICT (measure, place_id, day) DO UPDATE SET value = rollups_dailytotal.value + excluded.value"
    )
    return sql, [ORIGIN, after, *measures, *[str(kind) for kind in ROLLED_KINDS]]


def _rolled_places(paths: set[str]) -> dict[str, list[int]]:
    """The rolled places along each path (the places whose totals a subject of that path is added to)."""
    ids = {place_id for path in paths for place_id in path_ids(path)}
    rolled = set(Place.objects.filter(pk__in=ids, kind__in=ROLLED_KINDS).values_list("pk", flat=True))
    return {path: [place_id for place_id in path_ids(path) if place_id in rolled] for path in paths}


def _add_totals(deltas: dict[tuple[str, int, date], int]) -> None:
    rows = [(measure, place_id, day, value) for (measure, place_id, day), value in deltas.items() if value]
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO rollups_dailytotal (measure, place_id, day, value) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (measure, place_id, day) DO UPDATE SET value = rollups_dailytotal.value + excluded.value",
            rows,
        )


def _move_earlier(source: DistinctSource, condition: Q) -> int:
    """Cumulative sources: subjects already recorded that the new rows show seen earlier (a back-dated row) move
    to the earlier day, their totals with them. Returns how many moved."""
    measure = source.measure(EVER)
    recorded = FirstSeen.objects.filter(measure=measure, bucket=ORIGIN)
    if not recorded.exists():
        return 0
    earliest = dict(
        source.counted()
        .filter(condition)
        .values("fs_subject")
        .annotate(first=Min(F(source.day)))
        .order_by()
        .values_list("fs_subject", "first")
    )
    moved: list[tuple[FirstSeen, date]] = []
    subjects = sorted(earliest)
    for start in range(0, len(subjects), 500):
        for seen in recorded.filter(subject__in=subjects[start : start + 500]):
            if earliest[seen.subject] < seen.day:
                moved.append((seen, earliest[seen.subject]))
    if not moved:
        return 0
    places = _rolled_places({seen.place_path for seen, _day in moved})
    deltas: dict[tuple[str, int, date], int] = defaultdict(int)
    for seen, day in moved:
        for place_id in places[seen.place_path]:
            deltas[(measure, place_id, seen.day)] -= 1
            deltas[(measure, place_id, day)] += 1
        FirstSeen.objects.filter(pk=seen.pk).update(day=day)
    _add_totals(deltas)
    return len(moved)


def _measure_rows(source: DistinctSource) -> QuerySet:
    return DailyTotal.objects.filter(measure__in=[source.measure(kind) for kind in source.kinds])


def rollup_distinct_source(source: DistinctSource, *, now: datetime, rebuild: bool = False) -> dict[str, Any]:
    """Bring one distinct source's first-seen records and totals up to date; idempotent."""
    with transaction.atomic():
        state = lock_state(source.key)
        if rebuild:
            _measure_rows(source).delete()
            FirstSeen.objects.filter(measure__in=[source.measure(kind) for kind in source.kinds]).delete()
            state.built_to = state.observed = 0
            state.built_at = None
        model = source.rows().model
        highest = model._default_manager.aggregate(top=Max("pk"))["top"] or 0
        upto = highest if state.built_at is None else max(state.observed, state.built_to)
        report: dict[str, Any] = {
            "source": source.key,
            "rows": max(upto - state.built_to, 0),
            "first": state.built_at is None,
        }
        if upto > state.built_to:
            condition = Q(pk__gt=state.built_to, pk__lte=upto)
            before = FirstSeen.objects.aggregate(top=Max("pk"))["top"] or 0
            if source.cumulative:
                report["moved"] = _move_earlier(source, condition)
            with connection.cursor() as cursor:
                for kind in source.kinds:
                    cursor.execute(*_first_seen_sql(source, kind, condition))
                cursor.execute(*_totals_from_first_seen_sql(before, [source.measure(kind) for kind in source.kinds]))
            state.built_to = upto
        state.observed = highest
        state.built_at = now
        state.save()
    return report


# ---------------------------------------------------------------- reading


def _state(source: DistinctSource) -> RollupState | None:
    def read() -> RollupState | None:
        state = RollupState.objects.filter(source=source.key).first()
        return state if state is not None and state.built_at is not None else None

    return remembered(f"distinct:{source.key}", read)


def _raw_count(source: DistinctSource, place: Place, first: date, last: date) -> int:
    rows = source.counted().filter(
        subtree_q(place.path, source.path), **{f"{source.day}__gte": first, f"{source.day}__lte": last}
    )
    return rows.aggregate(subjects=Count("fs_subject", distinct=True))["subjects"]


def _live_count(source: DistinctSource, state: RollupState, place: Place, first: date, last: date, seen: Q) -> int:
    """Subjects of the rows since the last run, under the place and in first..last, not yet recorded."""
    recorded = FirstSeen.objects.filter(seen, subject=OuterRef("fs_subject"))
    rows = source.counted().filter(
        subtree_q(place.path, source.path),
        ~Exists(recorded),
        pk__gt=state.built_to,
        **{f"{source.day}__gte": first, f"{source.day}__lte": last},
    )
    return rows.aggregate(subjects=Count("fs_subject", distinct=True))["subjects"]


def distinct_in_period(key: str, place: Place, period: Period) -> int:
    """The distinct subjects of the rows under the place in the period (a bucketed source)."""
    source = distinct_source(key)
    state = _state(source)
    if state is None or period.kind not in BUCKETS or place.kind not in ROLLED_KINDS:
        return _raw_count(source, place, period.first, period.last)
    measure = source.measure(period.kind)
    rolled = DailyTotal.objects.filter(measure=measure, place_id=place.pk, day=period.first).values_list(
        "value", flat=True
    )
    seen = Q(measure=measure, bucket=period.first)
    return sum(rolled) + _live_count(source, state, place, period.first, period.last, seen)


def distinct_through(key: str, place: Place, last: date) -> int:
    """The distinct subjects of the rows under the place on or before ``last`` (a cumulative source)."""
    source = distinct_source(key)
    state = _state(source)
    if state is None or place.kind not in ROLLED_KINDS:
        return _raw_count(source, place, ORIGIN, last)
    measure = source.measure(EVER)
    rolled = DailyTotal.objects.filter(measure=measure, place_id=place.pk, day__lte=last).aggregate(
        total=Sum("value", default=0)
    )["total"]
    seen = Q(measure=measure, bucket=ORIGIN, day__lte=last)
    return int(rolled) + _live_count(source, state, place, ORIGIN, last, seen)


# ---------------------------------------------------------------- checking (gongzhi kpi_check)


def check_distinct(source: DistinctSource) -> list[str]:
    """The first-seen records against the raw rows the totals hold, and the totals against the records."""
    state = _state(source)
    if state is None:
        return []
    problems = []
    held = source.counted().filter(pk__lte=state.built_to)
    for kind in source.kinds:
        measure = source.measure(kind)
        bucket = Value(ORIGIN) if kind == EVER else BUCKETS[kind](F(source.day))
        raw = {
            (row["fs_bucket"], row["fs_subject"]): row["first"]
            for row in held.values("fs_subject", fs_bucket=bucket).annotate(first=Min(F(source.day))).order_by()
        }
        kept = {
            (row[0], row[1]): row[2]
            for row in FirstSeen.objects.filter(measure=measure).values_list("bucket", "subject", "day")
        }
        for missing in sorted(set(raw) - set(kept), key=str)[:20]:
            problems.append(f"{measure} {missing[0]} {missing[1]}: in the rows, not recorded")
        for extra in sorted(set(kept) - set(raw), key=str)[:20]:
            problems.append(f"{measure} {extra[0]} {extra[1]}: recorded, not in the rows")
        if kind == EVER:
            for subject_key in sorted(set(raw) & set(kept), key=str):
                if raw[subject_key] != kept[subject_key]:
                    problems.append(
                        f"{measure} {subject_key[1]}: first seen {kept[subject_key]}, the rows say {raw[subject_key]}"
                    )
        records = FirstSeen.objects.filter(measure=measure)
        paths = _rolled_places(set(records.values_list("place_path", flat=True)))
        expected: dict[tuple[int, date], int] = defaultdict(int)
        for bucket_day, day, path in records.values_list("bucket", "day", "place_path"):
            for place_id in paths[path]:
                expected[(place_id, day if kind == EVER else bucket_day)] += 1
        stored = {
            (row[0], row[1]): row[2]
            for row in DailyTotal.objects.filter(measure=measure).values_list("place_id", "day", "value")
        }
        for total_key in sorted(set(expected) | set(stored), key=str):
            if expected.get(total_key, 0) != stored.get(total_key, 0):
                problems.append(
                    f"{measure} place {total_key[0]} {total_key[1]}: rolled up {stored.get(total_key, 0)}, "
                    f"recounted {expected.get(total_key, 0)}"
                )
    return problems
