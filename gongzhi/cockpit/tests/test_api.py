"""GET /api/v1/kpis through the real client: values with their definitions grouped by domain, the period as a
key or a range, the access rule (out of reach = missing), and bad input answered in the one error shape."""

from __future__ import annotations

import pytest

from gongzhi.core.errors import CoreError
from gongzhi.core.testing import assert_refused

from .conftest import MARCH


def _figures(body: dict) -> dict:
    return {
        figure["key"]: figure for domain in body["domains"] for group in domain["groups"] for figure in group["figures"]
    }


def test_values_with_definitions_grouped_by_domain(world, api_client_for):
    response = api_client_for(world["district_admin"]).get(
        "/api/v1/kpis", {"place": world["community_a"].pk, "period": MARCH.key}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["place"] == {"id": world["community_a"].pk, "name": "和平社区", "kind": "community"}
    assert body["period"] == {"kind": "month", "key": "2031-03", "first": "2031-03-01", "last": "2031-03-31"}
    assert [domain["key"] for domain in body["domains"]][:5] == ["places", "people", "points", "shop", "cases"]
    figures = _figures(body)
    issued = figures["points.ledger.issued"]
    assert issued["value"] == 8 and issued["unit"] == "points" and issued["shown"] == "8"
    assert issued["name"] and issued["definition"]
    on_time = figures["cases.cases.on_time"]
    assert on_time["value"] == 66.7
    assert on_time["rate"]["numerator"] == 2 and on_time["rate"]["denominator"] == 3
    assert on_time["rate"]["numerator_counts"] and on_time["rate"]["denominator_counts"]
    assert figures["places.tree.households_per_grid"]["value"] == "1.5"
    assert isinstance(figures["people.organisation.staff_by_role"]["value"], dict)


def test_the_interface_language_is_chinese_by_default(world, api_client_for):
    body = (
        api_client_for(world["district_admin"])
        .get("/api/v1/kpis", {"place": world["community_a"].pk, "period": MARCH.key})
        .json()
    )
    assert _figures(body)["points.ledger.issued"]["name"] == "发放的积分"  # the project catalogue's existing term


def test_a_zero_denominator_place_shows_none(world, api_client_for):
    body = (
        api_client_for(world["street_admin"])
        .get("/api/v1/kpis", {"place": world["community_b"].pk, "period": MARCH.key})
        .json()
    )
    on_time = _figures(body)["cases.cases.on_time"]
    assert on_time["value"] is None and on_time["shown"] == "—"
    assert on_time["rate"] == {**on_time["rate"], "numerator": 0, "denominator": 0, "percent": None}


@pytest.mark.parametrize(
    ("query", "key"),
    [({"period": "2031-Q1"}, "2031-Q1"), ({"from": "2031-03-01", "to": "2031-03-10"}, "2031-03-01..2031-03-10")],
)
def test_a_period_key_or_a_custom_range(world, api_client_for, query, key):
    body = (
        api_client_for(world["district_admin"]).get("/api/v1/kpis", {"place": world["community_a"].pk, **query}).json()
    )
    assert body["period"]["key"] == key
    assert _figures(body)["points.ledger.issued"]["value"] == (16 if key == "2031-Q1" else 8)


def test_a_place_out_of_reach_answers_like_a_missing_one(world, api_client_for):
    client = api_client_for(world["community_worker"])  # community A only
    out_of_reach = assert_refused(
        CoreError.NOT_FOUND, lambda: client.get("/api/v1/kpis", {"place": world["community_b"].pk})
    )
    missing = assert_refused(CoreError.NOT_FOUND, lambda: client.get("/api/v1/kpis", {"place": 987654}))
    assert out_of_reach.json() == missing.json()
    grid = api_client_for(world["grid_worker"])  # grid A1 only: not its community, but its grid
    assert_refused(CoreError.NOT_FOUND, lambda: grid.get("/api/v1/kpis", {"place": world["community_a"].pk}))
    assert grid.get("/api/v1/kpis", {"place": world["grid_a1"].pk, "period": MARCH.key}).status_code == 200
    resident = api_client_for(world["resident"])
    assert_refused(CoreError.NOT_FOUND, lambda: resident.get("/api/v1/kpis", {"place": world["household_a1"].pk}))


def test_anonymous_is_not_authenticated(world, client):
    response = client.get("/api/v1/kpis", {"place": world["district"].pk})
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"period": "2031-13"}, "period"),
        ({"period": "March"}, "period"),
        ({"period": "1999"}, "period"),
        ({"period": "2031-03-09..2031-03-01"}, "period"),
        ({"from": "2031-03-01"}, "to"),
        ({"to": "2031-03-01"}, "from"),
        ({"from": "2031-03-09", "to": "2031-03-01"}, "to"),
        ({"from": "2031-02-30", "to": "2031-03-01"}, "from"),
        ({"from": "2001-01-01", "to": "2031-03-01"}, "period"),
        ({"period": "0001-01"}, "period"),
    ],
)
def test_bad_periods_answer_the_error_shape(world, api_client_for, query, field):
    client = api_client_for(world["district_admin"])
    response = assert_refused(
        CoreError.VALIDATION_FAILED, lambda: client.get("/api/v1/kpis", {"place": world["district"].pk, **query})
    )
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and field in body["fields"]


@pytest.mark.parametrize("place", [None, "abc", "1.5"])
def test_a_bad_place_parameter_answers_the_error_shape(world, api_client_for, place):
    client = api_client_for(world["district_admin"])
    query = {} if place is None else {"place": place}
    response = assert_refused(CoreError.VALIDATION_FAILED, lambda: client.get("/api/v1/kpis", query))
    assert "place" in response.json()["fields"]


def test_the_catalogue_lists_every_definition(world, api_client_for):
    response = api_client_for(world["grid_worker"]).get("/api/v1/kpis/catalogue")
    assert response.status_code == 200
    rows = {row["key"]: row for row in response.json()}
    assert rows["cases.cases.on_time"]["numerator_counts"] and rows["cases.cases.on_time"]["unit"] == "rate"
    assert rows["points.ledger.issued"]["domain"] == "points"


def test_the_api_reads_a_bounded_number_of_queries(world, api_client_for, django_assert_max_num_queries):
    from .test_views import snapshot_queries

    client = api_client_for(world["district_admin"])
    # Token, account, roles, the place, then one snapshot: nothing grows with the rows counted.
    with django_assert_max_num_queries(5 + snapshot_queries(world["district"])):
        assert client.get("/api/v1/kpis", {"place": world["district"].pk, "period": MARCH.key}).status_code == 200
