"""Subtree queries are one indexed query on both databases; counts by kind; access to places."""

from __future__ import annotations

import pytest
from django.db import connection

from gongzhi.core.errors import NotFound
from gongzhi.core.roles import Role
from gongzhi.people.tests.factories import account_with_role
from gongzhi.places.models import Place, PlaceKind
from gongzhi.places.selectors import access_place, place_counts_by_kind, place_roots_for, place_subtree

pytestmark = pytest.mark.django_db


def test_subtree_is_one_query(tree, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert len(list(place_subtree(tree["community_a"]))) == 10


def test_subtree_query_uses_the_path_index(tree):
    queryset = place_subtree(tree["community_a"])
    # Planners pick a sequential scan on tiny tables; ask them to prefer indexes to see that one applies.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queryset.explain()
    assert "place_path" in plan, plan


def test_counts_by_kind_include_grid_levels(tree):
    counts = place_counts_by_kind(tree["community_a"])
    assert counts[PlaceKind.GRID] == 2 and counts["grid_1"] == 2
    assert counts[PlaceKind.HOUSEHOLD] == 3
    assert counts[PlaceKind.BUILDING] == 2


def test_access_place_hides_out_of_reach_like_missing(tree):
    worker = account_with_role(Role.GRID_WORKER, tree["grid_a1"])
    assert access_place(worker, tree["household_a1"].pk) == tree["household_a1"]
    for place_id in (tree["household_b1"].pk, tree["community_a"].pk, 10**9, "abc"):
        with pytest.raises(NotFound):
            access_place(worker, place_id)


def test_archived_places_are_out_of_reach(tree):
    worker = account_with_role(Role.GRID_WORKER, tree["grid_a1"])
    Place.objects.filter(pk=tree["household_a1b"].pk).update(is_active=False)
    with pytest.raises(NotFound):
        access_place(worker, tree["household_a1b"].pk)


def test_roots_are_the_places_of_the_roles(tree):
    account = account_with_role(Role.GRID_WORKER, tree["grid_a1"])
    account_with_role(Role.BUILDING_HEAD, tree["building_a2"])  # someone else
    assert place_roots_for(account) == [tree["grid_a1"]]
