"""Concurrent postings on PostgreSQL, with real threads and committed transactions (no wrapping transaction)."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, connections

from gongzhi.core.errors import DomainError
from gongzhi.people.tests.factories import ResidentFactory
from gongzhi.points import ledger
from gongzhi.points.ledger import (
    Leg,
    account_figures,
    account_for_resident,
    ledger_check,
    points_hold,
    post_transfer,
    system_account,
)
from gongzhi.points.models import Claim, ClaimState, PointsAccount, Transfer, TransferKind
from gongzhi.points.services import claim_approve, claim_reverse, claim_submit
from gongzhi.points.tests.factories import reviewer, yesterday

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrency is tested on PostgreSQL"),
]


@pytest.fixture(params=["single_statement", "generic"])
def path(request, monkeypatch):
    monkeypatch.setattr(ledger, "USE_SINGLE_STATEMENT", request.param == "single_statement")
    return request.param


def run_in_threads(count: int, target) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def work(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = target(index)
        except DomainError as error:
            results[index] = error
        except Exception as error:  # a database error would be a bug: keep it for the assertion
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def world(world):
    """The points world (committed: these tests are transactional), with an item of 5 points and four reviewers."""
    world.item = world.items[5]
    world.reviewers = [reviewer(world.community) for _ in range(4)]
    return world


def test_four_reviewers_approving_one_claim_post_once(path, world):
    account = account_for_resident(ResidentFactory(household=world.tree["household_a1"]))
    claim = claim_submit(actor=world.worker, account=account, item=world.item, service_date=yesterday())
    results = run_in_threads(4, lambda index: claim_approve(actor=world.reviewers[index], claim=Claim(pk=claim.pk)))
    approved = [result for result in results if isinstance(result, Claim)]
    refusals = [result for result in results if isinstance(result, DomainError)]
    assert len(approved) == 1 and len(refusals) == 3, results
    assert {error.code for error in refusals} == {"claim_not_pending"}
    assert Transfer.objects.filter(source_type="claim", source_id=str(claim.pk)).count() == 1
    account.refresh_from_db()
    assert (account.balance, account.earned_total) == (5, 5)
    assert ledger_check() == []


def test_approvals_and_reversals_over_many_accounts_keep_every_balance(path, world):
    tree = world.tree
    households = [tree["household_a1"], tree["household_a1b"], tree["household_a2"]]
    accounts = [account_for_resident(ResidentFactory(household=households[n % 3])) for n in range(12)]
    claims = []
    for account in accounts:
        for days in range(1, 4):
            claims.append(
                claim_submit(
                    actor=world.worker,
                    account=account,
                    item=world.item,
                    service_date=yesterday() - timedelta(days=days),
                )
            )
    # Approve everything from 4 threads in shuffled orders, then reverse a third while approving goes on.
    orders = [random.Random(seed).sample(claims, len(claims)) for seed in range(4)]

    def approve_all(index: int) -> int:
        done = 0
        for claim in orders[index]:
            try:
                claim_approve(actor=world.reviewers[index], claim=Claim(pk=claim.pk))
                done += 1
            except DomainError:
                pass
        return done

    assert sum(run_in_threads(4, approve_all)) == len(claims)
    to_reverse = claims[::3]

    def reverse_some(index: int) -> int:
        done = 0
        for claim in random.Random(index).sample(to_reverse, len(to_reverse)):
            try:
                claim_reverse(actor=world.reviewers[index], claim=Claim(pk=claim.pk), reason="异议成立")
                done += 1
            except DomainError:
                pass
        return done

    results = run_in_threads(4, reverse_some)
    assert sum(results) == len(to_reverse), results
    assert Claim.objects.filter(state=ClaimState.REVERSED).count() == len(to_reverse)
    assert ledger_check() == []
    call_command("points_check")  # exits 1 (CommandError) on any drift
    total = sum(PointsAccount.objects.filter(pk__in=[a.pk for a in accounts]).values_list("balance", flat=True))
    assert total == 5 * (len(claims) - len(to_reverse))
    assert account_figures(system_account("issuance")).balance == -total


def test_twenty_holds_against_a_balance_covering_three(path, world):
    account = account_for_resident(ResidentFactory(household=world.tree["household_a1"]))
    post_transfer(
        kind=TransferKind.AWARD,
        idempotency_key="seed",
        legs=[Leg(system_account("issuance").pk, -30), Leg(account.pk, 30, "balance", True)],
        actor=None,
    )
    results = run_in_threads(
        20, lambda index: points_hold(account=account, amount=10, idempotency_key=f"hold-{index}", actor=None)
    )
    held = [result for result in results if isinstance(result, Transfer)]
    refused = [result for result in results if isinstance(result, DomainError)]
    assert len(held) == 3 and len(refused) == 17, results
    assert {error.code for error in refused} == {"insufficient_points"}
    account.refresh_from_db()
    assert (account.balance, account.held) == (0, 30)
    assert ledger_check() == []


def test_the_same_key_from_many_threads_posts_once(path, world):
    account = account_for_resident(ResidentFactory(household=world.tree["household_a1"]))
    issuance = system_account("issuance").pk
    results = run_in_threads(
        8,
        lambda _index: post_transfer(
            kind=TransferKind.AWARD,
            idempotency_key="one-award",
            legs=[Leg(issuance, -5), Leg(account.pk, 5, "balance", True)],
            actor=None,
        ),
    )
    assert all(isinstance(result, tuple) for result in results), results
    assert sorted(created for _transfer, created in results) == [False] * 7 + [True]
    assert len({transfer.pk for transfer, _created in results}) == 1
    account.refresh_from_db()
    assert account.balance == 5
    assert ledger_check() == []


def test_postings_between_two_holders_in_opposite_directions_never_deadlock(path, world):
    """Each posting locks both holders in primary-key order, whichever way the points go."""
    households = world.tree["household_a1"], world.tree["household_a2"]
    first, second = (account_for_resident(ResidentFactory(household=household)) for household in households)
    issuance = system_account("issuance").pk
    for account in (first, second):
        post_transfer(
            kind=TransferKind.AWARD,
            idempotency_key=f"seed-{account.pk}",
            legs=[Leg(issuance, -100), Leg(account.pk, 100, "balance", True)],
            actor=None,
        )

    def shuttle(index: int) -> int:
        source, target = (first, second) if index % 2 == 0 else (second, first)
        for number in range(15):
            post_transfer(
                kind=TransferKind.ADJUSTMENT,
                idempotency_key=f"shuttle-{index}-{number}",
                legs=[Leg(source.pk, -1), Leg(target.pk, 1)],
                actor=None,
            )
        return 15

    results = run_in_threads(4, shuttle)
    assert results == [15, 15, 15, 15], results
    balances = PointsAccount.objects.filter(pk__in=[first.pk, second.pk]).values_list("balance", flat=True)
    assert sorted(balances) == [100, 100]  # two threads each way: every move undone by one the other way
    assert ledger_check() == []
