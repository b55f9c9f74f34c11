"""Party members through the API: list (scoped, masked, paginated), register, change, end; refusals change nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from gongzhi.core.models import AuditEntry
from gongzhi.core.testing import assert_refused
from gongzhi.people.models import PartyMembership
from gongzhi.people.party import PartyMembershipInput, party_membership_add
from gongzhi.people.tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _member(world, resident, organisation=None, **extra):
    from django.utils import timezone

    data = PartyMembershipInput(organisation=organisation or world.branch, **extra)
    return party_membership_add(actor=world.admin, resident=resident, data=data, now=timezone.now())


def _warm(api):
    """The client with its token's first use recorded, so a refused call's snapshot sees only what it did."""
    api.get("/api/v1/me")
    return api


def _put(api, path, payload):
    return api.client.put(path, payload, content_type="application/json", headers=api.headers)


def test_list_is_scoped_masked_and_paginated(world, api_client_for):
    _member(world, world.zhang, joined_on=date(2005, 7, 1), is_in_service=True, employer=world.employer)
    _member(world, world.li, world.lead)
    _member(world, world.wang, world.branch_b)

    body = api_client_for(world.worker).get("/api/v1/party/memberships").json()
    assert set(body) == {"count", "page", "page_size", "results"}
    assert body["count"] == 2
    assert [row["resident_name"] for row in body["results"]] == ["张三", "李四"]  # by party organisation, then name
    row = body["results"][0]
    assert row["organisation_name"] == "第一网格党支部" and row["joined_on"] == "2005-07-01"
    assert row["employer_id"] == world.employer.pk and row["employer_name"] == "和平小学"
    assert "*" in row["phone_masked"] and "*" in row["id_card_masked"] and "phone" not in row

    # A grid worker sees grid A1's members only; community B's worker only Wang.
    grid = api_client_for(world.grid_worker).get("/api/v1/party/memberships").json()
    assert [row["resident_name"] for row in grid["results"]] == ["张三"]
    other = api_client_for(world.worker_b).get("/api/v1/party/memberships").json()
    assert [row["resident_name"] for row in other["results"]] == ["王五"]

    page = api_client_for(world.worker).get("/api/v1/party/memberships", {"page": 2, "page_size": 1}).json()
    assert (page["count"], page["page"], [row["resident_name"] for row in page["results"]]) == (2, 2, ["李四"])
    search = api_client_for(world.worker).get("/api/v1/party/memberships", {"search": "小学"}).json()
    assert [row["resident_name"] for row in search["results"]] == ["张三"]
    in_service = api_client_for(world.worker).get("/api/v1/party/memberships", {"in_service": "false"}).json()
    assert [row["resident_name"] for row in in_service["results"]] == ["李四"]


def test_list_query_count_does_not_grow_with_rows(world, api_client_for, django_assert_num_queries):
    api = api_client_for(world.worker)
    _member(world, world.zhang)
    api.get("/api/v1/party/memberships")  # the token's first use is touched once
    # token lookup, roles, count, page (residents, households, organisations and employers joined in)
    with django_assert_num_queries(4):
        api.get("/api/v1/party/memberships")
    for index in range(5):
        _member(world, ResidentFactory(household=world.tree["household_a1b"], name=f"党员{index}"))
    with django_assert_num_queries(4):
        body = api.get("/api/v1/party/memberships").json()
    assert body["count"] == 6 and len(body["results"]) == 6


def test_register_change_and_end(world, api_client_for):
    api = _warm(api_client_for(world.worker))
    response = api.post(
        "/api/v1/party/memberships",
        {
            "resident_id": world.zhang.pk,
            "organisation_id": world.branch.pk,
            "joined_on": "2005-07-01",
            "is_in_service": True,
            "employer_name": "区教育局",
            "employer_party_organisation": "区教育局机关党委",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["resident_id"], body["organisation_id"], body["is_active"]) == (world.zhang.pk, world.branch.pk, True)
    assert (body["employer_id"], body["employer_name"]) == (None, "区教育局")
    membership_id = body["id"]
    assert AuditEntry.objects.filter(action="party.membership_add", actor=world.worker).count() == 1
    assert api.get(f"/api/v1/party/memberships/{membership_id}").json()["joined_on"] == "2005-07-01"

    changed = _put(
        api,
        f"/api/v1/party/memberships/{membership_id}",
        {"organisation_id": world.group.pk, "joined_on": "2005-07-01", "is_in_service": False},
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["organisation_id"], changed.json()["is_in_service"]) == (world.group.pk, False)
    assert changed.json()["employer_name"] == ""
    assert AuditEntry.objects.get(action="party.membership_change").changes["organisation"] == [
        world.branch.pk,
        world.group.pk,
    ]

    ended = api.post(f"/api/v1/party/memberships/{membership_id}/end", {"reason": "transferred_out"})
    assert ended.status_code == 200, ended.content
    assert (ended.json()["is_active"], ended.json()["ended_on"], ended.json()["end_reason"]) == (
        False,
        "2026-06-15",
        "transferred_out",
    )
    assert api.get("/api/v1/party/memberships").json()["count"] == 0
    assert api.get("/api/v1/party/memberships", {"status": "ended"}).json()["count"] == 1

    again = assert_refused(
        "party_membership_ended",
        lambda: api.post(f"/api/v1/party/memberships/{membership_id}/end", {"reason": "deceased"}),
        status=409,
    )
    assert again.json()["message"]


def test_refusals_change_nothing(world, api_client_for):
    worker = _warm(api_client_for(world.worker))
    membership = _member(world, world.zhang)
    payload = {"resident_id": world.li.pk, "organisation_id": world.branch.pk}

    # Not someone who enters records here: the resident is not found, whoever asks for them.
    for actor in (world.grid_worker, world.worker_b):
        api = _warm(api_client_for(actor))
        assert_refused("not_found", lambda api=api: api.post("/api/v1/party/memberships", payload), status=404)
        assert_refused(
            "not_found",
            lambda api=api: _put(
                api, f"/api/v1/party/memberships/{membership.pk}", {"organisation_id": world.group.pk}
            ),
            status=404,
        )
        assert_refused(
            "not_found",
            lambda api=api: api.post(f"/api/v1/party/memberships/{membership.pk}/end", {"reason": "deceased"}),
            status=404,
        )
    # A member already; an organisation of another community or unknown; bad dates and reasons.
    assert_refused(
        "already_party_member",
        lambda: worker.post("/api/v1/party/memberships", {**payload, "resident_id": world.zhang.pk}),
        status=409,
    )
    for organisation_id in (world.branch_b.pk, 999999):
        response = assert_refused(
            "validation_failed",
            lambda organisation_id=organisation_id: worker.post(
                "/api/v1/party/memberships", {**payload, "organisation_id": organisation_id}
            ),
            status=422,
        )
        assert set(response.json()["fields"]) == {"organisation_id"}
    response = assert_refused(
        "validation_failed",
        lambda: worker.post("/api/v1/party/memberships", {**payload, "joined_on": "2027-01-01", "employer_id": 999}),
        status=422,
    )
    assert set(response.json()["fields"]) == {"employer_id"}
    response = assert_refused(
        "validation_failed",
        lambda: worker.post("/api/v1/party/memberships", {**payload, "joined_on": "2027-01-01"}),
        status=422,
    )
    assert set(response.json()["fields"]) == {"joined_on"}
    response = assert_refused(
        "validation_failed",
        lambda: worker.post(f"/api/v1/party/memberships/{membership.pk}/end", {"reason": "bored"}),
        status=422,
    )
    assert "reason" in response.json()["fields"]
    assert PartyMembership.objects.count() == 1


def test_party_organisations_in_reach(world, api_client_for):
    body = api_client_for(world.worker).get("/api/v1/party/organisations").json()
    names = [row["name"] for row in body["results"]]
    assert names == ["和平社区党委", "第一网格党支部", "1号楼党小组", "101党员中心户"]
    assert body["results"][1]["parent_id"] == world.committee.pk and body["results"][1]["kind"] == "branch"
    under = api_client_for(world.worker).get("/api/v1/party/organisations", {"place": world.tree["building_a1"].pk})
    assert [row["name"] for row in under.json()["results"]] == ["1号楼党小组", "101党员中心户"]
    assert api_client_for(world.worker).get(
        "/api/v1/party/organisations", {"place": world.tree["community_b"].pk}
    ).status_code == 404
