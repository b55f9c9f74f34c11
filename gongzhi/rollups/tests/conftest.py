"""The roll-up tests use the cockpit's hand-counted world (gongzhi/cockpit/tests/conftest.py)."""

from __future__ import annotations

import pytest

from gongzhi.cockpit.tests.conftest import build_world


@pytest.fixture
def world(db):
    return build_world()
