"""Periodic, idempotent jobs and one-off background tasks.

Periodic jobs
-------------
A domain declares a job in its ``jobs.py`` (imported at start-up by ``CoreConfig.ready``)::

    @periodic_job(name="points.monthly_publication", every="month", at="1 02:00")
    def monthly_publication(*, run_key: str, now: datetime) -> dict:
        ...  # must be idempotent: running it twice for the same period changes nothing the second time
        return {"published": 12}

Periods follow Asia/Shanghai (``settings.TIME_ZONE``) with Monday-start ISO weeks. Each period has a run key:
``"2026-11"`` (month), ``"2026-W47"`` (week), ``"2026-11-21"`` (day), ``"2026-11-21T10"`` (hour),
``"2026-11-21T10:05"`` (minute). ``at`` is how far into the period the job becomes due:

- ``"HH:MM"`` for day, week (on Monday) and month (on the 1st); ``"sun 18:00"`` for a weekday of the week;
  ``"25 09:00"`` for a day of the month (1–28); ``":MM"`` (or ``"MM"``) for the minute of an hour;
- or a ``datetime.timedelta`` from the start of the period.

Running a job claims its period by inserting a ``JobRun(job_name, run_key)`` row: the unique constraint
``jobrun_once_per_period`` lets exactly one of many racing workers win. A failed run is retried by taking the row
back with a conditional UPDATE (``status=failed`` → ``running``, ``attempts = attempts + 1``), which again only
one worker wins; automatic retries stop after ``max_attempts``, a person can always retry with
``gongzhi runjobs --job NAME --key KEY``. A run left ``running`` by a worker that died is taken back after
``stale_after``.

How jobs are driven
-------------------
- ``settings.GONGZHI_JOBS_MODE == "embedded"`` (default): ``start_embedded_scheduler()`` starts a daemon thread in
  the serving process (``gongzhi demo`` does) that calls ``run_due_jobs()`` every 30 seconds. No other service.
  ``gongzhi runjobs --forever`` does the same in a process of its own.
- ``"celery"``: Celery beat sends ``gongzhi.dispatch_due_jobs`` every minute; it sends one ``gongzhi.run_job``
  task per due job, so workers on many machines share the work (see ``gongzhi/celery.py``).

One-off tasks
-------------
``enqueue("dotted.path.to.function", **kwargs)`` runs a function in the background: in a thread of this process
(embedded), or as a ``gongzhi.run_task`` Celery task (celery mode; the keyword arguments must be JSON values).
In celery mode a task is delivered at least once and claimed by a ``JobRun`` row (``task:<dotted path>``, run key
the Celery task id) under a PostgreSQL advisory lock, so it runs once: a redelivery while a live worker runs it
waits, one after it finished is dropped, one after its worker died takes the run back. The function must be
all-or-nothing or resumable, since the run taken back starts it again.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connections, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import JobRun

logger = logging.getLogger("gongzhi.jobs")

PERIODS = ("month", "week", "day", "hour", "minute")
_PERIOD_SHORTEST = {
    "month": timedelta(days=28),
    "week": timedelta(days=7),
    "day": timedelta(days=1),
    "hour": timedelta(hours=1),
    "minute": timedelta(minutes=1),
}
_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_ERROR_LIMIT = 20_000


class JobError(ValueError):
    """A job or a run key that does not exist or does not fit the job's period."""


# ---------------------------------------------------------------- registry


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: str
    offset: timedelta
    fn: Callable[..., dict]
    max_attempts: int = 3
    retry_delay: timedelta = timedelta(minutes=5)
    stale_after: timedelta = timedelta(hours=1)
    atomic: bool = True

    def run_key(self, now: datetime) -> str:
        return run_key_for(self.every, now)

    def due_key(self, now: datetime) -> str | None:
        """The run key of the current period if the job is due in it by ``now``, else None."""
        key = self.run_key(now)
        start, _end = period_bounds(self.every, key)
        return key if now >= start + self.offset else None


_REGISTRY: dict[str, PeriodicJob] = {}


def periodic_job(
    *,
    name: str,
    every: str,
    at: str | timedelta | None = None,
    max_attempts: int = 3,
    retry_delay: timedelta = timedelta(minutes=5),
    stale_after: timedelta = timedelta(hours=1),
    atomic: bool = True,
) -> Callable[[Callable[..., dict]], Callable[..., dict]]:
    """Register ``fn(*, run_key, now) -> dict`` to run once per period.

    ``atomic=True`` runs the job and the record of its success in one transaction, so a failure leaves nothing
    half-done; a job that commits in batches of its own passes ``atomic=False`` (and stays idempotent).
    """
    if every not in PERIODS:
        raise JobError(f"every must be one of {', '.join(PERIODS)}, not {every!r}")
    offset = parse_at(every, at)

    def register(fn: Callable[..., dict]) -> Callable[..., dict]:
        existing = _REGISTRY.get(name)
        if existing is not None and _qualname(existing.fn) != _qualname(fn):
            raise JobError(f"Two jobs are called {name!r}: {_qualname(existing.fn)} and {_qualname(fn)}")
        _REGISTRY[name] = PeriodicJob(
            name=name,
            every=every,
            offset=offset,
            fn=fn,
            max_attempts=max_attempts,
            retry_delay=retry_delay,
            stale_after=stale_after,
            atomic=atomic,
        )
        return fn

    return register


def _qualname(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def registered_jobs() -> list[PeriodicJob]:
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def get_job(name: str) -> PeriodicJob:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise JobError(f"No job called {name!r}; known: {', '.join(sorted(_REGISTRY)) or 'none'}") from None


def parse_at(every: str, at: str | timedelta | None) -> timedelta:
    """Turn ``at`` into an offset from the start of the period (see the module docstring)."""
    if at is None or at == "":
        return timedelta(0)
    offset = at if isinstance(at, timedelta) else _parse_at_text(every, at.strip().lower())
    if offset < timedelta(0) or offset >= _PERIOD_SHORTEST[every]:
        raise JobError(f"at={at!r} falls outside every {every}")
    return offset


def _clock(text: str, at: str) -> timedelta:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise JobError(f"Cannot read the time in at={at!r}; write HH:MM")
    return timedelta(hours=int(match[1]), minutes=int(match[2]))


def _parse_at_text(every: str, at: str) -> timedelta:
    if every == "minute":
        raise JobError("A job that runs every minute takes no at=")
    if every == "hour":
        match = re.fullmatch(r":?(\d{1,2})", at)
        if not match or int(match[1]) > 59:
            raise JobError(f"Cannot read at={at!r}; write the minute of the hour, e.g. ':05'")
        return timedelta(minutes=int(match[1]))
    head, _, tail = at.partition(" ")
    if every == "day":
        return _clock(at, at)
    if every == "week":
        if tail:
            if head[:3] not in _WEEKDAYS:
                raise JobError(f"Cannot read the weekday in at={at!r}; write e.g. 'sun 18:00'")
            return timedelta(days=_WEEKDAYS[head[:3]]) + _clock(tail, at)
        return _clock(at, at)
    # month
    if tail:
        if not head.isdigit() or not 1 <= int(head) <= 28:
            raise JobError(f"Cannot read the day in at={at!r}; write a day of the month from 1 to 28")
        return timedelta(days=int(head) - 1) + _clock(tail, at)
    return _clock(at, at)


# ---------------------------------------------------------------- periods and run keys


def _local(now: datetime | None) -> datetime:
    now = now or timezone.now()
    if timezone.is_naive(now):
        now = timezone.make_aware(now)
    return timezone.localtime(now)


def run_key_for(every: str, now: datetime | None = None) -> str:
    """The run key of the period containing ``now`` (Asia/Shanghai, Monday-start ISO weeks)."""
    local = _local(now)
    if every == "month":
        return f"{local:%Y-%m}"
    if every == "week":
        iso_year, iso_week, _weekday = local.isocalendar()
        return f"{iso_year}-W{iso_week:02d}"
    if every == "day":
        return f"{local:%Y-%m-%d}"
    if every == "hour":
        return f"{local:%Y-%m-%dT%H}"
    if every == "minute":
        return f"{local:%Y-%m-%dT%H:%M}"
    raise JobError(f"Unknown period {every!r}")


_KEY_PATTERNS = {
    "month": re.compile(r"(\d{4})-(\d{2})"),
    "week": re.compile(r"(\d{4})-W(\d{2})"),
    "day": re.compile(r"(\d{4})-(\d{2})-(\d{2})"),
    "hour": re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2})"),
    "minute": re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})"),
}


def period_bounds(every: str, run_key: str) -> tuple[datetime, datetime]:
    """The aware start (inclusive) and end (exclusive) of the period named by ``run_key``."""
    pattern = _KEY_PATTERNS.get(every)
    match = pattern.fullmatch(run_key) if pattern else None
    if match is None:
        raise JobError(f"{run_key!r} is not a run key for every {every}")
    numbers = [int(part) for part in match.groups()]
    try:
        if every == "month":
            start_day = date(numbers[0], numbers[1], 1)
            end_day = date(numbers[0] + (numbers[1] == 12), numbers[1] % 12 + 1, 1)
            return _midnight(start_day), _midnight(end_day)
        if every == "week":
            start_day = date.fromisocalendar(numbers[0], numbers[1], 1)
            return _midnight(start_day), _midnight(start_day + timedelta(days=7))
        start_day = date(numbers[0], numbers[1], numbers[2])
        if every == "day":
            return _midnight(start_day), _midnight(start_day + timedelta(days=1))
        minute = numbers[4] if len(numbers) > 4 else 0
        start = timezone.make_aware(datetime.combine(start_day, time(numbers[3], minute)))
        return start, start + (timedelta(hours=1) if every == "hour" else timedelta(minutes=1))
    except ValueError as exc:
        raise JobError(f"{run_key!r} is not a real period: {exc}") from None


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time()))


# ---------------------------------------------------------------- running


def _worker_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"[:120]


def _claim(job: PeriodicJob, run_key: str, *, now: datetime, automatic: bool) -> JobRun | None:
    """Take the period for this worker, or return None when another worker has it (or it is done)."""
    worker = _worker_label()
    try:
        with transaction.atomic():
            return JobRun.objects.create(
                job_name=job.name, run_key=run_key, status=JobRun.Status.RUNNING, started_at=now, worker=worker
            )
    except IntegrityError:
        pass
    # The row exists: take it back if it failed (or its worker died); one conditional UPDATE decides the winner.
    retryable = Q(status=JobRun.Status.FAILED)
    if automatic:
        retryable &= Q(attempts__lt=job.max_attempts, started_at__lte=now - job.retry_delay)
    retryable |= Q(status=JobRun.Status.RUNNING, started_at__lt=now - job.stale_after)
    taken = (
        JobRun.objects.filter(job_name=job.name, run_key=run_key)
        .filter(retryable)
        .update(
            status=JobRun.Status.RUNNING,
            attempts=F("attempts") + 1,
            started_at=now,
            finished_at=None,
            worker=worker,
            error="",
        )
    )
    if not taken:
        return None
    return JobRun.objects.get(job_name=job.name, run_key=run_key)


def _execute(job: PeriodicJob, run: JobRun, now: datetime) -> JobRun:
    def finish(**fields: Any) -> None:
        fields["finished_at"] = timezone.now()
        JobRun.objects.filter(pk=run.pk, status=JobRun.Status.RUNNING, worker=run.worker).update(**fields)
        for name, value in fields.items():
            setattr(run, name, value)

    try:
        if job.atomic:
            with transaction.atomic():
                result = job.fn(run_key=run.run_key, now=now)
                finish(status=JobRun.Status.SUCCEEDED, result=_as_result(result))
        else:
            result = job.fn(run_key=run.run_key, now=now)
            finish(status=JobRun.Status.SUCCEEDED, result=_as_result(result))
    except Exception as exc:
        logger.exception("Job %s %s failed (attempt %s)", job.name, run.run_key, run.attempts)
        error = "".join(traceback.format_exception(exc))[-_ERROR_LIMIT:]
        finish(status=JobRun.Status.FAILED, error=error, result={})
    else:
        logger.info("Job %s %s succeeded", job.name, run.run_key)
    return run


def _as_result(value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        return {"result": value}
    return value


def run_job(name: str, run_key: str | None = None, *, now: datetime | None = None, automatic: bool = False):
    """Run job ``name`` for the period ``run_key`` (the current one when omitted) unless it already ran.

    Returns the JobRun this call executed, or None when the period is done or another worker holds it.
    A person (``automatic=False``) may retry a failed run however many attempts it had; the scheduler retries
    only ``retry_delay`` after the failed attempt started, up to ``max_attempts``.
    """
    job = get_job(name)
    now = now or timezone.now()
    run_key = run_key or job.run_key(now)
    period_bounds(job.every, run_key)  # refuse a key that does not fit the job's period
    run = _claim(job, run_key, now=now, automatic=automatic)
    if run is None:
        return None
    return _execute(job, run, now)


def due_jobs(now: datetime | None = None, names: Iterable[str] | None = None) -> list[tuple[PeriodicJob, str]]:
    """(job, run key) for each registered job due now whose period is not yet done or being run."""
    now = now or timezone.now()
    jobs = registered_jobs() if names is None else [get_job(name) for name in names]
    due = [(job, key) for job in jobs if (key := job.due_key(now)) is not None]
    if not due:
        return []
    existing = {
        (row.job_name, row.run_key): row
        for row in JobRun.objects.filter(
            job_name__in=[job.name for job, _ in due], run_key__in={key for _, key in due}
        ).only("job_name", "run_key", "status", "attempts", "started_at", "finished_at")
    }
    pending = []
    for job, key in due:
        row = existing.get((job.name, key))
        if row is None or _may_retry(job, row, now):
            pending.append((job, key))
    return pending


def _may_retry(job: PeriodicJob, row: JobRun, now: datetime) -> bool:
    if row.status == JobRun.Status.FAILED:
        return row.attempts < job.max_attempts and row.started_at <= now - job.retry_delay
    return row.status == JobRun.Status.RUNNING and row.started_at < now - job.stale_after


def run_due_jobs(now: datetime | None = None) -> list[JobRun]:
    """Run every job due now that has not run in its current period; return the runs this call executed."""
    now = now or timezone.now()
    runs = []
    for job, key in due_jobs(now):
        run = _claim(job, key, now=now, automatic=True)
        if run is not None:
            runs.append(_execute(job, run, now))
    return runs


def dispatch_due_jobs(now: datetime | None = None) -> list[tuple[str, str]]:
    """Celery mode: send one ``gongzhi.run_job`` task per due job; workers claim and run them."""
    from gongzhi.celery import run_job_task

    sent = []
    for job, key in due_jobs(now):
        run_job_task.apply_async(args=(job.name, key), expires=3600)
        sent.append((job.name, key))
    return sent


# ---------------------------------------------------------------- the embedded scheduler

_scheduler_lock = threading.Lock()
_scheduler: dict[str, Any] = {"thread": None, "stop": None}


def _scheduler_loop(interval_seconds: float, stop: threading.Event) -> None:
    while not stop.is_set():
        close_old_connections()
        try:
            runs = run_due_jobs()
            for run in runs:
                logger.info("Ran %s %s: %s", run.job_name, run.run_key, run.status)
        except Exception:
            logger.exception("The job scheduler could not run due jobs")
        finally:
            connections.close_all()
        stop.wait(interval_seconds)


def start_embedded_scheduler(interval_seconds: float = 30) -> threading.Thread:
    """Start (once per process) a daemon thread that runs due jobs every ``interval_seconds``."""
    with _scheduler_lock:
        thread = _scheduler["thread"]
        if thread is not None and thread.is_alive():
            return thread
        stop = threading.Event()
        thread = threading.Thread(
            target=_scheduler_loop, args=(interval_seconds, stop), name="gongzhi-job-scheduler", daemon=True
        )
        _scheduler.update(thread=thread, stop=stop)
        thread.start()
        return thread


def stop_embedded_scheduler(timeout: float = 10) -> None:
    with _scheduler_lock:
        thread, stop = _scheduler["thread"], _scheduler["stop"]
        _scheduler.update(thread=None, stop=None)
    if stop is not None:
        stop.set()
    if thread is not None:
        thread.join(timeout)


# ---------------------------------------------------------------- one-off background tasks


def _resolve(dotted: str) -> Callable[..., Any]:
    module_name, _, attribute = dotted.rpartition(".")
    return getattr(import_module(module_name), attribute)


class TaskHeldElsewhere(Exception):
    """Another live worker is running this delivery of the task (the Celery task retries later)."""


# A one-off task's run is a JobRun named after the task; its run key is the delivery (the Celery task id).
TASK_RUN_PREFIX = "task:"
# Where the database cannot tell whether a claim's worker is alive (not PostgreSQL), a running claim this old is
# taken to belong to a dead worker.
TASK_STALE_AFTER = timedelta(hours=1)


def run_task(task: str, kwargs: dict[str, Any], *, delivery_id: str | None = None) -> Any:
    """Run one background task now (the body of both the thread and the Celery task).

    With ``delivery_id`` (Celery mode: the task id, the same on every redelivery of the message) the run is claimed
    first, so a message delivered again — its worker died, or Redis handed it on after the visibility timeout —
    never runs the task twice at once nor again once it has finished: see ``_task_claim``. Returns None without
    running when this delivery already finished; raises ``TaskHeldElsewhere`` while a live worker runs it.
    """
    close_old_connections()
    try:
        if delivery_id is None:
            return _resolve(task)(**kwargs)
        return _run_claimed_task(task, kwargs, delivery_id)
    finally:
        close_old_connections()


def _run_claimed_task(task: str, kwargs: dict[str, Any], delivery_id: str) -> Any:
    name = (TASK_RUN_PREFIX + task)[:100]
    lock_key = f"{name}:{delivery_id}"
    if not _task_lock(lock_key):
        raise TaskHeldElsewhere(f"{task} {delivery_id} is running on another worker")
    try:
        run = _task_claim(name, delivery_id[:64], now=timezone.now())
        if run is None:
            logger.info("Task %s %s already ran; this delivery is dropped", task, delivery_id)
            return None
        done = JobRun.objects.filter(pk=run.pk, status=JobRun.Status.RUNNING, worker=run.worker)
        try:
            result = _resolve(task)(**kwargs)
        except Exception as exc:
            error = "".join(traceback.format_exception(exc))[-_ERROR_LIMIT:]
            done.update(status=JobRun.Status.FAILED, error=error, finished_at=timezone.now())
            raise
        done.update(status=JobRun.Status.SUCCEEDED, finished_at=timezone.now())
        return result
    finally:
        _task_unlock(lock_key)


def _task_claim(name: str, delivery_id: str, *, now: datetime) -> JobRun | None:
    """Claim this delivery's run, or return None when it already succeeded or failed.

    Called holding the delivery's lock (``_task_lock``). A row still ``running`` belongs to a worker that died: on
    PostgreSQL its session lock went with its connection (we hold it now), so the run is taken back at once; on
    other databases only after ``TASK_STALE_AFTER``. The task body must be all-or-nothing or resumable, since a
    taken-back run starts it again.
    """
    worker = _worker_label()
    try:
        with transaction.atomic():
            return JobRun.objects.create(
                job_name=name, run_key=delivery_id, status=JobRun.Status.RUNNING, started_at=now, worker=worker
            )
    except IntegrityError:
        pass
    dead = Q(status=JobRun.Status.RUNNING)
    if connections[_task_db()].vendor != "postgresql":
        dead &= Q(started_at__lt=now - TASK_STALE_AFTER)
    taken = (
        JobRun.objects.filter(job_name=name, run_key=delivery_id)
        .filter(dead)
        .update(attempts=F("attempts") + 1, started_at=now, worker=worker, error="")
    )
    if taken:
        logger.warning("Task run %s %s left by a dead worker is taken back by %s", name, delivery_id, worker)
        return JobRun.objects.using(_task_db()).get(job_name=name, run_key=delivery_id)
    held = JobRun.objects.using(_task_db()).filter(job_name=name, run_key=delivery_id, status=JobRun.Status.RUNNING)
    if held.exists():
        raise TaskHeldElsewhere(f"{name} {delivery_id} was started less than {TASK_STALE_AFTER} ago")
    return None


def _task_db() -> str:
    """Claims are read where they are written (never on a read replica)."""
    return router.db_for_write(JobRun)


def _task_lock(key: str) -> bool:
    """On PostgreSQL, a session advisory lock on ``key`` (held by this worker's connection, so it is released when
    the worker dies); True elsewhere. Behind PgBouncer in transaction mode workers need a direct connection."""
    connection = connections[_task_db()]
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [key])
        return bool(cursor.fetchone()[0])


def _task_unlock(key: str) -> None:
    connection = connections[_task_db()]
    if connection.vendor == "postgresql" and connection.connection is not None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])


def enqueue(task: str, **kwargs: Any) -> None:
    """Run ``task`` (a dotted path to a function taking keyword arguments) in the background.

    The task starts only once the caller's transaction commits (at once outside a transaction), so it never
    looks for rows that are not there yet, and never runs for a change that was rolled back.
    """
    transaction.on_commit(lambda: _start(task, kwargs))


def _start(task: str, kwargs: dict[str, Any]) -> None:
    if getattr(settings, "GONGZHI_JOBS_MODE", "embedded") == "celery":
        from gongzhi.celery import app

        # Delivered at least once (acks late, see gongzhi/celery.py); the claim in run_task makes it run once.
        app.send_task("gongzhi.run_task", args=(task, kwargs))
        return

    def runner() -> None:
        try:
            run_task(task, kwargs)
        except Exception:
            logger.exception("Background task %s failed", task)
        finally:
            connections.close_all()

    threading.Thread(target=runner, name=f"gongzhi-task-{task}", daemon=True).start()


# ---------------------------------------------------------------- the core's own periodic job


@periodic_job(name="core.abandon_stalled_tasks", every="hour", at=":17", atomic=False)
def abandon_stalled_tasks(*, run_key: str, now: datetime) -> dict:
    """Imports whose worker died are marked failed (their page says what to do) and their uploads deleted."""
    from .housekeeping import progress_abandon_stalled

    return progress_abandon_stalled(now=now)


@periodic_job(name="core.audit_checkpoint", every="day", at="00:10")
def audit_checkpoint(*, run_key: str, now: datetime) -> dict:
    """Record each audit chain's head (seq, hash) for the day, in AuditCheckpoint and in the log (core/audit_chain.py);
    ``gongzhi audit_verify`` then finds any history rewritten before a recorded head."""
    from .audit_chain import record_checkpoints

    return {"chains": {c.chain: c.seq for c in record_checkpoints(run_key=run_key, now=now)}}
