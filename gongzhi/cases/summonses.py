"""吹哨报到: a handler above grid level summons a department to a case, and the department reports back within its
own working-time deadline. (Late summonses are flagged by ``jobs.escalate_overdue_cases``.)"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import require_authenticated
from gongzhi.core.actors import Actor
from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.people.models import Organisation

from .errors import CasesError
from .locks import lock_case, lock_summons
from .models import Case, CaseEventKind, CaseLevel, Summons, SummonsState
from .notifications import department_accounts, handler_accounts, notify
from .selectors import handles_department
from .transitions import (
    audit_case,
    clean_text,
    current_time,
    lock_for_handler,
    record_event,
)
from .worktime import add_working_time

SUMMONS_DEFAULT_HOURS = 16


@transaction.atomic
def case_summon(
    *,
    actor: Actor,
    case: Case,
    department: Organisation,
    note: str,
    respond_within_hours: int = SUMMONS_DEFAULT_HOURS,
    now: datetime | None = None,
) -> Summons:
    """吹哨报到: a handler above grid level summons a department, which must respond within its own deadline."""
    now = current_time(now)
    note = clean_text(note, "note")
    if department is None or not department.is_active:
        raise ValidationFailed(fields={"department": _("Choose an active department.")})
    if not 1 <= int(respond_within_hours) <= 400:
        raise ValidationFailed(fields={"respond_within_hours": _("Give between 1 and 400 working hours.")})
    case = lock_for_handler(actor, case, "summon")
    if case.level == CaseLevel.GRID:
        raise CasesError.INVALID_TRANSITION(
            _("A grid passes the request up; summoning departments starts at the community.")
        )
    if case.summonses.filter(department=department, state=SummonsState.PENDING).exists():
        raise CasesError.ALREADY_SUMMONED()
    respond_by = add_working_time(now, hours=respond_within_hours)
    summons = Summons.objects.create(
        case=case,
        department=department,
        summoned_by=actor,
        summoned_at=now,
        level=case.level,
        note=note,
        respond_by=respond_by,
    )
    Case.objects.filter(pk=case.pk).update(updated_at=now)
    record_event(
        case,
        kind=CaseEventKind.SUMMONED,
        actor=actor,
        now=now,
        from_state=case.state,
        note=note,
        data={"summons": summons.pk, "department": department.name, "respond_by": respond_by.isoformat()},
    )
    audit_case(actor, "case.summon", case, {"department": department.pk, "respond_by": respond_by.isoformat()})
    notify(
        department_accounts(department.pk, now=now),
        case=case,
        kind="case.summoned",
        message=lambda c: (
            _("Your department is summoned on request %(number)s at %(place)s; respond by %(time)s.")
            % {
                "number": c.number,
                "place": c.handling_place.name,
                "time": timezone.localtime(respond_by).strftime("%m-%d %H:%M"),
            }
        ),
        now=now,
    )
    return summons


@transaction.atomic
def summons_respond(*, actor: Actor, summons: Summons, response: str, now: datetime | None = None) -> Summons:
    """The summoned department reports back (报到)."""
    now = current_time(now)
    response = clean_text(response, "response")
    require_authenticated(actor)
    summons = lock_summons(summons.pk)
    if not handles_department(actor, summons.department_id):
        raise NotFound()
    if summons.state != SummonsState.PENDING:
        raise CasesError.INVALID_TRANSITION(_("This summons has already been answered."))
    Summons.objects.filter(pk=summons.pk, state=SummonsState.PENDING).update(
        state=SummonsState.RESPONDED, response=response, responded_by=actor, responded_at=now
    )
    summons.refresh_from_db()
    case = lock_case(summons.case_id)
    record_event(
        case,
        kind=CaseEventKind.SUMMONS_RESPONDED,
        actor=actor,
        now=now,
        from_state=case.state,
        note=response,
        data={"summons": summons.pk, "department": summons.department.name},
    )
    audit_case(actor, "case.summons_respond", case, {"summons": summons.pk})
    notify(
        [summons.summoned_by, *handler_accounts(case, now=now)],
        case=case,
        kind="case.summons_responded",
        message=lambda c: (
            _("%(department)s responded on request %(number)s.")
            % {"department": summons.department.name, "number": c.number}
        ),
        now=now,
    )
    return summons
