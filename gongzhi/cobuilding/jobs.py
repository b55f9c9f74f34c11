"""Periodic work of co-building (registered with ``@periodic_job``; idempotent).

- ``cobuilding.expire_agreements``: every day, agreements whose end date has passed end (on that date), so an
  organisation without a renewed agreement no longer publishes resources or claims projects there.
"""

from __future__ import annotations

from datetime import datetime

from gongzhi.core.jobs import periodic_job

from .lists import agreements_expire


@periodic_job(name="cobuilding.expire_agreements", every="day", at="01:30", atomic=False)
def expire_agreements(*, run_key: str, now: datetime) -> dict:
    return {"ended": agreements_expire(now=now)}
