"""A resident opens 我的信息 on a phone, reads what is held about them, and downloads it."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from gongzhi.core.roles import Role
from gongzhi.people.models import RoleAssignment
from gongzhi.people.tests.factories import AccountFactory, ResidentFactory

from .conftest import PHONE
from .test_journeys import log_in

pytestmark = pytest.mark.browser


def test_resident_opens_my_information_and_downloads_it(new_page, tree):
    me = ResidentFactory(household=tree["household_a1"], name="张秀英", phone="13912345678")
    ResidentFactory(household=tree["household_a1"], name="王建国", phone="13800001111", relation="spouse")
    login = AccountFactory(resident=me, username="xiuying", elder_mode=True)
    RoleAssignment.objects.create(account=login, role=Role.RESIDENT, place=tree["household_a1"])
    page = new_page(viewport=PHONE)
    log_in(page, "xiuying")

    page.goto("/me/")
    page.get_by_test_id("personal-data-link").click()
    expect(page.locator("h1")).to_have_text("我的信息")
    profile = page.locator("[data-key='people.profile']")
    expect(profile).to_contain_text("张秀英")
    expect(profile).to_contain_text("13912345678")
    household = page.locator("[data-key='people.household']")
    expect(household).to_contain_text("王**")
    expect(household).to_contain_text("138****1111")
    expect(page.locator("body")).not_to_contain_text("王建国")
    expect(page.locator("[data-key='deliberation.votes']")).to_contain_text("无记名投票")

    with page.expect_download() as waiting:
        page.get_by_test_id("personal-data-download").click()
    download = waiting.value
    assert download.suggested_filename.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    data = json.loads(archive.read("personal-data.json"))
    profile_rows = next(section for section in data["sections"] if section["key"] == "people.profile")["rows"]
    assert profile_rows[0]["name"] == "张秀英"
    assert "personal-data.xlsx" in archive.namelist()
