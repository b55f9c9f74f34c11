"""The people app's periodic jobs (imported by core at start-up)."""

from __future__ import annotations

from datetime import datetime

from gongzhi.core.jobs import periodic_job

from .retention import retention_enforce


@periodic_job(name="people.retention", every="day", at="03:30", atomic=False)
def enforce_retention(*, run_key: str, now: datetime) -> dict:
    """Apply the retention periods of ``GONGZHI_RETENTION`` (people/retention.py); idempotent."""
    return retention_enforce(now=now)
