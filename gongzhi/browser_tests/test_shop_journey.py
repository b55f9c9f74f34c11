"""The points shop in a real browser: a resident redeems on a phone (the quantity and the button follow the limit
and the balance), the clerk finds the counter from the home page and types the pickup code, the resident's balance
and the street office's settlement show it; an organisation's representative sees and spends its points."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from gongzhi.core.roles import Role
from gongzhi.people.models import Organisation, OrganisationKind
from gongzhi.people.tests.factories import account_with_role
from gongzhi.points.ledger import account_for_organisation
from gongzhi.shop.tests.factories import clerk_of, credit, make_merchant, make_offer, open_shop, resident_with_points

from .conftest import DESKTOP, PHONE
from .test_journeys import log_in

pytestmark = pytest.mark.browser


def test_resident_redeems_clerk_verifies_balance_and_settlement_show_it(new_page, tree, screenshot_dir):
    community = tree["community_a"]
    open_shop(community)
    merchant = make_merchant(community, "张记面馆")
    clerk_of(merchant, "clerk_zhang")
    make_offer(
        community, merchant, title="牛肉面一碗", points_price=30, stock=5, per_person_limit=2, discount_value="12.00"
    )
    make_offer(community, None, title="电饭煲", points_price=130, stock=2)
    login, _account = resident_with_points(tree["household_a1"], 100, name="张三")
    login.username = "zhangsan"
    login.save(update_fields=["username"])
    account_with_role(Role.STREET_ADMIN, tree["street"], username="street_office")

    # The resident, on a phone: the shop from the bottom bar, the offer, redeem.
    phone = new_page(viewport=PHONE)
    log_in(phone, "zhangsan")
    phone.locator("nav.bottombar a[href='/shop/']").click()
    expect(phone.get_by_test_id("balance")).to_have_text("100")
    # What the balance does not cover cannot be redeemed, and the page says by how much.
    phone.get_by_test_id("offers").get_by_role("link", name=re.compile("电饭煲")).click()
    expect(phone.get_by_test_id("redeem")).to_be_disabled()
    expect(phone.get_by_test_id("redeem-why")).to_have_text("还差 30 分")
    phone.go_back()
    phone.get_by_test_id("offers").get_by_role("link", name=re.compile("牛肉面一碗")).click()
    expect(phone.get_by_test_id("quantity")).to_have_attribute("max", "2")  # the limit, not 20
    expect(phone.get_by_test_id("redeem")).to_be_enabled()
    phone.get_by_test_id("redeem").click()
    expect(phone.get_by_test_id("order")).to_have_attribute("data-state", "held")
    code = phone.get_by_test_id("pickup-code").inner_text().strip()
    assert re.fullmatch(r"\d{6}", code)
    expect(phone.locator(".qr svg")).to_be_visible()
    if screenshot_dir is not None:
        screenshot_dir.mkdir(parents=True, exist_ok=True)
        phone.screenshot(path=str(screenshot_dir / "shop-order-phone.png"), full_page=True)

    # The clerk, on an old phone without a camera API: from the home page to the counter, types the six digits.
    counter = new_page(viewport=PHONE)
    log_in(counter, "clerk_zhang")
    counter.goto("/")
    counter.get_by_test_id("home-counter-link").click()
    expect(counter.get_by_test_id("counter-label")).to_contain_text("张记面馆")
    # No camera API: the shared scanner keeps the camera button hidden and, at the counter, says nothing.
    expect(counter.locator("#scan-start")).to_be_hidden()
    expect(counter.locator("#scan-note")).to_be_hidden()
    counter.fill("#id_code", code)
    counter.get_by_test_id("verify").click()
    expect(counter.get_by_test_id("verified")).to_contain_text("牛肉面一碗")
    # The same code again is refused, clearly.
    counter.fill("#id_code", code)
    counter.get_by_test_id("verify").click()
    expect(counter.get_by_test_id("counter-error")).to_have_attribute("data-code", "code_used")

    # The resident's balance shows the points spent, and the order is picked up.
    phone.goto("/shop/")
    expect(phone.get_by_test_id("balance")).to_have_text("70")
    expect(phone.get_by_test_id("held")).to_have_text("0")
    phone.get_by_test_id("my-orders").click()
    expect(phone.get_by_test_id("orders").locator(".state-completed")).to_have_count(1)

    # The street office's settlement for the month.
    office = new_page(viewport=DESKTOP)
    log_in(office, "street_office")
    office.goto("/shop/settlement/")
    row = office.get_by_test_id("settlement-row").filter(has_text="张记面馆")
    expect(row).to_contain_text("12.00")
    expect(row.get_by_test_id("settlement-points")).to_have_text("30")
    with office.expect_download() as download:
        office.get_by_test_id("export").click()
    assert download.value.suggested_filename.endswith(".xlsx")


def test_an_organisation_representative_sees_and_spends_the_organisations_points(new_page, tree):
    community = tree["community_a"]
    open_shop(community)
    school = Organisation.objects.create(kind=OrganisationKind.SCHOOL, name="和平小学", place=community)
    credit(account_for_organisation(school), 6)
    account_with_role(Role.ORGANISATION_REPRESENTATIVE, community, username="school_rep", organisation=school)
    make_offer(community, None, title="铅笔一盒", points_price=5, stock=4)

    page = new_page(viewport=PHONE)
    log_in(page, "school_rep")
    page.goto("/")
    card = page.get_by_test_id("home-organisation-points")
    expect(card).to_contain_text("和平小学")
    expect(page.get_by_test_id("home-organisation-balance")).to_have_text("6")
    page.goto("/points/")
    expect(page.get_by_test_id("balance")).to_have_text("6")
    page.goto("/")
    page.get_by_test_id("home-organisation-shop").click()
    expect(page.get_by_test_id("balance")).to_have_text("6")
    page.get_by_test_id("offers").get_by_role("link", name=re.compile("铅笔一盒")).click()
    expect(page.get_by_test_id("quantity")).to_have_attribute("max", "1")  # 6 points buy one
    page.get_by_test_id("redeem").click()
    expect(page.get_by_test_id("order")).to_have_attribute("data-state", "held")
    page.goto("/shop/")
    expect(page.get_by_test_id("balance")).to_have_text("1")
