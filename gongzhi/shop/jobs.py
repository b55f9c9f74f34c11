"""Periodic work of the points shop (registered with ``@periodic_job``; idempotent).

- ``shop.expire_unclaimed``: every hour, release the orders nobody picked up before their expiry: points back to
  the balance, stock back on the shelf. Each order is released in a transaction of its own (so one failure does
  not undo the others), under a lock on the order and with a ledger key derived from it: running the job twice,
  or beside a clerk verifying the same order, never releases twice.
"""

from __future__ import annotations

from datetime import datetime

from gongzhi.core.jobs import periodic_job

from .services import redemptions_expire


@periodic_job(name="shop.expire_unclaimed", every="hour", at=":07", atomic=False)
def expire_unclaimed(*, run_key: str, now: datetime) -> dict:
    expired = 0
    while True:
        batch = redemptions_expire(now=now, limit=500)
        expired += batch
        if batch < 500:
            return {"expired": expired}
