"""What people trying each role hit on the request pages (issue #15), through the real client: full request numbers
in the queue's search, names masked in the trail as in the header, building · entrance · room in lists, notices
naming requests by number and category, and the request form that checks every field at once and keeps the photo.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from gongzhi.cases import services
from gongzhi.cases.models import Case, CasePhoto, CaseState, Notification
from gongzhi.cases.notifications import send_notification_digests
from gongzhi.cases.selectors import QueueFilters, handler_queue, parse_case_number
from gongzhi.core.testing import image_upload

from .factories import local


def client_for(account) -> Client:
    client = Client()
    client.force_login(account)
    return client


def raise_case(world, text: str = "楼下路灯坏了", **extra) -> Case:
    return services.case_submit(actor=world["resident"], category=world["category"], text=text, **extra)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# ---------------------------------------------------------------- the queue's search


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-000332", (2026, 332)),
        (" 2026-332 ", (2026, 332)),
        ("#332", (None, 332)),
        ("000332", (None, 332)),
        ("2026－000332", (2026, 332)),
        ("路灯", None),
        ("2026-", None),
        ("0", None),
    ],
)
def test_request_numbers_are_read_as_people_quote_them(text, expected):
    assert parse_case_number(text) == expected


def test_the_full_number_from_the_notice_finds_the_request_in_the_queue(world):
    case = raise_case(world, now=local("2026-03-02 10:00"))
    other = raise_case(world, text="另一件", now=local("2026-03-02 11:00"))
    worker = client_for(world["grid_worker"])
    for query in (case.number, str(case.pk), f"{case.number[:4]}-{case.pk}"):
        page = worker.get("/cases/queue/", {"q": query}).content.decode()
        assert f"/cases/{case.pk}/" in page and f"/cases/{other.pk}/" not in page, query
        area = worker.get("/cases/queue/", {"q": query, "scope": "area"}).content.decode()
        assert f"/cases/{case.pk}/" in area and f"/cases/{other.pk}/" not in area, query
    # The right id with the wrong year is not this request.
    assert f"/cases/{case.pk}/" not in worker.get("/cases/queue/", {"q": f"2019-{case.pk:06d}"}).content.decode()
    found = list(handler_queue(world["grid_worker"], QueueFilters(search=case.number)))
    assert found == [case]


# ---------------------------------------------------------------- names in the trail


def test_the_trail_masks_the_residents_name_as_the_header_does(world):
    case = raise_case(world)
    services.case_accept(actor=world["grid_worker"], case=case)
    services.case_resolve(actor=world["grid_worker"], case=case, resolution="已更换灯泡")
    services.case_rate(actor=world["resident"], case=case, rating="satisfied")
    page = client_for(world["grid_worker"]).get(f"/cases/{case.pk}/").content.decode()
    assert "张*" in page and "张三" not in page
    assert page.count("· 张*") >= 2  # submitted and rated, by the resident
    # Staff are named; the resident reads their own request without names.
    assert world["grid_worker"].label in page
    own = client_for(world["resident"]).get(f"/cases/{case.pk}/").content.decode()
    assert "张三" not in own
    # An anonymous request shows "anonymous", never the name.
    hidden = raise_case(world, text="匿名的事", anonymous=True)
    page = client_for(world["grid_worker"]).get(f"/cases/{hidden.pk}/").content.decode()
    assert "张三" not in page and "张*" not in page


def test_the_api_trail_masks_the_name_too(world):
    case = raise_case(world)
    client = client_for(world["grid_worker"])
    body = client.get(f"/api/v1/cases/{case.pk}").json()
    assert "张三" not in str(body)
    assert any(line.get("actor") == "张*" for line in body["trail"])


# ---------------------------------------------------------------- building · entrance · room, notices


def test_lists_show_building_entrance_and_room(world):
    case = raise_case(world)
    services.case_submit(
        actor=world["community_worker"],
        category=world["category"],
        text="楼道堆物",
        place=world["household_a1b"],
        channel="hotline",
    )
    worker = client_for(world["grid_worker"])
    page = worker.get("/cases/queue/").content.decode()
    assert "1号楼 · 1单元 · 101" in page and "1号楼 · 1单元 · 102" in page
    detail = worker.get(f"/cases/{case.pk}/").content.decode()
    assert "1号楼 · 1单元 · 101" in detail


def test_the_queue_page_takes_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    for number in range(3):
        raise_case(world, text=f"灯{number}")
    worker = client_for(world["grid_worker"])
    worker.get("/cases/queue/")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        worker.get("/cases/queue/")
    for number in range(6):
        services.case_submit(
            actor=world["community_worker"],
            category=world["category"],
            text=f"更多{number}",
            place=world["household_a1b"],
            channel="hotline",
        )
    with CaptureQueriesContext(connection) as more:
        worker.get("/cases/queue/")
    assert len(more) == len(few)


def test_notices_name_the_request_by_number_and_category(world, mailoutbox):
    case = raise_case(world, text="楼下路灯整夜不亮，已经三天了")
    worker = client_for(world["grid_worker"])
    page = worker.get("/cases/inbox/").content.decode()
    assert f"{case.number} · 路灯 · 楼下路灯整夜不亮" in page
    assert case.title == f"{case.number} · 路灯 · 楼下路灯整夜不亮，已经三天了"
    long = raise_case(world, text="很长" * 30)
    assert long.title.endswith("…") and len(long.title) < 60
    world["grid_worker"].email = "grid@example.org"
    world["grid_worker"].save(update_fields=["email"])
    send_notification_digests(now=timezone.now() + timedelta(minutes=1))
    body = next(mail.body for mail in mailoutbox if "grid@example.org" in mail.to)
    assert f"[{case.number} · 路灯 · 楼下路灯整夜不亮" in body
    assert Notification.objects.filter(recipient=world["grid_worker"], case=case).exists()


# ---------------------------------------------------------------- the request form: every error at once, the photo kept


def test_the_form_reports_every_error_at_once_and_keeps_the_photo(world, media):
    resident = client_for(world["resident"])
    response = resident.post(
        "/cases/new/", {"text": "", "where": "community", "photos": image_upload("lamp.png", image_format="PNG")}
    )
    assert response.status_code == 422
    assert set(response.context["errors"]) == {"category", "text", "location_text"}
    page = response.content.decode()
    for field in ("category", "text", "location_text"):
        assert f'id="err-{field}"' in page
    held = response.context["held"]
    assert held is not None and held.names == ("lamp.png",) and f'value="{held.token}"' in page
    assert 'data-testid="held-photos"' in page and not Case.objects.exists() and not CasePhoto.objects.exists()
    # The next try sends no file: the photo kept is sent with the request, then released.
    response = resident.post(
        "/cases/new/",
        {"category": world["category"].pk, "text": "路灯不亮", "where": "community", "held": held.token},
    )
    assert response.status_code == 422 and list(response.context["errors"]) == ["location_text"]
    held = response.context["held"]
    assert held.names == ("lamp.png",)
    response = resident.post(
        "/cases/new/",
        {
            "category": world["category"].pk,
            "text": "路灯不亮",
            "where": "community",
            "location_text": "东门",
            "held": held.token,
        },
    )
    assert response.status_code == 302
    case = Case.objects.get()
    photo = CasePhoto.objects.get(case=case)
    assert photo.image.name.endswith(".png") and (media / photo.image.name).exists()
    assert not list((media / "cases" / "held" / str(world["resident"].pk) / held.token).glob("*"))


def test_kept_photos_belong_to_their_account_and_can_be_dropped(world, media):
    resident = client_for(world["resident"])
    response = resident.post("/cases/new/", {"text": "x", "where": "household", "photos": image_upload("a.jpg")})
    token = response.context["held"].token
    # Another resident cannot use the token: nothing is attached to their request.
    other = client_for(world["other_resident"])
    response = other.post(
        "/cases/new/", {"category": world["category"].pk, "text": "别人的", "where": "household", "held": token}
    )
    assert response.status_code == 302 and not CasePhoto.objects.exists()
    # Dropped on purpose: the request goes without it.
    response = resident.post(
        "/cases/new/",
        {"category": world["category"].pk, "text": "不要照片", "where": "household", "held": token, "drop_held": "1"},
    )
    assert response.status_code == 302 and not CasePhoto.objects.exists()
    assert Case.objects.filter(state=CaseState.SUBMITTED).count() == 2


def test_a_bad_new_file_does_not_lose_the_photo_already_kept(world, media):
    from django.core.files.uploadedfile import SimpleUploadedFile

    resident = client_for(world["resident"])
    response = resident.post("/cases/new/", {"text": "", "where": "household", "photos": image_upload("good.jpg")})
    token = response.context["held"].token
    bad = SimpleUploadedFile("bad.jpg", b"not a picture", content_type="image/jpeg")
    response = resident.post(
        "/cases/new/",
        {"category": world["category"].pk, "text": "灯", "where": "household", "held": token, "photos": bad},
    )
    assert response.status_code == 422 and list(response.context["errors"]) == ["photos"]
    assert response.context["held"].names == ("good.jpg",)
    assert not Case.objects.exists()


def test_the_daily_sweep_removes_only_holds_older_than_a_day(world, media):
    from gongzhi.cases.held_photos import held, held_photos_sweep, hold

    fresh = hold(world["resident"], [image_upload("fresh.jpg")])
    stale = hold(world["resident"], [image_upload("stale.jpg")])
    assert fresh is not None and stale is not None
    # The sweep compares with the files' own times (the file system's clock, not the test's): start from them.
    from django.core.files.storage import default_storage

    folder = f"cases/held/{world['resident'].pk}"
    now = max(
        default_storage.get_modified_time(f"{folder}/{held_token}/{name}")
        for held_token in (fresh.token, stale.token)
        for name in default_storage.listdir(f"{folder}/{held_token}")[1]
    )
    assert held_photos_sweep(now=now) == {"holds_removed": 0}
    assert held(world["resident"], stale.token) is not None
    # A day and a minute later both are stale; the sweep is idempotent.
    assert held_photos_sweep(now=now + timedelta(days=1, minutes=1)) == {"holds_removed": 2}
    assert held(world["resident"], fresh.token) is None and held(world["resident"], stale.token) is None
    assert not list((media / "cases" / "held").rglob("*.jpg"))
    assert held_photos_sweep(now=now + timedelta(days=1, minutes=2)) == {"holds_removed": 0}
