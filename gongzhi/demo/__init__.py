"""The demo district and large seed data sets.

``load_demo()`` runs the demo steps in order. Each step is a module with ``is_loaded() -> bool`` and
``load(context) -> dict`` (counts of what it made); a step already loaded is skipped, so running the loader twice
creates nothing new and a database prepared before a later domain's step existed gets that step next time.
Later domains add their own module here (``gongzhi/demo/points.py``, ``shop.py``, ``cases.py`` …) and append it
to ``STEPS``; they find the district, places and logins through ``DemoContext``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from importlib import import_module
from typing import Any

from django.db import transaction

DEMO_SEED = 2024
# Dotted module paths, in the order they run. Append a domain's module to add its demo data.
STEPS: list[str] = [
    "gongzhi.demo.steps_district",
    "gongzhi.demo.steps_points",
    "gongzhi.demo.steps_shop",
    "gongzhi.demo.steps_cases",
]


@dataclass
class DemoContext:
    """What a demo step gets: the seed, a scale (1.0 is the full district; tests use less), and lookups."""

    seed: int = DEMO_SEED
    scale: float = 1.0
    log: Callable[[str], None] = field(default=lambda message: None)

    def rng(self, step: str) -> random.Random:
        """A generator of the step's own, so adding a step never changes another step's data."""
        return random.Random(f"{self.seed}:{step}")

    @cached_property
    def district(self):
        from gongzhi.places.models import Place, PlaceKind

        from .figures import DEMO_DISTRICT_CODE

        return Place.objects.get(kind=PlaceKind.DISTRICT, code=DEMO_DISTRICT_CODE, is_active=True)

    @cached_property
    def main_community(self):
        from gongzhi.places.models import Place, PlaceKind

        from .figures import MAIN_COMMUNITY_NAME

        return Place.objects.get(kind=PlaceKind.COMMUNITY, name=MAIN_COMMUNITY_NAME, parent__parent=self.district)

    def account(self, username: str):
        from gongzhi.people.models import Account

        return Account.objects.get(username=username)


def load_demo(*, seed: int = DEMO_SEED, scale: float = 1.0, log: Callable[[str], None] | None = None) -> dict:
    """Load every demo step not loaded yet; return {step: counts} for the steps that ran."""
    context = DemoContext(seed=seed, scale=scale, log=log or (lambda message: None))
    ran: dict[str, Any] = {}
    for dotted in STEPS:
        step = import_module(dotted)
        if step.is_loaded():
            continue
        context.log(f"{dotted}…")
        with transaction.atomic():
            ran[dotted] = step.load(context)
    return ran


def demo_is_loaded() -> bool:
    return all(import_module(dotted).is_loaded() for dotted in STEPS)
