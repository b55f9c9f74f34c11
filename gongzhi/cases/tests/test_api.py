"""The cases API through the real client: submit, lists, detail with the trail, transitions, errors."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from gongzhi.cases.errors import CasesError
from gongzhi.cases.models import Case, CaseEvent, CaseState
from gongzhi.core.errors import CoreError
from gongzhi.core.models import AuditEntry
from gongzhi.core.testing import assert_refused

from .factories import hotline_workbook


def zh(text: str) -> str:
    """The label as the API answers it in the default language (zh-hans), once the catalogue has it."""
    with translation.override("zh-hans"):
        return translation.gettext(text)


def test_resident_submits_and_follows_a_case(world, api_client_for):
    resident = api_client_for(world["resident"])
    response = resident.post(
        "/api/v1/cases", {"category_id": world["category"].pk, "text": "楼下路灯坏了", "anonymous": True}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    case = body["case"]
    assert case["state"] == "submitted" and case["level"] == "grid" and case["handling_place_name"] == "第一网格"
    assert case["reporter"] == zh("you")
    assert [line["kind"] for line in case["trail"]] == ["submitted", "routed"]
    assert "第一网格" in case["trail"][1]["text"]
    assert not case["trail"][0].get("actor")  # the resident does not see staff names
    assert case["actions"] == ["withdraw"]
    mine = resident.get("/api/v1/cases/mine").json()
    assert mine["count"] == 1 and mine["results"][0]["id"] == case["id"]
    inbox = resident.get("/api/v1/cases/notifications").json()
    assert inbox["unread"] == 1
    assert resident.post("/api/v1/cases/notifications/read", {}).json() == {"marked": 1}


def test_handler_queue_detail_and_the_full_round_trip(world, api_client_for):
    resident = api_client_for(world["resident"])
    case_id = resident.post("/api/v1/cases", {"category_id": world["category"].pk, "text": "路灯", "anonymous": True})
    case_id = case_id.json()["case"]["id"]
    worker = api_client_for(world["grid_worker"])
    queue = worker.get("/api/v1/cases/queue", {"overdue": "false"}).json()
    assert [item["id"] for item in queue["results"]] == [case_id]
    assert queue["results"][0]["reporter"] == zh("anonymous")
    detail = worker.get(f"/api/v1/cases/{case_id}").json()
    assert detail["trail"][0]["actor"] == zh("anonymous")  # staff see names in the trail, never an anonymous reporter's
    assert set(detail["actions"]) >= {"accept", "escalate", "reject", "refer"}
    assert worker.post(f"/api/v1/cases/{case_id}/accept", {}).status_code == 200
    response = worker.post(f"/api/v1/cases/{case_id}/escalate", {"reason": "超出网格权限"})
    assert response.status_code == 200 and response.json()["level"] == "community"
    community = api_client_for(world["community_worker"])
    assert community.post(f"/api/v1/cases/{case_id}/accept", {}).status_code == 200
    response = community.post(f"/api/v1/cases/{case_id}/resolve", {"resolution": "已更换灯泡"})
    assert response.json()["state"] == "resolved"
    response = resident.post(f"/api/v1/cases/{case_id}/rate", {"rating": "basically_satisfied"})
    assert response.status_code == 200 and response.json()["state"] == "closed"
    trail = resident.get(f"/api/v1/cases/{case_id}").json()["trail"]
    assert any("超出网格权限" in line["text"] for line in trail)
    assert all(line.get("actor") in (None, "") for line in trail)  # the resident does not see staff names


def test_errors_in_the_one_shape_and_nothing_changes(world, api_client_for):
    resident = api_client_for(world["resident"])
    case_id = resident.post("/api/v1/cases", {"category_id": world["category"].pk, "text": "路灯"}).json()["case"]["id"]
    outsider = api_client_for(world["grid_worker_a2"])
    wrong_level = api_client_for(world["community_worker"])  # sees it, but it is at the grid
    worker = api_client_for(world["grid_worker"])
    neighbour = api_client_for(world["other_resident"])
    events, audits = CaseEvent.objects.count(), AuditEntry.objects.count()

    response = assert_refused(CoreError.NOT_FOUND, lambda: outsider.post(f"/api/v1/cases/{case_id}/accept", {}))
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert outsider.get(f"/api/v1/cases/{case_id}").status_code == 404
    assert outsider.get("/api/v1/cases/999999").status_code == 404

    assert wrong_level.get(f"/api/v1/cases/{case_id}").status_code == 200
    assert_refused(CoreError.NOT_FOUND, lambda: wrong_level.post(f"/api/v1/cases/{case_id}/accept", {}))

    response = assert_refused(
        CasesError.INVALID_TRANSITION, lambda: worker.post(f"/api/v1/cases/{case_id}/resolve", {"resolution": "x"})
    )
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    response = assert_refused(
        CasesError.NOT_REPORTER, lambda: worker.post(f"/api/v1/cases/{case_id}/rate", {"rating": "satisfied"})
    )
    assert response.status_code == 403 and response.json()["code"] == "not_reporter"
    response = assert_refused(CoreError.VALIDATION_FAILED, lambda: worker.post(f"/api/v1/cases/{case_id}/escalate", {}))
    assert response.status_code == 422 and "reason" in response.json()["fields"]

    assert_refused(
        CoreError.NOT_FOUND, lambda: neighbour.post(f"/api/v1/cases/{case_id}/rate", {"rating": "satisfied"})
    )

    assert Case.objects.get(pk=case_id).state == CaseState.SUBMITTED
    assert (CaseEvent.objects.count(), AuditEntry.objects.count()) == (events, audits)


def test_queue_is_paginated_with_a_fixed_number_of_queries(world, api_client_for):
    resident = api_client_for(world["resident"])
    for number in range(5):
        resident.post("/api/v1/cases", {"category_id": world["category"].pk, "text": f"路灯{number}"})
    worker = api_client_for(world["grid_worker"])
    page = worker.get("/api/v1/cases/queue", {"page": 2, "page_size": 2}).json()
    assert page["count"] == 5 and len(page["results"]) == 2
    counts = []
    for size in (1, 50):
        with CaptureQueriesContext(connection) as queries:
            assert worker.get("/api/v1/cases/queue", {"page_size": size}).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 9


def test_hotline_import_endpoint(world, api_client_for):
    admin = api_client_for(world["street_admin"])
    upload = SimpleUploadedFile(
        "12345.xlsx",
        hotline_workbook([["GD9", "2025-01-02 10:00", "路灯", "灯不亮", "和平社区", "", ""]]).read(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response = admin.client.post(
        "/api/v1/cases/import", {"place_id": world["street"].pk, "file": upload}, headers=admin.headers
    )
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1 and response.json()["ok"]
