"""A case's trail in plain words, for the resident's phone and the staff detail page alike.

Staff see who did each step. The resident who raised the request is named in the trail as in the request's header
(``reporter_label``): masked (杨**), "anonymous" when they asked to be hidden, "you" for themselves — so the trail
never shows a full name the header hides.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.masking import mask_name

from .models import Case, CaseChannel, CaseEvent, CaseEventKind, CaseLevel, Satisfaction


def _level(value: str) -> str:
    return str(CaseLevel(value).label) if value in CaseLevel.values else value


def _where(place, department) -> str:
    if department is not None:
        return f"{department.name}（{place.name}）" if place is not None else department.name
    return place.name if place is not None else ""


def describe_event(event: CaseEvent) -> str:
    """One sentence saying what happened, where and why (the note), without naming staff."""
    to = _where(event.to_place, event.to_department)
    source = _where(event.from_place, event.from_department)
    data = event.data or {}
    note = event.note.strip()
    kind = event.kind
    if kind == CaseEventKind.SUBMITTED:
        channel = data.get("channel", "")
        label = CaseChannel(channel).label if channel in CaseChannel.values else channel
        return _("The request was received (through the %(channel)s).") % {"channel": label}
    if kind == CaseEventKind.ROUTED:
        return _("It was sent to %(place)s (%(level)s level).") % {"place": to, "level": _level(event.level)}
    if kind == CaseEventKind.ACCEPTED:
        return _("%(place)s accepted it.") % {"place": to}
    if kind == CaseEventKind.STARTED:
        return _("%(place)s started work on it.") % {"place": to}
    if kind == CaseEventKind.RESOLVED:
        return _("%(place)s resolved it: %(what)s") % {"place": to, "what": note}
    if kind == CaseEventKind.REFERRED:
        return _("%(from)s referred it to %(to)s: %(why)s") % {"from": source, "to": to, "why": note}
    if kind == CaseEventKind.ESCALATED:
        return _("It was passed up from the %(from)s level to %(to)s (%(level)s level): %(why)s") % {
            "from": _level(event.from_level),
            "to": to,
            "level": _level(event.to_level),
            "why": note,
        }
    if kind == CaseEventKind.AUTO_ESCALATED:
        return _(
            "It was not handled in time at the %(from)s level, so it was passed up automatically to %(to)s "
            "(%(level)s level)."
        ) % {"from": _level(event.from_level), "to": to, "level": _level(event.to_level)}
    if kind == CaseEventKind.OVERDUE:
        return _("It was not handled in time at the %(level)s level.") % {"level": _level(event.level)}
    if kind == CaseEventKind.SUMMONED:
        respond_by = data.get("respond_by")
        when = ""
        if respond_by:
            from datetime import datetime

            when = timezone.localtime(datetime.fromisoformat(respond_by)).strftime("%Y-%m-%d %H:%M")
        return _("%(department)s was summoned to help, and must respond by %(time)s.") % {
            "department": data.get("department", ""),
            "time": when,
        }
    if kind == CaseEventKind.SUMMONS_RESPONDED:
        return _("%(department)s responded: %(what)s") % {"department": data.get("department", ""), "what": note}
    if kind == CaseEventKind.SUMMONS_OVERDUE:
        return _("%(department)s did not respond in time.") % {"department": data.get("department", "")}
    if kind == CaseEventKind.RATED:
        rating = data.get("rating", "")
        label = Satisfaction(rating).label if rating in Satisfaction.values else rating
        return _("The resident rated the result: %(rating)s.") % {"rating": label}
    if kind == CaseEventKind.REOPENED:
        return _("It was reopened because the resident was not satisfied.")
    if kind == CaseEventKind.CLOSED:
        return _("It was closed.") if not note else _("It was closed: %(why)s") % {"why": note}
    if kind == CaseEventKind.REJECTED:
        return _("It was not taken up: %(why)s") % {"why": note}
    if kind == CaseEventKind.WITHDRAWN:
        return _("The resident withdrew it.")
    if kind == CaseEventKind.MERGED:
        return _("It is about the same matter as request #%(number)s and is handled there.") % {
            "number": data.get("into", "")
        }
    if kind == CaseEventKind.ABSORBED:
        return _("Request #%(number)s about the same matter was merged into this one.") % {
            "number": data.get("case", "")
        }
    if kind == CaseEventKind.UNMERGED:
        return _("The merge into request #%(number)s was undone: it is handled on its own again.") % {
            "number": data.get("from", "")
        }
    if kind == CaseEventKind.SEPARATED:
        return _("Request #%(number)s is no longer merged into this one.") % {"number": data.get("case", "")}
    return str(CaseEventKind(kind).label) if kind in CaseEventKind.values else kind


def reporter_label(case: Case, viewer: Any, *, fallback: str = "") -> str:
    """Who raised the request, as the request's header and trail show it: "you", "anonymous", or the masked name
    (of the resident, else of the contact, else of ``fallback``)."""
    if case.reporter_account_id and case.reporter_account_id == getattr(viewer, "pk", None):
        return _("you")
    if case.is_anonymous:
        return _("anonymous")
    if case.reporter_resident is not None:
        return mask_name(case.reporter_resident.name)
    return mask_name(case.contact_name or fallback)


def trail_lines(
    events: list[CaseEvent], *, with_actor: bool = False, hidden_actor_id: int | None = None, viewer: Any = None
) -> list[dict]:
    """[{occurred_at, kind, level, text[, actor]}] for a list of events (oldest first). ``hidden_actor_id`` is the
    account of an anonymous reporter: their name never shows, not even to staff. Steps taken by the resident who
    raised the request name them as the header does (``reporter_label``, masked), whoever reads the trail."""
    lines = []
    for event in events:
        line = {
            "occurred_at": event.occurred_at,
            "kind": event.kind,
            "level": event.level,
            "text": describe_event(event),
        }
        if with_actor:
            hidden = hidden_actor_id is not None and event.actor_id == hidden_actor_id
            case = event.case
            if hidden:
                line["actor"] = _("anonymous")
            elif event.actor_id is not None and event.actor_id == case.reporter_account_id:
                line["actor"] = reporter_label(case, viewer, fallback=event.actor_label)
            else:
                line["actor"] = event.actor_label
        lines.append(line)
    return lines
