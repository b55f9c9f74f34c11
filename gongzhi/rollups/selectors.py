"""Reading the roll-ups: a measure for places and a range of days, exact at every moment.

``totals(source_key, places, first, last, keys)`` answers, per place (and per day if asked), the sum of each
measure over the place's subtree and the days ``first``..``last`` (``first=None``: from the beginning): the
clean days from ``DailyTotal`` (one index range scan), plus the raw rows the totals do not hold yet (see
``gongzhi.rollups.sources``), aggregated by the same expressions the job rolled up. A place below the rolled levels
(an entrance, a household), or a source never built, is counted from the raw rows alone. Pure reads; the caller has
checked that the actor may see the places.

A page that reads many figures wraps them in ``one_snapshot()``: every read inside sees one state of the database
(so a roll-up run committing between the watermarks, the live rows and the totals of a figure cannot count a row
twice or miss it) and each source's coverage is read once for the page rather than once per figure.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

from django.db import connections, router, transaction
from django.db.models import F, Q, QuerySet, Sum

from gongzhi.core.tree import collapse_prefixes, subtree_q

from .models import DailyTotal, RollupState
from .sources import ROLLED_KINDS, Measure, Source, days_q, source

EARLIEST = date(1900, 1, 1)
T = TypeVar("T")
Key = tuple[int, date | None]  # (place id, day or None when not by day)


@dataclass(frozen=True)
class Coverage:
    """What a source's totals hold at the moment of reading."""

    state: RollupState | None
    dirty: frozenset[date]

    @property
    def built(self) -> bool:
        return self.state is not None and self.state.built_at is not None


def changed_days(source: Source, built_to: int, changes_to: int) -> set[date]:
    """Days of the rows new (pk > built_to) or changed (a change record pk > changes_to) since those watermarks."""
    model = source.rows().model
    # Two queries rather than one OR: each is an index range scan (new rows by pk; changed rows by the change
    # records' pk), where the OR would read the whole table.
    conditions = [Q(pk__gt=built_to)]
    if source.changes is not None:
        conditions.append(Q(pk__in=source.changes().filter(pk__gt=changes_to).values(source.change_row)))
    found: set[date] = set()
    for condition in conditions:
        rows = model._default_manager.filter(condition).annotate(r_day=source.day)
        found |= {day for day in rows.values_list("r_day", flat=True).order_by().distinct() if day is not None}
    return found


# Inside ``one_snapshot()``: what each source's roll-up state was found to be so far (None outside).
_covered: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "gongzhi_rollup_coverage", default=None
)


def remembered(key: str, read: Callable[[], T]) -> T:
    """``read()``, once per ``key`` inside ``one_snapshot()`` (every time outside)."""
    memo = _covered.get()
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]


@contextlib.contextmanager
def one_snapshot() -> Iterator[None]:
    """Every roll-up read inside the block sees one state of the database, and reads each source's coverage once.

    On PostgreSQL outside a transaction the block is one REPEATABLE READ transaction on the database the reads go
    to (the replica inside ``reading_from_replica()``); inside an enclosing transaction (a service, a test) that
    transaction already holds one state. Elsewhere (SQLite in autocommit, the embedded default) the block changes
    nothing: each figure reads its own coverage, as outside. Nested blocks share the outer one."""
    if _covered.get() is not None:
        yield
        return
    alias = router.db_for_read(DailyTotal)
    connection = connections[alias]
    if connection.in_atomic_block:
        token = _covered.set({})
        try:
            yield
        finally:
            _covered.reset(token)
    elif connection.vendor == "postgresql":
        with transaction.atomic(using=alias):
            with connection.cursor() as cursor:
                # The first statement of the transaction, as PostgreSQL requires.
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            token = _covered.set({})
            try:
                yield
            finally:
                _covered.reset(token)
    else:
        yield


def coverage(source: Source) -> Coverage:
    """What the source's totals hold now (inside ``one_snapshot()``: as read first in the block)."""
    return remembered(f"coverage:{source.key}", lambda: _coverage(source))


def _coverage(source: Source) -> Coverage:
    state = RollupState.objects.filter(source=source.key).first()
    if state is None or state.built_at is None or source.append_only:
        return Coverage(state, frozenset())
    dirty = changed_days(source, state.built_to, state.changes_to)
    return Coverage(state, frozenset(day for day in dirty if state.built_through and day <= state.built_through))


def _live_q(source: Source, cover: Coverage, first: date, last: date) -> Q:
    """The raw rows of first..last that the totals do not hold."""
    state = cover.state
    assert state is not None
    if source.append_only:
        return Q(pk__gt=state.built_to) & source.days(first, last)
    through = state.built_through or (first - timedelta(days=1))
    days = {day for day in cover.dirty if first <= day <= last}
    day = max(first, through + timedelta(days=1))
    condition = days_q(source, days)
    if day <= last:
        condition |= source.days(day, last)
    return condition


def _aggregate(
    source: Source, measures: Sequence[Measure], rows: QuerySet, places: Sequence[Any], by_day: bool
) -> dict[Key, dict[str, int]]:
    """The measures over ``rows``, per place of ``places`` (by path prefix) and per day if asked."""
    result: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    grouping: dict[str, Any] = {"r_path": F(source.path)}
    if by_day:
        grouping["r_day"] = source.day
    by_path = sorted(places, key=lambda place: -len(place.path))

    def owner(path: str) -> Any:
        return next((place for place in by_path if (path or "").startswith(place.path)), None)

    plain = [measure for measure in measures if measure.split is None]
    queries: list[tuple[list[Measure], dict[str, Any]]] = [(plain, grouping)] if plain else []
    queries += [([measure], {**grouping, "r_split": measure.split}) for measure in measures if measure.split]
    for group, columns in queries:
        aggregates = {f"m{index}": measure.value for index, measure in enumerate(group)}
        for row in rows.values(**columns).annotate(**aggregates).order_by():
            place = owner(row["r_path"])
            if place is None:
                continue
            key = (place.pk, row.get("r_day") if by_day else None)
            for index, measure in enumerate(group):
                value = int(row[f"m{index}"] or 0)
                name = f"{measure.key}:{row['r_split'] or ''}" if measure.split is not None else measure.key
                result[key][name] += value
    return result


def totals(
    source_key: str,
    places: Sequence[Any],
    first: date | None,
    last: date,
    keys: Iterable[str],
    *,
    by_day: bool = False,
) -> dict[Key, dict[str, int]]:
    """Each measure of ``keys`` per place of ``places`` (and per day with ``by_day``) over first..last.

    Split measures answer one entry per value, ``"<key>:<value>"``. A (place, day) with nothing has no entry."""
    found = source(source_key)
    measures = [found.measure(key) for key in keys]
    first = first or EARLIEST
    if not places:
        return {}
    cover = coverage(found)
    under = Q(pk__in=[])
    for prefix in collapse_prefixes([place.path for place in places]):
        under |= subtree_q(prefix, found.path)
    if not cover.built or any(place.kind not in ROLLED_KINDS for place in places):
        return _aggregate(found, measures, found.rows().filter(under, found.days(first, last)), places, by_day)
    result = _aggregate(found, measures, found.rows().filter(under, _live_q(found, cover, first, last)), places, by_day)
    state = cover.state
    assert state is not None
    rolled_last = last if found.append_only else min(last, state.built_through or EARLIEST)
    if rolled_last < first:
        return result
    wanted = Q(measure__in=[measure.key for measure in measures if measure.split is None])
    for measure in measures:
        if measure.split is not None:
            wanted |= split_q(measure.key)
    rows = DailyTotal.objects.filter(
        wanted, place_id__in=[place.pk for place in places], day__gte=first, day__lte=rolled_last
    ).exclude(day__in=sorted(cover.dirty))
    columns = ["place_id", "measure", "day"] if by_day else ["place_id", "measure"]
    for row in rows.values(*columns).annotate(total=Sum("value")).order_by():
        key = (row["place_id"], row["day"] if by_day else None)
        result.setdefault(key, defaultdict(int))
        result[key][row["measure"]] += int(row["total"])
    return result


def split_q(key: str) -> Q:
    """The totals of a split measure, every "<key>:<value>": a range of the index rather than a LIKE, which the
    planner would not combine with the place and the days."""
    # ";" is the character after ":", so the range holds exactly the keys that start with "<key>:".
    return Q(measure__gte=f"{key}:", measure__lt=f"{key};")


def place_totals(source_key: str, place: Any, first: date | None, last: date, keys: Iterable[str]) -> dict[str, int]:
    """The measures of ``keys`` for one place over first..last (missing measures: 0)."""
    keys = list(keys)
    found = totals(source_key, [place], first, last, keys).get((place.pk, None), {})
    values = {key: 0 for key in keys}
    values.update(found)
    return values


def split_of(values: dict[str, int], key: str) -> dict[str, int]:
    """The per-value entries of a split measure: {"<key>:a": 3} → {"a": 3}."""
    prefix = f"{key}:"
    return {name[len(prefix) :]: value for name, value in values.items() if name.startswith(prefix)}
