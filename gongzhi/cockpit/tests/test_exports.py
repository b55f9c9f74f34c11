"""The ledger workbook of the whole cockpit: a sheet per domain, every figure with its definition, rates with
numerator and denominator, "—" where nothing is rated, figures only (no personal data), for report generators."""

from __future__ import annotations

import io
import re

from django.test import Client
from openpyxl import load_workbook

from gongzhi.core import kpi_catalogue
from gongzhi.core.errors import CoreError
from gongzhi.core.testing import assert_refused

from .conftest import MARCH


def _workbook(world, account, place, **query):
    client = Client()
    client.force_login(account)
    return client.get(f"/cockpit/{place.pk}/workbook.xlsx", {"period": MARCH.key, **query})


def test_a_sheet_per_domain_each_figure_with_its_definition(world):
    response = _workbook(world, world["street_admin"], world["street"])
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert f"cockpit-{world['street'].pk}-2031-03.xlsx" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    names = workbook.sheetnames
    assert names[0] == "概览"
    domains = [str(domain.name) for domain in kpi_catalogue.domains()]
    assert len(names) == 1 + len(domains)
    overview = [[cell for cell in row] for row in workbook["概览"].iter_rows(values_only=True)]
    assert list(overview[1][:2]) == ["地点", "东街道"]
    rows = {row[0]: row for sheet in workbook.worksheets[1:] for row in sheet.iter_rows(values_only=True) if row[0]}
    for key, (_group, figure) in kpi_catalogue.figures().items():
        assert key in rows, key
        assert rows[key][1] == str(figure.name) and rows[key][6].startswith(str(figure.definition))
    on_time = rows["cases.cases.on_time"]
    assert on_time[2:5] == (66.7, 2, 3) and "分子" in on_time[6]
    assert rows["points.ledger.issued"][2] == 8


def test_nothing_to_rate_is_a_dash_and_nothing_personal_is_in_it(world):
    response = _workbook(world, world["district_admin"], world["community_b"])
    workbook = load_workbook(io.BytesIO(response.content))
    rows = {row[0]: row for sheet in workbook.worksheets[1:] for row in sheet.iter_rows(values_only=True) if row[0]}
    assert rows["cases.cases.on_time"][2:5] == ("—", 0, 0)
    everything = " ".join(
        str(cell) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for cell in row if cell
    )
    for personal in ("赵六", "钱七", "张三", "李四", world["resident"].username):
        assert personal not in everything


def test_only_report_generators_within_reach_get_it(world):
    assert_refused(CoreError.NOT_FOUND, lambda: _workbook(world, world["grid_worker"], world["grid_a1"]), status=404)
    assert_refused(
        CoreError.NOT_FOUND, lambda: _workbook(world, world["community_worker"], world["community_b"]), status=404
    )
    assert _workbook(world, world["community_worker"], world["community_a"]).status_code == 200


# ---------------------------------------------------------------- the work report (.docx)


def _report(account, place, **query):
    client = Client()
    client.force_login(account)
    return client.get(f"/cockpit/{place.pk}/report.docx", {"period": MARCH.key, **query})


def test_the_work_report_opens_and_holds_the_figures_in_the_seeds_sections(world):
    from docx import Document

    response = _report(world["community_worker"], world["community_a"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    document = Document(io.BytesIO(response.content))
    text = "\n".join(paragraph.text for paragraph in document.paragraphs)
    assert "和平社区" in text and "2031-03-01" in text
    headings = [paragraph.text for paragraph in document.paragraphs if paragraph.style.name.startswith("Heading")]
    assert headings[:6] == [
        "一、组织建设",
        "二、红色积分",
        "三、为民服务",
        "四、民呼我应与矛盾纠纷",
        "五、协商议事",
        "六、共建共治",
    ]
    # A rate is always written with its numerator and denominator; the figures are the catalogue's.
    assert "按时办结率66.7%（2/3）" in text
    assert "发放的积分8" in text
    assert len(document.tables) == sum(len(domain.groups) for domain in kpi_catalogue.domains())
    rows = {
        table.rows[index].cells[0].text: table.rows[index]
        for table in document.tables
        for index in range(1, len(table.rows))
    }
    on_time = rows["按时办结率"].cells
    assert (on_time[1].text, on_time[2].text, on_time[3].text) == ("66.7%", "100.0%", "2/3")
    assert on_time[4].text.startswith("统计期内办结且从未超时")


def test_the_report_shows_dashes_for_empty_rates_and_fills_every_section(world):
    from docx import Document

    document = Document(io.BytesIO(_report(world["district_admin"], world["community_b"]).content))
    text = "\n".join(paragraph.text for paragraph in document.paragraphs)
    assert "按时办结率—（0/0）" in text
    # A rate of nothing is "—", never a percentage; a true zero (0 of 1) may well show as 0.0 %.
    assert not re.search(r"\d%（0/0）", text)
    registered = {domain.key for domain in kpi_catalogue.domains()}
    assert {"volunteering", "deliberation", "cobuilding"} <= registered
    assert "平台尚未统计本部分指标" not in text


def test_only_report_generators_within_reach_get_the_report(world):
    assert_refused(CoreError.NOT_FOUND, lambda: _report(world["grid_worker"], world["grid_a1"]), status=404)
    assert_refused(CoreError.NOT_FOUND, lambda: _report(world["community_worker"], world["street"]), status=404)
