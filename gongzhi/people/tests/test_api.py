"""Residents and 'me' through the API, with the access rule enforced."""

from __future__ import annotations

import pytest

from gongzhi.core.models import AuditEntry
from gongzhi.people.roles import Role
from gongzhi.people.tests.factories import PASSWORD, account_with_role

pytestmark = pytest.mark.django_db


def test_token_and_me(client, tree, grid_worker_a1):
    response = client.post(
        "/api/v1/auth/token", {"username": "grid_a1", "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    body = me.json()
    assert body["username"] == "grid_a1"
    assert [(role["role"], role["place_id"]) for role in body["roles"]] == [(Role.GRID_WORKER, tree["grid_a1"].pk)]


def test_wrong_password_has_error_shape(client, grid_worker_a1):
    response = client.post(
        "/api/v1/auth/token", {"username": "grid_a1", "password": "nope"}, content_type="application/json"
    )
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "invalid_credentials"
    assert set(body) == {"code", "message", "fields"}


def test_missing_token_is_401(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_grid_worker_cannot_see_resident_of_other_grid(api_client_for, grid_worker_a1, resident_a1, resident_a2):
    api = api_client_for(grid_worker_a1)
    assert api.get(f"/api/v1/residents/{resident_a1.pk}").status_code == 200
    other = api.get(f"/api/v1/residents/{resident_a2.pk}")
    missing = api.get("/api/v1/residents/999999")
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()


def test_resident_list_is_scoped_and_masked(api_client_for, grid_worker_a1, resident_a1, resident_a2, resident_b1):
    body = api_client_for(grid_worker_a1).get("/api/v1/residents").json()
    assert [row["id"] for row in body["results"]] == [resident_a1.pk]
    row = body["results"][0]
    assert "*" in row["id_card_masked"] and "*" in row["phone_masked"]
    assert len(row["id_card_masked"]) == 18


def test_reveal_needs_purpose_and_is_audited(api_client_for, grid_worker_a1, resident_a1):
    api = api_client_for(grid_worker_a1)
    refused = api.post(f"/api/v1/residents/{resident_a1.pk}/reveal", {"purpose": ""})
    assert refused.status_code == 422
    assert not AuditEntry.objects.filter(action="resident.reveal").exists()
    allowed = api.post(f"/api/v1/residents/{resident_a1.pk}/reveal", {"purpose": "办理低保复核"})
    assert allowed.status_code == 200
    assert "*" not in allowed.json()["id_card_number"]
    entry = AuditEntry.objects.get(action="resident.reveal")
    assert entry.purpose == "办理低保复核" and entry.actor_id == grid_worker_a1.pk


def test_resident_sees_only_own_household(api_client_for, tree, resident_a1, resident_a2):
    account = account_with_role(Role.RESIDENT, tree["household_a1"], username="res1")
    body = api_client_for(account).get("/api/v1/residents").json()
    assert [row["id"] for row in body["results"]] == [resident_a1.pk]
    assert api_client_for(account).get(f"/api/v1/residents/{resident_a2.pk}").status_code == 404
