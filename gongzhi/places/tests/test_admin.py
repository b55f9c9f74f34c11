"""The admin applies the same access rule: staff see their subtree; changes go through the services."""

from __future__ import annotations

import pytest

from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
from gongzhi.people.models import RoleAssignment
from gongzhi.people.tests.factories import AccountFactory
from gongzhi.places.models import Place, PlaceChange

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree(world):
    return world


@pytest.fixture
def secretary_client(client, world):
    client.force_login(world["secretary"])
    client.secretary = world["secretary"]
    return client


def test_changelist_shows_only_the_subtree(secretary_client, tree):
    response = secretary_client.get("/admin/places/place/")
    assert response.status_code == 200
    shown = {place.pk for place in response.context["cl"].result_list}
    assert tree["grid_a1"].pk in shown and tree["grid_b1"].pk not in shown and tree["street"].pk not in shown


def test_out_of_reach_place_cannot_be_opened(secretary_client, tree):
    response = secretary_client.get(f"/admin/places/place/{tree['grid_b1'].pk}/change/")
    assert response.status_code == 302  # the admin's "does not exist" redirect, same as for a missing id
    missing = secretary_client.get("/admin/places/place/999999/change/")
    assert missing.status_code == 302 and missing.url == response.url


def test_rename_in_admin_goes_through_the_service(secretary_client, tree):
    grid = tree["grid_a1"]
    response = secretary_client.post(
        f"/admin/places/place/{grid.pk}/change/",
        {
            "name": "红旗网格",
            "code": "",
            "parent": tree["community_a"].pk,
            "address": "",
            "changes-TOTAL_FORMS": "0",
            "changes-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert Place.objects.get(pk=grid.pk).name == "红旗网格"
    assert PlaceChange.objects.filter(place=grid, action="rename").exists()
    assert AuditEntry.objects.filter(action="place.rename", actor=secretary_client.secretary).exists()


def test_moving_out_of_reach_shows_an_error_and_changes_nothing(secretary_client, tree):
    building = tree["building_a1"]
    response = secretary_client.post(
        f"/admin/places/place/{building.pk}/change/",
        {
            "name": building.name,
            "code": "",
            "parent": tree["grid_b1"].pk,
            "address": "",
            "changes-TOTAL_FORMS": "0",
            "changes-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors
    assert Place.objects.get(pk=building.pk).parent_id == tree["grid_a1"].pk


def test_role_grant_in_admin_checks_rank(secretary_client, tree):
    worker = AccountFactory()
    response = secretary_client.post(
        "/admin/people/roleassignment/add/",
        {
            "account": worker.pk,
            "role": Role.COMMUNITY_SECRETARY,
            "place": tree["community_a"].pk,
            "starts_on": "2026-01-01",
        },
    )
    assert response.status_code == 200
    assert not RoleAssignment.objects.filter(account=worker).exists()
    response = secretary_client.post(
        "/admin/people/roleassignment/add/",
        {"account": worker.pk, "role": Role.GRID_WORKER, "place": tree["grid_a1"].pk, "starts_on": "2026-01-01"},
    )
    assert response.status_code == 302
    assert RoleAssignment.objects.get(account=worker).granted_by == secretary_client.secretary


def test_resident_admin_is_masked_and_scoped(secretary_client, resident_a1, resident_b1):
    response = secretary_client.get("/admin/people/resident/")
    content = response.content.decode()
    assert resident_a1.id_card_masked in content and resident_a1.phone not in content
    assert resident_b1.name not in content
