"""The people and party figures of shared/kpis.md ("Organisation"), for any place (its subtree) on the last day of
any period (``gongzhi.core.figures.Period``). Four aggregate queries.

Definitions:
- residents: registered residents of households under the place; households with at least one of them;
- party organisations by kind, serving places under the place (seed 004: 154 committees / 356 branches / 748
  building groups — and party household leads);
- party members: active memberships of residents under the place, of them in service and retired;
- staff by role: distinct people holding each role in force on the period's last day on places under the place
  (grid workers, building heads, entrance heads, community workers, …);
- community workers per 10,000 residents: people holding the community worker or community secretary role,
  × 10,000 / residents, to one decimal, against the standard of at least 18 (``None``, shown "—", without
  residents);
- people in more than one role: people holding two or more different roles in force there (residents' own role
  not counted; seed 001: 122).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from gongzhi.core.figures import Period
from gongzhi.core.kpi_catalogue import Figure, FigureGroup, KpiDomain, Unit
from gongzhi.core.roles import Role
from gongzhi.core.tree import subtree_q
from gongzhi.places.models import Place

from .models import PartyMembership, PartyOrganisation, PartyOrganisationKind, Resident, RoleAssignment

WORKERS_PER_10000_STANDARD = Decimal("18")
COMMUNITY_WORKER_ROLES = (Role.COMMUNITY_WORKER, Role.COMMUNITY_SECRETARY)


@dataclass(frozen=True)
class PeopleFigures:
    residents: int
    households_with_residents: int
    party_organisations: dict[str, int]
    party_members: int
    party_members_in_service: int
    staff_by_role: dict[str, int]
    community_workers: int
    people_in_several_roles: int

    @property
    def community_workers_per_10000(self) -> Decimal | None:
        if not self.residents:
            return None
        value = Decimal(self.community_workers) * 10000 / Decimal(self.residents)
        return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def meets_worker_standard(self) -> bool | None:
        ratio = self.community_workers_per_10000
        return None if ratio is None else ratio >= WORKERS_PER_10000_STANDARD

    def as_dict(self) -> dict:
        ratio = self.community_workers_per_10000
        return {
            "residents": self.residents,
            "households_with_residents": self.households_with_residents,
            "party_organisations": self.party_organisations,
            "party_members": self.party_members,
            "party_members_in_service": self.party_members_in_service,
            "party_members_retired": self.party_members - self.party_members_in_service,
            "staff_by_role": self.staff_by_role,
            "community_workers": self.community_workers,
            "community_workers_per_10000": None if ratio is None else str(ratio),
            "worker_standard_per_10000": str(WORKERS_PER_10000_STANDARD),
            "meets_worker_standard": self.meets_worker_standard,
            "people_in_several_roles": self.people_in_several_roles,
        }


def people_figures(place: Place, period: Period) -> PeopleFigures:
    residents = Resident.objects.filter(subtree_q(place.path, "household__path"), is_active=True).aggregate(
        residents=Count("pk"), households=Count("household_id", distinct=True)
    )
    kinds = PartyOrganisation.objects.filter(subtree_q(place.path, "place__path"), is_active=True).aggregate(
        **{kind: Count("pk", filter=Q(kind=kind)) for kind in PartyOrganisationKind.values}
    )
    members = PartyMembership.objects.filter(
        subtree_q(place.path, "resident__household__path"), is_active=True, resident__is_active=True
    ).aggregate(members=Count("pk"), in_service=Count("pk", filter=Q(is_in_service=True)))
    in_force = (
        RoleAssignment.objects.current(on=period.last)
        .filter(subtree_q(place.path, "place__path"))
        .exclude(role=Role.RESIDENT)
    )
    by_role = {role: 0 for role in Role.values if role != Role.RESIDENT}
    for row in in_force.values("role").annotate(people=Count("account_id", distinct=True)).order_by():
        by_role[row["role"]] = row["people"]
    workers = in_force.filter(role__in=COMMUNITY_WORKER_ROLES).values("account_id").distinct().count()
    several = (
        in_force.values("account_id")
        .annotate(roles=Count("role", distinct=True))
        .filter(roles__gte=2)
        .order_by()
        .count()
    )
    return PeopleFigures(
        residents=residents["residents"],
        households_with_residents=residents["households"],
        party_organisations=kinds,
        party_members=members["members"],
        party_members_in_service=members["in_service"],
        staff_by_role=by_role,
        community_workers=workers,
        people_in_several_roles=several,
    )


# ---------------------------------------------------------------- the KPI catalogue (gongzhi.core.kpi_catalogue)


def _role_label(role: str) -> str:
    return str(Role(role).label)


def _organisation_kind_label(kind: str) -> str:
    return str(PartyOrganisationKind(kind).label)


KPI_DOMAIN = KpiDomain(
    "people",
    _("Organisation and people"),
    groups=(
        FigureGroup(
            "people.organisation",
            _("Residents, party and staff"),
            people_figures,
            (
                Figure("residents", _("Residents"), _("Registered, active residents of households under the place.")),
                Figure(
                    "households_with_residents",
                    _("Households with residents"),
                    _("Households under the place with at least one registered resident."),
                ),
                Figure(
                    "party_organisations",
                    _("Party organisations by kind"),
                    _(
                        "Active party committees, branches, building party groups and party household leads serving "
                        "places under the place."
                    ),
                    Unit.MAPPING,
                    labels=_organisation_kind_label,
                ),
                Figure(
                    "party_members",
                    _("Party members"),
                    _("Active party memberships of active residents under the place."),
                ),
                Figure(
                    "party_members_in_service",
                    _("Party members in service"),
                    _("Of the party members, those in service (not retired)."),
                ),
                Figure(
                    "staff_by_role",
                    _("Staff by role"),
                    _(
                        "Distinct people holding each role in force on the period's last day on places under the place "
                        "(residents' own role not counted)."
                    ),
                    Unit.MAPPING,
                    labels=_role_label,
                ),
                Figure(
                    "community_workers",
                    _("Community workers"),
                    _(
                        "People holding the community worker or community secretary role in force on the period's "
                        "last day under the place."
                    ),
                ),
                Figure(
                    "community_workers_per_10000",
                    _("Community workers per 10,000 residents"),
                    _(
                        "Community workers × 10,000 / residents, to one decimal, against the standard of at least 18; "
                        "— without residents."
                    ),
                    Unit.PER_10000,
                ),
                Figure(
                    "people_in_several_roles",
                    _("People in several roles"),
                    _(
                        "People holding two or more different roles in force on the period's last day under the "
                        "place (residents' own role not counted)."
                    ),
                ),
            ),
        ),
    ),
)
