"""The demo district's figures, taken from the work reports in shared/seeds/, and the arithmetic that shapes them.

Seed 002 (the main community): 3 compounds, 44 residential buildings, 2,436 households, 5,155 residents; grids
8 (level 1) / 44 (level 2) / 181 (level 3); a party committee with 4 branches and 152 party members; 22 volunteer
teams. Seed 001: about 150 households per grid, and about two party household leads per building party group
(748 leads for 356 groups). Seed 004: 3,218 of 3,747 in-service party members reported to their home community.

The shape of a community's place tree (``gongzhi.places.models.ALLOWED_PARENTS``)::

    community → compound → grid L1 → grid L2 (one per building) → building → grid L3 → entrance → household

so level-2 grids equal buildings (44 = 44 in seed 002) and each level-3 grid holds one entrance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Seed 002, the main community.
MAIN_HOUSEHOLDS = 2436
MAIN_RESIDENTS = 5155
MAIN_BUILDINGS = 44
MAIN_COMPOUNDS = 3
MAIN_GRIDS = (8, 44, 181)
MAIN_BRANCHES = 4
MAIN_PARTY_MEMBERS = 152
RESIDENTS_PER_HOUSEHOLD = MAIN_RESIDENTS / MAIN_HOUSEHOLDS  # 2.116
# Seed 001: 748 party household leads for 356 building party groups.
HOUSEHOLD_LEADS_PER_GROUP = 748 / 356
# Seed 004: 3,218 of 3,747 in-service party members reported (85.9 %); about a third of members are in service.
IN_SERVICE_SHARE = 0.35
DUAL_REGISTRATION_RATE = 3218 / 3747


def spread(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` whole numbers differing by at most one, larger first."""
    if parts <= 0:
        raise ValueError("parts must be positive")
    base, extra = divmod(total, parts)
    return [base + 1] * extra + [base] * (parts - extra)


def proportional(total: int, weights: list[int], minimum: int = 1) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainders), each share at least ``minimum``
    and at most its weight."""
    if total < minimum * len(weights) or total > sum(weights):
        raise ValueError(f"cannot split {total} over {weights}")
    weight_sum = sum(weights)
    exact = [total * weight / weight_sum for weight in weights]
    shares = [min(weight, max(minimum, math.floor(value))) for weight, value in zip(weights, exact, strict=True)]
    order = sorted(range(len(weights)), key=lambda i: (exact[i] - math.floor(exact[i]), weights[i]), reverse=True)
    while sum(shares) < total:
        for i in order:
            if sum(shares) < total and shares[i] < weights[i]:
                shares[i] += 1
    while sum(shares) > total:
        for i in reversed(order):
            if sum(shares) > total and shares[i] > minimum:
                shares[i] -= 1
    return shares


@dataclass(frozen=True)
class CommunitySpec:
    name: str
    code: str
    households: int
    residents: int
    compounds: int
    buildings: int
    grids_l1: int
    grids_l3: int
    branches: int
    party_members: int
    compound_names: tuple[str, ...] = ()
    organisations: int = 6
    merchants: int = 4

    @property
    def grids(self) -> tuple[int, int, int]:
        return (self.grids_l1, self.buildings, self.grids_l3)

    def check(self) -> None:
        if not (
            1 <= self.compounds <= self.grids_l1 <= self.buildings <= self.grids_l3 <= self.households <= self.residents
        ):
            raise ValueError(f"{self.name}: compounds ≤ grids L1 ≤ buildings ≤ grids L3 ≤ households ≤ residents")
        if self.branches < 1 or self.party_members > self.residents:
            raise ValueError(f"{self.name}: needs a branch and no more party members than residents")

    def layout(self) -> list[list[int]]:
        """Buildings per level-1 grid, grouped by compound: [[5, 5, 5], [5, 5, 5], [7, 7]] for seed 002."""
        per_compound = spread(self.buildings, self.compounds)
        grids_per_compound = proportional(self.grids_l1, per_compound)
        return [spread(buildings, grids) for buildings, grids in zip(per_compound, grids_per_compound, strict=True)]

    def entrances_per_building(self) -> list[int]:
        return spread(self.grids_l3, self.buildings)

    def households_per_entrance(self) -> list[int]:
        return spread(self.households, self.grids_l3)


def scaled_community(
    name: str, code: str, households: int, *, compound_names: tuple[str, ...] = (), organisations: int = 6
) -> CommunitySpec:
    """A community of ``households`` households shaped like seed 002's (same ratios, at least one of each)."""
    ratio = households / MAIN_HOUSEHOLDS
    residents = max(households, round(households * RESIDENTS_PER_HOUSEHOLD))
    buildings = max(1, round(MAIN_BUILDINGS * ratio))
    grids_l3 = min(households, max(buildings, round(MAIN_GRIDS[2] * ratio)))
    compounds = min(buildings, max(1, round(MAIN_COMPOUNDS * ratio)))
    grids_l1 = min(buildings, max(compounds, round(MAIN_GRIDS[0] * ratio)))
    spec = CommunitySpec(
        name=name,
        code=code,
        households=households,
        residents=residents,
        compounds=compounds,
        buildings=buildings,
        grids_l1=grids_l1,
        grids_l3=grids_l3,
        branches=compounds + 1,
        party_members=max(1, round(MAIN_PARTY_MEMBERS * residents / MAIN_RESIDENTS)),
        compound_names=compound_names,
        organisations=organisations,
        merchants=max(1, min(6, round(4 * ratio) or 1)),
    )
    spec.check()
    return spec


@dataclass(frozen=True)
class StreetSpec:
    name: str
    code: str
    communities: tuple[CommunitySpec, ...]


@dataclass(frozen=True)
class DistrictSpec:
    name: str
    code: str
    streets: tuple[StreetSpec, ...]
    region_codes: tuple[str, ...] = field(default=("410102", "410103", "410104", "410105", "411602", "411621"))

    @property
    def communities(self) -> list[CommunitySpec]:
        return [community for street in self.streets for community in street.communities]

    @property
    def households(self) -> int:
        return sum(community.households for community in self.communities)

    @property
    def residents(self) -> int:
        return sum(community.residents for community in self.communities)


DEMO_DISTRICT_NAME = "示范区"
DEMO_DISTRICT_CODE = "DEMO"
MAIN_COMMUNITY_NAME = "卓越社区"
MAIN_COMPOUNDS_NAMES = ("卓越小区", "锦华家园", "和谐苑")


def main_community(scale: float = 1.0) -> CommunitySpec:
    """Seed 002's community; ``scale`` < 1 shrinks it for fast tests, keeping its shape."""
    if scale >= 1:
        spec = CommunitySpec(
            name=MAIN_COMMUNITY_NAME,
            code="DEMO-01-01",
            households=MAIN_HOUSEHOLDS,
            residents=MAIN_RESIDENTS,
            compounds=MAIN_COMPOUNDS,
            buildings=MAIN_BUILDINGS,
            grids_l1=MAIN_GRIDS[0],
            grids_l3=MAIN_GRIDS[2],
            branches=MAIN_BRANCHES,
            party_members=MAIN_PARTY_MEMBERS,
            compound_names=MAIN_COMPOUNDS_NAMES,
            organisations=10,
            merchants=6,
        )
        spec.check()
        return spec
    return scaled_community(
        MAIN_COMMUNITY_NAME,
        "DEMO-01-01",
        max(12, round(MAIN_HOUSEHOLDS * scale)),
        compound_names=MAIN_COMPOUNDS_NAMES,
        organisations=6,
    )


# The other communities of the demo district (households), smaller than the main one.
_OTHER_COMMUNITIES = (
    ("东风街道", (("高庄社区", 1180), ("兴业社区", 860))),
    ("人民路街道", (("联盟新城社区", 1420), ("建设家园社区", 640))),
)


def demo_district(scale: float = 1.0) -> DistrictSpec:
    streets = []
    for street_number, (street_name, others) in enumerate(_OTHER_COMMUNITIES, start=1):
        communities = [main_community(scale)] if street_number == 1 else []
        for name, households in others:
            number = len(communities) + 1
            code = f"DEMO-{street_number:02d}-{number:02d}"
            communities.append(scaled_community(name, code, max(8, round(households * scale)), organisations=4))
        streets.append(StreetSpec(name=street_name, code=f"DEMO-{street_number:02d}", communities=tuple(communities)))
    return DistrictSpec(name=DEMO_DISTRICT_NAME, code=DEMO_DISTRICT_CODE, streets=tuple(streets))


STREET_NAMES = ("东风街道", "人民路街道", "七一路街道", "小桥街道", "城北街道", "城南街道", "搬口街道", "华耀城街道")
COMMUNITY_NAMES = (
    "高庄", "兴业", "联盟新城", "建设家园", "贾鲁家园", "锦华", "和平", "幸福", "团结", "光明", "新华", "朝阳",
    "红旗", "育才", "文昌", "五一", "向阳", "安居", "康宁", "春晖",
)  # fmt: skip


def seed_district(households: int, seed: int, streets: int | None = None) -> DistrictSpec:
    """A large district for benchmarks: communities of about seed 002's size (2,436 households each)."""
    if households < 1:
        raise ValueError("households must be positive")
    community_count = max(1, round(households / MAIN_HOUSEHOLDS))
    street_count = streets or max(1, math.ceil(community_count / 10))
    street_count = min(street_count, community_count)
    sizes = spread(households, community_count)
    per_street = spread(community_count, street_count)
    code = f"SEED-{seed}"
    street_specs, index = [], 0
    for street_number, count in enumerate(per_street, start=1):
        communities = []
        for _ in range(count):
            base = COMMUNITY_NAMES[index % len(COMMUNITY_NAMES)]
            round_number = index // len(COMMUNITY_NAMES)
            name = f"{base}社区" if round_number == 0 else f"{base}{round_number + 1}社区"
            communities.append(
                scaled_community(name, f"{code}-{street_number:02d}-{len(communities) + 1:02d}", sizes[index])
            )
            index += 1
        street_name = STREET_NAMES[(street_number - 1) % len(STREET_NAMES)]
        if street_number > len(STREET_NAMES):
            street_name = f"{street_name[:-2]}{street_number // len(STREET_NAMES) + 1}街道"
        street_specs.append(
            StreetSpec(name=street_name, code=f"{code}-{street_number:02d}", communities=tuple(communities))
        )
    return DistrictSpec(name=f"基准区{seed}", code=code, streets=tuple(street_specs))
