"""Every state change of a case: intake, routing, the ladder, deadlines, rating, merging, and household visits.

Rules kept here:
- one keyword-only function per change, the acting account always passed (``None`` only for the system's jobs);
- the actor is checked first: acting on a case needs a ``case.handle`` role at the place (and department) the case
  now sits at, else NotFound — the same answer as for a case that does not exist;
- the state machine (``TRANSITIONS``) refuses forbidden moves with ``InvalidTransition`` before anything is written;
- each change locks the case row (``SELECT … FOR UPDATE``) and updates it only if its state is still the one read
  (a conditional UPDATE), so two handlers racing for the same case cannot both win; counters move with F();
- the trail (``CaseEvent``), the audit log and the notifications are written in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from gongzhi.core.access import reach, require_authenticated, require_reach
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongzhi.core.roles import ROLE_PERMISSIONS, Permission, Role
from gongzhi.people.models import Organisation, Resident, RoleAssignment
from gongzhi.places.models import Place, PlaceKind

from .models import (
    LEVEL_ORDER,
    LEVEL_PLACE_KIND,
    OPEN_STATES,
    Case,
    CaseCategory,
    CaseChannel,
    CaseEvent,
    CaseEventKind,
    CaseLevel,
    CasePhoto,
    CaseState,
    DeadlinePolicy,
    HouseholdVisit,
    Notification,
    Satisfaction,
    Summons,
    SummonsState,
    TimeUnit,
    VisitOutcome,
)
from .selectors import can_handle, case_queryset, handles_department, resident_households, resident_place_ids
from .worktime import WorkCalendar, add_working_time

logger = logging.getLogger(__name__)

TEXT_MAX = 2000
REASON_MAX = 500
MAX_PHOTOS = 9
MAX_PHOTO_BYTES = 10 * 1024 * 1024
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".heic")
SUMMONS_DEFAULT_HOURS = 16
# When no DeadlinePolicy row covers a category and level: accept within 4 working hours, resolve within 3 working
# days of 8 hours. Staff override these in the admin (DeadlinePolicy).
FALLBACK_POLICY = (TimeUnit.WORKING_HOURS, 4, 24)


# ---------------------------------------------------------------- the state machine


class InvalidTransition(Conflict):
    code = "invalid_transition"


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
    """Raise InvalidTransition unless ``action`` is allowed from the case's current state."""
    if case.state not in TRANSITIONS[action]:
        raise InvalidTransition(
            _("This request is %(state)s; it cannot be %(action)s now.")
            % {"state": CaseState(case.state).label, "action": _action_label(action)}
        )


def allowed_actions(actor: Any, case: Case) -> list[str]:
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


# ---------------------------------------------------------------- levels and routing


def next_level(level: str) -> str | None:
    index = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[index + 1] if index + 1 < len(LEVEL_ORDER) else None


def level_for_place_kind(kind: str) -> str | None:
    return {
        PlaceKind.GRID: CaseLevel.GRID,
        PlaceKind.COMMUNITY: CaseLevel.COMMUNITY,
        PlaceKind.STREET: CaseLevel.STREET,
        PlaceKind.DISTRICT: CaseLevel.DISTRICT_DEPARTMENT,
    }.get(kind)


def _ancestors_and_self(place: Place) -> list[Place]:
    return list(Place.objects.filter(pk__in=[*place.ancestor_ids, place.pk]).order_by("depth"))


def place_for_level(place: Place, level: str, chain: list[Place] | None = None) -> Place | None:
    """The place that handles ``place``'s cases at ``level``: the nearest grid, the community, street, district."""
    chain = chain if chain is not None else _ancestors_and_self(place)
    kind = LEVEL_PLACE_KIND[level]
    matches = [item for item in chain if item.kind == kind and item.is_active]
    return matches[-1] if matches else None


@dataclass(frozen=True)
class Route:
    level: str
    place: Place
    department: Organisation | None
    handler: Any  # the account the case is assigned to, or None for the handlers of the place in common


def route_case(*, category: CaseCategory, place: Place, level: str | None = None) -> Route:
    """Where a case goes: for a new case (``level`` None) the category's rule or default, else the rule for
    ``level``. The most specific active rule whose scope covers the place wins. When the place has no handler
    at the target level (no grid above a community-level place), the case goes to the next level that has one."""
    from .models import RoutingRule

    rules = [
        rule
        for rule in RoutingRule.objects.filter(
            category=category, is_active=True, from_level=level or "", scope_place__is_active=True
        ).select_related("scope_place", "target_department")
        if place.path.startswith(rule.scope_place.path)
    ]
    rules.sort(key=lambda rule: (-len(rule.scope_place.path), rule.priority, rule.pk))
    department = None
    if rules:
        target = rules[0].target_level
        department = rules[0].target_department
    elif level is None:
        target = category.target_level
        department = category.target_department
    else:
        target = level
        if level == category.target_level:
            department = category.target_department
    if level is not None and LEVEL_ORDER.index(target) < LEVEL_ORDER.index(level):
        target = level  # a rule never sends a case down the ladder
    if department is not None and not department.is_active:
        department = None
    chain = _ancestors_and_self(place)
    candidate: str | None = target
    while candidate is not None:
        handling = _staffed_grid(chain) if candidate == CaseLevel.GRID else None
        handling = handling or place_for_level(place, candidate, chain)
        if handling is not None:
            return Route(candidate, handling, department, _default_handler(candidate, handling, department))
        candidate = next_level(candidate)
        department = None
    raise ValidationFailed(
        _("No place above this one can handle requests. Choose a place inside a district."),
        fields={"place": _("Choose another place.")},
    )


def _staffed_grid(chain: list[Place]) -> Place | None:
    """The deepest grid above the place that has a grid worker today: grids nest three levels, and a community
    may staff only its first-level grids, so a household's case goes to the nearest grid someone works."""
    grids = [item for item in chain if item.kind == PlaceKind.GRID and item.is_active]
    if not grids:
        return None
    today = timezone.localdate()
    staffed = set(
        RoleAssignment.objects.filter(
            role=Role.GRID_WORKER, place__in=grids, starts_on__lte=today, account__is_active=True
        )
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .values_list("place_id", flat=True)
    )
    for grid in reversed(grids):
        if grid.pk in staffed:
            return grid
    return None


def _default_handler(level: str, place: Place, department: Organisation | None) -> Any:
    """At grid level, the grid's worker (the longest-serving current one); elsewhere the place's handlers share."""
    if level != CaseLevel.GRID or department is not None:
        return None
    today = timezone.localdate()
    assignment = (
        RoleAssignment.objects.filter(role=Role.GRID_WORKER, place=place, starts_on__lte=today, account__is_active=True)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .select_related("account")
        .order_by("starts_on", "id")
        .first()
    )
    return assignment.account if assignment else None


# ---------------------------------------------------------------- deadlines


def deadline_policy(category: CaseCategory, level: str) -> tuple[str, int, int]:
    """(unit, accept within, resolve within) for a category at a level: its own policy, the level's default,
    or FALLBACK_POLICY."""
    policy = (
        DeadlinePolicy.objects.filter(level=level)
        .filter(Q(category=category) | Q(category__isnull=True))
        .order_by(F("category").asc(nulls_last=True))
        .first()
    )
    if policy is None:
        return FALLBACK_POLICY
    return policy.unit, policy.accept_within, policy.resolve_within


def _add(start: datetime, unit: str, amount: int, calendar: WorkCalendar) -> datetime:
    if unit == TimeUnit.WORKING_DAYS:
        return add_working_time(start, days=amount, calendar=calendar)
    return add_working_time(start, hours=amount, calendar=calendar)


def compute_deadlines(
    category: CaseCategory, level: str, start: datetime, calendar: WorkCalendar | None = None
) -> tuple[datetime, datetime]:
    calendar = calendar or WorkCalendar.load(since=timezone.localtime(start).date())
    unit, accept_within, resolve_within = deadline_policy(category, level)
    return _add(start, unit, accept_within, calendar), _add(start, unit, resolve_within, calendar)


# ---------------------------------------------------------------- small helpers


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _label(actor: Any) -> str:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return ""
    return getattr(actor, "label", "") or actor.get_username()


def _text(value: str, field: str, *, required: bool = True, limit: int = TEXT_MAX) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(fields={field: _("This field is required.")})
    if len(value) > limit:
        raise ValidationFailed(fields={field: _("Write at most %(limit)d characters.") % {"limit": limit}})
    return value


def _lock(case_id: int) -> Case:
    """Lock the case row, then read it with its places.

    The lock is taken by a query without joins: PostgreSQL rechecks a locked row that another transaction has just
    changed against the rows it was joined to, so a FOR UPDATE joined to the old handling place would lose a case
    that was moved meanwhile.
    """
    if not Case.objects.select_for_update().filter(pk=case_id).values_list("pk", flat=True):
        raise NotFound()
    return Case.objects.select_related("category", "place", "handling_place", "handling_department").get(pk=case_id)


def _lock_for_handler(actor: Any, case: Case, action: str) -> Case:
    """Lock the case for a handler's action: NotFound unless the actor handles it at its level and place, then
    InvalidTransition unless the action is allowed from its state."""
    require_authenticated(actor)
    locked = _lock(case.pk)
    if not can_handle(actor, locked):
        raise NotFound()
    check_transition(locked, action)
    return locked


def _lock_for_reporter(actor: Any, case: Case, action: str) -> Case:
    require_authenticated(actor)
    if not case_queryset(actor).filter(pk=case.pk).exists():
        raise NotFound()
    locked = _lock(case.pk)
    if locked.reporter_account_id != actor.pk:
        raise PermissionDenied(_("Only the resident who raised this request can do this."), code="not_reporter")
    check_transition(locked, action)
    return locked


def _apply(case: Case, expected_state: str, now: datetime, **fields: Any) -> None:
    """Write ``fields`` only if the case is still in ``expected_state``; then reflect them on the instance."""
    fields["updated_at"] = now
    updated = Case.objects.filter(pk=case.pk, state=expected_state).update(**fields)
    if not updated:
        raise InvalidTransition(_("This request has just been changed by someone else. Reload it and try again."))
    expressions = [name for name, value in fields.items() if hasattr(value, "resolve_expression")]
    for name, value in fields.items():
        if name not in expressions:
            setattr(case, name, value)
    if expressions:
        case.refresh_from_db(fields=expressions)


def _event(
    case: Case,
    *,
    kind: str,
    actor: Any,
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
        actor_label=_label(actor),
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


def _audit(actor: Any, action: str, case: Case, changes: dict | None = None) -> None:
    audit_record(
        actor=actor,
        actor_label="" if getattr(actor, "is_authenticated", False) else "system",
        action=action,
        target=case,
        place_path=case.place.path,
        changes=changes or {},
    )


def _save_photos(case: Case, event: CaseEvent | None, photos: Iterable[Any], actor: Any, now: datetime) -> None:
    photos = list(photos or ())
    if len(photos) > MAX_PHOTOS:
        raise ValidationFailed(fields={"photos": _("Attach at most %(count)d photos.") % {"count": MAX_PHOTOS}})
    for photo in photos:
        name = (getattr(photo, "name", "") or "").lower()
        if not name.endswith(PHOTO_EXTENSIONS):
            raise ValidationFailed(fields={"photos": _("Attach photos as JPEG, PNG, WebP or HEIC.")})
        if (getattr(photo, "size", 0) or 0) > MAX_PHOTO_BYTES:
            raise ValidationFailed(fields={"photos": _("Each photo must be smaller than 10 MB.")})
    for photo in photos:
        CasePhoto.objects.create(
            case=case,
            event=event,
            image=photo,
            uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
            uploaded_at=now,
        )


# ---------------------------------------------------------------- notifications


def _handler_role_names() -> list[str]:
    return [role for role, permissions in ROLE_PERMISSIONS.items() if Permission.CASE_HANDLE in permissions]


def handler_accounts(case: Case) -> list[Any]:
    """Who should hear about a case now: its assigned handler, else everyone who may handle it where it sits."""
    if case.current_handler_id:
        return [case.current_handler]
    return department_accounts(case.handling_department_id, place=case.handling_place)


def department_accounts(organisation_id: int | None, *, place: Place | None = None) -> list[Any]:
    from gongzhi.people.models import Account

    today = timezone.localdate()
    condition = Q(pk__in=[])
    if place is not None:
        condition |= Q(place=place, organisation__isnull=True)
    if organisation_id is not None:
        condition |= Q(organisation_id=organisation_id)
    account_ids = (
        RoleAssignment.objects.filter(condition, role__in=_handler_role_names(), starts_on__lte=today)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .values_list("account_id", flat=True)
    )
    return list(Account.objects.filter(pk__in=account_ids, is_active=True).order_by("pk")[:50])


def notify(recipients: Iterable[Any], *, case: Case | None, kind: str, message: Any, now: datetime) -> None:
    """Inbox rows, one per distinct recipient, each in the recipient's language. ``message(case)`` builds the text
    (called under the recipient's language), or pass a plain string."""
    seen: set[int] = set()
    rows = []
    for recipient in recipients:
        if recipient is None or recipient.pk in seen:
            continue
        seen.add(recipient.pk)
        language = getattr(recipient, "preferred_language", "") or settings.LANGUAGE_CODE
        with translation.override(language):
            text = str(message(case) if callable(message) else message)
        rows.append(Notification(recipient=recipient, case=case, kind=kind, text=text[:500], created_at=now))
    Notification.objects.bulk_create(rows)


def _reporter(case: Case) -> list[Any]:
    return [case.reporter_account] if case.reporter_account_id else []


def _tell_reporter(case: Case, kind: str, message: Any, now: datetime) -> None:
    notify(_reporter(case), case=case, kind=kind, message=message, now=now)


def _tell_handlers(case: Case, kind: str, message: Any, now: datetime, exclude: Any = None) -> None:
    recipients = [account for account in handler_accounts(case) if exclude is None or account.pk != exclude.pk]
    notify(recipients, case=case, kind=kind, message=message, now=now)


def _number(case: Case) -> str:
    return case.number


# ---------------------------------------------------------------- intake


def case_submit(
    *,
    actor: Any,
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
    now: datetime | None = None,
) -> Case:
    """Raise a case.

    - ``resident_app``: the actor is the resident; the place is their household (default) or a place above it;
      ``anonymous`` hides them from handlers (they can still follow, rate and withdraw it).
    - ``visit`` / ``hotline`` / ``staff``: the actor records it on a resident's behalf and needs ``case.intake``
      over the place; ``reporter_resident`` links the resident (and their account, so they can follow and rate).

    The case is routed (``route_case``), given its deadlines at that level, and its handlers and reporter notified.
    """
    require_authenticated(actor)
    now = _now(now)
    if channel not in CaseChannel.values:
        raise ValidationFailed(fields={"channel": _("Unknown channel.")})
    if category is None or not category.is_active:
        raise ValidationFailed(fields={"category": _("Choose a category.")})
    text = _text(text, "text")
    location_text = _text(location_text, "location_text", required=False, limit=255)
    contact_name = _text(contact_name, "contact_name", required=False, limit=50)
    contact_phone = _text(contact_phone, "contact_phone", required=False, limit=20)
    reporter_account = None
    if channel == CaseChannel.RESIDENT_APP:
        households = resident_households(actor)
        if not households:
            raise PermissionDenied(_("Only a registered resident can raise a request here."), code="not_a_resident")
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
    route = route_case(category=category, place=place)
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
        submitted = _event(case, kind=CaseEventKind.SUBMITTED, actor=actor, now=now, data={"channel": channel})
        _event(case, kind=CaseEventKind.ROUTED, actor=None, now=now, data={"accept_by": accept_by.isoformat()})
        _save_photos(case, submitted, photos, actor, now)
        _audit(
            actor,
            "case.submit",
            case,
            {"channel": channel, "category": category.code, "level": route.level, "handling_place": route.place.pk},
        )
        _tell_handlers(
            case,
            "case.new",
            lambda c: (
                _("New request %(number)s (%(category)s) at %(place)s; accept by %(time)s.")
                % {
                    "number": _number(c),
                    "category": c.category.name,
                    "place": c.place.name,
                    "time": timezone.localtime(c.accept_by).strftime("%m-%d %H:%M"),
                }
            ),
            now,
        )
        _tell_reporter(
            case,
            "case.received",
            lambda c: (
                _("Your request %(number)s was received and sent to %(place)s.")
                % {"number": _number(c), "place": c.handling_place.name}
            ),
            now,
        )
    return case


def visit_log(
    *,
    actor: Any,
    household: Place,
    visited_on: date,
    findings: str = "",
    opinion: str = "",
    handled_on_spot: bool = False,
    create_case: bool = False,
    category: CaseCategory | None = None,
    reporter_resident: Resident | None = None,
    now: datetime | None = None,
) -> HouseholdVisit:
    """Log a household visit; an opinion raised is handled on the spot, left pending, or becomes a case in the
    same step (``create_case`` with a ``category``)."""
    require_authenticated(actor)
    now = _now(now)
    if household is None or household.kind != PlaceKind.HOUSEHOLD or not household.is_active:
        raise NotFound()
    require_reach(actor, Permission.VISIT_LOG, household.path)
    if visited_on > timezone.localtime(now).date():
        raise ValidationFailed(fields={"visited_on": _("The visit date cannot be in the future.")})
    findings = _text(findings, "findings", required=False)
    opinion = _text(opinion, "opinion", required=create_case or handled_on_spot)
    if create_case and handled_on_spot:
        raise ValidationFailed(fields={"create_case": _("An opinion handled on the spot does not become a case.")})
    if create_case and category is None:
        raise ValidationFailed(fields={"category": _("Choose a category for the case.")})
    with transaction.atomic():
        case = None
        if create_case:
            case = case_submit(
                actor=actor,
                category=category,
                text=opinion,
                place=household,
                channel=CaseChannel.VISIT,
                reporter_resident=reporter_resident,
                now=now,
            )
            outcome = VisitOutcome.BECAME_CASE
        elif not opinion:
            outcome = VisitOutcome.NONE
        else:
            outcome = VisitOutcome.HANDLED_ON_SPOT if handled_on_spot else VisitOutcome.PENDING
        visit = HouseholdVisit.objects.create(
            household=household,
            visitor=actor,
            visited_on=visited_on,
            findings=findings,
            opinion=opinion,
            outcome=outcome,
            became_case=case,
            created_at=now,
        )
        audit_record(
            actor=actor,
            action="visit.log",
            target=visit,
            place_path=household.path,
            changes={"outcome": outcome, "case": case.pk if case else None},
        )
    return visit


# ---------------------------------------------------------------- the handler's steps


@transaction.atomic
def case_accept(*, actor: Any, case: Case, note: str = "", now: datetime | None = None) -> Case:
    """The handler takes the case on; they become its handler."""
    now = _now(now)
    note = _text(note, "note", required=False, limit=REASON_MAX)
    case = _lock_for_handler(actor, case, "accept")
    before = case.state
    _apply(case, before, now, state=CaseState.ACCEPTED, accepted_at=now, current_handler=actor)
    _event(case, kind=CaseEventKind.ACCEPTED, actor=actor, now=now, from_state=before, note=note)
    _audit(actor, "case.accept", case, {"state": [before, case.state]})
    _tell_reporter(
        case,
        "case.accepted",
        lambda c: (
            _("%(place)s accepted your request %(number)s.") % {"place": c.handling_place.name, "number": _number(c)}
        ),
        now,
    )
    return case


@transaction.atomic
def case_start(*, actor: Any, case: Case, note: str = "", now: datetime | None = None) -> Case:
    now = _now(now)
    note = _text(note, "note", required=False, limit=REASON_MAX)
    case = _lock_for_handler(actor, case, "start")
    before = case.state
    _apply(case, before, now, state=CaseState.IN_PROGRESS)
    _event(case, kind=CaseEventKind.STARTED, actor=actor, now=now, from_state=before, note=note)
    _audit(actor, "case.start", case, {"state": [before, case.state]})
    _tell_reporter(
        case, "case.started", lambda c: _("Work on your request %(number)s has started.") % {"number": _number(c)}, now
    )
    return case


@transaction.atomic
def case_resolve(
    *, actor: Any, case: Case, resolution: str, photos: Iterable[Any] = (), now: datetime | None = None
) -> Case:
    """The handler records what was done; the resident is asked to rate it."""
    now = _now(now)
    resolution = _text(resolution, "resolution")
    case = _lock_for_handler(actor, case, "resolve")
    before = case.state
    _apply(
        case,
        before,
        now,
        state=CaseState.RESOLVED,
        resolution=resolution,
        resolved_at=now,
        resolved_level=case.level,
        resolved_place=case.handling_place,
    )
    event = _event(case, kind=CaseEventKind.RESOLVED, actor=actor, now=now, from_state=before, note=resolution)
    _save_photos(case, event, photos, actor, now)
    _audit(actor, "case.resolve", case, {"state": [before, case.state], "level": case.level})
    _tell_reporter(
        case,
        "case.resolved",
        lambda c: (
            _("Your request %(number)s was resolved: %(what)s Please rate the result.")
            % {"number": _number(c), "what": c.resolution[:200]}
        ),
        now,
    )
    return case


def _move(
    case: Case,
    *,
    actor: Any,
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
    _apply(case, before_state, now, **fields)
    _event(
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
    _audit(
        actor,
        f"case.{action}",
        case,
        {
            "level": [before_level, case.level],
            "handling_place": [before_place.pk, route.place.pk],
            "handling_department": [before_department.pk if before_department else None, case.handling_department_id],
        },
    )
    _tell_handlers(
        case,
        f"case.{action}",
        lambda c: (
            _("Request %(number)s (%(category)s) was sent to you from %(from)s; accept by %(time)s.")
            % {
                "number": _number(c),
                "category": c.category.name,
                "from": before_place.name,
                "time": timezone.localtime(c.accept_by).strftime("%m-%d %H:%M"),
            }
        ),
        now,
    )
    _tell_reporter(
        case,
        f"case.{action}",
        lambda c: (
            _("Your request %(number)s was passed to %(place)s.")
            % {"number": _number(c), "place": (c.handling_department or c.handling_place).name}
        ),
        now,
    )
    return case


@transaction.atomic
def case_refer(
    *,
    actor: Any,
    case: Case,
    reason: str,
    to_place: Place | None = None,
    to_department: Organisation | None = None,
    now: datetime | None = None,
) -> Case:
    """Refer the case across: to another grid/community/street (its level follows the place) or to a department
    (property management, police station, a district department) at the same place."""
    now = _now(now)
    reason = _text(reason, "reason", limit=REASON_MAX)
    if to_place is None and to_department is None:
        raise ValidationFailed(fields={"to_place": _("Choose a place or a department to refer to.")})
    case = _lock_for_handler(actor, case, "refer")
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
    route = Route(level, to_place, to_department, _default_handler(level, to_place, to_department))
    return _move(case, actor=actor, action="refer", kind=CaseEventKind.REFERRED, route=route, now=now, note=reason)


def _escalation_route(case: Case, target: str) -> Route:
    return route_case(category=case.category, place=case.place, level=target)


@transaction.atomic
def case_escalate(*, actor: Any, case: Case, reason: str, now: datetime | None = None) -> Case:
    """Pass the case up one level ("beyond my authority"): grid → community → street → district department → city."""
    now = _now(now)
    reason = _text(reason, "reason", limit=REASON_MAX)
    case = _lock_for_handler(actor, case, "escalate")
    target = next_level(case.level)
    if target is None:
        raise InvalidTransition(_("This request is already at the highest level."))
    route = _escalation_route(case, target)
    return _move(
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
def case_summon(
    *,
    actor: Any,
    case: Case,
    department: Organisation,
    note: str,
    respond_within_hours: int = SUMMONS_DEFAULT_HOURS,
    now: datetime | None = None,
) -> Summons:
    """吹哨报到: a handler above grid level summons a department, which must respond within its own deadline."""
    now = _now(now)
    note = _text(note, "note")
    if department is None or not department.is_active:
        raise ValidationFailed(fields={"department": _("Choose an active department.")})
    if not 1 <= int(respond_within_hours) <= 400:
        raise ValidationFailed(fields={"respond_within_hours": _("Give between 1 and 400 working hours.")})
    case = _lock_for_handler(actor, case, "summon")
    if case.level == CaseLevel.GRID:
        raise InvalidTransition(_("A grid passes the request up; summoning departments starts at the community."))
    if case.summonses.filter(department=department, state=SummonsState.PENDING).exists():
        raise Conflict(
            _("This department has already been summoned and has not responded yet."), code="already_summoned"
        )
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
    _event(
        case,
        kind=CaseEventKind.SUMMONED,
        actor=actor,
        now=now,
        from_state=case.state,
        note=note,
        data={"summons": summons.pk, "department": department.name, "respond_by": respond_by.isoformat()},
    )
    _audit(actor, "case.summon", case, {"department": department.pk, "respond_by": respond_by.isoformat()})
    notify(
        department_accounts(department.pk),
        case=case,
        kind="case.summoned",
        message=lambda c: (
            _("Your department is summoned on request %(number)s at %(place)s; respond by %(time)s.")
            % {
                "number": _number(c),
                "place": c.handling_place.name,
                "time": timezone.localtime(respond_by).strftime("%m-%d %H:%M"),
            }
        ),
        now=now,
    )
    return summons


@transaction.atomic
def summons_respond(*, actor: Any, summons: Summons, response: str, now: datetime | None = None) -> Summons:
    """The summoned department reports back (报到)."""
    now = _now(now)
    response = _text(response, "response")
    require_authenticated(actor)
    if not Summons.objects.select_for_update().filter(pk=summons.pk).values_list("pk", flat=True):
        raise NotFound()
    summons = Summons.objects.select_related("case", "department").get(pk=summons.pk)
    if not handles_department(actor, summons.department_id):
        raise NotFound()
    if summons.state != SummonsState.PENDING:
        raise InvalidTransition(_("This summons has already been answered."))
    Summons.objects.filter(pk=summons.pk, state=SummonsState.PENDING).update(
        state=SummonsState.RESPONDED, response=response, responded_by=actor, responded_at=now
    )
    summons.refresh_from_db()
    case = _lock(summons.case_id)
    _event(
        case,
        kind=CaseEventKind.SUMMONS_RESPONDED,
        actor=actor,
        now=now,
        from_state=case.state,
        note=response,
        data={"summons": summons.pk, "department": summons.department.name},
    )
    _audit(actor, "case.summons_respond", case, {"summons": summons.pk})
    notify(
        [summons.summoned_by, *handler_accounts(case)],
        case=case,
        kind="case.summons_responded",
        message=lambda c: (
            _("%(department)s responded on request %(number)s.")
            % {"department": summons.department.name, "number": _number(c)}
        ),
        now=now,
    )
    return summons


@transaction.atomic
def case_close(*, actor: Any, case: Case, note: str = "", now: datetime | None = None) -> Case:
    """Close a resolved case the resident has not rated."""
    now = _now(now)
    note = _text(note, "note", required=False, limit=REASON_MAX)
    case = _lock_for_handler(actor, case, "close")
    return _close(case, actor=actor, now=now, note=note)


def _close(case: Case, *, actor: Any, now: datetime, note: str) -> Case:
    before = case.state
    _apply(case, before, now, state=CaseState.CLOSED, closed_at=now, accept_by=None, resolve_by=None)
    _event(case, kind=CaseEventKind.CLOSED, actor=actor, now=now, from_state=before, note=note)
    _audit(actor, "case.close", case, {"state": [before, case.state]})
    _tell_reporter(case, "case.closed", lambda c: _("Your request %(number)s is closed.") % {"number": _number(c)}, now)
    return case


@transaction.atomic
def case_reject(*, actor: Any, case: Case, reason: str, now: datetime | None = None) -> Case:
    """Refuse a case that is not a matter for the platform (with the reason the resident will read)."""
    now = _now(now)
    reason = _text(reason, "reason", limit=REASON_MAX)
    case = _lock_for_handler(actor, case, "reject")
    before = case.state
    _apply(
        case,
        before,
        now,
        state=CaseState.REJECTED,
        reject_reason=reason,
        closed_at=now,
        accept_by=None,
        resolve_by=None,
    )
    _event(case, kind=CaseEventKind.REJECTED, actor=actor, now=now, from_state=before, note=reason)
    _audit(actor, "case.reject", case, {"state": [before, case.state]})
    _tell_reporter(
        case,
        "case.rejected",
        lambda c: (
            _("Your request %(number)s was not taken up: %(reason)s")
            % {"number": _number(c), "reason": c.reject_reason}
        ),
        now,
    )
    return case


@transaction.atomic
def case_merge(*, actor: Any, case: Case, into: Case, note: str = "", now: datetime | None = None) -> Case:
    """Merge ``case`` as a duplicate into ``into`` (the same matter). Both rows are locked in primary-key order."""
    now = _now(now)
    note = _text(note, "note", required=False, limit=REASON_MAX)
    require_authenticated(actor)
    if into is None or into.pk == case.pk:
        raise ValidationFailed(fields={"into": _("Choose another request to merge into.")})
    if not case_queryset(actor).filter(pk=into.pk).exists():
        raise NotFound()
    first, second = sorted([case.pk, into.pk])
    locked = {first: _lock(first), second: _lock(second)}
    case, into = locked[case.pk], locked[into.pk]
    if not can_handle(actor, case):
        raise NotFound()
    check_transition(case, "merge")
    check_transition(into, "absorb")
    before = case.state
    _apply(
        case, before, now, state=CaseState.DUPLICATE, duplicate_of=into, closed_at=now, accept_by=None, resolve_by=None
    )
    # Duplicates of the merged case follow it to the surviving one, so no chain is left behind.
    Case.objects.filter(duplicate_of_id=case.pk).update(duplicate_of=into, updated_at=now)
    _event(case, kind=CaseEventKind.MERGED, actor=actor, now=now, from_state=before, note=note, data={"into": into.pk})
    _event(
        into,
        kind=CaseEventKind.ABSORBED,
        actor=actor,
        now=now,
        from_state=into.state,
        note=note,
        data={"case": case.pk},
    )
    _audit(actor, "case.merge", case, {"into": into.pk})
    _tell_reporter(
        case,
        "case.merged",
        lambda c: (
            _("Your request %(number)s is about the same matter as request %(into)s; it will be handled there.")
            % {"number": _number(c), "into": into.number}
        ),
        now,
    )
    return case


# ---------------------------------------------------------------- the resident's steps


@transaction.atomic
def case_rate(*, actor: Any, case: Case, rating: str, comment: str = "", now: datetime | None = None) -> Case:
    """The resident who raised the case rates the result. Satisfied or basically satisfied closes it; unsatisfied
    reopens it once at the same place, and a second unsatisfied passes it up a level."""
    now = _now(now)
    if rating not in Satisfaction.values:
        raise ValidationFailed(fields={"rating": _("Choose satisfied, basically satisfied or unsatisfied.")})
    comment = _text(comment, "comment", required=False, limit=REASON_MAX)
    case = _lock_for_reporter(actor, case, "rate")
    before = case.state
    if rating != Satisfaction.UNSATISFIED:
        _apply(case, before, now, satisfaction=rating, rating_comment=comment)
        _event(
            case,
            kind=CaseEventKind.RATED,
            actor=actor,
            now=now,
            from_state=before,
            note=comment,
            data={"rating": rating},
        )
        _audit(actor, "case.rate", case, {"rating": rating})
        _tell_handlers(
            case,
            "case.rated",
            lambda c: (
                _("The resident rated request %(number)s: %(rating)s.")
                % {"number": _number(c), "rating": Satisfaction(rating).label}
            ),
            now,
        )
        return _close(case, actor=actor, now=now, note="")
    if case.reopen_count == 0:
        unit, _accept_within, resolve_within = deadline_policy(case.category, case.level)
        resolve_by = _add(now, unit, resolve_within, WorkCalendar.load(since=timezone.localtime(now).date()))
        _apply(
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
        _event(
            case,
            kind=CaseEventKind.RATED,
            actor=actor,
            now=now,
            from_state=before,
            note=comment,
            data={"rating": rating},
        )
        _event(case, kind=CaseEventKind.REOPENED, actor=None, now=now, from_state=CaseState.RESOLVED)
        _audit(actor, "case.rate", case, {"rating": rating, "reopened": True})
        _tell_handlers(
            case,
            "case.reopened",
            lambda c: (
                _("The resident is not satisfied with request %(number)s; it is reopened. Resolve by %(time)s.")
                % {"number": _number(c), "time": timezone.localtime(c.resolve_by).strftime("%m-%d %H:%M")}
            ),
            now,
        )
        return case
    _event(
        case, kind=CaseEventKind.RATED, actor=actor, now=now, from_state=before, note=comment, data={"rating": rating}
    )
    target = next_level(case.level)
    if target is None:
        _apply(case, before, now, satisfaction=rating, rating_comment=comment)
        _audit(actor, "case.rate", case, {"rating": rating})
        return _close(case, actor=actor, now=now, note=_("Unsatisfied at the highest level."))
    route = _escalation_route(case, target)
    _audit(actor, "case.rate", case, {"rating": rating, "escalated": True})
    return _move(
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
def case_withdraw(*, actor: Any, case: Case, reason: str = "", now: datetime | None = None) -> Case:
    """The resident who raised the case takes it back."""
    now = _now(now)
    reason = _text(reason, "reason", required=False, limit=REASON_MAX)
    case = _lock_for_reporter(actor, case, "withdraw")
    before = case.state
    _apply(case, before, now, state=CaseState.WITHDRAWN, closed_at=now, accept_by=None, resolve_by=None)
    _event(case, kind=CaseEventKind.WITHDRAWN, actor=actor, now=now, from_state=before, note=reason)
    _audit(actor, "case.withdraw", case, {"state": [before, case.state]})
    _tell_handlers(
        case,
        "case.withdrawn",
        lambda c: _("Request %(number)s was withdrawn by the resident.") % {"number": _number(c)},
        now,
    )
    return case


# ---------------------------------------------------------------- notifications the reader changes


def notification_mark_read(
    *, actor: Any, notification_ids: Iterable[int] | None = None, now: datetime | None = None
) -> int:
    """Mark the actor's own notifications read (all unread ones when no ids are given)."""
    require_authenticated(actor)
    queryset = Notification.objects.filter(recipient_id=actor.pk, read_at__isnull=True)
    if notification_ids is not None:
        queryset = queryset.filter(pk__in=list(notification_ids))
    return queryset.update(read_at=_now(now))


# ---------------------------------------------------------------- the system's steps (jobs)


def _overdue_condition(now: datetime) -> Q:
    return Q(state=CaseState.SUBMITTED, accept_by__lte=now) | Q(state__in=OPEN_STATES, resolve_by__lte=now)


def escalate_overdue_cases(*, now: datetime | None = None, limit: int = 500) -> dict:
    """Mark every case past its deadline overdue (the flag stays) and pass it up one level; at the highest level
    the case stays where it is, without a further automatic deadline. Idempotent: a case handled here gets new
    deadlines (or none), so running again at the same moment changes nothing. One transaction per case, cases in
    primary-key order."""
    now = _now(now)
    escalated = overdue_at_top = 0
    ids = list(Case.objects.filter(_overdue_condition(now)).order_by("pk").values_list("pk", flat=True)[:limit])
    for case_id in ids:
        with transaction.atomic():
            case = _lock(case_id)
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
                _apply(case, case.state, now, accept_by=None, resolve_by=None, **overdue_fields)
                _event(case, kind=CaseEventKind.OVERDUE, actor=None, now=now, from_state=case.state, data=data)
                _audit(None, "case.overdue", case, data)
                _tell_handlers(
                    case,
                    "case.overdue",
                    lambda c: _("Request %(number)s is overdue.") % {"number": _number(c)},
                    now,
                )
                overdue_at_top += 1
                continue
            route = _escalation_route(case, target)
            _move(
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
            case = _lock(summons.case_id)
            _event(
                case,
                kind=CaseEventKind.SUMMONS_OVERDUE,
                actor=None,
                now=now,
                from_state=case.state,
                data={"summons": summons.pk, "department": summons.department.name},
            )
            _audit(None, "case.summons_overdue", case, {"summons": summons.pk})
            notify(
                [summons.summoned_by, *department_accounts(summons.department_id)],
                case=case,
                kind="case.summons_overdue",
                message=lambda c, s=summons: (
                    _("%(department)s has not responded on request %(number)s in time.")
                    % {"department": s.department.name, "number": _number(c)}
                ),
                now=now,
            )
            overdue_summonses += 1
    return {"escalated": escalated, "overdue_at_top": overdue_at_top, "overdue_summonses": overdue_summonses}


def close_unrated_cases(*, now: datetime | None = None, days: int | None = None) -> dict:
    """Close resolved cases the resident has not rated within ``GONGZHI_CASE_RATING_DAYS`` (7) days."""
    from datetime import timedelta

    now = _now(now)
    days = days if days is not None else getattr(settings, "GONGZHI_CASE_RATING_DAYS", 7)
    ids = list(
        Case.objects.filter(state=CaseState.RESOLVED, resolved_at__lte=now - timedelta(days=days))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    closed = 0
    for case_id in ids:
        with transaction.atomic():
            case = _lock(case_id)
            if case.state != CaseState.RESOLVED:
                continue
            _close(case, actor=None, now=now, note=_("Not rated within %(days)d days.") % {"days": days})
            closed += 1
    return {"closed": closed}


def send_notification_digests(*, now: datetime | None = None) -> dict:
    """One e-mail per person with the unread notifications not yet e-mailed, instead of a mail per change.
    Rows are claimed before sending (a conditional UPDATE), so two runs never send the same rows twice."""
    from django.core.mail import send_mail

    from gongzhi.people.models import Account

    now = _now(now)
    pending = Notification.objects.filter(in_digest=True, emailed_at__isnull=True, read_at__isnull=True)
    recipient_ids = sorted(set(pending.values_list("recipient_id", flat=True)))
    sent = 0
    for account in Account.objects.filter(pk__in=recipient_ids, is_active=True).exclude(email="").order_by("pk"):
        rows = list(pending.filter(recipient=account).order_by("created_at", "id")[:100])
        if not rows:
            continue
        claimed = Notification.objects.filter(pk__in=[row.pk for row in rows], emailed_at__isnull=True).update(
            emailed_at=now
        )
        if not claimed:
            continue
        with translation.override(account.preferred_language or settings.LANGUAGE_CODE):
            subject = _("%(count)d updates on resident requests") % {"count": len(rows)}
            body = "\n".join(f"- {timezone.localtime(row.created_at):%m-%d %H:%M} {row.text}" for row in rows)
        try:
            send_mail(subject, body, None, [account.email])
        except Exception:
            logger.exception("Could not send the notification digest to account %s", account.pk)
            Notification.objects.filter(pk__in=[row.pk for row in rows], emailed_at=now).update(emailed_at=None)
            continue
        sent += 1
    return {"sent": sent}
