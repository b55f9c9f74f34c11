"""Co-building in a real browser: an organisation's representative, on a phone, publishes a resource, claims a
micro-project and reports it done with a photo; the community worker, at a desk, confirms it."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect

from gongzhi.cobuilding.models import Project, Resource
from gongzhi.cobuilding.tests.factories import make_organisation, make_project, representative_of, sign
from gongzhi.core.roles import Role
from gongzhi.people.models import OrganisationKind
from gongzhi.people.tests.factories import account_with_role

from .conftest import DESKTOP, PHONE
from .test_journeys import log_in

pytestmark = pytest.mark.browser


def _photo(tmp_path):
    from PIL import Image

    path = tmp_path / "done.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 160, 60)).save(buffer, format="JPEG")
    path.write_bytes(buffer.getvalue())
    return path


def test_representative_publishes_claims_reports_done_and_the_community_confirms(
    new_page, tree, tmp_path, screenshot_dir
):
    community = tree["community_a"]
    school = make_organisation(community, "实验小学", OrganisationKind.SCHOOL, supervising_department="区教育局")
    sign(school, community)
    representative_of(school, "rep_school")
    account_with_role(Role.COMMUNITY_WORKER, community, username="worker_a")
    project = make_project(community, title="楼道扶手加装")

    phone = new_page(viewport=PHONE)
    log_in(phone, "rep_school")
    phone.goto("/cobuilding/")
    expect(phone.get_by_test_id("representative")).to_contain_text("实验小学")
    phone.get_by_test_id("resource-new").click()
    phone.get_by_test_id("kind").select_option("venue")
    phone.get_by_test_id("title").fill("学校操场周末开放")
    phone.get_by_test_id("publish").click()
    # A venue without opening times is refused in the form, with what was typed kept.
    expect(phone.get_by_test_id("form-error")).to_be_visible()
    expect(phone.get_by_test_id("title")).to_have_value("学校操场周末开放")
    phone.get_by_test_id("opening-times").fill("周六、周日 8:00–17:00")
    phone.get_by_test_id("publish").click()
    expect(phone.get_by_test_id("my-resources")).to_contain_text("学校操场周末开放")
    assert Resource.objects.get().opening_times == "周六、周日 8:00–17:00"

    phone.get_by_test_id("open-projects").get_by_role("link", name="楼道扶手加装").click()
    phone.get_by_test_id("claim").click()
    expect(phone.get_by_test_id("state")).to_have_attribute("data-state", "claimed")
    phone.get_by_test_id("note").fill("扶手安装完毕")
    phone.get_by_test_id("photos").set_input_files(str(_photo(tmp_path)))
    phone.get_by_test_id("completed").check()
    phone.get_by_test_id("report").click()
    expect(phone.get_by_test_id("state")).to_have_attribute("data-state", "reported")
    expect(phone.get_by_test_id("progress")).to_contain_text("扶手安装完毕")
    expect(phone.get_by_test_id("progress").locator("img")).to_be_visible()
    if screenshot_dir is not None:
        screenshot_dir.mkdir(parents=True, exist_ok=True)
        phone.screenshot(path=str(screenshot_dir / "cobuilding-project-phone.png"), full_page=True)

    desk = new_page(viewport=DESKTOP)
    log_in(desk, "worker_a")
    desk.goto("/cobuilding/")
    desk.get_by_test_id("to-confirm").get_by_role("link", name="楼道扶手加装").click()
    desk.get_by_test_id("confirm").click()
    expect(desk.get_by_test_id("state")).to_have_attribute("data-state", "confirmed")
    project.refresh_from_db()
    assert project.state == Project.State.CONFIRMED and project.claimer == school
