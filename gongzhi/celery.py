"""The Celery application for production job running (``GONGZHI_JOBS_MODE=celery``).

Run, on as many machines as needed (each reading the same environment as the web processes)::

    celery -A gongzhi worker --loglevel INFO       # any number of workers
    celery -A gongzhi beat --loglevel INFO         # exactly one beat process

The broker is ``GONGZHI_CELERY_BROKER_URL`` (default ``GONGZHI_REDIS_URL``), read into
``settings.CELERY_BROKER_URL``; every ``CELERY_*`` setting configures this app. Beat sends
``gongzhi.dispatch_due_jobs`` every minute; that task sends one ``gongzhi.run_job`` per due job, and the worker
that takes it claims the period in the database (see ``gongzhi.core.jobs``), so a job runs once per period however
many workers and beats there are.
"""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")

app = Celery("gongzhi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.beat_schedule = {
    "gongzhi-dispatch-due-jobs": {
        "task": "gongzhi.dispatch_due_jobs",
        "schedule": crontab(),  # every minute
        "options": {"expires": 55},  # a dispatch nobody took within the minute is replaced by the next one
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


@app.task(name="gongzhi.run_task", ignore_result=True)
def run_task_task(task: str, kwargs: dict) -> None:
    from gongzhi.core.jobs import run_task

    run_task(task, kwargs)
