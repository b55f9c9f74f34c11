"""``gongzhi kpi_check``: the roll-ups against a recount from the raw records.

Three checks, all must find nothing:
1. every daily total the readers use (append-only sources: rows up to ``built_to``; changing sources: clean days up
   to ``built_through``) equals the same measure recounted from the raw rows now;
2. every rolled figure group (``ROLLUP_CHECKS`` of the domains: the group function the cockpit calls and its raw
   recount, separate code) gives the same values for the top places and the places right below them, for the month
   and the year of each day given (default: today), so the live part of a figure is checked as well;
3. every distinct count's first-seen records equal those of the raw rows, and its totals the records
   (``gongzhi.rollups.distinct.check_distinct``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from datetime import date

from django.apps import apps
from django.db import connection
from django.db.models import Q

from gongzhi.core.figures import Period
from gongzhi.places.models import Place

from .distinct import check_distinct, distinct_sources
from .models import DailyTotal
from .selectors import coverage, split_q
from .sources import ROLLED_KINDS, Source, select_totals_sql, sources


def rollup_checks() -> list[tuple[str, Callable, Callable]]:
    """(group key, the group function, its raw recount) of every installed domain."""
    found = []
    for config in apps.get_app_configs():
        if not config.name.startswith("gongzhi."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.kpis")
        except ModuleNotFoundError:
            continue
        found.extend(getattr(module, "ROLLUP_CHECKS", ()))
    return found


def _day(value) -> date:
    # SQLite answers raw SQL dates as text.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def check_totals(source: Source) -> list[str]:
    cover = coverage(source)
    state = cover.state
    if not cover.built or state is None:
        return []
    if source.append_only:
        condition = Q(pk__lte=state.built_to)
        stored = DailyTotal.objects.all()
    else:
        condition = source.days(date(1900, 1, 1), state.built_through)
        stored = DailyTotal.objects.filter(day__lte=state.built_through)
    problems = []
    for measure in source.measures:
        sql, params = select_totals_sql(source, measure, condition)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            recount = {(key, place_id, _day(day)): int(value) for key, place_id, day, value in cursor.fetchall()}
        mine = stored.filter(Q(measure=measure.key) | split_q(measure.key))
        kept = {(row[0], row[1], row[2]): row[3] for row in mine.values_list("measure", "place_id", "day", "value")}
        for key in sorted(set(recount) | set(kept), key=str):
            day = key[2]
            if day in cover.dirty:
                continue
            if recount.get(key, 0) != kept.get(key, 0):
                problems.append(
                    f"{key[0]} place {key[1]} {day}: rolled up {kept.get(key, 0)}, recounted {recount.get(key, 0)}"
                )
    return problems


def check_figures(days: Iterable[date]) -> list[str]:
    tops = list(Place.objects.filter(parent__isnull=True, is_active=True, kind__in=ROLLED_KINDS).order_by("pk"))
    places = tops + list(Place.objects.filter(parent__in=tops, is_active=True).order_by("pk"))
    periods = {Period.month(day.year, day.month) for day in days} | {Period.year(day.year) for day in days}
    problems = []
    for group_key, figures, recount in rollup_checks():
        for place in places:
            for period in sorted(periods, key=lambda period: (period.first, period.last)):
                shown, counted = figures(place, period), recount(place, period)
                if shown != counted:
                    problems.append(f"{group_key} {place.name} ({place.pk}) {period.key}: {shown} ≠ recount {counted}")
    return problems


def kpi_check(days: Iterable[date]) -> list[str]:
    """Every disagreement between the roll-ups and the raw records (none when all is well)."""
    problems = []
    for found in sources():
        problems += check_totals(found)
    for distinct in distinct_sources():
        problems += check_distinct(distinct)
    return problems + check_figures(list(days))
