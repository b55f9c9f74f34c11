"""A resident request in a real browser: the resident raises it on a phone (with a photo from the camera), the grid
worker passes it up, the community resolves it on a desktop, and the resident rates it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from gongzhi.cases.models import Case, CaseLevel, CaseState
from gongzhi.cases.tests.factories import make_world
from gongzhi.core.testing import image_upload

from .conftest import DESKTOP, PHONE
from .test_journeys import log_in

pytestmark = pytest.mark.browser

PNG = image_upload("lamp.png", image_format="PNG").read()  # a real picture: uploads are decoded


@pytest.fixture
def world(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return make_world()


def test_resident_raises_grid_escalates_community_resolves_resident_rates(new_page, world, screenshot_dir):
    # The resident, on a phone: Requests in the bottom bar, then raise one with a photo.
    resident = new_page(viewport=PHONE)
    log_in(resident, "resident_a1")
    resident.locator(".bottombar").get_by_role("link", name=re.compile("^(Requests|诉求|我的诉求|民呼我应)$")).click()
    expect(resident).to_have_url(re.compile(r"/cases/mine/$"))
    expect(resident.get_by_test_id("empty-cases")).to_be_visible()
    resident.get_by_test_id("raise").click()
    resident.get_by_test_id("category").filter(has_text="路灯").click()
    resident.fill("#id_text", "楼下路灯坏了，晚上很黑")
    expect(resident.locator("#id_photos")).to_have_attribute("capture", "environment")
    resident.set_input_files("#id_photos", files=[{"name": "lamp.png", "mimeType": "image/png", "buffer": PNG}])
    resident.get_by_test_id("case-submit").click()
    expect(resident.get_by_test_id("case-state")).to_have_attribute("data-state", "submitted")
    expect(resident.get_by_test_id("trail")).to_contain_text("第一网格")
    expect(resident.get_by_test_id("case-photos").locator("img")).to_have_count(1)
    case = Case.objects.get()
    if screenshot_dir is not None:
        screenshot_dir.mkdir(parents=True, exist_ok=True)
        resident.screenshot(path=str(screenshot_dir / "case-resident-phone.png"), full_page=True)

    # The grid worker, on a phone: the queue, then pass it up with a reason.
    worker = new_page(viewport=PHONE)
    log_in(worker, "grid_a1")
    expect(worker.get_by_test_id("inbox-badge")).to_have_attribute("data-unread", "1")
    worker.goto("/cases/")
    expect(worker).to_have_url(re.compile(r"/cases/queue/"))
    worker.get_by_test_id("queue").get_by_role("link", name=re.compile("楼下路灯坏了")).click()
    worker.get_by_test_id("act-accept").click()
    expect(worker.get_by_test_id("case-state")).to_have_attribute("data-state", "accepted")
    worker.get_by_test_id("act-escalate").locator("summary").click()
    worker.get_by_test_id("escalate-submit").click()  # no reason yet: refused, nothing changes
    expect(worker.get_by_test_id("case-error")).to_be_visible()
    worker.fill("#id_escalate_reason", "需要社区协调供电公司")
    worker.get_by_test_id("escalate-submit").click()
    expect(worker.get_by_test_id("case-handler")).to_contain_text("和平社区")
    expect(worker.get_by_test_id("handler-actions")).to_have_count(0)
    case.refresh_from_db()
    assert case.level == CaseLevel.COMMUNITY

    # The community worker, on an office desktop: queue, accept, resolve with what was done.
    office = new_page(viewport=DESKTOP)
    log_in(office, "community_a")
    office.goto("/cases/queue/")
    row = office.get_by_test_id("queue-row").filter(has_text="楼下路灯坏了")
    expect(row).to_have_count(1)
    row.get_by_role("link").click()
    office.get_by_test_id("act-accept").click()
    office.get_by_test_id("act-start").click()
    office.fill("#id_resolution", "已联系供电公司更换灯泡")
    office.get_by_test_id("resolve-submit").click()
    expect(office.get_by_test_id("case-state")).to_have_attribute("data-state", "resolved")
    if screenshot_dir is not None:
        office.screenshot(path=str(screenshot_dir / "case-office-desktop.png"), full_page=True)

    # The resident is told, opens the notification and rates the result.
    resident.goto("/")
    expect(resident.get_by_test_id("home-cases")).to_contain_text("楼下路灯坏了")
    badge = resident.get_by_test_id("inbox-badge")
    expect(badge).not_to_have_attribute("data-unread", "0")
    badge.click()
    resident.get_by_test_id("notification").filter(has_text=re.compile("已联系供电公司|resolved|解决")).first.click()
    expect(resident.get_by_test_id("rate-card")).to_be_visible()
    resident.get_by_test_id("rating-satisfied").click()
    resident.get_by_test_id("rate-submit").click()
    expect(resident.get_by_test_id("case-state")).to_have_attribute("data-state", "closed")
    expect(resident.get_by_test_id("case-rating")).to_be_visible()
    expect(resident.get_by_test_id("trail")).to_contain_text("已联系供电公司更换灯泡")
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED and case.satisfaction == "satisfied"
    assert case.resolved_level == CaseLevel.COMMUNITY


def test_form_keeps_the_photo_queue_finds_full_numbers_merge_is_confirmed_and_undone_visit_finds_a_household(
    new_page, world, screenshot_dir
):
    # The resident, on a phone, forgets the category and the words: both errors at once, the photo is kept.
    resident = new_page(viewport=PHONE)
    log_in(resident, "resident_a1")
    resident.goto("/cases/new/")
    resident.set_input_files("#id_photos", files=[{"name": "lamp.png", "mimeType": "image/png", "buffer": PNG}])
    resident.get_by_test_id("case-submit").click()
    expect(resident.locator("#err-category")).to_be_visible()
    expect(resident.locator("#err-text")).to_be_visible()
    expect(resident.get_by_test_id("held-photos")).to_contain_text("lamp.png")
    resident.get_by_test_id("category").filter(has_text="路灯").click()
    resident.fill("#id_text", "一单元门口路灯不亮")
    resident.get_by_test_id("case-submit").click()  # no file chosen again: the kept photo goes with it
    expect(resident.get_by_test_id("case-state")).to_have_attribute("data-state", "submitted")
    expect(resident.get_by_test_id("case-photos").locator("img")).to_have_count(1)
    first = Case.objects.get()
    # The same matter again, raised a second time.
    resident.goto("/cases/new/")
    resident.get_by_test_id("category").filter(has_text="路灯").click()
    resident.fill("#id_text", "门口的路灯还是不亮")
    resident.get_by_test_id("case-submit").click()
    expect(resident.get_by_test_id("case-state")).to_have_attribute("data-state", "submitted")
    second = Case.objects.exclude(pk=first.pk).get()

    # The grid worker: building · entrance · room in the queue, the full number from the notice finds the request.
    worker = new_page(viewport=PHONE)
    log_in(worker, "grid_a1")
    worker.goto("/cases/queue/")
    expect(worker.get_by_test_id("queue-where").first).to_contain_text("1号楼 · 1单元 · 101")
    expect(worker.get_by_test_id("queue-row")).to_have_count(2)
    worker.fill("#id_q", first.number)
    expect(worker.get_by_test_id("queue-row")).to_have_count(1)
    expect(worker.get_by_test_id("queue-row")).to_contain_text("一单元门口路灯不亮")

    # The second request: the trail masks the resident's name as the header does.
    worker.goto(f"/cases/{second.pk}/")
    expect(worker.get_by_test_id("trail")).to_contain_text("张*")
    expect(worker.get_by_test_id("trail")).not_to_contain_text("张三")
    # Merging asks first; then it can be undone.
    worker.get_by_test_id("duplicates").get_by_test_id("merge-into").click()
    expect(worker.get_by_test_id("merge-into-case")).to_contain_text(first.number)
    second.refresh_from_db()
    assert second.state == CaseState.SUBMITTED  # nothing merged at one tap
    worker.get_by_test_id("merge-confirm").click()
    expect(worker.get_by_test_id("case-state")).to_have_attribute("data-state", "duplicate")
    worker.get_by_test_id("unmerge").click()
    expect(worker.get_by_test_id("case-state")).to_have_attribute("data-state", "submitted")
    expect(worker.get_by_test_id("unmerge")).to_have_count(0)
    second.refresh_from_db()
    assert second.state == CaseState.SUBMITTED and second.duplicate_of_id is None

    # Logging a visit: the household is found by typing its room, served by the app itself as one types.
    worker.goto("/cases/visit/")
    worker.get_by_test_id("household-search").fill("102")
    choices = worker.get_by_test_id("household-choice")
    expect(choices).to_have_count(1)
    expect(choices).to_contain_text("1号楼 · 1单元 · 102")
    choices.click()
    worker.fill("#id_findings", "家中一切正常")
    worker.get_by_test_id("visit-submit").click()
    expect(worker.locator(".messages, [role=status], .alert").first).to_be_visible()
    from gongzhi.cases.models import HouseholdVisit

    assert HouseholdVisit.objects.get().household == world["household_a1b"]
    if screenshot_dir is not None:
        screenshot_dir.mkdir(parents=True, exist_ok=True)
        worker.screenshot(path=str(screenshot_dir / "case-visit-search-phone.png"), full_page=True)
