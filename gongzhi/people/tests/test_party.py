"""The party tree shadows the places: committee → branch → building group → household lead."""

from __future__ import annotations

import pytest

from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.roles import Role
from gongzhi.people.models import PartyMembership, PartyOrganisation, PartyOrganisationKind
from gongzhi.people.selectors import party_counts
from gongzhi.people.services import party_membership_set, party_organisation_create
from gongzhi.people.tests.factories import account_with_role
from gongzhi.places.tests.factories import superuser

pytestmark = pytest.mark.django_db
Kind = PartyOrganisationKind


@pytest.fixture
def party_tree(tree, resident_a1):
    actor = superuser()
    committee = party_organisation_create(
        actor=actor, kind=Kind.COMMITTEE, name="和平社区党委", place=tree["community_a"]
    )
    branch = party_organisation_create(
        actor=actor, kind=Kind.BRANCH, name="第一网格党支部", place=tree["grid_a1"], parent=committee
    )
    group = party_organisation_create(
        actor=actor, kind=Kind.GROUP, name="1号楼党小组", place=tree["building_a1"], parent=branch
    )
    lead = party_organisation_create(
        actor=actor,
        kind=Kind.HOUSEHOLD_LEAD,
        name="101党员中心户",
        place=tree["household_a1"],
        parent=group,
        leader=resident_a1,
    )
    return {"committee": committee, "branch": branch, "group": group, "lead": lead}


def test_four_levels_with_paths(party_tree):
    lead = party_tree["lead"]
    assert (
        lead.path == "/" + "/".join(str(party_tree[key].pk) for key in ("committee", "branch", "group", "lead")) + "/"
    )


def test_branch_must_serve_a_place_inside_its_committee(tree, party_tree):
    with pytest.raises(ValidationFailed) as error:
        party_organisation_create(
            actor=superuser(), kind=Kind.BRANCH, name="错位支部", place=tree["grid_b1"], parent=party_tree["committee"]
        )
    assert "place" in error.value.fields
    with pytest.raises(ValidationFailed) as error:
        party_organisation_create(
            actor=superuser(), kind=Kind.GROUP, name="越级", place=tree["building_a1"], parent=party_tree["committee"]
        )
    assert "parent" in error.value.fields
    assert PartyOrganisation.objects.count() == 4


def test_grid_worker_cannot_create_party_organisations(tree, party_tree):
    worker = account_with_role(Role.GRID_WORKER, tree["grid_a1"])
    with pytest.raises(NotFound):
        party_organisation_create(
            actor=worker, kind=Kind.GROUP, name="x", place=tree["building_a1"], parent=party_tree["branch"]
        )


def test_membership_and_counts(tree, party_tree, resident_a1, resident_a2):
    party_membership_set(actor=superuser(), resident=resident_a1, organisation=party_tree["branch"], is_in_service=True)
    party_membership_set(actor=superuser(), resident=resident_a1, organisation=party_tree["group"])
    assert PartyMembership.objects.get(resident=resident_a1).organisation == party_tree["group"]
    counts = party_counts(superuser(), tree["community_a"])
    assert counts == {
        "committee": 1,
        "branch": 1,
        "group": 1,
        "household_lead": 1,
        "members": 1,
        "in_service_members": 0,
    }
    # A grid worker of grid A2 sees none of grid A1's party organisation.
    worker = account_with_role(Role.GRID_WORKER, tree["grid_a2"])
    assert party_counts(worker, tree["grid_a2"])["branch"] == 0
