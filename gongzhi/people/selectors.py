"""Reads of people, always scoped to the actor's reach. Lists select what they show in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from gongzhi.core.access import reach, require_authenticated
from gongzhi.core.errors import NotFound
from gongzhi.core.roles import Permission
from gongzhi.core.tree import subtree_q
from gongzhi.places.models import Place

from .models import Account, PartyMembership, PartyOrganisation, Resident, ResidentTag, RoleAssignment


@dataclass(frozen=True)
class ResidentFilters:
    place: Place | None = None
    tag: str | None = None
    party_member: bool | None = None
    in_service: bool | None = None
    search: str = ""


def resident_queryset(actor: Any, permission: str = Permission.RESIDENT_VIEW) -> QuerySet[Resident]:
    """Registered residents whose household lies in the actor's reach for ``permission``."""
    scope = reach(actor, permission)
    return Resident.objects.filter(is_active=True, household__is_active=True).filter(scope.q("household__path"))


def resident_list(
    actor: Any, filters: ResidentFilters, permission: str = Permission.RESIDENT_VIEW
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


def access_resident(actor: Any, resident_id: Any, permission: str = Permission.RESIDENT_VIEW) -> Resident:
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


def household_members(actor: Any, household: Place) -> list[Resident]:
    return list(
        resident_queryset(actor)
        .filter(household=household)
        .select_related("party_membership__organisation")
        .prefetch_related("tags")
        .order_by("id")
    )


def account_roles(account: Account) -> list[RoleAssignment]:
    """The account's current and future roles with their places, for 'me' and the home page."""
    from django.utils import timezone

    today = timezone.localdate()
    return list(
        RoleAssignment.objects.filter(account=account)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .select_related("place", "organisation")
        .order_by("role", "place__path")
    )


def resident_reachable_permissions(actor: Any, resident: Resident) -> set[str]:
    """Which resident permissions the actor holds over this resident's household (for showing buttons)."""
    path = resident.household.path if resident.household_id else ""
    return {
        permission
        for permission in (Permission.RESIDENT_REVEAL, Permission.RESIDENT_EXPORT)
        if path and reach(actor, permission).covers(path)
    }


def annotate_resident_counts(actor: Any, places: QuerySet[Place]) -> QuerySet[Place]:
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


def account_households(account: Account) -> list[Place]:
    """The households an account lives in: those of its current resident roles, else its resident record's."""
    households = [
        assignment.place
        for assignment in account_roles(account)
        if assignment.role == "resident" and assignment.place.is_active and assignment.starts_on <= _today()
    ]
    if not households and account.resident_id:
        resident = Resident.objects.select_related("household").filter(pk=account.resident_id).first()
        if resident is not None and resident.household is not None and resident.household.is_active:
            households = [resident.household]
    return households


def account_organisations(account: Account) -> list[Any]:
    """Organisations the account acts for (merchant clerk, organisation representative), current roles only."""
    seen: dict[int, Any] = {}
    for assignment in account_roles(account):
        if assignment.organisation is not None and assignment.starts_on <= _today():
            seen.setdefault(assignment.organisation.pk, assignment.organisation)
    return list(seen.values())


def _today():
    from django.utils import timezone

    return timezone.localdate()


def party_organisation_queryset(actor: Any) -> QuerySet[PartyOrganisation]:
    """Party organisations serving places in the actor's reach."""
    return PartyOrganisation.objects.filter(is_active=True).filter(reach(actor, Permission.PLACE_VIEW).q("place__path"))


def party_counts(actor: Any, place: Place) -> dict[str, int]:
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
