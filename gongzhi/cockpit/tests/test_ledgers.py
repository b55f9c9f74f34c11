"""The work ledgers (工作台账) per domain: rows read through each app's selectors for the place and period, personal
data masked unless revealed with a stated purpose (audited), the access rule, every ledger opening, and a pinned
number of queries however many rows."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from gongzhi.cases.models import CaseState
from gongzhi.core.errors import CoreError
from gongzhi.core.models import AuditEntry
from gongzhi.core.testing import assert_refused

from ..ledgers import LEDGERS
from .conftest import MARCH, _case, at

QUERIES = 10  # session, account, roles, place, the rows (one query), the audit entry and its savepoints
MASKED_PHONE = re.compile(r"^\d{3}\*{4}\d{4}$")


def _client(account):
    client = Client()
    client.force_login(account)
    return client


def _rows(response) -> list[tuple]:
    assert response.status_code == 200, response.content[:300]
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return [row for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True)]


def _sheet(response, index=0) -> list[tuple]:
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return list(workbook.worksheets[index].iter_rows(values_only=True))


def _ledger(account, place, domain, **query):
    return _client(account).get(f"/cockpit/{place.pk}/ledgers/{domain}.xlsx", {"period": MARCH.key, **query})


def test_the_points_ledger_lists_the_periods_claims_with_names_and_phones_masked(world):
    response = _ledger(world["community_worker"], world["community_a"], "points")
    assert f"ledger-points-{world['community_a'].pk}-2031-03.xlsx" in response["Content-Disposition"]
    rows = _sheet(response)
    assert rows[1][0] == "个人信息已脱敏。"
    header, claims = rows[2], rows[3:]
    assert header[:3] == ("序号", "服务日期", "积分主体")
    assert [(row[1], row[2], row[5]) for row in claims] == [
        ("2031-03-03", "赵*", 5),
        ("2031-03-10", "赵*", 3),
        ("2031-03-11", "钱*", 5),
    ]
    assert all(MASKED_PHONE.match(row[3]) for row in claims)


def test_masking_cannot_be_switched_off_without_reveal_and_a_purpose(world):
    """Fails if any ledger lets a full name or phone number out by default."""
    full = {world.r1.resident.name, world.r2.resident.name, world.r1.resident.phone, world.r2.resident.phone}
    for domain in LEDGERS:
        cells = {
            str(cell) for row in _rows(_ledger(world["district_admin"], world["district"], domain)) for cell in row
        }
        assert not (full & cells), domain
    everything = " ".join(
        str(cell) for row in _rows(_ledger(world["district_admin"], world["district"], "points")) for cell in row
    )
    assert "赵*" in everything and not any(value in everything for value in full)


def test_revealing_needs_a_stated_purpose_and_is_audited(world):
    client = _client(world["community_worker"])
    path = f"/cockpit/{world['community_a'].pk}/ledgers/points.xlsx?period=2031-03"
    form = client.get(path, {"ask": "reveal"})
    assert b'data-testid="reveal-form"' in form.content
    refused = client.post(path, {"reveal": "1", "purpose": ""})
    assert refused.status_code == 400 and "请说明" in refused.content.decode()
    assert not AuditEntry.objects.filter(action="cockpit.ledger_export").exists()
    response = client.post(path, {"reveal": "1", "purpose": "入户走访核实积分"})
    assert "-full.xlsx" in response["Content-Disposition"]
    rows = _sheet(response)
    assert rows[1][0] == "姓名和电话完整显示。"
    assert {row[2] for row in rows[3:]} == {"赵六", "钱七"}
    assert world.r1.resident.phone in {row[3] for row in rows[3:]}
    entry = AuditEntry.objects.get(action="cockpit.ledger_export")
    assert entry.purpose == "入户走访核实积分" and entry.changes["revealed"] is True
    assert entry.changes["rows"] == {"积分申报": 3} and entry.place_path == world["community_a"].path


def test_a_masked_download_is_audited_too(world):
    _rows(_ledger(world["street_admin"], world["street"], "cases"))
    entry = AuditEntry.objects.get(action="cockpit.ledger_export")
    assert entry.changes == {"ledger": "cases", "period": "2031-03", "revealed": False, "rows": {"诉求": 4}}
    assert entry.purpose == ""


def test_the_cases_ledger_counts_as_the_cockpit_does(world):
    rows = _sheet(_ledger(world["street_admin"], world["street"], "cases"))[3:]
    assert len(rows) == 4  # received in March (conftest: the cockpit's "cases received" is 4 too)
    assert [row[5] for row in rows].count(str(CaseState.CLOSED.label)) == 3
    assert all(not row[6] or "*" in row[6] for row in rows)


def test_every_ledger_opens_with_its_sheets_and_headers(world):
    for domain, (_title, sheets) in LEDGERS.items():
        response = _ledger(world["district_admin"], world["district"], domain)
        workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
        assert len(workbook.worksheets) == len(sheets), domain
        for worksheet, sheet in zip(workbook.worksheets, sheets, strict=True):
            header = next(worksheet.iter_rows(min_row=3, max_row=3, values_only=True))
            assert header == tuple(str(label) for label in sheet.headers), domain
    roster = _sheet(_ledger(world["district_admin"], world["district"], "people"))
    assert roster[3][0] == world["district"].name and roster[3][2] >= 2  # r1 and r2 at least


def test_only_report_generators_within_reach_get_a_ledger(world):
    assert_refused(CoreError.NOT_FOUND, lambda: _ledger(world["grid_worker"], world["grid_a1"], "points"), status=404)
    assert_refused(
        CoreError.NOT_FOUND, lambda: _ledger(world["community_worker"], world["community_b"], "cases"), status=404
    )
    assert_refused(
        CoreError.NOT_FOUND, lambda: _ledger(world["community_worker"], world["community_a"], "nothing"), status=404
    )


@pytest.mark.parametrize("extra", [0, 12])
def test_the_number_of_queries_does_not_grow_with_the_rows(world, extra):
    base = {"category": world.accounts["category"], "grid_a1": world["grid_a1"]}
    for number in range(extra):
        _case(base, submitted=at(date(2031, 3, 21 + number % 5)), state="submitted")
    client = _client(world["community_worker"])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/cockpit/{world['community_a'].pk}/ledgers/cases.xlsx", {"period": MARCH.key})
        rows = _sheet(response)
    assert len(rows) == 3 + 4 + extra
    assert len(queries) == QUERIES, [query["sql"][:60] for query in queries]
