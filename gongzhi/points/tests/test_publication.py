"""The monthly publication: publish → objection → uphold (reversal) → lock, the jobs, and every refusal."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from gongzhi.core.errors import DomainError
from gongzhi.core.jobs import run_job
from gongzhi.core.models import AuditEntry, JobRun
from gongzhi.core.roles import Role
from gongzhi.core.testing import assert_refused
from gongzhi.people.tests.factories import account_with_role
from gongzhi.points.jobs import publish_month
from gongzhi.points.ledger import ledger_check
from gongzhi.points.models import (
    ClaimState,
    Objection,
    PointsAccount,
    Publication,
    PublicationLine,
    Transfer,
    TransferKind,
)
from gongzhi.points.publication import (
    access_publication,
    month_end,
    objection_dismiss,
    objection_raise,
    objection_uphold,
    publication_lock,
    publication_public_lines,
    publication_publish,
)
from gongzhi.points.services import claim_reverse, claim_submit
from gongzhi.points.tests.factories import secretary
from gongzhi.points.tests.publication_factories import last_month

pytestmark = pytest.mark.django_db


def state():
    """Everything a refused call must leave alone."""
    return (
        list(Publication.objects.order_by("pk").values_list("pk", "state", "published_at", "locked_at")),
        PublicationLine.objects.count(),
        list(Objection.objects.order_by("pk").values_list("pk", "state", "decided_at", "reversal_id")),
        Transfer.objects.count(),
        list(PointsAccount.objects.order_by("pk").values_list("pk", "balance", "earned_total")),
        AuditEntry.objects.count(),
    )


@pytest.fixture
def month_with_claims(world):
    """Last month in community A: 张三 8 + 3 (two claims), 李四 5, one claim reversed before publication, one
    claim of this month (not in the list), one claim in community B (not in the list)."""
    month = last_month()
    login_a, zhang = world.resident(name="张三")
    login_b, li = world.resident("household_a2", name="李四")
    c1 = world.award(zhang, 8, month, login=login_a)
    c2 = world.award(zhang, 3, month + timedelta(days=1), login=login_a)
    c3 = world.award(li, 5, month + timedelta(days=2), login=login_b)
    reversed_before = world.award(li, 3, month + timedelta(days=3), login=login_b)
    claim_reverse(actor=world.reviewer, claim=reversed_before, reason="重复申报")
    world.award(zhang, 5, timezone.localdate().replace(day=1), login=login_a)
    return {"month": month, "zhang": zhang, "li": li, "claims": (c1, c2, c3), "login_a": login_a, "login_b": login_b}


def test_whole_loop_publish_object_uphold_lock(world, month_with_claims):
    month, zhang, li = month_with_claims["month"], month_with_claims["zhang"], month_with_claims["li"]
    c1 = month_with_claims["claims"][0]
    committee = world.reviewer
    now = timezone.now()

    publication = publication_publish(actor=committee, community=world.community, month=month, now=now)
    assert publication.state == Publication.State.PUBLISHED
    assert publication.objections_until == now + timedelta(days=5)
    lines = {line.account_id: line for line in publication.lines.all()}
    assert set(lines) == {zhang.pk, li.pk}
    assert (lines[zhang.pk].points, lines[zhang.pk].claims, lines[zhang.pk].masked_name) == (11, 2, "张*")
    assert (lines[li.pk].points, lines[li.pk].claims, lines[li.pk].masked_name) == (5, 1, "李*")
    # The public list: masked names only, best first.
    public = publication_public_lines(access_publication(publication.pk))
    assert [row["masked_name"] for row in public] == ["张*", "李*"]
    assert "张三" not in str(public)
    # No claims into a published month any more.
    with pytest.raises(DomainError) as caught:
        claim_submit(actor=world.worker, account=li, item=world.items[8], service_date=month + timedelta(days=9))
    assert caught.value.code == "month_closed"

    # 李四 objects to 张三's first claim; the committee upholds it: a reversal dated now.
    objection = objection_raise(
        actor=month_with_claims["login_b"], publication=publication, text="那天他不在", claim=c1, now=now
    )
    assert objection.line == lines[zhang.pk]
    assert_refused("window_open", lambda: publication_lock(actor=committee, publication=publication, now=now))
    assert_refused(
        "objections_open",
        lambda: publication_lock(actor=committee, publication=publication, now=now + timedelta(days=6)),
    )
    upheld = objection_uphold(actor=committee, objection=objection, reason="核实属实", now=now)
    assert upheld.state == Objection.State.UPHELD
    reversal = upheld.reversal
    assert reversal.kind == TransferKind.REVERSAL and reversal.reverses_id == c1.transfer_id
    assert reversal.effective_date == timezone.localdate()
    c1.refresh_from_db()
    zhang.refresh_from_db()
    assert c1.state == ClaimState.REVERSED
    assert zhang.earned_total == 3 + 5  # the reversed 8 is gone; this month's 5 stays
    # The published line does not change: corrections are reversals dated later.
    assert PublicationLine.objects.get(pk=lines[zhang.pk].pk).points == 11
    assert_refused(
        "objection_not_open", lambda: objection_dismiss(actor=committee, objection=objection, reason="again")
    )

    locked = publication_lock(actor=committee, publication=publication, now=now + timedelta(days=5))
    assert locked.state == Publication.State.LOCKED
    assert_refused(
        "already_locked",
        lambda: publication_lock(actor=committee, publication=publication, now=now + timedelta(days=6)),
    )
    assert_refused(
        "window_closed",
        lambda: objection_raise(
            actor=month_with_claims["login_b"], publication=publication, text="又一条", now=now + timedelta(days=6)
        ),
    )
    assert ledger_check() == []
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "points.publication_publish",
        "points.objection_raise",
        "points.objection_uphold",
        "points.publication_lock",
    } <= actions


def test_publish_refusals_change_nothing(world, month_with_claims, tree):
    month = month_with_claims["month"]
    committee = world.reviewer
    this_month = timezone.localdate().replace(day=1)
    assert_refused(
        "month_not_over", lambda: publication_publish(actor=committee, community=world.community, month=this_month)
    )
    # The last instant of the month is still inside it.
    just_before = timezone.make_aware(datetime.combine(month_end(month), time()))
    assert_refused(
        "month_not_over",
        lambda: publication_publish(
            actor=committee, community=world.community, month=month, now=just_before - timedelta(seconds=1)
        ),
    )
    assert_refused(
        "not_found", lambda: publication_publish(actor=committee, community=tree["community_b"], month=month)
    )
    assert_refused(
        "not_found",
        lambda: publication_publish(actor=month_with_claims["login_a"], community=world.community, month=month),
    )
    assert_refused(
        "not_a_community", lambda: publication_publish(actor=committee, community=tree["grid_a1"], month=month)
    )
    publication_publish(actor=committee, community=world.community, month=f"{month:%Y-%m}")
    assert_refused(
        "already_published", lambda: publication_publish(actor=committee, community=world.community, month=month)
    )


def test_objection_refusals_change_nothing(world, month_with_claims, tree):
    month = month_with_claims["month"]
    publication = publication_publish(actor=world.reviewer, community=world.community, month=month)
    outsider_login, _outsider = world.resident("household_b1", name="王五")
    staff_b = secretary(tree["community_b"])
    c1 = month_with_claims["claims"][0]
    login_b = month_with_claims["login_b"]
    assert_refused("not_a_resident", lambda: objection_raise(actor=outsider_login, publication=publication, text="x"))
    assert_refused("not_a_resident", lambda: objection_raise(actor=world.reviewer, publication=publication, text="x"))
    assert_refused("validation_failed", lambda: objection_raise(actor=login_b, publication=publication, text="  "))
    other_month_claim = PointsAccount.objects.get(pk=month_with_claims["zhang"].pk).claims.order_by("-pk").first()
    assert_refused(
        "validation_failed",
        lambda: objection_raise(actor=login_b, publication=publication, text="x", claim=other_month_claim),
    )
    objection = objection_raise(actor=login_b, publication=publication, text="有误", claim=c1)
    assert_refused("not_found", lambda: objection_uphold(actor=staff_b, objection=objection, reason="x"))
    assert_refused("not_found", lambda: objection_uphold(actor=login_b, objection=objection, reason="x"))
    assert_refused("validation_failed", lambda: objection_uphold(actor=world.reviewer, objection=objection, reason=""))
    general = objection_raise(actor=login_b, publication=publication, text="名单不全")
    assert_refused("claim_required", lambda: objection_uphold(actor=world.reviewer, objection=general, reason="核实"))
    dismissed = objection_dismiss(actor=world.reviewer, objection=general, reason="名单完整")
    assert dismissed.state == Objection.State.DISMISSED and dismissed.reversal is None
    assert_refused("objection_not_open", lambda: objection_uphold(actor=world.reviewer, objection=general, reason="x"))


def test_uphold_refused_by_the_ledger_changes_nothing(world, month_with_claims):
    """Points already reversed by hand: upholding refuses (claim_not_approved) and the objection stays open."""
    month, c1 = month_with_claims["month"], month_with_claims["claims"][0]
    publication = publication_publish(actor=world.reviewer, community=world.community, month=month)
    objection = objection_raise(actor=month_with_claims["login_b"], publication=publication, text="有误", claim=c1)
    claim_reverse(actor=world.reviewer, claim=c1, reason="已更正")
    assert_refused(
        "claim_not_approved", lambda: objection_uphold(actor=world.reviewer, objection=objection, reason="x")
    )
    assert Objection.objects.get(pk=objection.pk).state == Objection.State.OPEN


def test_objection_days_setting(world, month_with_claims, settings):
    settings.GONGZHI_OBJECTION_DAYS = 3
    now = timezone.now()
    publication = publication_publish(
        actor=world.reviewer, community=world.community, month=month_with_claims["month"], now=now
    )
    assert publication.objections_until == now + timedelta(days=3)


def test_unpublished_month_is_not_public(world, month_with_claims):
    from gongzhi.points.models import Publication as P

    draft = P.objects.create(community=world.community, month=month_with_claims["month"])
    with pytest.raises(DomainError):
        access_publication(draft.pk)


def test_jobs_publish_and_lock_idempotently_with_a_frozen_clock(world, month_with_claims, tree):
    month = month_with_claims["month"]
    next_month = month_end(month)
    run_at = timezone.make_aware(datetime.combine(next_month + timedelta(days=1), time()))
    run_at += timedelta(hours=3)
    run_key = f"{next_month:%Y-%m}"

    run = run_job("points.monthly_publication", run_key, now=run_at)
    assert run.status == JobRun.Status.SUCCEEDED, run.error
    assert run.result["published"] == 1 and run.result["communities"] == [world.community.pk]
    publication = Publication.objects.get(community=world.community, month=month)
    assert publication.published_at == run_at
    assert AuditEntry.objects.filter(action="points.publication_publish", actor_label__startswith="job:").count() == 1
    # Same period again: nothing runs; the body itself run again publishes nothing.
    assert run_job("points.monthly_publication", run_key, now=run_at) is None
    before = state()
    assert publish_month(month=month, now=run_at)["published"] == 0
    assert state() == before

    # An objection keeps the month open after the window; deciding it lets the next hourly run lock it.
    objection = objection_raise(
        actor=month_with_claims["login_b"], publication=publication, text="有误", now=run_at + timedelta(days=1)
    )
    after_window = run_at + timedelta(days=5, hours=1)
    key = f"{timezone.localtime(after_window):%Y-%m-%dT%H}"
    run = run_job("points.lock_publications", key, now=after_window)
    assert run.result["locked"] == 0
    assert Publication.objects.get(pk=publication.pk).state == Publication.State.PUBLISHED
    objection_dismiss(actor=world.reviewer, objection=objection, reason="无误")
    later = after_window + timedelta(hours=1)
    later_key = f"{timezone.localtime(later):%Y-%m-%dT%H}"
    run = run_job("points.lock_publications", later_key, now=later)
    assert run.result == {"locked": 1, "publications": [publication.pk], "skipped": 0}
    assert Publication.objects.get(pk=publication.pk).state == Publication.State.LOCKED
    before = state()
    again = later + timedelta(hours=1)
    run = run_job("points.lock_publications", f"{timezone.localtime(again):%Y-%m-%dT%H}", now=again)
    assert run.result["locked"] == 0
    assert state()[:5] == before[:5]


def test_job_skips_communities_without_claims_and_months_already_published(world, month_with_claims, tree):
    month = month_with_claims["month"]
    publication_publish(actor=world.reviewer, community=world.community, month=month)
    # Community B gets an approved claim in the month too.
    reviewer_b = account_with_role(Role.REVIEW_COMMITTEE_MEMBER, tree["community_b"])
    worker_b = account_with_role(Role.COMMUNITY_WORKER, tree["community_b"])
    _login, wang = world.resident("household_b1", name="王五")
    from gongzhi.points.tests.publication_factories import approved

    approved(wang, item=world.items[5], day=month, by=reviewer_b, login=worker_b)
    result = publish_month(month=month, now=timezone.now())
    assert result["communities"] == [tree["community_b"].pk]
    line = Publication.objects.get(community=tree["community_b"], month=month).lines.get()
    assert (line.masked_name, line.points) == ("王*", 5)


def test_a_claim_still_waiting_cannot_be_approved_into_a_published_month(world, month_with_claims):
    from gongzhi.points.services import claim_approve

    login, wang = world.resident(name="王五")
    waiting = claim_submit(
        actor=login, account=wang, item=world.items[3], service_date=month_with_claims["month"] + timedelta(days=5)
    )
    publication_publish(actor=world.reviewer, community=world.community, month=month_with_claims["month"])
    error = assert_refused("month_closed", lambda: claim_approve(actor=world.reviewer, claim=waiting))
    assert error.status == 409
