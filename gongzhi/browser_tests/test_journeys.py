"""Journeys through the pages in a real browser: a grid worker at work, elder mode, the language switch."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from gongzhi.core.roles import Role
from gongzhi.people.tests.factories import PASSWORD, ResidentFactory, account_with_role

from .conftest import DESKTOP, PHONE

pytestmark = pytest.mark.browser


def log_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.locator("form[action^='/login/'] button[type=submit]").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def test_grid_worker_finds_a_household_and_cannot_open_another_grid(new_page, tree, grid_worker_a1, screenshot_dir):
    resident = ResidentFactory(household=tree["household_a1"], name="张三")
    ResidentFactory(household=tree["household_a1b"], name="赵六")
    stranger = ResidentFactory(household=tree["household_b1"], name="王五")
    page = new_page(viewport=PHONE)

    page.goto("/login/")
    page.fill("#id_username", "grid_a1")
    page.fill("#id_password", "wrong-password")
    page.locator("form[action^='/login/'] button[type=submit]").click()
    expect(page.get_by_test_id("login-error")).to_contain_text("用户名或密码不正确")
    expect(page.locator("#id_username")).to_have_value("grid_a1")

    log_in(page, "grid_a1")
    card = page.get_by_test_id("home-place")
    expect(card).to_contain_text("第一网格")
    card.get_by_role("link", name="第一网格").click()
    expect(page.locator("h1")).to_contain_text("第一网格")
    page.get_by_test_id("children").get_by_role("link", name="1号楼").click()
    page.get_by_test_id("children").get_by_role("link", name="1单元").click()
    page.get_by_test_id("children").get_by_role("link", name="101").click()
    expect(page.locator("h1")).to_contain_text("101")
    page.get_by_test_id("member").filter(has_text="张三").click()
    expect(page.get_by_test_id("id-card")).to_have_text(resident.id_card_masked)

    # The residents list searches as the worker types (htmx swaps the table without reloading the page).
    page.goto(f"/places/{tree['grid_a1'].pk}/residents/")
    expect(page.get_by_test_id("residents")).to_contain_text("赵六")
    page.fill("#id_q", "张")
    expect(page.get_by_test_id("residents")).not_to_contain_text("赵六")
    expect(page.get_by_test_id("residents")).to_contain_text("张三")
    expect(page).to_have_url(re.compile(r"q=%E5%BC%A0"))
    if screenshot_dir is not None:
        screenshot_dir.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot_dir / "residents-phone.png"), full_page=True)
        desktop = new_page(viewport=DESKTOP)
        log_in(desktop, "grid_a1")
        desktop.goto(f"/places/{tree['grid_a1'].pk}/residents/")
        desktop.screenshot(path=str(screenshot_dir / "residents-desktop.png"), full_page=True)
        desktop.goto(f"/places/{tree['building_a1'].pk}/")
        desktop.screenshot(path=str(screenshot_dir / "building-desktop.png"), full_page=True)

    response = page.goto(f"/places/residents/{stranger.pk}/")
    assert response.status == 404
    expect(page.get_by_test_id("error-page")).to_contain_text("没有找到")
    expect(page.locator("body")).not_to_contain_text("王五")


def test_elder_mode_stays_on_after_reload_and_login_again(new_page, tree, resident_a1, screenshot_dir):
    account_with_role(Role.RESIDENT, tree["household_a1"], username="zhangsan", resident=resident_a1)
    page = new_page(viewport=PHONE)
    log_in(page, "zhangsan")
    expect(page.locator("body")).not_to_have_class(re.compile(r"\belder\b"))

    page.get_by_test_id("elder-toggle").click()
    expect(page.locator("body")).to_have_class(re.compile(r"\belder\b"))
    page.reload()
    expect(page.locator("body")).to_have_class(re.compile(r"\belder\b"))
    font_size = page.evaluate("getComputedStyle(document.body).fontSize")
    assert float(font_size.rstrip("px")) >= 18
    if screenshot_dir is not None:
        screenshot_dir.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot_dir / "home-phone-elder.png"), full_page=True)

    page.goto("/me/")
    page.get_by_test_id("logout").click()
    page.wait_for_url(re.compile(r".*/login/$"))
    expect(page.locator("body")).to_have_class(re.compile(r"\belder\b"))  # the login page honours the cookie

    other_device = new_page(viewport=PHONE)  # no cookies: elder mode comes back from the account
    log_in(other_device, "zhangsan")
    expect(other_device.locator("body")).to_have_class(re.compile(r"\belder\b"))


def test_language_switch_to_english_and_back(new_page, tree, grid_worker_a1):
    page = new_page(viewport=DESKTOP, locale="en-US")
    page.goto("/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")  # Chinese first, whatever the browser says
    page.get_by_test_id("lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Log in")

    log_in(page, "grid_a1")
    expect(page.locator(".topnav")).to_contain_text("Places")
    page.get_by_test_id("lang-zh").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator(".topnav")).to_contain_text("地点")
    grid_worker_a1.refresh_from_db()
    assert grid_worker_a1.preferred_language == "zh-hans"
