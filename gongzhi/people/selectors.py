"""Reads of people, always scoped to the actor's reach. Lists select what they show in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from gongzhi.core.access import reach, require_authenticated
from gongzhi.core.actors import MaybeAnonymousActor
from gongzhi.core.errors import NotFound
from gongzhi.core.roles import Permission, Role
from gongzhi.core.tree import subtree_q
from gongzhi.places.models import Place

from .models import Account, Organisation, PartyMembership, PartyOrganisation, Resident, ResidentTag, RoleAssignment


@dataclass(frozen=True)
class ResidentFilters:
    place: Place | None = None
    tag: str | None = None
    party_member: bool | None = None
    in_service: bool | None = None
    search: str = ""


def resident_queryset(actor: MaybeAnonymousActor, permission: str = Permission.RESIDENT_VIEW) -> QuerySet[Resident]:
    """Registered residents whose household lies in the actor's reach for ``permission``."""
    scope = reach(actor, permission)
    return Resident.objects.filter(is_active=True, household__is_active=True).filter(scope.q("household__path"))


def resident_list(
    actor: MaybeAnonymousActor, filters: ResidentFilters, permission: str = Permission.RESIDENT_VIEW
) -> QuerySet[Resident]:
    """Residents in reach matching the filters, with household, tags and party membership loaded up front."""
    queryset = resident_queryset(actor, permission)
    if filters.place is not None:
        queryset = queryset.filter(subtree_q(filters.place.path, "household__path"))
    if filters.tag:
        queryset = queryset.filter(Exists(ResidentTag.objects.filter(resident=OuterRef("pk"), code=filters.tag)))
    if filters.party_member is not None:
        membership = Exists(PartyMembership.objects.filter(resident=OuterRef("pk"), is_active=True))
        queryset = queryset.filter(membership if filters.party_member else ~membership)
    if filters.in_service is not None:
        queryset = queryset.filter(
            Exists(
                PartyMembership.objects.filter(
                    resident=OuterRef("pk"), is_active=True, is_in_service=filters.in_service
                )
            )
        )
    text = filters.search.strip()
    if text:
        queryset = queryset.filter(
            Q(name__icontains=text) | Q(phone__endswith=text) | Q(household__name__icontains=text)
        )
    return (
        queryset.select_related("household", "party_membership__organisation")
        .prefetch_related(Prefetch("tags", queryset=ResidentTag.objects.order_by("code")))
        .order_by("household__path", "id")
    )


def access_resident(
    actor: MaybeAnonymousActor, resident_id: Any, permission: str = Permission.RESIDENT_VIEW
) -> Resident:
    """The resident, or NotFound whether missing or out of reach."""
    require_authenticated(actor)
    try:
        resident_id = int(resident_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    resident = (
        resident_queryset(actor, permission)
        .select_related("household", "party_membership__organisation")
        .prefetch_related("tags")
        .filter(pk=resident_id)
        .first()
    )
    if resident is None:
        raise NotFound()
    return resident


def household_members(actor: MaybeAnonymousActor, household: Place) -> list[Resident]:
    return list(
        resident_queryset(actor)
        .filter(household=household)
        .select_related("party_membership__organisation")
        .prefetch_related("tags")
        .order_by("id")
    )


def account_roles(account: Account, *, today: date) -> list[RoleAssignment]:
    """The account's roles in force on ``today`` and those still to come, with their places, for 'me' and home."""
    return list(
        RoleAssignment.objects.current_or_future(on=today)
        .filter(account=account)
        .select_related("place", "organisation")
        .order_by("role", "place__path")
    )


def resident_reachable_permissions(actor: MaybeAnonymousActor, resident: Resident) -> set[str]:
    """Which resident permissions the actor holds over this resident's household (for showing buttons)."""
    household = resident.household
    path = household.path if household is not None else ""
    return {
        permission
        for permission in (Permission.RESIDENT_REVEAL, Permission.RESIDENT_EXPORT, Permission.RESIDENT_ANONYMISE)
        if path and reach(actor, permission).covers(path)
    }


def annotate_resident_counts(actor: MaybeAnonymousActor, places: QuerySet[Place]) -> QuerySet[Place]:
    """Add ``resident_count``: registered residents the actor may see under each place (one query in all)."""
    from django.db.models import F, Func, IntegerField, Subquery
    from django.db.models.functions import Coalesce

    counts = (
        resident_queryset(actor)
        .filter(household__path__startswith=OuterRef("path"))
        .order_by()
        .annotate(total=Func(F("pk"), function="COUNT"))
        .values("total")
    )
    return places.annotate(resident_count=Coalesce(Subquery(counts, output_field=IntegerField()), 0))


def account_households(account: Account, *, today: date | None = None) -> list[Place]:
    """The households an account lives in on ``today``: those of its resident roles in force, else its resident
    record's. (``today`` defaults to the present for callers that have not passed it yet.)"""
    on = today or timezone.localdate()
    households = [
        assignment.place
        for assignment in RoleAssignment.objects.current(on=on, active_accounts=False)
        .filter(account=account, role=Role.RESIDENT, place__is_active=True)
        .select_related("place")
        .order_by("place__path")
    ]
    if not households and account.resident_id:
        resident = Resident.objects.select_related("household").filter(pk=account.resident_id).first()
        if resident is not None and resident.household is not None and resident.household.is_active:
            households = [resident.household]
    return households


def account_organisations(account: Account, *, today: date) -> list[Organisation]:
    """Organisations the account acts for on ``today`` (merchant clerk, organisation representative)."""
    seen: dict[int, Organisation] = {}
    assignments = (
        RoleAssignment.objects.current(on=today, active_accounts=False)
        .filter(account=account, organisation__isnull=False)
        .select_related("organisation")
        .order_by("role", "place__path")
    )
    for assignment in assignments:
        seen.setdefault(assignment.organisation.pk, assignment.organisation)
    return list(seen.values())


def party_organisation_queryset(actor: MaybeAnonymousActor) -> QuerySet[PartyOrganisation]:
    """Party organisations serving places in the actor's reach."""
    return PartyOrganisation.objects.filter(is_active=True).filter(reach(actor, Permission.PLACE_VIEW).q("place__path"))


def party_counts(actor: MaybeAnonymousActor, place: Place) -> dict[str, int]:
    """Committees, branches, building groups, household leads and members serving places under ``place``."""
    from django.db.models import Count

    from .models import PartyOrganisationKind

    nodes = party_organisation_queryset(actor).filter(subtree_q(place.path, "place__path"))
    counts = {kind: 0 for kind in PartyOrganisationKind.values}
    counts.update({row["kind"]: row["total"] for row in nodes.values("kind").annotate(total=Count("id"))})
    counts["members"] = PartyMembership.objects.filter(is_active=True, organisation__in=nodes).count()
    counts["in_service_members"] = PartyMembership.objects.filter(
        is_active=True, is_in_service=True, organisation__in=nodes
    ).count()
    return counts


# ---------------------------------------------------------------- party members


class MembershipStatus:
    IN_FORCE = "active"
    ENDED = "ended"
    ALL = "all"


@dataclass(frozen=True)
class PartyMembershipFilters:
    place: Place | None = None
    search: str = ""
    in_service: bool | None = None
    status: str = MembershipStatus.IN_FORCE


def party_membership_queryset(
    actor: MaybeAnonymousActor, permission: str = Permission.RESIDENT_VIEW
) -> QuerySet[PartyMembership]:
    """Memberships of registered residents whose household lies in the actor's reach for ``permission``."""
    return PartyMembership.objects.filter(resident__is_active=True).filter(
        reach(actor, permission).q("resident__household__path")
    )


def party_membership_list(
    actor: MaybeAnonymousActor, filters: PartyMembershipFilters, permission: str = Permission.RESIDENT_VIEW
) -> QuerySet[PartyMembership]:
    """Memberships in reach matching the filters (in force by default), by party organisation and name, with the
    resident, household, organisation and employer loaded up front."""
    queryset = party_membership_queryset(actor, permission)
    if filters.place is not None:
        queryset = queryset.filter(subtree_q(filters.place.path, "resident__household__path"))
    if filters.status == MembershipStatus.IN_FORCE:
        queryset = queryset.filter(is_active=True)
    elif filters.status == MembershipStatus.ENDED:
        queryset = queryset.filter(is_active=False)
    if filters.in_service is not None:
        queryset = queryset.filter(is_in_service=filters.in_service)
    text = filters.search.strip()
    if text:
        queryset = queryset.filter(
            Q(resident__name__icontains=text)
            | Q(resident__phone__endswith=text)
            | Q(resident__household__name__icontains=text)
            | Q(organisation__name__icontains=text)
            | Q(employer_name__icontains=text)
        )
    return queryset.select_related("resident__household", "organisation", "employer").order_by(
        "organisation__path", "resident__name", "pk"
    )


def access_party_membership(
    actor: MaybeAnonymousActor, membership_id: Any, permission: str = Permission.RESIDENT_VIEW
) -> PartyMembership:
    """The membership, or NotFound whether missing or out of reach."""
    require_authenticated(actor)
    try:
        membership_id = int(membership_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    membership = (
        party_membership_queryset(actor, permission)
        .select_related("resident__household", "organisation__place", "employer")
        .filter(pk=membership_id)
        .first()
    )
    if membership is None:
        raise NotFound()
    return membership


def party_organisation_choices(actor: MaybeAnonymousActor, place: Place) -> list[PartyOrganisation]:
    """The party organisations in reach serving places under ``place`` (a community), in tree order, for forms."""
    return list(party_organisation_queryset(actor).filter(subtree_q(place.path, "place__path")).order_by("path"))


def employer_choices(actor: MaybeAnonymousActor, place: Place) -> list[Organisation]:
    """Resident organisations in reach under ``place`` that may be a party member's employer, by name."""
    return list(
        Organisation.objects.filter(is_active=True)
        .filter(reach(actor, Permission.PLACE_VIEW).q("place__path"))
        .filter(subtree_q(place.path, "place__path"))
        .order_by("name", "pk")
    )


def party_member_candidates(
    actor: MaybeAnonymousActor, place: Place, search: str, *, permission: str, limit: int = 20
) -> list[Resident]:
    """Registered residents under ``place`` not yet party members, matching ``search`` (name, room number, last
    digits of the phone), for choosing whom to register."""
    text = search.strip()
    if not text:
        return []
    in_force = Exists(PartyMembership.objects.filter(resident=OuterRef("pk"), is_active=True))
    return list(
        resident_queryset(actor, permission)
        .filter(subtree_q(place.path, "household__path"))
        .filter(~in_force)
        .filter(Q(name__icontains=text) | Q(phone__endswith=text) | Q(household__name__icontains=text))
        .select_related("household")
        .order_by("name", "pk")[:limit]
    )


def party_organisation_by_id(actor: MaybeAnonymousActor, organisation_id: Any) -> PartyOrganisation | None:
    """An active party organisation in reach by id, or None (missing and out of reach alike), for forms."""
    try:
        organisation_id = int(organisation_id)
    except (TypeError, ValueError):
        return None
    return party_organisation_queryset(actor).select_related("place").filter(pk=organisation_id).first()


def employer_by_id(actor: MaybeAnonymousActor, organisation_id: Any) -> Organisation | None:
    """An active resident organisation in reach by id, or None (missing and out of reach alike), for forms."""
    try:
        organisation_id = int(organisation_id)
    except (TypeError, ValueError):
        return None
    return (
        Organisation.objects.filter(is_active=True, pk=organisation_id)
        .filter(reach(actor, Permission.PLACE_VIEW).q("place__path"))
        .select_related("place")
        .first()
    )


# ---------------------------------------------------------------- the cockpit's ledger (工作台账)


def roster_counts_ledger(actor: MaybeAnonymousActor, place: Place) -> list[tuple[Place, int, dict[str, int]]]:
    """For ``place`` and each active place right below it: (place, active residents, ``party_counts``). Counts
    only (the cockpit's people ledger). NotFound unless ``cockpit.report_generate`` reaches the place."""
    from gongzhi.core.access import require_reach

    require_reach(actor, Permission.REPORT_GENERATE, place.path)
    places = [place, *Place.objects.filter(parent_id=place.pk, is_active=True).order_by("name", "pk")]
    rows = []
    for item in places:
        residents = Resident.objects.filter(subtree_q(item.path, "household__path"), is_active=True).count()
        rows.append((item, residents, party_counts(actor, item)))
    return rows
