"""Routing to the nearest staffed grid: grids nest three levels and a community may staff only some of them."""

from __future__ import annotations

import pytest

from gongzhi.cases.routing import route_case
from gongzhi.cases.tests.factories import make_category
from gongzhi.core.roles import Role
from gongzhi.people.tests.factories import account_with_role
from gongzhi.places.models import PlaceKind
from gongzhi.places.tests.factories import make_place

pytestmark = pytest.mark.django_db


def test_case_goes_to_the_deepest_grid_with_a_worker(tree):
    level1 = tree["grid_a1"]
    level2 = make_place(PlaceKind.GRID, level1, name="二级网格")
    building = make_place(PlaceKind.BUILDING, level2, name="8号楼")
    level3 = make_place(PlaceKind.GRID, building, name="8号楼1单元网格")
    entrance = make_place(PlaceKind.ENTRANCE, level3, name="1单元")
    household = make_place(PlaceKind.HOUSEHOLD, entrance, name="801")
    worker = account_with_role(Role.GRID_WORKER, level1)
    route = route_case(category=make_category(), place=household)
    assert (route.place, route.handler) == (level1, worker)
    deeper = account_with_role(Role.GRID_WORKER, level3)
    route = route_case(category=make_category(), place=household)
    assert (route.place, route.handler) == (level3, deeper)


def test_without_any_grid_worker_the_nearest_grid_takes_it(tree):
    route = route_case(category=make_category(), place=tree["household_a1"])
    assert route.place == tree["grid_a1"] and route.handler is None
