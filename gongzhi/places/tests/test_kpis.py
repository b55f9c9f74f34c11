"""Place figures against the test tree counted by hand."""

from __future__ import annotations

from decimal import Decimal

from gongzhi.places.kpis import place_figures
from gongzhi.places.models import PlaceKind

from .factories import make_place


def test_place_figures_by_hand(tree):
    figures = place_figures(tree["district"])
    assert figures.grids_by_level == {1: 3, 2: 0, 3: 0}
    assert (figures.buildings, figures.entrances, figures.households) == (3, 3, 4)
    assert figures.households_per_grid == Decimal("1.3")  # 4 households / 3 grids
    community = place_figures(tree["community_a"])
    assert (community.grids_by_level[1], community.households) == (2, 3)


def test_a_divided_grid_counts_its_sub_grids_as_the_finest(tree):
    make_place(PlaceKind.GRID, tree["grid_a1"], name="一分格")
    make_place(PlaceKind.GRID, tree["grid_a1"], name="二分格")
    figures = place_figures(tree["community_a"])
    assert figures.grids_by_level == {1: 2, 2: 2, 3: 0}
    assert figures.finest_grids == 3  # grid A2 and the two sub-grids of A1
    assert figures.as_dict()["households_per_grid"] == "1.0"


def test_a_place_without_grids_shows_a_dash(tree):
    figures = place_figures(tree["household_a1"])
    assert figures.households_per_grid is None
    assert figures.as_dict()["households_per_grid"] is None
