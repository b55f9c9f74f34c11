"""Capture what the platform sends to PostgreSQL for one operation, and replay it through a plain psycopg connection.

The benchmarks compare the platform against "the same statements through psycopg": the database's own cost of the
work, without Python, the ORM or the services. This module is the one place that capture and replay are written:

- ``capture(function)`` runs ``function`` once through Django with an execute wrapper and records, for every
  statement in order, its SQL, its parameters, whether the platform ran it as a server-side prepared statement
  (``gongzhi/points/ledger.py: execute_prepared``), the transaction it ran in and the first cell of its result.
- ``Replay(first, second, first_vars, by_value=…, returned=…)`` compares two captures of the same operation: a
  parameter that differs between them and equals, or contains, one of the first run's ``first_vars`` (ids, keys,
  codes) becomes a slot that ``run`` fills with the new operation's value; every other parameter is kept as
  captured (timestamps included).
- ``Replay.run(raw, values)`` sends those statements through ``raw`` (see ``connect``) for one new operation.

What a replay guarantees, against the captured run:

- **the same statements, in the same order**, with the same SQL text; the new run's ids, keys and codes filled
  into their parameters (inside strings that contain an id, and inside JSON parameters, too), and the values a
  statement returns (a transfer's id, an order's id: ``returned``) taken from the replayed statement's result for
  the statements after it;
- **the same binding**: an ordinary statement goes through a client-side-binding cursor (``psycopg.ClientCursor``,
  the parameters spelled into the text in Python, as Django's cursor does); a statement the platform prepared goes
  through a server-side-binding cursor with ``prepare=True``, so it is parsed and planned once per connection and
  its parameters travel bound, as ``execute_prepared`` does;
- **the same transaction boundaries**: a statement Django ran in autocommit runs in autocommit; a statement that
  opened a transaction opens one (psycopg sends BEGIN, as it does for Django), and the transaction is committed
  where the captured one ended: before the next statement that ran in autocommit or opened the next transaction,
  and at the end of the run. Savepoints are statements and are replayed as such (renamed ``replay_sp1`` … in the
  order the run creates them: Django's names count up over the connection's life).

What it does not do: decide anything. It never reads a result except for ``returned`` values, so it makes no
checks and skips no statement; a run whose data would take another path through the platform (a refused order,
an idempotent repeat) is not what the replay measures, and a ``returned`` statement that answers NULL or nothing
raises ``RuntimeError``. The caller checks afterwards that every replayed operation wrote what it should.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.types.json import Json, Jsonb

__all__ = ["Captured", "Replay", "capture", "connect"]

# Django names a savepoint after the thread and a counter that keeps growing ("s140234_x7"); the capture renames
# each to its place in the run, so two runs of one operation send the same text.
_SAVEPOINT = re.compile(r'^((?:RELEASE |ROLLBACK TO )?SAVEPOINT )"(s\d+_x\d+)"$')


@dataclass(frozen=True)
class Captured:
    """One statement as the platform sent it."""

    sql: str
    params: list | None  # None: sent without parameters (no placeholders interpolated, "%" left as it is)
    prepared: bool  # run by ledger.execute_prepared: server-side binding, prepared once per connection
    autocommit: bool  # Django's connection was in autocommit mode (no atomic block open)
    opens_transaction: bool  # the first statement of a transaction (psycopg sent BEGIN before it)
    first_cell: bytes | None  # the first column of the first row of its result, as the server sent it


def capture(function: Callable[[], Any]) -> tuple[Any, list[Captured]]:
    """Run ``function`` through Django's default connection (PostgreSQL) and record every statement it sends.

    Returns ``function``'s result and the statements. A statement run by ``ledger.execute_prepared`` reaches the
    execute wrapper through its own server-side-binding cursor (``_PreparedCursor``, a ``psycopg.Cursor``); every
    other statement through Django's client-side cursor (a ``psycopg.ClientCursor``): that difference is how
    ``prepared`` is decided, so the replay prepares exactly the statements the platform prepares.
    """
    from django.db import connection

    statements: list[Captured] = []
    savepoints: dict[str, str] = {}

    def record(execute, sql, params, many, context):
        if many:
            raise RuntimeError("executemany() cannot be replayed: " + sql[:80])
        if isinstance(params, dict):
            raise RuntimeError("named parameters cannot be replayed: " + sql[:80])
        db, cursor = context["connection"], context["cursor"].cursor
        autocommit = db.get_autocommit()
        opens = not autocommit and db.connection.info.transaction_status == TransactionStatus.IDLE
        result = execute(sql, params, many, context)
        if savepoint := _SAVEPOINT.match(sql):
            name = savepoints.setdefault(savepoint[2], f"replay_sp{len(savepoints) + 1}")
            sql = f'{savepoint[1]}"{name}"'
        pgresult = cursor.pgresult
        first_cell = (
            pgresult.get_value(0, 0) if pgresult is not None and pgresult.ntuples and pgresult.nfields else None
        )
        statements.append(
            Captured(
                sql=sql,
                params=None if params is None else list(params),
                prepared=not isinstance(cursor, psycopg.ClientCursor),
                autocommit=autocommit,
                opens_transaction=opens,
                first_cell=first_cell,
            )
        )
        return result

    with connection.execute_wrapper(record):
        value = function()
    return value, statements


def connect(url: str, **kwargs: Any) -> psycopg.Connection:
    """A plain psycopg connection for ``Replay.run``: ``prepare_threshold=0`` as ``execute_prepared`` sets on the
    platform's connection (``None`` would turn preparing off even for ``prepare=True``)."""
    return psycopg.connect(url, prepare_threshold=0, **kwargs)


@dataclass
class _Statement:
    sql: str
    slots: list | None
    prepared: bool
    autocommit: bool
    commit_before: bool
    returns: str  # the name of the value this statement's first cell gives the statements after it, or ""
    locks_audit_head: bool = False  # the audit chain head's lock: the next link is computed from its row


class Replay:
    """The statements of two captured runs of one operation, with slots where their parameters differ.

    ``first_vars`` names the values of the first run that change from one operation to the next (ids, keys,
    codes): a parameter that differs between the two runs and equals one of them becomes that name's slot; a
    string that differs and contains some of them (an idempotency key made of the actor's id and the request's key,
    an audit entry's object id) becomes a template of those names; in a JSON parameter, a value equal to one of
    them is replaced. ``by_value``: names whose value was the same in both runs (one merchant for both captured
    orders, one pair of accounts for both captured postings) but must be filled all the same wherever it appears,
    alone or inside a string. ``returned``: names ``run`` is not given but takes from the result of the first
    statement that answered the first run's value (a posting's transfer id, an order's id). Any other parameter that
    differs (a timestamp) is replayed as captured.
    """

    def __init__(
        self,
        first: list[Captured],
        second: list[Captured],
        first_vars: dict[str, Any],
        *,
        by_value: Iterable[str] = (),
        returned: Iterable[str] = (),
    ):
        if [st.sql for st in first] != [st.sql for st in second]:
            differ = next(
                (
                    f"#{n}: {a.sql[:100]!r} / {b.sql[:100]!r}"
                    for n, (a, b) in enumerate(zip(first, second, strict=False))
                    if a.sql != b.sql
                ),
                f"{len(first)} statements / {len(second)}",
            )
            raise RuntimeError(f"The two captured runs sent different statements ({differ}); cannot build a replay.")
        self.first_vars = dict(first_vars)
        by_value = set(by_value)
        returned = set(returned)
        self.statements: list[_Statement] = []
        in_transaction = False
        for one, two in zip(first, second, strict=True):
            if (one.prepared, one.autocommit, one.opens_transaction) != (
                two.prepared,
                two.autocommit,
                two.opens_transaction,
            ):
                raise RuntimeError("The two captured runs differ in binding or transactions: " + one.sql[:80])
            slots = None
            if one.params is not None:
                slots = [self._slot(a, b, by_value) for a, b in zip(one.params, two.params or (), strict=True)]
            self.statements.append(
                _Statement(
                    sql=one.sql,
                    slots=slots,
                    prepared=one.prepared,
                    autocommit=one.autocommit,
                    commit_before=in_transaction and (one.autocommit or one.opens_transaction),
                    returns="",
                    locks_audit_head="audit_seq" in self.first_vars and _AUDIT_HEAD_LOCK.search(one.sql) is not None,
                )
            )
            in_transaction = not one.autocommit
        self.commit_at_end = in_transaction
        self.transactions = sum(st.commit_before for st in self.statements) + in_transaction  # per run
        for name in returned:
            answer = str(self.first_vars[name]).encode()
            index = next((i for i, st in enumerate(first) if st.first_cell == answer), None)
            if index is None:
                raise RuntimeError(f"No captured statement returned {name} = {self.first_vars[name]!r}.")
            if any(self._uses(slot, name) for st in self.statements[: index + 1] for slot in st.slots or ()):
                raise RuntimeError(f"{name} is used before the statement that returns it.")
            self.statements[index].returns = name

    def __len__(self) -> int:
        return len(self.statements)

    # -------- building the slots

    def _slot(self, value_1: Any, value_2: Any, by_value: set[str]) -> tuple:
        if isinstance(value_1, (list, tuple)):
            return ("list", [self._slot(a, b, by_value) for a, b in zip(value_1, value_2, strict=True)])
        if isinstance(value_1, (Jsonb, Json)):
            return ("json", type(value_1), value_1.obj, getattr(value_1, "dumps", None))
        if isinstance(value_1, bool) or value_1 is None:
            return ("const", value_1)
        template = self._template(value_1) if isinstance(value_1, str) else None
        names = set(template[1::2]) if template else set()
        if value_1 == value_2 and not names & by_value and not any(value_1 == self.first_vars[n] for n in by_value):
            return ("const", value_1)
        for name, known in self.first_vars.items():
            if value_1 == known and not isinstance(known, bool):
                return ("var", name)
        if template:
            return ("text", template)
        return ("const", value_1)  # a timestamp: the replay keeps the captured one

    def _template(self, text: str) -> list[str] | None:
        """``text`` split around the first run's values it contains (ids, keys, codes), as [literal, name, literal,
        …, literal]; None if it contains none. A value that starts or ends with a digit matches only where the text
        has no digit next to it (``4000042`` is not found in ``40000421``)."""
        forms: dict[str, str] = {}
        for name, known in self.first_vars.items():
            if isinstance(known, (int, str)) and not isinstance(known, bool) and str(known):
                forms.setdefault(str(known), name)
        if not forms:
            return None
        alternatives = [
            (r"(?<!\d)" if form[0].isdigit() else "") + re.escape(form) + (r"(?!\d)" if form[-1].isdigit() else "")
            for form in sorted(forms, key=len, reverse=True)
        ]
        pieces = re.split("(" + "|".join(alternatives) + ")", text)
        if len(pieces) == 1:
            return None
        return [piece if index % 2 == 0 else forms[piece] for index, piece in enumerate(pieces)]

    @classmethod
    def _uses(cls, slot: tuple, name: str) -> bool:
        if slot[0] == "list":
            return any(cls._uses(item, name) for item in slot[1])
        if slot[0] == "text":
            return name in slot[1][1::2]
        return slot[0] == "var" and slot[1] == name

    # -------- filling them

    def _fill(self, slot: tuple, values: dict[str, Any], swap: dict) -> Any:
        kind = slot[0]
        if kind == "const":
            return slot[1]
        if kind == "var":
            return values[slot[1]]
        if kind == "text":
            return "".join(piece if index % 2 == 0 else str(values[piece]) for index, piece in enumerate(slot[1]))
        if kind == "list":
            return [self._fill(item, values, swap) for item in slot[1]]
        _kind, wrapper, obj, dumps = slot
        return wrapper(_swap_json(obj, swap), dumps=dumps) if dumps else wrapper(_swap_json(obj, swap))

    def run(
        self, raw: psycopg.Connection, values: dict[str, Any], timings: list[float] | None = None
    ) -> dict[str, Any]:
        """Replay the operation once on ``raw`` (see ``connect``) with ``values``: every name of ``first_vars`` but
        the ``returned`` ones. Returns the values with the returned ones added.

        ``timings`` (``len(replay) + 1`` floats, for profiling) accumulates each statement's seconds, the BEGIN
        psycopg sends before the first statement of a transaction included in that statement's, and in its last
        item the seconds of the COMMITs."""
        values = dict(values)
        swap = {self.first_vars[name]: value for name, value in values.items() if name in self.first_vars}
        clock = time.perf_counter if timings is not None else _no_clock
        with psycopg.ClientCursor(raw) as client, psycopg.Cursor(raw) as bound:
            for number, st in enumerate(self.statements):
                if st.commit_before:
                    started = clock()
                    raw.commit()
                    if timings is not None:
                        timings[-1] += clock() - started
                if raw.autocommit != st.autocommit:
                    raw.autocommit = st.autocommit
                cursor = bound if st.prepared else client
                started = clock()
                if st.slots is None:
                    cursor.execute(st.sql, prepare=True if st.prepared else None)
                else:
                    params = [self._fill(slot, values, swap) for slot in st.slots]
                    cursor.execute(st.sql, params, prepare=True if st.prepared else None)
                if st.locks_audit_head:
                    _next_audit_link(cursor.fetchone(), values, swap, self.first_vars)
                elif st.returns:
                    row = cursor.fetchone()
                    if row is None or row[0] is None:
                        raise RuntimeError(f"the replayed statement giving {st.returns} answered nothing: {values}")
                    values[st.returns] = swap[self.first_vars[st.returns]] = row[0]
                elif cursor.description is not None:
                    cursor.fetchall()
                if timings is not None:
                    timings[number] += clock() - started
        if self.commit_at_end:
            started = clock()
            raw.commit()
            if timings is not None:
                timings[-1] += clock() - started
        return values


# The audit chain (gongzhi/core/audit_chain.py): an audited operation locks its chain's head, then writes the entry
# with the next seq, the head's hash as previous and a new HMAC, and moves the head. Replayed with the captured
# values, the second replay would repeat a seq (refused by the unique constraint). With ``audit_seq``,
# ``audit_previous`` and ``audit_hash`` in ``first_vars`` (the first captured entry's), the replay reads the locked
# head and computes them as the platform does: seq + 1, the head's hash, and an HMAC-SHA256 of that many bytes (over
# the statement's own values, not the canonical body: the database never checks it, and the cost is the same).
_AUDIT_HEAD_LOCK = re.compile(r'FROM "core_auditchainhead".*FOR UPDATE', re.DOTALL)
_AUDIT_KEY = b"replay-audit-key"


def _next_audit_link(row: Any, values: dict[str, Any], swap: dict, first_vars: dict[str, Any]) -> None:
    import hashlib
    import hmac

    if row is None:
        raise RuntimeError("the replayed audit head lock found no head")
    _chain, seq, last_hash = row[0], int(row[1]), row[2]
    message = f"gongzhi-audit-v1\n{_chain}\n{seq + 1}\n{last_hash}\n{values}".encode()
    values["audit_seq"], values["audit_previous"] = seq + 1, last_hash
    values["audit_hash"] = hmac.new(_AUDIT_KEY, message, hashlib.sha256).hexdigest()
    for name in ("audit_seq", "audit_previous", "audit_hash"):
        swap[first_vars[name]] = values[name]


def _no_clock() -> float:
    return 0.0


def _swap_json(value: Any, swap: dict) -> Any:
    if isinstance(value, dict):
        return {key: _swap_json(item, swap) for key, item in value.items()}
    if isinstance(value, list):
        return [_swap_json(item, swap) for item in value]
    if isinstance(value, (int, str)) and not isinstance(value, bool) and value in swap:
        return swap[value]
    return value
