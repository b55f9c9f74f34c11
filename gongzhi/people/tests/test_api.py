"""Residents and 'me' through the API, with the access rule enforced."""

from __future__ import annotations

import re

import pytest

from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
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


def test_resident_list_filters_and_pagination(api_client_for, tree, resident_a1):
    from gongzhi.people.models import ResidentTag
    from gongzhi.people.tests.factories import ResidentFactory

    ResidentTag.objects.create(resident=resident_a1, code="elderly_alone")
    for _index in range(3):
        ResidentFactory(household=tree["household_a1b"])
    secretary = account_with_role(Role.COMMUNITY_SECRETARY, tree["community_a"])
    api = api_client_for(secretary)
    page = api.get("/api/v1/residents", {"page_size": 2, "page": 2}).json()
    assert (page["count"], page["page"], len(page["results"])) == (4, 2, 2)
    tagged = api.get("/api/v1/residents", {"tag": "elderly_alone"}).json()
    assert [row["id"] for row in tagged["results"]] == [resident_a1.pk]
    by_place = api.get("/api/v1/residents", {"place": tree["household_a1b"].pk}).json()
    assert by_place["count"] == 3
    assert api.get("/api/v1/residents", {"place": tree["household_b1"].pk}).status_code == 404


def test_resident_list_query_count_does_not_grow_with_rows(api_client_for, tree, django_assert_num_queries):
    from gongzhi.people.tests.factories import ResidentFactory

    for _index in range(20):
        ResidentFactory(household=tree["household_a1"])
    secretary = account_with_role(Role.COMMUNITY_SECRETARY, tree["community_a"])
    api = api_client_for(secretary)
    # token lookup, token first-use touch, roles, count, page, tags prefetch: the same for 20 rows or 2,000
    with django_assert_num_queries(6):
        response = api.get("/api/v1/residents")
    assert len(response.json()["results"]) == 20


def test_bad_query_parameters_are_422(api_client_for, grid_worker_a1):
    response = api_client_for(grid_worker_a1).get("/api/v1/residents", {"page": 0, "page_size": "many"})
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"page", "page_size"}


def test_token_endpoint_validates_body(client):
    response = client.post("/api/v1/auth/token", {"username": "x"}, content_type="application/json")
    assert response.status_code == 422
    fields = response.json()["fields"]
    assert list(fields) == ["password"]
    assert re.search("[\u4e00-\u9fff]", fields["password"][0])


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ("{broken", "application/json", 400, "malformed_request"),
        ("username=a&password=b", "application/x-www-form-urlencoded", 400, "malformed_request"),
        ('{"username": 5, "password": null}', "application/json", 422, "validation_failed"),
    ],
)
def test_malformed_bodies_get_the_error_shape_and_change_nothing(client, body, content_type, status, code):
    from gongzhi.core.models import AuditEntry

    response = client.post("/api/v1/auth/token", body, content_type=content_type)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert not AuditEntry.objects.exists()
