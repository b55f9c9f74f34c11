"""Reads of the cases domain, always scoped to the actor.

Who sees a case:
- the resident who raised it (``reporter_account``), also when they raised it anonymously;
- staff with ``case.view`` whose reach covers the case's place or the place now handling it;
- a department's representatives (``case.handle`` held for that organisation) for cases sent or summoned to it.

Who may act on a case (accept, resolve, refer, escalate …) is narrower — "at their level and place": a
``case.handle`` role held on exactly the place now handling the case (without an organisation), or, for a case
sent to a department, a ``case.handle`` role held for that department. Everyone else gets NotFound, the same as
for a case that does not exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from gongzhi.core.access import grants, reach, require_authenticated
from gongzhi.core.actors import Actor
from gongzhi.core.errors import NotFound
from gongzhi.core.roles import ROLE_PERMISSIONS, Permission
from gongzhi.core.tree import subtree_q
from gongzhi.places.models import Place, PlaceKind

from .models import OPEN_STATES, Case, CaseCategory, CaseEvent, CaseState, Notification, Summons

DUPLICATE_WINDOW_DAYS = 14


def _is_person(actor: Actor) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def handling_grants(actor: Actor) -> tuple[set[str], set[int]]:
    """(place paths held without an organisation, organisation ids) of the actor's current ``case.handle`` roles."""
    if not _is_person(actor):
        return set(), set()
    paths: set[str] = set()
    organisations: set[int] = set()
    for role, path, organisation_id in grants(actor):
        if Permission.CASE_HANDLE not in ROLE_PERMISSIONS.get(role, ()):
            continue
        if organisation_id is None:
            paths.add(path)
        else:
            organisations.add(organisation_id)
    return paths, organisations


def can_handle(actor: Actor, case: Case) -> bool:
    """Whether the actor may act on the case at its current level and place (see the module docstring)."""
    if not _is_person(actor):
        return False
    if actor.is_superuser:
        return True
    paths, organisations = handling_grants(actor)
    if case.handling_department_id is not None and case.handling_department_id in organisations:
        return True
    return case.handling_place.path in paths


def handles_department(actor: Actor, organisation_id: int) -> bool:
    if not _is_person(actor):
        return False
    return actor.is_superuser or organisation_id in handling_grants(actor)[1]


def case_queryset(actor: Actor) -> QuerySet[Case]:
    """Cases the actor may see (see the module docstring)."""
    if not _is_person(actor):
        return Case.objects.none()
    view = reach(actor, Permission.CASE_VIEW)
    if view.everything:
        return Case.objects.all()
    condition = Q(reporter_account_id=actor.pk)
    if view.paths:
        condition |= view.q("place__path") | view.q("handling_place__path")
    paths, organisations = handling_grants(actor)
    if paths:
        condition |= Q(handling_place__path__in=paths)
    if organisations:
        summoned = Exists(Summons.objects.filter(case=OuterRef("pk"), department_id__in=organisations))
        condition |= Q(handling_department_id__in=organisations) | Q(summoned)
    return Case.objects.filter(condition)


_DETAIL_RELATED = (
    "category",
    "place",
    "handling_place",
    "handling_department",
    "current_handler",
    "reporter_resident",
    "duplicate_of",
)


def access_case(actor: Actor, case_id: Any) -> Case:
    """The case, or NotFound whether it is missing or out of the actor's sight."""
    require_authenticated(actor)
    try:
        case_id = int(case_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    case = case_queryset(actor).select_related(*_DETAIL_RELATED).filter(pk=case_id).first()
    if case is None:
        raise NotFound()
    return case


def access_summons(actor: Actor, summons_id: Any) -> Summons:
    """A summons the actor may answer for its department (or NotFound)."""
    require_authenticated(actor)
    try:
        summons_id = int(summons_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    summons = Summons.objects.select_related("case", "department").filter(pk=summons_id).first()
    if summons is None or not handles_department(actor, summons.department_id):
        raise NotFound()
    return summons


def configures_categories(actor: Actor) -> bool:
    """Whether the actor configures the district's categories (and their questions): superusers, and people holding
    ``case.configure`` on a whole district (a root of the place tree). Categories hold for the whole district."""
    if not _is_person(actor):
        return False
    if actor.is_superuser:
        return True
    return any(path.count("/") == 2 for path in reach(actor, Permission.CASE_CONFIGURE).paths)


def category_list() -> QuerySet[CaseCategory]:
    return CaseCategory.objects.filter(is_active=True).order_by("sort_order", "name")


def access_category(category_id: Any) -> CaseCategory:
    try:
        category_id = int(category_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    category = CaseCategory.objects.filter(pk=category_id, is_active=True).first()
    if category is None:
        raise NotFound()
    return category


def intake_place(actor: Actor, place_id: Any) -> Place:
    """A place the actor may raise or record a case at: in their ``case.intake`` reach, or (for a resident) their
    household or a place above it (their building, compound, community). NotFound otherwise."""
    require_authenticated(actor)
    try:
        place_id = int(place_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    place = Place.objects.filter(pk=place_id, is_active=True).first()
    if place is None:
        raise NotFound()
    if reach(actor, Permission.CASE_INTAKE).covers(place.path) or place.pk in resident_place_ids(actor):
        return place
    raise NotFound()


def resident_households(actor: Actor) -> list[Place]:
    from gongzhi.people.selectors import account_households

    if not _is_person(actor):
        return []
    return account_households(actor)


def resident_place_ids(actor: Actor) -> set[int]:
    """Ids of the actor's households and every place above them."""
    ids: set[int] = set()
    for household in resident_households(actor):
        ids.add(household.pk)
        ids.update(household.ancestor_ids)
    return ids


# ---------------------------------------------------------------- lists


@dataclass(frozen=True)
class QueueFilters:
    states: tuple[str, ...] = OPEN_STATES
    level: str | None = None
    category_id: int | None = None
    overdue: bool | None = None
    place: Place | None = None
    search: str = ""


_LIST_RELATED = ("category", "place", "handling_place", "handling_department", "current_handler", "reporter_resident")


def my_cases(actor: Actor) -> QuerySet[Case]:
    """The cases a resident raised, newest first."""
    if not _is_person(actor):
        return Case.objects.none()
    return (
        Case.objects.filter(reporter_account_id=actor.pk)
        .select_related(*_LIST_RELATED)
        .order_by("-submitted_at", "-id")
    )


_CASE_NUMBER = re.compile(r"^#?\s*(?:(\d{4})\s*[-－–—]\s*)?0*(\d{1,12})$")


def parse_case_number(text: str) -> tuple[int | None, int] | None:
    """(year or None, id) from a request number as people quote it: "2026-000332" (as notices print it), "332",
    "#332"; None for anything else."""
    match = _CASE_NUMBER.match((text or "").strip())
    if not match or not int(match.group(2)):
        return None
    return (int(match.group(1)) if match.group(1) else None), int(match.group(2))


def _year_q(year: int) -> Q:
    """Submitted in ``year`` in local time (the year a request's number shows)."""
    start = timezone.make_aware(datetime(year, 1, 1))
    return Q(submitted_at__gte=start, submitted_at__lt=timezone.make_aware(datetime(year + 1, 1, 1)))


def case_search_q(text: str) -> Q:
    """What the queues' search box matches: words in the request or its location, the hotline work order number,
    or the request's number — in full ("2026-000332") or by its digits ("332")."""
    text = (text or "").strip()
    condition = Q(text__icontains=text) | Q(location_text__icontains=text) | Q(external_ref=text)
    number = parse_case_number(text)
    if number is not None:
        year, case_id = number
        if year is None:
            condition |= Q(pk=case_id)
        elif 1900 < year < 10000:
            condition |= Q(pk=case_id) & _year_q(year)
    return condition


def handler_queue(actor: Actor, filters: QueueFilters | None = None) -> QuerySet[Case]:
    """Cases waiting at the actor's own places and departments, the nearest deadline first."""
    filters = filters or QueueFilters()
    if not _is_person(actor):
        return Case.objects.none()
    if actor.is_superuser:
        queryset = Case.objects.all()
    else:
        paths, organisations = handling_grants(actor)
        condition = Q(pk__in=[])
        if paths:
            condition |= Q(handling_place__path__in=paths)
        if organisations:
            condition |= Q(handling_department_id__in=organisations)
        queryset = Case.objects.filter(condition)
    if filters.states:
        queryset = queryset.filter(state__in=filters.states)
    if filters.level:
        queryset = queryset.filter(level=filters.level)
    if filters.category_id:
        queryset = queryset.filter(category_id=filters.category_id)
    if filters.overdue is not None:
        queryset = queryset.filter(is_overdue=filters.overdue)
    if filters.place is not None:
        queryset = queryset.filter(subtree_q(filters.place.path, "place__path"))
    text = filters.search.strip()
    if text:
        queryset = queryset.filter(case_search_q(text))
    return queryset.select_related(*_LIST_RELATED).order_by(
        F("accept_by").asc(nulls_last=True), F("resolve_by").asc(nulls_last=True), "id"
    )


def place_labels(places: list[Place]) -> dict[int, str]:
    """{place id: "3号楼 · 2单元 · 502"}: a household or entrance named with its building and entrance, other
    places by their own name; one query for all."""
    wanted = {ancestor for place in places for ancestor in place.ancestor_ids}
    names = (
        dict(
            Place.objects.filter(pk__in=wanted, kind__in=(PlaceKind.BUILDING, PlaceKind.ENTRANCE)).values_list(
                "id", "name"
            )
        )
        if wanted
        else {}
    )
    return {
        place.pk: " · ".join([*(names[item] for item in place.ancestor_ids if item in names), place.name])
        for place in places
    }


def label_case_places(cases: Any) -> None:
    """Give each case ``place_label`` (building · entrance · room) for lists and pages."""
    cases = list(cases)
    labels = place_labels([case.place for case in cases])
    for case in cases:
        case.place_label = labels[case.place_id]


VISIT_HOUSEHOLDS_SHOWN = 30
_SEARCH_SPLIT = re.compile(r"[\s·,，/、-]+")


def visit_households(actor: Actor, text: str = "", *, limit: int = VISIT_HOUSEHOLDS_SHOWN) -> tuple[list[Place], int]:
    """(the first ``limit`` households the actor may log a visit at that match ``text``, how many match).

    Every word of ``text`` must match the household's room, its entrance or building, or the name of a resident
    registered there ("3号楼 2单元 502", "502", "杨"). Each household gets ``label`` (building · entrance · room).
    """
    from gongzhi.people.models import Resident
    from gongzhi.places.selectors import place_queryset

    queryset = place_queryset(actor, Permission.VISIT_LOG).filter(kind=PlaceKind.HOUSEHOLD)
    for word in [part for part in _SEARCH_SPLIT.split((text or "").strip()[:50]) if part][:5]:
        living = Resident.objects.filter(household_id=OuterRef("pk"), is_active=True, name__icontains=word)
        queryset = queryset.filter(
            Q(name__icontains=word)
            | Q(parent__name__icontains=word)
            | Q(parent__parent__name__icontains=word)
            | Q(parent__parent__parent__name__icontains=word)
            | Exists(living)
        )
    total = queryset.count()
    households = list(queryset.order_by("parent_id", "name", "pk")[:limit])  # entrance by entrance, room by room
    labels = place_labels(households)
    for household in households:
        household.label = labels[household.pk]  # type: ignore[attr-defined]
    return households, total


def duplicate_anchor(place: Place) -> Place:
    """Where to look for the same matter: the building (or compound) of a household or entrance, else the place."""
    if place.kind not in (PlaceKind.HOUSEHOLD, PlaceKind.ENTRANCE):
        return place
    ancestors = Place.objects.filter(
        pk__in=place.ancestor_ids, kind__in=(PlaceKind.BUILDING, PlaceKind.COMPOUND)
    ).order_by("-depth")
    return ancestors.first() or place


def possible_duplicates(
    actor: Actor,
    *,
    category: CaseCategory,
    place: Place,
    exclude: Case | None = None,
    now: datetime | None = None,
    days: int | None = None,
    limit: int = 10,
) -> list[Case]:
    """Recent open (or just resolved) cases of the same category at the same building or place, that the actor
    may see. A resident sees only their own; handlers see their area's."""
    now = now or timezone.now()
    days = days if days is not None else getattr(settings, "GONGZHI_CASE_DUPLICATE_DAYS", DUPLICATE_WINDOW_DAYS)
    anchor = duplicate_anchor(place)
    queryset = (
        case_queryset(actor)
        .filter(
            category=category,
            state__in=(*OPEN_STATES, CaseState.RESOLVED),
            submitted_at__gte=now - timedelta(days=days),
        )
        .filter(subtree_q(anchor.path, "place__path"))
        .select_related(*_LIST_RELATED)
        .order_by("-submitted_at", "-id")
    )
    if exclude is not None:
        queryset = queryset.exclude(pk=exclude.pk)
    found = list(queryset[:limit])
    label_case_places(found)
    return found


def case_trail(case: Case) -> list[CaseEvent]:
    return list(
        CaseEvent.objects.filter(case=case)
        .select_related("to_place", "from_place", "to_department", "from_department", "case__reporter_resident")
        .order_by("occurred_at", "id")
    )


def case_summonses(case: Case) -> list[Summons]:
    return list(case.summonses.select_related("department").order_by("summoned_at", "id"))


def inbox(actor: Actor, *, unread_only: bool = False) -> QuerySet[Notification]:
    if not _is_person(actor):
        return Notification.objects.none()
    queryset = Notification.objects.filter(recipient_id=actor.pk).select_related("case__category")
    if unread_only:
        queryset = queryset.filter(read_at__isnull=True)
    return queryset.order_by("-created_at", "-id")


def case_with_trail(actor: Actor, case_id: Any) -> Case:
    """The case with its trail and summonses loaded (for detail pages and the API)."""
    case = access_case(actor, case_id)
    case.trail = case_trail(case)  # type: ignore[attr-defined]
    case.summons_list = case_summonses(case)  # type: ignore[attr-defined]
    return case


# ---------------------------------------------------------------- personal data (collected by people.personal_data)


def personal_data_of(resident: Any, account: Any) -> list[dict[str, Any]]:
    """What the cases app holds about ``resident`` and their login ``account``: requests they raised with each one's
    trail (as the resident reads it), agent services for them, disputes they are a party to, visits to their
    household and their inbox. Read-only plain rows; the caller has checked who asks."""
    from django.utils.translation import gettext as gettext_now

    from .models import AgentService, DisputeParty, HouseholdVisit
    from .trail import trail_lines

    reporter_q = Q(pk__in=[])
    if resident is not None:
        reporter_q |= Q(reporter_resident=resident)
    if account is not None:
        reporter_q |= Q(reporter_account=account)
    cases = list(Case.objects.filter(reporter_q).select_related("category").order_by("submitted_at", "pk"))
    events = (
        CaseEvent.objects.filter(case__in=cases)
        .select_related("to_place", "from_place", "to_department", "from_department", "case")
        .order_by("case_id", "occurred_at", "pk")
    )
    trail = [{"case": event.case.number, **line} for event, line in zip(events, trail_lines(list(events)), strict=True)]
    services = AgentService.objects.filter(resident=resident) if resident is not None else AgentService.objects.none()
    parties = (
        DisputeParty.objects.filter(resident=resident).select_related("dispute")
        if resident is not None
        else DisputeParty.objects.none()
    )
    household_id = getattr(resident, "household_id", None)
    visits = HouseholdVisit.objects.filter(household_id=household_id) if household_id else HouseholdVisit.objects.none()
    notices = Notification.objects.filter(recipient=account) if account is not None else Notification.objects.none()
    return [
        {
            "key": "cases.requests",
            "title": gettext_now("Requests raised"),
            "columns": [
                ("number", gettext_now("number")),
                ("submitted_at", gettext_now("submitted at")),
                ("category", gettext_now("category")),
                ("text", gettext_now("what the resident asks")),
                ("contact_name", gettext_now("contact")),
                ("contact_phone", gettext_now("contact phone")),
                ("anonymous", gettext_now("anonymous")),
                ("state", gettext_now("state")),
            ],
            "rows": [
                {
                    "number": case.number,
                    "submitted_at": case.submitted_at,
                    "category": case.category.name,
                    "text": case.text,
                    "contact_name": case.contact_name,
                    "contact_phone": case.contact_phone,
                    "anonymous": case.is_anonymous,
                    "state": case.get_state_display(),
                }
                for case in cases
            ],
        },
        {
            "key": "cases.trail",
            "title": gettext_now("Trail of the requests"),
            "columns": [
                ("case", gettext_now("number")),
                ("occurred_at", gettext_now("when")),
                ("text", gettext_now("what")),
            ],
            "rows": [{key: line[key] for key in ("case", "occurred_at", "text")} for line in trail],
        },
        {
            "key": "cases.agent_services",
            "title": gettext_now("Agent services"),
            "columns": [
                ("received_at", gettext_now("received at")),
                ("title", gettext_now("matter")),
                ("state", gettext_now("state")),
                ("completed_at", gettext_now("completed at")),
            ],
            "rows": [
                {
                    "received_at": item.received_at,
                    "title": item.title,
                    "state": item.get_state_display(),
                    "completed_at": item.completed_at,
                }
                for item in services.order_by("received_at", "pk")
            ],
        },
        {
            "key": "cases.disputes",
            "title": gettext_now("Disputes you are a party to"),
            "columns": [("dispute", gettext_now("number")), ("side", gettext_now("side"))],
            "rows": [
                {"dispute": party.dispute_id, "side": party.get_side_display()} for party in parties.order_by("pk")
            ],
        },
        {
            "key": "cases.visits",
            "title": gettext_now("Household visits"),
            "columns": [
                ("visited_on", gettext_now("visited on")),
                ("opinion", gettext_now("opinion raised")),
                ("outcome", gettext_now("outcome")),
            ],
            "rows": [
                {"visited_on": visit.visited_on, "opinion": visit.opinion, "outcome": visit.get_outcome_display()}
                for visit in visits.order_by("visited_on", "pk")
            ],
        },
        {
            "key": "cases.notifications",
            "title": gettext_now("Notifications"),
            "columns": [
                ("created_at", gettext_now("created at")),
                ("text", gettext_now("text")),
                ("read_at", gettext_now("read at")),
            ],
            "rows": [
                {"created_at": notice.created_at, "text": notice.text, "read_at": notice.read_at}
                for notice in notices.order_by("created_at", "pk")
            ],
        },
    ]


# ---------------------------------------------------------------- the cockpit's ledger (工作台账)


def cases_ledger(actor: Actor, place: Place, period: Any) -> QuerySet[Case]:
    """Cases about places in ``place``'s subtree submitted in ``period``, oldest first (the cockpit's cases ledger;
    read-only, unmasked rows: the caller masks). NotFound unless ``cockpit.report_generate`` reaches the place."""
    from gongzhi.core.access import require_reach

    require_reach(actor, Permission.REPORT_GENERATE, place.path)
    return (
        Case.objects.filter(subtree_q(place.path, "place__path"))
        .filter(submitted_at__gte=period.start, submitted_at__lt=period.end)
        .select_related("category", "place", "handling_place", "reporter_resident")
        .order_by("submitted_at", "pk")
    )
