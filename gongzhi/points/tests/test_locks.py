"""The points' row locks take their own rows only: never the community's place or the account behind a join."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from gongzhi.points import locks
from gongzhi.points.models import Objection, Publication
from gongzhi.points.services import adjustment_propose
from gongzhi.points.tests.factories import secretary

pytestmark = pytest.mark.django_db

NOW = datetime.fromisoformat("2026-11-20T10:00:00+08:00")


def _locking_statements(call) -> list[str]:
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        call()
    return [query["sql"] for query in captured.captured_queries if "FOR UPDATE" in query["sql"]]


def test_each_lock_locks_its_own_table_only(world):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's (SQLite takes the write lock at BEGIN)")
    login, account = world.resident(name="张三")
    publication = Publication.objects.create(community=world.community, month=date(2026, 10, 1), state="published")
    objection = Objection.objects.create(publication=publication, raised_by=login, text="那天他不在", raised_at=NOW)
    adjustment = adjustment_propose(actor=secretary(world.community), account=account, amount=3, reason="补录")
    calls = {
        "points_pointsaccount": lambda: locks.lock_account(account.pk),
        "points_adjustment": lambda: locks.lock_adjustment(adjustment.pk),
        "points_publication": lambda: locks.lock_publication(publication.pk),
        "points_objection": lambda: locks.lock_objection(objection.pk),
    }
    for table, call in calls.items():
        statements = _locking_statements(call)
        assert statements, table
        for sql in statements:
            locked = sql.split("FOR UPDATE", 1)[1]
            assert locked.strip().startswith(f'OF "{table}"'), sql
            assert "places_place" not in locked, sql
