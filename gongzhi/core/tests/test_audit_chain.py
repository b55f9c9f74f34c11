"""The audit log's hash chains: one per district, linked and keyed; ``gongzhi audit_verify`` finds an entry altered,
deleted or inserted with raw SQL (as someone with the database's keys could), and a history rewritten before a
daily checkpoint even by someone who also holds the key."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction

from gongzhi.core import audit_chain
from gongzhi.core.audit import audit_bulk, audit_entry, audit_record
from gongzhi.core.audit_chain import GENESIS, SYSTEM_CHAIN, chain_of, verify_all, verify_chain
from gongzhi.core.jobs import audit_checkpoint
from gongzhi.core.models import AuditChainHead, AuditCheckpoint, AuditEntry

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _raw(sql: str, params: list) -> None:
    """Change the audit table behind the platform's back, the append-only triggers switched off for it."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE core_auditentry DISABLE TRIGGER USER")
            cursor.execute(sql, params)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE core_auditentry ENABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER core_auditentry_no_update")
            cursor.execute(sql, params)
            cursor.execute(
                "CREATE TRIGGER core_auditentry_no_update BEFORE UPDATE ON core_auditentry "
                "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
            )


def _five(tree) -> str:
    """Five entries in the tree's district; returns the chain."""
    for number in range(5):
        audit_record(
            actor=None,
            action="test.thing",
            target=tree["grid_a1"],
            place_path=tree["grid_a1"].path,
            changes={"n": number, "名": "张三"},
            occurred_at=NOW,
        )
    chain = chain_of(tree["grid_a1"].path)
    assert verify_chain(chain).intact
    return chain


def _verify_fails() -> str:
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("audit_verify", stdout=out)
    assert raised.value.returncode == 1
    return out.getvalue()


def test_entries_chain_per_district_and_without_a_place_in_the_system_chain(tree):
    district = str(tree["district"].pk)
    first = audit_record(actor=None, action="test.a", place_path=tree["household_a1"].path)
    second = audit_record(actor=None, action="test.b", place_path=tree["community_b"].path)
    system = audit_record(actor=None, action="test.c")
    assert (first.chain, first.seq, first.previous_hash) == (district, 1, GENESIS)
    assert (second.chain, second.seq, second.previous_hash) == (district, 2, first.hash)
    assert (system.chain, system.seq) == (SYSTEM_CHAIN, 1)
    assert AuditChainHead.objects.get(chain=district).seq == 2
    assert all(report.intact for report in verify_all())
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "all audit chains intact" in out.getvalue()


def test_bulk_writers_chain_in_order_across_chains(tree):
    entries = [
        audit_entry(actor=None, action="test.bulk", place_path=tree["grid_a1"].path if n % 2 else "") for n in range(6)
    ]
    audit_bulk(entries)
    district = [entry.seq for entry in AuditEntry.objects.filter(chain=str(tree["district"].pk)).order_by("seq")]
    assert district == [1, 2, 3]
    assert AuditEntry.objects.filter(chain=SYSTEM_CHAIN).count() == 3
    assert all(report.intact for report in verify_all())


def test_the_database_refuses_a_second_entry_with_the_same_seq(tree):
    chain = _five(tree)
    entry = AuditEntry.objects.get(chain=chain, seq=5)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_auditentry (occurred_at, actor_label, action, object_type, object_id, place_path, "
            "channel, user_agent, purpose, changes, chain, seq, previous_hash, key_id, hash) "
            "VALUES (%s, '', 'forged', '', '', '', 'system', '', '', '{}', %s, 5, %s, %s, %s)",
            [NOW, chain, entry.previous_hash, entry.key_id, "f" * 64],
        )


def test_verify_finds_an_entry_altered_with_raw_sql(tree):
    chain = _five(tree)
    _raw("UPDATE core_auditentry SET changes = %s WHERE chain = %s AND seq = 3", ['{"n": 99}', chain])
    out = _verify_fails()
    assert f"chain {chain}: seq 3: contents do not match its hash (altered)" in out
    # Also when the forger recomputes the plain SHA-256 they could guess: without the key it still fails.
    chain_fields = verify_chain(chain)
    assert not chain_fields.intact


def test_verify_finds_a_deleted_entry_in_the_middle_and_at_the_end(tree):
    chain = _five(tree)
    _raw("DELETE FROM core_auditentry WHERE chain = %s AND seq = 2", [chain])
    assert f"chain {chain}: entries 2–2 missing (deleted)" in _verify_fails()
    _raw("DELETE FROM core_auditentry WHERE chain = %s AND seq = 5", [chain])  # the last one: only the head knows
    problems = verify_chain(chain).problems
    assert any("head row says seq 5, the entries end at seq 4" in problem for problem in problems)


def test_verify_finds_an_inserted_entry(tree):
    chain = _five(tree)
    last = AuditEntry.objects.get(chain=chain, seq=5)
    _raw(
        "INSERT INTO core_auditentry (occurred_at, actor_label, action, object_type, object_id, place_path, "
        "channel, user_agent, purpose, changes, chain, seq, previous_hash, key_id, hash) "
        "VALUES (%s, '', 'forged', '', '', %s, 'system', '', '', '{}', %s, 6, %s, %s, %s)",
        [NOW, tree["grid_a1"].path, chain, last.hash, last.key_id, "e" * 64],
    )
    out = _verify_fails()
    assert f"chain {chain}: seq 6: contents do not match its hash (altered)" in out
    assert "head row says seq 5, the entries end at seq 6" in out


def test_an_entry_hashed_with_an_unknown_key_is_found_and_a_retired_key_still_verifies(tree, settings):
    chain = _five(tree)
    settings.GONGZHI_AUDIT_KEYS_RETIRED = [settings.GONGZHI_AUDIT_KEY]
    settings.GONGZHI_AUDIT_KEY = "a-new-audit-key"
    audit_record(actor=None, action="test.after_rotation", place_path=tree["grid_a1"].path)
    keys = set(AuditEntry.objects.filter(chain=chain).values_list("key_id", flat=True))
    assert len(keys) == 2 and verify_chain(chain).intact
    settings.GONGZHI_AUDIT_KEYS_RETIRED = []
    assert any("unknown key" in problem for problem in verify_chain(chain).problems)


def test_a_history_rewritten_with_the_key_before_a_checkpoint_is_found(tree, caplog):
    chain = _five(tree)
    with caplog.at_level(logging.INFO, logger="gongzhi.audit"):
        result = audit_checkpoint(run_key="2026-11-20", now=NOW)
    assert result == {"chains": {chain: 5}}
    assert f"audit checkpoint chain={chain} seq=5" in caplog.text
    assert chain not in audit_checkpoint(run_key="2026-11-20", now=NOW)["chains"]  # once per chain and day
    assert AuditCheckpoint.objects.filter(chain=chain).count() == 1
    assert AuditEntry.objects.filter(action="audit.checkpoint", chain=SYSTEM_CHAIN).exists()
    # Someone holding the database and the key rewrites entry 2 and recomputes every later hash and the head.
    _key_id, key = audit_chain.current_key()
    previous = AuditEntry.objects.get(chain=chain, seq=1).hash
    for seq in range(2, 6):
        entry = AuditEntry.objects.get(chain=chain, seq=seq)
        if seq == 2:
            entry.changes = {"n": "rewritten"}
        body = audit_chain.canonical_body(entry)
        digest = audit_chain.entry_hash(key=key, chain=chain, seq=seq, previous_hash=previous, body=body)
        _raw(
            "UPDATE core_auditentry SET changes = %s, previous_hash = %s, hash = %s WHERE chain = %s AND seq = %s",
            [json.dumps(entry.changes), previous, digest, chain, seq],
        )
        previous = digest
    AuditChainHead.objects.filter(chain=chain).update(last_hash=previous)
    problems = verify_chain(chain).problems
    assert problems == [f"chain {chain}: seq 5: does not match the checkpoint recorded for it (history rewritten)"]
    assert "history rewritten" in _verify_fails()


def test_checkpoints_are_append_only(tree):
    _five(tree)
    audit_checkpoint(run_key="2026-11-20", now=NOW)
    checkpoint = AuditCheckpoint.objects.get()
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017 - AppendOnlyError in Python
        checkpoint.hash = "0" * 64
        checkpoint.save()
    if connection.vendor == "postgresql":
        with pytest.raises(Exception), transaction.atomic(), connection.cursor() as cursor:  # noqa: B017
            cursor.execute("UPDATE core_auditcheckpoint SET hash = 'x'")
