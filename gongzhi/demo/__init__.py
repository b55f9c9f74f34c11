"""The demo district and large seed data sets.

``load_demo()`` runs the demo steps in order. Each step is a module with

- ``TITLE``: what the step makes, in the reader's language (printed while it runs);
- ``is_loaded() -> bool``;
- ``load(context) -> dict``: the step's data, its history counted back from ``context.now`` (counts of what it made);
- ``top_up(context, now) -> dict``: for a step loaded on an earlier day, what brings it current at ``now`` (new
  claims waiting for review, an exchange window open now, orders held at the counter, fresh cases inside and past
  their deadlines, this week's visits …); nothing when it is current already, so running it twice on the same day
  makes nothing new.

So running the loader on an old database tops it up instead of leaving it stale, and a database prepared before a
later domain's step existed gets that step next time. Later domains add their own module here and append it to
``STEPS``; they find the district, places and logins through ``DemoContext``.

The clock: the loader reads it once (``now``, default the current time) and every step takes its moments from
``context.now`` / ``context.today``; no step reads the clock itself. Services that take ``now`` are given the
simulated moment; for those that do not (yet), ``context.clock(moment)`` sets ``timezone.now`` to it while they run.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from importlib import import_module
from typing import Any
from unittest import mock

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

DEMO_SEED = 2024
# Dotted module paths, in the order they run. Append a domain's module to add its demo data.
STEPS: list[str] = [
    "gongzhi.demo.steps_district",
    "gongzhi.demo.steps_points",
    "gongzhi.demo.steps_shop",
    "gongzhi.demo.steps_cases",
    "gongzhi.demo.steps_cobuilding",
    "gongzhi.demo.steps_volunteering",
    "gongzhi.demo.steps_deliberation",
]


def _quiet(message: str) -> None:
    return None


@contextmanager
def simulated_clock(moment: datetime) -> Iterator[None]:
    """``timezone.now()`` (and ``timezone.localdate()``) answer ``moment`` while the block runs."""
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


@dataclass
class DemoContext:
    """What a demo step gets: the seed, a scale (1.0 is the full district; tests use less), the moment the demo is
    built for, and lookups. ``log`` is for the person running it (one line a step, in their language); ``detail``
    for more (``--verbosity 2``)."""

    seed: int = DEMO_SEED
    scale: float = 1.0
    now: datetime | None = None  # None: the current time, read here once
    log: Callable[[str], None] = field(default=_quiet)
    detail: Callable[[str], None] = field(default=_quiet)

    def __post_init__(self) -> None:
        if self.now is None:
            self.now = timezone.now()

    @property
    def moment(self) -> datetime:
        assert self.now is not None  # set in __post_init__
        return self.now

    @property
    def today(self) -> date:
        return timezone.localdate(self.moment)

    def clock(self, moment: datetime | None = None):
        """The simulated clock at ``moment`` (default: ``now``), for services that read ``timezone.now``."""
        return simulated_clock(moment or self.moment)

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


def load_demo(
    *,
    seed: int = DEMO_SEED,
    scale: float = 1.0,
    now: datetime | None = None,
    top_up: bool = True,
    log: Callable[[str], None] | None = None,
    detail: Callable[[str], None] | None = None,
) -> dict:
    """Load every demo step not loaded yet and top up the others (``top_up``), as of ``now`` (default: the current
    time, read once by ``DemoContext``). Returns {step: counts} for the steps that made something."""
    context = DemoContext(seed=seed, scale=scale, now=now, log=log or _quiet, detail=detail or _quiet)
    ran: dict[str, Any] = {}
    for dotted in STEPS:
        step = import_module(dotted)
        title = str(getattr(step, "TITLE", dotted))
        if not step.is_loaded():
            context.log(_("%(step)s…") % {"step": title})
            with transaction.atomic(), context.clock():
                ran[dotted] = step.load(context)
            continue
        if not top_up or not hasattr(step, "top_up"):
            continue
        with transaction.atomic(), context.clock():
            counts = step.top_up(context, context.moment)
        if any(counts.values()):
            context.log(_("%(step)s (brought up to date)") % {"step": title})
            ran[dotted] = counts
    # The cockpit reads the roll-ups of what was just loaded (gongzhi.rollups; seconds at the demo's size).
    from gongzhi.rollups.services import rollups_build

    rollups_build(now=context.moment)
    return ran


def demo_is_loaded() -> bool:
    return all(import_module(dotted).is_loaded() for dotted in STEPS)
