"""Case KPIs equal hand counts on a fixed data set: 20 cases, 10 disputes, 10 visits, 5 agent matters, for two
places (community A, the street) and two periods (March 2026, week 2026-W10 = 2–8 March), plus exact rates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gongzhi.cases.kpis import agent_counts, agent_figures, case_figures, case_kpis, dispute_figures, visit_figures
from gongzhi.cases.models import (
    AgentService,
    Case,
    CaseChannel,
    Dispute,
    HouseholdVisit,
)
from gongzhi.core.errors import CoreError, ValidationFailed
from gongzhi.core.figures import Period, Rate
from gongzhi.core.roles import Role
from gongzhi.core.testing import assert_refused
from gongzhi.people.tests.factories import AccountFactory, ResidentFactory, account_with_role
from gongzhi.places.tests.factories import superuser

from .factories import local

MARCH = Period.month(2026, 3)
W10 = Period.from_key("2026-W10")


# ---------------------------------------------------------------- Rate and Period


def test_rate_is_exact_and_rounds_half_up():
    assert Rate(3218, 3747).percent == Decimal("85.9")  # seed 004 printed 84 %
    assert Rate(195, 203).percent == Decimal("96.1")
    assert Rate(1, 16).percent == Decimal("6.3")  # 6.25: half-up, not half-even
    assert Rate(1, 8).percent == Decimal("12.5")
    assert Rate(2, 3).percent == Decimal("66.7")
    assert Rate(0, 0).percent is None
    assert Rate(3218, 3747).as_dict() == {"numerator": 3218, "denominator": 3747, "percent": 85.9}
    assert str(Rate(3218, 3747)) == "85.9 % (3,218/3,747)"
    with pytest.raises(ValueError):
        Rate(-1, 3)


def test_periods_follow_monday_weeks_and_local_days():
    assert (W10.first, W10.last) == (date(2026, 3, 2), date(2026, 3, 8))
    assert W10.first.weekday() == 0
    assert Period.week(date(2026, 3, 8)) == W10 and Period.week(date(2026, 3, 9)).key == "2026-W11"
    assert Period.from_key("2026-03") == MARCH and MARCH.last == date(2026, 3, 31)
    assert Period.from_key("2024-02").last == date(2024, 2, 29)
    quarter = Period.from_key("2026-Q4")
    assert (quarter.first, quarter.last, quarter.key) == (date(2026, 10, 1), date(2026, 12, 31), "2026-Q4")
    assert Period.from_key("2026").last == date(2026, 12, 31)
    custom = Period.from_key("2026-03-05..2026-03-07")
    assert custom.kind == "custom" and custom.key == "2026-03-05..2026-03-07"
    assert custom.previous() == Period.custom(date(2026, 3, 2), date(2026, 3, 4))
    assert W10.previous().key == "2026-W09" and MARCH.previous().key == "2026-02"
    assert Period.from_key("2026-Q1").previous().key == "2025-Q4"
    # Bounds are local (Asia/Shanghai) midnights: 2026-03-02 00:00 +08:00 is 2026-03-01 16:00 UTC.
    assert W10.start.isoformat() == "2026-03-02T00:00:00+08:00"
    assert W10.end == local("2026-03-09 00:00")
    for bad in ("2026-13", "2026-W60", "March", "2026-03-09..2026-03-01", ""):
        with pytest.raises(ValidationFailed):
            Period.from_key(bad)


# ---------------------------------------------------------------- the data set


def _case(world, place, submitted, state, *, closed=None, level="", satisfaction="", overdue=False, **extra):
    fields = {
        "category": world["category"],
        "text": "t",
        "place": world[place],
        "channel": CaseChannel.STAFF,
        "handling_place": world[place],
        "state": state,
        "submitted_at": local(submitted),
        "reported_at": local(submitted),
        "resolved_level": level,
        "satisfaction": satisfaction,
        "is_overdue": overdue,
        "first_overdue_at": local(submitted) if overdue else None,
        "closed_at": local(closed) if closed else None,
    }
    if state == "rejected":
        fields["reject_reason"] = "不属实"
    fields.update(extra)
    return Case.objects.create(**fields)


def _dispute(world, place, found_on, state):
    final = state in ("agreement", "referred", "not_resolved")
    return Dispute.objects.create(
        kind="neighbour",
        place=world[place],
        description="噪音",
        found_on=date.fromisoformat(found_on),
        registered_by=world["community_worker"],
        state=state,
        agreement_text="和解" if state == "agreement" else "",
        referred_to="派出所" if state == "referred" else "",
        closed_at=local(f"{found_on} 18:00") if final else None,
    )


def _visit(world, household, visitor, on, outcome, case=None):
    return HouseholdVisit.objects.create(
        household=world[household],
        visitor=world[visitor],
        visited_on=date.fromisoformat(on),
        opinion="" if outcome == "none" else "意见",
        outcome=outcome,
        became_case=case,
        settled_at=local(f"{on} 20:00") if outcome == "handled_later" else None,
        settlement_note="已处理" if outcome == "handled_later" else "",
    )


def _matter(world, household, agent, received, state, completed=None):
    return AgentService.objects.create(
        kind="pension",
        title="养老金认证",
        resident=ResidentFactory(household=world[household]),
        place=world[household],
        agent=agent,
        state=state,
        received_at=local(received),
        completed_at=local(completed) if completed else None,
    )


@pytest.fixture
def data(world):
    c = {}
    c[1] = _case(
        world,
        "household_a1",
        "2026-03-02 10:00",
        "closed",
        closed="2026-03-03 10:00",
        level="grid",
        satisfaction="satisfied",
    )
    c[2] = _case(
        world,
        "household_a1",
        "2026-03-03 10:00",
        "closed",
        closed="2026-03-05 10:00",
        level="grid",
        satisfaction="basically_satisfied",
        overdue=True,
    )
    c[3] = _case(
        world,
        "household_a1b",
        "2026-03-04 10:00",
        "closed",
        closed="2026-03-06 10:00",
        level="community",
        satisfaction="unsatisfied",
    )
    c[4] = _case(
        world,
        "household_a2",
        "2026-03-05 10:00",
        "closed",
        closed="2026-03-10 10:00",
        level="street",
        satisfaction="satisfied",
    )
    c[5] = _case(world, "household_a2", "2026-03-09 00:10", "closed", closed="2026-03-12 10:00", level="grid")
    c[6] = _case(world, "household_a1", "2026-03-10 10:00", "resolved", level="grid")
    c[7] = _case(world, "household_a1", "2026-03-08 23:30", "in_progress")
    c[8] = _case(world, "household_a2", "2026-03-12 10:00", "submitted", overdue=True)
    c[9] = _case(world, "household_a1", "2026-03-13 10:00", "rejected", closed="2026-03-13 12:00")
    c[10] = _case(world, "household_a1b", "2026-03-14 10:00", "withdrawn", closed="2026-03-14 12:00")
    c[11] = _case(world, "household_a1", "2026-03-15 10:00", "duplicate", duplicate_of=c[1])
    c[12] = _case(
        world,
        "household_a2",
        "2026-02-25 10:00",
        "closed",
        closed="2026-03-04 10:00",
        level="grid",
        satisfaction="satisfied",
        overdue=True,
    )
    c[13] = _case(
        world,
        "household_a1",
        "2026-03-20 10:00",
        "closed",
        closed="2026-04-02 10:00",
        level="community",
        satisfaction="satisfied",
    )
    c[14] = _case(
        world,
        "grid_a1",
        "2026-03-06 10:00",
        "closed",
        closed="2026-03-07 10:00",
        level="grid",
        satisfaction="satisfied",
    )
    c[15] = _case(
        world,
        "household_b1",
        "2026-03-02 10:00",
        "closed",
        closed="2026-03-03 10:00",
        level="grid",
        satisfaction="satisfied",
    )
    c[16] = _case(
        world,
        "household_b1",
        "2026-03-03 10:00",
        "closed",
        closed="2026-03-04 10:00",
        level="district_department",
        satisfaction="unsatisfied",
        overdue=True,
    )
    c[17] = _case(world, "household_b1", "2026-03-05 10:00", "accepted")
    c[18] = _case(
        world,
        "household_b1",
        "2026-03-16 10:00",
        "closed",
        closed="2026-03-18 10:00",
        level="community",
        satisfaction="basically_satisfied",
    )
    c[19] = _case(
        world,
        "household_b1",
        "2026-02-10 10:00",
        "closed",
        closed="2026-02-12 10:00",
        level="grid",
        satisfaction="satisfied",
    )
    c[20] = _case(world, "household_b1", "2026-03-31 23:30", "submitted")

    _dispute(world, "household_a1", "2026-03-02", "agreement")
    _dispute(world, "household_a1b", "2026-03-03", "agreement")
    _dispute(world, "household_a2", "2026-03-05", "referred")
    _dispute(world, "grid_a2", "2026-03-10", "not_resolved")
    _dispute(world, "household_a1", "2026-03-12", "mediating")
    _dispute(world, "household_a1", "2026-03-20", "agreement")
    _dispute(world, "household_b1", "2026-03-04", "agreement")
    _dispute(world, "household_b1", "2026-03-15", "open")
    _dispute(world, "household_b1", "2026-02-27", "agreement")
    _dispute(world, "community_a", "2026-03-08", "agreement")

    _visit(world, "household_a1", "building_head", "2026-03-02", "none")
    _visit(world, "household_a1b", "building_head", "2026-03-03", "handled_on_spot")
    _visit(world, "household_a1", "building_head", "2026-03-04", "pending")
    _visit(world, "household_a1b", "building_head", "2026-03-05", "became_case", c[1])  # case closed: handled
    _visit(world, "household_a1", "building_head", "2026-03-06", "became_case", c[7])  # case open: being handled
    _visit(world, "household_a2", "grid_worker", "2026-03-10", "handled_later")
    _visit(world, "household_a2", "grid_worker", "2026-03-11", "none")
    _visit(world, "household_b1", "community_worker_b", "2026-03-03", "pending")
    _visit(world, "household_b1", "community_worker_b", "2026-03-20", "handled_on_spot")
    _visit(world, "household_a1", "building_head", "2026-02-28", "handled_on_spot")

    x, y, z = AccountFactory(), AccountFactory(), AccountFactory()
    _matter(world, "household_a1", x, "2026-03-02 09:00", "completed", "2026-03-05 09:00")
    _matter(world, "household_a1b", x, "2026-03-03 09:00", "in_progress")
    _matter(world, "household_a2", y, "2026-03-10 09:00", "completed", "2026-03-12 09:00")
    _matter(world, "household_b1", z, "2026-02-20 09:00", "completed", "2026-03-03 09:00")
    _matter(world, "household_b1", z, "2026-03-20 09:00", "received")
    return {"cases": c, "agents": (x, y, z)}


def _rates(figures) -> dict:
    return {
        name: (value.numerator, value.denominator) for name, value in vars(figures).items() if isinstance(value, Rate)
    }


# (place, period) → expected figures, counted by hand from the table above.
CASES = {
    ("community_a", MARCH): (
        12,
        7,
        3,
        {"on_time": (5, 7), "satisfaction": (5, 6), "resolved_in_grid": (5, 7), "resolved_in_community": (6, 7)},
    ),
    ("community_a", W10): (
        6,
        5,
        1,
        {"on_time": (3, 5), "satisfaction": (4, 5), "resolved_in_grid": (4, 5), "resolved_in_community": (5, 5)},
    ),
    ("street", MARCH): (
        17,
        10,
        5,
        {"on_time": (7, 10), "satisfaction": (7, 9), "resolved_in_grid": (6, 10), "resolved_in_community": (8, 10)},
    ),
    ("street", W10): (
        9,
        7,
        2,
        {"on_time": (4, 7), "satisfaction": (5, 7), "resolved_in_grid": (5, 7), "resolved_in_community": (6, 7)},
    ),
}
DISPUTES = {  # found, resolved, referred, not resolved, in mediation
    ("community_a", MARCH): (7, 4, 1, 1, 1),
    ("community_a", W10): (4, 3, 1, 0, 0),
    ("street", MARCH): (9, 5, 1, 1, 2),
    ("street", W10): (5, 4, 1, 0, 0),
}
VISITS = {  # visits, households, opinions, handled, being handled, passed up
    ("community_a", MARCH): (7, 3, 5, 3, 2, 2),
    ("community_a", W10): (5, 2, 4, 2, 2, 2),
    ("street", MARCH): (9, 4, 7, 4, 3, 2),
    ("street", W10): (6, 3, 5, 2, 3, 2),
}
AGENTS = {  # agents, received, completed, open
    ("community_a", MARCH): (2, 3, 2, 1),
    ("community_a", W10): (1, 2, 1, 1),
    ("street", MARCH): (3, 4, 3, 2),
    ("street", W10): (2, 2, 2, 1),
}


@pytest.mark.parametrize("key", list(CASES), ids=lambda key: f"{key[0]}-{key[1].key}")
def test_figures_equal_hand_counts(world, data, key, django_assert_num_queries):
    place_name, period = key
    place = world[place_name]
    # Through the roll-ups (none built here): per source its state and the cases counted live (2 × 2), "open"
    # with the received ones (gongzhi.rollups; test_cases_rollups.py checks the built path).
    with django_assert_num_queries(4):
        cases = case_figures(place, period)
    received, closed, still_open, rates = CASES[key]
    assert (cases.received, cases.closed, cases.open) == (received, closed, still_open)
    assert _rates(cases) == rates

    with django_assert_num_queries(1):
        disputes = dispute_figures(place, period)
    found, resolved, referred, not_resolved, in_mediation = DISPUTES[key]
    assert (disputes.found, disputes.resolved, disputes.referred, disputes.not_resolved, disputes.in_mediation) == (
        found,
        resolved,
        referred,
        not_resolved,
        in_mediation,
    )
    assert disputes.resolution_rate == Rate(resolved, found)

    with django_assert_num_queries(1):
        visits = visit_figures(place, period)
    assert (
        visits.visits,
        visits.households,
        visits.opinions,
        visits.handled,
        visits.being_handled,
        visits.passed_up,
    ) == VISITS[key]
    assert visits.handled + visits.being_handled == visits.opinions

    with django_assert_num_queries(1):
        agents = agent_figures(place, period)
    assert (agents.agents, agents.received, agents.completed, agents.open) == AGENTS[key]


def test_rates_of_the_data_set_as_percentages(world, data):
    figures = case_figures(world["community_a"], MARCH)
    assert figures.on_time.percent == Decimal("71.4")
    assert figures.satisfaction.percent == Decimal("83.3")
    assert figures.resolved_in_community.percent == Decimal("85.7")
    assert dispute_figures(world["street"], MARCH).resolution_rate.percent == Decimal("55.6")
    assert case_figures(world["community_b"], Period.year(2025)).on_time.percent is None  # nothing closed: no rate


def test_seed_004_rate_computed_from_records(world):
    """3,747 closed cases, 3,218 of them resolved in the grid: 85.9 %, not the 84 % the seed printed."""
    common = {
        "category": world["category"],
        "text": "t",
        "place": world["household_b1"],
        "handling_place": world["household_b1"],
        "channel": CaseChannel.STAFF,
        "state": "closed",
        "submitted_at": local("2026-04-01 09:00"),
        "closed_at": local("2026-04-02 09:00"),
    }
    Case.objects.bulk_create(
        [Case(resolved_level="grid" if index < 3218 else "community", **common) for index in range(3747)],
        batch_size=500,
    )
    figures = case_figures(world["community_b"], Period.month(2026, 4))
    assert figures.resolved_in_grid == Rate(3218, 3747)
    assert figures.resolved_in_grid.percent == Decimal("85.9")
    assert figures.resolved_in_community.percent == Decimal("100.0")


def test_agent_counts_per_agent(world, data):
    x, y, z = data["agents"]
    rows = agent_counts(world["street"], MARCH)
    by_agent = {row["agent_id"]: (row["received"], row["completed"], row["open"]) for row in rows}
    assert by_agent == {x.pk: (2, 1, 1), y.pk: (1, 1, 0), z.pk: (1, 1, 1)}


def test_case_kpis_checks_reach(world, data, django_assert_num_queries):
    community_worker = world["community_worker"]
    kpis = case_kpis(actor=community_worker, place=world["community_a"], period=MARCH)
    assert kpis.cases.received == 12 and kpis.disputes.found == 7
    body = kpis.as_dict()
    assert body["cases"]["on_time"] == {"numerator": 5, "denominator": 7, "percent": 71.4}
    assert body["period"] == {"kind": "month", "key": "2026-03", "first": "2026-03-01", "last": "2026-03-31"}
    # Roles are cached on the actor: the aggregates only (case figures through the roll-ups: 4; then 3).
    with django_assert_num_queries(7):
        case_kpis(actor=community_worker, place=world["community_a"], period=W10)
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: case_kpis(actor=world["community_worker_b"], place=world["community_a"], period=MARCH),
    )
    agent = account_with_role(Role.SERVICE_AGENT, world["community_a"])
    # A service agent does not see case figures.
    assert_refused(CoreError.NOT_FOUND, lambda: case_kpis(actor=agent, place=world["community_a"], period=MARCH))
    assert case_kpis(actor=superuser(), place=world["street"], period=MARCH).cases.received == 17


def test_kpis_endpoint(world, data, api_client_for):
    client = api_client_for(world["street_admin"])
    response = client.get("/api/v1/cases/kpis", {"place_id": world["street"].pk, "period": "2026-W10"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["period"]["key"] == "2026-W10"
    assert body["cases"]["received"] == 9
    assert body["cases"]["resolved_in_grid"] == {"numerator": 5, "denominator": 7, "percent": 71.4}
    assert body["disputes"]["resolution_rate"] == {"numerator": 4, "denominator": 5, "percent": 80.0}
    assert body["visits"]["being_handled"] == 3
    assert body["agent_services"]["completed"] == 2
    assert body["not_computed"]
    custom = client.get("/api/v1/cases/kpis", {"place_id": world["street"].pk, "period": "2026-03-01..2026-03-31"})
    assert custom.json()["cases"]["received"] == 17
    bad = client.get("/api/v1/cases/kpis", {"place_id": world["street"].pk, "period": "spring"})
    assert bad.status_code == 422 and bad.json()["code"] == "validation_failed" and "period" in bad.json()["fields"]
    outsider = api_client_for(world["community_worker_b"])
    denied = outsider.get("/api/v1/cases/kpis", {"place_id": world["community_a"].pk, "period": "2026-03"})
    assert denied.status_code == 404 and denied.json()["code"] == "not_found"
    counts = client.get("/api/v1/cases/agent-services/counts", {"place_id": world["street"].pk, "period": "2026-03"})
    assert counts.status_code == 200 and sum(row["completed"] for row in counts.json()) == 3
