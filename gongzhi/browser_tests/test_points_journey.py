"""Red points in a real browser: a resident claims on a phone (three taps, photo from the camera input), the
review committee approves in the weekly queue on a desktop, the month is published, and the public list, opened
without logging in, shows the masked name."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from gongzhi.points.models import Claim, ClaimState, PointsAccount
from gongzhi.points.publication import publication_publish
from gongzhi.points.tests.factories import make_item, resident_with_login, reviewer

from .conftest import DESKTOP, PHONE
from .test_journeys import log_in

pytestmark = pytest.mark.browser

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
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
