"""Building the roll-ups (the job and ``gongzhi kpi_check --rebuild`` call these; nothing else writes totals).

Each source is built in one transaction holding its ``RollupState`` row (so two runs of the job never interleave
on a source), and every run is idempotent: run twice, the second finds nothing new and changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from .distinct import distinct_sources, rollup_distinct_source
from .locks import lock_state
from .models import DailyTotal
from .selectors import EARLIEST, changed_days, split_q
from .sources import Source, days_q, insert_totals_sql, sources


def _measure_rows(source: Source):
    condition = Q()
    for measure in source.measures:
        condition |= Q(measure=measure.key) | split_q(measure.key)
    return DailyTotal.objects.filter(condition)


def _insert(source: Source, condition: Q, *, add: bool) -> None:
    with connection.cursor() as cursor:
        for measure in source.measures:
            sql, params = insert_totals_sql(source, measure, condition, add=add)
            cursor.execute(sql, params)


def rollup_source(source: Source, *, now: datetime, rebuild: bool = False) -> dict[str, Any]:
    """Bring one source's totals up to date (see ``gongzhi.rollups.sources`` for what "up to date" means)."""
    with transaction.atomic():
        state = lock_state(source.key)
        if rebuild:
            _measure_rows(source).delete()
            state.built_to = state.observed = state.changes_to = state.changes_observed = 0
            state.built_through, state.built_at = None, None
        model = source.rows().model
        highest = model._default_manager.aggregate(top=Max("pk"))["top"] or 0
        first_run = state.built_at is None
        # Roll up to the highest pk the previous run saw (every lower pk has committed by now); the first run
        # takes everything it sees.
        upto = highest if first_run else max(state.observed, state.built_to)
        report: dict[str, Any] = {"source": source.key, "first": first_run}
        if source.append_only:
            if upto > state.built_to:
                _insert(source, Q(pk__gt=state.built_to, pk__lte=upto), add=True)
            report["rows"] = upto - state.built_to
            state.built_to = upto
        else:
            changes = source.changes() if source.changes is not None else None
            highest_change = (changes.aggregate(top=Max("pk"))["top"] or 0) if changes is not None else 0
            through = timezone.localdate(now) - timedelta(days=1)
            if first_run:
                _measure_rows(source).delete()
                _insert(source, source.days(EARLIEST, through), add=False)
                report["days"] = "all"
                state.built_to, state.changes_to = highest, highest_change
            else:
                dirty = {
                    day
                    for day in changed_days(source, state.built_to, state.changes_to)
                    if day <= (state.built_through or through)
                }
                start = (state.built_through or through) + timedelta(days=1)
                dirty |= {start + timedelta(days=offset) for offset in range((through - start).days + 1)}
                if dirty:
                    _measure_rows(source).filter(day__in=sorted(dirty)).delete()
                    _insert(source, days_q(source, dirty), add=False)
                report["days"] = len(dirty)
                state.built_to = max(state.built_to, min(upto, highest))
                state.changes_to = max(state.changes_to, state.changes_observed)
            state.changes_observed = highest_change
            state.built_through = through
        state.observed = highest
        state.built_at = now
        state.save()
    return report


def rollups_build(*, now: datetime, rebuild: bool = False) -> list[dict[str, Any]]:
    """Bring every registered source up to date, distinct counts included (``rebuild``: recompute every total
    from the raw records)."""
    reports = [rollup_source(found, now=now, rebuild=rebuild) for found in sources()]
    reports += [rollup_distinct_source(found, now=now, rebuild=rebuild) for found in distinct_sources()]
    if connection.vendor == "postgresql" and any(report.get("first") for report in reports):
        # A first build (or a rebuild) fills the tables from nothing: until autovacuum samples them, the planner
        # takes them for empty and reads the first-seen records in full for every live row (80 ms instead of 1 ms
        # at 100,000 postings). Later runs add a day's rows, which autovacuum's own sampling follows.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE rollups_dailytotal, rollups_firstseen")
    return reports
