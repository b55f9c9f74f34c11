"""The place tree: creation rules (one place, or many in bulk), grid levels, moves with history, renames, archiving,
and access."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.core.errors import ValidationFailed
from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
from gongzhi.core.testing import assert_refused
from gongzhi.people.tests.factories import account_with_role
from gongzhi.places.errors import PlacesError
from gongzhi.places.models import Place, PlaceChange, PlaceKind
from gongzhi.places.selectors import place_subtree
from gongzhi.places.services import place_archive, place_bulk_insert, place_create, place_move, place_rename
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
    error = assert_refused(
        PlacesError.INVALID_PARENT,
        lambda: place_create(actor=superuser(), kind=kind, name="x", parent=tree[parent_key]),
    )
    assert error.code == "invalid_parent"
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


def test_move_out_of_reach_is_not_found_and_changes_nothing(world):
    before = list(Place.objects.order_by("pk").values_list("path", flat=True))
    assert_refused(
        "not_found",
        lambda: place_move(actor=world["secretary"], place=world["building_a1"], new_parent=world["grid_b1"]),
    )
    assert list(Place.objects.order_by("pk").values_list("path", flat=True)) == before
    assert not PlaceChange.objects.filter(action=PlaceChange.Action.MOVE).exists()


def test_rename_keeps_old_name_in_history(tree):
    place_rename(actor=superuser(), place=tree["grid_a1"], name="红旗网格")
    change = PlaceChange.objects.get(place=tree["grid_a1"], action=PlaceChange.Action.RENAME)
    assert (change.old_name, change.new_name) == ("第一网格", "红旗网格")


def test_grid_worker_cannot_rename(world):
    assert_refused(
        "not_found", lambda: place_rename(actor=world["grid_worker"], place=world["grid_a1"], name="新名字")
    )
    assert Place.objects.get(pk=world["grid_a1"].pk).name == "第一网格"


def test_archive_refuses_a_place_with_contents(tree):
    with pytest.raises(ValidationFailed):
        place_archive(actor=superuser(), place=tree["entrance_a1"])
    archived = place_archive(actor=superuser(), place=tree["household_a2"])
    assert archived.is_active is False
    # The name is free again under the same parent once archived.
    make_place(PlaceKind.HOUSEHOLD, tree["entrance_a2"], name="201")


# ---------------------------------------------------------------- bulk insert


def _assert_in_tree(place: Place, parent: Place | None) -> None:
    """The path and depth ``place_create`` would give, on the object and in the database."""
    expected_path = f"{parent.path if parent else '/'}{place.pk}/"
    expected_depth = parent.depth + 1 if parent else 0
    assert (place.path, place.depth) == (expected_path, expected_depth), place.name
    assert Place.objects.values_list("path", "depth").get(pk=place.pk) == (expected_path, expected_depth)


def test_bulk_insert_gives_a_multi_level_batch_its_paths_and_depths(tree):
    community, grid = tree["community_a"], tree["grid_a1"]
    district = Place(kind=PlaceKind.DISTRICT, name="新区")
    compound = Place(kind=PlaceKind.COMPOUND, name="阳光小区", parent=community)
    in_grid = Place(kind=PlaceKind.BUILDING, name="9号楼", parent=grid)  # under a saved place, beside the compound
    street = Place(kind=PlaceKind.STREET, name="西街道", parent=district)
    in_compound = Place(kind=PlaceKind.BUILDING, name="1号楼", parent=compound, depth=42)  # depth is recomputed
    entrances = [Place(kind=PlaceKind.ENTRANCE, name="1单元", parent=building) for building in (in_compound, in_grid)]
    households = [
        Place(kind=PlaceKind.HOUSEHOLD, name=f"{floor}0{room}", parent=entrance)
        for entrance in entrances
        for floor in (1, 2)
        for room in (1, 2)
    ]
    levels = [[district, compound, in_grid], [street, in_compound], entrances, households]

    inserted = place_bulk_insert(levels=levels, actor=superuser())

    assert inserted == [place for level in levels for place in level]
    assert [place.pk for place in inserted] == sorted(place.pk for place in inserted)  # ids in the order given
    _assert_in_tree(district, None)
    for place in inserted[1:]:
        _assert_in_tree(place, place.parent)
    assert households[0].path == f"{community.path}{compound.pk}/{in_compound.pk}/{entrances[0].pk}/{households[0].pk}/"
    assert households[-1].depth == grid.depth + 3
    assert set(place_subtree(community).filter(kind=PlaceKind.HOUSEHOLD)) >= set(households)


def test_bulk_insert_keeps_history_without_auditing(tree):
    actor = superuser()
    compound = Place(kind=PlaceKind.COMPOUND, name="阳光小区", parent=tree["community_a"])
    building = Place(kind=PlaceKind.BUILDING, name="1号楼", parent=compound)
    audits_before = AuditEntry.objects.count()

    place_bulk_insert(levels=[[compound], [building]], actor=actor)

    changes = PlaceChange.objects.filter(place__in=[compound, building]).order_by("place_id")
    assert [
        (change.place_id, change.action, change.actor_id, change.new_name, change.new_parent_id) for change in changes
    ] == [
        (compound.pk, PlaceChange.Action.CREATE, actor.pk, "阳光小区", tree["community_a"].pk),
        (building.pk, PlaceChange.Action.CREATE, actor.pk, "1号楼", compound.pk),
    ]
    assert all(change.changed_at == change.place.created_at for change in changes)
    assert AuditEntry.objects.count() == audits_before  # the caller audits the batch as a whole

    quiet = Place(kind=PlaceKind.COMPOUND, name="月光小区", parent=tree["community_a"])
    place_bulk_insert(levels=[[quiet]], history=False)
    assert not PlaceChange.objects.filter(place=quiet).exists()


def _batch(community: Place, prefix: str, count: int) -> list[list[Place]]:
    """Four levels of ``count`` places each: compounds, a building in each, an entrance, a household."""
    compounds = [Place(kind=PlaceKind.COMPOUND, name=f"{prefix}{n}号院", parent=community) for n in range(count)]
    buildings = [Place(kind=PlaceKind.BUILDING, name="1号楼", parent=compound) for compound in compounds]
    entrances = [Place(kind=PlaceKind.ENTRANCE, name="1单元", parent=building) for building in buildings]
    households = [Place(kind=PlaceKind.HOUSEHOLD, name="101", parent=entrance) for entrance in entrances]
    return [compounds, buildings, entrances, households]


@pytest.mark.parametrize("history", [True, False])
def test_bulk_insert_queries_do_not_grow_with_the_number_of_places(tree, history):
    actor, counted = superuser(), []
    # 60 per level stays inside one INSERT even under SQLite's limit of 999 parameters per statement.
    for prefix, count in (("甲", 2), ("乙", 60)):
        levels = _batch(tree["community_a"], prefix, count)
        with CaptureQueriesContext(connection) as queries:
            place_bulk_insert(levels=levels, actor=actor, history=history)
        counted.append(len(queries))
    # Per level: the INSERT, the UPDATE of the paths, and (with history) the INSERT of the PlaceChange rows.
    assert counted == [4 * (3 if history else 2)] * 2


def test_bulk_insert_sets_the_paths_of_a_thousand_places_in_one_update(tree, django_assert_max_num_queries):
    entrance = tree["entrance_a1"]
    households = [Place(kind=PlaceKind.HOUSEHOLD, name=f"{1000 + n}", parent=entrance) for n in range(1000)]
    # bulk_create splits the INSERT at SQLite's limit of 999 parameters (about 90 places a statement); nothing else
    # grows with the number of places.
    with django_assert_max_num_queries(20), CaptureQueriesContext(connection) as queries:
        place_bulk_insert(levels=[households], history=False)
    assert [query["sql"].split()[0] for query in queries].count("UPDATE") == 1
    stored = dict(Place.objects.filter(pk__in=[place.pk for place in households]).values_list("pk", "path"))
    assert stored == {place.pk: f"{entrance.path}{place.pk}/" for place in households}


@pytest.mark.parametrize(
    "problem",
    ["parent in the same level", "parent in a later level", "already saved", "parent only by id", "wrong kind"],
)
def test_bulk_insert_refuses_a_malformed_batch_and_writes_nothing(tree, problem):
    community = tree["community_a"]
    compound = Place(kind=PlaceKind.COMPOUND, name="阳光小区", parent=community)
    building = Place(kind=PlaceKind.BUILDING, name="1号楼", parent=compound)
    levels = {
        "parent in the same level": [[compound, building]],
        "parent in a later level": [[building], [compound]],
        "already saved": [[compound], [tree["building_a1"]]],
        "parent only by id": [[Place(kind=PlaceKind.COMPOUND, name="月光小区", parent_id=community.pk)]],
        "wrong kind": [[compound], [Place(kind=PlaceKind.HOUSEHOLD, name="101", parent=compound)]],
    }[problem]
    before = (Place.objects.count(), PlaceChange.objects.count())
    with pytest.raises(ValueError):
        place_bulk_insert(levels=levels)
    assert (Place.objects.count(), PlaceChange.objects.count()) == before
