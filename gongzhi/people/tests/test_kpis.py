"""People and party figures against the people tests' world, counted by hand."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from gongzhi.core.figures import Period
from gongzhi.core.roles import Role
from gongzhi.people.kpis import people_figures
from gongzhi.people.models import RoleAssignment
from gongzhi.people.party import PartyMembershipInput, party_membership_add
from gongzhi.people.tests.factories import ResidentFactory, make_id_card_number


def unique_id_card(number: int) -> str:
    """A valid number (check digit included) for each of up to 12,000 residents."""
    return make_id_card_number(birth=f"1990{1 + number // 1000:02d}01", serial=number)


def _this_month() -> Period:
    today = timezone.localdate()
    return Period.month(today.year, today.month)


def test_people_figures_by_hand(world):
    now = timezone.now()
    party_membership_add(
        actor=world.admin,
        resident=world.zhang,
        data=PartyMembershipInput(organisation=world.group, is_in_service=True, employer=world.employer),
        now=now,
    )
    party_membership_add(
        actor=world.admin, resident=world.li, data=PartyMembershipInput(organisation=world.committee), now=now
    )
    RoleAssignment.objects.create(account=world.grid_worker, role=Role.BUILDING_HEAD, place=world.tree["building_a1"])

    figures = people_figures(world.tree["community_a"], _this_month())
    assert (figures.residents, figures.households_with_residents) == (2, 2)
    assert figures.party_organisations == {"committee": 1, "branch": 1, "group": 1, "household_lead": 1}
    assert (figures.party_members, figures.party_members_in_service) == (2, 1)
    assert figures.staff_by_role["grid_worker"] == 1 and figures.staff_by_role["building_head"] == 1
    assert figures.community_workers == 2  # the secretary and the worker
    assert figures.community_workers_per_10000 == Decimal("10000.0")
    assert figures.people_in_several_roles == 1
    district = people_figures(world.tree["district"], _this_month())
    assert (district.residents, district.community_workers, district.people_in_several_roles) == (3, 3, 1)
    assert district.party_organisations["committee"] == 2 and district.party_organisations["branch"] == 2


def test_the_worker_standard_per_ten_thousand_residents(world):
    for number in range(1110):
        ResidentFactory(household=world.tree["household_b1"], id_card_number=unique_id_card(number))
    figures = people_figures(world.tree["community_b"], _this_month())
    # 1 worker for 1,111 residents: 9.0 per 10,000, below the standard of 18.
    assert figures.community_workers_per_10000 == Decimal("9.0")
    assert figures.meets_worker_standard is False
    assert figures.as_dict()["community_workers_per_10000"] == "9.0"


def test_a_place_without_residents_shows_a_dash(world):
    figures = people_figures(world.tree["household_a1b"], _this_month())
    assert figures.community_workers_per_10000 is None
    assert figures.meets_worker_standard is None
