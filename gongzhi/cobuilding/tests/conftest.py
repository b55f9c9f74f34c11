"""The co-building tests' one fixture: ``world`` (see ``factories.make_world``)."""

from __future__ import annotations

import pytest

from .factories import make_world


@pytest.fixture
def world(db):
    return make_world()
