"""Periodic work of the cases domain (see gongzhi/core/jobs.py): the system's own steps on cases (overdue cases
passed up, unrated cases closed) and the periodic jobs that run them. Each job is idempotent."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from gongzhi.core.jobs import periodic_job

from .locks import lock_case
from .models import OPEN_STATES, Case, CaseEventKind, CaseState, Summons, SummonsState
from .notifications import department_accounts, notify, send_notification_digests, tell_handlers
from .routing import next_level
from .services import close_case, escalation_route, move_case
from .transitions import apply_change, audit_case, current_time, record_event

# ---------------------------------------------------------------- the system's steps


def _overdue_condition(now: datetime) -> Q:
    return Q(state=CaseState.SUBMITTED, accept_by__lte=now) | Q(state__in=OPEN_STATES, resolve_by__lte=now)


def escalate_overdue_cases(*, now: datetime | None = None, limit: int = 500) -> dict:
    """Mark every case past its deadline overdue (the flag stays) and pass it up one level; at the highest level
    the case stays where it is, without a further automatic deadline. Idempotent: a case handled here gets new
    deadlines (or none), so running again at the same moment changes nothing. One transaction per case, cases in
    primary-key order."""
    now = current_time(now)
    escalated = overdue_at_top = 0
    ids = list(Case.objects.filter(_overdue_condition(now)).order_by("pk").values_list("pk", flat=True)[:limit])
    for case_id in ids:
        with transaction.atomic():
            case = lock_case(case_id)
            missed_accept = case.state == CaseState.SUBMITTED and case.accept_by is not None and case.accept_by <= now
            missed_resolve = case.state in OPEN_STATES and case.resolve_by is not None and case.resolve_by <= now
            if not (missed_accept or missed_resolve):
                continue  # handled meanwhile
            missed = "accept" if missed_accept else "resolve"
            deadline = case.accept_by if missed == "accept" else case.resolve_by
            data = {"missed": missed, "deadline": deadline.isoformat() if deadline else None}
            overdue_fields = {"is_overdue": True, "first_overdue_at": case.first_overdue_at or now}
            target = next_level(case.level)
            if target is None:
                apply_change(case, case.state, now, accept_by=None, resolve_by=None, **overdue_fields)
                record_event(case, kind=CaseEventKind.OVERDUE, actor=None, now=now, from_state=case.state, data=data)
                audit_case(None, "case.overdue", case, data)
                tell_handlers(
                    case,
                    "case.overdue",
                    lambda c: _("Request %(number)s is overdue.") % {"number": c.number},
                    now,
                )
                overdue_at_top += 1
                continue
            route = escalation_route(case, target, now=now)
            move_case(
                case,
                actor=None,
                action="auto_escalate",
                kind=CaseEventKind.AUTO_ESCALATED,
                route=route,
                now=now,
                note="",
                extra={**overdue_fields, "escalation_count": F("escalation_count") + 1},
                data=data,
            )
            escalated += 1
    overdue_summonses = 0
    summons_ids = list(
        Summons.objects.filter(state=SummonsState.PENDING, is_overdue=False, respond_by__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for summons_id in summons_ids:
        with transaction.atomic():
            updated = Summons.objects.filter(pk=summons_id, state=SummonsState.PENDING, is_overdue=False).update(
                is_overdue=True
            )
            if not updated:
                continue
            summons = Summons.objects.select_related("department", "summoned_by").get(pk=summons_id)
            case = lock_case(summons.case_id)
            record_event(
                case,
                kind=CaseEventKind.SUMMONS_OVERDUE,
                actor=None,
                now=now,
                from_state=case.state,
                data={"summons": summons.pk, "department": summons.department.name},
            )
            audit_case(None, "case.summons_overdue", case, {"summons": summons.pk})
            notify(
                [summons.summoned_by, *department_accounts(summons.department_id, now=now)],
                case=case,
                kind="case.summons_overdue",
                message=lambda c, s=summons: (
                    _("%(department)s has not responded on request %(number)s in time.")
                    % {"department": s.department.name, "number": c.number}
                ),
                now=now,
            )
            overdue_summonses += 1
    return {"escalated": escalated, "overdue_at_top": overdue_at_top, "overdue_summonses": overdue_summonses}


def close_unrated_cases(*, now: datetime | None = None, days: int | None = None) -> dict:
    """Close resolved cases the resident has not rated within ``GONGZHI_CASE_RATING_DAYS`` (7) days."""
    now = current_time(now)
    days = days if days is not None else getattr(settings, "GONGZHI_CASE_RATING_DAYS", 7)
    ids = list(
        Case.objects.filter(state=CaseState.RESOLVED, resolved_at__lte=now - timedelta(days=days))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    closed = 0
    for case_id in ids:
        with transaction.atomic():
            case = lock_case(case_id)
            if case.state != CaseState.RESOLVED:
                continue
            close_case(case, actor=None, now=now, note=_("Not rated within %(days)d days.") % {"days": days})
            closed += 1
    return {"closed": closed}


# ---------------------------------------------------------------- the periodic jobs


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


@periodic_job(name="cases.sweep_held_photos", every="day", at="04:10", atomic=False)
def sweep_held_photos(*, run_key: str, now: datetime) -> dict:
    """Photos held for a form that was never sent again are deleted after a day (held_photos.py)."""
    from .held_photos import held_photos_sweep

    return held_photos_sweep(now=now)


@periodic_job(name="cases.weekly_visit_summaries", every="week", at="06:00", atomic=False)
def weekly_visit_summaries(*, run_key: str, now: datetime) -> dict:
    """Monday morning: each building head's (and every visitor's) summary of last week's visits goes to their inbox
    and to the grid workers above them. The week is the one before the run's week (run key "2026-W10" summarises
    2026-W09)."""
    from gongzhi.core.figures import Period

    from .visits import send_weekly_visit_summaries

    return send_weekly_visit_summaries(period=Period.from_key(run_key).previous(), now=now)
