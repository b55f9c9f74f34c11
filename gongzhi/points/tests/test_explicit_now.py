"""Issue #15: the points services that read the clock take ``now``, and one call stamps one moment everywhere."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gongzhi.core.jobs import run_key_for
from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
from gongzhi.core.testing import assert_refused
from gongzhi.people.tests.factories import account_with_role
from gongzhi.points.models import ClaimDecision, CommunityItemSetting, Transfer
from gongzhi.points.services import (
    adjustment_approve,
    adjustment_propose,
    adjustment_refuse,
    claim_approve,
    claim_resubmit,
    claim_return,
    claim_reverse,
    claim_submit,
    claim_withdraw,
    item_set_enabled,
    item_value_change,
    review_decide_many,
)
from gongzhi.points.tests.factories import make_item, secretary

pytestmark = pytest.mark.django_db

# Far from any day the tests run on, so a service reading the wall clock instead of ``now`` shows.
NOW = datetime(2031, 5, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DAY = date(2031, 5, 5)


def _decided_at(claim, decision) -> datetime:
    return ClaimDecision.objects.filter(claim=claim, decision=decision).latest("id").decided_at


def _audited_at(action: str) -> datetime:
    return AuditEntry.objects.filter(action=action).latest("id").occurred_at


def test_a_claims_life_follows_the_given_now(world):
    login, account = world.resident()
    item = world.items[5]
    # A service day after the wall clock's today: only a submission reading ``now`` accepts it.
    claim = claim_submit(actor=login, account=account, item=item, service_date=DAY, now=NOW)
    claim.refresh_from_db()
    assert claim.submitted_at == NOW
    assert claim.review_week == run_key_for("week", NOW)
    assert _decided_at(claim, ClaimDecision.Decision.SUBMIT) == NOW
    assert _audited_at("points.claim_submit") == NOW
    assert_refused(
        "service_date_future",
        lambda: claim_submit(
            actor=login, account=account, item=world.items[3], service_date=DAY + timedelta(days=1), now=NOW
        ),
    )

    returned_at = NOW + timedelta(hours=1)
    claim_return(actor=world.reviewer, claim=claim, reason="请补充照片", now=returned_at)
    claim.refresh_from_db()
    assert claim.decided_at == returned_at
    assert _decided_at(claim, ClaimDecision.Decision.RETURN) == returned_at

    resubmitted_at = NOW + timedelta(days=7)
    claim_resubmit(actor=login, claim=claim, description="补充了说明", now=resubmitted_at)
    claim.refresh_from_db()
    assert claim.review_week == run_key_for("week", resubmitted_at)
    assert _decided_at(claim, ClaimDecision.Decision.RESUBMIT) == resubmitted_at
    assert _audited_at("points.claim_resubmit") == resubmitted_at

    approved_at = NOW + timedelta(days=8)
    claim_approve(actor=world.reviewer, claim=claim, now=approved_at)
    claim.refresh_from_db()
    assert claim.decided_at == approved_at
    award = Transfer.objects.get(pk=claim.transfer_id)
    assert award.created_at == approved_at
    assert award.effective_date == date(2031, 5, 13)
    assert _audited_at("points.claim_approve") == approved_at

    reversed_at = NOW + timedelta(days=9)
    reversal = claim_reverse(actor=world.reviewer, claim=claim, reason="异议成立", now=reversed_at)
    claim.refresh_from_db()
    assert claim.decided_at == reversed_at
    assert reversal.created_at == reversed_at
    assert reversal.effective_date == date(2031, 5, 14)
    assert _decided_at(claim, ClaimDecision.Decision.REVERSE) == reversed_at


def test_withdraw_and_a_batch_follow_the_given_now(world):
    login, account = world.resident()
    first = claim_submit(actor=login, account=account, item=world.items[3], service_date=DAY, now=NOW)
    second = claim_submit(actor=login, account=account, item=world.items[5], service_date=DAY, now=NOW)
    withdrawn_at = NOW + timedelta(minutes=30)
    claim_withdraw(actor=login, claim=first, now=withdrawn_at)
    first.refresh_from_db()
    assert first.decided_at == withdrawn_at
    assert _decided_at(first, ClaimDecision.Decision.WITHDRAW) == withdrawn_at

    decided_at = NOW + timedelta(hours=2)
    outcome = review_decide_many(actor=world.reviewer, claim_ids=[second.pk], decision="approve", now=decided_at)
    assert outcome["succeeded"] == [second.pk]
    second.refresh_from_db()
    assert second.decided_at == decided_at
    assert Transfer.objects.get(pk=second.transfer_id).created_at == decided_at


def test_adjustments_and_the_catalogue_follow_the_given_now(world, tree):
    _login, account = world.resident()
    proposer, decider = secretary(world.community), secretary(world.community)
    adjustment = adjustment_propose(actor=proposer, account=account, amount=4, reason="线下活动补录", now=NOW)
    adjustment.refresh_from_db()
    assert adjustment.proposed_at == NOW
    approved_at = NOW + timedelta(hours=1)
    adjustment_approve(actor=decider, adjustment=adjustment, now=approved_at)
    adjustment.refresh_from_db()
    assert adjustment.decided_at == approved_at
    assert adjustment.transfer.created_at == approved_at
    assert adjustment.transfer.effective_date == DAY

    refused = adjustment_propose(actor=proposer, account=account, amount=-2, reason="重复录入", now=NOW)
    refused_at = NOW + timedelta(hours=2)
    adjustment_refuse(actor=decider, adjustment=refused, reason="核实无误", now=refused_at)
    refused.refresh_from_db()
    assert refused.decided_at == refused_at
    assert _audited_at("points.adjustment_refuse") == refused_at

    item = make_item(tree["district"], value=3)
    district_admin = account_with_role(Role.DISTRICT_ADMIN, tree["district"])
    # Past for ``now`` though still ahead of the wall clock: refused only if the check reads ``now``.
    assert_refused(
        "validation_failed",
        lambda: item_value_change(
            actor=district_admin, item=item, value=4, effective_from=DAY - timedelta(days=1), reason="x", now=NOW
        ),
    )
    version = item_value_change(
        actor=district_admin, item=item, value=4, effective_from=DAY, reason="月度调整", now=NOW
    )
    version.refresh_from_db()
    assert version.created_at == NOW
    assert _audited_at("points.item_value_change") == NOW

    item_set_enabled(actor=secretary(world.community), community=world.community, item=item, enabled=False, now=NOW)
    assert CommunityItemSetting.objects.get(community=world.community, item=item).changed_at == NOW
    assert _audited_at("points.item_disable") == NOW
