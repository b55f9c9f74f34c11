"""Roster pages through the real client: template download, upload → progress → report, refusals and access."""

from __future__ import annotations

import io
from importlib import import_module

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from gongzhi.core.models import AuditEntry, Progress
from gongzhi.core.roles import Role
from gongzhi.core.testing import assert_refused
from gongzhi.people.models import Resident
from gongzhi.people.tests.factories import PASSWORD, account_with_role
from gongzhi.people.tests.roster_data import id_number, roster_bytes
from gongzhi.places.models import Place

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def inline_jobs(monkeypatch):
    """Run background tasks at once, in the request's thread (and database transaction)."""
    calls = []

    def enqueue(task, **kwargs):
        calls.append((task, kwargs))
        module_name, _, name = task.rpartition(".")
        getattr(import_module(module_name), name)(**kwargs)

    monkeypatch.setattr("gongzhi.core.jobs.enqueue", enqueue)
    return calls


@pytest.fixture
def held_jobs(monkeypatch):
    """Accept background tasks but never run them (the import stays waiting)."""
    calls = []
    monkeypatch.setattr("gongzhi.core.jobs.enqueue", lambda task, **kwargs: calls.append((task, kwargs)))
    return calls


@pytest.fixture
def worker_client(client, worker):
    assert client.login(username="worker_a", password=PASSWORD)
    return client


def upload(client, community, data, name="roster.xlsx", **extra):
    return client.post(
        "/roster/", {"community": community.pk, "file": SimpleUploadedFile(name, data, content_type=XLSX)}, **extra
    )


ROWS = [
    {"grid": "第一网格", "building": "1号楼", "entrance": "1单元", "household": "101", "name": "赵一"},
    {"grid": "第二网格", "building": "6号楼", "entrance": "1单元", "household": "601", "name": "钱二"},
    {"grid": "第二网格", "building": "6号楼", "entrance": "1单元", "household": "601", "name": "钱三", "phone": "1"},
]


def test_template_download_is_a_valid_workbook(worker_client):
    response = worker_client.get("/roster/template.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook["花名册"]
    headers = [cell.value for cell in sheet[1]]
    assert headers[:5] == ["网格", "小区", "楼栋", "单元", "户号"] and "身份证号" in headers
    assert sheet.max_row >= 2  # the example row
    lists = {validation.formula1 for validation in sheet.data_validations.dataValidation}
    assert '"男,女"' in lists and any("户主" in formula for formula in lists)
    assert sheet.column_dimensions["J"].width > 15
    assert "填写说明" in workbook.sheetnames


def test_index_lists_the_community_and_empty_imports(worker_client, tree):
    response = worker_client.get("/roster/")
    assert response.status_code == 200
    body = response.content.decode()
    assert f'value="{tree["community_a"].pk}"' in body
    assert f'value="{tree["community_b"].pk}"' not in body
    assert 'href="/roster/template.xlsx"' in body


def test_upload_then_progress_then_report(worker_client, worker, tree, inline_jobs, media):
    good = [dict(row) for row in ROWS]
    good[2]["phone"] = "13900000003"
    response = upload(worker_client, tree["community_a"], roster_bytes(good))

    progress = Progress.objects.get(owner=worker, kind="roster_import")
    assert response.status_code == 302 and response["Location"] == f"/roster/{progress.pk}/"
    assert inline_jobs[0][0] == "gongzhi.core.imports.run_import"
    assert inline_jobs[0][1]["runner"] == "gongzhi.people.roster.roster_import_runner"
    assert progress.status == Progress.Status.SUCCEEDED and progress.percent == 100
    assert progress.result["created"]["resident"] == 3
    assert Resident.objects.filter(name__in=["赵一", "钱二", "钱三"]).count() == 3
    assert list(media.joinpath("imports").rglob("*.*")) == []  # the upload is not kept
    assert AuditEntry.objects.filter(action="roster.import", channel="web").count() == 1

    page = worker_client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-status="succeeded"' in body and "hx-trigger" not in body
    assert 'data-testid="roster-created"' in body

    fragment = worker_client.get(response["Location"], headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.content.decode() and 'id="roster-status"' in fragment.content.decode()

    listing = worker_client.get("/roster/").content.decode()
    assert f'href="/roster/{progress.pk}/"' in listing and "roster.xlsx" in listing


def test_progress_page_polls_while_the_import_runs(worker_client, worker, tree, held_jobs):
    upload(worker_client, tree["community_a"], roster_bytes(ROWS))
    progress = Progress.objects.get(owner=worker)
    assert progress.status == Progress.Status.PENDING
    Progress.objects.filter(pk=progress.pk).update(status="running", message="checking", done=1, total=4)

    fragment = worker_client.get(f"/roster/{progress.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 1s"' in fragment
    assert f'hx-get="/roster/{progress.pk}/"' in fragment
    assert 'value="25"' in fragment and "25%" in fragment


def test_bad_rows_are_shown_with_an_error_report(worker_client, worker, tree, inline_jobs):
    before = (Place.objects.count(), Resident.objects.count(), AuditEntry.objects.count())
    rows = [*ROWS, {"grid": "不存在", "building": "1号楼", "entrance": "1单元", "household": "1", "name": "孙四"}]
    response = upload(worker_client, tree["community_a"], roster_bytes(rows))

    progress = Progress.objects.get(owner=worker)
    assert progress.status == Progress.Status.FAILED
    assert (Place.objects.count(), Resident.objects.count(), AuditEntry.objects.count()) == before
    assert [tuple(error[:2]) for error in progress.result["errors"]] == [(4, "联系电话"), (5, "网格")]

    body = worker_client.get(response["Location"]).content.decode()
    assert 'data-testid="roster-errors"' in body and "联系电话" in body and "网格" in body
    assert f'href="/roster/{progress.pk}/errors.xlsx"' in body

    report = worker_client.get(f"/roster/{progress.pk}/errors.xlsx")
    assert report.status_code == 200 and report["Content-Type"] == XLSX
    sheet = load_workbook(io.BytesIO(report.content)).active
    rows_in_report = [tuple(row[:2]) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert rows_in_report == [(4, "联系电话"), (5, "网格")]


@pytest.mark.parametrize(
    ("data", "name"),
    [(b"this is not excel", "roster.xlsx"), (b"a,b\n1,2\n", "roster.csv"), (roster_bytes([], headers=["x"]), "r.xlsx")],
    ids=["garbage", "csv", "wrong-headers"],
)
def test_bad_upload_shows_a_clear_error_and_keeps_the_page(worker_client, tree, held_jobs, media, data, name):
    response = upload(worker_client, tree["community_a"], data, name=name)
    assert response.status_code == 422
    body = response.content.decode()
    assert 'data-testid="roster-error"' in body
    assert 'data-testid="roster-form"' in body and f'value="{tree["community_a"].pk}" selected' in body
    assert Progress.objects.count() == 0 and held_jobs == []
    assert not media.joinpath("imports").exists() or list(media.joinpath("imports").iterdir()) == []


def test_missing_file_or_community_is_a_form_error(worker_client, tree, held_jobs):
    assert worker_client.post("/roster/", {"community": tree["community_a"].pk}).status_code == 422
    response = worker_client.post("/roster/", {"file": SimpleUploadedFile("r.xlsx", roster_bytes(ROWS))})
    assert response.status_code == 422
    assert Progress.objects.count() == 0


def test_community_out_of_reach_is_not_found(worker_client, tree, held_jobs):
    before = (Place.objects.count(), Resident.objects.count())
    assert_refused("not_found", lambda: upload(worker_client, tree["community_b"], roster_bytes(ROWS)), status=404)
    assert_refused("not_found", lambda: upload(worker_client, tree["grid_a1"], roster_bytes(ROWS)), status=404)
    assert Progress.objects.count() == 0 and held_jobs == []
    assert (Place.objects.count(), Resident.objects.count()) == before


def test_grid_worker_cannot_import(client, tree, grid_worker_a1, held_jobs):
    assert client.login(username="grid_a1", password=PASSWORD)
    assert client.get("/roster/").status_code == 404
    assert client.get("/roster/template.xlsx").status_code == 404
    assert_refused("not_found", lambda: upload(client, tree["community_a"], roster_bytes(ROWS)), status=404)
    assert Progress.objects.count() == 0 and held_jobs == []


def test_only_the_owner_sees_an_import(client, worker_client, worker, tree, inline_jobs):
    upload(worker_client, tree["community_a"], roster_bytes([*ROWS[:2], {**ROWS[2], "phone": "x"}]))
    progress = Progress.objects.get(owner=worker)
    account_with_role(Role.COMMUNITY_WORKER, tree["community_a"], username="colleague")
    client.logout()
    assert client.login(username="colleague", password=PASSWORD)
    assert client.get(f"/roster/{progress.pk}/").status_code == 404
    assert client.get(f"/roster/{progress.pk}/errors.xlsx").status_code == 404
    assert f"/roster/{progress.pk}/" not in client.get("/roster/").content.decode()


def test_anonymous_is_sent_to_login(client):
    response = client.get("/roster/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_roles_revoked_before_the_task_runs_import_nothing(worker_client, worker, tree, held_jobs):
    upload(worker_client, tree["community_a"], roster_bytes([{**ROWS[0], "id_card_number": id_number(3)}]))
    task, kwargs = held_jobs[0]
    worker.role_assignments.all().delete()
    module_name, _, name = task.rpartition(".")
    getattr(import_module(module_name), name)(**kwargs)
    progress = Progress.objects.get(owner=worker)
    assert progress.status == Progress.Status.FAILED and progress.result["refused"]
    assert not Resident.objects.filter(name="赵一").exists()
