"""Periodic work of the cases domain (see gongzhi/core/jobs.py). Each job is idempotent."""

from __future__ import annotations

from datetime import datetime

from gongzhi.core.jobs import periodic_job

from .services import close_unrated_cases, escalate_overdue_cases, send_notification_digests


@periodic_job(name="cases.escalate_overdue", every="minute", atomic=False)
def escalate_overdue(*, run_key: str, now: datetime) -> dict:
    """Cases past their deadline are marked overdue and passed up a level; late summonses are flagged."""
    return escalate_overdue_cases(now=now)


@periodic_job(name="cases.close_unrated", every="day", at="03:00", atomic=False)
def close_unrated(*, run_key: str, now: datetime) -> dict:
    """Resolved cases nobody rated within the rating window are closed."""
    return close_unrated_cases(now=now)


@periodic_job(name="cases.notification_digest", every="day", at="18:00", atomic=False)
def notification_digest(*, run_key: str, now: datetime) -> dict:
    """One e-mail per person with the day's unread notifications."""
    return send_notification_digests(now=now)


@periodic_job(name="cases.weekly_visit_summaries", every="week", at="06:00", atomic=False)
def weekly_visit_summaries(*, run_key: str, now: datetime) -> dict:
    """Monday morning: each building head's (and every visitor's) summary of last week's visits goes to their inbox
    and to the grid workers above them. The week is the one before the run's week (run key "2026-W10" summarises
    2026-W09)."""
    from gongzhi.core.figures import Period

    from .visits import send_weekly_visit_summaries

    return send_weekly_visit_summaries(period=Period.from_key(run_key).previous(), now=now)
