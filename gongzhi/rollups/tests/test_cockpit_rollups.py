"""The cockpit's rankings and trend read the roll-ups in a fixed number of queries, whatever the number of places
and months, and show the numbers of the figure groups themselves."""

from __future__ import annotations

from datetime import date

from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.cockpit import selectors
from gongzhi.cockpit.tests.conftest import MARCH, at
from gongzhi.core import kpi_catalogue
from gongzhi.points.tests.factories import superuser
from gongzhi.rollups.services import rollups_build

# Children (1) + issued for all places (state, entries since, totals: 3) + cases on time for all places
# (received with open, and closed: state, two dirty-day queries, totals: 4 each, no case to count live: March is
# rolled up and clean).
RANKING_QUERIES = 12
# A community's grids are below the rolled levels: each figure is one count of the raw records for all the grids
# (the roll-ups' state and dirty days are still read: one query fewer than through the totals).
RANKING_QUERIES_OF_GRIDS = 11
# Issued by day (3) + received by day (4), for the twelve months at once.
TREND_QUERIES = 7


def test_rankings_read_the_rollups_in_few_queries_and_equal_the_groups(world):
    rollups_build(now=at(date(2031, 4, 1), 2))
    boss = superuser()
    for place in (world["street"], world["community_a"], world["district"]):
        with CaptureQueriesContext(connection) as queries:
            ranked, rankings = selectors.cockpit_rankings(boss, place, MARCH)
        expected_queries = RANKING_QUERIES_OF_GRIDS if place == world["community_a"] else RANKING_QUERIES
        assert len(queries) == expected_queries, [query["sql"] for query in queries.captured_queries]
        assert ranked
        for row in ranked:
            expected = kpi_catalogue.compute(row.place, MARCH).values
            for key in selectors.RANKED_FIGURES:
                assert row.values[key].value == expected[key].value, (row.place.name, key)
    _ranked, rankings = selectors.cockpit_rankings(boss, world["community_a"], MARCH)
    issued = next(ranking for ranking in rankings if ranking.key == "points.ledger.issued")
    assert next((rank, row.place.pk, value.value) for rank, row, value in issued.rows) == (1, world["grid_a1"].pk, 8)


def test_the_trend_reads_the_rollups_in_few_queries_and_equals_the_groups(world):
    rollups_build(now=at(date(2031, 4, 1), 2))
    boss = superuser()
    with CaptureQueriesContext(connection) as queries:
        points = selectors.cockpit_trend(boss, world["community_a"], MARCH)
    assert len(queries) == TREND_QUERIES, [query["sql"] for query in queries.captured_queries]
    assert len(points) == 12
    for point in points:
        expected = kpi_catalogue.compute(world["community_a"], point.period).values
        for key in selectors.TREND_FIGURES:
            assert point.values[key].value == expected[key].value, (point.period.key, key)
    assert [point.values["points.ledger.issued"].value for point in points][-2:] == [8, 8]
    assert [point.values["cases.cases.received"].value for point in points][-2:] == [1, 4]
