"""Household visits: an opinion handled on the spot, handled later, or passed up as a case (at once or later); the
building head's weekly summary, generated and sent by the weekly job."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from gongzhi.cases.errors import CasesError
from gongzhi.cases.models import Case, HouseholdVisit, Notification
from gongzhi.cases.visits import (
    access_visit,
    my_visit_summary,
    send_weekly_visit_summaries,
    summary_kind,
    visit_log,
    visit_opinion_handle,
    visit_opinion_to_case,
    visit_summaries,
)
from gongzhi.core.errors import CoreError
from gongzhi.core.figures import Period
from gongzhi.core.jobs import run_job
from gongzhi.core.models import AuditEntry
from gongzhi.core.testing import assert_refused


def snapshot() -> tuple:
    return (
        Case.objects.count(),
        AuditEntry.objects.count(),
        list(HouseholdVisit.objects.order_by("pk").values_list("outcome", "became_case_id", "settled_at")),
    )


def _log(world, opinion="", visitor="building_head", household="household_a1", days_ago=0, **extra):
    return visit_log(
        actor=world[visitor],
        household=world[household],
        visited_on=timezone.localdate() - timedelta(days=days_ago),
        findings="家中老人独居",
        opinion=opinion,
        **extra,
    )


def test_opinion_handled_on_the_spot_later_or_passed_up(world):
    spot = _log(world, "楼道灯不亮", handled_on_spot=True)
    assert spot.outcome == "handled_on_spot"
    at_once = _log(world, "下水道堵塞", create_case=True, category=world["category"])
    assert at_once.outcome == "became_case" and at_once.became_case.channel == "visit"

    pending = _log(world, "想申请高龄补贴")
    assert pending.outcome == "pending"
    handled = visit_opinion_handle(actor=world["building_head"], visit=pending, note="已转告社区，已登记")
    assert handled.outcome == "handled_later" and handled.settled_by == world["building_head"]
    assert handled.settled_at is not None and handled.settlement_note == "已转告社区，已登记"

    later = _log(world, "路灯坏了")
    passed = visit_opinion_to_case(
        actor=world["grid_worker"], visit=later, category=world["category"], note="楼栋长处理不了"
    )
    case = passed.became_case
    assert passed.outcome == "became_case" and case.text == "路灯坏了" and case.place == world["household_a1"]
    assert case.channel == "visit" and case.handling_place == world["grid_a1"]
    assert AuditEntry.objects.filter(action="visit.opinion_to_case", object_id=str(later.pk)).exists()


def test_refusals_change_nothing(world):
    pending = _log(world, "噪音")
    spot = _log(world, "问题", handled_on_spot=True)
    before = snapshot()
    # another community's worker cannot see or settle it
    assert_refused(
        CoreError.NOT_FOUND, lambda: visit_opinion_handle(actor=world["community_worker_b"], visit=pending, note="x")
    )
    assert_refused(CoreError.NOT_FOUND, lambda: access_visit(world["community_worker_b"], pending.pk))
    # a resident
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: visit_opinion_to_case(actor=world["resident"], visit=pending, category=world["category"]),
    )
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: visit_opinion_handle(actor=world["building_head"], visit=pending, note="  "),
    )
    # already handled on the spot
    assert_refused(
        CasesError.INVALID_TRANSITION, lambda: visit_opinion_handle(actor=world["building_head"], visit=spot, note="x")
    )
    assert_refused(
        CasesError.INVALID_TRANSITION,
        lambda: visit_opinion_to_case(actor=world["building_head"], visit=spot, category=world["category"]),
    )
    world["category"].is_active = False
    world["category"].save()
    # the case cannot be raised: nothing is half-done
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: visit_opinion_to_case(actor=world["building_head"], visit=pending, category=world["category"]),
    )
    assert_refused(CoreError.VALIDATION_FAILED, lambda: _log(world, "x", days_ago=-2))  # no visits in the future
    # a household outside the visitor's reach
    assert_refused(CoreError.NOT_FOUND, lambda: _log(world, "x", household="household_b1"))
    assert snapshot() == before


def _last_week_visits(world):
    """Last week: the building head visits 4 times (2 opinions handled, 1 passed up, 1 pending, 1 without opinion:
    that is 5 visits), the grid worker once."""
    last_week = Period.week(timezone.localdate()).previous()
    days_ago = (timezone.localdate() - last_week.first).days  # Monday of last week
    _log(world, "", days_ago=days_ago)
    _log(world, "a", days_ago=days_ago, handled_on_spot=True)
    _log(world, "b", days_ago=days_ago - 1, household="household_a1b", create_case=True, category=world["category"])
    pending = _log(world, "c", days_ago=days_ago - 2)
    handled_later = _log(world, "d", days_ago=days_ago - 3)
    visit_opinion_handle(actor=world["building_head"], visit=handled_later, note="已解决")
    _log(world, "e", visitor="grid_worker_a2", household="household_a2", days_ago=days_ago)
    _log(world, "this week", days_ago=0)  # not in last week
    return last_week, pending


def test_weekly_summary_is_generated(world, django_assert_max_num_queries):
    last_week, _pending = _last_week_visits(world)
    with django_assert_max_num_queries(3):
        summaries = visit_summaries(period=last_week, place=world["community_a"])
    by_visitor = {summary.visitor_id: summary for summary in summaries}
    head = by_visitor[world["building_head"].pk]
    assert (head.visits, head.households, head.opinions) == (5, 2, 4)
    assert (head.handled, head.handled_on_spot, head.handled_later, head.passed_up, head.pending) == (2, 1, 1, 1, 1)
    assert by_visitor[world["grid_worker_a2"].pk].visits == 1
    assert my_visit_summary(world["building_head"], last_week) == head
    # a building head with no visits still appears (with zeros), under community B none of these do
    assert {summary.visitor_id for summary in visit_summaries(period=last_week, place=world["community_b"])} == set()
    quiet = visit_summaries(period=last_week.previous(), place=world["community_a"])
    assert [(summary.visitor_id, summary.visits) for summary in quiet] == [(world["building_head"].pk, 0)]


def test_weekly_job_notifies_once(world):
    last_week, _pending = _last_week_visits(world)
    this_week = Period.week(timezone.localdate())
    run = run_job("cases.weekly_visit_summaries", this_week.key, now=timezone.now())
    assert run.status == "succeeded", run.result
    assert run.result["notified"] == 3  # two summaries; the building head's also to the grid worker above
    head_kind = summary_kind(last_week, world["building_head"].pk)
    recipients = set(Notification.objects.filter(kind=head_kind).values_list("recipient_id", flat=True))
    # the building head and the grid worker of the grid above their building (not grid A2's worker)
    assert recipients == {world["building_head"].pk, world["grid_worker"].pk}
    text = Notification.objects.filter(kind=head_kind, recipient=world["building_head"]).get().text
    assert last_week.key in text and "5" in text
    count = Notification.objects.count()
    assert run_job("cases.weekly_visit_summaries", this_week.key, now=timezone.now()) is None  # once per week
    assert send_weekly_visit_summaries(period=last_week)["notified"] == 0  # and idempotent when called again
    assert Notification.objects.count() == count


def test_visit_api(world, api_client_for):
    head = api_client_for(world["building_head"])
    today = timezone.localdate().isoformat()
    response = head.post(
        "/api/v1/cases/visits", {"household_id": world["household_a1"].pk, "visited_on": today, "opinion": "电梯异响"}
    )
    assert response.status_code == 201, response.content
    visit_id = response.json()["id"]
    assert response.json()["outcome"] == "pending"
    response = head.post(
        f"/api/v1/cases/visits/{visit_id}/to-case", {"category_id": world["category"].pk, "note": "需维修"}
    )
    assert response.status_code == 200 and response.json()["outcome"] == "became_case"
    assert response.json()["case_id"] is not None
    again = head.post(f"/api/v1/cases/visits/{visit_id}/handle", {"note": "x"})
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    summary = head.get("/api/v1/cases/visits/summary").json()
    assert summary["visits"] == 1 and summary["passed_up"] == 1
    listing = head.get("/api/v1/cases/visits").json()
    assert listing["count"] == 1
    staff = api_client_for(world["community_worker"])
    summaries = staff.get("/api/v1/cases/visits/summaries", {"place_id": world["community_a"].pk})
    assert summaries.status_code == 200
    assert {row["visitor_id"]: row["visits"] for row in summaries.json()} == {world["building_head"].pk: 1}
    outsider = api_client_for(world["community_worker_b"])
    assert outsider.get(f"/api/v1/cases/visits/{visit_id}").status_code == 404
    assert outsider.get("/api/v1/cases/visits/summaries", {"place_id": world["community_a"].pk}).status_code == 404
