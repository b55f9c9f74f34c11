"""The state machine of a case and the pieces every change of a case is built from.

- ``TRANSITIONS``: the states each action may start from; ``check_transition`` refuses a forbidden move with
  ``invalid_transition`` before anything is written, ``allowed_actions`` lists what a person may do now (buttons);
- ``lock_for_handler`` / ``lock_for_reporter``: the actor is checked first (NotFound for a case out of reach, the
  same answer as for a case that does not exist), then the case row is locked and the move checked;
- ``apply_change`` updates the row only if its state is still the one read (a conditional UPDATE), so two handlers
  racing for the same case cannot both win;
- ``record_event`` (the trail), ``audit_case`` (the audit log) and ``save_photos`` are written in the caller's
  transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import require_authenticated
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import CoreError, NotFound, ValidationFailed
from gongzhi.core.uploads import IMAGES, MB, upload_problem
from gongzhi.people.models import Organisation
from gongzhi.places.models import Place

from .errors import CasesError
from .locks import lock_case
from .models import OPEN_STATES, Case, CaseEvent, CaseLevel, CasePhoto, CaseState
from .routing import next_level
from .selectors import can_handle, case_queryset

TEXT_MAX = 2000
REASON_MAX = 500
MAX_PHOTOS = 9
MAX_PHOTO_BYTES = 10 * MB


# ---------------------------------------------------------------- the state machine


# action → the states it may start from. Targets are set by each service (rating has three outcomes).
TRANSITIONS: dict[str, frozenset[str]] = {
    "accept": frozenset({CaseState.SUBMITTED}),
    "start": frozenset({CaseState.ACCEPTED}),
    "resolve": frozenset({CaseState.ACCEPTED, CaseState.IN_PROGRESS}),
    "refer": frozenset(OPEN_STATES),
    "escalate": frozenset(OPEN_STATES),
    "auto_escalate": frozenset(OPEN_STATES),
    "summon": frozenset({CaseState.ACCEPTED, CaseState.IN_PROGRESS}),
    "rate": frozenset({CaseState.RESOLVED}),
    "close": frozenset({CaseState.RESOLVED}),
    "reject": frozenset({CaseState.SUBMITTED, CaseState.ACCEPTED}),
    "withdraw": frozenset(OPEN_STATES),
    "merge": frozenset(OPEN_STATES),
    "absorb": frozenset({*OPEN_STATES, CaseState.RESOLVED}),
}


def _action_label(action: str) -> str:
    labels = {
        "accept": _("accepted"),
        "start": _("started"),
        "resolve": _("resolved"),
        "refer": _("referred"),
        "escalate": _("passed up a level"),
        "auto_escalate": _("passed up a level"),
        "summon": _("used to summon a department"),
        "rate": _("rated"),
        "close": _("closed"),
        "reject": _("rejected"),
        "withdraw": _("withdrawn"),
        "merge": _("merged into another request"),
        "absorb": _("used as the request to merge into"),
    }
    return labels.get(action, action)


def check_transition(case: Case, action: str) -> None:
    """Refuse with ``invalid_transition`` unless ``action`` is allowed from the case's current state."""
    if case.state not in TRANSITIONS[action]:
        raise CasesError.INVALID_TRANSITION(
            _("This request is %(state)s; it cannot be %(action)s now.")
            % {"state": CaseState(case.state).label, "action": _action_label(action)}
        )


def allowed_actions(actor: Actor, case: Case) -> list[str]:
    """The actions the actor could take on the case now (for showing buttons)."""
    actions = []
    handler = can_handle(actor, case)
    for action in ("accept", "start", "resolve", "refer", "escalate", "summon", "close", "reject", "merge"):
        if handler and case.state in TRANSITIONS[action]:
            if action == "escalate" and next_level(case.level) is None:
                continue
            if action == "summon" and case.level == CaseLevel.GRID:
                continue
            actions.append(action)
    is_reporter = getattr(actor, "pk", None) is not None and case.reporter_account_id == actor.pk
    if is_reporter and case.state in TRANSITIONS["rate"]:
        actions.append("rate")
    if is_reporter and case.state in TRANSITIONS["withdraw"]:
        actions.append("withdraw")
    return actions


# ---------------------------------------------------------------- small helpers


def current_time(now: datetime | None) -> datetime:
    return now or timezone.now()


def actor_label(actor: Actor | None) -> str:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return ""
    return getattr(actor, "label", "") or actor.get_username()


def clean_text(value: str, field: str, *, required: bool = True, limit: int = TEXT_MAX) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(fields={field: _("This field is required.")})
    if len(value) > limit:
        raise ValidationFailed(fields={field: _("Write at most %(limit)d characters.") % {"limit": limit}})
    return value


def lock_for_handler(actor: Actor, case: Case, action: str) -> Case:
    """Lock the case for a handler's action: NotFound unless the actor handles it at its level and place, then
    ``invalid_transition`` unless the action is allowed from its state."""
    require_authenticated(actor)
    locked = lock_case(case.pk)
    if not can_handle(actor, locked):
        raise NotFound()
    check_transition(locked, action)
    return locked


def lock_for_reporter(actor: Actor, case: Case, action: str) -> Case:
    require_authenticated(actor)
    if not case_queryset(actor).filter(pk=case.pk).exists():
        raise NotFound()
    locked = lock_case(case.pk)
    if locked.reporter_account_id != actor.pk:
        raise CasesError.NOT_REPORTER()
    check_transition(locked, action)
    return locked


def apply_change(case: Case, expected_state: str, now: datetime, **fields: Any) -> None:
    """Write ``fields`` only if the case is still in ``expected_state``; then reflect them on the instance."""
    fields["updated_at"] = now
    updated = Case.objects.filter(pk=case.pk, state=expected_state).update(**fields)
    if not updated:
        raise CasesError.INVALID_TRANSITION(
            _("This request has just been changed by someone else. Reload it and try again.")
        )
    expressions = [name for name, value in fields.items() if hasattr(value, "resolve_expression")]
    for name, value in fields.items():
        if name not in expressions:
            setattr(case, name, value)
    if expressions:
        case.refresh_from_db(fields=expressions)


def record_event(
    case: Case,
    *,
    kind: str,
    actor: Actor | None,
    now: datetime,
    from_state: str = "",
    note: str = "",
    from_level: str = "",
    from_place: Place | None = None,
    from_department: Organisation | None = None,
    data: dict | None = None,
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        occurred_at=now,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label(actor),
        level=case.level,
        from_state=from_state,
        to_state=case.state,
        from_level=from_level,
        to_level=case.level if from_level else "",
        from_place=from_place,
        to_place=case.handling_place,
        from_department=from_department,
        to_department=case.handling_department,
        note=note,
        data=data or {},
    )


def audit_case(actor: Actor | None, action: str, case: Case, changes: dict | None = None) -> None:
    audit_record(
        actor=actor,
        actor_label="" if getattr(actor, "is_authenticated", False) else "system",
        action=action,
        target=case,
        place_path=case.place.path,
        changes=changes or {},
    )


def save_photos(case: Case, event: CaseEvent | None, photos: Iterable[Any], actor: Actor, now: datetime) -> None:
    """Store a step's photos. The pages pass them through ``clean_photos`` (re-encoded, no EXIF); here they are
    checked again, without re-encoding, so no caller can store more than nine, or a file that is not a picture."""
    photos = list(photos or ())
    if len(photos) > MAX_PHOTOS:
        raise CoreError.UPLOAD_REFUSED(fields={"photos": _("Attach at most %(count)d photos.") % {"count": MAX_PHOTOS}})
    for photo in photos:
        problem = upload_problem(photo, kinds=IMAGES, max_bytes=MAX_PHOTO_BYTES)
        if problem:
            raise CoreError.UPLOAD_REFUSED(fields={"photos": problem})
    for photo in photos:
        CasePhoto.objects.create(
            case=case,
            event=event,
            image=photo,
            uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
            uploaded_at=now,
        )
