"""The roll-up job: every hour, merge the rows posted since the last run and rebuild the dirty days."""

from __future__ import annotations

from datetime import datetime

from gongzhi.core.jobs import periodic_job

from .services import rollups_build


@periodic_job(name="rollups.build", every="hour", at=":07")
def build_rollups(*, run_key: str, now: datetime) -> dict:
    """Idempotent: a second run finds nothing new (see gongzhi.rollups.services)."""
    return {report["source"]: report.get("rows", report.get("days")) for report in rollups_build(now=now)}
