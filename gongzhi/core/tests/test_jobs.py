"""Periodic jobs: registry and run keys, once-per-period runs, retries, races, the command and a Celery worker."""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections

from gongzhi.core import jobs
from gongzhi.core.models import JobRun

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


@pytest.fixture
def registry():
    """An empty registry for the test; the real one comes back afterwards."""
    saved = dict(jobs._REGISTRY)
    jobs._REGISTRY.clear()
    yield jobs._REGISTRY
    jobs._REGISTRY.clear()
    jobs._REGISTRY.update(saved)


class Counter:
    def __init__(self):
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, *, run_key, now):
        with self.lock:
            self.calls.append(run_key)
        return {"key": run_key}


# ---------------------------------------------------------------- registry and run keys


@pytest.mark.parametrize(
    ("every", "moment", "key"),
    [
        ("month", at(2026, 11, 21, 10, 5), "2026-11"),
        ("week", at(2026, 11, 21, 10, 5), "2026-W47"),
        ("day", at(2026, 11, 21, 10, 5), "2026-11-21"),
        ("hour", at(2026, 11, 21, 10, 5), "2026-11-21T10"),
        ("minute", at(2026, 11, 21, 10, 5), "2026-11-21T10:05"),
        # Monday starts the week: Sunday 22 Nov is still week 47, Monday 23 Nov is week 48.
        ("week", at(2026, 11, 22, 23, 59), "2026-W47"),
        ("week", at(2026, 11, 23, 0, 0), "2026-W48"),
        # Around New Year weeks belong to the ISO year of their Thursday.
        ("week", at(2024, 12, 30, 0, 0), "2025-W01"),
        ("week", at(2024, 12, 29, 23, 59), "2024-W52"),
        ("week", at(2021, 1, 3, 12, 0), "2020-W53"),
        ("week", at(2021, 1, 4, 0, 0), "2021-W01"),
        ("week", at(2026, 12, 31, 9, 0), "2026-W53"),
        ("week", at(2027, 1, 3, 9, 0), "2026-W53"),
        ("week", at(2027, 1, 4, 9, 0), "2027-W01"),
        ("month", at(2026, 12, 31, 23, 59), "2026-12"),
    ],
)
def test_run_keys_follow_shanghai_periods(every, moment, key):
    assert jobs.run_key_for(every, moment) == key
    start, end = jobs.period_bounds(every, key)
    assert start <= moment < end


def test_run_keys_use_shanghai_time_not_utc():
    # 16:30 UTC on 31 Dec is already 00:30 on 1 Jan in Shanghai.
    moment = datetime(2026, 12, 31, 16, 30, tzinfo=ZoneInfo("UTC"))
    assert jobs.run_key_for("month", moment) == "2027-01"
    assert jobs.run_key_for("day", moment) == "2027-01-01"


def test_period_bounds_of_weeks_start_on_monday():
    start, end = jobs.period_bounds("week", "2025-W01")
    assert start == at(2024, 12, 30) and start.weekday() == 0
    assert end - start == timedelta(days=7)
    assert jobs.period_bounds("month", "2026-12") == (at(2026, 12, 1), at(2027, 1, 1))
    with pytest.raises(jobs.JobError):
        jobs.period_bounds("month", "2026-W47")
    with pytest.raises(jobs.JobError):
        jobs.period_bounds("day", "2026-02-30")


def test_registration_and_at(registry):
    @jobs.periodic_job(name="test.monthly", every="month", at="25 09:30")
    def monthly(*, run_key, now):
        return {}

    job = jobs.get_job("test.monthly")
    assert job.every == "month" and job.offset == timedelta(days=24, hours=9, minutes=30)
    assert job.due_key(at(2026, 11, 25, 9, 29)) is None
    assert job.due_key(at(2026, 11, 25, 9, 30)) == "2026-11"
    assert jobs.parse_at("week", "sun 18:00") == timedelta(days=6, hours=18)
    assert jobs.parse_at("week", "08:00") == timedelta(hours=8)
    assert jobs.parse_at("hour", ":05") == timedelta(minutes=5)
    assert jobs.parse_at("day", timedelta(hours=2)) == timedelta(hours=2)
    for every, bad in [("day", "25:00"), ("month", "31 10:00"), ("hour", ":75"), ("minute", "10"), ("day", "2 days")]:
        with pytest.raises(jobs.JobError):
            jobs.parse_at(every, bad)
    with pytest.raises(jobs.JobError):
        jobs.periodic_job(name="test.bad", every="fortnight")
    with pytest.raises(jobs.JobError):  # a second, different function under the same name

        @jobs.periodic_job(name="test.monthly", every="day")
        def other(*, run_key, now):
            return {}


# ---------------------------------------------------------------- once per period


@pytest.mark.django_db
def test_running_twice_runs_once(registry):
    counter = Counter()
    jobs.periodic_job(name="test.daily", every="day", at="02:00")(counter)
    assert jobs.run_due_jobs(now=at(2026, 11, 21, 1, 59)) == []  # not due yet
    first = jobs.run_due_jobs(now=at(2026, 11, 21, 2, 0))
    second = jobs.run_due_jobs(now=at(2026, 11, 21, 23, 0))
    assert [(run.job_name, run.run_key, run.status) for run in first] == [("test.daily", "2026-11-21", "succeeded")]
    assert second == []
    assert counter.calls == ["2026-11-21"]
    run = JobRun.objects.get()
    assert run.result == {"key": "2026-11-21"} and run.attempts == 1 and run.finished_at is not None
    # The next period runs again; an explicit backfill of a finished period does nothing.
    jobs.run_due_jobs(now=at(2026, 11, 22, 3, 0))
    assert jobs.run_job("test.daily", "2026-11-21") is None
    assert counter.calls == ["2026-11-21", "2026-11-22"]


@pytest.mark.django_db
def test_backfill_a_past_period(registry):
    counter = Counter()
    jobs.periodic_job(name="test.weekly", every="week")(counter)
    run = jobs.run_job("test.weekly", "2026-W40")
    assert run.status == "succeeded" and counter.calls == ["2026-W40"]
    with pytest.raises(jobs.JobError):
        jobs.run_job("test.weekly", "2026-10")
    with pytest.raises(jobs.JobError):
        jobs.run_job("test.nothing", "2026-10")


@pytest.mark.django_db
def test_a_failing_job_records_the_error_and_is_retried(registry):
    state = {"fail": True, "calls": 0}

    @jobs.periodic_job(name="test.flaky", every="hour", retry_delay=timedelta(minutes=5), max_attempts=2)
    def flaky(*, run_key, now):
        state["calls"] += 1
        JobRun.objects.create(job_name="test.side-effect", run_key=f"{run_key}-{state['calls']}")
        if state["fail"]:
            raise RuntimeError("the printer is on fire")
        return {"ok": True}

    [run] = jobs.run_due_jobs(now=at(2026, 11, 21, 10, 0))
    assert run.status == "failed" and "the printer is on fire" in run.error
    stored = JobRun.objects.get(job_name="test.flaky")
    assert stored.status == "failed" and stored.attempts == 1 and "RuntimeError" in stored.error
    # The failed attempt's writes were rolled back with it.
    assert not JobRun.objects.filter(job_name="test.side-effect").exists()
    # Not retried before the retry delay; retried after it, with attempts counted by the database.
    assert jobs.run_due_jobs(now=at(2026, 11, 21, 10, 3)) == []
    [retry] = jobs.run_due_jobs(now=at(2026, 11, 21, 10, 10))
    assert retry.status == "failed" and retry.attempts == 2
    # max_attempts reached: the scheduler gives up, a person can still retry.
    assert jobs.run_due_jobs(now=at(2026, 11, 21, 10, 30)) == []
    state["fail"] = False
    manual = jobs.run_job("test.flaky", "2026-11-21T10")
    assert manual.status == "succeeded" and manual.attempts == 3 and manual.error == ""
    stored.refresh_from_db()
    assert (stored.status, stored.attempts, stored.result) == ("succeeded", 3, {"ok": True})
    assert JobRun.objects.filter(job_name="test.side-effect").count() == 1


@pytest.mark.django_db
def test_a_run_left_running_by_a_dead_worker_is_taken_back(registry):
    counter = Counter()
    jobs.periodic_job(name="test.stuck", every="day", stale_after=timedelta(minutes=30))(counter)
    JobRun.objects.create(job_name="test.stuck", run_key="2026-11-21", started_at=at(2026, 11, 21, 0, 0))
    assert jobs.run_due_jobs(now=at(2026, 11, 21, 0, 10)) == []
    [run] = jobs.run_due_jobs(now=at(2026, 11, 21, 0, 45))
    assert run.status == "succeeded" and run.attempts == 2


@pytest.mark.django_db
def test_runjobs_command(registry):
    counter = Counter()
    jobs.periodic_job(name="test.minutely", every="minute")(counter)
    out = StringIO()
    call_command("runjobs", "--once", stdout=out)
    assert "test.minutely" in out.getvalue() and "succeeded" in out.getvalue()
    out = StringIO()
    call_command("runjobs", "--job", "test.minutely", "--key", "2026-11-21T10:05", stdout=out)
    assert "2026-11-21T10:05 succeeded" in out.getvalue()
    out = StringIO()
    call_command("runjobs", "--job", "test.minutely", "--key", "2026-11-21T10:05", stdout=out)
    assert "succeeded" in out.getvalue()  # reported as already done (wording depends on the language)
    assert counter.calls.count("2026-11-21T10:05") == 1
    call_command("runjobs", "--list", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("runjobs", "--job", "test.minutely", "--key", "2026-11")
    with pytest.raises(CommandError):
        call_command("runjobs")


def test_embedded_scheduler_starts_once(monkeypatch):
    calls = []
    monkeypatch.setattr(jobs, "run_due_jobs", lambda: calls.append(1) or [])
    try:
        thread = jobs.start_embedded_scheduler(interval_seconds=0.05)
        assert jobs.start_embedded_scheduler(interval_seconds=0.05) is thread
        assert thread.daemon
        deadline = time.monotonic() + 5
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        jobs.stop_embedded_scheduler()
    assert len(calls) >= 2 and not thread.is_alive()


# ---------------------------------------------------------------- races between workers


def _race(target, count: int = 6) -> list:
    barrier = threading.Barrier(count)
    results, errors = [], []

    def worker():
        try:
            barrier.wait(timeout=10)
            results.append(target())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return results


needs_real_concurrency = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="racing writers need PostgreSQL; SQLite takes one writer at a time (run with GONGZHI_DATABASE_URL=postgres)",
)


@needs_real_concurrency
@pytest.mark.django_db(transaction=True)
def test_workers_racing_run_a_job_once(registry):
    calls = []

    @jobs.periodic_job(name="test.race", every="week")
    def slow(*, run_key, now):
        calls.append(run_key)
        time.sleep(0.2)
        return {}

    moment = at(2026, 11, 21, 10, 0)
    results = _race(lambda: jobs.run_due_jobs(now=moment))
    assert calls == ["2026-W47"]
    assert sum(len(runs) for runs in results) == 1
    assert JobRun.objects.filter(job_name="test.race").count() == 1


@needs_real_concurrency
@pytest.mark.django_db(transaction=True)
def test_workers_racing_to_retry_a_failed_run_retry_it_once(registry):
    calls = []

    @jobs.periodic_job(name="test.retry-race", every="day")
    def again(*, run_key, now):
        calls.append(run_key)
        time.sleep(0.2)
        return {}

    JobRun.objects.create(
        job_name="test.retry-race",
        run_key="2026-11-21",
        status=JobRun.Status.FAILED,
        finished_at=at(2026, 11, 21, 0, 0),
        error="boom",
    )
    results = _race(lambda: jobs.run_job("test.retry-race", "2026-11-21"))
    assert calls == ["2026-11-21"]
    assert len([run for run in results if run is not None]) == 1
    run = JobRun.objects.get(job_name="test.retry-race")
    assert (run.status, run.attempts, run.error) == ("succeeded", 2, "")


# ---------------------------------------------------------------- a real Celery worker over Redis


def _redis_url_or_skip() -> str:
    url = os.environ.get("GONGZHI_TEST_REDIS_URL", "")
    strict = os.environ.get("GONGZHI_STRICT") == "1"
    problem = ""
    if not url:
        problem = "set GONGZHI_TEST_REDIS_URL=redis://127.0.0.1:6379/15 to run the Celery worker test"
    else:
        import redis

        try:
            redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        except Exception as exc:
            problem = f"Redis at {url} does not answer: {exc}"
    if problem:
        if strict:
            pytest.fail(f"{problem} (required under GONGZHI_STRICT=1)")
        pytest.skip(problem)
    return url


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_celery_worker_runs_dispatched_jobs(registry, settings):
    url = _redis_url_or_skip()
    # The worker runs as threads of this process, so it sees the test database on SQLite (shared-cache memory
    # database) and on PostgreSQL alike; transaction=True makes the rows it writes visible to the test.
    from celery.contrib.testing.worker import start_worker

    from gongzhi.celery import app

    counter = Counter()
    jobs.periodic_job(name="test.celery", every="minute")(counter)
    queue = f"gongzhi-test-{uuid.uuid4().hex[:12]}"  # private queue: other test runs may share this Redis
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager", "task_default_queue")}
    app.conf.update(broker_url=url, task_always_eager=False, task_default_queue=queue)
    try:
        with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, queues=[queue]):
            app.send_task("gongzhi.dispatch_due_jobs", queue=queue)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if JobRun.objects.filter(job_name="test.celery", status="succeeded").exists():
                    break
                time.sleep(0.1)
    finally:
        app.conf.update(saved)
        import redis

        redis.Redis.from_url(url).delete(queue)
    run = JobRun.objects.get(job_name="test.celery")
    assert run.status == "succeeded" and len(counter.calls) == 1
    assert run.worker  # recorded which worker ran it
