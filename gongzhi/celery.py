"""The Celery application for production job running (``GONGZHI_JOBS_MODE=celery``).

Run, on as many machines as needed (each reading the same environment as the web processes)::

    celery -A gongzhi worker --loglevel INFO       # any number of workers
    celery -A gongzhi beat --loglevel INFO         # exactly one beat process

The broker is ``GONGZHI_CELERY_BROKER_URL`` (default ``GONGZHI_REDIS_URL``), read into
``settings.CELERY_BROKER_URL``; every ``CELERY_*`` setting configures this app. Beat sends
``gongzhi.dispatch_due_jobs`` every minute; that task sends one ``gongzhi.run_job`` per due job, and the worker
that takes it claims the period in the database (see ``gongzhi.core.jobs``), so a job runs once per period however
many workers and beats there are.

Delivery: every task is delivered at least once and runs once. Messages are acknowledged after the task ran
(``task_acks_late``), a task whose pool process died is put back (``task_reject_on_worker_lost``), each worker
process takes one message at a time (``worker_prefetch_multiplier = 1``), and Redis hands a message nobody
acknowledged to another worker after ``GONGZHI_CELERY_VISIBILITY_TIMEOUT`` seconds (the whole worker, or its
machine, died). A second delivery is harmless: ``gongzhi.run_job`` claims its period and ``gongzhi.run_task`` its
task id in the database (``gongzhi.core.jobs``). ``gongzhi/stack_tests`` kills a worker mid-task to prove it.
"""

from __future__ import annotations

import os
from datetime import timedelta

from celery import Celery
from celery.schedules import crontab
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")

app = Celery("gongzhi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    # Repeated here so they hold whatever the settings module says: the delivery guarantee depends on them.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_acks_on_failure_or_timeout=True,  # a task that raised ran; its claim says so, it is not redelivered
)


def _dispatch_schedule() -> crontab | timedelta:
    """Every minute on the minute; every GONGZHI_BEAT_DISPATCH_SECONDS when set (the stack test uses 1 s)."""
    seconds = getattr(settings, "GONGZHI_BEAT_DISPATCH_SECONDS", 0)
    return timedelta(seconds=seconds) if seconds else crontab()


def _dispatch_expiry() -> float:
    seconds = getattr(settings, "GONGZHI_BEAT_DISPATCH_SECONDS", 0)
    return max(seconds, 2) if seconds else 55


app.conf.beat_schedule = {
    "gongzhi-dispatch-due-jobs": {
        "task": "gongzhi.dispatch_due_jobs",
        "schedule": _dispatch_schedule(),
        # A dispatch nobody took before the next one is due is replaced by the next one.
        "options": {"expires": _dispatch_expiry()},
    },
}


@app.task(name="gongzhi.dispatch_due_jobs", ignore_result=True)
def dispatch_due_jobs_task() -> list[list[str]]:
    from gongzhi.core.jobs import dispatch_due_jobs

    return [list(item) for item in dispatch_due_jobs()]


@app.task(name="gongzhi.run_job", ignore_result=True)
def run_job_task(name: str, run_key: str) -> str | None:
    from gongzhi.core.jobs import run_job

    run = run_job(name, run_key, automatic=True)
    return run.status if run is not None else None


@app.task(name="gongzhi.run_task", bind=True, ignore_result=True, max_retries=None)
def run_task_task(self, task: str, kwargs: dict) -> None:
    from gongzhi.core.jobs import TaskHeldElsewhere, run_task

    try:
        run_task(task, kwargs, delivery_id=self.request.id)
    except TaskHeldElsewhere as exc:
        # The same message, redelivered while its first worker still runs it: look again later (the retry keeps
        # the task id), so the task still runs should that worker die before finishing.
        raise self.retry(exc=exc, countdown=30) from exc
