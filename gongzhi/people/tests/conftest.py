"""The people tests' one world: ``world`` (see ``factories.make_world``), and the roster tests' ``worker``."""

from __future__ import annotations

import pytest

from gongzhi.core.roles import Role

from .factories import World, account_with_role, make_world


@pytest.fixture
def world(db) -> World:
    return make_world()


@pytest.fixture
def worker(tree):
    """A community worker of community A (imports rosters there), for the tests built on the bare ``tree``."""
    return account_with_role(Role.COMMUNITY_WORKER, tree["community_a"], username="worker_a")
