"""Agent services (民生代办): a service agent handles paperwork for a resident — pension, subsidies, certificates … —
as a matter with its own steps.

States: received → in progress (first step done) → completed (every step done) | cancelled.
Who may act: ``agent_service.handle`` held on a place above the resident's household (service agents, community
workers, managers). Anyone else gets NotFound. The agent of a matter must hold that permission there too. Every
change locks the matter's row, writes the audit log in the same transaction, and changes nothing when refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from gongzhi.core.access import reach, require_authenticated
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.roles import Permission
from gongzhi.people.models import Account, Resident

from .errors import CasesError
from .locks import lock_agent_service
from .models import AgentService, AgentServiceKind, AgentServiceState, AgentServiceStep, Case
from .transitions import REASON_MAX, TEXT_MAX, clean_text, current_time

LIVE_STATES = (AgentServiceState.RECEIVED, AgentServiceState.IN_PROGRESS)
MAX_STEPS = 20

# The steps a matter gets when none are given, by kind (stored in the language of the person who opens it).
DEFAULT_STEPS: dict[str, tuple[str, ...]] = {
    AgentServiceKind.PENSION: (
        gettext_noop("Collect the resident's documents"),
        gettext_noop("Submit the application to the social security office"),
        gettext_noop("Follow up the review"),
        gettext_noop("Tell the resident the result"),
    ),
    AgentServiceKind.SUBSIDY: (
        gettext_noop("Check eligibility"),
        gettext_noop("Collect the resident's documents"),
        gettext_noop("Submit the application"),
        gettext_noop("Tell the resident the result"),
    ),
    AgentServiceKind.CERTIFICATE: (
        gettext_noop("Collect the resident's documents"),
        gettext_noop("Apply at the issuing office"),
        gettext_noop("Hand the certificate to the resident"),
    ),
}
GENERIC_STEPS: tuple[str, ...] = (
    gettext_noop("Collect the resident's documents"),
    gettext_noop("Handle the matter at the office concerned"),
    gettext_noop("Tell the resident the result"),
)


# ---------------------------------------------------------------- reads


def agent_service_queryset(actor: Actor) -> QuerySet[AgentService]:
    """Matters of residents whose household lies in the actor's ``agent_service.handle`` reach."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return AgentService.objects.none()
    handle = reach(actor, Permission.AGENT_SERVICE)
    if handle.everything:
        return AgentService.objects.all()
    return AgentService.objects.filter(handle.q("place__path"))


def access_agent_service(actor: Actor, service_id: Any) -> AgentService:
    require_authenticated(actor)
    try:
        service_id = int(service_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    service = agent_service_queryset(actor).select_related("place", "agent", "resident").filter(pk=service_id).first()
    if service is None:
        raise NotFound()
    return service


def agent_service_steps(service: AgentService) -> list[AgentServiceStep]:
    return list(service.steps.select_related("done_by").order_by("position"))


# ---------------------------------------------------------------- checks


def _check_agent(agent: Any, path: str) -> None:
    if (
        agent is None
        or not isinstance(agent, Account)
        or not agent.is_active
        or not reach(agent, Permission.AGENT_SERVICE).covers(path)
    ):
        raise ValidationFailed(fields={"agent": _("Choose a service agent who serves this resident's household.")})


def _lock(actor: Actor, service: AgentService, states: Iterable[str]) -> AgentService:
    require_authenticated(actor)
    locked = lock_agent_service(getattr(service, "pk", None))
    if not reach(actor, Permission.AGENT_SERVICE).covers(locked.place.path):
        raise NotFound()
    if locked.state not in states:
        raise CasesError.INVALID_TRANSITION(
            _("This matter is %(state)s; it cannot be changed this way now.")
            % {"state": AgentServiceState(locked.state).label}
        )
    return locked


def _audit(actor: Actor, action: str, service: AgentService, changes: dict) -> None:
    audit_record(actor=actor, action=action, target=service, place_path=service.place.path, changes=changes)


def _clean_steps(steps: Iterable[str] | None, kind: str) -> list[str]:
    if steps is None:
        return [_(title) for title in DEFAULT_STEPS.get(kind, GENERIC_STEPS)]
    cleaned = [clean_text(title, "steps", limit=150) for title in steps]
    if not cleaned:
        raise ValidationFailed(fields={"steps": _("A matter has at least one step.")})
    if len(cleaned) > MAX_STEPS:
        raise ValidationFailed(fields={"steps": _("At most %(count)d steps.") % {"count": MAX_STEPS}})
    return cleaned


# ---------------------------------------------------------------- changes


def agent_service_open(
    *,
    actor: Actor,
    resident: Resident,
    kind: str,
    title: str,
    agent: Any = None,
    steps: Iterable[str] | None = None,
    note: str = "",
    due_by: datetime | None = None,
    source_case: Case | None = None,
    now: datetime | None = None,
) -> AgentService:
    """Take on a matter for a resident. The agent is the actor unless another is named; the steps are the given
    titles, else the usual steps for the kind."""
    require_authenticated(actor)
    now = current_time(now)
    household = getattr(resident, "household", None)
    if resident is None or household is None or not household.is_active:
        raise NotFound()
    if not reach(actor, Permission.AGENT_SERVICE).covers(household.path):
        raise NotFound()
    if kind not in AgentServiceKind.values:
        raise ValidationFailed(fields={"kind": _("Choose the kind of matter.")})
    title = clean_text(title, "title", limit=150)
    note = clean_text(note, "note", required=False, limit=TEXT_MAX)
    agent = agent or actor
    _check_agent(agent, household.path)
    if due_by is not None and due_by <= now:
        raise ValidationFailed(fields={"due_by": _("The due date must be in the future.")})
    titles = _clean_steps(steps, kind)
    if source_case is not None and not reach(actor, Permission.CASE_VIEW).covers(source_case.place.path):
        raise NotFound()
    with transaction.atomic():
        service = AgentService.objects.create(
            kind=kind,
            title=title,
            resident=resident,
            place=household,
            agent=agent,
            state=AgentServiceState.RECEIVED,
            note=note,
            received_at=now,
            due_by=due_by,
            source_case=source_case,
        )
        AgentServiceStep.objects.bulk_create(
            [AgentServiceStep(service=service, position=index, title=step) for index, step in enumerate(titles, 1)]
        )
        _audit(actor, "agent_service.open", service, {"kind": kind, "agent": agent.pk, "steps": len(titles)})
    return service


@transaction.atomic
def agent_service_step_add(*, actor: Actor, service: AgentService, title: str, now: datetime | None = None):
    """Add a step at the end (the office asked for one more thing)."""
    title = clean_text(title, "title", limit=150)
    service = _lock(actor, service, LIVE_STATES)
    last = service.steps.aggregate(last=Max("position"))["last"] or 0
    if last >= MAX_STEPS:
        raise ValidationFailed(fields={"title": _("At most %(count)d steps.") % {"count": MAX_STEPS}})
    step = AgentServiceStep.objects.create(service=service, position=last + 1, title=title)
    _audit(actor, "agent_service.step_add", service, {"step": step.position})
    return step


@transaction.atomic
def agent_service_step_done(
    *, actor: Actor, service: AgentService, position: int, note: str = "", now: datetime | None = None
) -> AgentServiceStep:
    """Mark a step done, in order (the steps before it must be done). The first step moves the matter to
    "in progress"."""
    now = current_time(now)
    note = clean_text(note, "note", required=False, limit=REASON_MAX)
    service = _lock(actor, service, LIVE_STATES)
    steps = {step.position: step for step in service.steps.all()}
    step = steps.get(position)
    if step is None:
        raise ValidationFailed(fields={"position": _("This matter has no such step.")})
    if step.done_at is not None:
        raise CasesError.INVALID_TRANSITION(_("This step is already done."))
    if any(other.done_at is None for pos, other in steps.items() if pos < position):
        raise CasesError.INVALID_TRANSITION(_("Finish the steps before this one first."))
    AgentServiceStep.objects.filter(pk=step.pk, done_at__isnull=True).update(done_at=now, done_by=actor, note=note)
    step.done_at, step.done_by, step.note = now, actor, note
    before = service.state
    if before == AgentServiceState.RECEIVED:
        AgentService.objects.filter(pk=service.pk).update(state=AgentServiceState.IN_PROGRESS)
        service.state = AgentServiceState.IN_PROGRESS
    _audit(actor, "agent_service.step_done", service, {"step": position, "state": [before, service.state]})
    return step


@transaction.atomic
def agent_service_complete(
    *, actor: Actor, service: AgentService, note: str = "", now: datetime | None = None
) -> AgentService:
    """The matter is done: every step must be done."""
    now = current_time(now)
    note = clean_text(note, "note", required=False, limit=TEXT_MAX)
    service = _lock(actor, service, LIVE_STATES)
    if service.steps.filter(done_at__isnull=True).exists():
        raise CasesError.STEPS_OPEN()
    before = service.state
    fields = {"state": AgentServiceState.COMPLETED, "completed_at": now}
    if note:
        fields["note"] = f"{service.note}\n{note}".strip()
    AgentService.objects.filter(pk=service.pk, state=before).update(**fields)
    for name, value in fields.items():
        setattr(service, name, value)
    _audit(actor, "agent_service.complete", service, {"state": [before, service.state]})
    return service


@transaction.atomic
def agent_service_cancel(
    *, actor: Actor, service: AgentService, reason: str, now: datetime | None = None
) -> AgentService:
    """The matter is dropped (the resident withdrew it, or it turned out not to be needed)."""
    reason = clean_text(reason, "reason", limit=REASON_MAX)
    service = _lock(actor, service, LIVE_STATES)
    before = service.state
    note = f"{service.note}\n{reason}".strip()
    AgentService.objects.filter(pk=service.pk, state=before).update(state=AgentServiceState.CANCELLED, note=note)
    service.state, service.note = AgentServiceState.CANCELLED, note
    _audit(actor, "agent_service.cancel", service, {"state": [before, service.state], "reason": reason})
    return service
