"""Concurrent writers on PostgreSQL, with real threads and committed transactions (no wrapping transaction)."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connection, connections

from gongzhi.core.errors import DomainError
from gongzhi.core.roles import Role
from gongzhi.people.models import Account, RoleAssignment
from gongzhi.people.services import login_attempt, role_assign
from gongzhi.people.tests.factories import AccountFactory
from gongzhi.places.tests.factories import make_tree, superuser

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrency is tested on PostgreSQL"),
]


def _run_in_threads(count: int, target) -> list:
    barrier = threading.Barrier(count)
    results: list = []

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results.append(target(index))
        except DomainError as error:
            results.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_concurrent_failures_all_count_and_lock_once():
    account = AccountFactory(username="racer")
    failures = settings.GONGZHI_LOGIN_MAX_FAILURES - 1
    _run_in_threads(failures, lambda _index: login_attempt(username="racer", password="wrong"))
    account.refresh_from_db()
    # No lost update: every concurrent failure was counted.
    assert account.failed_login_count == failures and account.locked_until is None
    _run_in_threads(1, lambda _index: login_attempt(username="racer", password="wrong"))
    account.refresh_from_db()
    assert account.locked_until is not None


def test_concurrent_identical_grants_create_one_role():
    tree = make_tree()
    worker = AccountFactory()
    admin = superuser()

    def grant(_index: int):
        return role_assign(
            actor=Account.objects.get(pk=admin.pk), account=worker, role=Role.GRID_WORKER, place=tree["grid_a1"]
        )

    results = _run_in_threads(4, grant)
    assert len(results) == 4
    assert RoleAssignment.objects.filter(account=worker).count() == 1
