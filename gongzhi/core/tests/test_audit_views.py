"""The audit log's page and export: admins of a place see its entries only, filter and page them, export them with
personal data masked, and the export is itself audited."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from gongzhi.core.audit import audit_record
from gongzhi.core.audit_chain import verify_all
from gongzhi.core.audit_search import AuditFilters, audit_search, masked_changes
from gongzhi.core.errors import NotFound
from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
from gongzhi.core.testing import assert_refused
from gongzhi.people.tests.factories import account_with_role

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.fixture
def entries(tree):
    for number in range(30):
        audit_record(
            actor=None,
            actor_label="网格员王",
            action="test.in_a" if number % 2 else "points.claim_approve",
            target=tree["grid_a1"],
            place_path=tree["grid_a1"].path,
            changes={"phone": ["13812345678", "13987654321"], "note": "身份证110101199003071234", "n": number},
            occurred_at=NOW.replace(day=1 + number % 28),
        )
    audit_record(actor=None, action="test.in_b", place_path=tree["grid_b1"].path, occurred_at=NOW)
    audit_record(actor=None, action="test.system", occurred_at=NOW)
    return tree


@pytest.fixture
def secretary_a(tree):
    return account_with_role(Role.COMMUNITY_SECRETARY, tree["community_a"], username="secretary_a")


def test_the_search_is_scoped_by_reach(entries, secretary_a):
    actions = set(audit_search(secretary_a, AuditFilters()).values_list("action", flat=True))
    assert actions == {"test.in_a", "points.claim_approve"}  # not community B's, not the system chain's
    worker = account_with_role(Role.GRID_WORKER, entries["grid_a1"], username="grid_worker")  # no audit.view
    with pytest.raises(NotFound):
        audit_search(worker, AuditFilters())
    with pytest.raises(NotFound):
        audit_search(secretary_a, AuditFilters(place_id=entries["community_b"].pk))


def test_filters_combine(entries, secretary_a):
    found = audit_search(
        secretary_a,
        AuditFilters(
            action="points.",
            actor="王",
            object_type="places.place",
            object_id=str(entries["grid_a1"].pk),
            place_id=entries["grid_a1"].pk,
            date_from=NOW.replace(day=1).date(),
            date_to=NOW.replace(day=10).date(),
        ),
    )
    days = sorted(entry.occurred_at.day for entry in found)
    assert days == [1, 1, 3, 5, 7, 9] and {entry.action for entry in found} == {"points.claim_approve"}


def test_the_page_filters_pages_and_masks(client, entries, secretary_a, django_assert_num_queries):
    client.force_login(secretary_a)
    client.get("/audit/")  # warm the session
    with django_assert_num_queries(6):  # session, account, roles, count, page, actions
        response = client.get("/audit/?action=test.in_a")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('data-testid="audit-entry"') == 15
    assert "138****5678" in body and "13812345678" not in body
    assert "110***********1234" in body and "110101199003071234" not in body
    page_two = client.get("/audit/?page=2").content.decode()
    assert page_two.count('data-testid="audit-entry"') == 5  # 30 entries, 25 a page
    assert client.get("/audit/?from=garbled").status_code == 200  # a bad date is said, not a 500


def test_someone_without_audit_view_gets_not_found(client, entries):
    worker = account_with_role(Role.GRID_WORKER, entries["grid_a1"], username="grid_worker")
    client.force_login(worker)
    assert_refused("not_found", lambda: client.get("/audit/"))
    assert_refused("not_found", lambda: client.get("/audit/export.xlsx"))


def test_the_export_is_masked_and_audited(client, entries, secretary_a):
    client.force_login(secretary_a)
    response = client.get("/audit/export.xlsx?action=test.in_a")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 16  # header + 15
    text = " ".join(str(value) for row in rows for value in row)
    assert "13812345678" not in text and "110101199003071234" not in text and "138****5678" in text
    exported = AuditEntry.objects.get(action="audit.export")
    assert exported.actor_id == secretary_a.pk and exported.changes["rows"] == 15
    assert exported.changes["filters"] == {"action": "test.in_a"}
    assert all(report.intact for report in verify_all())


def test_masked_changes_by_key_and_by_shape():
    masked = masked_changes(
        {"name": ["张三", "张三丰"], "id_card": "110101199003071234", "memo": "call 13812345678", "points": 5}
    )
    assert masked == {"name": ["张*", "张**"], "id_card": "110***********1234", "memo": "call 138****5678", "points": 5}


@pytest.mark.parametrize(("days", "refused"), [("100", True), ("182", True), ("183", False)])
def test_retention_below_six_months_is_refused(days, refused, tmp_path):
    import os
    import subprocess
    import sys

    environment = {**os.environ, "GONGZHI_AUDIT_RETENTION_DAYS": days, "GONGZHI_VAR_DIR": str(tmp_path)}
    finished = subprocess.run(
        [sys.executable, "-c", "import gongzhi.settings.base as s; print(s.GONGZHI_AUDIT_RETENTION_DAYS)"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if refused:
        assert finished.returncode != 0 and "at least 183" in finished.stderr
    else:
        assert finished.returncode == 0 and finished.stdout.strip() == "183"
