"""The case services: intake, routing, the ladder with deadlines, rating, merging, visits, summonses, jobs."""

from __future__ import annotations

from datetime import date, timedelta

from django.core import mail

from gongzhi.cases import jobs, notifications, services, summonses, visits
from gongzhi.cases.errors import CasesError
from gongzhi.cases.models import (
    Case,
    CaseChannel,
    CaseEvent,
    CaseEventKind,
    CaseLevel,
    CaseState,
    HouseholdVisit,
    Notification,
    RoutingRule,
    Satisfaction,
    Summons,
    SummonsState,
    VisitOutcome,
)
from gongzhi.cases.selectors import handler_queue, possible_duplicates
from gongzhi.core.errors import CoreError
from gongzhi.core.jobs import run_job
from gongzhi.core.models import AuditEntry, JobRun
from gongzhi.core.testing import assert_refused

from .factories import local

MONDAY_9 = local("2026-11-16 09:00")


def submit(world, now=MONDAY_9, **extra):
    arguments = {"actor": world["resident"], "category": world["category"], "text": "楼下路灯坏了", "now": now}
    arguments.update(extra)
    return services.case_submit(**arguments)


def snapshot(case):
    """Everything a refused action must leave as it was."""
    case.refresh_from_db()
    return (
        case.state,
        case.level,
        case.handling_place_id,
        case.current_handler_id,
        case.accept_by,
        case.resolve_by,
        case.updated_at,
        CaseEvent.objects.filter(case=case).count(),
        AuditEntry.objects.count(),
        Notification.objects.count(),
    )


def kinds(case):
    return list(CaseEvent.objects.filter(case=case).order_by("occurred_at", "id").values_list("kind", flat=True))


# ---------------------------------------------------------------- intake and routing


def test_resident_case_goes_to_the_grid_and_its_worker_with_deadlines(world):
    case = submit(world)
    assert case.channel == CaseChannel.RESIDENT_APP
    assert case.place == world["household_a1"]
    assert (case.level, case.handling_place, case.current_handler) == (
        CaseLevel.GRID,
        world["grid_a1"],
        world["grid_worker"],
    )
    assert case.state == CaseState.SUBMITTED
    assert case.accept_by == local("2026-11-16 11:00")
    assert case.resolve_by == local("2026-11-16 18:00")  # 3 h before lunch + 5 h after
    assert kinds(case) == [CaseEventKind.SUBMITTED, CaseEventKind.ROUTED]
    assert Notification.objects.filter(recipient=world["grid_worker"], case=case, kind="case.new").exists()
    assert Notification.objects.filter(recipient=world["resident"], case=case, kind="case.received").exists()
    assert AuditEntry.objects.filter(action="case.submit", object_id=str(case.pk)).exists()


def test_resident_cannot_file_at_someone_elses_household(world):
    assert_refused(CoreError.NOT_FOUND, lambda: submit(world, place=world["household_b1"]))
    assert not Case.objects.exists()


def test_routing_rule_sends_a_category_to_a_department(world):
    RoutingRule.objects.create(
        category=world["category"],
        scope_place=world["community_a"],
        target_level=CaseLevel.COMMUNITY,
        target_department=world["department"],
    )
    case = submit(world)
    assert (case.level, case.handling_place, case.handling_department) == (
        CaseLevel.COMMUNITY,
        world["community_a"],
        world["department"],
    )
    # The department's representative may act on it; the grid worker may not.
    case = services.case_accept(actor=world["department_rep"], case=case, now=MONDAY_9)
    assert case.state == CaseState.ACCEPTED


def test_staff_record_on_behalf_and_anonymous_is_kept(world):
    case = services.case_submit(
        actor=world["community_worker"],
        category=world["category"],
        text="来电反映路灯不亮",
        place=world["building_a1"],
        channel=CaseChannel.STAFF,
        anonymous=True,
        contact_phone="13800001111",
        now=MONDAY_9,
    )
    assert case.recorded_by == world["community_worker"] and case.is_anonymous
    assert case.handling_place == world["grid_a1"]
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: services.case_submit(
            actor=world["community_worker"],
            category=world["category"],
            text="x",
            place=world["household_b1"],
            channel=CaseChannel.STAFF,
            now=MONDAY_9,
        ),
    )


# ---------------------------------------------------------------- the ladder


def test_ladder_grid_community_street_department_with_deadlines(world):
    RoutingRule.objects.create(
        category=world["category"],
        scope_place=world["district"],
        from_level=CaseLevel.DISTRICT_DEPARTMENT,
        target_level=CaseLevel.DISTRICT_DEPARTMENT,
        target_department=world["department"],
    )
    case = submit(world)

    # Grid: not accepted by 11:00 → passed up automatically at 11:00, not a second before.
    assert jobs.escalate_overdue_cases(now=local("2026-11-16 10:59"))["escalated"] == 0
    case.refresh_from_db()
    assert case.level == CaseLevel.GRID and not case.is_overdue
    assert jobs.escalate_overdue_cases(now=local("2026-11-16 11:00"))["escalated"] == 1
    case.refresh_from_db()
    assert (case.level, case.handling_place, case.state) == (
        CaseLevel.COMMUNITY,
        world["community_a"],
        CaseState.SUBMITTED,
    )
    assert case.is_overdue and case.first_overdue_at == local("2026-11-16 11:00")
    assert case.accept_by == local("2026-11-16 14:00")  # 11–12 and 13–14
    # the grid worker no longer handles it
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: services.case_accept(actor=world["grid_worker"], case=case, now=local("2026-11-16 11:30")),
    )

    # Community: accepts, then finds it beyond its authority.
    case = services.case_accept(actor=world["community_worker"], case=case, now=local("2026-11-16 11:30"))
    case = services.case_escalate(
        actor=world["community_worker"], case=case, reason="超出社区权限", now=local("2026-11-16 13:00")
    )
    assert (case.level, case.handling_place, case.escalation_count) == (CaseLevel.STREET, world["street"], 2)
    assert case.accept_by == local("2026-11-16 15:00")

    # Street: accepts and passes it to the district's department.
    case = services.case_accept(actor=world["street_admin"], case=case, now=local("2026-11-16 14:00"))
    case = services.case_escalate(
        actor=world["street_admin"], case=case, reason="需区住建局处理", now=local("2026-11-16 14:30")
    )
    assert (case.level, case.handling_place, case.handling_department) == (
        CaseLevel.DISTRICT_DEPARTMENT,
        world["district"],
        world["department"],
    )
    assert case in handler_queue(world["department_rep"])

    # Department: accepts, works, resolves; the resident is satisfied.
    case = services.case_accept(actor=world["department_rep"], case=case, now=local("2026-11-16 15:00"))
    case = services.case_start(actor=world["department_rep"], case=case, now=local("2026-11-16 15:10"))
    case = services.case_resolve(
        actor=world["department_rep"], case=case, resolution="已更换灯具", now=local("2026-11-16 16:00")
    )
    case = services.case_rate(
        actor=world["resident"], case=case, rating=Satisfaction.SATISFIED, now=local("2026-11-16 17:00")
    )
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED
    assert case.resolved_level == CaseLevel.DISTRICT_DEPARTMENT
    assert case.is_overdue  # the flag stays once set
    assert kinds(case) == [
        "submitted",
        "routed",
        "auto_escalated",
        "accepted",
        "escalated",
        "accepted",
        "escalated",
        "accepted",
        "started",
        "resolved",
        "rated",
        "closed",
    ]
    levels = list(
        CaseEvent.objects.filter(case=case, kind__in=["escalated", "auto_escalated"])
        .order_by("id")
        .values_list("from_level", "to_level")
    )
    assert levels == [("grid", "community"), ("community", "street"), ("street", "district_department")]
    assert Notification.objects.filter(recipient=world["resident"], case=case).count() >= 6


def test_escalation_job_is_idempotent_and_runs_as_a_periodic_job(world):
    case = submit(world)
    at_deadline = local("2026-11-16 11:00")
    run = run_job("cases.escalate_overdue", now=at_deadline)
    assert run.status == JobRun.Status.SUCCEEDED and run.result["escalated"] == 1
    assert run_job("cases.escalate_overdue", now=at_deadline) is None  # the period already ran
    before = snapshot(case)
    assert jobs.escalate_overdue_cases(now=at_deadline)["escalated"] == 0  # nothing left to do
    assert snapshot(case) == before


def test_escalation_at_the_resolve_deadline_and_at_the_top(world):
    case = submit(world)
    case = services.case_accept(actor=world["grid_worker"], case=case, now=local("2026-11-16 09:30"))
    # Accepted: the accept deadline no longer matters, the resolve deadline (18:00) does.
    assert jobs.escalate_overdue_cases(now=local("2026-11-16 17:59"))["escalated"] == 0
    assert jobs.escalate_overdue_cases(now=local("2026-11-16 18:00"))["escalated"] == 1
    case.refresh_from_db()
    assert case.level == CaseLevel.COMMUNITY and case.state == CaseState.SUBMITTED
    # Left alone, it climbs to the city, where it stays overdue without another deadline.
    moment = local("2026-11-16 18:00")
    for _ in range(6):
        moment += timedelta(days=3)
        jobs.escalate_overdue_cases(now=moment)
    case.refresh_from_db()
    assert case.level == CaseLevel.CITY and case.accept_by is None and case.is_overdue
    assert kinds(case).count("overdue") == 1


# ---------------------------------------------------------------- rating


def test_unsatisfied_reopens_once_then_goes_up_a_level(world):
    case = submit(world)
    worker = world["grid_worker"]
    case = services.case_accept(actor=worker, case=case, now=local("2026-11-16 09:10"))
    case = services.case_resolve(actor=worker, case=case, resolution="已报修", now=local("2026-11-16 10:00"))
    case = services.case_rate(
        actor=world["resident"], case=case, rating=Satisfaction.UNSATISFIED, now=local("2026-11-16 10:30")
    )
    case.refresh_from_db()
    assert (case.state, case.level, case.reopen_count, case.handling_place) == (
        CaseState.IN_PROGRESS,
        CaseLevel.GRID,
        1,
        world["grid_a1"],
    )
    assert case.resolve_by == local("2026-11-17 10:30")
    case = services.case_resolve(actor=worker, case=case, resolution="再次维修", now=local("2026-11-16 11:00"))
    case = services.case_rate(
        actor=world["resident"], case=case, rating=Satisfaction.UNSATISFIED, now=local("2026-11-16 11:30")
    )
    case.refresh_from_db()
    assert (case.state, case.level, case.handling_place, case.reopen_count) == (
        CaseState.SUBMITTED,
        CaseLevel.COMMUNITY,
        world["community_a"],
        1,
    )
    assert case.satisfaction == Satisfaction.UNSATISFIED and case.escalation_count == 1
    assert kinds(case)[-5:] == ["rated", "reopened", "resolved", "rated", "escalated"]


def test_only_the_reporting_resident_rates(world):
    case = submit(world)
    case = services.case_accept(actor=world["grid_worker"], case=case, now=MONDAY_9)
    case = services.case_resolve(actor=world["grid_worker"], case=case, resolution="修好了", now=MONDAY_9)
    before = snapshot(case)
    # a neighbour cannot even see it
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: services.case_rate(actor=world["other_resident"], case=case, rating=Satisfaction.SATISFIED),
    )
    # the handler sees it but may not rate it
    refused = assert_refused(
        CasesError.NOT_REPORTER,
        lambda: services.case_rate(actor=world["grid_worker"], case=case, rating=Satisfaction.SATISFIED),
    )
    assert refused.code == "not_reporter"
    assert snapshot(case) == before


# ---------------------------------------------------------------- refusals change nothing


def test_forbidden_transitions_change_nothing(world):
    case = submit(world)
    worker = world["grid_worker"]
    before = snapshot(case)
    for action in (
        lambda: services.case_resolve(actor=worker, case=case, resolution="x"),
        lambda: services.case_start(actor=worker, case=case),
        lambda: services.case_close(actor=worker, case=case),
        lambda: services.case_rate(actor=world["resident"], case=case, rating=Satisfaction.SATISFIED),
    ):
        refused = assert_refused(CasesError.INVALID_TRANSITION, action)
        assert refused.code == "invalid_transition" and refused.status == 409
        assert snapshot(case) == before
    case = services.case_accept(actor=worker, case=case, now=MONDAY_9)
    accepted = snapshot(case)
    assert_refused(CasesError.INVALID_TRANSITION, lambda: services.case_accept(actor=worker, case=case))
    assert snapshot(case) == accepted


def test_out_of_reach_or_wrong_level_handler_gets_not_found(world):
    case = submit(world)
    before = snapshot(case)
    for actor in (world["grid_worker_a2"], world["community_worker_b"], world["community_worker"], world["resident"]):
        # community_worker sees the case (same community) but it is not at their level; the resident is no handler.
        assert_refused(CoreError.NOT_FOUND, lambda actor=actor: services.case_accept(actor=actor, case=case))
        assert_refused(
            CoreError.NOT_FOUND, lambda actor=actor: services.case_escalate(actor=actor, case=case, reason="x")
        )
    assert snapshot(case) == before


def test_reject_needs_a_reason_and_withdraw_is_the_residents(world):
    case = submit(world)
    assert_refused(
        CoreError.VALIDATION_FAILED, lambda: services.case_reject(actor=world["grid_worker"], case=case, reason=" ")
    )
    assert_refused(CasesError.NOT_REPORTER, lambda: services.case_withdraw(actor=world["grid_worker"], case=case))
    case = services.case_withdraw(actor=world["resident"], case=case, reason="已自行解决")
    assert case.state == CaseState.WITHDRAWN
    second = submit(world)
    services.case_reject(actor=world["grid_worker"], case=second, reason="不属于受理范围")
    second.refresh_from_db()
    assert second.state == CaseState.REJECTED and second.reject_reason == "不属于受理范围"


def test_refer_across_to_another_grid_and_to_a_department(world):
    case = submit(world)
    case = services.case_refer(actor=world["grid_worker"], case=case, reason="属第二网格", to_place=world["grid_a2"])
    assert (case.handling_place, case.current_handler, case.level) == (
        world["grid_a2"],
        world["grid_worker_a2"],
        CaseLevel.GRID,
    )
    case = services.case_refer(
        actor=world["grid_worker_a2"], case=case, reason="物业负责", to_department=world["department"]
    )
    assert case.handling_department == world["department"] and case.handling_place == world["grid_a2"]
    assert_refused(CoreError.NOT_FOUND, lambda: services.case_accept(actor=world["grid_worker"], case=case))


# ---------------------------------------------------------------- duplicates


def test_possible_duplicates_and_merge(world):
    first = submit(world)
    second = submit(world, actor=world["other_resident"], text="一单元门口路灯不亮")
    found = possible_duplicates(
        world["grid_worker"], category=world["category"], place=second.place, exclude=second, now=MONDAY_9
    )
    assert found == [first]
    # A resident sees only their own requests among the candidates.
    mine = possible_duplicates(world["other_resident"], category=world["category"], place=second.place, now=MONDAY_9)
    assert mine == [second]
    # The window is counted back from ``now``: three weeks later neither is a candidate any more.
    later = MONDAY_9 + timedelta(days=21)
    assert possible_duplicates(world["grid_worker"], category=world["category"], place=second.place, now=later) == []
    services.case_merge(actor=world["grid_worker"], case=second, into=first, note="同一路灯")
    second.refresh_from_db()
    assert second.state == CaseState.DUPLICATE and second.duplicate_of == first
    assert kinds(second)[-1] == CaseEventKind.MERGED and kinds(first)[-1] == CaseEventKind.ABSORBED
    assert Notification.objects.filter(recipient=world["other_resident"], kind="case.merged").exists()
    before = snapshot(second)
    assert_refused(
        CasesError.INVALID_TRANSITION, lambda: services.case_merge(actor=world["grid_worker"], case=second, into=first)
    )
    assert_refused(
        CoreError.VALIDATION_FAILED, lambda: services.case_merge(actor=world["grid_worker"], case=first, into=first)
    )
    assert snapshot(second) == before


# ---------------------------------------------------------------- visits


def test_visit_opinion_becomes_a_case_in_one_step(world):
    visit = visits.visit_log(
        actor=world["building_head"],
        household=world["household_a1"],
        visited_on=date(2026, 11, 16),
        findings="独居老人，身体尚好",
        opinion="楼道灯不亮",
        create_case=True,
        category=world["category"],
        now=MONDAY_9,
    )
    assert visit.outcome == VisitOutcome.BECAME_CASE
    case = visit.became_case
    assert case.channel == CaseChannel.VISIT and case.place == world["household_a1"]
    assert case.current_handler == world["grid_worker"] and case.recorded_by == world["building_head"]
    quiet = visits.visit_log(
        actor=world["building_head"], household=world["household_a1b"], visited_on=date(2026, 11, 16), now=MONDAY_9
    )
    assert quiet.outcome == VisitOutcome.NONE and quiet.became_case is None


def test_visit_outside_reach_is_not_found(world):
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: visits.visit_log(
            actor=world["building_head"], household=world["household_b1"], visited_on=date(2026, 11, 16)
        ),
    )
    assert not HouseholdVisit.objects.exists() and not Case.objects.exists()


# ---------------------------------------------------------------- summonses


def test_summons_respond_and_overdue(world):
    case = submit(world)
    case = services.case_escalate(actor=world["grid_worker"], case=case, reason="超出权限", now=MONDAY_9)
    case = services.case_escalate(actor=world["community_worker"], case=case, reason="超出权限", now=MONDAY_9)
    case = services.case_accept(actor=world["street_admin"], case=case, now=MONDAY_9)
    summons = summonses.case_summon(
        actor=world["street_admin"],
        case=case,
        department=world["department"],
        note="请住建局到场",
        respond_within_hours=1,
        now=local("2026-11-16 09:30"),
    )
    assert summons.respond_by == local("2026-11-16 10:30")
    assert Notification.objects.filter(recipient=world["department_rep"], kind="case.summoned").exists()
    assert jobs.escalate_overdue_cases(now=local("2026-11-16 10:29"))["overdue_summonses"] == 0
    assert jobs.escalate_overdue_cases(now=local("2026-11-16 10:30"))["overdue_summonses"] == 1
    assert jobs.escalate_overdue_cases(now=local("2026-11-16 10:31"))["overdue_summonses"] == 0
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: summonses.summons_respond(actor=world["grid_worker"], summons=summons, response="x"),
    )
    summonses.summons_respond(actor=world["department_rep"], summons=summons, response="已派人到场")
    summons.refresh_from_db()
    assert summons.state == SummonsState.RESPONDED and summons.is_overdue
    assert_refused(
        CasesError.INVALID_TRANSITION,
        lambda: summonses.summons_respond(actor=world["department_rep"], summons=summons, response="again"),
    )
    assert Summons.objects.count() == 1
    assert kinds(case)[-3:] == ["summoned", "summons_overdue", "summons_responded"]


def test_grid_level_cannot_summon(world):
    case = submit(world)
    case = services.case_accept(actor=world["grid_worker"], case=case, now=MONDAY_9)
    assert_refused(
        CasesError.INVALID_TRANSITION,
        lambda: summonses.case_summon(actor=world["grid_worker"], case=case, department=world["department"], note="x"),
    )
    assert not Summons.objects.exists()


# ---------------------------------------------------------------- jobs: closing and digests


def test_unrated_cases_close_after_the_rating_window(world):
    case = submit(world)
    case = services.case_accept(actor=world["grid_worker"], case=case, now=MONDAY_9)
    case = services.case_resolve(actor=world["grid_worker"], case=case, resolution="修好了", now=MONDAY_9)
    assert jobs.close_unrated_cases(now=MONDAY_9 + timedelta(days=6))["closed"] == 0
    assert jobs.close_unrated_cases(now=MONDAY_9 + timedelta(days=7))["closed"] == 1
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED and case.satisfaction == ""


def test_digest_sends_one_mail_per_person_once(world):
    case = submit(world)
    case = services.case_accept(actor=world["grid_worker"], case=case, now=MONDAY_9)
    mail.outbox.clear()
    assert notifications.send_notification_digests(now=MONDAY_9)["sent"] == 1  # only the resident has an e-mail
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["a1@example.org"]
    assert "路灯" not in mail.outbox[0].subject and len(mail.outbox[0].body.splitlines()) == 2
    assert notifications.send_notification_digests(now=MONDAY_9)["sent"] == 0
    assert len(mail.outbox) == 1
