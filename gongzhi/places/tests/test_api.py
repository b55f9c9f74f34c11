"""Places through the API: detail with counts, children, 404 alike for missing and out of reach."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db
CHINESE = re.compile("[\u4e00-\u9fff]")


def test_place_detail_and_children(api_client_for, tree, grid_worker_a1):
    api = api_client_for(grid_worker_a1)
    body = api.get(f"/api/v1/places/{tree['grid_a1'].pk}").json()
    assert body["kind"] == "grid" and body["grid_level"] == 1
    assert body["counts"]["household"] == 2
    # The worker sees no ancestors above their grid (community and street are out of reach).
    assert body["ancestors"] == []
    children = api.get(f"/api/v1/places/{tree['grid_a1'].pk}/children").json()
    assert [child["name"] for child in children] == ["1号楼"]
    assert children[0]["child_count"] == 1


def test_out_of_reach_place_is_not_found(api_client_for, tree, grid_worker_a1):
    api = api_client_for(grid_worker_a1)
    for place_id in (tree["grid_b1"].pk, tree["community_a"].pk, 999999):
        response = api.get(f"/api/v1/places/{place_id}")
        assert response.status_code == 404
        body = response.json()
        assert (body["code"], body["fields"]) == ("not_found", {})
        assert CHINESE.search(body["message"]), "messages are in Chinese by default"
    assert api.get(f"/api/v1/places/{tree['grid_b1'].pk}/children").status_code == 404


def test_bad_path_parameter_has_error_shape(api_client_for, grid_worker_a1):
    response = api_client_for(grid_worker_a1).get("/api/v1/places/abc")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert "place_id" in response.json()["fields"]


def test_openapi_docs_and_healthz(client):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/auth/token", "/api/v1/me", "/api/v1/places/{place_id}", "/api/v1/residents"} <= set(paths)
    assert client.get("/api/v1/docs").status_code == 200
    assert client.get("/healthz").json() == {"status": "ok"}
