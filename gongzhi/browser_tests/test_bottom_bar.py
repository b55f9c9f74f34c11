"""The phone's bottom bar in elder mode: on a 360-px-wide phone every label stays on one line and whole."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from gongzhi.core.roles import Role
from gongzhi.people.tests.factories import account_with_role

from .test_journeys import log_in

pytestmark = pytest.mark.browser

SMALL_PHONE = {"width": 360, "height": 740}

# Each label's box, its line height, and whether its text is cut off or leaves the screen.
MEASURE_LABELS = """() => [...document.querySelectorAll('.bottombar a span')].map(span => {
  const box = span.getBoundingClientRect();
  return {
    text: span.textContent.trim(),
    height: box.height,
    lineHeight: parseFloat(getComputedStyle(span).lineHeight),
    fontSize: parseFloat(getComputedStyle(span).fontSize),
    cut: span.scrollWidth > span.clientWidth,
    right: box.right,
  };
})"""


def assert_one_line_each(page, expected: list[str]) -> None:
    labels = page.evaluate(MEASURE_LABELS)
    assert [label["text"] for label in labels] == expected
    for label in labels:
        assert label["fontSize"] >= 18, label  # still elder-sized
        assert label["height"] == pytest.approx(label["lineHeight"], abs=1), label  # one line, not two
        assert not label["cut"], label
        assert label["right"] <= SMALL_PHONE["width"], label


@pytest.mark.parametrize(
    ("role", "place_key", "chinese", "english"),
    [
        (
            Role.RESIDENT,
            "household_a1",
            ["首页", "诉求", "积分", "积分超市", "我的"],
            ["Home", "Requests", "Points", "Shop", "Me"],
        ),
        (
            Role.GRID_WORKER,
            "grid_a1",
            ["首页", "诉求", "地点", "积分", "我的"],
            ["Home", "Requests", "Places", "Points", "Me"],
        ),
    ],
)
def test_elder_mode_bottom_bar_labels_fit_on_one_line(
    new_page, tree, role, place_key, chinese, english, screenshot_dir
):
    account_with_role(role, tree[place_key], username="bar_user")
    page = new_page(viewport=SMALL_PHONE)
    log_in(page, "bar_user")
    page.get_by_test_id("elder-toggle").click()
    expect(page.locator("body")).to_have_class(re.compile(r"\belder\b"))
    expect(page.locator(".bottombar")).to_be_visible()
    assert_one_line_each(page, chinese)
    if screenshot_dir is not None:
        screenshot_dir.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot_dir / f"bottom-bar-elder-{role}.png"))
    # English labels are longer: a wider slot for "Requests", still one line, whole and on the screen.
    page.get_by_test_id("lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert_one_line_each(page, english)
