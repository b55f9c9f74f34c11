"""What the stack test's Celery workers import (``celery worker -I gongzhi.stack_tests.stack_tasks``).

Only worker processes started by ``test_stack.py`` import this module, so its periodic job is registered nowhere
else. Effects go to tables the test creates in its own throw-away database (``stack_tally``, ``stack_attempt``,
``stack_tick``), with no unique constraints: a task or job that ran twice shows up as duplicate rows.
"""

from __future__ import annotations

import os
import time
from datetime import datetime

from django.db import connection, transaction

from gongzhi.core.jobs import periodic_job


def slow_tally(*, tally: str, steps: int, pause: float) -> dict:
    """Write ``steps`` rows one by one, ``pause`` seconds apart; resumable: a run taken back goes on from the
    rows already committed. Each start is recorded in ``stack_attempt``."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO stack_attempt (tally, pid) VALUES (%s, %s)", [tally, os.getpid()])
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM stack_tally WHERE tally = %s", [tally])
            done = cursor.fetchone()[0]
            if done >= steps:
                return {"steps": done}
            cursor.execute("INSERT INTO stack_tally (tally, step, pid) VALUES (%s, %s, %s)", [tally, done, os.getpid()])
        time.sleep(pause)


@periodic_job(name="stack_test.tick", every="minute")
def tick(*, run_key: str, now: datetime) -> dict:
    """One row per run; slow enough that deliveries of the same period to two workers overlap."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO stack_tick (run_key, pid) VALUES (%s, %s)", [run_key, os.getpid()])
    time.sleep(0.5)
    return {"pid": os.getpid()}
