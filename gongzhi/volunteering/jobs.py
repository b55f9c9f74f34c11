"""Periodic work of volunteering (registered with ``@periodic_job``; idempotent).

- ``volunteering.expire_offers``: every hour, a place offered from the waiting list and not confirmed in time
  expires and goes to the next in line (each activity under its lock, in its own transaction; signing up, cancelling
  and confirming also expire the activity's overdue offers first, so nobody waits on the job to be fair).
"""

from __future__ import annotations

from datetime import datetime

from gongzhi.core.jobs import periodic_job

from .services import offers_expire


@periodic_job(name="volunteering.expire_offers", every="hour", at=":05", atomic=False)
def expire_offers(*, run_key: str, now: datetime) -> dict:
    expired = 0
    while True:
        batch = offers_expire(now=now, limit=200)
        expired += batch
        if batch == 0:
            return {"expired": expired}
