"""The points API through the real client with bearer tokens: one error shape, bad input → 4xx with a code and
fields (never 500), and nothing changed on a refusal."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from gongzhi.core.testing import assert_refused
from gongzhi.people.models import ApiToken
from gongzhi.points.ledger import ledger_check
from gongzhi.points.models import Claim
from gongzhi.points.publication import publication_publish
from gongzhi.points.services import claim_return, claim_submit
from gongzhi.points.tests.factories import reviewer, yesterday
from gongzhi.points.tests.publication_factories import last_month

pytestmark = pytest.mark.django_db

BASE = "/api/v1/points"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6338a1a1f11f0004ec0218d2b6a8a20000000049454e44ae426082"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def assert_error(response, status: int, code: str | None = None, field: str | None = None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["message"]
    if code:
        assert body["code"] == code, body
    if field:
        assert field in body["fields"], body


def api_refused(call, status: int, code: str, field: str | None = None):
    """``call()``, a request, is refused with ``status`` and ``code`` in the one error shape, and changes nothing
    (but the bearer token's last use, which every request records)."""
    response = assert_refused(code, call, status=status, ignore=[ApiToken])
    assert_error(response, status, code, field)
    return response


def test_submit_list_detail_and_withdraw(world, api_client_for):
    login, _account = world.resident()
    api = api_client_for(login)
    items = api.get(f"{BASE}/catalogue").json()
    assert {item["value"] for item in items} == {3, 5, 8}
    response = api.post(
        f"{BASE}/claims",
        {"item_id": world.items[5].pk, "service_date": yesterday().isoformat(), "idempotency_key": "api-1"},
    )
    assert response.status_code == 201, response.content
    claim = response.json()
    assert claim["state"] == "submitted" and claim["value"] == 5 and claim["decisions"][0]["decision"] == "submit"
    again = api.post(
        f"{BASE}/claims",
        {"item_id": world.items[5].pk, "service_date": yesterday().isoformat(), "idempotency_key": "api-1"},
    )
    assert again.status_code == 201 and again.json()["id"] == claim["id"] and Claim.objects.count() == 1
    listed = api.get(f"{BASE}/claims").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == claim["id"]
    assert api.get(f"{BASE}/claims/{claim['id']}").json()["item_name"] == world.items[5].name
    assert api.post(f"{BASE}/claims/{claim['id']}/withdraw").json()["state"] == "withdrawn"


def test_submit_with_a_photo_as_multipart(world, api_client_for):
    login, _account = world.resident()
    api = api_client_for(login)
    response = api.client.post(
        f"{BASE}/claims/form",
        {
            "item_id": world.items[3].pk,
            "service_date": yesterday().isoformat(),
            "photos": SimpleUploadedFile("p.png", PNG, content_type="image/png"),
        },
        headers=api.headers,
    )
    assert response.status_code == 201, response.content
    assert response.json()["photo_count"] == 1


def test_bad_claims_get_a_code_and_fields_and_change_nothing(world, api_client_for):
    login, account = world.resident()
    claim_submit(actor=login, account=account, item=world.items[3], service_date=yesterday())
    api = api_client_for(login)
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    cases = [
        ({"item_id": world.items[3].pk, "service_date": future}, 422, "service_date_future", "service_date"),
        ({"item_id": world.items[3].pk, "service_date": yesterday().isoformat()}, 409, "duplicate_claim", None),
        ({"item_id": 999999, "service_date": yesterday().isoformat()}, 422, "item_unavailable", "item_id"),
        ({"item_id": world.items[3].pk, "service_date": "31/02/2025"}, 422, "validation_failed", "service_date"),
        ({"item_id": "three", "service_date": yesterday().isoformat()}, 422, "validation_failed", "item_id"),
        ({"service_date": yesterday().isoformat()}, 422, "validation_failed", "item_id"),
        (
            {"item_id": world.items[3].pk, "service_date": yesterday().isoformat(), "account_id": 999999},
            404,
            "not_found",
            None,
        ),
    ]
    for payload, status, code, field in cases:
        api_refused(partial(api.post, f"{BASE}/claims", payload), status, code, field)
    api_refused(
        lambda: api.client.post(f"{BASE}/claims", "{not json", content_type="application/json", headers=api.headers),
        400,
        "malformed_request",
    )
    api_refused(
        lambda: api.client.post(
            f"{BASE}/claims/form",
            {
                "item_id": world.items[5].pk,
                "service_date": yesterday().isoformat(),
                "photos": SimpleUploadedFile("a.txt", b"x"),
            },
            headers=api.headers,
        ),
        422,
        "upload_refused",  # core.uploads: the one check for every photo
        "photos",
    )
    api_refused(lambda: Client().post(f"{BASE}/claims", {}, content_type="application/json"), 401, "not_authenticated")


def test_review_one_many_and_refusals(world, api_client_for, tree):
    claims = []
    for _number in range(3):
        login, account = world.resident()
        claims.append(claim_submit(actor=login, account=account, item=world.items[8], service_date=yesterday()))
    api = api_client_for(world.reviewer)
    queue = api.get(f"{BASE}/review/queue").json()
    assert queue["count"] == 3
    assert api.post(f"{BASE}/review/claims/{claims[0].pk}/approve").json()["state"] == "approved"
    reject, approve = f"{BASE}/review/claims/{claims[1].pk}/reject", f"{BASE}/review/claims/{claims[1].pk}/approve"
    api_refused(lambda: api.post(reject, {"reason": " "}), 422, "validation_failed", "reason")
    api_refused(lambda: api.post(reject, {}), 422, "validation_failed", "reason")
    api_refused(lambda: api.post(f"{BASE}/review/claims/{claims[0].pk}/approve"), 409, "claim_not_pending")
    batch = f"{BASE}/review/batch"
    api_refused(lambda: api.post(batch, {"claim_ids": [claims[1].pk], "decision": "maybe"}), 422, "validation_failed")
    api_refused(lambda: api.post(batch, {"claim_ids": [], "decision": "approve"}), 422, "validation_failed")
    api_refused(
        lambda: api.get(f"{BASE}/review/queue", {"account_kind": "alien"}), 422, "validation_failed", "account_kind"
    )
    outsider = api_client_for(reviewer(tree["community_b"]))
    api_refused(lambda: outsider.post(approve), 404, "not_found")
    owner = api_client_for(claims[1].submitted_by)
    api_refused(lambda: owner.post(approve), 404, "not_found")
    result = api.post(
        f"{BASE}/review/batch", {"claim_ids": [claims[1].pk, claims[0].pk, 424242], "decision": "approve"}
    ).json()
    assert result["succeeded"] == [claims[1].pk]
    assert set(result["failed"]) == {str(claims[0].pk), "424242"}
    returned = api.post(f"{BASE}/review/batch", {"claim_ids": [claims[2].pk], "decision": "return", "reason": "补照片"})
    assert returned.json()["succeeded"] == [claims[2].pk]
    assert ledger_check() == []


def test_resubmit_a_returned_claim(world, api_client_for):
    login, account = world.resident()
    claim = claim_submit(actor=login, account=account, item=world.items[3], service_date=yesterday())
    api = api_client_for(login)
    assert_error(api.post(f"{BASE}/claims/{claim.pk}/resubmit", {"description": "x"}), 409, "claim_not_returned")
    claim_return(actor=world.reviewer, claim=claim, reason="补充")
    body = api.post(f"{BASE}/claims/{claim.pk}/resubmit", {"description": "上午九点"}).json()
    assert body["state"] == "submitted" and body["description"] == "上午九点"
    other, _account = world.resident("household_b1")
    assert_error(api_client_for(other).get(f"{BASE}/claims/{claim.pk}"), 404, "not_found")


def test_balance_history_and_rank(world, api_client_for):
    login, account = world.resident()
    _other_login, other = world.resident("household_a2")
    world.award(account, 5, yesterday())
    world.award(other, 8, yesterday())
    api = api_client_for(login)
    assert api.get(f"{BASE}/balance").json()["balance"] == 5
    assert api.get(f"{BASE}/accounts/mine").json()[0]["earned_total"] == 5
    history = api.get(f"{BASE}/history").json()
    assert history["count"] == 1 and history["results"][0]["amount"] == 5
    rank = api.get(f"{BASE}/my-rank").json()
    assert (rank["rank"], rank["points"]) == (2, 5)
    assert api.get(f"{BASE}/my-rank", {"period": str(timezone.localdate().year)}).json()["rank"] == 2
    assert_error(api.get(f"{BASE}/my-rank", {"period": "someday"}), 422, None, "period")
    assert_error(api.get(f"{BASE}/my-rank", {"kind": "alien"}), 422, None, "kind")
    assert_error(api.get(f"{BASE}/balance", {"account": other.pk}), 404)


def test_public_reads_without_login_and_objections(world, api_client_for):
    login, account = world.resident(name="孙悟空")
    world.award(account, 8, last_month() + timedelta(days=1))
    publication = publication_publish(actor=world.reviewer, community=world.community, month=last_month())
    anonymous = Client()
    months = anonymous.get(f"{BASE}/public/publications", {"community": world.community.pk}).json()
    month = f"{last_month():%Y-%m}"
    assert [row["month"] for row in months] == [month]
    detail = anonymous.get(f"{BASE}/public/publications/{world.community.pk}/{month}").json()
    assert detail["lines"][0]["masked_name"] == "孙**" and "孙悟空" not in str(detail)
    assert_error(anonymous.get(f"{BASE}/public/publications/{world.community.pk}/2020-13"), 422)
    assert_error(anonymous.get(f"{BASE}/public/publications/{world.community.pk}/1999-01"), 404)
    ranking = anonymous.get(f"{BASE}/public/rankings", {"place": world.tree["district"].pk}).json()
    assert ranking[0]["masked_name"] == "孙**"
    assert_error(anonymous.get(f"{BASE}/public/rankings", {"place": world.tree["district"].pk, "period": "x"}), 422)
    assert anonymous.get(f"{BASE}/public/selections", {"community": world.community.pk}).json() == []

    api = api_client_for(login)
    line = publication.lines.get()
    stranger = api_client_for(world.resident("household_b1")[0])
    objection = {"community_id": world.community.pk, "month": month}
    api_refused(lambda: api.post(f"{BASE}/objections", {**objection, "text": ""}), 422, "validation_failed")
    api_refused(
        lambda: api.post(f"{BASE}/objections", {**objection, "text": "x", "line_id": 1e6}), 422, "validation_failed"
    )
    api_refused(lambda: stranger.post(f"{BASE}/objections", {**objection, "text": "不对"}), 403, "not_a_resident")
    created = api.post(
        f"{BASE}/objections", {"community_id": world.community.pk, "month": month, "text": "不对", "line_id": line.pk}
    )
    assert created.status_code == 201 and created.json()["line_id"] == line.pk


def test_openapi_lists_the_points_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/points/claims",
        "/api/v1/points/review/batch",
        "/api/v1/points/public/rankings",
        "/api/v1/points/objections",
        "/api/v1/points/my-rank",
    ):
        assert path in paths
