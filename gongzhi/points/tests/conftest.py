"""The points tests' one world: community A with a reviewer and a community worker, district items worth 3, 5
and 8 points, and ``world.resident()`` for residents with a login and an account (``PointsWorld``).

A module that needs more builds on it with a fixture of the same name that takes this one
(``def world(world): ...``), so every test starts from the same place.
"""

from __future__ import annotations

import pytest

from gongzhi.points.tests.publication_factories import PointsWorld


@pytest.fixture
def world(tree):
    return PointsWorld(tree)
