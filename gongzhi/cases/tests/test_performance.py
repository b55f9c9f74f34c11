"""Grid worker performance from their grids' cases and their visits, shown to the community; points for handlers
through the red points service."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from gongzhi.cases.errors import CasesError
from gongzhi.cases.models import Case, CaseChannel, HouseholdVisit
from gongzhi.cases.performance import case_points_claim, grid_worker_performance, performance_for
from gongzhi.cases.services import case_accept, case_rate, case_resolve, case_submit
from gongzhi.core.errors import CoreError
from gongzhi.core.figures import Period, Rate
from gongzhi.core.roles import Role
from gongzhi.core.testing import assert_refused
from gongzhi.people.models import RoleAssignment
from gongzhi.people.tests.factories import AccountFactory, ResidentFactory, account_with_role
from gongzhi.points.models import Claim

from .factories import local

MARCH = Period.month(2026, 3)


def _case(world, place, state, *, level="", satisfaction="", overdue=False, closed=True):
    return Case.objects.create(
        category=world["category"],
        text="t",
        place=world[place],
        handling_place=world[place],
        channel=CaseChannel.STAFF,
        state=state,
        submitted_at=local("2026-03-03 09:00"),
        closed_at=local("2026-03-05 09:00") if closed else None,
        resolved_level=level,
        satisfaction=satisfaction,
        is_overdue=overdue,
        first_overdue_at=local("2026-03-04 09:00") if overdue else None,
    )


@pytest.fixture
def march(world):
    # grid A1: 3 closed (2 in grid, 1 at community; 1 overdue; ratings satisfied, unsatisfied, none), 1 open
    _case(world, "household_a1", "closed", level="grid", satisfaction="satisfied")
    _case(world, "household_a1b", "closed", level="grid", satisfaction="unsatisfied", overdue=True)
    _case(world, "household_a1", "closed", level="community")
    _case(world, "household_a1", "in_progress", closed=False)
    # grid A2: 1 closed in grid, basically satisfied
    _case(world, "household_a2", "closed", level="grid", satisfaction="basically_satisfied")
    for day in (2, 3, 4):
        HouseholdVisit.objects.create(
            household=world["household_a1"],
            visitor=world["grid_worker"],
            visited_on=date(2026, 3, day),
            opinion="意见" if day == 2 else "",
            outcome="pending" if day == 2 else "none",
        )
    return world


def test_performance_table(march, django_assert_num_queries):
    world = march
    with django_assert_num_queries(4):  # workers, names, case figures, visits
        table = grid_worker_performance(place=world["community_a"], period=MARCH)
    by_worker = {row.account_id: row for row in table}
    a1 = by_worker[world["grid_worker"].pk]
    assert a1.grids == ("第一网格",)
    assert (a1.cases.received, a1.cases.closed, a1.cases.open) == (4, 3, 1)
    assert a1.cases.on_time == Rate(2, 3)
    assert a1.cases.satisfaction == Rate(1, 2)
    assert a1.cases.resolved_in_grid == Rate(2, 3)
    assert (a1.visits, a1.opinions) == (3, 1)
    a2 = by_worker[world["grid_worker_a2"].pk]
    assert (a2.cases.closed, a2.cases.resolved_in_grid, a2.cases.satisfaction) == (1, Rate(1, 1), Rate(1, 1))
    assert a2.visits == 0
    assert [row.account_id for row in table] == [world["grid_worker_a2"].pk, world["grid_worker"].pk]  # 100 % first
    # a worker holding two grids counts both, once each
    both = account_with_role(Role.GRID_WORKER, world["grid_a1"], username="both")
    RoleAssignment.objects.create(account=both, role=Role.GRID_WORKER, place=world["grid_a2"])
    row = {item.account_id: item for item in grid_worker_performance(place=world["community_a"], period=MARCH)}[both.pk]
    assert row.cases.closed == 4 and row.cases.resolved_in_grid == Rate(3, 4)
    assert grid_worker_performance(place=world["community_b"], period=MARCH) == []


def test_shown_to_the_community(march, api_client_for):
    world = march
    staff = performance_for(actor=world["community_worker"], place=world["community_a"], period=MARCH)
    assert world["grid_worker"].label in {row.name for row in staff}
    public = performance_for(actor=world["resident"], place=world["community_a"], period=MARCH)
    assert {row.name for row in public} == {
        "*" if len(row.name) == 1 else row.name[0] + "*" * (len(row.name) - 1) for row in public
    }
    assert all(row.name != world["grid_worker"].label for row in public)
    # a resident of another community
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: performance_for(actor=world["other_resident"], place=world["community_b"], period=MARCH),
    )
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: performance_for(actor=world["community_worker_b"], place=world["community_a"], period=MARCH),
    )
    client = api_client_for(world["resident"])
    response = client.get("/api/v1/cases/performance", {"place_id": world["community_a"].pk, "period": "2026-03"})
    assert response.status_code == 200, response.content
    workers = response.json()["workers"]
    assert workers[1]["cases"]["resolved_in_grid"] == {"numerator": 2, "denominator": 3, "percent": 66.7}
    assert workers[1]["visits"] == 3


@pytest.fixture
def worker_with_points(world):
    from gongzhi.points.tests.factories import make_item

    resident = ResidentFactory(household=world["household_a2"], name="陈网格")
    account = AccountFactory(resident=resident, username="grid_with_points")
    RoleAssignment.objects.create(account=account, role=Role.GRID_WORKER, place=world["grid_a1"])
    item = make_item(world["district"], value=5, name="网格员办结诉求")
    return account, item


def _closed_case(world, handler, rating="satisfied"):
    case = case_submit(actor=world["resident"], category=world["category"], text="楼道堆物")
    case = case_accept(actor=handler, case=case)
    case = case_resolve(actor=handler, case=case, resolution="已清理")
    return case_rate(actor=world["resident"], case=case, rating=rating)


def test_points_claim_for_the_handler(world, worker_with_points):
    handler, item = worker_with_points
    case = _closed_case(world, handler)
    assert case.state == "closed"
    claim = case_points_claim(actor=handler, case=case, item=item)
    assert claim.source_type == "case" and claim.source_id == str(case.pk)
    assert claim.account.resident_id == handler.resident_id
    assert case_points_claim(actor=handler, case=case, item=item).pk == claim.pk  # one case, one claim
    assert Claim.objects.filter(source_type="case", source_id=str(case.pk)).count() == 1


def test_points_claim_refused(world, worker_with_points):
    handler, item = worker_with_points
    unhappy = case_submit(actor=world["resident"], category=world["category"], text="噪音")
    unhappy = case_accept(actor=handler, case=unhappy)
    unhappy = case_resolve(actor=handler, case=unhappy, resolution="已劝导")
    before = Claim.objects.count()
    # resolved, not yet rated or closed
    assert_refused(CasesError.NOT_ELIGIBLE, lambda: case_points_claim(actor=handler, case=unhappy, item=item))
    happy = _closed_case(world, handler)
    # someone who cannot see the case
    assert_refused(
        CoreError.NOT_FOUND, lambda: case_points_claim(actor=world["community_worker_b"], case=happy, item=item)
    )
    assert Claim.objects.count() == before
    assert timezone.localtime(happy.closed_at).date() == timezone.localdate()
