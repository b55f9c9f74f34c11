"""Every state change of a case: intake, the handler's steps up and across the ladder, the resident's rating.

Rules kept here (the pieces are in ``transitions.py``):
- one keyword-only function per change, the acting account always passed (``None`` only for the system's jobs);
- the actor is checked first: acting on a case needs a ``case.handle`` role at the place (and department) the case
  now sits at, else NotFound — the same answer as for a case that does not exist;
- the state machine (``TRANSITIONS``) refuses forbidden moves (``invalid_transition``) before anything is written;
- each change locks the case row (``SELECT … FOR UPDATE``) and updates it only if its state is still the one read
  (a conditional UPDATE), so two handlers racing for the same case cannot both win; counters move with F();
- the trail (``CaseEvent``), the audit log and the notifications are written in the same transaction.

Routing and deadlines are in ``routing.py``, summonses in ``summonses.py``, the inbox in ``notifications.py``, the
system's periodic steps in ``jobs.py`` and household visits in ``visits.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import reach, require_authenticated, require_reach
from gongzhi.core.actors import Actor
from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.roles import Permission
from gongzhi.people.models import Organisation, Resident
from gongzhi.places.models import Place

from .attributes import clean_answers, clean_coordinates
from .errors import CasesError
from .locks import lock_case
from .merging import merge_undo_data
from .models import Case, CaseCategory, CaseChannel, CaseEventKind, CaseState, Satisfaction
from .notifications import tell_handlers, tell_reporter
from .routing import (
    Route,
    add_time,
    compute_deadlines,
    deadline_policy,
    default_handler,
    level_for_place_kind,
    next_level,
    route_case,
)
from .selectors import can_handle, case_queryset, resident_households, resident_place_ids
from .transitions import (
    REASON_MAX,
    apply_change,
    audit_case,
    check_transition,
    clean_text,
    current_time,
    lock_for_handler,
    lock_for_reporter,
    record_event,
    save_photos,
)
from .worktime import WorkCalendar

# ---------------------------------------------------------------- intake


def case_submit(
    *,
    actor: Actor,
    category: CaseCategory,
    text: str,
    place: Place | None = None,
    location_text: str = "",
    channel: str = CaseChannel.RESIDENT_APP,
    anonymous: bool = False,
    reporter_resident: Resident | None = None,
    contact_name: str = "",
    contact_phone: str = "",
    external_ref: str = "",
    reported_at: datetime | None = None,
    photos: Iterable[Any] = (),
    latitude: Any = None,
    longitude: Any = None,
    answers: Mapping[str, list[str]] | None = None,
    now: datetime | None = None,
) -> Case:
    """Raise a case.

    - ``resident_app``: the actor is the resident; the place is their household (default) or a place above it;
      ``anonymous`` hides them from handlers (they can still follow, rate and withdraw it).
    - ``visit`` / ``hotline`` / ``staff``: the actor records it on a resident's behalf and needs ``case.intake``
      over the place; ``reporter_resident`` links the resident (and their account, so they can follow and rate).
    - ``latitude``/``longitude`` (both or neither) where an outside system located it; ``answers`` to the category's
      questions ({code: [values]}), checked all at once by ``attributes.clean_answers`` and stored on the case.

    The case is routed (``route_case``), given its deadlines at that level, and its handlers and reporter notified.
    """
    require_authenticated(actor)
    now = current_time(now)
    if channel not in CaseChannel.values:
        raise ValidationFailed(fields={"channel": _("Unknown channel.")})
    if category is None or not category.is_active:
        raise ValidationFailed(fields={"category": _("Choose a category.")})
    text = clean_text(text, "text")
    location_text = clean_text(location_text, "location_text", required=False, limit=255)
    contact_name = clean_text(contact_name, "contact_name", required=False, limit=50)
    contact_phone = clean_text(contact_phone, "contact_phone", required=False, limit=20)
    latitude, longitude = clean_coordinates(latitude, longitude)
    attributes = clean_answers(category, answers) if answers is not None else {}
    reporter_account = None
    if channel == CaseChannel.RESIDENT_APP:
        households = resident_households(actor)
        if not households:
            raise CasesError.NOT_A_RESIDENT()
        place = place or households[0]
        if not place.is_active or place.pk not in resident_place_ids(actor):
            raise NotFound()
        reporter_account = actor
        reporter_resident = getattr(actor, "resident", None)
    else:
        if place is None:
            raise ValidationFailed(fields={"place": _("Choose where the matter is.")})
        if not place.is_active:
            raise NotFound()
        require_reach(actor, Permission.CASE_INTAKE, place.path)
        if reporter_resident is not None:
            household = reporter_resident.household
            if household is None or not reach(actor, Permission.CASE_INTAKE).covers(household.path):
                raise NotFound()
            reporter_account = getattr(reporter_resident, "account", None)
            if reporter_account is not None and not reporter_account.is_active:
                reporter_account = None
    route = route_case(category=category, place=place, now=now)
    accept_by, resolve_by = compute_deadlines(category, route.level, now)
    with transaction.atomic():
        case = Case.objects.create(
            category=category,
            text=text,
            place=place,
            location_text=location_text,
            channel=channel,
            external_ref=(external_ref or "").strip()[:64],
            reporter_account=reporter_account,
            reporter_resident=reporter_resident,
            is_anonymous=bool(anonymous),
            contact_name=contact_name,
            contact_phone=contact_phone,
            latitude=latitude,
            longitude=longitude,
            attributes=attributes,
            recorded_by=None if channel == CaseChannel.RESIDENT_APP else actor,
            level=route.level,
            handling_place=route.place,
            handling_department=route.department,
            current_handler=route.handler,
            state=CaseState.SUBMITTED,
            accept_by=accept_by,
            resolve_by=resolve_by,
            reported_at=reported_at or now,
            submitted_at=now,
            updated_at=now,
        )
        submitted = record_event(case, kind=CaseEventKind.SUBMITTED, actor=actor, now=now, data={"channel": channel})
        record_event(case, kind=CaseEventKind.ROUTED, actor=None, now=now, data={"accept_by": accept_by.isoformat()})
        save_photos(case, submitted, photos, actor, now)
        audit_case(
            actor,
            "case.submit",
            case,
            {"channel": channel, "category": category.code, "level": route.level, "handling_place": route.place.pk},
        )
        tell_handlers(
            case,
            "case.new",
            lambda c: (
                _("New request %(number)s (%(category)s) at %(place)s; accept by %(time)s.")
                % {
                    "number": c.number,
                    "category": c.category.name,
                    "place": c.place.name,
                    "time": timezone.localtime(c.accept_by).strftime("%m-%d %H:%M"),
                }
            ),
            now,
        )
        tell_reporter(
            case,
            "case.received",
            lambda c: (
                _("Your request %(number)s was received and sent to %(place)s.")
                % {"number": c.number, "place": c.handling_place.name}
            ),
            now,
        )
    return case


# ---------------------------------------------------------------- the handler's steps


@transaction.atomic
def case_accept(*, actor: Actor, case: Case, note: str = "", now: datetime | None = None) -> Case:
    """The handler takes the case on; they become its handler."""
    now = current_time(now)
    note = clean_text(note, "note", required=False, limit=REASON_MAX)
    case = lock_for_handler(actor, case, "accept")
    before = case.state
    apply_change(case, before, now, state=CaseState.ACCEPTED, accepted_at=now, current_handler=actor)
    record_event(case, kind=CaseEventKind.ACCEPTED, actor=actor, now=now, from_state=before, note=note)
    audit_case(actor, "case.accept", case, {"state": [before, case.state]})
    tell_reporter(
        case,
        "case.accepted",
        lambda c: (
            _("%(place)s accepted your request %(number)s.") % {"place": c.handling_place.name, "number": c.number}
        ),
        now,
    )
    return case


@transaction.atomic
def case_start(*, actor: Actor, case: Case, note: str = "", now: datetime | None = None) -> Case:
    now = current_time(now)
    note = clean_text(note, "note", required=False, limit=REASON_MAX)
    case = lock_for_handler(actor, case, "start")
    before = case.state
    apply_change(case, before, now, state=CaseState.IN_PROGRESS)
    record_event(case, kind=CaseEventKind.STARTED, actor=actor, now=now, from_state=before, note=note)
    audit_case(actor, "case.start", case, {"state": [before, case.state]})
    tell_reporter(
        case, "case.started", lambda c: _("Work on your request %(number)s has started.") % {"number": c.number}, now
    )
    return case


@transaction.atomic
def case_resolve(
    *, actor: Actor, case: Case, resolution: str, photos: Iterable[Any] = (), now: datetime | None = None
) -> Case:
    """The handler records what was done; the resident is asked to rate it."""
    now = current_time(now)
    resolution = clean_text(resolution, "resolution")
    case = lock_for_handler(actor, case, "resolve")
    before = case.state
    apply_change(
        case,
        before,
        now,
        state=CaseState.RESOLVED,
        resolution=resolution,
        resolved_at=now,
        resolved_level=case.level,
        resolved_place=case.handling_place,
    )
    event = record_event(case, kind=CaseEventKind.RESOLVED, actor=actor, now=now, from_state=before, note=resolution)
    save_photos(case, event, photos, actor, now)
    audit_case(actor, "case.resolve", case, {"state": [before, case.state], "level": case.level})
    tell_reporter(
        case,
        "case.resolved",
        lambda c: (
            _("Your request %(number)s was resolved: %(what)s Please rate the result.")
            % {"number": c.number, "what": c.resolution[:200]}
        ),
        now,
    )
    return case


def move_case(
    case: Case,
    *,
    actor: Actor | None,
    action: str,
    kind: str,
    route: Route,
    now: datetime,
    note: str,
    extra: dict | None = None,
    data: dict | None = None,
) -> Case:
    """Send the case to another place/level/department: state back to submitted with fresh deadlines there."""
    before_state, before_level = case.state, case.level
    before_place, before_department = case.handling_place, case.handling_department
    accept_by, resolve_by = compute_deadlines(case.category, route.level, now)
    fields = {
        "state": CaseState.SUBMITTED,
        "level": route.level,
        "handling_place": route.place,
        "handling_department": route.department,
        "current_handler": route.handler,
        "accept_by": accept_by,
        "resolve_by": resolve_by,
        "accepted_at": None,
    }
    fields.update(extra or {})
    apply_change(case, before_state, now, **fields)
    record_event(
        case,
        kind=kind,
        actor=actor,
        now=now,
        from_state=before_state,
        note=note,
        from_level=before_level,
        from_place=before_place,
        from_department=before_department,
        data=data,
    )
    audit_case(
        actor,
        f"case.{action}",
        case,
        {
            "level": [before_level, case.level],
            "handling_place": [before_place.pk, route.place.pk],
            "handling_department": [before_department.pk if before_department else None, case.handling_department_id],
        },
    )
    tell_handlers(
        case,
        f"case.{action}",
        lambda c: (
            _("Request %(number)s (%(category)s) was sent to you from %(from)s; accept by %(time)s.")
            % {
                "number": c.number,
                "category": c.category.name,
                "from": before_place.name,
                "time": timezone.localtime(c.accept_by).strftime("%m-%d %H:%M"),
            }
        ),
        now,
    )
    tell_reporter(
        case,
        f"case.{action}",
        lambda c: (
            _("Your request %(number)s was passed to %(place)s.")
            % {"number": c.number, "place": (c.handling_department or c.handling_place).name}
        ),
        now,
    )
    return case


@transaction.atomic
def case_refer(
    *,
    actor: Actor,
    case: Case,
    reason: str,
    to_place: Place | None = None,
    to_department: Organisation | None = None,
    now: datetime | None = None,
) -> Case:
    """Refer the case across: to another grid/community/street (its level follows the place) or to a department
    (property management, police station, a district department) at the same place."""
    now = current_time(now)
    reason = clean_text(reason, "reason", limit=REASON_MAX)
    if to_place is None and to_department is None:
        raise ValidationFailed(fields={"to_place": _("Choose a place or a department to refer to.")})
    case = lock_for_handler(actor, case, "refer")
    if to_place is not None:
        level = level_for_place_kind(to_place.kind)
        root = case.place.path.split("/")[1]
        if level is None or not to_place.is_active or to_place.path.split("/")[1] != root:
            raise ValidationFailed(
                fields={"to_place": _("Choose a grid, community, street or district of this district.")}
            )
    else:
        to_place, level = case.handling_place, case.level
    if to_department is not None and not to_department.is_active:
        raise ValidationFailed(fields={"to_department": _("This organisation is no longer active.")})
    if to_place.pk == case.handling_place_id and getattr(to_department, "pk", None) == case.handling_department_id:
        raise ValidationFailed(fields={"to_place": _("The request is already there.")})
    handler = default_handler(level, to_place, to_department, today=timezone.localdate(now))
    route = Route(level, to_place, to_department, handler)
    return move_case(case, actor=actor, action="refer", kind=CaseEventKind.REFERRED, route=route, now=now, note=reason)


def escalation_route(case: Case, target: str, *, now: datetime) -> Route:
    return route_case(category=case.category, place=case.place, level=target, now=now)


@transaction.atomic
def case_escalate(*, actor: Actor, case: Case, reason: str, now: datetime | None = None) -> Case:
    """Pass the case up one level ("beyond my authority"): grid → community → street → district department → city."""
    now = current_time(now)
    reason = clean_text(reason, "reason", limit=REASON_MAX)
    case = lock_for_handler(actor, case, "escalate")
    target = next_level(case.level)
    if target is None:
        raise CasesError.INVALID_TRANSITION(_("This request is already at the highest level."))
    route = escalation_route(case, target, now=now)
    return move_case(
        case,
        actor=actor,
        action="escalate",
        kind=CaseEventKind.ESCALATED,
        route=route,
        now=now,
        note=reason,
        extra={"escalation_count": F("escalation_count") + 1},
    )


@transaction.atomic
def case_close(*, actor: Actor, case: Case, note: str = "", now: datetime | None = None) -> Case:
    """Close a resolved case the resident has not rated."""
    now = current_time(now)
    note = clean_text(note, "note", required=False, limit=REASON_MAX)
    case = lock_for_handler(actor, case, "close")
    return close_case(case, actor=actor, now=now, note=note)


def close_case(case: Case, *, actor: Actor | None, now: datetime, note: str) -> Case:
    before = case.state
    apply_change(case, before, now, state=CaseState.CLOSED, closed_at=now, accept_by=None, resolve_by=None)
    record_event(case, kind=CaseEventKind.CLOSED, actor=actor, now=now, from_state=before, note=note)
    audit_case(actor, "case.close", case, {"state": [before, case.state]})
    tell_reporter(case, "case.closed", lambda c: _("Your request %(number)s is closed.") % {"number": c.number}, now)
    return case


@transaction.atomic
def case_reject(*, actor: Actor, case: Case, reason: str, now: datetime | None = None) -> Case:
    """Refuse a case that is not a matter for the platform (with the reason the resident will read)."""
    now = current_time(now)
    reason = clean_text(reason, "reason", limit=REASON_MAX)
    case = lock_for_handler(actor, case, "reject")
    before = case.state
    apply_change(
        case,
        before,
        now,
        state=CaseState.REJECTED,
        reject_reason=reason,
        closed_at=now,
        accept_by=None,
        resolve_by=None,
    )
    record_event(case, kind=CaseEventKind.REJECTED, actor=actor, now=now, from_state=before, note=reason)
    audit_case(actor, "case.reject", case, {"state": [before, case.state]})
    tell_reporter(
        case,
        "case.rejected",
        lambda c: (
            _("Your request %(number)s was not taken up: %(reason)s") % {"number": c.number, "reason": c.reject_reason}
        ),
        now,
    )
    return case


@transaction.atomic
def case_merge(*, actor: Actor, case: Case, into: Case, note: str = "", now: datetime | None = None) -> Case:
    """Merge ``case`` as a duplicate into ``into`` (the same matter). Both rows are locked in primary-key order."""
    now = current_time(now)
    note = clean_text(note, "note", required=False, limit=REASON_MAX)
    require_authenticated(actor)
    if into is None or into.pk == case.pk:
        raise ValidationFailed(fields={"into": _("Choose another request to merge into.")})
    if not case_queryset(actor).filter(pk=into.pk).exists():
        raise NotFound()
    first, second = sorted([case.pk, into.pk])
    locked = {first: lock_case(first), second: lock_case(second)}
    case, into = locked[case.pk], locked[into.pk]
    if not can_handle(actor, case):
        raise NotFound()
    check_transition(case, "merge")
    check_transition(into, "absorb")
    before = case.state
    undo = merge_undo_data(case, into)  # what case_unmerge (merging.py) puts back
    apply_change(
        case, before, now, state=CaseState.DUPLICATE, duplicate_of=into, closed_at=now, accept_by=None, resolve_by=None
    )
    # Duplicates of the merged case follow it to the surviving one, so no chain is left behind.
    Case.objects.filter(duplicate_of_id=case.pk).update(duplicate_of=into, updated_at=now)
    record_event(case, kind=CaseEventKind.MERGED, actor=actor, now=now, from_state=before, note=note, data=undo)
    record_event(
        into,
        kind=CaseEventKind.ABSORBED,
        actor=actor,
        now=now,
        from_state=into.state,
        note=note,
        data={"case": case.pk},
    )
    audit_case(actor, "case.merge", case, {"into": into.pk})
    tell_reporter(
        case,
        "case.merged",
        lambda c: (
            _("Your request %(number)s is about the same matter as request %(into)s; it will be handled there.")
            % {"number": c.number, "into": into.number}
        ),
        now,
    )
    return case


# ---------------------------------------------------------------- the resident's steps


@transaction.atomic
def case_rate(*, actor: Actor, case: Case, rating: str, comment: str = "", now: datetime | None = None) -> Case:
    """The resident who raised the case rates the result. Satisfied or basically satisfied closes it; unsatisfied
    reopens it once at the same place, and a second unsatisfied passes it up a level."""
    now = current_time(now)
    if rating not in Satisfaction.values:
        raise ValidationFailed(fields={"rating": _("Choose satisfied, basically satisfied or unsatisfied.")})
    comment = clean_text(comment, "comment", required=False, limit=REASON_MAX)
    case = lock_for_reporter(actor, case, "rate")
    before = case.state
    if rating != Satisfaction.UNSATISFIED:
        apply_change(case, before, now, satisfaction=rating, rating_comment=comment)
        record_event(
            case,
            kind=CaseEventKind.RATED,
            actor=actor,
            now=now,
            from_state=before,
            note=comment,
            data={"rating": rating},
        )
        audit_case(actor, "case.rate", case, {"rating": rating})
        tell_handlers(
            case,
            "case.rated",
            lambda c: (
                _("The resident rated request %(number)s: %(rating)s.")
                % {"number": c.number, "rating": Satisfaction(rating).label}
            ),
            now,
        )
        return close_case(case, actor=actor, now=now, note="")
    if case.reopen_count == 0:
        unit, _accept_within, resolve_within = deadline_policy(case.category, case.level)
        resolve_by = add_time(now, unit, resolve_within, WorkCalendar.load(since=timezone.localtime(now).date()))
        apply_change(
            case,
            before,
            now,
            state=CaseState.IN_PROGRESS,
            satisfaction=rating,
            rating_comment=comment,
            reopen_count=F("reopen_count") + 1,
            resolve_by=resolve_by,
            accept_by=None,
        )
        record_event(
            case,
            kind=CaseEventKind.RATED,
            actor=actor,
            now=now,
            from_state=before,
            note=comment,
            data={"rating": rating},
        )
        record_event(case, kind=CaseEventKind.REOPENED, actor=None, now=now, from_state=CaseState.RESOLVED)
        audit_case(actor, "case.rate", case, {"rating": rating, "reopened": True})
        tell_handlers(
            case,
            "case.reopened",
            lambda c: (
                _("The resident is not satisfied with request %(number)s; it is reopened. Resolve by %(time)s.")
                % {"number": c.number, "time": timezone.localtime(c.resolve_by).strftime("%m-%d %H:%M")}
            ),
            now,
        )
        return case
    record_event(
        case, kind=CaseEventKind.RATED, actor=actor, now=now, from_state=before, note=comment, data={"rating": rating}
    )
    target = next_level(case.level)
    if target is None:
        apply_change(case, before, now, satisfaction=rating, rating_comment=comment)
        audit_case(actor, "case.rate", case, {"rating": rating})
        return close_case(case, actor=actor, now=now, note=_("Unsatisfied at the highest level."))
    route = escalation_route(case, target, now=now)
    audit_case(actor, "case.rate", case, {"rating": rating, "escalated": True})
    return move_case(
        case,
        actor=None,
        action="escalate",
        kind=CaseEventKind.ESCALATED,
        route=route,
        now=now,
        note=_("The resident was not satisfied a second time."),
        extra={"satisfaction": rating, "rating_comment": comment, "escalation_count": F("escalation_count") + 1},
        data={"reason": "unsatisfied_again"},
    )


@transaction.atomic
def case_withdraw(*, actor: Actor, case: Case, reason: str = "", now: datetime | None = None) -> Case:
    """The resident who raised the case takes it back."""
    now = current_time(now)
    reason = clean_text(reason, "reason", required=False, limit=REASON_MAX)
    case = lock_for_reporter(actor, case, "withdraw")
    before = case.state
    apply_change(case, before, now, state=CaseState.WITHDRAWN, closed_at=now, accept_by=None, resolve_by=None)
    record_event(case, kind=CaseEventKind.WITHDRAWN, actor=actor, now=now, from_state=before, note=reason)
    audit_case(actor, "case.withdraw", case, {"state": [before, case.state]})
    tell_handlers(
        case,
        "case.withdrawn",
        lambda c: _("Request %(number)s was withdrawn by the resident.") % {"number": c.number},
        now,
    )
    return case


# ---------------------------------------------------------------- personal information (called by people)


def personal_data_anonymise(*, resident: Any, account: Any, now: datetime) -> dict[str, int]:
    """people.anonymise calls this inside its transaction: the requests the person raised keep their text, trail,
    state and figures, but lose the contact name and phone; dispute parties naming the resident lose theirs."""
    from django.db.models import Q

    from .models import DisputeParty

    reporter_q = Q(pk__in=[])
    if resident is not None:
        reporter_q |= Q(reporter_resident=resident)
    if account is not None:
        reporter_q |= Q(reporter_account=account)
    cases = Case.objects.filter(reporter_q).exclude(contact_name="", contact_phone="")
    scrubbed = cases.update(contact_name="", contact_phone="")
    parties = 0
    if resident is not None:
        parties = DisputeParty.objects.filter(resident=resident).exclude(name="", phone="").update(name="", phone="")
    return {"case_contacts": scrubbed, "dispute_parties": parties}


def notifications_purge(*, read_before: datetime, unread_before: datetime) -> int:
    """Delete inbox rows read before ``read_before`` and unread ones created before ``unread_before`` (the retention
    job, people.retention). Idempotent: a second run finds nothing more. Returns how many were deleted."""
    from django.db.models import Q

    from .models import Notification

    expired = Q(read_at__lt=read_before) | Q(read_at__isnull=True, created_at__lt=unread_before)
    deleted, _by_model = Notification.objects.filter(expired).delete()
    return deleted
