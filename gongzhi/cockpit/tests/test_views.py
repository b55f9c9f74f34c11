"""The cockpit pages through the real client: opening at the actor's top place, figures with their definitions,
the period chooser and the comparison, rankings with drill-down keeping the period, the trend, wall-screen mode,
the page without the chart build step, and pinned query counts."""

from __future__ import annotations

import re
from datetime import date
from html import unescape as html_unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gongzhi.core import kpi_catalogue
from gongzhi.core.errors import CoreError
from gongzhi.core.testing import assert_refused
from gongzhi.people.tests.factories import AccountFactory

from .. import views
from .conftest import MARCH, _case, at


@pytest.fixture
def login():
    def make(account):
        client = Client()
        client.force_login(account)
        return client

    return make


def test_the_cockpit_opens_at_the_actors_own_top_place(world, login):
    response = login(world["street_admin"]).get("/cockpit/", {"period": MARCH.key})
    assert response.status_code == 302
    assert response["Location"] == f"/cockpit/{world['street'].pk}/?period=2031-03"
    response = login(world["grid_worker"]).get("/cockpit/", follow=True)
    assert response.redirect_chain[-1][0] == f"/cockpit/{world['grid_a1'].pk}/"


def test_someone_without_a_cockpit_role_sees_what_to_do(world, login):
    response = login(AccountFactory()).get("/cockpit/")
    assert response.status_code == 200 and b'data-testid="cockpit-empty"' in response.content
    response = login(world["resident"]).get("/cockpit/")
    assert b'data-testid="cockpit-empty"' in response.content


def test_the_anonymous_are_sent_to_log_in(world, client):
    response = client.get(f"/cockpit/{world['district'].pk}/")
    assert response.status_code == 302 and "/login" in response["Location"]


def _row(page: str, key: str) -> str:
    return re.search(rf'<tr data-kpi="{re.escape(key)}".*?</tr>', page, re.S).group(0)


def _compare_url(page: str) -> str:
    return html_unescape(re.search(r'id="cockpit-figures"[^>]*hx-get="([^"]+)"', page).group(1))


def test_the_page_shows_each_figure_with_its_definition_and_the_previous_period(world, login):
    client = login(world["district_admin"])
    html = client.get(f"/cockpit/{world['community_a'].pk}/", {"period": "2031-03"})
    assert html.status_code == 200
    page = html.content.decode()
    row = _row(page, "cases.cases.on_time")
    assert 'title="统计期内办结且从未超时的诉求数' in row  # hover
    assert "<details" in row and "分子" in row  # tap: the definition, numerator and denominator
    assert ">66.7%<" in row and "2/3" in row
    assert "kpi-pending" in row and "100.0%" not in row  # the comparison comes in its own request
    assert "2031-03-01 至 2031-03-31（2031-03）" in page and "对比 2031-02" in page
    for domain in ("places", "people", "points", "shop", "cases"):
        assert f'data-testid="domain-{domain}"' in page
    fragment = client.get(_compare_url(page))
    assert fragment.status_code == 200
    compared = fragment.content.decode()
    row = _row(compared, "cases.cases.on_time")
    assert ">66.7%<" in row and "2/3" in row
    assert "100.0%" in row and "1/1" in row  # February
    assert "−33.3 pt" in row and "kpi-pending" not in compared
    issued = _row(compared, "points.ledger.issued")
    assert ">8<" in issued and "±0" in issued
    # A figure that stands as of now is not compared.
    assert 'data-direction="none">—<' in _row(compared, "places.tree.households")
    # Without scripts: the same comparison in the page itself.
    inline = client.get(f"/cockpit/{world['community_a'].pk}/", {"period": "2031-03", "compare": "1"})
    assert _row(inline.content.decode(), "cases.cases.on_time") == row


def test_the_comparison_is_made_against_the_figures_the_page_showed(world, login):
    client = login(world["district_admin"])
    place = world["community_a"]
    page = client.get(f"/cockpit/{place.pk}/", {"period": "2031-03"}).content.decode()
    url = _compare_url(page)
    # A case of March arrives after the page was shown: the comparison keeps the numbers the page showed.
    _case(world, submitted=at(date(2031, 3, 25)), state="submitted")
    shown = _row(client.get(url).content.decode(), "cases.cases.received")
    assert 'data-testid="kpi-value">4<' in shown and ">+3<" in shown
    # Without the kept figures (gone, or another place's), the fragment counts them again.
    for stale in (url.replace("shown=", "shown=x"), url.replace(f"/{place.pk}/", f"/{world['community_b'].pk}/")):
        response = client.get(stale)
        assert response.status_code == 200
    again = _row(client.get(url.replace("shown=", "shown=x")).content.decode(), "cases.cases.received")
    assert 'data-testid="kpi-value">5<' in again and ">+4<" in again


def test_the_comparison_is_refused_out_of_reach_like_the_page(world, login):
    page = login(world["district_admin"]).get(f"/cockpit/{world['community_a'].pk}/", {"period": "2031-03"})
    url = _compare_url(page.content.decode())
    response = login(world["grid_worker"]).get(url)
    assert response.status_code == 404


def test_a_zero_denominator_shows_a_dash(world, login):
    page = login(world["district_admin"]).get(f"/cockpit/{world['community_b'].pk}/", {"period": "2031-03"})
    row = re.search(r'<tr data-kpi="cases.cases.on_time".*?</tr>', page.content.decode(), re.S).group(0)
    assert 'data-testid="kpi-value">—<' in row and "0 %" not in row and "0.0%" not in row


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ({"kind": "week", "day": "2031-03-05"}, "2031-W10"),
        ({"kind": "month", "day": "2031-03-05"}, "2031-03"),
        ({"kind": "quarter", "day": "2031-03-05"}, "2031-Q1"),
        ({"kind": "year", "day": "2031-03-05"}, "2031"),
        ({"kind": "custom", "from": "2031-03-01", "to": "2031-03-10"}, "2031-03-01..2031-03-10"),
        ({"period": "2031-Q1"}, "2031-Q1"),
    ],
)
def test_the_period_chooser(world, login, query, key):
    response = login(world["district_admin"]).get(f"/cockpit/{world['district'].pk}/", query)
    assert f'data-period="{key}"' in response.content.decode()


def test_a_bad_period_is_said_in_the_chooser_and_this_month_is_shown(world, login):
    response = login(world["district_admin"]).get(
        f"/cockpit/{world['district'].pk}/", {"kind": "custom", "from": "2031-03-10", "to": "2031-03-01"}
    )
    assert response.status_code == 200
    assert b'data-testid="period-error"' in response.content
    response = login(world["district_admin"]).get(f"/cockpit/{world['district'].pk}/", {"period": "2031-13"})
    assert response.status_code == 200 and b'data-testid="period-error"' in response.content


def test_rankings_of_the_places_below_and_drill_down_keeping_the_period(world, login):
    page = login(world["district_admin"]).get(f"/cockpit/{world['street'].pk}/", {"period": "2031-03"})
    html = page.content.decode()
    rankings = re.findall(r'data-ranking-key="([^"]+)"', html)
    assert rankings == ["points.ledger.issued", "cases.cases.on_time"]
    on_time = html[html.index('data-ranking-key="cases.cases.on_time"') :]
    # Community A is ranked 1st (66.7 %); community B has nothing to rate: "—", last, without a rank.
    assert on_time.index("和平社区") < on_time.index("幸福社区")
    assert f'href="/cockpit/{world["community_a"].pk}/?period=2031-03"' in html
    # Down to the grid, then the building, and no further.
    community = login(world["district_admin"]).get(f"/cockpit/{world['community_a'].pk}/", {"period": "2031-03"})
    assert f'href="/cockpit/{world["grid_a1"].pk}/?period=2031-03"' in community.content.decode()
    grid = login(world["district_admin"]).get(f"/cockpit/{world['grid_a1'].pk}/", {"period": "2031-03"})
    assert f'href="/cockpit/{world["building_a1"].pk}/?period=2031-03"' in grid.content.decode()
    building = login(world["district_admin"]).get(f"/cockpit/{world['building_a1'].pk}/", {"period": "2031-03"})
    assert building.status_code == 200 and b'data-testid="rankings"' not in building.content


def test_drill_down_never_leaves_the_actors_reach(world, login):
    client = login(world["community_worker"])
    assert_refused(CoreError.NOT_FOUND, lambda: client.get(f"/cockpit/{world['community_b'].pk}/"), status=404)
    assert_refused(CoreError.NOT_FOUND, lambda: client.get(f"/cockpit/{world['street'].pk}/"), status=404)
    assert_refused(CoreError.NOT_FOUND, lambda: client.get("/cockpit/987654/"), status=404)
    page = client.get(f"/cockpit/{world['community_a'].pk}/").content.decode()
    assert "幸福社区" not in page  # breadcrumb and rankings stay inside reach
    assert_refused(CoreError.NOT_FOUND, lambda: client.get(f"/cockpit/{world['community_b'].pk}/trend/"), status=404)


def test_the_trend_is_twelve_months_with_its_chart_data(world, login):
    response = login(world["district_admin"]).get(f"/cockpit/{world['district'].pk}/trend/", {"period": "2031-03"})
    html = response.content.decode()
    rows = re.findall(r"<tr><td>(\d{4}-\d{2})</td>", html)
    assert rows[0] == "2030-04" and rows[-1] == "2031-03" and len(rows) == 12
    assert 'id="cockpit-trend-data"' in html
    march = re.search(r"<tr><td>2031-03</td>(.*?)</tr>", html, re.S).group(1)
    assert re.findall(r'<td class="num">([^<]*)</td>', march) == ["8", "4"]


def test_charts_are_drawn_from_the_vendored_library_or_the_page_says_they_need_the_build_step(
    world, login, monkeypatch
):
    client = login(world["district_admin"])
    monkeypatch.setattr(views, "charts_available", lambda: True)
    page = client.get(f"/cockpit/{world['district'].pk}/").content.decode()
    assert "cockpit/vendor/echarts.min.js" in page and 'data-testid="charts-missing"' not in page
    assert "http://" not in page.split("<body")[0] and "https://" not in page.split("<body")[0]  # no CDN
    monkeypatch.setattr(views, "charts_available", lambda: False)
    page = client.get(f"/cockpit/{world['district'].pk}/").content.decode()
    assert "echarts.min.js" not in page
    assert 'data-testid="charts-missing"' in page and 'data-testid="kpi"' in page  # the tables are all there


def test_wall_screen_mode_refreshes_itself_and_keeps_it_through_drill_down(world, login, settings):
    settings.GONGZHI_COCKPIT_WALL_REFRESH_MINUTES = 2
    page = login(world["district_admin"]).get(f"/cockpit/{world['street'].pk}/", {"period": "2031-03", "wall": "1"})
    html = page.content.decode()
    assert '<meta http-equiv="refresh" content="120">' in html
    assert "cockpit cockpit-wall" in html and 'data-testid="period-form"' not in html
    assert f'href="/cockpit/{world["community_a"].pk}/?period=2031-03&amp;wall=1"' in html


def test_the_page_is_made_for_a_phone(world, login):
    html = login(world["grid_worker"]).get(f"/cockpit/{world['grid_a1'].pk}/").content.decode()
    assert 'name="viewport" content="width=device-width' in html
    assert "cockpit/cockpit.css" in html and 'class="table-wrap"' in html
    assert 'data-testid="workbook-link"' not in html  # a grid worker sees figures, does not generate ledgers


def snapshot_queries(place) -> int:
    """How many queries one snapshot of every registered figure takes (it grows as domains register)."""
    with CaptureQueriesContext(connection) as captured:
        kpi_catalogue.compute(place, MARCH)
    return len(captured.captured_queries)


def test_query_counts_are_pinned(world, login, django_assert_max_num_queries):
    client = login(world["district_admin"])
    per_snapshot = snapshot_queries(world["street"])
    # Ranked places: the points ledger (3 queries) and the case figures (1) of each place below.
    per_ranked_place = 4
    # The page: session, account, roles, the place, its breadcrumb, the places below; then the two snapshots (the
    # period and the previous one) and the rankings. Nothing grows with the rows counted.
    with django_assert_max_num_queries(6 + 2 * per_snapshot + 2 * per_ranked_place):  # the street: 2 communities
        assert client.get(f"/cockpit/{world['street'].pk}/", {"period": "2031-03"}).status_code == 200
    with django_assert_max_num_queries(6 + 2 * per_snapshot):  # a building: nothing ranked below
        assert client.get(f"/cockpit/{world['building_a1'].pk}/", {"period": "2031-03"}).status_code == 200
    # The trend: twelve months of the two trend figures' groups.
    with django_assert_max_num_queries(4 + 12 * per_ranked_place):
        assert client.get(f"/cockpit/{world['district'].pk}/trend/", {"period": "2031-03"}).status_code == 200
