"""The demo district: the seeds' figures, the shape of the tree, the logins, idempotency, deterministic seeds."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import transaction

from gongzhi.core.access import roles_of
from gongzhi.core.crypto import decrypt_text
from gongzhi.core.roles import Role
from gongzhi.core.tree import subtree_q
from gongzhi.demo import load_demo
from gongzhi.demo.district import DEMO_LOGINS, DEMO_PASSWORD
from gongzhi.demo.figures import (
    MAIN_BUILDINGS,
    MAIN_COMPOUNDS,
    MAIN_GRIDS,
    MAIN_HOUSEHOLDS,
    main_community,
    proportional,
    seed_district,
    spread,
)
from gongzhi.people.models import (
    Account,
    PartyMembership,
    PartyOrganisation,
    Resident,
    ResidentTag,
    RoleAssignment,
)
from gongzhi.people.services import id_card_is_valid
from gongzhi.places.models import ALLOWED_PARENTS, Place, PlaceKind

SMALL = 0.05


def test_seed_002_figures_add_up():
    spec = main_community()
    assert (spec.households, spec.residents, spec.buildings, spec.compounds) == (2436, 5155, 44, 3)
    assert spec.grids == MAIN_GRIDS == (8, 44, 181)
    layout = spec.layout()
    assert layout == [[5, 5, 5], [5, 5, 5], [7, 7]]
    assert sum(len(grids) for grids in layout) == 8 and sum(map(sum, layout)) == MAIN_BUILDINGS
    assert len(layout) == MAIN_COMPOUNDS
    assert sum(spec.entrances_per_building()) == 181 and len(spec.entrances_per_building()) == 44
    assert sum(spec.households_per_entrance()) == MAIN_HOUSEHOLDS
    assert spread(10, 3) == [4, 3, 3] and proportional(8, [15, 15, 14]) == [3, 3, 2]
    big = seed_district(100_000, seed=1)
    assert big.households == 100_000 and 2.0 < big.residents / big.households < 2.2


@pytest.mark.django_db
def test_small_demo_has_the_right_shape_and_logins():
    ran = load_demo(scale=SMALL)
    counts = ran["gongzhi.demo.steps_district"]
    district = Place.objects.get(kind=PlaceKind.DISTRICT, code="DEMO")
    assert district.name == "示范区" and district.path == f"/{district.pk}/"
    assert Place.objects.filter(kind=PlaceKind.STREET).count() == 2
    assert Place.objects.filter(kind=PlaceKind.COMMUNITY).count() == 5
    assert counts["household"] == Place.objects.filter(kind=PlaceKind.HOUSEHOLD).count()
    assert counts["resident"] == Resident.objects.count()
    # Every place obeys the tree: allowed parent, path = parent's path + own id, depth, grid levels.
    parents = {place.pk: place for place in Place.objects.all()}
    for place in parents.values():
        parent = parents.get(place.parent_id)
        assert (parent.kind if parent else None) in ALLOWED_PARENTS[place.kind]
        assert place.path == f"{parent.path if parent else '/'}{place.pk}/"
        assert place.depth == (parent.depth + 1 if parent else 0)
        if place.kind == PlaceKind.GRID:
            above = [parents[int(i)] for i in place.path.strip("/").split("/")[:-1]]
            assert place.grid_level == 1 + sum(1 for node in above if node.kind == PlaceKind.GRID)
    # Residents: valid encrypted ID card numbers, masked, unique; every household has someone.
    resident = Resident.objects.order_by("id").first()
    number = decrypt_text(resident.id_card_ciphertext)
    assert id_card_is_valid(number) and resident.id_card_masked == number[:3] + "*" * 11 + number[-4:]
    assert Resident.objects.values("household").distinct().count() == counts["household"]
    assert ResidentTag.objects.exists()
    # The party tree shadows the places.
    for organisation in PartyOrganisation.objects.select_related("parent"):
        expected = f"{organisation.parent.path if organisation.parent else '/'}{organisation.pk}/"
        assert organisation.path == expected
    assert PartyMembership.objects.count() == counts["party_member"] > 0
    # The demo logins.
    for username in DEMO_LOGINS:
        account = authenticate(username=username, password=DEMO_PASSWORD)
        assert account is not None, username
        assert account.display_name
    expected = {
        "district": Role.DISTRICT_ADMIN,
        "street": Role.STREET_ADMIN,
        "secretary": Role.COMMUNITY_SECRETARY,
        "reviewer": Role.REVIEW_COMMITTEE_MEMBER,
        "gridworker": Role.GRID_WORKER,
        "buildinghead": Role.BUILDING_HEAD,
        "resident": Role.RESIDENT,
        "partymember": Role.RESIDENT,
        "merchant": Role.MERCHANT_CLERK,
        "orgrep": Role.ORGANISATION_REPRESENTATIVE,
    }
    for username, role in expected.items():
        assert roles_of(Account.objects.get(username=username)) == {role}, username
    assert Account.objects.get(username="admin").is_superuser
    resident = Account.objects.get(username="resident")
    assert RoleAssignment.objects.get(account=resident).place_id == resident.resident.household_id
    member = Account.objects.get(username="partymember")
    assert member.resident.party_membership.is_in_service
    assert RoleAssignment.objects.get(account=member).place_id == member.resident.household_id
    grid = RoleAssignment.objects.get(account__username="gridworker").place
    building = RoleAssignment.objects.get(account__username="buildinghead").place
    assert grid.kind == PlaceKind.GRID and building.kind == PlaceKind.BUILDING
    assert building.path.startswith(grid.path)
    assert resident.resident.household.path.startswith(building.path)
    merchant = RoleAssignment.objects.get(account__username="merchant").organisation
    assert merchant.kind == "merchant"


@pytest.mark.django_db
def test_loading_twice_creates_nothing_new():
    load_demo(scale=SMALL)
    counts = (Place.objects.count(), Resident.objects.count(), Account.objects.count())
    assert load_demo(scale=SMALL) == {}
    assert (Place.objects.count(), Resident.objects.count(), Account.objects.count()) == counts


@pytest.mark.django_db
def test_full_main_community_matches_seed_002(monkeypatch):
    import gongzhi.demo as demo

    monkeypatch.setattr(demo, "STEPS", ["gongzhi.demo.steps_district"])  # the places and people are what counts here
    load_demo(scale=1.0)
    community = Place.objects.get(kind=PlaceKind.COMMUNITY, name="卓越社区")
    inside = Place.objects.filter(subtree_q(community.path))
    grids = [inside.filter(kind=PlaceKind.GRID, grid_level=level).count() for level in (1, 2, 3)]
    assert grids == [8, 44, 181]
    assert inside.filter(kind=PlaceKind.BUILDING).count() == 44
    assert inside.filter(kind=PlaceKind.COMPOUND).count() == 3
    assert inside.filter(kind=PlaceKind.HOUSEHOLD).count() == 2436
    assert Resident.objects.filter(subtree_q(community.path, "household__path")).count() == 5155
    committee = PartyOrganisation.objects.get(place=community, kind="committee")
    party = PartyOrganisation.objects.filter(subtree_q(committee.path))
    assert party.filter(kind="branch").count() == 4
    assert party.filter(kind="group").count() == 44
    assert party.filter(kind="household_lead").exists()
    assert PartyMembership.objects.filter(subtree_q(committee.path, "organisation__path")).count() == 152


class _Rollback(Exception):
    pass


def _seed_snapshot(seed: int) -> tuple:
    out = StringIO()
    try:
        with transaction.atomic():
            call_command("seed", households=150, seed=seed, stdout=out)
            snapshot = (
                list(Place.objects.order_by("path").values_list("kind", "name", "depth")),
                list(Resident.objects.order_by("id").values_list("name", "id_card_masked", "phone", "relation")),
                out.getvalue().splitlines()[:-1],  # all but the timing line
            )
            raise _Rollback
    except _Rollback:
        return snapshot


@pytest.mark.django_db
def test_seed_is_deterministic():
    first, second, other = _seed_snapshot(7), _seed_snapshot(7), _seed_snapshot(8)
    assert first == second
    assert first[1] != other[1]
    assert len(first[1]) > 150 and sum(1 for kind, *_ in first[0] if kind == "household") == 150
    call_command("seed", households=40, seed=3, stdout=StringIO())
    with pytest.raises(CommandError):  # the same seed twice in one database
        call_command("seed", households=40, seed=3, stdout=StringIO())
