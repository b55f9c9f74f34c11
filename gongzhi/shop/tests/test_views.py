"""Shop pages through the real client: residents, the counter, staff; denied paths change nothing."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
from gongzhi.core.testing import assert_refused, image_upload
from gongzhi.people.models import Organisation, OrganisationKind
from gongzhi.people.tests.factories import PASSWORD, account_with_role
from gongzhi.points.ledger import account_for_organisation
from gongzhi.shop.errors import ShopError
from gongzhi.shop.models import AllianceMembership, Offer, Redemption
from gongzhi.shop.services import redemption_place

from .factories import credit, make_merchant, make_offer

pytestmark = pytest.mark.django_db


def client_for(account) -> Client:
    client = Client()
    assert client.login(username=account.username, password=PASSWORD)
    return client


def test_resident_browses_redeems_sees_code_and_cancels(world):
    offer = world["offer"]
    login = world["buyer"]
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


def test_redeem_refusal_keeps_the_page_and_changes_nothing(world):
    offer = make_offer(world["community"], world["merchant"], points_price=500)
    login, account = world["buyer"], world["account"]
    client = client_for(login)
    response = assert_refused(
        ShopError.INSUFFICIENT_POINTS,
        lambda: client.post(f"/shop/offers/{offer.pk}/", {"idempotency_key": "k", "quantity": "1"}),
    )
    assert response.status_code == 409
    assert 'data-code="insufficient_points"' in response.content.decode()
    assert Redemption.objects.count() == 0
    offer.refresh_from_db()
    account.refresh_from_db()
    assert (offer.stock, account.balance, account.held) == (5, 100, 0)


def test_someone_elses_order_is_not_found(world):
    offer = world["offer"]
    login, account = world["buyer"], world["account"]
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="o")
    stranger = account_with_role(Role.RESIDENT, world["household_a2"])
    client = client_for(stranger)
    assert_refused("not_found", lambda: client.get(f"/shop/orders/{order.pk}/"), status=404)
    assert_refused("not_found", lambda: client.post(f"/shop/orders/{order.pk}/cancel/"), status=404)
    order.refresh_from_db()
    assert order.state == "held"


def test_counter_verifies_by_typed_code_and_refuses_another_merchants_clerk(world):
    offer = world["offer"]
    login, account = world["buyer"], world["account"]
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="o")
    other = client_for(world["other_clerk"])
    assert_refused(
        "not_found",
        lambda: other.post("/shop/counter/", {"merchant": world["merchant"].pk, "code": order.pickup_code}),
        status=404,
    )
    at_own = assert_refused(ShopError.WRONG_CODE, lambda: other.post("/shop/counter/", {"code": order.pickup_code}))
    assert 'data-code="wrong_code"' in at_own.content.decode()
    order.refresh_from_db()
    assert order.state == "held"

    clerk = client_for(world["clerk"])
    assert clerk.get("/shop/counter/").status_code == 200
    done = clerk.post("/shop/counter/", {"code": order.pickup_code})
    assert done.status_code == 200 and 'data-testid="verified"' in done.content.decode()
    order.refresh_from_db()
    assert order.state == "completed"
    reused = clerk.post("/shop/counter/", {"code": order.pickup_code})
    assert reused.status_code == 409 and 'data-code="code_used"' in reused.content.decode()


def test_counter_finds_a_points_card(world):
    offer = world["offer"]
    login, account = world["buyer"], world["account"]
    redemption_place(actor=login, offer=offer, account=account, idempotency_key="o")
    client_for(login).get("/shop/card/")
    code = account.points_card.code
    found = client_for(world["clerk"]).post("/shop/counter/", {"code": code})
    assert found.status_code == 200 and "牛肉面一碗" in found.content.decode()
    assert 'data-testid="card-lookup"' in found.content.decode()


def test_staff_approve_window_settlement_export_and_stock(world):
    offer = world["offer"]
    secretary = account_with_role(Role.COMMUNITY_SECRETARY, world["community"])
    client = client_for(secretary)
    pending = make_offer(world["community"], world["merchant"], approve=False)
    client.post(f"/shop/offers/{pending.pk}/submit/")
    manage = client.get("/shop/manage/")
    assert manage.status_code == 200 and pending.title in manage.content.decode()
    client.post(f"/shop/offers/{pending.pk}/approve/")
    assert Offer.objects.get(pk=pending.pk).state == "approved"
    response = client.post(
        f"/shop/manage/{world['community'].pk}/windows/",
        {"name": "2027 Q1", "starts_at": "2027-01-01T00:00", "ends_at": "2027-01-15T00:00"},
    )
    assert response.status_code == 302

    login, account = world["buyer"], world["account"]
    order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="s")
    client_for(world["clerk"]).post("/shop/counter/", {"code": order.pickup_code})
    settlement = client.get("/shop/settlement/")
    assert settlement.status_code == 200 and 'data-testid="settlement-points">30<' in settlement.content.decode()
    export = client.get("/shop/settlement.xlsx")
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet["C2"].value == "张记面馆" and sheet["F2"].value == 30
    assert client.get("/shop/stock/").status_code == 200


def test_a_resident_cannot_open_staff_pages(world):
    login = world["buyer"]
    client = client_for(login)
    for url in ("/shop/manage/", "/shop/counter/", "/shop/settlement/"):
        assert_refused("not_found", lambda url=url: client.get(url), status=404)


def test_offer_form_creates_a_pending_offer_for_the_clerks_merchant(world):
    client = client_for(world["clerk"])
    form = client.get("/shop/offers/new/")
    assert form.status_code == 200
    bad = {"community": world["community"].pk, "title": "", "points_price": "x"}
    assert_refused("validation_failed", lambda: client.post("/shop/offers/new/", bad), status=422)
    created = client.post(
        "/shop/offers/new/",
        {
            "community": world["community"].pk,
            "merchant": world["merchant"].pk,
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
    offer = Offer.objects.get(title="满50元送55元")
    assert offer.state == "pending" and offer.merchant == world["merchant"] and offer.stock == 30


def test_offer_list_and_orders_query_counts_do_not_grow(world):
    login, account = world["buyer"], world["account"]
    client = client_for(login)
    for _ in range(3):
        offer = make_offer(world["community"], world["merchant"], points_price=1)
        redemption_place(actor=login, offer=offer, account=account, idempotency_key=f"q{offer.pk}")
    client.get("/shop/")
    with CaptureQueriesContext(connection) as few:
        client.get("/shop/")
        client.get("/shop/orders/")
    for _ in range(5):
        offer = make_offer(world["community"], world["merchant"], points_price=1)
        redemption_place(actor=login, offer=offer, account=account, idempotency_key=f"q{offer.pk}")
    with CaptureQueriesContext(connection) as many:
        client.get("/shop/")
        client.get("/shop/orders/")
    assert len(many) == len(few)


def test_offer_photo_is_served_to_those_who_may_see_the_offer(world, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from gongzhi.places.tests.factories import superuser
    from gongzhi.shop.services import OfferInput, offer_create

    from .factories import resident_with_points

    settings.MEDIA_ROOT = tmp_path
    data = OfferInput(title="大米", points_price=10, stock=1, valid_from=offer_date(-1), valid_until=offer_date(30))
    # A file that only says it is a picture is refused on its field, and nothing is saved.
    fake = SimpleUploadedFile("rice.png", b"\x89PNG fake", content_type="image/png")
    refusal = assert_refused(
        "validation_failed",
        lambda: offer_create(actor=superuser(), community=world["community"], merchant=None, data=data, photo=fake),
    )
    assert "photo" in refusal.fields
    offer = offer_create(
        actor=superuser(),
        community=world["community"],
        merchant=None,
        data=data,
        photo=image_upload("rice.png", image_format="PNG"),
    )
    assert client_for(world["buyer"]).get(f"/shop/offers/{offer.pk}/photo/").status_code == 404  # not approved yet
    from gongzhi.shop.services import offer_approve, offer_submit

    offer_submit(actor=superuser(), offer=offer)
    offer_approve(actor=superuser(), offer=offer)
    response = client_for(world["buyer"]).get(f"/shop/offers/{offer.pk}/photo/")
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"\x89PNG\r\n\x1a\n")
    outsider, _account = resident_with_points(world["household_b1"], 0)
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


def test_staff_enrol_a_merchant_with_its_agreement_and_end_the_membership(world, media):
    community = world["community"]
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


def test_alliance_bad_input_and_other_communities_change_nothing(world, media):
    community = world["community"]
    newcomer = make_merchant(community, "王家包子铺", join=False)
    elsewhere = make_merchant(world["community_b"], "外社区商家")
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
    assert "请上传 PDF / JPEG / PNG 格式的文件。" in refused.content.decode()  # checked by its first bytes
    # A merchant of another community cannot be chosen here, and that community's pages answer "not found".
    client.post(
        f"/shop/manage/{community.pk}/alliance/", {"merchant": elsewhere.pk, "agreement_signed_on": "2026-11-02"}
    )
    other_membership = AllianceMembership.objects.get(merchant=elsewhere)
    other_community = world["community_b"].pk
    assert_refused(
        "not_found",
        lambda: client.post(f"/shop/manage/{other_community}/alliance/", {"merchant": elsewhere.pk}),
        status=404,
    )
    assert_refused("not_found", lambda: client.post(f"/shop/manage/alliance/{other_membership.pk}/end/"), status=404)
    assert_refused(
        "not_found", lambda: client.get(f"/shop/manage/alliance/{other_membership.pk}/agreement/"), status=404
    )
    assert list(AllianceMembership.objects.order_by("pk").values_list("pk", "state")) == before


# ---------------------------------------------------------------- what a person trying each role hit (#15)


def redeem_form(client, offer) -> str:
    page = client.get(f"/shop/offers/{offer.pk}/")
    assert page.status_code == 200
    return page.content.decode()


def test_the_redeem_button_is_off_and_says_how_many_points_are_missing(world):
    offer = make_offer(world["community"], world["merchant"], title="电饭煲", points_price=130, stock=3)
    client = client_for(world["buyer"])
    page = redeem_form(client, offer)
    assert re.search(r'<button[^>]*data-testid="redeem"[^>]*disabled', page)
    assert 'data-testid="redeem-why">还差 30 分<' in page
    # The server says the same if the form is posted anyway, and nothing is held.
    refused = assert_refused(
        ShopError.INSUFFICIENT_POINTS,
        lambda: client.post(f"/shop/offers/{offer.pk}/", {"idempotency_key": "short", "quantity": "1"}),
    )
    assert "还差 30 分" in refused.content.decode()
    # Enough for one: the button is on and the field allows one.
    credit(world["account"], 30)
    page = redeem_form(client, offer)
    assert not re.search(r'<button[^>]*data-testid="redeem"[^>]*disabled', page)
    assert re.search(r'id="id_quantity"[^>]*max="1"', page)


def test_the_quantity_follows_the_limit_the_stock_and_the_balance(world):
    client = client_for(world["buyer"])  # 100 points
    limited = make_offer(world["community"], world["merchant"], points_price=5, stock=10, per_person_limit=2)
    assert re.search(r'id="id_quantity"[^>]*max="2"', redeem_form(client, limited))
    few_left = make_offer(world["community"], world["merchant"], points_price=5, stock=3)
    assert re.search(r'id="id_quantity"[^>]*max="3"', redeem_form(client, few_left))
    dear = make_offer(world["community"], world["merchant"], points_price=30, stock=10)
    assert re.search(r'id="id_quantity"[^>]*max="3"', redeem_form(client, dear))  # 100 points buy three
    assert "目前最多可兑 3 份。" in redeem_form(client, dear)

    # Twenty where the limit is two: refused, nothing held.
    assert_refused(
        ShopError.LIMIT_REACHED,
        lambda: client.post(f"/shop/offers/{limited.pk}/", {"idempotency_key": "twenty", "quantity": "20"}),
    )
    assert_refused(
        ShopError.INSUFFICIENT_POINTS,
        lambda: client.post(f"/shop/offers/{dear.pk}/", {"idempotency_key": "four", "quantity": "4"}),
    )
    placed = client.post(f"/shop/offers/{limited.pk}/", {"idempotency_key": "one", "quantity": "1"})
    assert placed.status_code == 302
    assert re.search(r'id="id_quantity"[^>]*max="1"', redeem_form(client, limited))
    client.post(f"/shop/offers/{limited.pk}/", {"idempotency_key": "two", "quantity": "1"})
    page = redeem_form(client, limited)
    assert re.search(r'<button[^>]*data-testid="redeem"[^>]*disabled', page)
    assert "本兑换期每人限兑 2 份，您已兑满" in page
    assert Redemption.objects.filter(offer=limited).count() == 2


def test_a_clerks_home_page_leads_to_the_counter(world):
    client = client_for(world["clerk"])
    home = client.get("/").content.decode()
    assert 'data-testid="home-shop-slot"' in home and 'hx-get="/shop/home-card/"' in home
    card = client.get("/shop/home-card/").content.decode()
    link = f'/shop/counter/?merchant={world["merchant"].pk}'
    assert 'data-testid="home-counter"' in card and link in card
    counter = client.get(link)
    assert counter.status_code == 200 and "张记面馆" in counter.content.decode()
    # A resident has no counter on the home page.
    assert client_for(world["buyer"]).get("/shop/home-card/").content == b""


def test_an_organisation_representative_spends_the_organisations_points(world):
    school = Organisation.objects.create(kind=OrganisationKind.SCHOOL, name="和平小学", place=world["community"])
    organisation_account = account_for_organisation(school)
    credit(organisation_account, 6)
    representative = account_with_role(
        Role.ORGANISATION_REPRESENTATIVE, world["community"], username="school_rep", organisation=school
    )
    client = client_for(representative)
    # The same account on /points/, on /shop/ and on the home page.
    assert 'data-testid="balance">6<' in client.get("/points/").content.decode()
    shop = client.get("/shop/").content.decode()
    assert 'data-testid="balance">6<' in shop and "还没有积分账户" not in shop
    assert 'data-testid="home-shop-slot"' in client.get("/").content.decode()
    card = client.get("/shop/home-card/").content.decode()
    assert "和平小学的积分" in card and 'data-testid="home-organisation-balance">6<' in card

    pencils = make_offer(world["community"], None, title="铅笔一盒", points_price=5, stock=4)
    placed = client.post(f"/shop/offers/{pencils.pk}/", {"idempotency_key": "school-1", "quantity": "1"})
    order = Redemption.objects.get(offer=pencils)
    assert placed.status_code == 302 and order.account == organisation_account
    assert "铅笔一盒" in client.get("/shop/orders/").content.decode()
    organisation_account.refresh_from_db()
    assert (organisation_account.balance, organisation_account.held) == (1, 5)
    # Someone else's organisation account is not theirs to spend.
    other = account_for_organisation(
        Organisation.objects.create(kind=OrganisationKind.SCHOOL, name="幸福中学", place=world["community"])
    )
    credit(other, 50)
    assert_refused(
        "not_found",
        lambda: redemption_place(actor=representative, offer=pencils, account=other, idempotency_key="not-mine"),
    )
