"""Figures and the report-back, against counts made by hand on a small year."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from gongzhi.core.errors import CoreError
from gongzhi.core.figures import Period, Rate
from gongzhi.core.testing import assert_refused, image_upload
from gongzhi.points.models import Claim
from gongzhi.points.services import claim_approve

from ..errors import CobuildingError
from ..kpis import cobuilding_kpis
from ..selectors import report_back_figures
from ..services import (
    activity_record,
    alliance_create,
    alliance_join,
    commitment_add,
    commitment_mark,
    matter_follow_up,
    meeting_record,
    pairing_create,
    project_claim,
    project_confirm,
    project_points_request,
    project_progress,
    project_rate,
    project_release,
    report_back_send,
)
from .factories import NOW, make_project, sign

YEAR = Period.year(2031)


@pytest.fixture
def year(world):
    """The hand-counted year 2031 in community A (and one agreement in community B)."""
    w = world
    sign(w.outsider_org, w.other_community)
    done = make_project(w.community, point_item=w.item, title="楼道粉刷")
    project_claim(actor=w.rep, project=done, organisation=w.school, now=NOW)
    project_progress(actor=w.rep, project=done, note="完成", photos=[image_upload()], completed=True, now=NOW)
    project_confirm(actor=w.worker, project=done, now=NOW + timedelta(days=1))
    project_rate(actor=w.resident, project=done, stars=4, now=NOW + timedelta(days=2))
    done = project_points_request(actor=w.rep, project=done, now=NOW + timedelta(days=2))
    claim_approve(actor=w.secretary, claim=Claim.objects.get(pk=done.points_claim_id), now=NOW + timedelta(days=3))
    passed_on = make_project(w.community, title="花坛改造")
    project_claim(actor=w.agency_rep, project=passed_on, organisation=w.agency, now=NOW)
    project_release(actor=w.agency_rep, project=passed_on, now=NOW)
    project_claim(actor=w.rep, project=passed_on, organisation=w.school, now=NOW)
    make_project(w.community, title="还没有人认领")

    alliance = alliance_create(
        actor=w.secretary,
        place=w.community,
        name="和平红色积分联盟",
        founded_on=date(2031, 3, 1),
        point_items=[w.item],
        now=NOW,
    )
    alliance_join(actor=w.secretary, alliance=alliance, organisation=w.school, joined_on=date(2031, 3, 1), now=NOW)
    alliance_join(actor=w.secretary, alliance=alliance, organisation=w.agency, joined_on=date(2031, 3, 1), now=NOW)

    pairing = pairing_create(
        actor=w.secretary,
        community=w.community,
        kind="organisation",
        partner_organisation=w.agency,
        started_on=date(2031, 1, 1),
        now=NOW,
    )
    first = commitment_add(actor=w.secretary, pairing=pairing, year=2031, title="共建活动室", now=NOW)
    second = commitment_add(actor=w.secretary, pairing=pairing, year=2031, title="政策宣讲", now=NOW)
    third = commitment_add(actor=w.secretary, pairing=pairing, year=2031, title="结对帮扶", now=NOW)
    activity_record(
        actor=w.worker,
        community=w.community,
        title="活动室揭牌",
        held_on=date(2031, 4, 1),
        organisations=[w.agency],
        pairing=pairing,
        commitment=first,
        participants=30,
        now=NOW,
    )
    activity_record(
        actor=w.worker,
        community=w.community,
        title="操场开放日",
        held_on=date(2031, 5, 1),
        organisations=[w.school, w.agency],
        participants=120,
        now=NOW,
    )
    commitment_mark(actor=w.secretary, commitment=second, kept=True, decided_on=date(2031, 5, 1), now=NOW)
    commitment_mark(actor=w.secretary, commitment=third, kept=False, decided_on=date(2031, 5, 1), now=NOW)

    joint = meeting_record(
        actor=w.worker,
        community=w.community,
        kind="joint_meeting",
        title="五月联席会议",
        held_on=date(2031, 5, 6),
        attendees=[w.school, w.agency],
        attendance=15,
        matters=["停车难", "路灯不亮"],
        now=NOW,
    )
    meeting_record(
        actor=w.worker,
        community=w.community,
        kind="forum",
        title="书记论坛",
        held_on=date(2031, 5, 8),
        matters=["加装电梯"],
        now=NOW,
    )
    parking, lamps = joint.matters.order_by("id")
    matter_follow_up(actor=w.worker, matter=parking, note="学校错时开放停车", taken_by=w.school, solved=True, now=NOW)
    matter_follow_up(actor=w.worker, matter=lamps, note="已修好", solved=True, now=NOW)
    return w


def test_figures_against_hand_counts(year):
    kpis = cobuilding_kpis(actor=year.secretary, place=year.community, period=YEAR)
    assert kpis.agreements.as_dict() == {"signed": 2, "in_force": 2, "organisations": 2}
    assert kpis.alliances.as_dict() == {"alliances": 1, "members": 2}
    assert (kpis.projects.claimed, kpis.projects.completed, kpis.projects.open_now) == (2, 1, 1)
    assert kpis.projects.completion_rate == Rate(1, 2)
    assert kpis.activities.as_dict() == {"activities": 2, "participants": 150, "joint_activities": 1}
    assert (kpis.pairings.pairings, kpis.pairings.commitments, kpis.pairings.kept) == (1, 3, 2)
    assert kpis.pairings.kept_rate.percent == Decimal("66.7")
    meetings = kpis.meetings
    assert (meetings.meetings, meetings.joint_meetings, meetings.forums) == (2, 1, 1)
    assert (meetings.matters_raised, meetings.problems_solved) == (3, 2)
    assert kpis.report_back.reported_rate == Rate(0, 2)
    # The month of June has nothing: its rates have no denominator.
    june = cobuilding_kpis(actor=year.secretary, place=year.community, period=Period.month(2031, 6))
    assert june.projects.completion_rate.percent is None and str(june.projects.completion_rate).startswith("–")


def test_figures_of_a_street_include_its_communities(year):
    from gongzhi.places.tests.factories import superuser

    street = cobuilding_kpis(actor=superuser(), place=year.tree["street"], period=YEAR)
    assert street.agreements.signed == 3 and street.agreements.organisations == 3


def test_figures_are_for_staff_over_the_place(year):
    assert_refused(
        CoreError.NOT_FOUND, lambda: cobuilding_kpis(actor=year.secretary_b, place=year.community, period=YEAR)
    )
    assert_refused(CoreError.NOT_FOUND, lambda: cobuilding_kpis(actor=year.rep, place=year.community, period=YEAR))


def test_report_back_figures_against_hand_counts(year):
    school = report_back_figures(year.secretary, year.school, 2031)
    assert {
        key: school[key]
        for key in (
            "agreements",
            "projects_claimed",
            "projects_completed",
            "average_rating",
            "activities",
            "points",
            "pairings",
            "commitments",
            "commitments_kept",
            "matters_solved",
            "assessment_quarters",
        )
    } == {
        "agreements": 1,
        "projects_claimed": 2,
        "projects_completed": 1,
        "average_rating": Decimal("4.0"),
        "activities": 1,
        "points": 30,
        "pairings": 0,
        "commitments": 0,
        "commitments_kept": 0,
        "matters_solved": 1,
        "assessment_quarters": 0,
    }
    agency = report_back_figures(year.secretary, year.agency, 2031)
    assert (agency["projects_claimed"], agency["activities"], agency["pairings"]) == (0, 2, 1)
    assert (agency["commitments"], agency["commitments_kept"], agency["points"]) == (3, 2, 0)
    # The representative sees the same figures of their own organisation.
    assert report_back_figures(year.rep, year.school, 2031)["points"] == 30


def test_report_back_sent_once_and_counted(year):
    report = report_back_send(actor=year.secretary, organisation=year.school, year=2031, now=NOW)
    assert report.department == "区教育局" and report.figures["projects_completed"] == 1
    assert report.figures["average_rating"] == "4.0"
    assert_refused(
        CobuildingError.ALREADY_REPORTED,
        lambda: report_back_send(actor=year.secretary, organisation=year.school, year=2031, now=NOW),
    )
    assert_refused(
        CoreError.NOT_FOUND, lambda: report_back_send(actor=year.rep, organisation=year.school, year=2031, now=NOW)
    )
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: report_back_send(actor=year.secretary, organisation=year.agency, year=2032, now=NOW),
    )
    kpis = cobuilding_kpis(actor=year.secretary, place=year.community, period=YEAR)
    assert kpis.report_back.reported_rate == Rate(1, 2)


def test_the_catalogue_reads_every_figure(year):
    from ..kpis import KPI_DOMAIN

    values = {}
    for group in KPI_DOMAIN.groups:
        result = group.compute(year.community, YEAR)
        for figure in group.figures:
            values[group.figure_key(figure)] = figure.read(result)
    assert values["cobuilding.projects.completion_rate"] == Rate(1, 2)
    assert values["cobuilding.meetings.problems_solved"] == 2
    assert values["cobuilding.pairings.kept_rate"] == Rate(2, 3)
    assert values["cobuilding.fund.left"] == Decimal("0")


def test_fund_figures_add_up(world):
    from ..services import fund_set_budget, spending_approve, spending_pay, spending_request

    fund = fund_set_budget(actor=world.secretary, community=world.community, year=2031, budget="300000", now=NOW)
    paid = spending_request(actor=world.worker, fund=fund, purpose="照明", amount="1200.50", now=NOW)
    committed = spending_request(actor=world.worker, fund=fund, purpose="扶手", amount="800", now=NOW)
    for spending in (paid, committed):
        spending_approve(actor=world.secretary, spending=spending, now=NOW)
    spending_pay(actor=world.worker, spending=paid, now=NOW)
    figures = cobuilding_kpis(actor=world.secretary, place=world.community, period=YEAR).fund
    assert (figures.budget, figures.committed, figures.spent, figures.left) == (
        Decimal("300000.00"),
        Decimal("800.00"),
        Decimal("1200.50"),
        Decimal("297999.50"),
    )
