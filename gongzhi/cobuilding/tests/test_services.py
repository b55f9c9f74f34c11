"""Services of co-building: the micro-project journey end to end, the fund, pairings, meetings, and every refusal
of the issue's "Bad input" (each changes nothing: ``assert_refused``)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from gongzhi.core.errors import CoreError, ValidationFailed
from gongzhi.core.models import AuditEntry
from gongzhi.core.testing import assert_refused, image_upload
from gongzhi.points.ledger import account_for_organisation
from gongzhi.points.models import Claim, ClaimState
from gongzhi.points.services import claim_approve

from ..errors import CobuildingError
from ..models import Agreement, Match, Need, Project, ProjectClaim, Spending
from ..services import (
    activity_record,
    agreement_end,
    agreement_renew,
    agreement_sign,
    commitment_add,
    commitment_mark,
    fund_set_budget,
    match_answer,
    matter_follow_up,
    meeting_record,
    need_create,
    pairing_create,
    project_claim,
    project_confirm,
    project_points_request,
    project_progress,
    project_rate,
    project_release,
    resource_publish,
    spending_approve,
    spending_cancel,
    spending_pay,
    spending_request,
)
from .factories import NOW, TODAY, make_organisation, make_project, sign


def publish_venue(world, **fields):
    return resource_publish(
        actor=world.rep,
        organisation=world.school,
        community=world.community,
        kind=fields.pop("kind", "venue"),
        title=fields.pop("title", "学校操场周末开放"),
        opening_times=fields.pop("opening_times", "周六、周日 8:00–17:00"),
        now=NOW,
        **fields,
    )


# ---------------------------------------------------------------- the journey


def test_need_matched_resource_project_claim_completion_rating_points(world):
    need = need_create(
        actor=world.worker,
        place=world.compound,
        kind="venue",
        title="老旧小区缺少儿童活动场地",
        source_kind=Need.Source.DELIBERATION,
        source_reference="resolution:17",
        now=NOW,
    )
    resource = publish_venue(world)
    match = Match.objects.get(need=need, resource=resource)
    assert match.score == 100 and match.reasons == ["kind", "same_community", "time"]
    match_answer(actor=world.worker, match=match, accept=True, now=NOW)

    project = make_project(
        world.community,
        actor=world.worker,
        place=world.compound,
        need=need,
        resources=[resource],
        point_item=world.item,
        budget="3000.00",
    )
    assert Need.objects.get(pk=need.pk).state == Need.State.IN_PROJECT
    project = project_claim(actor=world.rep, project=project, organisation=world.school, now=NOW)
    assert project.state == Project.State.CLAIMED and project.claimer == world.school

    project_progress(actor=world.rep, project=project, note="场地划线完成", photos=[image_upload()], now=NOW)
    project_progress(
        actor=world.rep,
        project=project,
        note="已完工",
        photos=[image_upload()],
        completed=True,
        now=NOW + timedelta(days=2),
    )
    project.refresh_from_db()
    assert project.state == Project.State.REPORTED
    project = project_confirm(actor=world.worker, project=project, now=NOW + timedelta(days=3))
    assert project.state == Project.State.CONFIRMED
    assert ProjectClaim.objects.get(project=project).state == ProjectClaim.State.DONE

    project_rate(actor=world.resident, project=project, stars=5, comment="孩子们很喜欢", now=NOW + timedelta(days=4))
    project.refresh_from_db()
    assert (project.rating_count, project.rating_total, project.rating_average) == (1, 5, Decimal("5.0"))

    project = project_points_request(actor=world.rep, project=project, now=NOW + timedelta(days=4))
    claim = Claim.objects.get(pk=project.points_claim_id)
    assert claim.source_type == "cobuilding.project" and claim.source_id == str(project.pk)
    assert claim.idempotency_key == f"cobuilding:project:{project.pk}" and claim.value == 30
    assert claim.service_date == (NOW + timedelta(days=3)).date()
    # A second request changes nothing.
    assert project_points_request(actor=world.rep, project=project, now=NOW).points_claim_id == claim.pk
    claim_approve(actor=world.secretary, claim=claim, now=NOW + timedelta(days=5))
    account = account_for_organisation(world.school)
    assert account.balance == 30
    assert Claim.objects.get(pk=claim.pk).state == ClaimState.APPROVED


def test_matches_follow_kind_place_and_time(world):
    need = need_create(
        actor=world.worker,
        place=world.community,
        kind="skills",
        title="独居老人手机使用辅导",
        needed_from=date(2031, 6, 1),
        needed_until=date(2031, 6, 30),
        now=NOW,
    )
    later = publish_venue(world, kind="skills", title="青年教师志愿辅导", available_from=date(2031, 7, 1))
    fits = publish_venue(world, kind="skills", title="信息课教师", available_until=date(2031, 6, 5))
    venue = publish_venue(world)
    assert set(Match.objects.filter(need=need).values_list("resource_id", flat=True)) == {fits.pk}
    assert not Match.objects.filter(resource__in=[later, venue]).exists()
    # A resource of the other community of the same street suggests with a lower score.
    sign(world.outsider_org, world.other_community)
    other = resource_publish(
        actor=world.outsider_rep,
        organisation=world.outsider_org,
        community=world.other_community,
        kind="skills",
        title="物业电工",
        now=NOW,
    )
    assert Match.objects.get(resource=other).score == 70


def test_a_project_already_claimed_is_refused(world):
    project = make_project(world.community)
    project_claim(actor=world.rep, project=project, organisation=world.school, now=NOW)
    error = assert_refused(
        CobuildingError.ALREADY_CLAIMED,
        lambda: project_claim(actor=world.agency_rep, project=project, organisation=world.agency, now=NOW),
    )
    assert error.status == 409
    # Given back, the other organisation may claim it; still one open claim.
    project_release(actor=world.rep, project=project, now=NOW)
    project_claim(actor=world.agency_rep, project=project, organisation=world.agency, now=NOW)
    assert ProjectClaim.objects.filter(project=project, state="open").get().organisation == world.agency


def test_claim_needs_an_agreement_and_the_representative(world):
    project = make_project(world.community)
    assert_refused(
        CobuildingError.NO_AGREEMENT,
        lambda: project_claim(actor=world.outsider_rep, project=project, organisation=world.outsider_org, now=NOW),
    )
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: project_claim(actor=world.rep, project=project, organisation=world.agency, now=NOW),
    )


def test_completing_a_project_not_claimed_by_you_is_refused(world):
    project = make_project(world.community)
    assert_refused(
        CobuildingError.NOT_CLAIMER,
        lambda: project_progress(
            actor=world.rep, project=project, note="完成", photos=[image_upload()], completed=True, now=NOW
        ),
    )
    project_claim(actor=world.rep, project=project, organisation=world.school, now=NOW)
    assert_refused(
        CobuildingError.NOT_CLAIMER,
        lambda: project_progress(
            actor=world.agency_rep, project=project, note="完成", photos=[image_upload()], completed=True, now=NOW
        ),
    )
    assert_refused(
        CoreError.UPLOAD_REFUSED,
        lambda: project_progress(
            actor=world.rep, project=project, note="完成", photos=[_not_a_picture()], completed=True, now=NOW
        ),
    )
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: project_progress(actor=world.rep, project=project, note="完成", completed=True, now=NOW),
    )


def _not_a_picture():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("x.jpg", b"MZ not a picture", content_type="image/jpeg")


def test_confirmation_rating_and_points_are_in_order(world):
    project = make_project(world.community, point_item=world.item)
    assert_refused(CobuildingError.PROJECT_STATE, lambda: project_confirm(actor=world.worker, project=project, now=NOW))
    project_claim(actor=world.rep, project=project, organisation=world.school, now=NOW)
    project_progress(actor=world.rep, project=project, note="完成", photos=[image_upload()], completed=True, now=NOW)
    assert_refused(
        CobuildingError.PROJECT_STATE, lambda: project_rate(actor=world.resident, project=project, stars=4, now=NOW)
    )
    assert_refused(
        CobuildingError.PROJECT_STATE, lambda: project_points_request(actor=world.rep, project=project, now=NOW)
    )
    # Sent back, then confirmed.
    assert project_confirm(actor=world.worker, project=project, accept=False, now=NOW).state == Project.State.CLAIMED
    project_progress(
        actor=world.rep, project=project, note="返工完成", photos=[image_upload()], completed=True, now=NOW
    )
    project_confirm(actor=world.worker, project=project, now=NOW)
    assert_refused(CoreError.NOT_FOUND, lambda: project_rate(actor=world.resident_b, project=project, stars=4, now=NOW))
    assert_refused(
        CoreError.VALIDATION_FAILED, lambda: project_rate(actor=world.resident, project=project, stars=6, now=NOW)
    )
    project_rate(actor=world.resident, project=project, stars=4, now=NOW)
    assert_refused(
        CobuildingError.ALREADY_RATED, lambda: project_rate(actor=world.resident, project=project, stars=5, now=NOW)
    )
    assert_refused(
        CoreError.NOT_FOUND, lambda: project_points_request(actor=world.agency_rep, project=project, now=NOW)
    )


# ---------------------------------------------------------------- agreements


def test_an_agreement_for_a_community_out_of_reach_is_refused(world):
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: agreement_sign(
            actor=world.secretary,
            organisation=world.outsider_org,
            community=world.other_community,
            scope="共建",
            starts_on=date(2031, 1, 1),
            ends_on=date(2031, 12, 31),
            now=NOW,
        ),
    )
    assert_refused(
        CobuildingError.AGREEMENT_EXISTS,
        lambda: agreement_sign(
            actor=world.secretary,
            organisation=world.school,
            community=world.community,
            scope="共建",
            starts_on=date(2031, 1, 1),
            ends_on=date(2031, 12, 31),
            now=NOW,
        ),
    )
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: agreement_sign(
            actor=world.secretary,
            organisation=world.outsider_org,
            community=world.community,
            scope="共建",
            starts_on=date(2031, 6, 1),
            ends_on=date(2031, 5, 1),
            now=NOW,
        ),
    )


def test_agreement_renewed_then_ended(world):
    agreement = Agreement.objects.get(organisation=world.school, state="active")
    renewal = agreement_renew(actor=world.secretary, agreement=agreement, ends_on=date(2033, 12, 31), now=NOW)
    agreement.refresh_from_db()
    assert agreement.state == Agreement.State.ENDED and agreement.ended_on == date(2031, 12, 31)
    assert renewal.starts_on == date(2032, 1, 1) and renewal.renewed_from == agreement
    agreement_end(actor=world.secretary, agreement=renewal, ended_on=date(2032, 6, 30), now=NOW)
    assert_refused(
        CobuildingError.AGREEMENT_ENDED,
        lambda: agreement_end(actor=world.secretary, agreement=renewal, ended_on=TODAY, now=NOW),
    )
    assert_refused(CobuildingError.NO_AGREEMENT, lambda: publish_venue(world))


def test_signed_file_is_checked_by_its_bytes(world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    fake = SimpleUploadedFile("agreement.pdf", b"not a pdf at all", content_type="application/pdf")
    assert_refused(
        CoreError.UPLOAD_REFUSED,
        lambda: agreement_sign(
            actor=world.secretary,
            organisation=world.outsider_org,
            community=world.community,
            scope="共建",
            starts_on=date(2031, 1, 1),
            ends_on=date(2031, 12, 31),
            signed_file=fake,
            now=NOW,
        ),
    )
    pdf = SimpleUploadedFile("agreement.pdf", b"%PDF-1.4 signed", content_type="application/pdf")
    agreement = agreement_sign(
        actor=world.secretary,
        organisation=world.outsider_org,
        community=world.community,
        scope="共建",
        starts_on=date(2031, 1, 1),
        ends_on=date(2031, 12, 31),
        signed_file=pdf,
        now=NOW,
    )
    assert agreement.signed_file.name.endswith(".pdf")


# ---------------------------------------------------------------- the fund


def test_fund_adds_up_and_refuses_past_what_is_left_or_without_approval(world):
    fund = fund_set_budget(actor=world.secretary, community=world.community, year=2031, budget="300000", now=NOW)
    project = make_project(world.community, budget="120000.50")
    first = spending_request(
        actor=world.worker, fund=fund, purpose="楼道照明改造", amount="120000.50", project=project, now=NOW
    )
    second = spending_request(actor=world.worker, fund=fund, purpose="健身器材", amount="179999.50", now=NOW)
    third = spending_request(actor=world.worker, fund=fund, purpose="绿化补种", amount="0.01", now=NOW)
    assert_refused(
        CobuildingError.SPENDING_NOT_APPROVED, lambda: spending_pay(actor=world.worker, spending=first, now=NOW)
    )
    assert_refused(CoreError.NOT_FOUND, lambda: spending_approve(actor=world.worker, spending=first, now=NOW))
    spending_approve(actor=world.secretary, spending=first, now=NOW)
    spending_approve(actor=world.secretary, spending=second, now=NOW)
    fund.refresh_from_db()
    assert (fund.committed, fund.spent, fund.left) == (Decimal("300000.00"), Decimal("0"), Decimal("0"))
    assert_refused(
        CobuildingError.FUND_EXCEEDED, lambda: spending_approve(actor=world.secretary, spending=third, now=NOW)
    )
    assert_refused(
        CobuildingError.FUND_EXCEEDED,
        lambda: spending_request(actor=world.worker, fund=fund, purpose="再来一笔", amount="1", now=NOW),
    )
    spending_pay(actor=world.worker, spending=first, now=NOW)
    spending_cancel(actor=world.secretary, spending=second, now=NOW)
    fund.refresh_from_db()
    assert (fund.committed, fund.spent, fund.left) == (Decimal("0"), Decimal("120000.50"), Decimal("179999.50"))
    assert fund.spent + fund.committed + fund.left == fund.budget
    assert_refused(
        CobuildingError.FUND_EXCEEDED,
        lambda: fund_set_budget(actor=world.secretary, community=world.community, year=2031, budget="100000", now=NOW),
    )
    assert_refused(
        CobuildingError.SPENDING_STATE, lambda: spending_approve(actor=world.secretary, spending=first, now=NOW)
    )
    assert Spending.objects.get(pk=third.pk).state == Spending.State.REQUESTED


@pytest.mark.parametrize("amount", ["-5", "0", "abc", "1.001", "NaN", "1e20"])
def test_spending_amounts_must_be_yuan(world, amount):
    fund = fund_set_budget(actor=world.secretary, community=world.community, year=2031, budget="1000", now=NOW)
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: spending_request(actor=world.worker, fund=fund, purpose="x", amount=amount, now=NOW),
    )


def test_the_database_refuses_committing_past_the_budget(world):
    from django.db import IntegrityError, transaction
    from django.db.models import F

    from ..models import Fund

    fund = fund_set_budget(actor=world.secretary, community=world.community, year=2031, budget="100", now=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        Fund.objects.filter(pk=fund.pk).update(committed=F("committed") + Decimal("100.01"))


# ---------------------------------------------------------------- pairings, activities, meetings


def test_pairings_commitments_kept_by_joint_activities_and_marked(world):
    pairing = pairing_create(
        actor=world.secretary,
        community=world.community,
        kind="organisation",
        partner_organisation=world.agency,
        started_on=date(2031, 1, 1),
        now=NOW,
    )
    village = pairing_create(
        actor=world.secretary,
        community=world.community,
        kind="village",
        partner_name="红星村",
        started_on=date(2031, 1, 1),
        now=NOW,
    )
    first = commitment_add(actor=world.secretary, pairing=pairing, year=2031, title="共建党员活动室", now=NOW)
    second = commitment_add(actor=world.secretary, pairing=pairing, year=2031, title="税务政策进社区", now=NOW)
    third = commitment_add(actor=world.secretary, pairing=pairing, year=2031, title="困难户结对帮扶", now=NOW)
    activity_record(
        actor=world.worker,
        community=world.community,
        title="党员活动室揭牌",
        held_on=date(2031, 4, 1),
        organisations=[world.agency],
        pairing=pairing,
        commitment=first,
        participants=40,
        now=NOW,
    )
    commitment_mark(actor=world.secretary, commitment=second, kept=True, decided_on=date(2031, 5, 1), now=NOW)
    commitment_mark(actor=world.secretary, commitment=third, kept=False, decided_on=date(2031, 5, 2), now=NOW)
    states = dict(pairing.commitments.values_list("title", "state"))
    assert states == {"共建党员活动室": "kept", "税务政策进社区": "kept", "困难户结对帮扶": "not_kept"}
    assert_refused(
        CobuildingError.COMMITMENT_DECIDED,
        lambda: commitment_mark(actor=world.secretary, commitment=first, kept=False, decided_on=TODAY, now=NOW),
    )
    assert village.partner_label == "红星村"
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: pairing_create(
            actor=world.secretary,
            community=world.community,
            kind="village",
            partner_name="红星村",
            partner_organisation=world.agency,
            started_on=date(2031, 1, 1),
            now=NOW,
        ),
    )
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: pairing_create(
            actor=world.secretary_b,
            community=world.community,
            kind="village",
            partner_name="x",
            started_on=date(2031, 1, 1),
            now=NOW,
        ),
    )


def test_meeting_matters_followed_up_until_solved(world):
    meeting = meeting_record(
        actor=world.worker,
        community=world.community,
        kind="joint_meeting",
        title="五月联席会议",
        held_on=date(2031, 5, 10),
        attendees=[world.school, world.agency],
        attendance=18,
        matters=["停车难", "路灯不亮"],
        now=NOW,
    )
    parking, lamps = meeting.matters.order_by("id")
    matter_follow_up(actor=world.worker, matter=lamps, note="区税务局协调更换", taken_by=world.agency, now=NOW)
    lamps = matter_follow_up(actor=world.worker, matter=lamps, note="已更换", solved=True, now=NOW)
    assert lamps.state == "solved" and lamps.solved_on == TODAY and lamps.taken_by == world.agency
    assert lamps.follow_ups.count() == 2
    assert_refused(
        CobuildingError.MATTER_SOLVED, lambda: matter_follow_up(actor=world.worker, matter=lamps, note="again", now=NOW)
    )
    assert parking.state == "open"


def test_refusals_leave_no_audit_behind(world):
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationFailed):
        make_project(world.community, title="")
    assert AuditEntry.objects.count() == before


def test_a_second_organisation_agreement_elsewhere_is_fine(world):
    sign(world.school, world.other_community)
    assert Agreement.objects.filter(organisation=world.school, state="active").count() == 2
    make_organisation(world.community)


def test_agreements_past_their_end_date_end_once(world):
    from datetime import datetime

    from ..jobs import expire_agreements
    from .factories import SHANGHAI

    later = datetime(2032, 1, 2, 2, 0, tzinfo=SHANGHAI)
    assert expire_agreements(run_key="2032-01-02", now=NOW) == {"ended": 0}
    assert expire_agreements(run_key="2032-01-02", now=later) == {"ended": 2}
    assert expire_agreements(run_key="2032-01-02", now=later) == {"ended": 0}
    agreement = Agreement.objects.get(organisation=world.school)
    assert agreement.state == "ended" and agreement.ended_on == date(2031, 12, 31)
    assert_refused(CobuildingError.NO_AGREEMENT, lambda: publish_venue(world))


def test_approving_and_claiming_take_few_statements(world, django_assert_max_num_queries):
    fund = fund_set_budget(actor=world.secretary, community=world.community, year=2031, budget="1000", now=NOW)
    first = spending_request(actor=world.worker, fund=fund, purpose="座椅", amount="10", now=NOW)
    second = spending_request(actor=world.worker, fund=fund, purpose="灯具", amount="10", now=NOW)
    spending_approve(actor=world.secretary, spending=first, now=NOW)  # the approver's roles are read once
    second = Spending.objects.select_related("fund__community").get(pk=second.pk)
    # lock spending, lock fund, two guarded updates, audit (lock the chain head, insert, move the head), reread
    # (+ savepoint bookkeeping); before the audit chain: 9
    with django_assert_max_num_queries(10):
        spending_approve(actor=world.secretary, spending=second, now=NOW)
    project = Project.objects.select_related("place").get(pk=make_project(world.community).pk)
    project_claim(actor=world.rep, project=make_project(world.community), organisation=world.school, now=NOW)
    with django_assert_max_num_queries(10):  # 9 before the audit chain
        project_claim(actor=world.rep, project=project, organisation=world.school, now=NOW)


def test_spending_for_a_project_stays_within_its_budget(world):
    fund = fund_set_budget(actor=world.secretary, community=world.community, year=2031, budget="100000", now=NOW)
    project = make_project(world.community, budget="5000")
    spending_request(actor=world.worker, fund=fund, purpose="材料", amount="3000", project=project, now=NOW)
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: spending_request(
            actor=world.worker, fund=fund, purpose="人工", amount="2000.01", project=project, now=NOW
        ),
    )
    spending_request(actor=world.worker, fund=fund, purpose="人工", amount="2000", project=project, now=NOW)
