"""Hotline import: all-or-nothing with a row-level report; the same work order twice changes nothing."""

from __future__ import annotations

from gongzhi.cases.errors import CasesError
from gongzhi.cases.hotline import hotline_import
from gongzhi.cases.models import Case, CaseChannel, CaseLevel
from gongzhi.core.errors import CoreError
from gongzhi.core.models import AuditEntry
from gongzhi.core.testing import assert_refused

from .factories import hotline_workbook, local

NOW = local("2026-11-16 09:00")


def good_rows():
    return [
        ["GD001", "2026-11-15 20:15", "路灯损坏", "路灯不亮", "东街道和平社区1号楼", "王先生", "13800001111"],
        ["GD002", local("2026-11-16 08:30").replace(tzinfo=None), "路灯", "小区门口路灯闪烁", "幸福社区", "", ""],
    ]


def test_import_creates_cases_at_the_matching_place(world):
    report = hotline_import(
        actor=world["street_admin"],
        place=world["street"],
        file_obj=hotline_workbook(good_rows()),
        filename="12345.xlsx",
        now=NOW,
    )
    assert report.ok and (report.created, report.unchanged) == (2, 0)
    first, second = Case.objects.order_by("external_ref")
    assert first.channel == CaseChannel.HOTLINE and first.external_ref == "GD001"
    assert first.place == world["building_a1"]  # 和平社区 → 1号楼 (under grid A1)
    assert (first.level, first.handling_place) == (CaseLevel.GRID, world["grid_a1"])
    assert first.reported_at == local("2026-11-15 20:15") and first.submitted_at == NOW
    assert second.place == world["community_b"] and second.level == CaseLevel.COMMUNITY  # no grid above a community
    assert first.contact_phone == "13800001111" and first.recorded_by == world["street_admin"]


def test_reimport_changes_nothing(world):
    arguments = {"actor": world["street_admin"], "place": world["street"], "filename": "12345.xlsx", "now": NOW}
    hotline_import(file_obj=hotline_workbook(good_rows()), **arguments)
    audits = AuditEntry.objects.count()
    report = hotline_import(file_obj=hotline_workbook(good_rows()), **arguments)
    assert report.ok and (report.created, report.unchanged) == (0, 2)
    assert Case.objects.count() == 2 and AuditEntry.objects.count() == audits


def test_bad_rows_are_reported_and_nothing_is_imported(world):
    rows = [
        *good_rows(),
        ["", "2026-11-15 20:15", "路灯", "内容", "", "", ""],
        ["GD001", "2026-11-15 20:15", "路灯", "内容", "", "", ""],
        ["GD004", "昨天", "路灯", "内容", "", "", ""],
        ["GD005", "2026-11-15 20:15", "不存在的类别", "内容", "", "", ""],
        ["GD006", "2026-11-15 20:15", "路灯", "", "", "", "abc"],
        ["GD007", "2027-01-01 10:00", "路灯", "内容", "", "", ""],
    ]
    report = hotline_import(
        actor=world["street_admin"],
        place=world["street"],
        file_obj=hotline_workbook(rows),
        filename="12345.xlsx",
        now=NOW,
    )
    assert not report.ok and report.created == 0
    assert [(error.row, error.column) for error in report.errors] == [
        (4, "工单号"),
        (5, "工单号"),
        (6, "来电时间"),
        (7, "诉求类别"),
        (8, "诉求内容"),
        (8, "联系电话"),
        (9, "来电时间"),
    ]
    assert "row 2" in report.errors[1].message or "2" in report.errors[1].message
    assert not Case.objects.exists()


def test_whole_file_refusals_and_reach(world):
    assert_refused(
        CasesError.HOTLINE_FILE_REFUSED,
        lambda: hotline_import(
            actor=world["street_admin"], place=world["street"], file_obj=hotline_workbook([]), filename="x.xls", now=NOW
        ),
    )
    assert_refused(
        CasesError.HOTLINE_FILE_REFUSED,
        lambda: hotline_import(
            actor=world["street_admin"],
            place=world["street"],
            file_obj=hotline_workbook([["a"]], headers=["编号"]),
            filename="x.xlsx",
            now=NOW,
        ),
    )
    # a grid worker may not import
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: hotline_import(
            actor=world["grid_worker"],
            place=world["grid_a1"],
            file_obj=hotline_workbook(good_rows()),
            filename="x.xlsx",
            now=NOW,
        ),
    )
    assert not Case.objects.exists()
