"""Undoing a merge: a request merged as a duplicate by mistake is handled on its own again.

``case_merge`` (services.py) keeps in its trail event what the undo needs (``merge_undo_data``): the deadlines the
request had, the state of the request it went into, and the duplicates that followed it there. ``case_unmerge``
puts them back — allowed to the people who could merge the request (a ``case.handle`` role where it is handled),
within ``GONGZHI_CASE_UNMERGE_HOURS`` (24) of the merge, and only while the request it went into has not changed
state since (nothing was done on it that the duplicate would have missed). Both rows are locked in primary-key
order; the trail of both, the audit log and the reporter's inbox are written in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.actors import Actor
from gongzhi.core.errors import NotFound

from .errors import CasesError
from .locks import lock_case
from .models import Case, CaseEvent, CaseEventKind, CaseState
from .notifications import tell_handlers, tell_reporter
from .selectors import can_handle, case_queryset
from .transitions import apply_change, audit_case, current_time, record_event

UNMERGE_HOURS = 24
# Trail events on the request merged into that do not change what the duplicate would have to catch up with.
_QUIET_KINDS = (CaseEventKind.ABSORBED, CaseEventKind.SEPARATED, CaseEventKind.OVERDUE)


def unmerge_window() -> timedelta:
    return timedelta(hours=int(getattr(settings, "GONGZHI_CASE_UNMERGE_HOURS", UNMERGE_HOURS)))


def merge_undo_data(case: Case, into: Case) -> dict[str, Any]:
    """What the MERGED event keeps so the merge can be undone (read before the merge is written)."""
    return {
        "into": into.pk,
        "into_state": into.state,
        "accept_by": case.accept_by.isoformat() if case.accept_by else None,
        "resolve_by": case.resolve_by.isoformat() if case.resolve_by else None,
        "followers": list(Case.objects.filter(duplicate_of_id=case.pk).values_list("pk", flat=True)),
    }


def _merge_event(case: Case) -> CaseEvent | None:
    return CaseEvent.objects.filter(case_id=case.pk, kind=CaseEventKind.MERGED).order_by("-occurred_at", "-id").first()


def unmerge_refusal(actor: Actor, case: Case, now: datetime | None = None) -> str:
    """Why the actor cannot undo the merge of ``case`` now ("" when they can). Not for a case out of their reach."""
    now = current_time(now)
    if case.state != CaseState.DUPLICATE or case.duplicate_of_id is None or not can_handle(actor, case):
        return _("This request is not merged into another one.")
    event = _merge_event(case)
    if event is None or event.data.get("into") != case.duplicate_of_id or "into_state" not in event.data:
        return _("This merge cannot be undone.")
    if now - event.occurred_at > unmerge_window():
        return _("A merge can be undone within %(hours)d hours only.") % {
            "hours": unmerge_window() // timedelta(hours=1)
        }
    into = Case.objects.filter(pk=case.duplicate_of_id).only("state").first()
    changed = (
        CaseEvent.objects.filter(case_id=case.duplicate_of_id, occurred_at__gte=event.occurred_at)
        .exclude(kind__in=_QUIET_KINDS)
        .exists()
    )
    if into is None or into.state != event.data["into_state"] or changed:
        return _("The request it was merged into has changed since: the merge can no longer be undone.")
    return ""


def can_unmerge(actor: Actor, case: Case, now: datetime | None = None) -> bool:
    return case.state == CaseState.DUPLICATE and not unmerge_refusal(actor, case, now)


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@transaction.atomic
def case_unmerge(*, actor: Actor, case: Case, note: str = "", now: datetime | None = None) -> Case:
    """Undo the merge of ``case``: it goes back to the state and deadlines it had, the duplicates that followed it
    come back to it, and the request it was merged into records the separation."""
    now = current_time(now)
    into_id = case_queryset(actor).filter(pk=case.pk).values_list("duplicate_of_id", flat=True).first()
    if into_id is None:
        if not case_queryset(actor).filter(pk=case.pk).exists():
            raise NotFound()
        raise CasesError.INVALID_TRANSITION(_("This request is not merged into another one."))
    first, second = sorted([case.pk, into_id])
    locked = {first: lock_case(first), second: lock_case(second)}
    case, into = locked[case.pk], locked[into_id]
    if not can_handle(actor, case):
        raise NotFound()
    if case.duplicate_of_id != into.pk:
        raise CasesError.INVALID_TRANSITION(_("This request has just been changed by someone else. Reload it."))
    refusal = unmerge_refusal(actor, case, now)
    if refusal:
        raise CasesError.INVALID_TRANSITION(refusal)
    event = _merge_event(case)
    assert event is not None  # unmerge_refusal checked it
    data = event.data
    apply_change(
        case,
        CaseState.DUPLICATE,
        now,
        state=event.from_state or CaseState.SUBMITTED,
        duplicate_of=None,
        closed_at=None,
        accept_by=_moment(data.get("accept_by")),
        resolve_by=_moment(data.get("resolve_by")),
    )
    followers = list(data.get("followers") or [])
    if followers:
        Case.objects.filter(pk__in=followers, duplicate_of_id=into.pk).update(duplicate_of=case, updated_at=now)
    record_event(
        case,
        kind=CaseEventKind.UNMERGED,
        actor=actor,
        now=now,
        from_state=CaseState.DUPLICATE,
        note=note,
        data={"from": into.pk, "followers": followers},
    )
    record_event(
        into, kind=CaseEventKind.SEPARATED, actor=actor, now=now, from_state=into.state, data={"case": case.pk}
    )
    audit_case(actor, "case.unmerge", case, {"state": [CaseState.DUPLICATE, case.state], "from": into.pk})
    tell_reporter(
        case,
        "case.unmerged",
        lambda c: _("Your request %(number)s is handled on its own again.") % {"number": c.number},
        now,
    )
    tell_handlers(
        case,
        "case.unmerged",
        lambda c: (
            _("Request %(number)s (%(category)s) is no longer merged into %(into)s and waits for you again.")
            % {"number": c.number, "category": c.category.name, "into": into.number}
        ),
        now,
        exclude=actor,
    )
    return case


def unmerge_deadline(case: Case) -> datetime | None:
    """Until when the merge of ``case`` may be undone (for the page), or None."""
    event = _merge_event(case) if case.state == CaseState.DUPLICATE else None
    return timezone.localtime(event.occurred_at + unmerge_window()) if event else None
