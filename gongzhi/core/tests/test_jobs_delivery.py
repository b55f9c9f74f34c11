"""One-off tasks delivered more than once (Celery mode) run once: the claim in ``core.jobs.run_task``.

run_task closes obsolete connections before and after, as a worker must, so these tests are transactional. The
whole-stack proof — a worker killed with SIGKILL mid-task and the task finished once by another — is
``gongzhi/stack_tests``; these pin the claim's rules on both databases.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from gongzhi.core import jobs
from gongzhi.core.imports import run_import
from gongzhi.core.models import JobRun, Progress
from gongzhi.people.tests.factories import AccountFactory

CALLS: list[dict] = []
TASK = f"{__name__}.record_call"
FAILING = f"{__name__}.fail"


def record_call(**kwargs) -> str:
    CALLS.append(kwargs)
    return "done"


def fail(**kwargs) -> None:
    CALLS.append(kwargs)
    raise RuntimeError("the printer is on fire")


@pytest.fixture(autouse=True)
def calls():
    CALLS.clear()
    yield CALLS
    CALLS.clear()


def _run(delivery_id: str, task: str = TASK):
    return jobs.run_task(task, {"n": 1}, delivery_id=delivery_id)


def _claims() -> list[tuple]:
    return list(JobRun.objects.filter(job_name__startswith="task:").values_list("job_name", "status", "attempts"))


@pytest.mark.django_db(transaction=True)
def test_a_delivery_runs_once_and_a_second_one_is_dropped(calls):
    assert _run("delivery-1") == "done"
    assert _claims() == [(f"task:{TASK}", "succeeded", 1)]
    assert _run("delivery-1") is None
    assert calls == [{"n": 1}]
    # Another delivery id is another task.
    assert _run("delivery-2") == "done" and len(calls) == 2


@pytest.mark.django_db(transaction=True)
def test_a_failed_task_is_recorded_and_not_run_again_by_a_redelivery(calls):
    with pytest.raises(RuntimeError):
        _run("delivery-1", FAILING)
    run = JobRun.objects.get(job_name=f"task:{FAILING}")
    assert run.status == "failed" and "the printer is on fire" in run.error and run.finished_at is not None
    assert _run("delivery-1", FAILING) is None
    assert len(calls) == 1


@pytest.mark.django_db(transaction=True)
def test_without_a_delivery_id_the_task_just_runs(calls):
    assert jobs.run_task(TASK, {"n": 1}) == "done" and jobs.run_task(TASK, {"n": 1}) == "done"
    assert len(calls) == 2 and _claims() == []


@pytest.mark.django_db(transaction=True)
def test_a_run_left_running_by_a_dead_worker_is_taken_back(calls):
    JobRun.objects.create(job_name=f"task:{TASK}", run_key="delivery-1", worker="gone:1:MainThread")
    if connection.vendor == "postgresql":
        # Nobody holds the delivery's advisory lock: its worker's connection died with it; taken back at once.
        assert _run("delivery-1") == "done"
    else:
        # Elsewhere the database cannot tell, so only once the run is older than TASK_STALE_AFTER.
        with pytest.raises(jobs.TaskHeldElsewhere):
            _run("delivery-1")
        assert calls == []
        JobRun.objects.filter(run_key="delivery-1").update(
            started_at=timezone.now() - jobs.TASK_STALE_AFTER - timedelta(minutes=1)
        )
        assert _run("delivery-1") == "done"
    run = JobRun.objects.get(run_key="delivery-1")
    assert (run.status, run.attempts) == ("succeeded", 2) and run.worker != "gone:1:MainThread"
    assert calls == [{"n": 1}]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_delivery_running_on_a_live_worker_is_left_to_it(calls):
    if connection.vendor != "postgresql":
        pytest.skip("the advisory lock that tells a live worker from a dead one is PostgreSQL's")
    from django.db import connections

    key = f"task:{TASK}:delivery-1"
    holding, release = threading.Event(), threading.Event()

    def live_worker() -> None:
        try:
            assert jobs._task_lock(key)
            holding.set()
            release.wait(10)
            jobs._task_unlock(key)
        finally:
            connections.close_all()

    thread = threading.Thread(target=live_worker)
    thread.start()
    try:
        assert holding.wait(10)
        with pytest.raises(jobs.TaskHeldElsewhere):
            _run("delivery-1")
        assert calls == [] and _claims() == []
    finally:
        release.set()
        thread.join(10)
    assert _run("delivery-1") == "done"


@pytest.mark.django_db
def test_a_redelivered_import_keeps_the_report_of_the_run_that_finished():
    owner = AccountFactory()
    progress = Progress.objects.create(
        kind="roster", owner=owner, status=Progress.Status.SUCCEEDED, total=3, done=3, result={"created": 3}
    )
    # The upload is gone (the finished run deleted it); a second delivery must not turn success into "file gone".
    run_import(
        runner="gongzhi.people.roster.roster_import_runner",
        progress_id=progress.pk,
        actor_id=owner.pk,
        folder="roster",
        token="0" * 32,
        suffix=".xlsx",
        filename="roster.xlsx",
        params={},
    )
    progress.refresh_from_db()
    assert (progress.status, progress.result) == (Progress.Status.SUCCEEDED, {"created": 3})
