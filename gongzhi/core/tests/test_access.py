"""The access rule: a role held on a place reaches that place's subtree, for that role's permissions only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from gongzhi.core.access import reach
from gongzhi.core.roles import Permission, Role
from gongzhi.core.tree import collapse_prefixes, path_upper_bound
from gongzhi.people.models import RoleAssignment
from gongzhi.people.tests.factories import AccountFactory, account_with_role

pytestmark = pytest.mark.django_db


def test_role_reaches_subtree_for_its_permissions(tree):
    worker = account_with_role(Role.GRID_WORKER, tree["grid_a1"])
    scope = reach(worker, Permission.RESIDENT_VIEW)
    assert scope.covers(tree["household_a1"].path)
    assert not scope.covers(tree["household_a2"].path)
    assert not scope.covers(tree["community_a"].path)  # reach goes down, never up
    assert reach(worker, Permission.PLACE_MANAGE).is_empty


def test_anonymous_and_inactive_reach_nothing(tree):
    assert reach(AnonymousUser(), Permission.PLACE_VIEW).is_empty
    worker = account_with_role(Role.GRID_WORKER, tree["grid_a1"], is_active=False)
    assert reach(worker, Permission.PLACE_VIEW).is_empty


def test_ended_and_future_roles_do_not_count(tree):
    account = AccountFactory()
    today = timezone.localdate()
    RoleAssignment.objects.create(
        account=account,
        role=Role.GRID_WORKER,
        place=tree["grid_a1"],
        starts_on=today - timedelta(days=30),
        ends_on=today - timedelta(days=1),
    )
    RoleAssignment.objects.create(
        account=account, role=Role.GRID_WORKER, place=tree["grid_a2"], starts_on=today + timedelta(days=1)
    )
    assert reach(account, Permission.PLACE_VIEW).is_empty


def test_superuser_reaches_everything():
    admin = AccountFactory(is_superuser=True)
    assert reach(admin, Permission.RESIDENT_REVEAL).everything


def test_prefixes_collapse_and_bounds():
    assert collapse_prefixes(["/1/2/", "/1/", "/3/4/", "/3/4/5/"]) == ["/1/", "/3/4/"]
    assert path_upper_bound("/1/2/") == "/1/20"
    assert "/1/2/99/" < path_upper_bound("/1/2/") <= "/1/2:"
