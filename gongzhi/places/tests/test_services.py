"""The place tree: creation rules, grid levels, moves with history, renames, archiving, and access."""

from __future__ import annotations

import pytest

from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.models import AuditEntry
from gongzhi.people.roles import Role
from gongzhi.people.tests.factories import account_with_role
from gongzhi.places.models import Place, PlaceChange, PlaceKind
from gongzhi.places.selectors import place_subtree
from gongzhi.places.services import place_archive, place_create, place_move, place_rename
from gongzhi.places.tests.factories import make_place, superuser

pytestmark = pytest.mark.django_db


def test_paths_and_depth_follow_the_tree(tree):
    household = tree["household_a1"]
    ancestors = household.ancestor_ids
    assert ancestors == [
        tree[name].pk for name in ("district", "street", "community_a", "grid_a1", "building_a1", "entrance_a1")
    ]
    assert household.depth == 6
    assert household.path == "/" + "/".join(str(pk) for pk in [*ancestors, household.pk]) + "/"


def test_subtree_contains_exactly_the_descendants(tree):
    names = set(place_subtree(tree["grid_a1"]).values_list("pk", flat=True))
    expected = {tree[key].pk for key in ("grid_a1", "building_a1", "entrance_a1", "household_a1", "household_a1b")}
    assert names == expected


def test_subtree_does_not_match_sibling_with_longer_id_prefix(tree):
    # "/1/2/" must not match "/1/20/": the trailing separator guards against it.
    parent = tree["community_a"]
    siblings = [make_place(PlaceKind.GRID, parent, name=f"网格{index}") for index in range(12)]
    first = siblings[0]
    inside = set(place_subtree(first).values_list("pk", flat=True))
    assert inside == {first.pk}


def test_grid_levels_nest_at_most_three(tree):
    level1 = tree["grid_a1"]
    level2 = make_place(PlaceKind.GRID, level1, name="二级")
    building = make_place(PlaceKind.BUILDING, level2, name="9号楼")
    level3 = make_place(PlaceKind.GRID, building, name="三级")
    assert (level1.grid_level, level2.grid_level, level3.grid_level) == (1, 2, 3)
    with pytest.raises(ValidationFailed) as error:
        make_place(PlaceKind.GRID, level3, name="四级")
    assert error.value.code == "grid_too_deep"
    # An entrance may sit in a grid inside a building, and households in entrances.
    entrance = make_place(PlaceKind.ENTRANCE, level3, name="2单元")
    make_place(PlaceKind.HOUSEHOLD, entrance, name="301")


@pytest.mark.parametrize(
    ("kind", "parent_key"),
    [
        (PlaceKind.HOUSEHOLD, "building_a1"),  # households belong to an entrance
        (PlaceKind.STREET, "community_a"),
        (PlaceKind.ENTRANCE, "grid_a1"),  # a grid not inside a building
        (PlaceKind.COMMUNITY, "district"),
    ],
)
def test_invalid_parents_are_refused_and_nothing_is_written(tree, kind, parent_key):
    before = Place.objects.count()
    with pytest.raises(ValidationFailed) as error:
        place_create(actor=superuser(), kind=kind, name="x", parent=tree[parent_key])
    assert error.value.code == "invalid_parent"
    assert Place.objects.count() == before


def test_duplicate_name_under_same_parent_is_refused(tree):
    with pytest.raises(ValidationFailed) as error:
        place_create(actor=superuser(), kind=PlaceKind.GRID, name="第一网格", parent=tree["community_a"])
    assert error.value.code == "duplicate_name"
    # The same name under another parent is fine.
    place_create(actor=superuser(), kind=PlaceKind.GRID, name="第二网格", parent=tree["community_b"])


def test_move_rewrites_the_subtree_and_keeps_history(tree):
    secretary = account_with_role(Role.COMMUNITY_SECRETARY, tree["community_a"])
    building = tree["building_a1"]
    old_path = building.path
    moved = place_move(actor=secretary, place=building, new_parent=tree["grid_a2"])
    assert moved.parent_id == tree["grid_a2"].pk
    assert moved.path == f"{tree['grid_a2'].path}{building.pk}/"
    household = Place.objects.get(pk=tree["household_a1"].pk)
    assert household.path.startswith(moved.path)
    assert household.depth == tree["household_a1"].depth
    assert not Place.objects.filter(path__startswith=old_path).exists()
    change = PlaceChange.objects.get(place=building, action=PlaceChange.Action.MOVE)
    assert change.old_path == old_path and change.old_parent_id == tree["grid_a1"].pk
    assert AuditEntry.objects.filter(action="place.move", object_id=str(building.pk)).count() == 1


def test_move_shifts_grid_levels_inside_the_subtree(tree):
    level2 = make_place(PlaceKind.GRID, tree["grid_a1"], name="二级")
    building = make_place(PlaceKind.BUILDING, level2, name="8号楼")
    level3 = make_place(PlaceKind.GRID, building, name="三级")
    place_move(actor=superuser(), place=building, new_parent=tree["community_b"])
    level3.refresh_from_db()
    assert level3.grid_level == 1


def test_move_under_itself_is_refused(tree):
    with pytest.raises(ValidationFailed):
        place_move(actor=superuser(), place=tree["grid_a1"], new_parent=tree["building_a1"])


def test_move_out_of_reach_is_not_found_and_changes_nothing(tree):
    secretary = account_with_role(Role.COMMUNITY_SECRETARY, tree["community_a"])
    before = list(Place.objects.order_by("pk").values_list("path", flat=True))
    with pytest.raises(NotFound):
        place_move(actor=secretary, place=tree["building_a1"], new_parent=tree["grid_b1"])
    assert list(Place.objects.order_by("pk").values_list("path", flat=True)) == before
    assert not PlaceChange.objects.filter(action=PlaceChange.Action.MOVE).exists()


def test_rename_keeps_old_name_in_history(tree):
    place_rename(actor=superuser(), place=tree["grid_a1"], name="红旗网格")
    change = PlaceChange.objects.get(place=tree["grid_a1"], action=PlaceChange.Action.RENAME)
    assert (change.old_name, change.new_name) == ("第一网格", "红旗网格")


def test_grid_worker_cannot_rename(tree):
    worker = account_with_role(Role.GRID_WORKER, tree["grid_a1"])
    with pytest.raises(NotFound):
        place_rename(actor=worker, place=tree["grid_a1"], name="新名字")
    assert Place.objects.get(pk=tree["grid_a1"].pk).name == "第一网格"


def test_archive_refuses_a_place_with_contents(tree):
    with pytest.raises(ValidationFailed):
        place_archive(actor=superuser(), place=tree["entrance_a1"])
    archived = place_archive(actor=superuser(), place=tree["household_a2"])
    assert archived.is_active is False
    # The name is free again under the same parent once archived.
    make_place(PlaceKind.HOUSEHOLD, tree["entrance_a2"], name="201")
