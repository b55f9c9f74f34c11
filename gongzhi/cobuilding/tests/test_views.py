"""Pages through the real client: representatives, staff and residents; refusals shown in the form; pinned
queries on the staff tables; the printable report-back and its workbook."""

from __future__ import annotations

import io

import pytest
import time_machine
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from gongzhi.core.testing import assert_refused, image_upload

from ..models import Project, Resource
from ..services import fund_set_budget, project_claim, spending_request
from .factories import NOW, make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def client_for(account) -> Client:
    client = Client()
    client.force_login(account)
    return client


def test_representative_publishes_claims_and_reports_done(world, frozen):
    rep = client_for(world.rep)
    page = rep.get("/cobuilding/")
    assert page.status_code == 200 and "实验小学" in page.content.decode()
    refused = rep.post(
        "/cobuilding/resources/new/",
        {"organisation": world.school.pk, "community": world.community.pk, "kind": "venue", "title": "操场"},
    )
    assert refused.status_code == 422 and "操场" in refused.content.decode()  # what was typed is kept
    assert not Resource.objects.exists()
    published = rep.post(
        "/cobuilding/resources/new/",
        {
            "organisation": world.school.pk,
            "community": world.community.pk,
            "kind": "venue",
            "title": "操场",
            "opening_times": "周末",
        },
    )
    assert published.status_code == 302 and Resource.objects.get().title == "操场"

    project = make_project(world.community, title="楼道清理")
    assert "楼道清理" in rep.get("/cobuilding/").content.decode()
    assert rep.post(f"/cobuilding/projects/{project.pk}/claim/", {"organisation": world.school.pk}).status_code == 302
    other = client_for(world.agency_rep)
    taken = other.post(f"/cobuilding/projects/{project.pk}/claim/", {"organisation": world.agency.pk})
    assert taken.status_code == 409
    done = rep.post(
        f"/cobuilding/projects/{project.pk}/progress/",
        {"note": "清理完毕", "completed": "1", "photos": [image_upload()]},
    )
    assert done.status_code == 302
    project.refresh_from_db()
    assert project.state == Project.State.REPORTED
    detail = rep.get(f"/cobuilding/projects/{project.pk}/").content.decode()
    assert "清理完毕" in detail and "/cobuilding/photos/" in detail
    photo_url = detail.split('src="/cobuilding/photos/')[1].split('"')[0]
    assert rep.get(f"/cobuilding/photos/{photo_url}").status_code == 200
    assert client_for(world.resident_b).get(f"/cobuilding/photos/{photo_url}").status_code == 404

    staff = client_for(world.worker)
    assert "楼道清理" in staff.get("/cobuilding/").content.decode()
    assert staff.post(f"/cobuilding/projects/{project.pk}/confirm/").status_code == 302
    project.refresh_from_db()
    assert project.state == Project.State.CONFIRMED

    resident = client_for(world.resident)
    assert "楼道清理" in resident.get("/cobuilding/").content.decode()
    assert 'data-testid="rate-form"' in resident.get(f"/cobuilding/projects/{project.pk}/").content.decode()
    assert resident.post(f"/cobuilding/projects/{project.pk}/rate/", {"stars": "4"}).status_code == 302
    project.refresh_from_db()
    assert project.rating_count == 1


def test_completing_someone_elses_project_shows_the_refusal(world, frozen):
    project = make_project(world.community)
    project_claim(actor=world.rep, project=project, organisation=world.school, now=NOW)
    other = client_for(world.agency_rep)
    response = assert_refused(
        "not_claimer",
        lambda: other.post(
            f"/cobuilding/projects/{project.pk}/progress/",
            {"note": "完成", "completed": "1", "photos": [image_upload()]},
        ),
        status=409,
    )
    assert 'data-code="not_claimer"' in response.content.decode()


def test_pages_out_of_reach_are_not_found(world, frozen):
    project = make_project(world.community)
    outsider = client_for(world.secretary_b)
    assert outsider.get(f"/cobuilding/projects/{project.pk}/").status_code == 404
    assert outsider.get(f"/cobuilding/fund/{world.community.pk}/2031/").status_code == 404
    assert client_for(world.rep).get("/cobuilding/projects/").status_code == 404
    assert client_for(world.resident).get("/cobuilding/needs/").status_code == 404
    assert Client().get("/cobuilding/").status_code == 302


def test_staff_tables_have_pinned_queries(world, frozen, django_assert_max_num_queries):
    for _i in range(30):
        make_project(world.community)
    staff = client_for(world.worker)
    staff.get("/cobuilding/projects/")
    with django_assert_max_num_queries(20):
        page = staff.get("/cobuilding/projects/")
    assert page.status_code == 200 and page.content.decode().count("/cobuilding/projects/") >= 25
    with django_assert_max_num_queries(20):
        assert staff.get("/cobuilding/needs/").status_code == 200
    with django_assert_max_num_queries(30):
        assert staff.get("/cobuilding/").status_code == 200


def test_public_spending_list_for_residents(world, frozen):
    fund = fund_set_budget(actor=world.secretary, community=world.community, year=2031, budget="300000", now=NOW)
    spending_request(actor=world.worker, fund=fund, purpose="加装扶手", amount="2400", now=NOW)
    staff = client_for(world.secretary)
    page = staff.get(f"/cobuilding/fund/{world.community.pk}/2031/").content.decode()
    assert "加装扶手" in page and 'data-testid="approve"' in page
    spending = fund.spendings.get()
    assert staff.post(f"/cobuilding/spendings/{spending.pk}/approve/").status_code == 302
    public = client_for(world.resident).get(f"/cobuilding/fund/{world.community.pk}/2031/")
    body = public.content.decode()
    assert public.status_code == 200 and "加装扶手" in body and "¥297600.00" in body
    assert 'data-testid="approve"' not in body


def test_report_back_page_and_workbook(world, frozen):
    staff = client_for(world.secretary)
    page = staff.get(f"/cobuilding/organisations/{world.school.pk}/report/2031/")
    assert page.status_code == 200 and "区教育局" in page.content.decode()
    workbook = staff.get(f"/cobuilding/organisations/{world.school.pk}/report/2031.xlsx")
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    values = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row and row[0]}
    with translation.override("zh-hans"):
        organisation, department, agreements = (
            _("Organisation"),
            _("Supervising department"),
            _("Co-building agreements"),
        )
    assert agreements == "共建协议"
    assert values[organisation] == "实验小学" and values[department] == "区教育局" and values[agreements] == 1
    assert staff.post(f"/cobuilding/organisations/{world.school.pk}/report/2031/").status_code == 302
    assert (
        'data-testid="reported"'
        in staff.get(f"/cobuilding/organisations/{world.school.pk}/report/2031/").content.decode()
    )


def test_staff_record_meetings_pairings_activities_and_scores_on_pages(world, frozen):
    from ..models import Activity, AssessmentResult, Meeting, Pairing
    from .factories import make_organisation

    staff = client_for(world.secretary)
    assert staff.get("/cobuilding/network/").status_code == 200
    recorded = staff.post(
        "/cobuilding/network/",
        {
            "form": "meeting",
            "community": world.community.pk,
            "kind": "joint_meeting",
            "title": "五月联席会议",
            "held_on": "2031-05-06",
            "attendees": [world.school.pk],
            "attendance": "12",
            "matters": "停车难\n路灯不亮",
        },
    )
    assert recorded.status_code == 302
    assert Meeting.objects.get().matters.count() == 2
    refused = staff.post(
        "/cobuilding/network/",
        {"form": "pairing", "community": world.community.pk, "kind": "village", "started_on": "2031-01-01"},
    )
    assert refused.status_code == 422 and not Pairing.objects.exists()
    staff.post(
        "/cobuilding/network/",
        {
            "form": "pairing",
            "community": world.community.pk,
            "kind": "village",
            "partner_name": "红星村",
            "started_on": "2031-01-01",
        },
    )
    pairing = Pairing.objects.get()
    staff.post(
        "/cobuilding/network/", {"form": "commitment", "pairing": pairing.pk, "year": "2031", "title": "结对帮扶"}
    )
    commitment = pairing.commitments.get()
    staff.post(
        "/cobuilding/network/",
        {
            "form": "activity",
            "community": world.community.pk,
            "title": "送温暖",
            "held_on": "2031-05-01",
            "organisations": [world.agency.pk],
            "participants": "20",
            "commitment": commitment.pk,
        },
    )
    assert Activity.objects.get().pairing == pairing
    commitment.refresh_from_db()
    assert commitment.state == "kept"
    page = staff.get("/cobuilding/network/").content.decode()
    assert "红星村" in page and "送温暖" in page and "五月联席会议" in page

    company = make_organisation(world.community, "安居物业", "enterprise")
    for party, score in (("party_organisation", "95"), ("owners_committee", "90"), ("housing_department", "92")):
        response = staff.post(
            "/cobuilding/assessments/",
            {
                "form": "score",
                "compound": world.compound.pk,
                "company": company.pk,
                "year": "2031",
                "quarter": "1",
                "party": party,
                "score": score,
            },
        )
        assert response.status_code == 302
    again = staff.post(
        "/cobuilding/assessments/",
        {
            "form": "score",
            "compound": world.compound.pk,
            "company": company.pk,
            "year": "2031",
            "quarter": "1",
            "party": "owners_committee",
            "score": "50",
        },
    )
    assert again.status_code == 409 and 'data-code="score_exists"' in again.content.decode()
    staff.post(
        "/cobuilding/assessments/", {"form": "publish", "compound": world.compound.pk, "year": "2031", "quarter": "1"}
    )
    # 95 × .3 + 90 × .3 + 92 × .4 = 28.5 + 27 + 36.8 = 92.30
    assert str(AssessmentResult.objects.get().weighted_score) == "92.30"
    public = client_for(world.resident).get("/cobuilding/assessments/").content.decode()
    assert "阳光小区" in public and "92.30" in public and 'data-testid="score-form"' not in public


def test_home_card_for_each_kind_of_person(world, frozen):
    make_project(world.community)
    rep_card = client_for(world.rep).get("/cobuilding/home-card/").content.decode()
    assert 'data-testid="home-cobuilding-open">1<' in rep_card
    assert (
        'data-testid="home-cobuilding-confirm"'
        in client_for(world.worker).get("/cobuilding/home-card/").content.decode()
    )
    assert "和平社区" in client_for(world.resident).get("/cobuilding/home-card/").content.decode()
    from gongzhi.people.tests.factories import AccountFactory

    assert client_for(AccountFactory()).get("/cobuilding/home-card/").content == b""
    assert 'data-testid="home-cobuilding-slot"' in client_for(world.rep).get("/").content.decode()


def test_report_back_index_lists_organisations_of_the_year(world, frozen):
    from ..services import report_back_send

    report_back_send(actor=world.secretary, organisation=world.school, year=2031, now=NOW)
    page = client_for(world.secretary).get("/cobuilding/report-back/2031/")
    body = page.content.decode()
    assert page.status_code == 200 and "实验小学" in body and "区税务局" in body and "幸福物业" not in body
    assert "2031-05-12" in body
    assert client_for(world.rep).get("/cobuilding/report-back/2031/").status_code == 404
