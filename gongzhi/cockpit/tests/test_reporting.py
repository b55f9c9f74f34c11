"""Work reports written in the background: asking (page and API), idempotency while a run waits, progress polled
by the page, the PDF and the .docx read back with the hand-counted figures, the staff's own .docx template, the
access rule on the run and its file, failures, and the audit trail of generation and downloads."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from gongzhi.core import kpi_catalogue
from gongzhi.core.errors import CoreError
from gongzhi.core.models import AuditEntry
from gongzhi.core.testing import assert_refused

from .. import reporting
from ..models import ReportRun, ReportState
from .conftest import MARCH


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _client(account):
    client = Client()
    client.force_login(account)
    return client


def _ask(client, place, fmt="pdf", period=MARCH.key):
    return client.post(f"/cockpit/{place.pk}/reports/", {"format": fmt, "period": period})


def _pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return re.sub(r"\s+", "", text)  # lines wrap anywhere in Chinese text


def test_a_pdf_report_is_asked_for_written_in_the_background_and_downloaded(world, inline_jobs):
    client = _client(world["community_worker"])
    response = _ask(client, world["community_a"])
    run = ReportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/cockpit/reports/{run.pk}/"
    assert [task for task, _kwargs in inline_jobs] == [reporting.TASK]
    assert (run.state, run.progress, run.format, run.period_key) == (ReportState.DONE, 100, "pdf", "2031-03")
    page = client.get(response["Location"]).content.decode()
    assert 'data-state="done"' in page and "hx-get" not in page  # finished: polling stops
    assert f'href="/cockpit/reports/{run.pk}/file"' in page
    download = client.get(f"/cockpit/reports/{run.pk}/file")
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert f"report-{world['community_a'].pk}-2031-03.pdf" in download["Content-Disposition"]
    text = _pdf_text(b"".join(download.streaming_content))
    assert "和平社区" in text and "2031-03-01" in text
    for heading in (
        "一、组织建设",
        "二、红色积分",
        "三、为民服务",
        "四、民呼我应与矛盾纠纷",
        "五、协商议事",
        "六、共建共治",
    ):
        assert heading in text
    # The hand counts of conftest.py, a rate always with its numerator and denominator.
    assert "按时办结率66.7%（2/3）" in text
    assert "发放的积分8" in text
    actions = list(AuditEntry.objects.filter(object_type="cockpit.reportrun").values_list("action", flat=True))
    assert sorted(actions) == ["cockpit.report_download", "cockpit.report_generate", "cockpit.report_request"]


def test_the_pdf_shows_a_dash_where_nothing_is_rated(world, inline_jobs):
    _ask(_client(world["district_admin"]), world["community_b"])
    run = ReportRun.objects.get()
    with run.file.open("rb") as handle:
        text = _pdf_text(handle.read())
    assert "按时办结率—（0/0）" in text
    assert not re.search(r"\d%（0/0）", text)


def test_the_page_polls_the_progress_until_the_run_is_done(world, held_jobs):
    client = _client(world["community_worker"])
    location = _ask(client, world["community_a"], fmt="docx")["Location"]
    run = ReportRun.objects.get()
    page = client.get(location).content.decode()
    assert 'data-state="queued"' in page
    assert f'hx-get="/cockpit/reports/{run.pk}/?fragment=1"' in page and 'hx-trigger="every 1s"' in page
    assert "<script" not in page.split('id="report-status"')[1]  # no inline script (CSP)
    seen = []
    original = kpi_catalogue.compute_group

    def watching(group, place, period):
        seen.append(ReportRun.objects.get(pk=run.pk).progress)
        return original(group, place, period)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kpi_catalogue, "compute_group", watching)
        reporting.report_run_execute(run_id=run.pk)
    assert seen == sorted(seen) and seen[0] >= 1 and seen[-1] < 100 and len(set(seen)) > 3
    fragment = client.get(location, {"fragment": "1"}).content.decode()
    assert fragment.startswith('<div id="report-status"') and 'data-state="done"' in fragment
    assert 'data-testid="report-download"' in fragment
    reporting.report_run_execute(run_id=run.pk)  # a second delivery of the task writes nothing twice
    assert AuditEntry.objects.filter(action="cockpit.report_generate").count() == 1


def test_asking_twice_while_it_runs_returns_the_same_run(world, held_jobs):
    client = _client(world["community_worker"])
    first = _ask(client, world["community_a"])["Location"]
    assert _ask(client, world["community_a"])["Location"] == first
    assert ReportRun.objects.count() == 1 and len(held_jobs) == 1
    _ask(client, world["community_a"], fmt="docx")  # another format is another report
    assert ReportRun.objects.count() == 2


def test_a_stalled_run_gives_way_to_a_new_one(world, held_jobs):
    now = timezone.now()
    stalled = reporting.report_run_request(
        actor=world["community_worker"], place=world["community_a"], period=MARCH, format="pdf", now=now
    )
    fresh = reporting.report_run_request(
        actor=world["community_worker"],
        place=world["community_a"],
        period=MARCH,
        format="pdf",
        now=now + reporting.STALLED_AFTER + timedelta(minutes=1),
    )
    stalled.refresh_from_db()
    assert fresh.pk != stalled.pk and stalled.state == ReportState.FAILED and stalled.error


def test_a_report_that_cannot_be_written_fails_with_a_message(world, inline_jobs, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(reporting, "render_report", broken)
    client = _client(world["community_worker"])
    location = _ask(client, world["community_a"])["Location"]
    run = ReportRun.objects.get()
    assert run.state == ReportState.FAILED and "disk full" not in run.error
    assert 'data-testid="report-failed"' in client.get(location).content.decode()
    assert client.get(f"/cockpit/reports/{run.pk}/file").status_code == 404


def test_the_run_and_its_file_follow_the_access_rule(world, inline_jobs):
    _ask(_client(world["street_admin"]), world["street"])
    run = ReportRun.objects.get()
    # Another report generator who reaches the place may fetch it; one who does not gets the same NotFound as for
    # a run that does not exist; a grid worker generates no reports at all.
    assert _client(world["district_admin"]).get(f"/cockpit/reports/{run.pk}/file").status_code == 200
    for account in (world["community_worker"], world["grid_worker"]):
        for path in (f"/cockpit/reports/{run.pk}/", f"/cockpit/reports/{run.pk}/file"):
            assert_refused(CoreError.NOT_FOUND, lambda a=account, p=path: _client(a).get(p), status=404)
    assert_refused(CoreError.NOT_FOUND, lambda: _client(world["district_admin"]).get("/cockpit/reports/999999/"))
    assert_refused(CoreError.NOT_FOUND, lambda: _ask(_client(world["community_worker"]), world["street"]), status=404)
    assert_refused(CoreError.NOT_FOUND, lambda: _ask(_client(world["grid_worker"]), world["grid_a1"]), status=404)


def test_bad_format_or_period_is_refused_and_writes_nothing(world, held_jobs):
    client = _client(world["community_worker"])
    assert_refused(CoreError.VALIDATION_FAILED, lambda: _ask(client, world["community_a"], fmt="exe"))
    assert_refused(CoreError.VALIDATION_FAILED, lambda: _ask(client, world["community_a"], period="2031-13"))
    assert held_jobs == []


# ---------------------------------------------------------------- the API


def test_the_api_starts_a_report_reports_its_state_and_serves_the_file(world, held_jobs, api_client_for):
    api = api_client_for(world["community_worker"])
    ask = {"place": world["community_a"].pk, "period": "2031-03", "format": "pdf"}
    response = api.post("/api/v1/kpis/reports", ask)
    assert response.status_code == 202
    body = response.json()
    assert (body["state"], body["progress"], body["file_url"]) == ("queued", 0, None)
    again = api.post("/api/v1/kpis/reports", ask)
    assert again.json()["id"] == body["id"]
    reporting.report_run_execute(run_id=body["id"])
    status = api.get(f"/api/v1/kpis/reports/{body['id']}").json()
    assert (status["state"], status["progress"]) == ("done", 100)
    assert status["file_url"] == f"/api/v1/kpis/reports/{body['id']}/file"
    download = api.get(status["file_url"])
    assert download.status_code == 200
    assert "按时办结率66.7%（2/3）" in _pdf_text(b"".join(download.streaming_content))
    assert AuditEntry.objects.filter(action="cockpit.report_download", channel="api").count() == 1


def test_the_api_refuses_what_the_page_refuses(world, held_jobs, api_client_for):
    api = api_client_for(world["community_worker"])
    wrong = api.post("/api/v1/kpis/reports", {"place": world["community_a"].pk, "format": "exe"})
    assert wrong.status_code == 422 and "format" in wrong.json()["fields"]
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: api.post("/api/v1/kpis/reports", {"place": world["street"].pk, "format": "pdf"}),
    )
    run = reporting.report_run_request(
        actor=world["street_admin"], place=world["street"], period=MARCH, format="pdf", now=timezone.now()
    )
    assert_refused(CoreError.NOT_FOUND, lambda: api.get(f"/api/v1/kpis/reports/{run.pk}"))
    own = reporting.report_run_request(
        actor=world["community_worker"], place=world["community_a"], period=MARCH, format="pdf", now=timezone.now()
    )
    assert_refused(CoreError.NOT_FOUND, lambda: api.get(f"/api/v1/kpis/reports/{own.pk}/file"))  # not written yet


# ---------------------------------------------------------------- the .docx from the staff's template


def test_the_docx_comes_from_a_template_staff_can_replace(world, inline_jobs, settings, tmp_path):
    from docx import Document

    template = Document()
    template.add_paragraph("东城区社区治理工作简报")
    template.add_paragraph("报送单位：{{ place }}（{{ first }} 至 {{ last }}）")
    template.add_paragraph("{{ report }}")
    template.add_paragraph("（完）")
    path = tmp_path / "letterhead.docx"
    template.save(path)
    settings.GONGZHI_REPORT_TEMPLATE = str(path)
    _ask(_client(world["community_worker"]), world["community_a"], fmt="docx")
    run = ReportRun.objects.get()
    with run.file.open("rb") as handle:
        document = Document(io.BytesIO(handle.read()))
    texts = [paragraph.text for paragraph in document.paragraphs]
    assert texts[0] == "东城区社区治理工作简报"
    assert texts[1] == "报送单位：和平社区（2031-03-01 至 2031-03-31）"
    assert texts[-1] == "（完）" and "{{ report }}" not in texts
    assert texts.index("一、组织建设") < texts.index("六、共建共治") < len(texts) - 1
    assert "按时办结率66.7%（2/3）" in "\n".join(texts)


def test_the_shipped_template_fills_the_header_with_the_place(world, inline_jobs):
    from docx import Document

    _ask(_client(world["community_worker"]), world["community_a"], fmt="docx")
    with ReportRun.objects.get().file.open("rb") as handle:
        document = Document(io.BytesIO(handle.read()))
    assert document.sections[0].header.paragraphs[0].text == "和平社区 · 2031-03"
    assert "{{" not in "\n".join(paragraph.text for paragraph in document.paragraphs)
