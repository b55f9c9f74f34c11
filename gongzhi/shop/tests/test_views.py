"""Shop pages through the real client: residents, the counter, staff; denied paths change nothing."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
from gongzhi.people.tests.factories import PASSWORD, account_with_role
from gongzhi.shop.models import AllianceMembership, Offer, Redemption
from gongzhi.shop.services import redemption_place

from .factories import make_merchant, make_offer

pytestmark = pytest.mark.django_db


def client_for(account) -> Client:
    client = Client()
    assert client.login(username=account.username, password=PASSWORD)
    return client


def test_resident_browses_redeems_sees_code_and_cancels(shop, offer, buyer):
    login, _account = buyer
    client = client_for(login)
    home = client.get("/shop/")
    assert home.status_code == 200
    assert "牛肉面一碗" in home.content.decode() and 'data-testid="balance">100<' in home.content.decode()

    page = client.get(f"/shop/offers/{offer.pk}/")
    key = page.context["idempotency_key"]
    placed = client.post(f"/shop/offers/{offer.pk}/", {"idempotency_key": key, "quantity": "1"})
    order = Redemption.objects.get()
    assert placed.status_code == 302 and placed["Location"] == f"/shop/orders/{order.pk}/"
    # A double tap posts the same key: still one order.
    client.post(f"/shop/offers/{offer.pk}/", {"idempotency_key": key, "quantity": "1"})
    assert Redemption.objects.count() == 1

    shown = client.get(f"/shop/orders/{order.pk}/")
    text = shown.content.decode()
    assert order.pickup_code in text and "<svg" in text and shown["Cache-Control"] == "no-store"
    client.post(f"/shop/orders/{order.pk}/cancel/")
    order.refresh_from_db()
    assert order.state == "cancelled"
    assert client.get("/shop/orders/").status_code == 200
    card = client.get("/shop/card/")
    assert card.status_code == 200 and "<svg" in card.content.decode()


def test_redeem_refusal_keeps_the_page_and_changes_nothing(shop, buyer):
    offer = make_offer(shop["community"], shop["merchant"], points_price=500)
    login, account = buyer
    client = client_for(login)
    response = client.post(f"/shop/offers/{offer.pk}/", {"idempotency_key": "k", "quantity": "1"})
    assert response.status_code == 409
    assert 'data-code="insufficient_points"' in response.content.decode()
    assert Redemption.objects.count() == 0
    offer.refresh_from_db()
    account.refresh_from_db()
    assert (offer.stock, account.balance, account.held) == (5, 100, 0)


def test_someone_elses_order_is_not_found(shop, offer, buyer, tree):
    login, account = buyer
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="o")
    stranger = account_with_role(Role.RESIDENT, tree["household_a2"])
    client = client_for(stranger)
    assert client.get(f"/shop/orders/{order.pk}/").status_code == 404
    assert client.post(f"/shop/orders/{order.pk}/cancel/").status_code == 404
    order.refresh_from_db()
    assert order.state == "held"


def test_counter_verifies_by_typed_code_and_refuses_another_merchants_clerk(shop, offer, buyer):
    login, account = buyer
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="o")
    other = client_for(shop["other_clerk"])
    denied = other.post("/shop/counter/", {"merchant": shop["merchant"].pk, "code": order.pickup_code})
    assert denied.status_code == 404
    at_own = other.post("/shop/counter/", {"code": order.pickup_code})
    assert at_own.status_code == 404 and 'data-code="wrong_code"' in at_own.content.decode()
    order.refresh_from_db()
    assert order.state == "held"

    clerk = client_for(shop["clerk"])
    assert clerk.get("/shop/counter/").status_code == 200
    done = clerk.post("/shop/counter/", {"code": order.pickup_code})
    assert done.status_code == 200 and 'data-testid="verified"' in done.content.decode()
    order.refresh_from_db()
    assert order.state == "completed"
    reused = clerk.post("/shop/counter/", {"code": order.pickup_code})
    assert reused.status_code == 409 and 'data-code="code_used"' in reused.content.decode()


def test_counter_finds_a_points_card(shop, offer, buyer):
    login, account = buyer
    redemption_place(actor=login, offer=offer, account=account, idempotency_key="o")
    client_for(login).get("/shop/card/")
    code = account.points_card.code
    found = client_for(shop["clerk"]).post("/shop/counter/", {"code": code})
    assert found.status_code == 200 and "牛肉面一碗" in found.content.decode()
    assert 'data-testid="card-lookup"' in found.content.decode()


def test_staff_approve_window_settlement_export_and_stock(shop, offer, buyer):
    secretary = account_with_role(Role.COMMUNITY_SECRETARY, shop["community"])
    client = client_for(secretary)
    pending = make_offer(shop["community"], shop["merchant"], approve=False)
    client.post(f"/shop/offers/{pending.pk}/submit/")
    manage = client.get("/shop/manage/")
    assert manage.status_code == 200 and pending.title in manage.content.decode()
    client.post(f"/shop/offers/{pending.pk}/approve/")
    assert Offer.objects.get(pk=pending.pk).state == "approved"
    response = client.post(
        f"/shop/manage/{shop['community'].pk}/windows/",
        {"name": "2027 Q1", "starts_at": "2027-01-01T00:00", "ends_at": "2027-01-15T00:00"},
    )
    assert response.status_code == 302

    login, account = buyer
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="s")
    client_for(shop["clerk"]).post("/shop/counter/", {"code": order.pickup_code})
    settlement = client.get("/shop/settlement/")
    assert settlement.status_code == 200 and 'data-testid="settlement-points">30<' in settlement.content.decode()
    export = client.get("/shop/settlement.xlsx")
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet["C2"].value == "张记面馆" and sheet["F2"].value == 30
    assert client.get("/shop/stock/").status_code == 200


def test_a_resident_cannot_open_staff_pages(buyer, shop):
    login, _account = buyer
    client = client_for(login)
    assert client.get("/shop/manage/").status_code == 404
    assert client.get("/shop/counter/").status_code == 404
    assert client.get("/shop/settlement/").status_code == 404


def test_offer_form_creates_a_pending_offer_for_the_clerks_merchant(shop):
    client = client_for(shop["clerk"])
    form = client.get("/shop/offers/new/")
    assert form.status_code == 200
    bad = client.post("/shop/offers/new/", {"community": shop["community"].pk, "title": "", "points_price": "x"})
    assert bad.status_code == 422 and Offer.objects.count() == 0
    created = client.post(
        "/shop/offers/new/",
        {
            "community": shop["community"].pk,
            "merchant": shop["merchant"].pk,
            "title": "满50元送55元",
            "kind": "discount",
            "points_price": "20",
            "cash_price": "50",
            "discount_value": "5",
            "stock": "30",
            "valid_from": "2026-01-01",
            "valid_until": "2026-12-31",
            "submit_now": "1",
        },
    )
    assert created.status_code == 302
    offer = Offer.objects.get()
    assert offer.state == "pending" and offer.merchant == shop["merchant"] and offer.stock == 30


def test_offer_list_and_orders_query_counts_do_not_grow(shop, buyer):
    login, account = buyer
    client = client_for(login)
    for _ in range(3):
        offer = make_offer(shop["community"], shop["merchant"], points_price=1)
        redemption_place(actor=login, offer=offer, account=account, idempotency_key=f"q{offer.pk}")
    client.get("/shop/")
    with CaptureQueriesContext(connection) as few:
        client.get("/shop/")
        client.get("/shop/orders/")
    for _ in range(5):
        offer = make_offer(shop["community"], shop["merchant"], points_price=1)
        redemption_place(actor=login, offer=offer, account=account, idempotency_key=f"q{offer.pk}")
    with CaptureQueriesContext(connection) as many:
        client.get("/shop/")
        client.get("/shop/orders/")
    assert len(many) == len(few)


def test_offer_photo_is_served_to_those_who_may_see_the_offer(shop, buyer, tree, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from gongzhi.places.tests.factories import superuser
    from gongzhi.shop.services import OfferInput, offer_create

    from .factories import resident_with_points

    settings.MEDIA_ROOT = tmp_path
    offer = offer_create(
        actor=superuser(),
        community=shop["community"],
        merchant=None,
        data=OfferInput(title="大米", points_price=10, stock=1, valid_from=offer_date(-1), valid_until=offer_date(30)),
        photo=SimpleUploadedFile("rice.png", b"\x89PNG fake", content_type="image/png"),
    )
    assert client_for(buyer[0]).get(f"/shop/offers/{offer.pk}/photo/").status_code == 404  # not approved yet
    from gongzhi.shop.services import offer_approve, offer_submit

    offer_submit(actor=superuser(), offer=offer)
    offer_approve(actor=superuser(), offer=offer)
    response = client_for(buyer[0]).get(f"/shop/offers/{offer.pk}/photo/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"\x89PNG fake"
    outsider, _account = resident_with_points(tree["household_b1"], 0)
    assert client_for(outsider).get(f"/shop/offers/{offer.pk}/photo/").status_code == 404


def offer_date(days: int):
    from datetime import timedelta

    from django.utils import timezone

    return timezone.localdate() + timedelta(days=days)


# ---------------------------------------------------------------- the merchant alliance


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def test_staff_enrol_a_merchant_with_its_agreement_and_end_the_membership(shop, media):
    community = shop["community"]
    newcomer = make_merchant(community, "王家包子铺", join=False)
    client = client_for(account_with_role(Role.COMMUNITY_SECRETARY, community, username="secretary-alliance"))
    page = client.get(f"/shop/manage/?community={community.pk}")
    assert page.status_code == 200
    assert list(page.context["alliance_form"].fields["merchant"].queryset) == [newcomer]  # members are not offered

    agreement = SimpleUploadedFile("协议.pdf", b"%PDF-1.4 signed", content_type="application/pdf")
    response = client.post(
        f"/shop/manage/{community.pk}/alliance/",
        {"merchant": newcomer.pk, "agreement_signed_on": "2026-11-02", "agreement_file": agreement},
    )
    assert response.status_code == 302 and response["Location"] == f"/shop/manage/?community={community.pk}"
    membership = AllianceMembership.objects.get(merchant=newcomer, state="active")
    assert AuditEntry.objects.filter(action="shop.alliance_join", object_id=str(membership.pk)).exists()
    shown = client.get(f"/shop/manage/alliance/{membership.pk}/agreement/")
    assert shown.status_code == 200 and b"".join(shown.streaming_content) == b"%PDF-1.4 signed"
    after = client.get(f"/shop/manage/?community={community.pk}").content.decode()
    assert "王家包子铺" in after and "这里没有其他已登记的商家" in after  # says what to do for the next merchant

    client.post(f"/shop/manage/alliance/{membership.pk}/end/")
    membership.refresh_from_db()
    assert membership.state == "ended" and membership.ended_at is not None


def test_alliance_bad_input_and_other_communities_change_nothing(shop, media, tree):
    community = shop["community"]
    newcomer = make_merchant(community, "王家包子铺", join=False)
    elsewhere = make_merchant(tree["community_b"], "外社区商家")
    client = client_for(account_with_role(Role.COMMUNITY_SECRETARY, community, username="secretary-alliance"))
    before = list(AllianceMembership.objects.order_by("pk").values_list("pk", "state"))

    future = client.post(
        f"/shop/manage/{community.pk}/alliance/",
        {"merchant": newcomer.pk, "agreement_signed_on": "2099-01-01"},
        follow=True,
    )
    assert future.status_code == 200 and "请填写协议签订日期。" in future.content.decode()  # said in Chinese
    executable = SimpleUploadedFile("agreement.exe", b"MZ", content_type="application/octet-stream")
    refused = client.post(
        f"/shop/manage/{community.pk}/alliance/",
        {"merchant": newcomer.pk, "agreement_signed_on": "2026-11-02", "agreement_file": executable},
        follow=True,
    )
    assert "请上传 PDF、JPEG 或 PNG 格式的协议文件。" in refused.content.decode()
    # A merchant of another community cannot be chosen here, and that community's pages answer "not found".
    client.post(
        f"/shop/manage/{community.pk}/alliance/", {"merchant": elsewhere.pk, "agreement_signed_on": "2026-11-02"}
    )
    other_membership = AllianceMembership.objects.get(merchant=elsewhere)
    other_community = tree["community_b"].pk
    assert client.post(f"/shop/manage/{other_community}/alliance/", {"merchant": elsewhere.pk}).status_code == 404
    assert client.post(f"/shop/manage/alliance/{other_membership.pk}/end/").status_code == 404
    assert client.get(f"/shop/manage/alliance/{other_membership.pk}/agreement/").status_code == 404
    assert list(AllianceMembership.objects.order_by("pk").values_list("pk", "state")) == before
