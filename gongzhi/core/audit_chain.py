"""The audit log as hash chains: which chain an entry joins, its canonical bytes, its keyed hash, appending under
the chain head's lock, and the verification ``gongzhi audit_verify`` runs.

Chains. Each district has its own chain (the first id of the entry's ``place_path``: ``"/7/31/402/"`` joins chain
``"7"``); entries without a place join ``"system"``. Writers in different districts therefore never wait on each
other; writers in one district queue on their chain's head row (``AuditChainHead``), locked ``FOR UPDATE`` in the
caller's transaction, so two of them can never take the same sequence number (besides, ``(chain, seq)`` is unique
in the database). The lock is taken last, just before the insert: everything that can be computed without the
head (the canonical body) is computed before it, and the caller's transaction commits soon after.

Hash. ``hash = HMAC-SHA256(key, "gongzhi-audit-v1\\n" + chain + "\\n" + seq + "\\n" + previous_hash + "\\n" + body)``
where ``body`` is a JSON object with sorted keys, no spaces, ASCII only, of: occurred_at (ISO 8601 UTC to the
microsecond), actor (account id or null), actor_label, action, object_type, object_id, place_path, channel, ip
(compressed form or ""), user_agent, purpose and changes. The first entry's previous hash is 64 zeros.

Why keyed. A plain SHA-256 chain proves nothing to someone who can write to the database: they alter an entry and
recompute every later hash and the head. With HMAC, recomputing needs the key, which lives in the environment of
the app servers (``GONGZHI_AUDIT_KEY``; derived from ``SECRET_KEY`` when unset), never in the database or a backup
of it. Each entry names its key by a short id (``key_id``), so the key can be replaced: put the new one in
``GONGZHI_AUDIT_KEY`` and the old one in ``GONGZHI_AUDIT_KEYS_RETIRED``; old entries keep verifying with it. The
daily checkpoints (``AuditCheckpoint`` rows and a line in the log) pin each chain's head besides, so even a
holder of the key cannot rewrite history before a recorded head without it showing.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import transaction

from .locks import lock_rows
from .models import AuditChainHead, AuditCheckpoint, AuditEntry

logger = logging.getLogger("gongzhi.audit")

GENESIS = "0" * 64
SYSTEM_CHAIN = "system"
_PREFIX = "gongzhi-audit-v1"


# ---------------------------------------------------------------- keys


@lru_cache(maxsize=8)
def _derive(master: str) -> tuple[str, bytes]:
    """(key id, HMAC key) from a configured secret."""
    key = hmac.new(master.encode(), b"gongzhi-audit-chain-key", hashlib.sha256).digest()
    return hashlib.sha256(b"gongzhi-audit-key-id" + key).hexdigest()[:8], key


def current_key() -> tuple[str, bytes]:
    return _derive(getattr(settings, "GONGZHI_AUDIT_KEY", "") or settings.SECRET_KEY)


def known_keys() -> dict[str, bytes]:
    """Every key that may verify, by id: the current one and the retired ones."""
    keys = dict([current_key()])
    for master in getattr(settings, "GONGZHI_AUDIT_KEYS_RETIRED", []):
        if master:
            key_id, key = _derive(master)
            keys.setdefault(key_id, key)
    return keys


# ---------------------------------------------------------------- canonical form


def chain_of(place_path: str) -> str:
    """The chain an entry joins: its district's id (first id of the path), or ``system`` without a place."""
    first = (place_path or "").strip("/").split("/", 1)[0]
    return first if first.isdigit() else SYSTEM_CHAIN


def _ip(value: Any) -> str:
    if not value:
        return ""
    try:
        return ipaddress.ip_address(str(value)).compressed
    except ValueError:
        return str(value)


def canonical_body(entry: AuditEntry) -> str:
    """The entry's own fields as canonical JSON (see the module docstring); the chain fields are not in it."""
    occurred = entry.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if entry.occurred_at else ""
    document = {
        "action": entry.action,
        "actor": entry.actor_id,
        "actor_label": entry.actor_label,
        "changes": entry.changes if entry.changes is not None else {},
        "channel": entry.channel,
        "ip": _ip(entry.source_ip),
        "object_id": str(entry.object_id or ""),
        "object_type": entry.object_type,
        "occurred_at": occurred,
        "place_path": entry.place_path,
        "purpose": entry.purpose,
        "user_agent": entry.user_agent,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def entry_hash(*, key: bytes, chain: str, seq: int, previous_hash: str, body: str) -> str:
    message = f"{_PREFIX}\n{chain}\n{seq}\n{previous_hash}\n{body}".encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- appending


def _lock_heads(chains: Sequence[str]) -> dict[str, AuditChainHead]:
    """Lock the heads of ``chains`` (primary-key order), creating the missing ones first."""
    heads = {head.chain: head for head in lock_rows(AuditChainHead.objects.filter(chain__in=chains))}
    missing = [chain for chain in chains if chain not in heads]
    if missing:
        # Two first writers may race to create a head: ignore_conflicts lets both go on to lock the one row.
        AuditChainHead.objects.bulk_create([AuditChainHead(chain=chain) for chain in missing], ignore_conflicts=True)
        heads.update({head.chain: head for head in lock_rows(AuditChainHead.objects.filter(chain__in=missing))})
    return heads


@dataclass(frozen=True)
class HeadMove:
    chain: str
    seq: int
    last_hash: str


def link(entries: Sequence[AuditEntry]) -> list[HeadMove]:
    """Give unsaved ``entries`` their chain, sequence number, previous hash and hash, in the order given, under the
    lock of their chains' heads. Call inside ``atomic``; the caller then inserts the entries and applies the
    returned head moves (``move_heads``) in the same transaction. ``append`` does all of it."""
    key_id, key = current_key()
    bodies = [canonical_body(entry) for entry in entries]  # before the lock: it is held until the commit
    chains = sorted({chain_of(entry.place_path) for entry in entries})
    heads = _lock_heads(chains)
    for entry, body in zip(entries, bodies, strict=True):
        head = heads[chain_of(entry.place_path)]
        entry.chain, entry.seq, entry.previous_hash, entry.key_id = head.chain, head.seq + 1, head.last_hash, key_id
        entry.hash = entry_hash(key=key, chain=entry.chain, seq=entry.seq, previous_hash=entry.previous_hash, body=body)
        head.seq, head.last_hash = entry.seq, entry.hash
    return [HeadMove(chain, heads[chain].seq, heads[chain].last_hash) for chain in chains]


def move_heads(moves: Iterable[HeadMove]) -> None:
    for move in moves:
        AuditChainHead.objects.filter(chain=move.chain).update(seq=move.seq, last_hash=move.last_hash)


def append(entries: Sequence[AuditEntry]) -> list[AuditEntry]:
    """Chain and insert ``entries`` (one or many) in the caller's transaction (one of its own if there is none).

    One entry costs three statements (lock the head, insert, move the head); many cost the same per chain.
    """
    entries = list(entries)
    if not entries:
        return entries
    with transaction.atomic(savepoint=False):
        moves = link(entries)
        if len(entries) == 1:
            entries[0].save()
        else:
            AuditEntry.objects.bulk_create(entries)
        move_heads(moves)
    return entries


# ---------------------------------------------------------------- verifying


@dataclass
class ChainReport:
    """What verifying one chain found: entries read, the head recomputed, each problem (empty: intact)."""

    chain: str
    entries: int = 0
    seq: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_chain(chain: str, *, batch: int = 2000) -> ChainReport:
    """Recompute ``chain`` from its first entry and compare it with its head row and its checkpoints.

    Finds an entry altered (its hash does not match its fields, or it names an unknown key), deleted (a gap in the
    sequence, or the head counts more), inserted (a sequence number repeated or past the head, a broken link), and
    a history rewritten before a recorded checkpoint (the entry at the checkpoint's seq has another hash).
    """
    report = ChainReport(chain=chain)
    keys = known_keys()
    checkpoints: dict[int, list[str]] = defaultdict(list)
    for seq, digest in AuditCheckpoint.objects.filter(chain=chain).values_list("seq", "hash"):
        checkpoints[seq].append(digest)
    hashes_at: dict[int, str] = {}
    previous, expected = GENESIS, 1
    rows = AuditEntry.objects.filter(chain=chain).order_by("seq", "id")
    for entry in rows.iterator(chunk_size=batch):
        report.entries += 1
        seq = entry.seq or 0
        if seq > expected:
            report.problems.append(f"chain {chain}: entries {expected}–{seq - 1} missing (deleted)")
        elif seq < expected:
            report.problems.append(f"chain {chain}: seq {seq} appears again (inserted)")
        if entry.previous_hash != previous:
            report.problems.append(f"chain {chain}: seq {seq}: link to the previous entry broken (inserted?)")
        key = keys.get(entry.key_id)
        if key is None:
            report.problems.append(f"chain {chain}: seq {seq}: hashed with an unknown key {entry.key_id!r}")
        elif (
            entry_hash(key=key, chain=chain, seq=seq, previous_hash=entry.previous_hash, body=canonical_body(entry))
            != entry.hash
        ):
            report.problems.append(f"chain {chain}: seq {seq}: contents do not match its hash (altered)")
        if seq in checkpoints:
            hashes_at[seq] = entry.hash
        previous, expected = entry.hash, max(expected, seq) + 1
        report.seq = max(report.seq, seq)
    report.head = previous
    head = AuditChainHead.objects.filter(chain=chain).first()
    head_seq, head_hash = (head.seq, head.last_hash) if head else (0, GENESIS)
    if (head_seq, head_hash) != (report.seq, report.head):
        report.problems.append(
            f"chain {chain}: the head row says seq {head_seq}, the entries end at seq {report.seq}"
            + ("" if head_seq != report.seq else " with another hash")
            + " (entries deleted or inserted at the end)"
        )
    for seq, digests in sorted(checkpoints.items()):
        for digest in digests:
            if hashes_at.get(seq) != digest:
                report.problems.append(
                    f"chain {chain}: seq {seq}: does not match the checkpoint recorded for it (history rewritten)"
                )
    return report


def all_chains() -> list[str]:
    """Every chain that has a head, an entry or a checkpoint."""
    chains = set(AuditChainHead.objects.values_list("chain", flat=True))
    chains |= set(AuditEntry.objects.order_by().values_list("chain", flat=True).distinct())
    chains |= set(AuditCheckpoint.objects.order_by().values_list("chain", flat=True).distinct())
    return sorted(chains, key=lambda chain: (not chain.isdigit(), int(chain) if chain.isdigit() else 0, chain))


def verify_all() -> list[ChainReport]:
    return [verify_chain(chain) for chain in all_chains()]


# ---------------------------------------------------------------- checkpoints


def record_checkpoints(*, run_key: str, now: datetime) -> list[AuditCheckpoint]:
    """Record every chain's head (seq, hash) once for ``run_key``: a row per chain and a line in the log, and one
    system-chain audit entry listing them (so the district chains are anchored in the system chain too)."""
    recorded = []
    for head in AuditChainHead.objects.order_by("chain"):
        if head.seq == 0:
            continue
        checkpoint, created = AuditCheckpoint.objects.get_or_create(
            chain=head.chain,
            run_key=run_key,
            defaults={"seq": head.seq, "hash": head.last_hash, "recorded_at": now},
        )
        if created:
            recorded.append(checkpoint)
            logger.info("audit checkpoint chain=%s seq=%s hash=%s at=%s", head.chain, head.seq, head.last_hash, now)
    if recorded:
        from .audit import audit_record

        audit_record(
            actor=None,
            actor_label="job:core.audit_checkpoint",
            action="audit.checkpoint",
            changes={"heads": {c.chain: [c.seq, c.hash] for c in recorded}, "run_key": run_key},
            occurred_at=now,
        )
    return recorded
