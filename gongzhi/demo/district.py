"""Build a district from a ``DistrictSpec``: places, resident organisations and merchants, residents with
encrypted ID card numbers and tags, the party tree with its members, and (for the demo) the demo logins.

This is a bulk loader, not a service: it writes with ``bulk_create`` level by level and sets the materialised
paths with one UPDATE per level (places through ``places.services.place_bulk_insert``), so 100,000 households take
minutes. It runs inside one transaction and writes no audit entries or place history (nobody acted; the data is
made up). Everything random comes from ``random.Random(seed)``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import transaction
from django.db.models import CharField, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.utils.translation import gettext as _

from gongzhi.core.crypto import blind_index, encrypt_text
from gongzhi.core.masking import mask_id_card
from gongzhi.core.roles import Role
from gongzhi.core.tree import child_path, subtree_q
from gongzhi.people.models import (
    Account,
    Gender,
    Organisation,
    OrganisationKind,
    PartyMembership,
    PartyOrganisation,
    PartyOrganisationKind,
    Relation,
    Resident,
    ResidentTag,
    ResidentTagCode,
    RoleAssignment,
)
from gongzhi.people.services import id_card_check_character
from gongzhi.places.models import Place, PlaceKind
from gongzhi.places.services import place_bulk_insert

from . import names
from .figures import (
    DUAL_REGISTRATION_RATE,
    HOUSEHOLD_LEADS_PER_GROUP,
    IN_SERVICE_SHARE,
    CommunitySpec,
    DistrictSpec,
)

# Ages are reckoned from a fixed day so that the same seed always gives the same people.
REFERENCE_DATE = date(2025, 1, 1)
DEMO_PASSWORD = "gongzhi-demo"
BATCH = 2000
_PHONE_PREFIXES = (
    *(f"13{d}" for d in "0125789"),
    *(f"15{d}" for d in "0125679"),
    *(f"18{d}" for d in "0123456789"),
    "177",
    "199",
)
_HOUSEHOLD_SIZES = (1, 2, 3, 4, 5, 6)
_HOUSEHOLD_SIZE_WEIGHTS = (0.30, 0.40, 0.19, 0.08, 0.025, 0.005)
_TAG_RATES = {"low_income": 0.02, "disabled": 0.015, "veteran": 0.02}


@dataclass
class CommunityBuilt:
    spec: CommunitySpec
    community: Place
    compounds: list[Place] = field(default_factory=list)
    grids_l1: list[Place] = field(default_factory=list)
    buildings: list[Place] = field(default_factory=list)
    households: list[Place] = field(default_factory=list)
    organisations: list[Organisation] = field(default_factory=list)
    merchants: list[Organisation] = field(default_factory=list)
    committee: PartyOrganisation | None = None


@dataclass
class DistrictBuilt:
    district: Place
    streets: list[Place] = field(default_factory=list)
    communities: list[CommunityBuilt] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _set_paths(model, pks: list[int], root: bool = False) -> None:
    """Set ``path`` for freshly inserted rows in one UPDATE: parent's path + own id + "/"."""
    if not pks:
        return
    own = Cast("pk", output_field=CharField())
    if root:
        expression = Concat(Value("/"), own, Value("/"), output_field=CharField())
    else:
        parent_path = Subquery(model.objects.filter(pk=OuterRef("parent_id")).values("path")[:1])
        expression = Concat(parent_path, own, Value("/"), output_field=CharField())
    model.objects.filter(pk__gte=min(pks), pk__lte=max(pks), path="").update(path=expression)


def _insert_level(model, objects: list, *, root: bool = False) -> list:
    """bulk_create one level of the party tree, then give every row its path (in the database and in memory).

    Places have their own (``place_bulk_insert``), which also keeps their depth.
    """
    if not objects:
        return objects
    model.objects.bulk_create(objects, batch_size=BATCH)
    _set_paths(model, [obj.pk for obj in objects], root=root)
    for obj in objects:
        obj.path = child_path(obj.parent.path if obj.parent_id else "", obj.pk)
    return objects


class _People:
    """Generates residents: names, genders, birth dates, unique valid ID card numbers, phones."""

    def __init__(self, rng: random.Random, region_codes: tuple[str, ...], check_database: bool):
        self.rng = rng
        self.region_codes = region_codes
        self.used: set[str] = set()
        self.check_database = check_database

    def birth_date(self, age: int) -> date:
        day_of_year = self.rng.randrange(365)
        return date(REFERENCE_DATE.year - age - 1, 1, 1) + timedelta(days=day_of_year)

    def id_card(self, birth: date, male: bool) -> str:
        while True:
            serial = self.rng.randrange(500) * 2 + (1 if male else 0)  # 17th digit: odd for men, even for women
            first17 = f"{self.rng.choice(self.region_codes)}{birth:%Y%m%d}{serial:03d}"
            if first17 not in self.used:
                self.used.add(first17)
                return first17 + id_card_check_character(first17)

    def phone(self) -> str:
        return self.rng.choice(_PHONE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def person(self, household_id: int, relation: str, age: int, male: bool, family: str | None) -> Resident:
        age = max(0, min(age, 100))
        birth = self.birth_date(age)
        number = self.id_card(birth, male)
        return Resident(
            name=names.person_name(self.rng, male, family),
            gender=Gender.MALE if male else Gender.FEMALE,
            birth_date=birth,
            phone=self.phone() if age >= 16 else "",
            id_card_ciphertext=encrypt_text(number),
            id_card_digest=blind_index(number),
            id_card_masked=mask_id_card(number),
            household_id=household_id,
            relation=relation,
        )

    def household(self, household_id: int, size: int) -> list[Resident]:
        """A plausible family of ``size``: householder, spouse, children, a parent, a grandchild."""
        rng = self.rng
        if size == 1:
            age = rng.randint(65, 92) if rng.random() < 0.25 else rng.randint(22, 64)
        else:
            age = rng.randint(26, 80)
        male = rng.random() < 0.6
        family = names.surname(rng)
        members = [self.person(household_id, Relation.HOUSEHOLDER, age, male, family)]
        roles: list[tuple[str, int, bool, str | None]] = []
        if size >= 2:
            if rng.random() < 0.8:
                roles.append((Relation.SPOUSE, age + rng.randint(-4, 4), not male, None))
            else:
                roles.append((Relation.CHILD, max(0, age - rng.randint(22, 34)), rng.random() < 0.5, family))
        for _member in range(size - 1 - len(roles)):
            pick = rng.random()
            if pick < 0.6 and age >= 22:
                roles.append((Relation.CHILD, max(0, age - rng.randint(22, 36)), rng.random() < 0.5, family))
            elif pick < 0.8 and age <= 60:
                roles.append((Relation.PARENT, age + rng.randint(22, 32), rng.random() < 0.45, family))
            elif age >= 50:
                roles.append((Relation.GRANDCHILD, max(0, age - rng.randint(45, 60)), rng.random() < 0.5, family))
            else:
                roles.append((Relation.OTHER, rng.randint(18, 70), rng.random() < 0.5, None))
        for relation, member_age, member_male, member_family in roles:
            members.append(self.person(household_id, relation, member_age, member_male, member_family))
        return members


def _household_sizes(rng: random.Random, households: int, residents: int) -> list[int]:
    """Household sizes drawn from a plausible spread, then nudged to add up to ``residents`` exactly."""
    sizes = rng.choices(_HOUSEHOLD_SIZES, weights=_HOUSEHOLD_SIZE_WEIGHTS, k=households)
    difference = residents - sum(sizes)
    while difference:
        index = rng.randrange(households)
        if difference > 0 and sizes[index] < 6:
            sizes[index] += 1
            difference -= 1
        elif difference < 0 and sizes[index] > 1:
            sizes[index] -= 1
            difference += 1
    return sizes


def _age(resident: Resident) -> int:
    return REFERENCE_DATE.year - resident.birth_date.year - 1


def _credit_code(rng: random.Random) -> str:
    return "9141" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _char in range(14))


class DistrictBuilder:
    def __init__(self, spec: DistrictSpec, *, seed: int, log: Callable[[str], None] | None = None):
        self.spec = spec
        self.rng = random.Random(seed)
        self.log = log or (lambda message: None)
        self.counts: dict[str, int] = {}
        self.org_numbers: dict[str, int] = {}

    def count(self, name: str, amount: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount

    @transaction.atomic
    def build(self) -> DistrictBuilt:
        spec = self.spec
        self.people = _People(self.rng, spec.region_codes, check_database=Resident.objects.exists())
        district = Place(kind=PlaceKind.DISTRICT, name=spec.name, code=spec.code)
        streets = [
            Place(kind=PlaceKind.STREET, name=street.name, code=street.code, parent=district) for street in spec.streets
        ]
        communities = [
            Place(kind=PlaceKind.COMMUNITY, name=community.name, code=community.code, parent=street_place)
            for street, street_place in zip(spec.streets, streets, strict=True)
            for community in street.communities
        ]
        place_bulk_insert(levels=[[district], streets, communities], history=False, batch_size=BATCH)
        built = DistrictBuilt(district=district, streets=streets, counts=self.counts)
        self.count("place", 1 + len(streets) + len(communities))
        for community_spec, community in zip(spec.communities, communities, strict=True):
            self.log(
                _("%(name)s: %(households)d households")
                % {"name": community_spec.name, "households": community_spec.households}
            )
            result = CommunityBuilt(spec=community_spec, community=community)
            self._places(result)
            self._organisations(result)
            residents = self._residents(result)
            self._party(result, residents)
            built.communities.append(result)
        refresh_planner_statistics()
        return built

    # ------------------------------------------------------------ places

    def _places(self, built: CommunityBuilt) -> None:
        spec, community = built.spec, built.community
        layout = spec.layout()
        compound_names = list(spec.compound_names) + [
            f"{community.name[:-2]}{n}号院" for n in range(len(spec.compound_names) + 1, spec.compounds + 1)
        ]
        compounds = [
            Place(kind=PlaceKind.COMPOUND, name=compound_names[i], parent=community) for i in range(spec.compounds)
        ]
        grids_l1, grids_l2, buildings_plan = [], [], []
        building_number = 0
        for compound, grid_sizes in zip(compounds, layout, strict=True):
            for buildings_in_grid in grid_sizes:
                grid = Place(
                    kind=PlaceKind.GRID,
                    name=f"第{len(grids_l1) + 1}网格",
                    code=f"{spec.code}-G{len(grids_l1) + 1:02d}",
                    parent=compound,
                    grid_level=1,
                )
                grids_l1.append(grid)
                for _building in range(buildings_in_grid):
                    building_number += 1
                    buildings_plan.append((grid, building_number))
        for grid, number in buildings_plan:
            grids_l2.append(
                Place(
                    kind=PlaceKind.GRID,
                    name=f"{number}号楼网格",
                    code=f"{grid.code}-{number:02d}",
                    parent=grid,
                    grid_level=2,
                )
            )
        buildings = [
            Place(kind=PlaceKind.BUILDING, name=f"{number}号楼", parent=grid_l2)
            for grid_l2, (_grid, number) in zip(grids_l2, buildings_plan, strict=True)
        ]
        grids_l3 = []
        for building, grid_l2, entrances in zip(buildings, grids_l2, spec.entrances_per_building(), strict=True):
            for entrance_number in range(1, entrances + 1):
                grids_l3.append(
                    Place(
                        kind=PlaceKind.GRID,
                        name=f"{building.name}{entrance_number}单元网格",
                        code=f"{grid_l2.code}-{entrance_number}",
                        parent=building,
                        grid_level=3,
                    )
                )
        entrances = [
            Place(kind=PlaceKind.ENTRANCE, name=grid.name[len(grid.parent.name) : -2], parent=grid) for grid in grids_l3
        ]
        households = []
        for entrance, count in zip(entrances, spec.households_per_entrance(), strict=True):
            for index in range(count):
                floor, room = divmod(index, 2)
                households.append(Place(kind=PlaceKind.HOUSEHOLD, name=f"{floor + 1}{room + 1:02d}", parent=entrance))
        place_bulk_insert(
            levels=[compounds, grids_l1, grids_l2, buildings, grids_l3, entrances, households],
            history=False,
            batch_size=BATCH,
        )
        built.compounds, built.grids_l1, built.buildings, built.households = compounds, grids_l1, buildings, households
        self.count("place", len(compounds) + len(grids_l1) + len(grids_l2) + len(buildings))
        self.count("place", len(grids_l3) + len(entrances) + len(households))
        self.count("grid_l1", len(grids_l1))
        self.count("grid_l2", len(grids_l2))
        self.count("grid_l3", len(grids_l3))
        self.count("building", len(buildings))
        self.count("household", len(households))
        # Which building each household is in, for the party tree.
        self._building_of_entrance = {
            entrance.pk: grid.parent for entrance, grid in zip(entrances, grids_l3, strict=True)
        }

    # ------------------------------------------------------------ organisations

    def _org_name(self, kind: str, pool: tuple[str, ...], community: Place) -> str:
        """Each name once in the district; when a pool runs out the community's name tells them apart."""
        number = self.org_numbers.get(kind, 0)
        self.org_numbers[kind] = number + 1
        base = pool[number % len(pool)]
        return base if number < len(pool) else f"{community.name}{base}"

    def _organisations(self, built: CommunityBuilt) -> None:
        rng, community = self.rng, built.community
        pools = [
            (OrganisationKind.AGENCY, names.AGENCIES, "区委组织部"),
            (OrganisationKind.ENTERPRISE, names.ENTERPRISES, "区工商业联合会"),
            (OrganisationKind.SCHOOL, names.SCHOOLS, "区教育局"),
            (OrganisationKind.SOCIAL_ORGANISATION, names.SOCIAL_ORGANISATIONS, "区民政局"),
        ]
        organisations = []
        for index in range(built.spec.organisations):
            kind, pool, department = pools[index % len(pools)]
            organisations.append(
                Organisation(
                    kind=kind,
                    name=self._org_name(kind, pool, community),
                    credit_code=_credit_code(rng),
                    place=community,
                    contact_name=names.person_name(rng, rng.random() < 0.5),
                    contact_phone=self.people.phone(),
                    supervising_department=department,
                )
            )
        short = community.name.removesuffix("社区")
        merchants = [
            Organisation(
                kind=OrganisationKind.MERCHANT,
                name=f"{names.MERCHANTS[index % len(names.MERCHANTS)]}{short}店",
                credit_code=_credit_code(rng),
                place=community,
                contact_name=names.person_name(rng, rng.random() < 0.5),
                contact_phone=self.people.phone(),
                supervising_department="区市场监督管理局",
            )
            for index in range(built.spec.merchants)
        ]
        Organisation.objects.bulk_create(organisations + merchants)
        built.organisations, built.merchants = organisations, merchants
        self.count("organisation", len(organisations))
        self.count("merchant", len(merchants))

    # ------------------------------------------------------------ residents

    def _residents(self, built: CommunityBuilt) -> list[Resident]:
        rng = self.rng
        sizes = _household_sizes(rng, len(built.households), built.spec.residents)
        residents: list[Resident] = []
        for household, size in zip(built.households, sizes, strict=True):
            residents.extend(self.people.household(household.pk, size))
        if self.people.check_database:
            self._avoid_existing_id_cards(residents)
        Resident.objects.bulk_create(residents, batch_size=BATCH)
        tags = []
        by_household: dict[int, list[Resident]] = {}
        for resident in residents:
            by_household.setdefault(resident.household_id, []).append(resident)
        for members in by_household.values():
            head = members[0]
            if len(members) == 1 and _age(head) >= 65:
                tags.append(ResidentTag(resident=head, code=ResidentTagCode.ELDERLY_ALONE))
            if rng.random() < _TAG_RATES["low_income"]:
                tags.append(ResidentTag(resident=head, code=ResidentTagCode.LOW_INCOME))
        for resident in residents:
            if rng.random() < _TAG_RATES["disabled"]:
                tags.append(ResidentTag(resident=resident, code=ResidentTagCode.DISABLED))
            if resident.gender == Gender.MALE and _age(resident) >= 35 and rng.random() < _TAG_RATES["veteran"]:
                tags.append(ResidentTag(resident=resident, code=ResidentTagCode.VETERAN))
        ResidentTag.objects.bulk_create(tags, batch_size=BATCH)
        self.count("resident", len(residents))
        self.count("resident_tag", len(tags))
        return residents

    def _avoid_existing_id_cards(self, residents: list[Resident]) -> None:
        """Another data set in the same database may hold the same made-up numbers: draw those again."""
        for start in range(0, len(residents), 500):
            chunk = residents[start : start + 500]
            taken = set(
                Resident.objects.filter(id_card_digest__in=[r.id_card_digest for r in chunk]).values_list(
                    "id_card_digest", flat=True
                )
            )
            for resident in chunk:
                while resident.id_card_digest in taken:
                    number = self.people.id_card(resident.birth_date, resident.gender == Gender.MALE)
                    resident.id_card_ciphertext = encrypt_text(number)
                    resident.id_card_digest = blind_index(number)
                    resident.id_card_masked = mask_id_card(number)

    # ------------------------------------------------------------ party tree

    def _party(self, built: CommunityBuilt, residents: list[Resident]) -> None:
        rng, spec, community = self.rng, built.spec, built.community
        committee = PartyOrganisation(
            kind=PartyOrganisationKind.COMMITTEE, name=f"{community.name}党委", place=community
        )
        _insert_level(PartyOrganisation, [committee], root=True)
        branches = [
            PartyOrganisation(
                kind=PartyOrganisationKind.BRANCH, name=f"{compound.name}党支部", place=compound, parent=committee
            )
            for compound in built.compounds[: spec.branches]
        ]
        extra_branch_names = ["离退休党支部", "联合党支部", "流动党员党支部"]
        for index in range(spec.branches - len(branches)):
            name = extra_branch_names[index] if index < len(extra_branch_names) else f"第{index + 1}联合党支部"
            branches.append(
                PartyOrganisation(
                    kind=PartyOrganisationKind.BRANCH, name=f"{community.name}{name}", place=community, parent=committee
                )
            )
        _insert_level(PartyOrganisation, branches)
        branch_of_compound = {branch.place_id: branch for branch in branches if branch.place_id != community.pk}
        compound_of_building = {}
        for building in built.buildings:
            compound_id = int(building.path.strip("/").split("/")[3])  # district/street/community/compound/...
            compound_of_building[building.pk] = compound_id
        groups = [
            PartyOrganisation(
                kind=PartyOrganisationKind.GROUP,
                name=f"{building.name}党小组",
                place=building,
                parent=branch_of_compound.get(compound_of_building[building.pk], branches[0]),
            )
            for building in built.buildings
        ]
        _insert_level(PartyOrganisation, groups)
        group_of_building = {group.place_id: group for group in groups}
        # Members: adults, drawn at random; older members of communities with extra branches go there.
        household_entrance = {household.pk: household.parent_id for household in built.households}
        adults = [resident for resident in residents if _age(resident) >= 20]
        members = rng.sample(adults, min(spec.party_members, len(adults)))
        extra_branches = branches[len(built.compounds[: spec.branches]) :]
        memberships, members_of_group = [], {}
        employers = built.organisations or [None]
        for resident in members:
            age = _age(resident)
            building = self._building_of_entrance[household_entrance[resident.household_id]]
            group = group_of_building[building.pk]
            organisation = group
            if extra_branches and age >= 60 and rng.random() < 0.5:
                organisation = rng.choice(extra_branches)
            else:
                members_of_group.setdefault(group.pk, []).append(resident)
            in_service = 22 <= age < 60 and rng.random() < IN_SERVICE_SHARE / 0.6
            employer = rng.choice(employers) if in_service else None
            joined = resident.birth_date + timedelta(days=365 * rng.randint(18, max(18, min(age, 45))))
            memberships.append(
                PartyMembership(
                    resident=resident,
                    organisation=organisation,
                    joined_on=min(joined, REFERENCE_DATE),
                    is_in_service=in_service,
                    employer=employer,
                    employer_name=employer.name if employer else "",
                    registered_at_home_on=(
                        REFERENCE_DATE - timedelta(days=rng.randint(30, 900))
                        if in_service and rng.random() < DUAL_REGISTRATION_RATE
                        else None
                    ),
                )
            )
        PartyMembership.objects.bulk_create(memberships, batch_size=BATCH)
        # Party household leads: about two per building group (seed 001), from the group's members.
        leads = []
        for group in groups:
            candidates = members_of_group.get(group.pk, [])
            wanted = min(len(candidates), max(1, round(HOUSEHOLD_LEADS_PER_GROUP * rng.uniform(0.5, 1.2))))
            for resident in candidates[:wanted]:
                leads.append(
                    PartyOrganisation(
                        kind=PartyOrganisationKind.HOUSEHOLD_LEAD,
                        name=f"{resident.name}党员中心户",
                        place_id=resident.household_id,
                        parent=group,
                        leader=resident,
                    )
                )
        _insert_level(PartyOrganisation, leads)
        # Secretaries and group leads are members of their organisation.
        leaders: dict[int, Resident] = {}
        for membership in memberships:
            leaders.setdefault(membership.organisation.pk, membership.resident)
        for group in groups:
            candidates = members_of_group.get(group.pk)
            if candidates:
                group.leader = candidates[0]
        for branch in branches:
            branch_members = [
                m.resident
                for m in memberships
                if m.organisation.pk == branch.pk or m.organisation.parent_id == branch.pk
            ]
            branch.leader = branch_members[0] if branch_members else None
        committee.leader = next((branch.leader for branch in branches if branch.leader), None)
        PartyOrganisation.objects.bulk_update([committee, *branches, *groups], ["leader"], batch_size=500)
        built.committee = committee
        self.count("party_organisation", 1 + len(branches) + len(groups) + len(leads))
        self.count("party_branch", len(branches))
        self.count("party_group", len(groups))
        self.count("party_household_lead", len(leads))
        self.count("party_member", len(memberships))
        self.count("in_service_party_member", sum(1 for m in memberships if m.is_in_service))


def refresh_planner_statistics() -> None:
    """ANALYZE after a bulk load: with stale statistics PostgreSQL scans all residents for a grid's 30."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def build_district(spec: DistrictSpec, *, seed: int, log: Callable[[str], None] | None = None) -> DistrictBuilt:
    return DistrictBuilder(spec, seed=seed, log=log).build()


# ---------------------------------------------------------------- demo logins

DEMO_LOGINS = (
    "admin",
    "district",
    "street",
    "secretary",
    "reviewer",
    "gridworker",
    "buildinghead",
    "resident",
    "partymember",
    "merchant",
    "orgrep",
)


def _account(username: str, display_name: str, resident: Resident | None = None, **extra) -> Account:
    account = Account(username=username, display_name=display_name, resident=resident, **extra)
    account.set_password(DEMO_PASSWORD)
    account.save()
    return account


@transaction.atomic
def create_demo_logins(built: DistrictBuilt, *, seed: int) -> dict[str, Account]:
    """The eleven demo logins (password ``gongzhi-demo``), each with its role on the demo district."""
    rng = random.Random(seed + 1)
    main = built.communities[0]
    grid = main.grids_l1[0]
    building = Place.objects.filter(subtree_q(grid.path), kind=PlaceKind.BUILDING).order_by("path").first()
    in_building = Resident.objects.filter(subtree_q(building.path, "household__path"))
    householder = (
        in_building.filter(relation=Relation.HOUSEHOLDER, party_membership__isnull=True, account__isnull=True)
        .select_related("household")
        .order_by("id")
        .first()
    )
    member = (
        Resident.objects.filter(
            subtree_q(main.community.path, "household__path"),
            party_membership__is_in_service=True,
            account__isnull=True,
        )
        .exclude(household=householder.household)
        .select_related("household")
        .order_by("id")
        .first()
    )
    merchant = main.merchants[0]
    organisation = next(org for org in main.organisations if org.kind == OrganisationKind.SCHOOL)
    staff_name = lambda: names.person_name(rng, rng.random() < 0.5)  # noqa: E731
    accounts = {
        "admin": _account("admin", "系统管理员", is_superuser=True, is_staff=True),
        "district": _account("district", f"{staff_name()}（区管理员）", is_staff=True),
        "street": _account("street", f"{staff_name()}（街道管理员）", is_staff=True),
        "secretary": _account("secretary", f"{staff_name()}（社区书记）", is_staff=True),
        "reviewer": _account("reviewer", f"{staff_name()}（考评监督小组）"),
        "gridworker": _account("gridworker", f"{staff_name()}（网格员）"),
        "buildinghead": _account("buildinghead", f"{staff_name()}（楼栋长）"),
        "resident": _account("resident", householder.name, resident=householder),
        "partymember": _account("partymember", member.name, resident=member),
        "merchant": _account("merchant", f"{merchant.contact_name}（{merchant.name}）"),
        "orgrep": _account("orgrep", f"{organisation.contact_name}（{organisation.name}）"),
    }
    grants = [
        ("district", Role.DISTRICT_ADMIN, built.district, None),
        ("street", Role.STREET_ADMIN, built.streets[0], None),
        ("secretary", Role.COMMUNITY_SECRETARY, main.community, None),
        ("reviewer", Role.REVIEW_COMMITTEE_MEMBER, main.community, None),
        ("gridworker", Role.GRID_WORKER, grid, None),
        ("buildinghead", Role.BUILDING_HEAD, building, None),
        ("resident", Role.RESIDENT, householder.household, None),
        ("partymember", Role.RESIDENT, member.household, None),
        ("merchant", Role.MERCHANT_CLERK, merchant.place, merchant),
        ("orgrep", Role.ORGANISATION_REPRESENTATIVE, organisation.place, organisation),
    ]
    RoleAssignment.objects.bulk_create(
        [
            RoleAssignment(
                account=accounts[username], role=role, place=place, organisation=org, starts_on=REFERENCE_DATE
            )
            for username, role, place, org in grants
        ]
    )
    return accounts
