"""Periodic work of deliberation (registered with ``@periodic_job``; idempotent).

- ``deliberation.verify_chains``: every night, recompute the ballot chain of every vote that has ballots (as
  ``gongzhi deliberation_verify`` does) and write one audit entry ``deliberation.chain_broken`` (by the system, with
  the problems found) for each vote whose chain does not verify, so a ballot altered, deleted or inserted behind
  the platform's back shows in the audit log by the next morning. It changes no ballot; running it twice on one
  day runs it once (the job's run record).
"""

from __future__ import annotations

from datetime import datetime

from gongzhi.core.jobs import periodic_job

from .selectors import chain_report, votes_with_ballots
from .services import chain_broken_record


@periodic_job(name="deliberation.verify_chains", every="day", at="02:40", atomic=False)
def verify_chains(*, run_key: str, now: datetime) -> dict:
    checked = broken = 0
    for vote in votes_with_ballots():
        checked += 1
        report = chain_report(vote)
        if not report.intact:
            broken += 1
            chain_broken_record(vote=vote, problems=report.problems, now=now)
    return {"checked": checked, "broken": broken}
