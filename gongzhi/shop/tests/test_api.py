"""The shop through the real client with bearer tokens: the one error shape, idempotency, denied paths."""

from __future__ import annotations

import pytest

from gongzhi.core.testing import assert_refused
from gongzhi.people.models import ApiToken
from gongzhi.points.models import Transfer
from gongzhi.shop.errors import ShopError
from gongzhi.shop.models import Redemption

from .factories import make_offer, resident_with_points

pytestmark = pytest.mark.django_db


def test_resident_redeems_and_the_clerk_verifies(world, api_client_for):
    offer = world["offer"]
    login = world["buyer"]
    resident = api_client_for(login)
    listed = resident.get("/api/v1/shop/offers")
    assert listed.status_code == 200 and [o["id"] for o in listed.json()["results"]] == [offer.pk]
    assert listed.json()["count"] == 1 and listed.json()["page"] == 1

    placed = resident.post(f"/api/v1/shop/offers/{offer.pk}/redeem", {"idempotency_key": "api-1"})
    assert placed.status_code == 201, placed.json()
    body = placed.json()
    assert body["state"] == "held" and len(body["pickup_code"]) == 6 and body["qr_payload"]
    again = resident.post(f"/api/v1/shop/offers/{offer.pk}/redeem", {"idempotency_key": "api-1"})
    assert again.json()["id"] == body["id"] and Redemption.objects.count() == 1

    other_clerk = api_client_for(world["other_clerk"])
    assert_refused(
        "not_found",
        lambda: other_clerk.post(
            "/api/v1/shop/verify", {"code": body["pickup_code"], "merchant_id": world["merchant"].pk}
        ),
        status=404,
        ignore=[ApiToken],  # the token's "last used" time
    )
    assert Transfer.objects.filter(kind="capture").count() == 0

    clerk = api_client_for(world["clerk"])
    wrong_code = "000000" if body["pickup_code"] != "000000" else "111111"
    assert_refused(
        ShopError.WRONG_CODE, lambda: clerk.post("/api/v1/shop/verify", {"code": wrong_code}), ignore=[ApiToken]
    )
    done = clerk.post("/api/v1/shop/verify", {"code": body["qr_payload"]})
    assert done.status_code == 200 and done.json()["state"] == "completed" and done.json()["pickup_code"] is None
    reused = clerk.post("/api/v1/shop/verify", {"code": body["pickup_code"]})
    assert reused.status_code == 409 and reused.json()["code"] == "code_used"

    settled = clerk.get("/api/v1/shop/settlement")
    assert settled.json()["results"][0]["points"] == 30
    today = clerk.get(f"/api/v1/shop/counter/{world['merchant'].pk}/today")
    assert [o["id"] for o in today.json()["results"]] == [body["id"]]


def test_refusals_have_the_error_shape(world, api_client_for):
    offer = make_offer(world["community"], world["merchant"], points_price=500, stock=1)
    login, _account = resident_with_points(world["household_a1"], 10)
    client = api_client_for(login)
    poor = assert_refused(
        ShopError.INSUFFICIENT_POINTS,
        lambda: client.post(f"/api/v1/shop/offers/{offer.pk}/redeem", {"idempotency_key": "p"}),
        ignore=[ApiToken],
    )
    assert poor.json() == {"code": "insufficient_points", "message": poor.json()["message"], "fields": {}}
    assert "490" in poor.json()["message"]  # says how many points are missing
    bad = assert_refused(
        "validation_failed",
        lambda: client.post(f"/api/v1/shop/offers/{offer.pk}/redeem", {"idempotency_key": "p", "quantity": 0}),
        status=422,
    )
    assert "quantity" in bad.json()["fields"]
    assert_refused("not_found", lambda: client.post("/api/v1/shop/offers/999999/redeem", {"idempotency_key": "p"}))
    assert Redemption.objects.count() == 0


def test_cancel_and_card(world, api_client_for):
    offer = world["offer"]
    login, account = world["buyer"], world["account"]
    client = api_client_for(login)
    order = client.post(f"/api/v1/shop/offers/{offer.pk}/redeem", {"idempotency_key": "c"}).json()
    cancelled = client.post(f"/api/v1/shop/orders/{order['id']}/cancel")
    assert cancelled.json()["state"] == "cancelled"
    account.refresh_from_db()
    assert account.balance == 100
    card = client.get("/api/v1/shop/card").json()
    found = api_client_for(world["clerk"]).post("/api/v1/shop/card/lookup", {"code": card["code"]})
    assert found.status_code == 200 and found.json()["account_id"] == account.pk
    assert "张" in found.json()["name_masked"] and found.json()["name_masked"] != "张三"


def test_staff_create_submit_approve_offer_and_window(world, api_client_for):
    from gongzhi.core.roles import Role
    from gongzhi.people.tests.factories import account_with_role

    secretary = api_client_for(account_with_role(Role.COMMUNITY_SECRETARY, world["community"]))
    clerk = api_client_for(world["clerk"])
    created = clerk.post(
        "/api/v1/shop/offers",
        {
            "community_id": world["community"].pk,
            "merchant_id": world["merchant"].pk,
            "title": "理发一次",
            "kind": "service",
            "points_price": 40,
            "stock": 20,
            "valid_from": "2026-01-01",
            "valid_until": "2026-12-31",
        },
    )
    assert created.status_code == 201, created.json()
    offer_id = created.json()["id"]
    # A clerk cannot approve.
    assert_refused("not_found", lambda: clerk.post(f"/api/v1/shop/offers/{offer_id}/approve"), ignore=[ApiToken])
    assert clerk.post(f"/api/v1/shop/offers/{offer_id}/submit").json()["state"] == "pending"
    assert secretary.post(f"/api/v1/shop/offers/{offer_id}/approve").json()["state"] == "approved"
    other = api_client_for(world["other_clerk"])
    assert_refused("not_found", lambda: other.post(f"/api/v1/shop/offers/{offer_id}/submit"), ignore=[ApiToken])
    window = secretary.post(
        "/api/v1/shop/windows",
        {
            "community_id": world["community"].pk,
            "name": "2026 Q4",
            "starts_at": "2026-10-01T00:00:00+08:00",
            "ends_at": "2026-10-15T00:00:00+08:00",
        },
    )
    assert window.status_code == 201
