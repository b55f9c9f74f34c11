"""The request pages through the real client: raising with photos, following, the queue, every action, visits,
hotline entry and import, the inbox and the home card. Denied paths change nothing."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gongzhi.cases import services, transitions
from gongzhi.cases.errors import CasesError
from gongzhi.cases.models import (
    Case,
    CaseChannel,
    CaseEvent,
    CaseLevel,
    CasePhoto,
    CaseState,
    HouseholdVisit,
    Notification,
)
from gongzhi.core.errors import CoreError
from gongzhi.core.models import Progress
from gongzhi.core.testing import assert_refused, image_upload

from .factories import hotline_workbook

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def client_for(account) -> Client:
    client = Client()
    client.force_login(account)
    return client


def photo(name: str = "lamp.png", data: bytes | None = None, content_type: str = "image/png") -> SimpleUploadedFile:
    """A real (tiny) PNG by default: photos are decoded and re-encoded when uploaded."""
    if data is None:
        return image_upload(name, image_format="PNG")
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def inline_jobs(monkeypatch):
    """Run background tasks at once, in the request's thread and transaction."""

    def enqueue(task, **kwargs):
        module_name, _, name = task.rpartition(".")
        getattr(import_module(module_name), name)(**kwargs)

    monkeypatch.setattr("gongzhi.core.jobs.enqueue", enqueue)


def raise_case(world, text: str = "楼下路灯坏了", **extra) -> Case:
    return services.case_submit(actor=world["resident"], category=world["category"], text=text, **extra)


def act(account, case: Case, action: str, **data):
    return client_for(account).post(f"/cases/{case.pk}/act/", {"action": action, **data})


# ---------------------------------------------------------------- the resident


def test_resident_raises_a_request_with_a_photo_and_only_allowed_people_see_the_photo(world, media):
    resident = client_for(world["resident"])
    page = resident.get("/cases/new/").content.decode()
    assert 'accept="image/*"' in page and 'capture="environment"' in page and 'name="category"' in page
    response = resident.post(
        "/cases/new/",
        {"category": world["category"].pk, "text": "楼下路灯坏了", "where": "building", "photos": photo()},
    )
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/?new=1"
    assert case.place == world["building_a1"] and case.channel == CaseChannel.RESIDENT_APP
    stored = CasePhoto.objects.get(case=case)
    assert (media / stored.image.name).exists()
    detail = resident.get(response["Location"]).content.decode()
    assert "楼下路灯坏了" in detail and "第一网格" in detail and 'data-testid="trail"' in detail
    url = f"/cases/photos/{stored.pk}/"
    assert resident.get(url).status_code == 200
    assert client_for(world["grid_worker"]).get(url).status_code == 200
    assert client_for(world["other_resident"]).get(url).status_code == 404
    assert client_for(world["community_worker_b"]).get(url).status_code == 404
    assert Client().get(url).status_code == 302  # to the login page, never a public URL
    assert not str(stored.image.url).startswith(url)


def test_a_file_that_is_not_a_photo_is_refused_and_what_was_typed_is_kept(world, media):
    response = client_for(world["resident"]).post(
        "/cases/new/",
        {
            "category": world["category"].pk,
            "text": "楼道漏水",
            "where": "household",
            "photos": photo("evil.jpg", b"#!/bin/sh\necho hi\n", "image/jpeg"),
        },
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "楼道漏水" in page and 'data-testid="case-error"' in page
    assert not Case.objects.exists() and not CasePhoto.objects.exists()
    too_big = photo(data=PNG + b"\x00" * transitions.MAX_PHOTO_BYTES)
    response = client_for(world["resident"]).post(
        "/cases/new/", {"category": world["category"].pk, "text": "x", "where": "household", "photos": too_big}
    )
    assert response.status_code == 422 and not Case.objects.exists()


def test_missing_category_and_somewhere_else_without_words_keep_the_form(world):
    resident = client_for(world["resident"])
    response = resident.post("/cases/new/", {"text": "噪音扰民", "where": "household"})
    assert response.status_code == 422 and "噪音扰民" in response.content.decode()
    response = resident.post("/cases/new/", {"category": world["category"].pk, "text": "噪音", "where": "community"})
    assert response.status_code == 422 and 'id="err-location_text"' in response.content.decode()
    assert not Case.objects.exists()
    response = resident.post(
        "/cases/new/",
        {"category": world["category"].pk, "text": "噪音", "where": "community", "location_text": "东门广场"},
    )
    assert response.status_code == 302
    assert Case.objects.get().place == world["community_a"]


def test_staff_without_a_household_are_told_residents_raise_requests(world):
    response = client_for(world["grid_worker"]).get("/cases/new/")
    assert response.status_code == 403 and 'data-testid="not-resident"' in response.content.decode()


def test_anonymous_request_hides_the_name_from_handlers_but_the_resident_follows_it(world):
    case = raise_case(world, anonymous=True)
    page = client_for(world["grid_worker"]).get(f"/cases/{case.pk}/").content.decode()
    assert world["resident"].resident.name not in page
    mine = client_for(world["resident"]).get("/cases/mine/").content.decode()
    assert case.number in mine
    assert client_for(world["other_resident"]).get(f"/cases/{case.pk}/").status_code == 404


def test_resident_rates_and_withdraws_only_their_own(world):
    case = raise_case(world)
    services.case_accept(actor=world["grid_worker"], case=case)
    services.case_resolve(actor=world["grid_worker"], case=case, resolution="已更换灯泡")
    # The handler cannot rate for the resident: 403, nothing changes.
    assert_refused(CasesError.NOT_REPORTER, lambda: act(world["grid_worker"], case, "rate", rating="satisfied"))
    case.refresh_from_db()
    assert case.state == CaseState.RESOLVED and not case.satisfaction
    page = client_for(world["resident"]).get(f"/cases/{case.pk}/").content.decode()
    assert 'data-testid="rate-card"' in page and "已更换灯泡" in page
    assert_refused(CoreError.VALIDATION_FAILED, lambda: act(world["resident"], case, "rate", rating="bogus"))
    response = act(world["resident"], case, "rate", rating="basically_satisfied")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED and case.satisfaction == "basically_satisfied"

    other = raise_case(world, text="噪音")
    assert_refused(CoreError.NOT_FOUND, lambda: act(world["other_resident"], other, "withdraw"))
    assert act(world["resident"], other, "withdraw", reason="已自行解决").status_code == 302
    other.refresh_from_db()
    assert other.state == CaseState.WITHDRAWN


# ---------------------------------------------------------------- handlers


def test_queue_filters_sort_search_and_marks_overdue(world):
    lamp = raise_case(world, text="路灯不亮")
    noise = raise_case(world, text="夜间噪音")
    Case.objects.filter(pk=noise.pk).update(is_overdue=True, first_overdue_at=timezone.now())
    worker = client_for(world["grid_worker"])
    page = worker.get("/cases/queue/").content.decode()
    assert "路灯不亮" in page and "夜间噪音" in page and page.count('class="is-late"') == 1
    page = worker.get("/cases/queue/", {"overdue": "1"}).content.decode()
    assert "夜间噪音" in page and "路灯不亮" not in page
    page = worker.get("/cases/queue/", {"q": "路灯"}).content.decode()
    assert "路灯不亮" in page and "夜间噪音" not in page
    page = worker.get("/cases/queue/", {"q": str(lamp.pk), "sort": "oldest", "level": "grid"}).content.decode()
    assert "路灯不亮" in page
    page = worker.get("/cases/queue/", {"state": "closed"}).content.decode()
    assert 'data-testid="empty-queue"' in page
    # htmx asks for the results only.
    part = worker.get("/cases/queue/", {"q": "噪音"}, headers={"HX-Request": "true", "HX-Target": "case-results"})
    assert "<html" not in part.content.decode() and "夜间噪音" in part.content.decode()
    # Another grid's worker sees neither.
    assert "路灯不亮" not in client_for(world["grid_worker_a2"]).get("/cases/queue/").content.decode()
    # A building head (no handling) reads the requests of their area.
    response = client_for(world["building_head"]).get("/cases/")
    assert response.status_code == 302 and "scope=area" in response["Location"]
    assert "路灯不亮" in client_for(world["building_head"]).get(response["Location"]).content.decode()


def test_queue_query_count_is_pinned(world):
    raise_case(world)
    worker = client_for(world["grid_worker"])
    worker.get("/cases/queue/")
    with CaptureQueriesContext(connection) as few:
        worker.get("/cases/queue/")
    for number in range(6):
        raise_case(world, text=f"第{number}件")
    with CaptureQueriesContext(connection) as many:
        page = worker.get("/cases/queue/").content.decode()
    assert page.count('data-testid="queue-row"') == 7
    assert len(many) == len(few) <= 12


def test_grid_escalates_community_resolves_and_the_grid_can_no_longer_act(world, media):
    case = raise_case(world)
    assert act(world["grid_worker"], case, "accept").status_code == 302
    response = act(world["grid_worker"], case, "escalate", reason="")
    assert response.status_code == 422 and 'data-testid="case-error"' in response.content.decode()
    case.refresh_from_db()
    assert case.level == CaseLevel.GRID
    assert act(world["grid_worker"], case, "escalate", reason="超出网格权限").status_code == 302
    case.refresh_from_db()
    assert case.level == CaseLevel.COMMUNITY and case.handling_place == world["community_a"]
    events = CaseEvent.objects.filter(case=case).count()
    # Not at their level any more: the grid worker's action is refused and nothing is written.
    assert_refused(CoreError.NOT_FOUND, lambda: act(world["grid_worker"], case, "accept"))
    assert CaseEvent.objects.filter(case=case).count() == events
    community = world["community_worker"]
    page = client_for(community).get(f"/cases/{case.pk}/").content.decode()
    assert 'data-testid="act-accept"' in page and 'data-testid="act-summon"' not in page
    assert act(community, case, "accept").status_code == 302
    response = client_for(community).post(
        f"/cases/{case.pk}/act/", {"action": "resolve", "resolution": "已更换灯泡", "photos": photo("after.png")}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.RESOLVED and case.resolved_level == CaseLevel.COMMUNITY
    assert CasePhoto.objects.filter(case=case, event__kind="resolved").count() == 1
    # A state the machine forbids: resolving again.
    response = assert_refused(
        CasesError.INVALID_TRANSITION, lambda: act(community, case, "resolve", resolution="again")
    )
    assert response.status_code == 409


def test_reject_refer_summon_and_merge_from_the_page(world):
    first = raise_case(world, text="路灯坏了")
    second = raise_case(world, text="路灯又坏了")
    worker = world["grid_worker"]
    page = client_for(worker).get(f"/cases/{second.pk}/").content.decode()
    assert 'data-testid="duplicates"' in page and first.number in page
    assert act(worker, second, "merge", into=first.number).status_code == 302
    second.refresh_from_db()
    assert second.state == CaseState.DUPLICATE and second.duplicate_of == first
    third = raise_case(world, text="不是本社区的事")
    assert_refused(CoreError.VALIDATION_FAILED, lambda: act(worker, third, "reject", reason=""))
    assert act(worker, third, "reject", reason="属于物业合同纠纷").status_code == 302
    third.refresh_from_db()
    assert third.state == CaseState.REJECTED
    assert act(worker, first, "refer", reason="转第二网格", to_place=world["grid_a2"].pk).status_code == 302
    first.refresh_from_db()
    assert first.handling_place == world["grid_a2"]
    fourth = raise_case(world, text="需要部门")
    services.case_escalate(actor=worker, case=fourth, reason="上报")
    services.case_accept(actor=world["community_worker"], case=fourth)
    response = act(
        world["community_worker"],
        fourth,
        "summon",
        department=world["department"].pk,
        note="请来现场",
        respond_within_hours=8,
    )
    assert response.status_code == 302 and fourth.summonses.count() == 1
    assert_refused(CoreError.VALIDATION_FAILED, lambda: act(world["community_worker"], fourth, "nonsense"))


def test_building_head_logs_a_visit_whose_opinion_becomes_a_request(world):
    head = client_for(world["building_head"])
    page = head.get("/cases/visit/").content.decode()
    assert "1号楼 · 1单元 · 101" in page and f'value="{world["household_b1"].pk}"' not in page
    today = timezone.localdate().isoformat()
    response = head.post(
        "/cases/visit/",
        {"household": world["household_a1"].pk, "visited_on": today, "opinion": "楼道灯坏了", "outcome": "case"},
    )
    assert response.status_code == 422 and "楼道灯坏了" in response.content.decode()  # no category yet
    response = head.post(
        "/cases/visit/",
        {
            "household": world["household_a1"].pk,
            "visited_on": today,
            "opinion": "楼道灯坏了",
            "outcome": "case",
            "category": world["category"].pk,
        },
    )
    visit = HouseholdVisit.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/cases/{visit.became_case_id}/"
    assert visit.became_case.channel == CaseChannel.VISIT
    # A household outside their building: not found, nothing logged.
    response = head.post(
        "/cases/visit/", {"household": world["household_b1"].pk, "visited_on": today, "outcome": "none"}
    )
    assert response.status_code == 404 and HouseholdVisit.objects.count() == 1


def test_staff_enter_a_hotline_call_and_the_address_finds_the_building(world):
    staff = client_for(world["community_worker"])
    assert staff.get("/cases/hotline/").status_code == 200
    response = staff.post(
        "/cases/hotline/",
        {
            "under": world["community_a"].pk,
            "address": "和平社区1号楼门口",
            "category": world["category"].pk,
            "text": "路灯不亮",
            "external_ref": "GD-1",
            "reported_at": "2025-01-02T10:30",
            "contact_name": "王先生",
            "contact_phone": "13812345678",
        },
    )
    case = Case.objects.get()
    assert response.status_code == 302 and case.channel == CaseChannel.HOTLINE
    assert case.place == world["building_a1"] and case.external_ref == "GD-1"
    assert client_for(world["resident"]).get("/cases/hotline/").status_code == 404


def test_hotline_import_reports_bad_rows_by_row_and_column_and_imports_nothing(world, media, inline_jobs):
    staff = client_for(world["community_worker"])
    now = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    bad = hotline_workbook([["A1", now, "路灯", "路灯坏了", "和平社区1号楼"], ["A2", "昨天", "不存在", "", "和平社区"]])
    upload = SimpleUploadedFile("12345.xlsx", bad.read())
    response = staff.post("/cases/hotline/import/", {"place": world["community_a"].pk, "file": upload})
    progress = Progress.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/cases/hotline/import/{progress.pk}/"
    page = staff.get(response["Location"]).content.decode()
    assert page.count('data-testid="import-error-row"') == 3
    assert "来电时间" in page and "诉求类别" in page and "诉求内容" in page
    assert not Case.objects.exists()
    good = hotline_workbook(
        [["A1", now, "路灯", "路灯坏了", "和平社区1号楼"], ["A2", now, "照明", "路灯闪烁", "和平社区"]]
    )
    staff.post(
        "/cases/hotline/import/", {"place": world["community_a"].pk, "file": SimpleUploadedFile("b.xlsx", good.read())}
    )
    latest = Progress.objects.order_by("-pk").first()
    page = staff.get(f"/cases/hotline/import/{latest.pk}/").content.decode()
    assert 'data-testid="import-done"' in page and Case.objects.count() == 2
    # Someone else's import is not found; a non-importer cannot upload.
    assert client_for(world["grid_worker"]).get(f"/cases/hotline/import/{latest.pk}/").status_code == 404
    assert client_for(world["grid_worker"]).get("/cases/hotline/import/").status_code == 404
    response = staff.post(
        "/cases/hotline/import/", {"place": world["community_a"].pk, "file": SimpleUploadedFile("x.csv", b"a,b")}
    )
    assert response.status_code == 422


# ---------------------------------------------------------------- inbox and home


def test_inbox_badge_mark_read_and_open(world):
    case = raise_case(world)
    worker = client_for(world["grid_worker"])
    badge = worker.get("/cases/inbox/badge/").content.decode()
    assert 'data-unread="1"' in badge
    with CaptureQueriesContext(connection) as queries:
        worker.get("/cases/inbox/badge/")
    assert sum("cases_notification" in query["sql"] for query in queries.captured_queries) == 1
    page = worker.get("/cases/inbox/").content.decode()
    assert case.number in page
    note = Notification.objects.get(recipient=world["grid_worker"])
    response = worker.get(f"/cases/inbox/{note.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/"
    note.refresh_from_db()
    assert note.read_at is not None
    # Someone else's notification: not found, still unread.
    mine = Notification.objects.get(recipient=world["resident"])
    assert worker.get(f"/cases/inbox/{mine.pk}/").status_code == 404
    mine.refresh_from_db()
    assert mine.read_at is None
    assert client_for(world["resident"]).post("/cases/inbox/read/").status_code == 302
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert 'data-unread="0"' in client_for(world["resident"]).get("/cases/inbox/badge/").content.decode()


def test_home_card_and_navigation(world):
    raise_case(world)
    card = client_for(world["resident"]).get("/cases/card/").content.decode()
    assert 'data-testid="home-cases"' in card and "楼下路灯坏了" in card
    card = client_for(world["grid_worker"]).get("/cases/card/").content.decode()
    assert 'data-testid="home-queue-count">1<' in card
    for account in (world["resident"], world["grid_worker"], world["community_worker"]):
        page = client_for(account).get("/").content.decode()
        assert "/cases/card/" in page and "/cases/inbox/badge/" in page
        bar = page.split('class="bottombar"')[1].split("</nav>")[0]
        assert bar.count("<a ") <= 5 and "/cases/" in bar


def test_overdue_stands_out_on_the_request_page(world):
    case = raise_case(world)
    Case.objects.filter(pk=case.pk).update(accept_by=timezone.now() - timedelta(minutes=1))
    page = client_for(world["grid_worker"]).get(f"/cases/{case.pk}/").content.decode()
    assert 'data-testid="case-late"' in page


@pytest.mark.django_db
def test_demo_logins_each_see_real_requests():
    from gongzhi.cases.models import CalendarDay, Dispute
    from gongzhi.demo import load_demo
    from gongzhi.demo.steps_cases import is_loaded
    from gongzhi.people.models import Account

    load_demo(scale=0.05)
    assert is_loaded() and CalendarDay.objects.filter(kind="holiday").exists() and Dispute.objects.exists()
    assert Case.objects.filter(is_overdue=True).exists() and Case.objects.exclude(satisfaction="").exists()
    assert HouseholdVisit.objects.filter(became_case__isnull=False).exists()
    pages = {
        "resident": "/cases/mine/",
        "gridworker": "/cases/queue/",
        "buildinghead": "/cases/queue/?scope=area",
        "secretary": "/cases/queue/?state=all",
        "street": "/cases/queue/?scope=area",
    }
    for username, url in pages.items():
        page = client_for(Account.objects.get(username=username)).get(url).content.decode()
        assert 'data-testid="queue-row"' in page or 'data-testid="my-cases"' in page, username
    before = Case.objects.count()
    assert load_demo(scale=0.05) == {} and Case.objects.count() == before
