"""The places tests' one world: ``world`` (see ``factories.make_world``)."""

from __future__ import annotations

import pytest

from .factories import make_world


@pytest.fixture
def world(db) -> dict:
    return make_world()
