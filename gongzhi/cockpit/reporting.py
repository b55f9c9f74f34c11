"""Work reports written in the background, with progress: ask (``report_run_request``), the job writes it
(``report_run_execute``, through ``core.jobs.enqueue``: a thread when embedded, a Celery task in production), the
page polls the run, then the file is downloaded (``report_run_download``, audited).

- Asking twice while a run for the same person, place, period and format waits or is being written returns that
  run (a partial unique constraint keeps one active run; a race on it ends in the same answer). A run whose worker
  died (no progress for ``STALLED_AFTER``) is marked failed when it is asked for again, and a new one starts.
- ``access_report_run(actor, id)``: the run if the actor's ``cockpit.report_generate`` reaches its place, the same
  NotFound whether it is missing or out of reach (a report is the place's figures, not the requester's property).
- The figures are the KPI catalogue's (``kpi_catalogue.compute_group`` per group, the same numbers as the cockpit),
  read from the read replica when there is one (``core.db_router.reading_from_replica``); progress, the file and
  the audit entries are written to the primary.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from gongzhi.core import jobs, kpi_catalogue
from gongzhi.core.access import reach, require_reach
from gongzhi.core.actors import Actor, MaybeAnonymousActor
from gongzhi.core.audit import audit_record
from gongzhi.core.context import Origin, current_origin, origin
from gongzhi.core.db_router import reading_from_replica
from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.figures import Period
from gongzhi.core.kpi_catalogue import DomainValues, FigureValue, Snapshot
from gongzhi.core.roles import Permission
from gongzhi.places.models import Place

from .models import ACTIVE_STATES, ReportFormat, ReportRun, ReportState

logger = logging.getLogger(__name__)

STALLED_AFTER = timedelta(minutes=15)
RUNS_SHOWN = 10
TASK = "gongzhi.cockpit.reporting.report_run_execute"


# ---------------------------------------------------------------- reads


def access_report_run(actor: MaybeAnonymousActor, run_id: Any) -> ReportRun:
    """The run, or NotFound whether it is missing or its place is out of the actor's report reach."""
    try:
        run_id = int(run_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    run = ReportRun.objects.select_related("place").filter(pk=run_id).first()
    if run is None:
        raise NotFound()
    require_reach(actor, Permission.REPORT_GENERATE, run.place.path)
    return run


def report_runs_recent(actor: MaybeAnonymousActor, place: Place) -> QuerySet[ReportRun]:
    """The actor's latest runs for the place (the page lists them to come back to)."""
    if not reach(actor, Permission.REPORT_GENERATE).covers(place.path):
        return ReportRun.objects.none()
    return ReportRun.objects.filter(place=place, requested_by_id=actor.pk).order_by("-requested_at", "-id")[:RUNS_SHOWN]


def report_filename(run: ReportRun) -> str:
    return f"report-{run.place_id}-{run.period_key}.{run.format}"


# ---------------------------------------------------------------- asking


def report_run_request(*, actor: Actor, place: Place, period: Period, format: str, now: datetime) -> ReportRun:
    """Ask for the work report of ``place`` and ``period`` in ``format`` (docx / pdf): a new queued run whose job
    starts once the caller's transaction commits, or the run already waiting or being written for the same ask."""
    require_reach(actor, Permission.REPORT_GENERATE, place.path)
    if format not in ReportFormat.values:
        raise ValidationFailed(fields={"format": _("Choose .docx or PDF.")})
    same = ReportRun.objects.filter(
        requested_by_id=actor.pk, place=place, period_key=period.key, format=format, state__in=ACTIVE_STATES
    )
    with transaction.atomic():
        # A run whose worker died stops blocking new asks.
        for stalled in same.filter(updated_at__lt=now - STALLED_AFTER):
            _fail(stalled, str(_("The report stopped before it was finished. Ask for it again.")), now=now)
        existing = same.first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                run = ReportRun.objects.create(
                    requested_by=actor,
                    place=place,
                    period_key=period.key,
                    period_first=period.first,
                    period_last=period.last,
                    format=format,
                    language=translation.get_language() or "",
                    requested_at=now,
                    updated_at=now,
                )
        except IntegrityError:  # someone (this person, in another tab) asked at the same moment
            found = same.first()
            if found is None:
                raise
            return found
        audit_record(
            actor=actor,
            action="cockpit.report_request",
            target=run,
            place_path=place.path,
            changes={"period": period.key, "format": format},
        )
        where = current_origin()
        jobs.enqueue(TASK, run_id=run.pk, channel=where.channel, source_ip=where.source_ip, user_agent=where.user_agent)
    return run


def _fail(run: ReportRun, message: str, *, now: datetime) -> None:
    ReportRun.objects.filter(pk=run.pk, state__in=ACTIVE_STATES).update(
        state=ReportState.FAILED, error=message, finished_at=now, updated_at=now
    )


# ---------------------------------------------------------------- the job


def _snapshot(place: Place, period: Period, notify: Callable[[int], None]) -> Snapshot:
    """``kpi_catalogue.compute`` group by group, telling ``notify`` how many groups are done."""
    computed: list[DomainValues] = []
    values: dict[str, FigureValue] = {}
    done = 0
    for domain in kpi_catalogue.domains():
        groups = []
        for group in domain.groups:
            group_values = kpi_catalogue.compute_group(group, place, period)
            groups.append(group_values)
            values.update({value.key: value for value in group_values.values})
            done += 1
            notify(done)
        if groups:
            computed.append(DomainValues(domain, tuple(groups)))
    return Snapshot(period=period, domains=tuple(computed), values=values)


def render_report(
    *, place: Place, period: Period, format: str, generated_at: datetime, notify: Callable[[int], None]
) -> bytes:
    """The report's bytes; ``notify(percent)`` as the figures of this period and the previous one are counted."""
    from .report import work_report
    from .report_pdf import work_report_pdf

    total = 2 * sum(len(domain.groups) for domain in kpi_catalogue.domains()) or 1
    with reading_from_replica():
        snapshot = _snapshot(place, period, lambda done: notify(5 + 80 * done // total))
        previous = _snapshot(place, period.previous(), lambda done: notify(5 + 80 * (total // 2 + done) // total))
    notify(90)
    writer = work_report_pdf if format == ReportFormat.PDF else work_report
    return writer(place=place, snapshot=snapshot, previous=previous, generated_at=generated_at)


def report_run_execute(
    *, run_id: int, channel: str = "job", source_ip: str | None = None, user_agent: str = ""
) -> None:
    """The background job: take the queued run, write the report, store the file, mark it done (or failed).

    Runs at most once per run (the conditional queued → running update decides), in the requester's language."""
    now = timezone.now()
    taken = ReportRun.objects.filter(pk=run_id, state=ReportState.QUEUED).update(
        state=ReportState.RUNNING, progress=1, started_at=now, updated_at=now
    )
    if not taken:
        return
    run = ReportRun.objects.select_related("place", "requested_by").get(pk=run_id)
    running = ReportRun.objects.filter(pk=run_id, state=ReportState.RUNNING)

    def notify(percent: int) -> None:
        # Progress is best-effort: a busy database (SQLite's one writer) skips a step rather than fail the report.
        with contextlib.suppress(OperationalError):
            running.update(progress=min(max(percent, 1), 99), updated_at=timezone.now())

    with (
        translation.override(run.language or settings.LANGUAGE_CODE),
        origin(Origin(channel=channel, source_ip=source_ip, user_agent=user_agent)),
    ):
        try:
            if not get_user_model().objects.filter(pk=run.requested_by_id, is_active=True).exists():
                raise NotFound()
            require_reach(run.requested_by, Permission.REPORT_GENERATE, run.place.path)
            period = Period.from_key(run.period_key)
            content = render_report(
                place=run.place,
                period=period,
                format=run.format,
                generated_at=timezone.localtime(),
                notify=notify,
            )
            filename = report_filename(run)
            run.file.save(filename, ContentFile(content), save=False)
            _with_retries(lambda: _finish(run, running, filename=filename, size=len(content)))
        except NotFound:
            _fail(run, str(_("You can no longer generate reports for this place.")), now=timezone.now())
        except Exception:
            logger.exception("Work report %s failed", run_id)
            _fail(run, str(_("The report could not be written. Ask for it again.")), now=timezone.now())


def _finish(run: ReportRun, running: QuerySet[ReportRun], *, filename: str, size: int) -> None:
    finished = timezone.now()
    with transaction.atomic():
        updated = running.update(
            state=ReportState.DONE,
            progress=100,
            file=run.file.name,
            filename=filename,
            finished_at=finished,
            updated_at=finished,
        )
        if updated:
            audit_record(
                actor=run.requested_by,
                action="cockpit.report_generate",
                target=run,
                place_path=run.place.path,
                changes={"period": run.period_key, "format": run.format, "bytes": size},
            )


def _with_retries(step: Callable[[], None], attempts: int = 5) -> None:
    """Run a short write again when the database is momentarily locked (SQLite's single writer)."""
    for attempt in range(attempts):
        try:
            step()
            return
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


# ---------------------------------------------------------------- downloading


def report_run_download(*, actor: Actor, run: ReportRun, now: datetime) -> tuple[Any, str]:
    """The finished report's open file and name, recording the download in the audit log. A run that is not done
    is the same NotFound as a missing one (there is nothing to download)."""
    require_reach(actor, Permission.REPORT_GENERATE, run.place.path)
    if run.state != ReportState.DONE or not run.file:
        raise NotFound()
    try:
        handle = run.file.open("rb")
    except FileNotFoundError:
        raise NotFound() from None
    audit_record(
        actor=actor,
        action="cockpit.report_download",
        target=run,
        place_path=run.place.path,
        changes={"period": run.period_key, "format": run.format},
        occurred_at=now,
    )
    return handle, run.filename or report_filename(run)
