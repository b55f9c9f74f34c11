"""Co-building through the real client with bearer tokens: the journey, the one error shape, denied paths."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client

from gongzhi.core.testing import assert_refused, image_upload
from gongzhi.people.models import ApiToken

from ..errors import CobuildingError
from ..models import Project
from ..services import fund_set_budget, spending_request
from .factories import NOW, make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_representative_publishes_claims_reports_and_the_community_confirms(world, api_client_for, frozen):
    rep = api_client_for(world.rep)
    staff = api_client_for(world.worker)
    need = staff.post(
        "/api/v1/cobuilding/needs",
        {
            "place_id": world.compound.pk,
            "kind": "venue",
            "title": "缺少活动场地",
            "source_kind": "case",
            "source_reference": "case:88",
        },
    )
    assert need.status_code == 201, need.json()
    published = rep.post(
        "/api/v1/cobuilding/resources",
        {
            "organisation_id": world.school.pk,
            "community_id": world.community.pk,
            "kind": "venue",
            "title": "学校礼堂",
            "opening_times": "周末全天",
        },
    )
    assert published.status_code == 201, published.json()
    matches = rep.get("/api/v1/cobuilding/matches").json()
    assert matches["count"] == 1 and matches["results"][0]["need_title"] == "缺少活动场地"
    assert (
        staff.post(f"/api/v1/cobuilding/matches/{matches['results'][0]['id']}/answer", {"accept": True}).json()["state"]
        == "accepted"
    )
    created = staff.post(
        "/api/v1/cobuilding/projects",
        {
            "place_id": world.compound.pk,
            "title": "礼堂改造为活动室",
            "need_id": need.json()["id"],
            "resource_ids": [published.json()["id"]],
            "budget": "2500.00",
            "point_item_id": world.item.pk,
        },
    )
    assert created.status_code == 201, created.json()
    project_id = created.json()["id"]
    assert [p["id"] for p in rep.get("/api/v1/cobuilding/projects", {"state": "open"}).json()["results"]] == [
        project_id
    ]
    claimed = rep.post(f"/api/v1/cobuilding/projects/{project_id}/claim", {"organisation_id": world.school.pk})
    assert claimed.json()["state"] == "claimed" and claimed.json()["claimer_name"] == "实验小学"

    other = api_client_for(world.agency_rep)
    assert_refused(
        CobuildingError.ALREADY_CLAIMED,
        lambda: other.post(f"/api/v1/cobuilding/projects/{project_id}/claim", {"organisation_id": world.agency.pk}),
        ignore=[ApiToken],
    )
    done = rep.client.post(
        f"/api/v1/cobuilding/projects/{project_id}/progress",
        {"note": "已完工", "completed": "true", "photos": [image_upload()]},
        headers=rep.headers,
    )
    assert done.status_code == 200, done.json()
    assert done.json()["state"] == "reported"
    confirmed = staff.post(f"/api/v1/cobuilding/projects/{project_id}/confirm", {"accept": True})
    assert confirmed.json()["state"] == "confirmed"
    rated = api_client_for(world.resident).post(f"/api/v1/cobuilding/projects/{project_id}/rate", {"stars": 5})
    assert rated.status_code == 201 and rated.json()["rating_average"] == "5.0"
    points = rep.post(f"/api/v1/cobuilding/projects/{project_id}/points")
    assert points.status_code == 200 and points.json()["points_claim_id"]


def test_completing_a_project_not_claimed_by_you(world, api_client_for, frozen):
    project = make_project(world.community)
    rep = api_client_for(world.rep)
    response = assert_refused(
        CobuildingError.NOT_CLAIMER,
        lambda: rep.client.post(
            f"/api/v1/cobuilding/projects/{project.pk}/progress",
            {"note": "完成", "completed": "true", "photos": [image_upload()]},
            headers=rep.headers,
        ),
        ignore=[ApiToken],
    )
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["message"]


def test_agreement_out_of_reach_and_scores_out_of_range(world, api_client_for, frozen):
    secretary = api_client_for(world.secretary)
    assert_refused(
        "not_found",
        lambda: secretary.post(
            "/api/v1/cobuilding/agreements",
            {
                "organisation_id": world.outsider_org.pk,
                "community_id": world.other_community.pk,
                "scope": "共建",
                "starts_on": "2031-01-01",
                "ends_on": "2031-12-31",
            },
        ),
        status=404,
        ignore=[ApiToken],
    )
    refused = assert_refused(
        "validation_failed",
        lambda: secretary.post(
            "/api/v1/cobuilding/assessment/scores",
            {
                "compound_id": world.compound.pk,
                "company_id": world.outsider_org.pk,
                "year": 2031,
                "quarter": 1,
                "party": "owners_committee",
                "score": "101",
            },
        ),
        status=422,
        ignore=[ApiToken],
    )
    assert "score" in refused.json()["fields"]


def test_spending_past_the_fund_or_unapproved(world, api_client_for, frozen):
    fund = fund_set_budget(actor=world.secretary, community=world.community, year=2031, budget="500", now=NOW)
    spending = spending_request(actor=world.worker, fund=fund, purpose="路灯", amount="400", now=NOW)
    worker = api_client_for(world.worker)
    assert_refused(
        CobuildingError.SPENDING_NOT_APPROVED,
        lambda: worker.post(f"/api/v1/cobuilding/spendings/{spending.pk}/pay"),
        ignore=[ApiToken],
    )
    assert_refused(
        CobuildingError.FUND_EXCEEDED,
        lambda: worker.post(f"/api/v1/cobuilding/funds/{fund.pk}/spendings", {"purpose": "座椅", "amount": "600"}),
        ignore=[ApiToken],
    )
    approved = api_client_for(world.secretary).post(f"/api/v1/cobuilding/spendings/{spending.pk}/approve")
    assert approved.json()["state"] == "approved"
    funds = worker.get("/api/v1/cobuilding/funds").json()["results"]
    assert funds[0]["committed"] == "400.00" and funds[0]["left"] == "100.00"


def test_figures_and_report_back(world, api_client_for, frozen):
    secretary = api_client_for(world.secretary)
    figures = secretary.get("/api/v1/cobuilding/figures", {"place_id": world.community.pk, "period": "2031"})
    assert figures.status_code == 200
    assert figures.json()["agreements"]["in_force"] == 2
    assert figures.json()["projects"]["completion_rate"]["percent"] is None
    report = secretary.get(f"/api/v1/cobuilding/organisations/{world.school.pk}/report-back", {"year": 2031})
    assert report.json()["agreements"] == 1 and report.json()["reported_at"] is None
    sent = secretary.post(f"/api/v1/cobuilding/organisations/{world.school.pk}/report-back?year=2031")
    assert sent.status_code == 201 and sent.json()["department"] == "区教育局"


def test_project_list_queries_are_pinned(world, api_client_for, frozen, django_assert_max_num_queries):
    for _i in range(12):
        make_project(world.community)
    rep = api_client_for(world.rep)
    rep.get("/api/v1/cobuilding/projects")
    with django_assert_max_num_queries(8):
        response = rep.get("/api/v1/cobuilding/projects")
    assert response.json()["count"] == 12


def test_anonymous_is_refused(world):
    response = Client().get("/api/v1/cobuilding/projects")
    assert response.status_code == 401
    assert Project.objects.count() == 0


def test_network_records_through_the_api(world, api_client_for, frozen):
    secretary = api_client_for(world.secretary)
    alliance = secretary.post(
        "/api/v1/cobuilding/alliances",
        {
            "place_id": world.community.pk,
            "name": "和平红色积分联盟",
            "founded_on": "2031-03-01",
            "point_item_ids": [world.item.pk],
        },
    )
    assert alliance.status_code == 201, alliance.json()
    joined = secretary.post(
        f"/api/v1/cobuilding/alliances/{alliance.json()['id']}/members",
        {"organisation_id": world.school.pk, "joined_on": "2031-03-01"},
    )
    assert joined.json()["member_count"] == 1
    ranking = secretary.get(f"/api/v1/cobuilding/alliances/{alliance.json()['id']}/ranking").json()
    assert ranking == [{"organisation_id": world.school.pk, "name": "实验小学", "earned": 0, "rank": 1}]

    pairing = secretary.post(
        "/api/v1/cobuilding/pairings",
        {
            "community_id": world.community.pk,
            "kind": "community",
            "partner_place_id": world.other_community.pk,
            "started_on": "2031-01-01",
        },
    )
    assert pairing.status_code == 201 and pairing.json()["partner_label"] == "幸福社区"
    commitment = secretary.post(
        f"/api/v1/cobuilding/pairings/{pairing.json()['id']}/commitments", {"year": 2031, "title": "共办文艺汇演"}
    )
    activity = secretary.post(
        "/api/v1/cobuilding/activities",
        {
            "community_id": world.community.pk,
            "title": "文艺汇演",
            "held_on": "2031-05-01",
            "organisation_ids": [world.school.pk],
            "participants": 200,
            "pairing_id": pairing.json()["id"],
            "commitment_id": commitment.json()["id"],
        },
    )
    assert activity.status_code == 201, activity.json()
    meeting = secretary.post(
        "/api/v1/cobuilding/meetings",
        {
            "community_id": world.community.pk,
            "kind": "forum",
            "title": "书记论坛",
            "held_on": "2031-05-10",
            "matters": ["加装电梯", "停车"],
        },
    )
    assert meeting.json()["matter_count"] == 2
    from ..models import Commitment, Matter

    assert Commitment.objects.get(pk=commitment.json()["id"]).state == "kept"
    matter = Matter.objects.filter(meeting_id=meeting.json()["id"]).first()
    solved = secretary.post(f"/api/v1/cobuilding/matters/{matter.pk}/follow-up", {"note": "已解决", "solved": True})
    assert solved.json()["state"] == "solved"
    assert_refused(
        CobuildingError.MATTER_SOLVED,
        lambda: secretary.post(f"/api/v1/cobuilding/matters/{matter.pk}/follow-up", {"note": "再次"}),
        ignore=[ApiToken],
    )
    weights = secretary.post(
        "/api/v1/cobuilding/assessment/weights",
        {
            "place_id": world.community.pk,
            "party_organisation": "35",
            "owners_committee": "25",
            "housing_department": "40",
        },
    )
    assert weights.json()["owners_committee"] == "25.00"
    outsider = api_client_for(world.secretary_b)
    assert_refused(
        "not_found",
        lambda: outsider.post(f"/api/v1/cobuilding/matters/{matter.pk}/follow-up", {"note": "x"}),
        ignore=[ApiToken],
    )
