"""Deliberation in a real browser: a resident proposes on a phone, a neighbour co-signs until the threshold, the
secretary puts it on the agenda and opens a household vote, two households vote, and after the close (two hours
later) the result is published with the ballot chain's head on the public page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from gongzhi.deliberation.models import Topic, Vote
from gongzhi.deliberation.tests.factories import make_world

from .conftest import DESKTOP, PHONE
from .test_journeys import log_in

pytestmark = pytest.mark.browser


def test_resident_proposes_cosigners_reach_threshold_vote_published_result(new_page, transactional_db, screenshot_dir):
    world = make_world()
    for key, username in (("zhang", "zhangsan"), ("wang", "wangwu"), ("secretary", "secretary_d")):
        world[key].username = username
        world[key].save(update_fields=["username"])

    phone = new_page(viewport=PHONE)
    log_in(phone, "zhangsan")
    phone.goto("/deliberation/")
    phone.get_by_test_id("propose-link").click()
    phone.fill("#id_title", "小区增设电动车充电桩")
    phone.fill("#id_description", "电动车在楼道充电有火灾隐患")
    phone.get_by_test_id("propose-submit").click()
    expect(phone.get_by_test_id("cosign-progress")).to_contain_text("1")
    expect(phone.get_by_test_id("cosigned")).to_be_visible()
    topic = Topic.objects.get(title="小区增设电动车充电桩")

    neighbour = new_page(viewport=PHONE)
    log_in(neighbour, "wangwu")
    neighbour.goto(f"/deliberation/topics/{topic.pk}/")
    neighbour.get_by_test_id("cosign").click()
    expect(neighbour.get_by_test_id("cosigned")).to_be_visible()
    expect(neighbour.get_by_test_id("cosign-progress")).to_contain_text("2")

    staff = new_page(viewport=DESKTOP)
    log_in(staff, "secretary_d")
    staff.goto("/deliberation/manage/")
    staff.get_by_test_id("agenda").get_by_role("link", name="小区增设电动车充电桩").click()
    staff.get_by_test_id("accept").click()
    expect(staff.get_by_test_id("state")).to_have_text(re.compile("议程|agenda"))
    staff.fill("#id_vtitle", "是否同意增设充电桩")
    closes = timezone.localtime() + timedelta(hours=2)
    staff.fill("input[name=closes_at]", closes.strftime("%Y-%m-%dT%H:%M"))
    staff.get_by_test_id("vote-create").click()
    vote = Vote.objects.get(topic=topic)

    for page in (phone, neighbour):
        page.goto(f"/deliberation/topics/{topic.pk}/")
        page.locator("input[name=choice][value='1']").check()
        page.get_by_test_id("cast").click()
        expect(page.get_by_test_id("voted")).to_be_visible()

    with time_machine.travel(timezone.now() + timedelta(hours=3), tick=True):
        staff.goto(f"/deliberation/manage/votes/{vote.pk}/")
        expect(staff.get_by_test_id("participants")).to_have_text("2")
        staff.get_by_test_id("publish").click()
        vote.refresh_from_db()
        assert vote.state == "published"
        phone.goto(f"/deliberation/topics/{topic.pk}/")
        phone.get_by_test_id("published-result").click()
        expect(phone.get_by_test_id("chain-intact")).to_be_visible()
        expect(phone.get_by_test_id("head")).to_have_text(vote.head_hash)
        if screenshot_dir is not None:
            screenshot_dir.mkdir(parents=True, exist_ok=True)
            phone.screenshot(path=str(screenshot_dir / "deliberation-result-phone.png"), full_page=True)
