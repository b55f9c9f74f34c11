"""Red points in a real browser: a resident claims on a phone (three taps, photo from the camera input), the
review committee approves in the weekly queue on a desktop, the month is published, and the public list, opened
without logging in, shows the masked name."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from gongzhi.core.roles import Role
from gongzhi.people.models import Organisation
from gongzhi.people.tests.factories import account_with_role
from gongzhi.points.ledger import account_for_organisation
from gongzhi.points.models import Claim, ClaimState, PointsAccount
from gongzhi.points.publication import publication_publish
from gongzhi.points.services import adjustment_propose, claim_approve, claim_submit
from gongzhi.points.tests.factories import make_item, resident_with_login, reviewer, secretary, worker

from .conftest import DESKTOP, PHONE
from .test_journeys import log_in

pytestmark = pytest.mark.browser

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6338a1a1f11f0004ec0218d2b6a8a20000000049454e44ae426082"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_resident_claims_reviewer_approves_public_list_shows_masked_name(new_page, tree, screenshot_dir):
    community = tree["community_a"]
    make_item(tree["district"], value=5, name="楼道环境整治")
    make_item(tree["district"], value=3, name="探访独居老人")
    login, account = resident_with_login(tree["household_a1"], name="张三丰")
    login.username = "zhangsanfeng"
    login.save(update_fields=["username"])
    committee = reviewer(community, username="reviewer_a")

    # The resident, on a phone: Points → the item → send (the date is today, the photo optional).
    phone = new_page(viewport=PHONE)
    log_in(phone, "zhangsanfeng")
    phone.locator(".bottombar").get_by_role("link", name=re.compile("^(积分|Points)$")).click()
    expect(phone.get_by_test_id("balance")).to_have_text("0")
    phone.get_by_test_id("claim-start").click()
    phone.get_by_test_id("item").filter(has_text="楼道环境整治").click()
    expect(phone.locator("#id_service_date")).to_have_value(f"{timezone.localdate():%Y-%m-%d}")
    expect(phone.locator("#id_photos")).to_have_attribute("capture", "environment")
    phone.locator("#id_photos").set_input_files({"name": "photo.png", "mimeType": "image/png", "buffer": PNG})
    phone.get_by_test_id("claim-submit").click()
    expect(phone.get_by_test_id("my-claims")).to_contain_text("楼道环境整治")
    claim = Claim.objects.get(account=account)
    assert claim.state == ClaimState.SUBMITTED and claim.photos.count() == 1
    if screenshot_dir is not None:
        screenshot_dir.mkdir(parents=True, exist_ok=True)
        phone.screenshot(path=str(screenshot_dir / "points-claims-phone.png"), full_page=True)

    # The reviewer, at a desktop: the queue shows the claim with its photo; select it and approve.
    desk = new_page(viewport=DESKTOP)
    log_in(desk, "reviewer_a")
    desk.goto("/points/review/")
    row = desk.get_by_test_id("queue-row").filter(has_text="张三丰")
    expect(row.locator(".thumbs img")).to_have_count(1)
    row.locator("input[name=claim]").check()
    desk.get_by_test_id("approve").click()
    expect(desk.get_by_test_id("review-result")).to_be_visible()
    expect(desk.get_by_test_id("empty-queue")).to_be_visible()
    claim.refresh_from_db()
    assert claim.state == ClaimState.APPROVED
    account.refresh_from_db()
    assert account.balance == 5

    # The resident sees the points.
    phone.goto("/points/")
    expect(phone.get_by_test_id("balance")).to_have_text("5")
    expect(phone.get_by_test_id("my-rank")).to_have_text("1")

    # The committee publishes the month of the service (told the time: the 3rd of the month after it).
    month = claim.service_date.replace(day=1)
    after_month = (month + timedelta(days=32)).replace(day=3)
    publication = publication_publish(
        actor=committee,
        community=community,
        month=month,
        now=timezone.make_aware(datetime.combine(after_month, time(9))),
    )
    assert publication.lines.get().masked_name == "张**"

    # Anyone, without logging in: the public list shows the masked name, never the full one.
    public = new_page(viewport=PHONE)
    public.goto(f"/points/public/{community.pk}/")
    public.get_by_test_id("public-months").get_by_role("link").first.click()
    table = public.get_by_test_id("publication")
    expect(table).to_contain_text("张**")
    expect(public.locator("body")).not_to_contain_text("张三丰")
    if screenshot_dir is not None:
        public.emulate_media(media="print")
        public.screenshot(path=str(screenshot_dir / "points-publication-print.png"), full_page=True)
    assert PointsAccount.objects.get(pk=account.pk).earned_total == 5


def test_reviewer_finds_a_claim_by_name_and_decides_it_on_its_page_street_admin_told_of_an_adjustment(
    new_page, tree, screenshot_dir
):
    community = tree["community_a"]
    item = make_item(tree["district"], value=5, name="楼道环境整治")
    day = timezone.localdate() - timedelta(days=1)
    accounts = {}
    for name in ("欧阳修", "李清照", "王安石"):
        login, accounts[name] = resident_with_login(tree["household_a1"], name=name)
        claim_submit(actor=login, account=accounts[name], item=item, service_date=day)
    reviewer(community, username="reviewer_b")

    # The reviewer's home: the points card leads to the queue; no button to a residents page they cannot open.
    desk = new_page(viewport=DESKTOP)
    log_in(desk, "reviewer_b")
    card = desk.get_by_test_id("home-review")
    expect(card).to_contain_text("3")
    expect(desk.locator("main a[href$='/residents/']")).to_have_count(0)
    card.get_by_role("link").click()

    # The queue: weeks read as dates; find one person by name (htmx keeps the search in the address).
    expect(desk.get_by_test_id("queue")).to_contain_text("周（")
    expect(desk.get_by_test_id("queue")).not_to_contain_text("-W")
    desk.get_by_test_id("queue-search").fill("李清照")
    desk.get_by_test_id("queue-search").press("Enter")
    expect(desk.get_by_test_id("queue-row")).to_have_count(1)
    expect(desk).to_have_url(re.compile(r"q=%E6%9D%8E"))

    # The claim's page: decide there, and land on the same search in the queue.
    desk.get_by_test_id("claim-link").click()
    expect(desk.get_by_test_id("back-link")).to_have_text("返回审核列表")
    if screenshot_dir is not None:
        screenshot_dir.mkdir(parents=True, exist_ok=True)
        desk.screenshot(path=str(screenshot_dir / "points-claim-decide-desktop.png"), full_page=True)
    desk.get_by_test_id("decide-form").get_by_test_id("approve").click()
    expect(desk).to_have_url(re.compile(r"/points/review/\?.*q=%E6%9D%8E"))
    expect(desk.get_by_test_id("empty-queue")).to_be_visible()
    assert Claim.objects.get(account=accounts["李清照"]).state == ClaimState.APPROVED

    # A habit: /points/record/ takes the reviewer (who does not record) to the queue, not to a 404.
    desk.goto("/points/record/")
    expect(desk).to_have_url(re.compile(r"/points/review/$"))
    expect(desk.get_by_test_id("queue-row")).to_have_count(2)

    # The public ranking: people masked, a resident organisation named in full.
    school = account_for_organisation(Organisation.objects.create(kind="school", name="中心小学", place=community))
    staff = worker(community)
    claim_approve(
        actor=reviewer(community),
        claim=claim_submit(actor=staff, account=school, item=item, service_date=day),
    )
    public = new_page(viewport=PHONE)
    public.goto(f"/points/public/rankings/{community.pk}/")
    expect(public.locator("main")).to_contain_text("中心小学")
    expect(public.locator("main")).to_contain_text("李**")
    expect(public.locator("main")).not_to_contain_text("李清照")

    # A street admin, the second person, is told on the home page that an adjustment waits, and approves it.
    adjustment_propose(actor=secretary(community), account=accounts["王安石"], amount=3, reason="线下活动补录")
    account_with_role(Role.STREET_ADMIN, tree["street"], username="street_b")
    phone = new_page(viewport=PHONE)
    log_in(phone, "street_b")
    notice = phone.get_by_test_id("home-adjustments")
    expect(notice).to_contain_text("1")
    notice.get_by_role("link").click()
    row = phone.get_by_test_id("waiting-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("王安石")
    row.get_by_test_id("adjustment-approve").click()
    expect(phone.get_by_test_id("nothing-waiting")).to_be_visible()
    assert PointsAccount.objects.get(pk=accounts["王安石"].pk).balance == 3
