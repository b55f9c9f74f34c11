"""The ledger: postings, idempotency, refusals that change nothing, reversals, holds, append-only, the check."""

from __future__ import annotations

from functools import partial

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from gongzhi.core.errors import Conflict
from gongzhi.core.models import AuditEntry
from gongzhi.core.testing import assert_refused
from gongzhi.people.tests.factories import AccountFactory, ResidentFactory
from gongzhi.points import ledger
from gongzhi.points.ledger import (
    Figures,
    InsufficientPoints,
    Leg,
    account_figures,
    account_for_resident,
    ledger_check,
    points_capture,
    points_hold,
    points_release,
    post_transfer,
    system_account,
    transfer_reverse,
)
from gongzhi.points.models import AccountKind, Entry, PointsAccount, Transfer, TransferKind
from gongzhi.points.tests.factories import snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["single_statement", "generic"])
def path(request, monkeypatch):
    """Run each test through both implementations (on SQLite both are the generic path)."""
    monkeypatch.setattr(ledger, "USE_SINGLE_STATEMENT", request.param == "single_statement")
    return request.param


@pytest.fixture
def actor(db):
    return AccountFactory(username="ledger-clerk")


@pytest.fixture
def holder(tree):
    return account_for_resident(ResidentFactory(household=tree["household_a1"], name="张三"))


def award(account, amount, key, actor):
    return post_transfer(
        kind=TransferKind.AWARD,
        idempotency_key=key,
        legs=[Leg(system_account("issuance").pk, -amount), Leg(account.pk, amount, "balance", True)],
        actor=actor,
        source_type="test",
        source_id=key,
    )


def figures(account):
    account.refresh_from_db()
    return account.balance, account.held, account.earned_total


def test_accounts_are_created_once_with_their_place(tree, holder):
    assert holder.kind == AccountKind.RESIDENT
    assert holder.community == tree["community_a"]
    assert holder.place_path == tree["household_a1"].path
    assert holder.display_name == "张三"
    assert account_for_resident(holder.resident).pk == holder.pk
    party = account_for_resident(holder.resident, kind=AccountKind.PARTY_MEMBER)
    assert party.pk != holder.pk
    assert system_account("issuance").pk == system_account("issuance").pk
    with pytest.raises(ValueError):
        system_account("nonsense")


def test_award_moves_balance_and_earned_and_records_who_and_what(path, holder, actor):
    transfer, created = award(holder, 10, "a-1", actor)
    assert created and transfer.pk and transfer.kind == TransferKind.AWARD
    assert figures(holder) == (10, 0, 10)
    assert account_figures(system_account("issuance")).balance == -10
    legs = sorted(transfer.entries.values_list("account_id", "amount", "bucket", "counts_as_earned"))
    assert legs == sorted([(system_account("issuance").pk, -10, "balance", False), (holder.pk, 10, "balance", True)])
    stored = Transfer.objects.get(pk=transfer.pk)
    assert (stored.idempotency_key, stored.actor_id, stored.source_type, stored.source_id) == (
        "a-1",
        actor.pk,
        "test",
        "a-1",
    )
    assert stored.created_at is not None and stored.effective_date is not None
    # The ledger is its own record; the action that posts (claim_approve …) writes the one audit entry.
    assert not AuditEntry.objects.exists()
    assert ledger_check() == []


def test_same_key_twice_posts_once(path, holder, actor):
    first, created = award(holder, 10, "a-1", actor)
    before = snapshot()
    again, created_again = award(holder, 10, "a-1", actor)
    assert created and not created_again and again.pk == first.pk
    assert snapshot() == before


def test_same_key_with_other_legs_is_a_conflict(path, holder, actor):
    award(holder, 10, "a-1", actor)
    refused = assert_refused("idempotency_conflict", lambda: award(holder, 11, "a-1", actor))
    assert isinstance(refused, Conflict) and refused.status == 409


@pytest.mark.parametrize(
    "legs",
    [
        "none",
        "one",
        "zero",
        "unbalanced",
        "held-earned",
    ],
)
def test_malformed_legs_are_refused(path, holder, actor, legs):
    issuance = system_account("issuance")
    legs = {
        "none": [],
        "one": [Leg(holder.pk, 5)],
        "zero": [Leg(issuance.pk, 0), Leg(holder.pk, 0)],
        "unbalanced": [Leg(issuance.pk, -5), Leg(holder.pk, 6)],
        "held-earned": [Leg(issuance.pk, -5), Leg(holder.pk, 5, "held", True)],
    }[legs]
    assert_refused(
        "validation_failed",
        lambda: post_transfer(kind=TransferKind.AWARD, idempotency_key="bad", legs=legs, actor=actor),
    )


def test_missing_key_and_unknown_kind_are_refused(path, holder, actor):
    issuance = system_account("issuance")
    legs = [Leg(issuance.pk, -5), Leg(holder.pk, 5)]
    for key, kind in (("", TransferKind.AWARD), ("k", "gift"), ("x" * 121, TransferKind.AWARD)):
        assert_refused(
            "validation_failed", partial(post_transfer, kind=kind, idempotency_key=key, legs=legs, actor=actor)
        )


def test_unknown_account_is_refused(path, holder, actor):
    issuance = system_account("issuance")
    assert_refused(
        "validation_failed",
        lambda: post_transfer(
            kind=TransferKind.AWARD, idempotency_key="ghost", legs=[Leg(issuance.pk, -5), Leg(999_999, 5)], actor=actor
        ),
    )


def test_overdraft_is_refused_and_the_transaction_stays_usable(path, holder, actor):
    award(holder, 5, "a-1", actor)
    issuance = system_account("issuance")
    refused = assert_refused(
        "insufficient_points",
        lambda: post_transfer(
            kind=TransferKind.ADJUSTMENT,
            idempotency_key="too-much",
            legs=[Leg(holder.pk, -6), Leg(issuance.pk, 6)],
            actor=actor,
        ),
    )  # and the connection still answers inside the test's transaction (the snapshot after reads every table)
    assert isinstance(refused, InsufficientPoints) and refused.status == 409


def test_system_accounts_store_no_figures_and_never_wait_on_their_row(path, holder, actor, tree):
    other = account_for_resident(ResidentFactory(household=tree["household_b1"], name="李四"))
    award(holder, 10, "a-1", actor)
    award(other, 4, "a-2", actor)
    points_hold(account=holder, amount=3, idempotency_key="h-1", actor=actor)
    points_capture(account=holder, amount=3, idempotency_key="c-1", actor=actor)
    issuance, spent = system_account("issuance"), system_account("spent")
    stored = PointsAccount.objects.filter(pk__in=[issuance.pk, spent.pk]).values_list("balance", "held", "earned_total")
    assert set(stored) == {(0, 0, 0)}  # nothing stored: no posting locks or rewrites the issuance row
    assert account_figures(issuance) == Figures(balance=-14, held=0, earned_total=0)
    assert account_figures(spent) == Figures(balance=3, held=0, earned_total=0)
    assert account_figures(holder) == Figures(balance=7, held=0, earned_total=10)
    assert ledger_check() == []
    PointsAccount.objects.filter(pk=issuance.pk).update(balance=-14)  # a stored system figure is drift
    assert [problem for problem in ledger_check() if f"account {issuance.pk} " in problem]


def test_hold_capture_release(path, holder, actor):
    award(holder, 10, "a-1", actor)
    points_hold(account=holder, amount=4, idempotency_key="h-1", actor=actor, source_type="redemption", source_id="1")
    assert figures(holder) == (6, 4, 10)
    points_capture(account=holder, amount=3, idempotency_key="c-1", actor=actor, source_type="redemption")
    assert figures(holder) == (6, 1, 10)
    assert account_figures(system_account("spent")).balance == 3
    points_release(account=holder, amount=1, idempotency_key="r-1", actor=actor)
    assert figures(holder) == (7, 0, 10)
    assert_refused(
        "insufficient_points", lambda: points_hold(account=holder, amount=8, idempotency_key="h-2", actor=actor)
    )
    assert_refused(
        "insufficient_points", lambda: points_capture(account=holder, amount=1, idempotency_key="c-2", actor=actor)
    )
    assert_refused(
        "insufficient_points", lambda: points_release(account=holder, amount=1, idempotency_key="r-2", actor=actor)
    )
    assert_refused(
        "validation_failed", lambda: points_hold(account=holder, amount=0, idempotency_key="h-3", actor=actor)
    )
    assert ledger_check() == []


def test_reversal_mirrors_the_transfer_once(path, holder, actor):
    original, _created = award(holder, 10, "a-1", actor)
    reversal = transfer_reverse(transfer=original, actor=actor, reason="recorded twice")
    assert reversal.reverses_id == original.pk and reversal.kind == TransferKind.REVERSAL
    assert figures(holder) == (0, 0, 0)  # a reversal of an award lowers the earned total too
    legs = sorted(reversal.entries.values_list("account_id", "amount", "counts_as_earned"))
    assert legs == sorted(
        (a, -b, c) for a, b, c in original.entries.values_list("account_id", "amount", "counts_as_earned")
    )
    # The original is untouched; the same call again returns the same reversal.
    assert Transfer.objects.get(pk=original.pk).kind == TransferKind.AWARD
    again = transfer_reverse(transfer=original, actor=actor, reason="recorded twice")
    assert again.pk == reversal.pk
    assert_refused(
        "already_reversed",
        lambda: transfer_reverse(transfer=original, actor=actor, reason="again", idempotency_key="another-key"),
    )
    assert_refused(
        "reversal_of_reversal", lambda: transfer_reverse(transfer=reversal, actor=actor, reason="undo the undo")
    )
    assert_refused("validation_failed", lambda: transfer_reverse(transfer=original, actor=actor, reason=" "))
    assert ledger_check() == []


def test_reversal_after_spending_is_refused(path, holder, actor):
    original, _created = award(holder, 10, "a-1", actor)
    points_hold(account=holder, amount=8, idempotency_key="h-1", actor=actor)
    assert_refused(
        "insufficient_points", lambda: transfer_reverse(transfer=original, actor=actor, reason="objection upheld")
    )


def test_both_paths_give_identical_results(holder, actor, monkeypatch, tree):
    other = account_for_resident(ResidentFactory(household=tree["household_a2"]))

    def scenario(account, prefix):
        award(account, 10, f"{prefix}-a", actor)
        points_hold(account=account, amount=4, idempotency_key=f"{prefix}-h", actor=actor)
        points_capture(account=account, amount=3, idempotency_key=f"{prefix}-c", actor=actor)
        points_release(account=account, amount=1, idempotency_key=f"{prefix}-r", actor=actor)
        award(account, 10, f"{prefix}-a", actor)
        second, _created = award(account, 7, f"{prefix}-b", actor)
        transfer_reverse(transfer=second, actor=actor, reason="test")
        with pytest.raises(InsufficientPoints):
            points_hold(account=account, amount=100, idempotency_key=f"{prefix}-x", actor=actor)
        return figures(account), sorted(
            Entry.objects.filter(account=account).values_list("transfer__kind", "bucket", "amount", "counts_as_earned")
        )

    monkeypatch.setattr(ledger, "USE_SINGLE_STATEMENT", True)
    fast = scenario(holder, "fast")
    monkeypatch.setattr(ledger, "USE_SINGLE_STATEMENT", False)
    generic = scenario(other, "generic")
    assert fast == generic
    assert fast[0] == (7, 0, 10)
    assert ledger_check() == []


def test_a_posting_between_two_holders_locks_both_and_moves_both(path, holder, actor, tree):
    """Two holders in one posting take the locking statement on PostgreSQL (primary-key order), the same result."""
    other = account_for_resident(ResidentFactory(household=tree["household_a2"]))
    award(holder, 10, "a-1", actor)
    with CaptureQueriesContext(connection) as queries:
        transfer, created = post_transfer(
            kind=TransferKind.ADJUSTMENT,
            idempotency_key="move-4",
            legs=[Leg(holder.pk, -4), Leg(other.pk, 4)],
            actor=actor,
        )
    assert created and transfer.pk
    if path == "single_statement" and connection.vendor == "postgresql":
        # The optimistic statement wrote nothing (two holders), then the locking one posted.
        assert len(queries) == 2 and "FOR UPDATE" in queries[1]["sql"] and "FOR UPDATE" not in queries[0]["sql"]
    assert figures(holder) == (6, 0, 10) and figures(other) == (4, 0, 0)
    again, created_again = post_transfer(
        kind=TransferKind.ADJUSTMENT,
        idempotency_key="move-4",
        legs=[Leg(holder.pk, -4), Leg(other.pk, 4)],
        actor=actor,
    )
    assert (again.pk, created_again) == (transfer.pk, False)
    assert_refused(
        "insufficient_points",
        lambda: post_transfer(
            kind=TransferKind.ADJUSTMENT,
            idempotency_key="move-5",
            legs=[Leg(other.pk, -5), Leg(holder.pk, 5)],
            actor=actor,
        ),
    )
    assert ledger_check() == []


def test_the_check_reports_an_entry_whose_account_or_transfer_is_missing(holder, actor):
    transfer, _created = award(holder, 10, "a-1", actor)
    assert ledger_check() == []
    with connection.cursor() as cursor:  # what a bug writing entries outside the posting statement could do
        cursor.execute(
            "INSERT INTO points_entry (transfer_id, account_id, bucket, amount, counts_as_earned) "
            "VALUES (%s, %s, 'balance', 1, false), (%s, %s, 'balance', -1, false)",
            [transfer.pk, 987_654_321, 876_543_210, holder.pk],
        )
    problems = [problem for problem in ledger_check() if problem.startswith("entry ")]
    assert len(problems) == 2
    assert "account 987654321 does not exist" in problems[0]
    assert "transfer 876543210 does not exist" in problems[1]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the database's own refusal is PostgreSQL's")
def test_points_accounts_are_never_deleted_or_renumbered_in_the_database(holder, actor):
    award(holder, 10, "a-1", actor)
    unused = PointsAccount.objects.create(kind=AccountKind.RESIDENT, display_name="未用", place_path="x")
    for statement in (
        lambda: PointsAccount.objects.filter(pk=unused.pk)._raw_delete(using="default"),
        lambda: PointsAccount.objects.filter(pk=holder.pk)._raw_delete(using="default"),
        lambda: PointsAccount.objects.filter(pk=holder.pk).update(id=holder.pk + 1_000_000),
    ):
        with pytest.raises(DatabaseError, match="never deleted"), transaction.atomic():
            statement()
    assert PointsAccount.objects.filter(pk__in=[unused.pk, holder.pk]).count() == 2
    assert figures(holder) == (10, 0, 10)


def test_transfers_and_entries_are_append_only_in_the_database(holder, actor):
    transfer, _created = award(holder, 10, "a-1", actor)
    for statement in (
        lambda: Transfer.objects.filter(pk=transfer.pk).update(memo="edited"),
        lambda: Entry.objects.filter(transfer=transfer).update(amount=99),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            statement()
    if connection.vendor == "postgresql":  # SQLite keeps DELETE for the test flush (see migration 0004)
        with pytest.raises(DatabaseError), transaction.atomic():
            Entry.objects.filter(transfer=transfer).delete()
    assert figures(holder) == (10, 0, 10)
    assert Entry.objects.filter(transfer=transfer).count() == 2


def test_check_reports_drift_and_the_command_exits_1(holder, actor, capsys):
    award(holder, 10, "a-1", actor)
    call_command("points_check")
    assert "consistent" in capsys.readouterr().out
    PointsAccount.objects.filter(pk=holder.pk).update(balance=11)  # what a bug writing balances directly would do
    problems = ledger_check()
    assert len(problems) == 1 and f"account {holder.pk}" in problems[0] and "11" in problems[0]
    with pytest.raises(CommandError) as failed:
        call_command("points_check")
    assert failed.value.returncode == 1
