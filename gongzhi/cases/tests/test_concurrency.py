"""Two handlers accepting the same case at the same moment on PostgreSQL: exactly one wins."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from gongzhi.cases import jobs, services
from gongzhi.cases.models import Case, CaseEvent, CaseState
from gongzhi.core.errors import DomainError
from gongzhi.core.roles import Role
from gongzhi.people.models import Account
from gongzhi.people.tests.factories import account_with_role

from .factories import make_world

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrency is tested on PostgreSQL"),
]


def _race(targets) -> list:
    barrier = threading.Barrier(len(targets))
    results: list = []

    def worker(target) -> None:
        try:
            barrier.wait(timeout=10)
            results.append(target())
        except DomainError as error:
            results.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_handlers_accept_the_same_case_exactly_one_wins():
    world = make_world()
    second_worker = account_with_role(Role.GRID_WORKER, world["grid_a1"], username="grid_a1_second")
    case = services.case_submit(actor=world["resident"], category=world["category"], text="路灯坏了")

    def accept_as(account_id: int):
        def run():
            actor = Account.objects.get(pk=account_id)
            return services.case_accept(actor=actor, case=Case.objects.get(pk=case.pk))

        return run

    results = _race([accept_as(world["grid_worker"].pk), accept_as(second_worker.pk)])
    winners = [result for result in results if isinstance(result, Case)]
    losers = [result for result in results if isinstance(result, DomainError)]
    assert len(winners) == 1 and len(losers) == 1
    assert losers[0].code == "invalid_transition"
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED and case.current_handler_id == winners[0].current_handler_id
    assert CaseEvent.objects.filter(case=case, kind="accepted").count() == 1


def test_escalation_job_and_a_handler_racing_leave_one_consistent_outcome():
    world = make_world()
    case = services.case_submit(actor=world["resident"], category=world["category"], text="路灯坏了")
    deadline = case.accept_by

    results = _race(
        [
            lambda: jobs.escalate_overdue_cases(now=deadline),
            lambda: services.case_accept(
                actor=Account.objects.get(pk=world["grid_worker"].pk), case=Case.objects.get(pk=case.pk)
            ),
        ]
    )
    assert len(results) == 2
    case.refresh_from_db()
    escalated = CaseEvent.objects.filter(case=case, kind="auto_escalated").count()
    accepted = CaseEvent.objects.filter(case=case, kind="accepted").count()
    # Either the worker accepted in time (no escalation) or the job escalated first (the accept was refused).
    assert (escalated, accepted) in {(0, 1), (1, 0)}
    assert case.level == ("community" if escalated else "grid")
