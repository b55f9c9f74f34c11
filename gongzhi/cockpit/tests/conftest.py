"""The cockpit's world: the small district of the cases tests (one street, communities A and B, grids A1 and A2)
with a handler per level, and a data set counted by hand for March 2031 (``MARCH``):

- cases about grid A1: three closed in March (two never overdue; two resolved at grid level, one at community
  level; ratings: satisfied, basically satisfied, unsatisfied), one received in March and still open; one case
  closed in February (the previous period). Community B: none (its rates have zero denominators → "—").
- red points: resident r1 (household A1) is awarded 5 + 3 points in March and 8 in February; r2 (household A2)
  has a claim of 5 rejected in March.

Hand counts — community A, March 2031: cases received 4, closed 3, open 1, on time 2/3 = 66.7 %, satisfaction 2/3,
resolved in grid 2/3, in community 3/3; points issued 8, claims approved 2, rejected 1, participants 1. District:
the same (nothing else happens). February: cases closed 1 (on time 1/1), points issued 8.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from gongzhi.cases.models import Case, CaseChannel
from gongzhi.cases.tests.factories import make_world
from gongzhi.core.figures import Period
from gongzhi.points.services import claim_approve, claim_reject, claim_submit
from gongzhi.points.tests.factories import make_item, resident_with_login, reviewer

SHANGHAI = ZoneInfo("Asia/Shanghai")
MARCH = Period.month(2031, 3)
FEBRUARY = Period.month(2031, 2)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


@dataclass
class CockpitWorld:
    places: dict
    accounts: dict
    r1: object
    r2: object

    def __getitem__(self, key):
        return self.places.get(key) or self.accounts[key]


def _case(
    world,
    *,
    submitted: datetime,
    state: str,
    closed: datetime | None = None,
    level: str = "",
    satisfaction: str = "",
    overdue: bool = False,
) -> Case:
    return Case.objects.create(
        category=world["category"],
        text="路灯不亮",
        place=world["grid_a1"],
        channel=CaseChannel.STAFF,
        handling_place=world["grid_a1"],
        state=state,
        submitted_at=submitted,
        reported_at=submitted,
        resolved_level=level,
        satisfaction=satisfaction,
        is_overdue=overdue,
        first_overdue_at=submitted if overdue else None,
        closed_at=closed,
    )


def build_world() -> CockpitWorld:
    """The world and its hand-counted data (the browser journey builds it in a transactional database)."""
    base = make_world()
    places = {key: value for key, value in base.items() if hasattr(value, "path")}
    review = reviewer(base["community_a"], username="reviewer_a")
    items = {value: make_item(base["district"], value=value) for value in (3, 5, 8)}
    _login1, r1 = resident_with_login(base["household_a1"], name="赵六")
    _login2, r2 = resident_with_login(base["household_a2"], name="钱七")

    def award(account, value: int, day: date):
        claim = claim_submit(
            actor=base["community_worker"],
            account=account,
            item=items[value],
            service_date=day,
            description=f"服务 {value} {day}",
            now=at(day),
        )
        return claim_approve(actor=review, claim=claim, now=at(day, 15))

    award(r1, 8, date(2031, 2, 10))
    award(r1, 5, date(2031, 3, 3))
    award(r1, 3, date(2031, 3, 10))
    rejected = claim_submit(
        actor=base["community_worker"],
        account=r2,
        item=items[5],
        service_date=date(2031, 3, 11),
        description="服务 r2",
        now=at(date(2031, 3, 11)),
    )
    claim_reject(actor=review, claim=rejected, reason="不符合", now=at(date(2031, 3, 12)))

    march = date(2031, 3, 5)
    _case(
        base, submitted=at(march), state="closed", closed=at(date(2031, 3, 6)), level="grid", satisfaction="satisfied"
    )
    _case(
        base,
        submitted=at(march),
        state="closed",
        closed=at(date(2031, 3, 7)),
        level="grid",
        satisfaction="basically_satisfied",
    )
    _case(
        base,
        submitted=at(march),
        state="closed",
        closed=at(date(2031, 3, 9)),
        level="community",
        satisfaction="unsatisfied",
        overdue=True,
    )
    _case(base, submitted=at(date(2031, 3, 20)), state="submitted")
    _case(base, submitted=at(date(2031, 2, 3)), state="closed", closed=at(date(2031, 2, 4)), level="grid")
    accounts = {key: value for key, value in base.items() if key not in places}
    accounts["reviewer"] = review
    return CockpitWorld(places=places, accounts=accounts, r1=r1, r2=r2)


@pytest.fixture
def world(db):
    return build_world()
