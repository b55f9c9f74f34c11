"""Helpers for the publication, ranking, selection and evaluation tests: approved claims through the services."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from django.utils import timezone

from gongzhi.points.services import claim_approve, claim_submit
from gongzhi.points.tests.factories import make_item, resident_with_login, reviewer, worker

_serial = itertools.count(1)


def last_month() -> date:
    """The first day of the month before this one (a month that is over, whatever today is)."""
    return (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)


def approved(account, *, item, day: date, by, login, source_type: str = "", value_note: str = ""):
    """A claim for ``account`` on ``day``, submitted by ``login`` (its holder or staff) and approved by ``by``."""
    claim = claim_submit(
        actor=login,
        account=account,
        item=item,
        service_date=day,
        description=value_note or f"服务{next(_serial)}",
        source_type=source_type,
        source_id=str(next(_serial)) if source_type else "",
    )
    claim_approve(actor=by, claim=claim)
    claim.refresh_from_db()
    return claim


class PointsWorld:
    """A community with a reviewer, items of a few values, and residents with logins and accounts."""

    def __init__(self, tree):
        self.tree = tree
        self.community = tree["community_a"]
        self.reviewer = reviewer(self.community)
        self.worker = worker(self.community)
        self.items = {value: make_item(tree["district"], value=value) for value in (3, 5, 8)}

    def resident(self, household_key: str = "household_a1", **kwargs):
        return resident_with_login(self.tree[household_key], **kwargs)

    def award(self, account, value: int, day: date, login=None, **kwargs):
        return approved(
            account, item=self.items[value], day=day, by=self.reviewer, login=login or self.worker, **kwargs
        )
