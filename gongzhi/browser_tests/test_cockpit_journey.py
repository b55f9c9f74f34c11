"""The cockpit in a real browser: the district admin opens the district cockpit on a desktop, chooses March 2031,
reads a definition, drills down street → community → grid keeping the period, and a grid worker reads their
grid's cockpit on a 360 px phone; a community worker asks for a PDF work report, watches its progress reach done
and downloads it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from gongzhi.cockpit.tests.conftest import build_world

from .conftest import DESKTOP
from .test_journeys import log_in

pytestmark = pytest.mark.browser
PHONE_360 = {"width": 360, "height": 740}


@pytest.fixture
def world(transactional_db):
    return build_world()


def _value(page, key: str):
    return page.locator(f'tr[data-kpi="{key}"]').get_by_test_id("kpi-value")


def test_district_cockpit_drills_down_to_a_grid_keeping_the_period(new_page, world, screenshot_dir):
    page = new_page(viewport=DESKTOP)
    log_in(page, "district")
    page.get_by_test_id("home-cockpit").click()
    expect(page).to_have_url(re.compile(rf"/cockpit/{world['district'].pk}/$"))
    expect(page.get_by_test_id("cockpit-title")).to_contain_text("示范区")

    # The period chooser: the month holding 5 March 2031.
    page.get_by_test_id("period-month").check()
    page.fill("input[name=day]", "2031-03-05")
    page.get_by_test_id("period-show").click()
    expect(page.get_by_test_id("cockpit")).to_have_attribute("data-period", "2031-03")
    expect(_value(page, "points.ledger.issued")).to_have_text("8")
    expect(_value(page, "cases.cases.on_time")).to_have_text("66.7%")
    # The comparison with February arrives on its own request and fills the last columns.
    expect(page.locator('tr[data-kpi="cases.cases.on_time"] .kpi-change')).to_have_text("−33.3 pt")
    expect(page.get_by_test_id("figures")).to_have_attribute("data-compared", "yes")

    # The definition on tap (and in the title on hover).
    row = page.locator('tr[data-kpi="cases.cases.on_time"]')
    expect(row.locator("summary")).to_have_attribute("title", re.compile("从未超时"))
    row.locator("summary").click()
    expect(row.locator("details p").first).to_be_visible()

    # The trend loads on its own: twelve months.
    expect(page.get_by_test_id("trend-table").locator("tbody tr")).to_have_count(12)
    if screenshot_dir is not None:
        screenshot_dir.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot_dir / "cockpit-district.png"), full_page=True)

    # Drill down: street, community A, grid A1; the period stays March.
    for name, key in (("东街道", "street"), ("和平社区", "community_a"), ("第一网格", "grid_a1")):
        page.get_by_test_id("ranking").first.get_by_role("link", name=name).click()
        expect(page).to_have_url(re.compile(rf"/cockpit/{world[key].pk}/\?period=2031-03$"))
        expect(page.get_by_test_id("cockpit")).to_have_attribute("data-period", "2031-03")
    expect(page.get_by_test_id("cockpit-title")).to_contain_text("第一网格")
    expect(_value(page, "cases.cases.received")).to_have_text("4")
    expect(page.get_by_test_id("cockpit-breadcrumb")).to_contain_text("和平社区")


def test_a_grid_worker_reads_the_cockpit_on_a_small_phone(new_page, world):
    page = new_page(viewport=PHONE_360)
    log_in(page, "grid_a1")
    page.goto("/cockpit/?period=2031-03")
    expect(page).to_have_url(re.compile(rf"/cockpit/{world['grid_a1'].pk}/\?period=2031-03$"))
    expect(_value(page, "points.ledger.issued")).to_have_text("8")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360 + 1, f"the page is {width}px wide on a 360px phone"
    page.goto(f"/cockpit/{world['community_b'].pk}/")
    expect(page.get_by_test_id("error-page")).to_be_visible()


def test_a_community_worker_asks_for_a_pdf_report_and_downloads_it(new_page, world, settings, tmp_path):
    """The report is written by the real background path (a thread of the serving process); the page polls its
    progress with htmx until the download link appears."""
    from pypdf import PdfReader

    settings.MEDIA_ROOT = tmp_path / "media"
    page = new_page(viewport=DESKTOP)
    log_in(page, "community_a")
    page.goto(f"/cockpit/{world['community_a'].pk}/?period=2031-03")
    page.get_by_test_id("report-format").select_option("pdf")
    page.get_by_test_id("report-start").click()
    expect(page).to_have_url(re.compile(r"/cockpit/reports/\d+/$"))
    status = page.get_by_test_id("report-status")
    expect(status).to_have_attribute("data-state", "done", timeout=30_000)
    link = page.get_by_test_id("report-download")
    expect(link).to_be_visible()
    with page.expect_download() as downloading:
        link.click()
    download = downloading.value
    assert download.suggested_filename == f"report-{world['community_a'].pk}-2031-03.pdf"
    text = "".join(page_.extract_text() for page_ in PdfReader(download.path()).pages)
    assert "按时办结率66.7%（2/3）" in re.sub(r"\s+", "", text)
    # Back on the cockpit, the report is listed to come back to.
    page.goto(f"/cockpit/{world['community_a'].pk}/?period=2031-03")
    expect(page.get_by_test_id("report-runs")).to_contain_text("2031-03")
    expect(page.get_by_test_id("ledger-points")).to_be_visible()
