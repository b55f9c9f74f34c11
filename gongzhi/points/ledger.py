"""The points ledger: append-only double-entry transfers between points accounts.

Every change of a balance is a transfer written in the same transaction as the change (shared/design.md rule 4):

- ``post_transfer`` moves a holder's ``balance`` / ``held`` / ``earned_total`` with SQL arithmetic and inserts the
  transfer and its entries. Holder accounts never go below zero: the posting refuses it and the database's check
  constraint ``pointsaccount_holder_not_negative`` backs it; the caller gets ``InsufficientPoints``, nothing written.
- System accounts (issuance, spent, expired) are the other side of postings. Their figures are not stored but
  summed from their entries (``account_figures``): a stored issuance balance would be one row that every award in
  the district locks and waits for. Their rows keep zeros, which ``ledger_check`` verifies.
- The ledger is its own audit trail: a transfer is never changed and names its actor, time, kind, source and memo.
  The named action that posts it (``claim_approve``, ``adjustment_approve``, ``redemption_place`` …) writes the one
  audit entry of the change, naming the transfer, with the request's channel and address; the posting adds none
  (one audit entry per change, not two).
- Every transfer has a unique idempotency key. Posting the same key again returns the transfer already posted
  (``created=False``) when the legs match, and refuses with ``idempotency_conflict`` when they do not.
- Corrections are new transfers (``transfer_reverse``); transfers and entries are never updated or deleted
  (database triggers refuse it, migration 0004).
- ``ledger_check`` recomputes every account from its entries and checks that every entry names a transfer and an
  account that exist (entries carry no foreign-key constraints, see ``Entry``); there must be no drift.

Two implementations of the same posting, with identical results (tests run both):

- PostgreSQL: **one statement**, one round trip instead of five or six; round trips, not fsync, are what a posting
  costs on these machines (design.md, "Speed"). A posting with at most one holder (every award, spend, hold,
  release, expiry, adjustment and reversal the platform makes) reads its accounts, inserts the transfer if they
  exist and the holder stays at or above zero (``ON CONFLICT (idempotency_key) DO NOTHING``), and only then updates
  the holder, whose row lock the UPDATE itself takes, and inserts the entries. A posting between two or more holders
  first locks them in primary-key order (``SELECT … ORDER BY id FOR UPDATE``). See ``_posting_sql``.
- Anything else (SQLite, which takes its write lock at BEGIN): the same steps as separate ORM statements inside
  one transaction, holders updated in primary-key order with guarded ``UPDATE … WHERE balance + x >= 0``.

A posting inside an outer ``transaction.atomic()`` joins that transaction without a savepoint of its own; a refused
posting therefore spoils the outer block (Django refuses further queries until it ends). Callers that want to
carry on after a refusal wrap the call in an ``atomic()`` of their own (``claims_review_batch`` does).
"""

from __future__ import annotations

import time
import weakref
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from psycopg.pq import ExecStatus

from gongzhi.core.actors import Actor
from gongzhi.core.errors import DomainError, ValidationFailed

from .errors import InsufficientPoints, PointsError
from .models import AccountKind, Entry, PointsAccount, Transfer, TransferKind

BALANCE = Entry.Bucket.BALANCE
HELD = Entry.Bucket.HELD

SYSTEM_ACCOUNTS = {
    "issuance": gettext_lazy("Points issued"),
    "spent": gettext_lazy("Points spent"),
    "expired": gettext_lazy("Points expired"),
}

# Set to False to send PostgreSQL through the generic path as well (tests compare the two).
USE_SINGLE_STATEMENT = True
SYSTEM_KIND = AccountKind.SYSTEM.value
TRANSFER_KINDS = frozenset(TransferKind.values)
TUPLES_OK = ExecStatus.TUPLES_OK


@dataclass(frozen=True)
class Leg:
    account_id: int
    amount: int
    bucket: str = "balance"
    counts_as_earned: bool = False


# ---------------------------------------------------------------- accounts


def _get_or_create(lookup: dict, defaults: dict) -> PointsAccount:
    """Race-safe get-or-create: the unique constraints decide when two callers create the same account."""
    account = PointsAccount.objects.filter(**lookup).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return PointsAccount.objects.create(**lookup, **defaults)
    except IntegrityError:
        return PointsAccount.objects.get(**lookup)


def system_account(code: str) -> PointsAccount:
    """The system account ``code`` ("issuance", "spent", "expired"), created on first use."""
    if code not in SYSTEM_ACCOUNTS:
        raise ValueError(f"Unknown system account {code!r}; known: {', '.join(SYSTEM_ACCOUNTS)}")
    return _get_or_create(
        {"system_code": code}, {"kind": AccountKind.SYSTEM, "display_name": str(SYSTEM_ACCOUNTS[code])}
    )


def community_of(place: Any):
    """The community (kind "community") on the path of ``place``, or None."""
    from gongzhi.places.models import Place, PlaceKind

    if place is None:
        return None
    if place.kind == PlaceKind.COMMUNITY:
        return place
    ids = place.ancestor_ids
    return Place.objects.filter(pk__in=ids, kind=PlaceKind.COMMUNITY).first() if ids else None


def account_for_resident(resident: Any, *, kind: str = AccountKind.RESIDENT) -> PointsAccount:
    """The resident's points account of ``kind`` (resident or party member), created on first use."""
    if kind not in (AccountKind.RESIDENT, AccountKind.PARTY_MEMBER):
        raise ValueError(f"A resident's account is of kind resident or party_member, not {kind!r}")
    household = resident.household
    return _get_or_create(
        {"kind": kind, "resident": resident},
        {
            "community": community_of(household),
            "place_path": household.path if household is not None else "",
            "display_name": resident.name,
        },
    )


def account_for_organisation(organisation: Any) -> PointsAccount:
    """The organisation's points account, created on first use."""
    return _get_or_create(
        {"kind": AccountKind.ORGANISATION, "organisation": organisation},
        {
            "community": community_of(organisation.place),
            "place_path": organisation.place.path,
            "display_name": organisation.name,
        },
    )


# ---------------------------------------------------------------- posting


def _normalise(legs: list[Leg]) -> list[Leg]:
    if not legs or len(legs) < 2:
        raise ValidationFailed(fields={"legs": _("A transfer needs at least two legs.")})
    clean = []
    for leg in legs:
        if not isinstance(leg.amount, int) or isinstance(leg.amount, bool) or leg.amount == 0:
            raise ValidationFailed(fields={"amount": _("Every leg moves a whole, non-zero number of points.")})
        if leg.bucket not in (BALANCE, HELD):
            raise ValidationFailed(fields={"bucket": _("Unknown bucket.")})
        if leg.counts_as_earned and leg.bucket != BALANCE:
            raise ValidationFailed(fields={"bucket": _("Only balance legs count as earned.")})
        clean.append(Leg(int(leg.account_id), int(leg.amount), str(leg.bucket), bool(leg.counts_as_earned)))
    if sum(leg.amount for leg in clean) != 0:
        raise ValidationFailed(fields={"legs": _("The legs of a transfer must add up to zero.")})
    return clean


def _deltas(legs: list[Leg]) -> list[tuple[int, int, int, int]]:
    """(account id, balance delta, held delta, earned delta), in primary-key order (the locking order)."""
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for leg in legs:
        row = sums[leg.account_id]
        row[0 if leg.bucket == BALANCE else 1] += leg.amount
        if leg.counts_as_earned:
            row[2] += leg.amount
    return [(account_id, *sums[account_id]) for account_id in sorted(sums)]


def _leg_signature(legs: list[Leg]) -> list[tuple]:
    return sorted((leg.account_id, leg.amount, leg.bucket, leg.counts_as_earned) for leg in legs)


def _existing(key: str, kind: str, legs: list[Leg]) -> Transfer:
    """The transfer already posted under ``key``, if it is the same posting; else idempotency_conflict."""
    transfer = Transfer.objects.get(idempotency_key=key)
    posted = [
        Leg(account_id, amount, bucket, earned)
        for account_id, amount, bucket, earned in transfer.entries.values_list(
            "account_id", "amount", "bucket", "counts_as_earned"
        )
    ]
    if transfer.kind != kind or _leg_signature(posted) != _leg_signature(legs):
        raise PointsError.IDEMPOTENCY_CONFLICT()
    return transfer


def post_transfer(
    *,
    kind: str,
    idempotency_key: str,
    legs: list[Leg],
    actor: Actor | None,
    source_type: str = "",
    source_id: str = "",
    memo: str = "",
    reverses: Transfer | None = None,
    effective_date: date | None = None,
    now: datetime | None = None,
) -> tuple[Transfer, bool]:
    """Post one transfer; returns (transfer, created). See the module docstring for the guarantees."""
    if kind not in TRANSFER_KINDS:
        raise ValidationFailed(fields={"kind": _("Unknown kind of transfer.")})
    key = (idempotency_key or "").strip()
    if not key or len(key) > 120:
        raise ValidationFailed(fields={"idempotency_key": _("Every posting needs an idempotency key (at most 120).")})
    legs = _normalise(legs)
    actor_id = getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None
    created_at = now or timezone.now()
    # The transfer's columns in _TRANSFER_COLUMNS order: the statement binds them as they are, and a Transfer
    # instance is only built for the answer.
    values = (
        kind,
        key,
        source_type[:40],
        str(source_id)[:64],
        reverses.pk if reverses is not None else None,
        actor_id,
        memo[:255],
        effective_date or timezone.localdate(created_at),
        created_at,
    )
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "postgresql" and USE_SINGLE_STATEMENT:
        return _post_single_statement(values, legs)
    return _post_generic(values, legs)


class _AlreadyPosted(Exception):
    pass


def _refusal(error: IntegrityError) -> DomainError:
    text = str(error)
    if "pointsaccount_holder_not_negative" in text or "CHECK constraint failed" in text:
        return PointsError.INSUFFICIENT_POINTS()
    if "reverses" in text:
        return PointsError.ALREADY_REVERSED()
    raise error


_TRANSFER_COLUMNS = (
    "kind",
    "idempotency_key",
    "source_type",
    "source_id",
    "reverses_id",
    "actor_id",
    "memo",
    "effective_date",
    "created_at",
)


@cache
def _transfer_positions() -> tuple[int | None, ...]:
    """For each of Transfer's concrete fields in order, its index in ``_TRANSFER_COLUMNS`` (None: the id)."""
    fields = Transfer._meta.concrete_fields
    return tuple(None if field.primary_key else _TRANSFER_COLUMNS.index(field.attname) for field in fields)


def _transfer(values: tuple, pk: int | None = None) -> Transfer:
    """The Transfer instance for ``values`` (in ``_TRANSFER_COLUMNS`` order), saved as ``pk`` if given.

    Built from positional values in field order, the faster of Django's two ways (3.9 against 5.8 µs here).
    """
    transfer = Transfer(*(pk if index is None else values[index] for index in _transfer_positions()))
    if pk is not None:
        transfer._state.adding = False
    return transfer


def _post_generic(values: tuple, legs: list[Leg]) -> tuple[Transfer, bool]:
    transfer = _transfer(values)
    try:
        with transaction.atomic():
            if Transfer.objects.filter(idempotency_key=transfer.idempotency_key).exists():
                raise _AlreadyPosted
            deltas = _deltas(legs)
            kinds = dict(PointsAccount.objects.filter(pk__in=[row[0] for row in deltas]).values_list("pk", "kind"))
            if len(kinds) != len(deltas):
                raise ValidationFailed(fields={"account": _("Unknown points account.")})
            for account_id, balance, held, earned in deltas:
                if kinds[account_id] == AccountKind.SYSTEM:
                    continue  # figures of system accounts are summed from their entries, never stored
                updated = PointsAccount.objects.filter(
                    pk=account_id, balance__gte=-balance, held__gte=-held, earned_total__gte=-earned
                ).update(balance=F("balance") + balance, held=F("held") + held, earned_total=F("earned_total") + earned)
                if not updated:
                    raise PointsError.INSUFFICIENT_POINTS()
            try:
                with transaction.atomic():
                    transfer.save(force_insert=True)
            except IntegrityError as error:
                if "idempotency_key" in str(error):
                    raise _AlreadyPosted from None
                raise _refusal(error) from None
            Entry.objects.bulk_create(
                [
                    Entry(
                        transfer=transfer,
                        account_id=leg.account_id,
                        bucket=leg.bucket,
                        amount=leg.amount,
                        counts_as_earned=leg.counts_as_earned,
                    )
                    for leg in legs
                ]
            )
    except _AlreadyPosted:
        return _existing(transfer.idempotency_key, transfer.kind, legs), False
    return transfer, True


_SQL_CACHE: dict[tuple[str, int, int], str] = {}


def _posting_sql(shape: str, accounts: int, legs: int) -> str:
    """The posting statement of ``shape`` for ``accounts`` distinct accounts and ``legs`` legs (built once each).

    Both shapes take the same parameters: a row (id, balance delta, held delta, earned delta) per account, the
    transfer's columns, a row (account, bucket, amount, counts as earned) per leg. Both answer one row: the new
    transfer's id (NULL if nothing was written), how many of the accounts exist, how many of them are holders, and how
    many holder rows were updated.

    - ``"optimistic"`` (a posting with at most one holder: every award, spend, hold, release, expiry and their
      reversals). ``c`` reads the accounts as of the statement's start without locking them; ``t`` inserts the
      transfer if they all exist, at most one is a holder and it would stay at or above zero (``ON CONFLICT
      (idempotency_key) DO NOTHING``); ``u`` then updates that holder only if ``t`` wrote a row, and ``e`` writes
      the entries. ``u`` adds to the holder's latest committed figures (an UPDATE waits for and re-reads a row
      another transaction changed), so nothing is lost; if that other transaction spent the points meanwhile,
      the check constraint ``pointsaccount_holder_not_negative`` refuses the whole statement. One row lock, taken
      by the UPDATE itself: no lock order to keep, no deadlock.
    - ``"locking"`` (two or more holders, e.g. between two residents): ``l`` first locks the holders in
      primary-key order (``SELECT … ORDER BY id FOR UPDATE``, which returns their latest committed figures), so
      that two such postings cannot deadlock, and checks them before anything is written.
    """
    sql = _SQL_CACHE.get((shape, accounts, legs))
    if sql is not None:
        return sql
    qn = connection.ops.quote_name
    accounts_table, transfers_table = qn(PointsAccount._meta.db_table), qn(Transfer._meta.db_table)
    by_attname = {field.attname: field for field in Transfer._meta.concrete_fields}
    transfer_fields = [by_attname[name] for name in _TRANSFER_COLUMNS]
    delta_rows = ", ".join(["(%s::bigint, %s::bigint, %s::bigint, %s::bigint)"] * accounts)
    entry_rows = ", ".join(["(%s::bigint, %s::varchar, %s::bigint, %s::boolean)"] * legs)
    transfer_columns = ", ".join(qn(field.column) for field in transfer_fields)
    transfer_values = ", ".join(f"%s::{field.cast_db_type(connection)}" for field in transfer_fields)
    system = f"'{SYSTEM_KIND}'"
    stays_above_zero = "a.balance + v.db >= 0 AND a.held + v.dh >= 0 AND a.earned_total + v.de >= 0"
    # The parts both shapes share: the transfer inserted only when ``c`` allows it, the holders' new figures, the
    # entries written only if the transfer was, and the answer.
    figures = "balance = a.balance + v.db, held = a.held + v.dh, earned_total = a.earned_total + v.de"

    def transfer_if(condition: str) -> str:
        return f"""t AS (
                INSERT INTO {transfers_table} ({transfer_columns})
                SELECT {transfer_values} FROM c WHERE c.found = {accounts} AND {condition}
                ON CONFLICT ({qn("idempotency_key")}) DO NOTHING
                RETURNING id
            )"""

    entries_and_answer = f"""e AS (
                INSERT INTO {qn(Entry._meta.db_table)} (transfer_id, account_id, bucket, amount, counts_as_earned)
                SELECT t.id, x.account_id, x.bucket, x.amount, x.earned
                FROM t, (VALUES {entry_rows}) AS x(account_id, bucket, amount, earned)
            )
            SELECT (SELECT id FROM t), c.found, c.holders, (SELECT COUNT(*) FROM u) FROM c"""
    if shape == "optimistic":
        sql = f"""
            WITH v(id, db, dh, de) AS (VALUES {delta_rows}),
            c AS MATERIALIZED (
                SELECT COUNT(*) AS found, COUNT(*) FILTER (WHERE a.kind <> {system}) AS holders,
                       COALESCE(BOOL_AND(a.kind = {system} OR ({stays_above_zero})), TRUE) AS ok
                FROM {accounts_table} a JOIN v ON v.id = a.id
            ), {transfer_if("c.holders <= 1 AND c.ok")}, u AS (
                UPDATE {accounts_table} a SET {figures}
                FROM v WHERE a.id = v.id AND a.kind <> {system} AND EXISTS (SELECT 1 FROM t)
                RETURNING a.id
            ), {entries_and_answer}
        """
    else:
        sql = f"""
            WITH v(id, db, dh, de) AS (VALUES {delta_rows}),
            f AS MATERIALIZED (
                SELECT COUNT(*) AS found FROM {accounts_table} a JOIN v ON v.id = a.id
            ), l AS MATERIALIZED (
                SELECT a.id, a.balance, a.held, a.earned_total FROM {accounts_table} a
                WHERE a.id IN (SELECT v.id FROM v) AND a.kind <> {system} ORDER BY a.id FOR UPDATE
            ), c AS (
                SELECT f.found, COUNT(l.id) AS holders, COALESCE(BOOL_AND({stays_above_zero.replace("a.", "l.")}), TRUE)
                       AS ok
                FROM f LEFT JOIN (l JOIN v ON v.id = l.id) ON TRUE GROUP BY f.found
            ), {transfer_if("c.ok")}, u AS (
                UPDATE {accounts_table} a SET {figures}
                FROM l, v WHERE a.id = l.id AND v.id = l.id AND EXISTS (SELECT 1 FROM t)
                RETURNING a.id
            ), {entries_and_answer}
        """
    _SQL_CACHE[(shape, accounts, legs)] = sql
    return sql


class _PreparedCursor(psycopg.Cursor):
    """A psycopg cursor that binds parameters on the server and prepares each statement the first time it runs."""

    def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None):
        return super().execute(query, params, prepare=True, binary=binary)


# One prepared-statement cursor per open connection, reused: a cursor per statement cost more Python than the rest
# of a posting. Keyed weakly, so a closed connection takes its cursor with it.
_PREPARED_CURSORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def execute_prepared(sql: str, params: list | tuple) -> tuple | None:
    """Run ``sql`` (``%s`` placeholders) on PostgreSQL as a prepared statement of this connection; the first row.

    The statement is parsed and planned once per connection (planning the posting's CTE took longer than executing
    it) and its parameters travel bound, not spelled into the text: on these machines the Python of formatting 30
    literals cost about as much as the server executing the posting. Django's other queries keep its client-side
    cursor. What Django's cursor would do is done here too: the thread and broken-transaction checks, database
    errors raised as Django's, ``connection.execute_wrapper()`` wrappers (the statement then goes through Django's
    cursor wrapper) and, when queries are logged (query counts, DEBUG), the statement logged with its values
    spelled in. Set ``GONGZHI_POINTS_PREPARED=0`` (settings) behind a pooler in transaction mode, which cannot keep
    prepared statements: the statement then goes through Django's own cursor.
    """
    db = connections[DEFAULT_DB_ALIAS]
    if not settings.GONGZHI_POINTS_PREPARED:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone() if cursor.description is not None else None
    db.ensure_connection()
    db.validate_thread_sharing()
    raw = db.connection
    cursor = _PREPARED_CURSORS.get(raw)
    if cursor is None or cursor.closed:
        if raw.prepare_threshold is None:  # Django turns preparing off; only _PreparedCursor asks for it
            raw.prepare_threshold = 0
        cursor = _PREPARED_CURSORS[raw] = _PreparedCursor(raw)
    logged = db.queries_logged
    started = time.monotonic() if logged else 0.0
    try:
        if db.execute_wrappers:
            db.make_cursor(cursor).execute(sql, params)  # not closed: the cursor is kept for the next statement
        else:
            db.validate_no_broken_transaction()
            with db.wrap_database_errors:
                cursor.execute(sql, params)
        result = cursor.pgresult
        return cursor.fetchone() if result is not None and result.status == TUPLES_OK else None
    finally:
        if logged:  # as Django's debug cursor logs, with the values spelled in
            db.queries_log.append({"sql": db.ops.compose_sql(sql, params), "time": f"{time.monotonic() - started:.3f}"})


def _post_single_statement(values: tuple, legs: list[Leg]) -> tuple[Transfer, bool]:
    """The posting as one statement (see ``_posting_sql``). Nothing in it raises on a refusal, so an outer
    transaction stays usable; the one exception is a holder spent below zero by another transaction between the
    statement's start and its update, which the check constraint refuses (``InsufficientPoints`` all the same).
    """
    deltas = _deltas(legs)
    params: list[Any] = []
    for row in deltas:
        params += row
    params += values
    for leg in legs:
        params += (leg.account_id, leg.bucket, leg.amount, leg.counts_as_earned)
    shape = "optimistic"
    while True:
        try:
            row = execute_prepared(_posting_sql(shape, len(deltas), len(legs)), params)
        except IntegrityError as error:
            raise _refusal(error) from None
        transfer_id, found, holders, updated = row
        if transfer_id is not None:
            if updated != holders:  # cannot happen (see _posting_sql); refuse loudly rather than drift
                raise RuntimeError(f"posting {values[1]}: {updated} of {holders} accounts updated")
            return _transfer(values, transfer_id), True
        if shape == "optimistic" and found == len(deltas) and holders > 1:
            shape = "locking"  # nothing was written: two or more holders are locked in order first
            continue
        break
    if Transfer.objects.filter(idempotency_key=values[1]).exists():
        return _existing(values[1], values[0], legs), False
    if found != len(deltas):
        raise ValidationFailed(fields={"account": _("Unknown points account.")})
    raise PointsError.INSUFFICIENT_POINTS()


# ---------------------------------------------------------------- reversals and the shop's holds


def transfer_reverse(
    *,
    transfer: Transfer,
    actor: Actor | None,
    reason: str,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Transfer:
    """Post the mirror image of ``transfer`` (a transfer is reversed at most once). The original is untouched."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": _("Say why the transfer is reversed.")})
    if transfer.kind == TransferKind.REVERSAL:
        raise PointsError.REVERSAL_OF_REVERSAL()
    key = idempotency_key or f"reverse:{transfer.pk}"
    if Transfer.objects.filter(reverses=transfer).exclude(idempotency_key=key).exists():
        raise PointsError.ALREADY_REVERSED()
    legs = [
        Leg(account_id, -amount, bucket, earned)
        for account_id, amount, bucket, earned in transfer.entries.values_list(
            "account_id", "amount", "bucket", "counts_as_earned"
        )
    ]
    reversal, _created = post_transfer(
        kind=TransferKind.REVERSAL,
        idempotency_key=key,
        legs=legs,
        actor=actor,
        source_type=transfer.source_type,
        source_id=transfer.source_id,
        memo=reason[:255],
        reverses=transfer,
        now=now,
    )
    return reversal


def _positive(amount: int) -> int:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationFailed(fields={"amount": _("Enter a whole number of points greater than zero.")})
    return amount


def points_hold(
    *,
    account: PointsAccount,
    amount: int,
    idempotency_key: str,
    actor: Actor | None,
    source_type: str = "",
    source_id: str = "",
    now: datetime | None = None,
) -> Transfer:
    """Reserve ``amount`` of the account's balance (balance → held on the same account)."""
    amount = _positive(amount)
    transfer, _created = post_transfer(
        kind=TransferKind.HOLD,
        idempotency_key=idempotency_key,
        legs=[Leg(account.pk, -amount, BALANCE), Leg(account.pk, amount, HELD)],
        actor=actor,
        source_type=source_type,
        source_id=source_id,
        now=now,
    )
    return transfer


def points_capture(
    *,
    account: PointsAccount,
    amount: int,
    idempotency_key: str,
    actor: Actor | None,
    source_type: str = "",
    source_id: str = "",
    now: datetime | None = None,
) -> Transfer:
    """Spend held points (held → the "spent" system account)."""
    amount = _positive(amount)
    transfer, _created = post_transfer(
        kind=TransferKind.CAPTURE,
        idempotency_key=idempotency_key,
        legs=[Leg(account.pk, -amount, HELD), Leg(system_account("spent").pk, amount, BALANCE)],
        actor=actor,
        source_type=source_type,
        source_id=source_id,
        now=now,
    )
    return transfer


def points_release(
    *,
    account: PointsAccount,
    amount: int,
    idempotency_key: str,
    actor: Actor | None,
    source_type: str = "",
    source_id: str = "",
    now: datetime | None = None,
) -> Transfer:
    """Give held points back to the balance (held → balance on the same account)."""
    amount = _positive(amount)
    transfer, _created = post_transfer(
        kind=TransferKind.RELEASE,
        idempotency_key=idempotency_key,
        legs=[Leg(account.pk, -amount, HELD), Leg(account.pk, amount, BALANCE)],
        actor=actor,
        source_type=source_type,
        source_id=source_id,
        now=now,
    )
    return transfer


# ---------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figures:
    balance: int
    held: int
    earned_total: int


def account_figures(account: PointsAccount) -> Figures:
    """The account's balance, held and earned total as of now.

    A holder's figures are stored on its row (kept by every posting). A system account's are summed from its
    entries: they are the other side of every posting, and storing them would make every award in the district
    wait for one row.
    """
    if account.kind != AccountKind.SYSTEM:
        stored = PointsAccount.objects.values_list("balance", "held", "earned_total").get(pk=account.pk)
        return Figures(*stored)
    sums = Entry.objects.filter(account_id=account.pk).aggregate(
        balance=Sum("amount", filter=Q(bucket=BALANCE), default=0),
        held=Sum("amount", filter=Q(bucket=HELD), default=0),
        earned_total=Sum("amount", filter=Q(counts_as_earned=True), default=0),
    )
    return Figures(int(sums["balance"]), int(sums["held"]), int(sums["earned_total"]))


# ---------------------------------------------------------------- the check


def ledger_check() -> list[str]:
    """Recompute every account's balance, held and earned total from its entries; describe every drift."""
    qn = connection.ops.quote_name
    accounts, entries, transfers = (
        qn(PointsAccount._meta.db_table),
        qn(Entry._meta.db_table),
        qn(Transfer._meta.db_table),
    )
    problems: list[str] = []
    with connection.cursor() as cursor:
        # A holder's stored figures must equal the sums of its entries; a system account stores none (all zero).
        cursor.execute(
            f"""
            SELECT id, display_name, balance, held, earned_total, e_balance, e_held, e_earned FROM (
                SELECT a.id, a.display_name, a.balance, a.held, a.earned_total,
                       CASE WHEN a.kind = %s THEN 0 ELSE COALESCE(s.balance, 0) END AS e_balance,
                       CASE WHEN a.kind = %s THEN 0 ELSE COALESCE(s.held, 0) END AS e_held,
                       CASE WHEN a.kind = %s THEN 0 ELSE COALESCE(s.earned, 0) END AS e_earned
                FROM {accounts} a LEFT JOIN (
                    SELECT account_id,
                           SUM(CASE WHEN bucket = 'balance' THEN amount ELSE 0 END) AS balance,
                           SUM(CASE WHEN bucket = 'held' THEN amount ELSE 0 END) AS held,
                           SUM(CASE WHEN counts_as_earned THEN amount ELSE 0 END) AS earned
                    FROM {entries} GROUP BY account_id
                ) s ON s.account_id = a.id
            ) figures
            WHERE balance <> e_balance OR held <> e_held OR earned_total <> e_earned
            ORDER BY id
            """,
            [SYSTEM_KIND] * 3,
        )
        for account_id, name, balance, held, earned, e_balance, e_held, e_earned in cursor.fetchall():
            problems.append(
                f"account {account_id} ({name}): balance {balance} but entries say {e_balance}; "
                f"held {held} / {e_held}; earned {earned} / {e_earned}"
            )
        cursor.execute(
            f"""
            SELECT t.id, t.idempotency_key, COALESCE(SUM(e.amount), 0), COUNT(e.id)
            FROM {transfers} t LEFT JOIN {entries} e ON e.transfer_id = t.id
            GROUP BY t.id, t.idempotency_key
            HAVING COALESCE(SUM(e.amount), 0) <> 0 OR COUNT(e.id) < 2
            ORDER BY t.id
            """
        )
        for transfer_id, key, total, count in cursor.fetchall():
            problems.append(f"transfer {transfer_id} ({key}): {count} entries adding up to {total}, not zero")
        # Entries carry no foreign-key constraints (migration 0007): every one must still name a real transfer and
        # a real account.
        cursor.execute(
            f"""
            SELECT e.id, e.transfer_id, e.account_id, t.id IS NULL, a.id IS NULL
            FROM {entries} e
            LEFT JOIN {transfers} t ON t.id = e.transfer_id
            LEFT JOIN {accounts} a ON a.id = e.account_id
            WHERE t.id IS NULL OR a.id IS NULL
            ORDER BY e.id
            """
        )
        for entry_id, transfer_id, account_id, no_transfer, no_account in cursor.fetchall():
            gone = [f"transfer {transfer_id}"] if no_transfer else []
            gone += [f"account {account_id}"] if no_account else []
            missing = " and ".join(gone)
            problems.append(f"entry {entry_id}: {missing} does not exist")
    return problems


__all__ = [
    "Figures",
    "InsufficientPoints",
    "Leg",
    "account_figures",
    "account_for_organisation",
    "account_for_resident",
    "ledger_check",
    "points_capture",
    "points_hold",
    "points_release",
    "post_transfer",
    "system_account",
    "transfer_reverse",
]
