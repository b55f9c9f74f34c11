"""Where a case goes and by when: the levels of the ladder, routing to the nearest staffed grid or a department,
and the working-time deadlines at each level."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.errors import ValidationFailed
from gongzhi.core.roles import Role
from gongzhi.people.models import Organisation, RoleAssignment
from gongzhi.places.models import Place, PlaceKind

from .models import LEVEL_ORDER, LEVEL_PLACE_KIND, CaseCategory, CaseLevel, DeadlinePolicy, TimeUnit
from .worktime import WorkCalendar, add_working_time

# When no DeadlinePolicy row covers a category and level: accept within 4 working hours, resolve within 3 working
# days of 8 hours. Staff override these in the admin (DeadlinePolicy).
FALLBACK_POLICY = (TimeUnit.WORKING_HOURS, 4, 24)


# ---------------------------------------------------------------- levels and routing


def next_level(level: str) -> str | None:
    index = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[index + 1] if index + 1 < len(LEVEL_ORDER) else None


def level_for_place_kind(kind: str) -> str | None:
    levels: dict[str, str] = {
        PlaceKind.GRID: CaseLevel.GRID,
        PlaceKind.COMMUNITY: CaseLevel.COMMUNITY,
        PlaceKind.STREET: CaseLevel.STREET,
        PlaceKind.DISTRICT: CaseLevel.DISTRICT_DEPARTMENT,
    }
    return levels.get(kind)


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


def route_case(*, category: CaseCategory, place: Place, level: str | None = None, now: datetime | None = None) -> Route:
    """Where a case goes: for a new case (``level`` None) the category's rule or default, else the rule for
    ``level``. The most specific active rule whose scope covers the place wins. When the place has no handler
    at the target level (no grid above a community-level place), the case goes to the next level that has one.
    Who is staffed is judged on the day of ``now``."""
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
    today = timezone.localdate(now)
    chain = _ancestors_and_self(place)
    candidate: str | None = target
    while candidate is not None:
        handling = _staffed_grid(chain, today) if candidate == CaseLevel.GRID else None
        handling = handling or place_for_level(place, candidate, chain)
        if handling is not None:
            return Route(candidate, handling, department, default_handler(candidate, handling, department, today=today))
        candidate = next_level(candidate)
        department = None
    raise ValidationFailed(
        _("No place above this one can handle requests. Choose a place inside a district."),
        fields={"place": _("Choose another place.")},
    )


def _staffed_grid(chain: list[Place], today: date) -> Place | None:
    """The deepest grid above the place that has a grid worker today: grids nest three levels, and a community
    may staff only its first-level grids, so a household's case goes to the nearest grid someone works."""
    grids = [item for item in chain if item.kind == PlaceKind.GRID and item.is_active]
    if not grids:
        return None
    staffed = set(
        RoleAssignment.objects.current(on=today)
        .filter(role=Role.GRID_WORKER, place__in=grids)
        .values_list("place_id", flat=True)
    )
    for grid in reversed(grids):
        if grid.pk in staffed:
            return grid
    return None


def default_handler(level: str, place: Place, department: Organisation | None, *, today: date | None = None) -> Any:
    """At grid level, the grid's worker (the longest-serving one on ``today``); elsewhere the place's handlers
    share."""
    if level != CaseLevel.GRID or department is not None:
        return None
    assignment = (
        RoleAssignment.objects.current(on=today or timezone.localdate())
        .filter(role=Role.GRID_WORKER, place=place)
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


def add_time(start: datetime, unit: str, amount: int, calendar: WorkCalendar) -> datetime:
    if unit == TimeUnit.WORKING_DAYS:
        return add_working_time(start, days=amount, calendar=calendar)
    return add_working_time(start, hours=amount, calendar=calendar)


def compute_deadlines(
    category: CaseCategory, level: str, start: datetime, calendar: WorkCalendar | None = None
) -> tuple[datetime, datetime]:
    calendar = calendar or WorkCalendar.load(since=timezone.localtime(start).date())
    unit, accept_within, resolve_within = deadline_policy(category, level)
    return add_time(start, unit, accept_within, calendar), add_time(start, unit, resolve_within, calendar)
