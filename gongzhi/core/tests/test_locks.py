"""Locks: only in the apps' locks.py modules, always ``of=("self",)``, in primary-key order."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from gongzhi.core.locks import lock_row, lock_rows

PACKAGE = Path(__file__).resolve().parents[2]


def _calls_to_select_for_update() -> list[tuple[Path, ast.Call]]:
    found = []
    for path in PACKAGE.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "select_for_update":
                found.append((path, node))
    return found


def test_every_lock_lives_in_a_locks_module_and_locks_only_its_own_table():
    offenders = []
    for path, call in _calls_to_select_for_update():
        where = f"{path.relative_to(PACKAGE.parent)}:{call.lineno}"
        if path.name != "locks.py":
            offenders.append(f"{where}: select_for_update outside a locks.py (use the app's locks module)")
        of = next((keyword.value for keyword in call.keywords if keyword.arg == "of"), None)
        if not (isinstance(of, ast.Tuple) and [getattr(item, "value", None) for item in of.elts] == ["self"]):
            offenders.append(f'{where}: select_for_update without of=("self",)')
    assert offenders == [], "\n".join(offenders)


@pytest.mark.django_db
def test_lock_rows_returns_rows_in_primary_key_order(tree):
    from gongzhi.places.models import Place

    rows = lock_rows(Place.objects.order_by("-pk"))
    assert [row.pk for row in rows] == sorted(row.pk for row in rows)
    assert lock_row(Place.objects.all(), rows[0].pk) == rows[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_lock_through_a_join_locks_only_its_own_rows(tree):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set GONGZHI_DATABASE_URL to a PostgreSQL database)")
    from gongzhi.core.roles import Role
    from gongzhi.people.models import RoleAssignment
    from gongzhi.people.tests.factories import account_with_role

    account_with_role(Role.GRID_WORKER, tree["grid_a1"])
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        lock_rows(RoleAssignment.objects.select_related("place", "account").filter(place__kind=tree["grid_a1"].kind))
    locking = [query["sql"] for query in captured.captured_queries if "FOR UPDATE" in query["sql"]]
    assert locking and all('FOR UPDATE OF "people_roleassignment"' in sql for sql in locking), locking
    assert all("places_place" not in sql.split("FOR UPDATE", 1)[1] for sql in locking)
