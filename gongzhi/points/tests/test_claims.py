"""Claims from submission to approval, rejection, return, withdrawal and reversal; adjustments; reminders."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from gongzhi.core.jobs import run_job, run_key_for
from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
from gongzhi.core.testing import assert_refused
from gongzhi.people.tests.factories import account_with_role
from gongzhi.points.ledger import InsufficientPoints, account_figures, ledger_check, points_hold, system_account
from gongzhi.points.models import (
    AccountKind,
    Adjustment,
    Claim,
    ClaimDecision,
    ClaimState,
    Publication,
    Transfer,
    TransferKind,
)
from gongzhi.points.services import (
    adjustment_approve,
    adjustment_propose,
    adjustment_refuse,
    claim_approve,
    claim_reject,
    claim_resubmit,
    claim_return,
    claim_reverse,
    claim_submit,
    claim_withdraw,
    claims_review_batch,
    item_set_enabled,
    item_value_change,
)
from gongzhi.points.tests.factories import (
    make_item,
    resident_with_login,
    reviewer,
    secretary,
    snapshot,
    worker,
    yesterday,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(world):
    """The points world, with 张三's login and account, the item 楼道清扫 (5 points) and a reviewer of community B."""
    world.login, world.account = world.resident(name="张三")
    world.item = make_item(world.tree["district"], value=5, code="tidy-up", name="楼道清扫")
    world.reviewer_b = reviewer(world.tree["community_b"], username="reviewer-b")
    return world


def photo():
    return ContentFile(b"\xff\xd8\xff\xe0 not really a jpeg", name="evidence.jpg")


def submit(world, **kwargs):
    arguments = {
        "actor": world.login,
        "account": world.account,
        "item": world.item,
        "service_date": yesterday(),
        "description": "扫了三楼楼道",
    }
    arguments.update(kwargs)
    return claim_submit(**arguments)


# ---------------------------------------------------------------- submitting


def test_resident_claims_for_themselves(world):
    claim = submit(world, photos=[photo()])
    assert claim.state == ClaimState.SUBMITTED and not claim.on_behalf
    assert claim.value == 5 and claim.item_version.value == 5
    assert claim.community == world.tree["community_a"]
    assert claim.review_week == run_key_for("week", timezone.now())
    assert claim.photos.count() == 1
    assert list(claim.decisions.values_list("decision", flat=True)) == [ClaimDecision.Decision.SUBMIT]
    assert AuditEntry.objects.filter(action="points.claim_submit", object_id=str(claim.pk)).exists()


def test_staff_record_on_behalf_within_reach_only(world):
    tree = world.tree
    staff = worker(tree["community_a"])
    claim = submit(world, actor=staff, source_type="activity", source_id="42")
    assert claim.on_behalf and claim.submitted_by == staff and claim.source_type == "activity"
    outsider = worker(tree["community_b"])
    assert_refused(
        "not_found", lambda: submit(world=world, actor=outsider, service_date=yesterday() - timedelta(days=1))
    )
    neighbour, _account = resident_with_login(tree["household_a2"])
    assert_refused(
        "not_found", lambda: submit(world=world, actor=neighbour, service_date=yesterday() - timedelta(days=1))
    )
    grid_worker = account_with_role(Role.GRID_WORKER, tree["grid_a1"])  # sees points, cannot record them
    assert_refused(
        "not_found", lambda: submit(world=world, actor=grid_worker, service_date=yesterday() - timedelta(days=1))
    )


def test_same_idempotency_key_gives_the_same_claim(world):
    first = submit(world, idempotency_key="phone-123")
    before = snapshot()
    again = submit(world, idempotency_key="phone-123")
    assert again.pk == first.pk and snapshot() == before
    assert_refused(
        "idempotency_conflict",
        lambda: submit(world=world, idempotency_key="phone-123", service_date=yesterday() - timedelta(days=1)),
    )


def test_bad_input_is_refused_and_changes_nothing(world):
    tree = world.tree
    submit(world)  # yesterday is claimed
    assert_refused("duplicate_claim", lambda: submit(world=world))
    assert_refused(
        "service_date_future", lambda: submit(world=world, service_date=timezone.localdate() + timedelta(days=1))
    )
    other_community_item = make_item(tree["community_b"], code="b-only")
    assert_refused("item_unavailable", lambda: submit(world=world, item=other_community_item))
    item_set_enabled(
        actor=secretary(tree["community_a"]), community=tree["community_a"], item=world.item, enabled=False
    )
    assert_refused("item_unavailable", lambda: submit(world=world, service_date=yesterday() - timedelta(days=1)))
    organisations_only = make_item(tree["district"], account_kinds=[AccountKind.ORGANISATION])
    assert_refused("account_kind_not_allowed", lambda: submit(world=world, item=organisations_only))
    evidence = make_item(tree["district"], evidence_required=True)
    assert_refused("evidence_required", lambda: submit(world=world, item=evidence))
    future_item = make_item(tree["district"], effective_from=timezone.localdate() + timedelta(days=3))
    assert_refused("item_not_in_force", lambda: submit(world=world, item=future_item))


def test_claims_into_a_published_month_are_refused(world):
    day = yesterday()
    Publication.objects.create(
        community=world.tree["community_a"], month=day.replace(day=1), state=Publication.State.PUBLISHED
    )
    assert_refused("month_closed", lambda: submit(world=world, service_date=day))
    Publication.objects.filter(community=world.tree["community_a"]).update(state=Publication.State.LOCKED)
    assert_refused("month_closed", lambda: submit(world=world, service_date=day))


def test_caps_count_open_and_approved_claims(world):
    tree = world.tree
    capped = make_item(tree["district"], cap_per_month=2, cap_per_day=1)
    today = timezone.localdate()
    days = [today - timedelta(days=n) for n in range(0, 40)]
    month_days = [day for day in days if day.month == today.month and day.year == today.year]
    if len(month_days) < 3:  # early in the month: use last month, entirely past
        month_days = [day for day in days if day.month != today.month][:3]
    first = submit(world, item=capped, service_date=month_days[0])
    submit(world, item=capped, service_date=month_days[1])
    assert_refused("cap_per_month_exceeded", lambda: submit(world=world, item=capped, service_date=month_days[2]))
    # The per-day cap of 1 is the duplicate rule (one claim per account, item and day).
    assert_refused("duplicate_claim", lambda: submit(world=world, item=capped, service_date=month_days[0]))
    claim_withdraw(actor=world.login, claim=first)  # a withdrawn claim no longer counts
    assert submit(world, item=capped, service_date=month_days[2]).state == ClaimState.SUBMITTED


def test_value_is_fixed_by_the_version_in_force_on_the_service_date(world):
    tree = world.tree
    older = submit(world, service_date=yesterday())
    item_value_change(
        actor=account_with_role(Role.DISTRICT_ADMIN, tree["district"]),
        item=world.item,
        value=9,
        effective_from=timezone.localdate(),
        reason="2026年月度调整",
    )
    newer = submit(world, service_date=timezone.localdate())
    assert (older.value, newer.value) == (5, 9)
    claim_approve(actor=world.reviewer, claim=older)
    claim_approve(actor=world.reviewer, claim=newer)
    world.account.refresh_from_db()
    assert world.account.balance == 14  # 5 kept for yesterday even though approved after the change


# ---------------------------------------------------------------- review


def test_a_claim_waiting_when_its_month_is_published_can_no_longer_be_approved(world):
    claim = submit(world)
    Publication.objects.create(
        community=world.tree["community_b"], month=claim.service_date.replace(day=1), state="published"
    )
    claim_approve(actor=world.reviewer, claim=claim)  # another community's publication does not close this month
    assert Claim.objects.get(pk=claim.pk).state == ClaimState.APPROVED

    waiting = submit(world, item=make_item(world.tree["district"], value=3, code="patrol", name="夜间巡逻"))
    Publication.objects.create(
        community=world.tree["community_a"], month=waiting.service_date.replace(day=1), state="published"
    )
    assert_refused("month_closed", lambda: claim_approve(actor=world.reviewer, claim=waiting))
    assert Claim.objects.get(pk=waiting.pk).state == ClaimState.SUBMITTED


def test_approval_posts_the_award_once(world):
    claim = submit(world)
    claim_approve(actor=world.reviewer, claim=claim)
    assert claim.state == ClaimState.APPROVED
    transfer = Transfer.objects.get(idempotency_key=f"claim:{claim.pk}")
    assert transfer.kind == TransferKind.AWARD and transfer.source_type == "claim"
    assert Claim.objects.get(pk=claim.pk).transfer_id == transfer.pk
    world.account.refresh_from_db()
    assert (world.account.balance, world.account.earned_total) == (5, 5)
    assert account_figures(system_account("issuance")).balance == -5
    decision = claim.decisions.get(decision=ClaimDecision.Decision.APPROVE)
    assert decision.actor == world.reviewer and decision.decided_at
    assert_refused("claim_not_pending", lambda: claim_approve(actor=world.reviewer, claim=claim))
    assert ledger_check() == []


def test_reviewers_outside_the_community_see_nothing(world):
    claim = submit(world)
    assert_refused("not_found", lambda: claim_approve(actor=world.reviewer_b, claim=claim))
    assert_refused("not_found", lambda: claim_reject(actor=world.reviewer_b, claim=claim, reason="no"))
    assert_refused("not_found", partial(claim_approve, actor=worker(world.tree["community_a"]), claim=claim))
    assert_refused("not_found", lambda: claim_approve(actor=world.login, claim=claim))


def test_secretary_reviews_but_nobody_reviews_their_own_claim(world):
    tree = world.tree
    claim = submit(world)
    claim_approve(actor=secretary(tree["community_a"]), claim=claim)
    assert claim.state == ClaimState.APPROVED
    # A reviewer who is also a resident with an account of their own.
    login, account = resident_with_login(tree["household_a2"])
    from gongzhi.people.models import RoleAssignment

    RoleAssignment.objects.create(account=login, role=Role.REVIEW_COMMITTEE_MEMBER, place=tree["community_a"])
    own = claim_submit(actor=login, account=account, item=world.item, service_date=yesterday())
    assert_refused("own_claim", lambda: claim_approve(actor=login, claim=own))


def test_two_reviewers_for_high_value_items(world):
    tree = world.tree
    big = make_item(tree["district"], value=50, two_reviewers=True)
    claim = submit(world, item=big)
    claim_approve(actor=world.reviewer, claim=claim)
    assert claim.state == ClaimState.SUBMITTED and claim.first_approver_id == world.reviewer.pk
    assert not Transfer.objects.filter(idempotency_key=f"claim:{claim.pk}").exists()
    assert claim.decisions.filter(decision=ClaimDecision.Decision.FIRST_APPROVAL).count() == 1
    assert_refused("second_reviewer_required", lambda: claim_approve(actor=world.reviewer, claim=claim))
    claim_approve(actor=secretary(tree["community_a"]), claim=claim)
    assert claim.state == ClaimState.APPROVED
    world.account.refresh_from_db()
    assert world.account.balance == 50


def test_reject_return_resubmit_withdraw(world):
    claim = submit(world)
    assert_refused("validation_failed", lambda: claim_reject(actor=world.reviewer, claim=claim, reason=" "))
    claim_return(actor=world.reviewer, claim=claim, reason="请补充照片")
    assert claim.state == ClaimState.RETURNED
    assert_refused("claim_not_pending", lambda: claim_approve(actor=world.reviewer, claim=claim))
    claim_resubmit(actor=world.login, claim=claim, description="补充了照片", photos=[photo()])
    assert claim.state == ClaimState.SUBMITTED and claim.description == "补充了照片"
    claim_reject(actor=world.reviewer, claim=claim, reason="与事实不符")
    assert claim.state == ClaimState.REJECTED
    assert_refused("claim_not_returned", lambda: claim_resubmit(actor=world.login, claim=claim))
    assert_refused("claim_not_pending", lambda: claim_withdraw(actor=world.login, claim=claim))
    # A rejected claim frees the day: the service can be claimed again.
    again = submit(world)
    claim_withdraw(actor=world.login, claim=again)
    assert again.state == ClaimState.WITHDRAWN
    assert list(Claim.objects.get(pk=claim.pk).decisions.values_list("decision", flat=True)) == [
        "submit",
        "return",
        "resubmit",
        "reject",
    ]
    assert Transfer.objects.count() == 0


def test_batch_review_reports_each_claim(world):
    tree = world.tree
    claims = [submit(world, service_date=yesterday() - timedelta(days=n)) for n in range(3)]
    claim_approve(actor=world.reviewer, claim=claims[2])
    login_b, account_b = resident_with_login(tree["household_b1"])
    outside = claim_submit(actor=login_b, account=account_b, item=world.item, service_date=yesterday())
    result = claims_review_batch(
        actor=world.reviewer,
        claim_ids=[claims[0].pk, claims[1].pk, claims[2].pk, outside.pk, 999_999],
        decision="approve",
    )
    assert result["succeeded"] == [claims[0].pk, claims[1].pk]
    assert result["failed"][claims[2].pk]["code"] == "claim_not_pending"
    assert result["failed"][outside.pk]["code"] == "not_found"
    assert result["failed"][999_999]["code"] == "not_found"
    world.account.refresh_from_db()
    assert world.account.balance == 15
    assert_refused(
        "validation_failed",
        lambda: claims_review_batch(actor=world.reviewer, claim_ids=[outside.pk], decision="reject"),
    )
    assert_refused(
        "validation_failed", lambda: claims_review_batch(actor=world.reviewer, claim_ids=[], decision="maybe")
    )


def test_reversal_takes_the_points_back(world):
    claim = submit(world)
    claim_approve(actor=world.reviewer, claim=claim)
    reversal = claim_reverse(actor=world.reviewer, claim=claim, reason="异议成立")
    assert claim.state == ClaimState.REVERSED and reversal.reverses_id == claim.transfer_id
    world.account.refresh_from_db()
    assert (world.account.balance, world.account.earned_total) == (0, 0)
    assert_refused("claim_not_approved", lambda: claim_reverse(actor=world.reviewer, claim=claim, reason="again"))
    assert ledger_check() == []


def test_reversal_of_spent_points_is_refused(world):
    claim = submit(world)
    claim_approve(actor=world.reviewer, claim=claim)
    points_hold(account=world.account, amount=5, idempotency_key="shop:1", actor=world.login)
    with pytest.raises(InsufficientPoints):
        claim_reverse(actor=world.reviewer, claim=claim, reason="异议成立")
    assert Claim.objects.get(pk=claim.pk).state == ClaimState.APPROVED


# ---------------------------------------------------------------- adjustments


def test_adjustments_need_a_second_person(world):
    tree = world.tree
    first, second = secretary(tree["community_a"]), account_with_role(Role.STREET_ADMIN, tree["street"])
    adjustment = adjustment_propose(actor=first, account=world.account, amount=7, reason="补录漏记积分")
    assert adjustment.state == Adjustment.State.PROPOSED and Transfer.objects.count() == 0
    assert_refused("second_person_required", lambda: adjustment_approve(actor=first, adjustment=adjustment))
    assert_refused("not_found", lambda: adjustment_approve(actor=world.reviewer, adjustment=adjustment))
    adjustment_approve(actor=second, adjustment=adjustment)
    world.account.refresh_from_db()
    assert (world.account.balance, world.account.earned_total) == (7, 0)
    assert Transfer.objects.get(idempotency_key=f"adjustment:{adjustment.pk}").kind == TransferKind.ADJUSTMENT
    assert_refused("adjustment_decided", lambda: adjustment_approve(actor=second, adjustment=adjustment))

    too_much = adjustment_propose(actor=first, account=world.account, amount=-8, reason="多记")
    assert_refused("insufficient_points", lambda: adjustment_approve(actor=second, adjustment=too_much))
    adjustment_refuse(actor=second, adjustment=too_much, reason="余额不足")
    assert Adjustment.objects.get(pk=too_much.pk).state == Adjustment.State.REFUSED
    assert_refused(
        "validation_failed", lambda: adjustment_propose(actor=first, account=world.account, amount=0, reason="x")
    )
    assert_refused(
        "validation_failed", lambda: adjustment_propose(actor=first, account=world.account, amount=3, reason=" ")
    )
    assert_refused(
        "not_found", lambda: adjustment_propose(actor=world.reviewer, account=world.account, amount=3, reason="x")
    )
    assert ledger_check() == []


# ---------------------------------------------------------------- reminders


def test_weekly_reminders_for_claims_waiting_past_their_week(world):
    waiting = submit(world)
    Claim.objects.filter(pk=waiting.pk).update(review_week="2020-W01")
    submit(world, service_date=yesterday() - timedelta(days=1))  # this week's: not late
    run = run_job("points.review_reminders")
    assert run.status == "succeeded", run.error
    assert run.result["reminders"] == [
        {"community": world.tree["community_a"].pk, "claims": 1, "oldest_week": "2020-W01"}
    ]
    reminder = AuditEntry.objects.get(action="points.review_reminder")
    assert reminder.place_path == world.tree["community_a"].path
    assert run_job("points.review_reminders") is None  # once per week
