"""The points ledger: append-only double-entry transfers between points accounts.

Every change of a balance is a transfer written in the same transaction as the change (shared/design.md rule 4):

- ``post_transfer`` moves ``balance`` / ``held`` / ``earned_total`` with SQL arithmetic, inserts the transfer and
  its entries and writes the audit entry. Holder accounts never go below zero: the database's check constraint
  ``pointsaccount_holder_not_negative`` refuses it and the caller gets ``InsufficientPoints``, nothing written.
- Every transfer has a unique idempotency key. Posting the same key again returns the transfer already posted
  (``created=False``) when the legs match, and refuses with ``idempotency_conflict`` when they do not.
- Corrections are new transfers (``transfer_reverse``); transfers and entries are never updated or deleted
  (database triggers refuse it, migration 0002).
- ``ledger_check`` recomputes every account from its entries; there must be no drift.

Two implementations of the same posting, with identical results (tests run both):

- PostgreSQL: **one statement**. A CTE inserts the transfer (``ON CONFLICT (idempotency_key) DO NOTHING``), locks
  the accounts in primary-key order (``SELECT … ORDER BY id FOR UPDATE``), updates them only if the transfer row
  was inserted, inserts the entries and the audit entry. One round trip instead of five or six; round trips,
  not fsync, are what a posting costs on these machines (design.md, "Speed").
- Anything else (SQLite, which takes its write lock at BEGIN): the same steps as separate ORM statements inside
  one transaction, accounts updated in primary-key order with guarded ``UPDATE … WHERE balance + x >= 0``.

A posting inside an outer ``transaction.atomic()`` joins that transaction without a savepoint of its own; a refused
posting therefore spoils the outer block (Django refuses further queries until it ends). Callers that want to
carry on after a refusal wrap the call in an ``atomic()`` of their own (``claims_review_batch`` does).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gongzhi.core.audit import audit_entry
from gongzhi.core.errors import Conflict, DomainError, ValidationFailed
from gongzhi.core.models import AuditEntry

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


class InsufficientPoints(DomainError):
    status = 409
    code = "insufficient_points"
    default_message = gettext_lazy("There are not enough points for this.")


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


def _community_of(place: Any):
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
            "community": _community_of(household),
            "place_path": household.path if household is not None else "",
            "display_name": resident.name,
        },
    )


def account_for_organisation(organisation: Any) -> PointsAccount:
    """The organisation's points account, created on first use."""
    return _get_or_create(
        {"kind": AccountKind.ORGANISATION, "organisation": organisation},
        {
            "community": _community_of(organisation.place),
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
        raise Conflict(_("This idempotency key was already used for a different posting."), code="idempotency_conflict")
    return transfer


def _audit_for(transfer: Transfer, legs: list[Leg], actor: Any) -> AuditEntry:
    entry = audit_entry(
        actor=actor,
        action="points.transfer",
        changes={
            "kind": transfer.kind,
            "key": transfer.idempotency_key,
            "source": f"{transfer.source_type}:{transfer.source_id}" if transfer.source_type else "",
            "reverses": transfer.reverses_id,
            "legs": [[leg.account_id, leg.amount, leg.bucket, leg.counts_as_earned] for leg in legs],
        },
    )
    entry.object_type = Transfer._meta.label_lower
    entry.occurred_at = transfer.created_at
    return entry


def post_transfer(
    *,
    kind: str,
    idempotency_key: str,
    legs: list[Leg],
    actor: Any,
    source_type: str = "",
    source_id: str = "",
    memo: str = "",
    reverses: Transfer | None = None,
    effective_date: date | None = None,
) -> tuple[Transfer, bool]:
    """Post one transfer; returns (transfer, created). See the module docstring for the guarantees."""
    if kind not in TransferKind.values:
        raise ValidationFailed(fields={"kind": _("Unknown kind of transfer.")})
    key = (idempotency_key or "").strip()
    if not key or len(key) > 120:
        raise ValidationFailed(fields={"idempotency_key": _("Every posting needs an idempotency key (at most 120).")})
    legs = _normalise(legs)
    actor_id = getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None
    transfer = Transfer(
        kind=kind,
        idempotency_key=key,
        source_type=source_type[:40],
        source_id=str(source_id)[:64],
        reverses=reverses,
        actor_id=actor_id,
        memo=memo[:255],
        effective_date=effective_date or timezone.localdate(),
        created_at=timezone.now(),
    )
    if connection.vendor == "postgresql" and USE_SINGLE_STATEMENT:
        return _post_single_statement(transfer, legs, actor)
    return _post_generic(transfer, legs, actor)


class _AlreadyPosted(Exception):
    pass


def _refusal(error: IntegrityError) -> DomainError:
    text = str(error)
    if "pointsaccount_holder_not_negative" in text or "CHECK constraint failed" in text:
        return InsufficientPoints()
    if "reverses" in text:
        return Conflict(_("This transfer has already been reversed."), code="already_reversed")
    raise error


def _post_generic(transfer: Transfer, legs: list[Leg], actor: Any) -> tuple[Transfer, bool]:
    try:
        with transaction.atomic():
            if Transfer.objects.filter(idempotency_key=transfer.idempotency_key).exists():
                raise _AlreadyPosted
            for account_id, balance, held, earned in _deltas(legs):
                guard = Q(kind=AccountKind.SYSTEM) | Q(
                    balance__gte=-balance, held__gte=-held, earned_total__gte=-earned
                )
                updated = (
                    PointsAccount.objects.filter(pk=account_id)
                    .filter(guard)
                    .update(
                        balance=F("balance") + balance, held=F("held") + held, earned_total=F("earned_total") + earned
                    )
                )
                if not updated:
                    if not PointsAccount.objects.filter(pk=account_id).exists():
                        raise ValidationFailed(fields={"account": _("Unknown points account.")})
                    raise InsufficientPoints()
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
            entry = _audit_for(transfer, legs, actor)
            entry.object_id = str(transfer.pk)
            entry.save()
    except _AlreadyPosted:
        return _existing(transfer.idempotency_key, transfer.kind, legs), False
    return transfer, True


_TRANSFER_COLUMNS = (
    "kind",
    "idempotency_key",
    "source_type",
    "source_id",
    "reverses",
    "actor",
    "memo",
    "effective_date",
    "created_at",
)
_SQL_CACHE: dict[tuple[int, int], str] = {}


def _transfer_fields() -> list:
    return [Transfer._meta.get_field(name) for name in _TRANSFER_COLUMNS]


def _audit_fields() -> list:
    return [field for field in AuditEntry._meta.concrete_fields if not field.primary_key]


def _posting_sql(accounts: int, legs: int) -> str:
    """The statement for ``accounts`` distinct accounts and ``legs`` legs (built once per shape)."""
    sql = _SQL_CACHE.get((accounts, legs))
    if sql is not None:
        return sql
    qn = connection.ops.quote_name

    def cast(field: Any) -> str:
        return field.cast_db_type(connection)

    accounts_table = qn(PointsAccount._meta.db_table)
    transfer_fields, audit_fields = _transfer_fields(), _audit_fields()
    delta_rows = ", ".join(["(%s::bigint, %s::bigint, %s::bigint, %s::bigint)"] * accounts)
    entry_rows = ", ".join(["(%s::bigint, %s::varchar, %s::bigint, %s::boolean)"] * legs)
    transfer_columns = ", ".join(qn(field.column) for field in transfer_fields)
    transfer_values = ", ".join(f"%s::{cast(field)}" for field in transfer_fields)
    audit_columns = ", ".join(qn(field.column) for field in audit_fields)
    audit_values = ", ".join(
        "t.id::varchar" if field.attname == "object_id" else f"%s::{cast(field)}" for field in audit_fields
    )
    sql = f"""
        WITH v(id, db, dh, de) AS (VALUES {delta_rows}),
        l AS MATERIALIZED (
            SELECT a.id, a.kind, a.balance, a.held, a.earned_total FROM {accounts_table} a
            WHERE a.id = ANY(%s::bigint[]) ORDER BY a.id FOR UPDATE
        ), ok AS (
            SELECT COUNT(*) = {accounts} AND COALESCE(BOOL_AND(
                l.kind = %s OR (l.balance + v.db >= 0 AND l.held + v.dh >= 0 AND l.earned_total + v.de >= 0)
            ), FALSE) AS ok, COUNT(*) AS found
            FROM l JOIN v ON v.id = l.id
        ), t AS (
            INSERT INTO {qn(Transfer._meta.db_table)} ({transfer_columns})
            SELECT {transfer_values} FROM ok WHERE ok.ok
            ON CONFLICT ({qn("idempotency_key")}) DO NOTHING
            RETURNING id
        ), u AS (
            UPDATE {accounts_table} a
            SET balance = a.balance + v.db, held = a.held + v.dh, earned_total = a.earned_total + v.de
            FROM v WHERE a.id = v.id AND EXISTS (SELECT 1 FROM t)
            RETURNING a.id
        ), e AS (
            INSERT INTO {qn(Entry._meta.db_table)} (transfer_id, account_id, bucket, amount, counts_as_earned)
            SELECT t.id, x.account_id, x.bucket, x.amount, x.earned
            FROM t, (VALUES {entry_rows}) AS x(account_id, bucket, amount, earned)
        ), au AS (
            INSERT INTO {qn(AuditEntry._meta.db_table)} ({audit_columns}) SELECT {audit_values} FROM t
        )
        SELECT (SELECT id FROM t), ok.ok, ok.found, (SELECT COUNT(*) FROM u) FROM ok
    """
    _SQL_CACHE[(accounts, legs)] = sql
    return sql


def execute_prepared(cursor: Any, name: str, sql: str, params: list) -> None:
    """Run ``sql`` as a server-side prepared statement of this session (PREPARE once, then EXECUTE).

    Planning the posting's CTE took longer than executing it (0.28 against 0.24 ms); a prepared statement is planned
    once per connection. Both statements go through Django's cursor, so query counts and captures still see them.
    Turn it off (``GONGZHI_POINTS_PREPARED = False``) behind a pooler in transaction mode, which cannot keep
    prepared statements.
    """
    if not getattr(settings, "GONGZHI_POINTS_PREPARED", True):
        cursor.execute(sql, params)
        return
    raw = connection.connection
    known = getattr(raw, "_gongzhi_prepared", None)
    if known is None:
        known = set()
        raw._gongzhi_prepared = known
    if name not in known:
        numbered = iter(range(1, len(params) + 1))
        body = re.sub(r"%s", lambda _match: f"${next(numbered)}", sql)
        cursor.execute(f"PREPARE {name} AS {body}")
        known.add(name)
    cursor.execute(f"EXECUTE {name}({', '.join(['%s'] * len(params))})", params)


def _post_single_statement(transfer: Transfer, legs: list[Leg], actor: Any) -> tuple[Transfer, bool]:
    """The posting as one statement. Nothing in it raises on a refusal, so an outer transaction stays usable:

    ``l`` locks the accounts in primary-key order (``FOR UPDATE`` returns the latest committed values),
    ``ok`` says whether every holder stays at or above zero, ``t`` inserts the transfer only if ok (and the key is
    new), and the balances, entries and audit entry are written only if ``t`` inserted a row.
    """
    deltas = _deltas(legs)
    params: list[Any] = []
    for row in deltas:
        params += row
    params += [[row[0] for row in deltas], AccountKind.SYSTEM.value]
    params += [field.get_db_prep_save(getattr(transfer, field.attname), connection) for field in _transfer_fields()]
    for leg in legs:
        params += [leg.account_id, leg.bucket, leg.amount, leg.counts_as_earned]
    audit = _audit_for(transfer, legs, actor)
    params += [
        field.get_db_prep_save(getattr(audit, field.attname), connection)
        for field in _audit_fields()
        if field.attname != "object_id"
    ]
    try:
        with connection.cursor() as cursor:
            execute_prepared(
                cursor, f"points_post_{len(deltas)}_{len(legs)}", _posting_sql(len(deltas), len(legs)), params
            )
            transfer_id, _ok, found, updated = cursor.fetchone()
    except IntegrityError as error:
        raise _refusal(error) from None
    if transfer_id is not None:
        if updated != len(deltas):  # cannot happen: the rows are locked; refuse loudly rather than drift
            raise RuntimeError(f"posting {transfer.idempotency_key}: {updated} of {len(deltas)} accounts updated")
        transfer.pk = transfer_id
        transfer._state.adding = False
        return transfer, True
    if Transfer.objects.filter(idempotency_key=transfer.idempotency_key).exists():
        return _existing(transfer.idempotency_key, transfer.kind, legs), False
    if found != len(deltas):
        raise ValidationFailed(fields={"account": _("Unknown points account.")})
    raise InsufficientPoints()


# ---------------------------------------------------------------- reversals and the shop's holds


def transfer_reverse(*, transfer: Transfer, actor: Any, reason: str, idempotency_key: str | None = None) -> Transfer:
    """Post the mirror image of ``transfer`` (a transfer is reversed at most once). The original is untouched."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": _("Say why the transfer is reversed.")})
    if transfer.kind == TransferKind.REVERSAL:
        raise Conflict(_("A reversal cannot itself be reversed; post a new transfer."), code="reversal_of_reversal")
    key = idempotency_key or f"reverse:{transfer.pk}"
    if Transfer.objects.filter(reverses=transfer).exclude(idempotency_key=key).exists():
        raise Conflict(_("This transfer has already been reversed."), code="already_reversed")
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
    )
    return reversal


def _positive(amount: int) -> int:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationFailed(fields={"amount": _("Enter a whole number of points greater than zero.")})
    return amount


def points_hold(
    *, account: PointsAccount, amount: int, idempotency_key: str, actor: Any, source_type: str = "", source_id: str = ""
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
    )
    return transfer


def points_capture(
    *, account: PointsAccount, amount: int, idempotency_key: str, actor: Any, source_type: str = "", source_id: str = ""
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
    )
    return transfer


def points_release(
    *, account: PointsAccount, amount: int, idempotency_key: str, actor: Any, source_type: str = "", source_id: str = ""
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
    )
    return transfer


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
        cursor.execute(
            f"""
            SELECT a.id, a.display_name, a.balance, a.held, a.earned_total,
                   COALESCE(s.balance, 0), COALESCE(s.held, 0), COALESCE(s.earned, 0)
            FROM {accounts} a LEFT JOIN (
                SELECT account_id,
                       SUM(CASE WHEN bucket = 'balance' THEN amount ELSE 0 END) AS balance,
                       SUM(CASE WHEN bucket = 'held' THEN amount ELSE 0 END) AS held,
                       SUM(CASE WHEN counts_as_earned THEN amount ELSE 0 END) AS earned
                FROM {entries} GROUP BY account_id
            ) s ON s.account_id = a.id
            WHERE a.balance <> COALESCE(s.balance, 0) OR a.held <> COALESCE(s.held, 0)
               OR a.earned_total <> COALESCE(s.earned, 0)
            ORDER BY a.id
            """
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
    return problems


__all__ = [
    "InsufficientPoints",
    "Leg",
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
