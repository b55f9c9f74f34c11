"""Rankings: by place (community, grid, street, district: any subtree), by kind of account, for a month, a quarter,
a year or all time; and "my rank" for any account. Public reads: people's names are masked (organisations and
volunteer teams are named in full, ``public_name``), only approved points count.

Scores
------
- all time: ``PointsAccount.earned_total`` (awards minus reversals; redemptions do not lower it);
- a period ("2026", "2026-Q3", "2026-11"): the sum of the entries that count as earned whose transfer is dated
  (``effective_date``) in the period, net of reversals dated in it. Only holder accounts that are active rank.

Ties share a rank (standard competition ranking, "1224"): rank = 1 + the number of accounts in the scope with a
strictly higher score. Every account in the scope is ranked, those with no points at the bottom, tied.

"My rank" among a million accounts
----------------------------------
Counting the accounts above a score means reading every one of them: half a million index entries for an account
in the middle of a district, far more than the 20 ms we allow. Districts, streets and communities therefore
answer from ``RankBucket``: a histogram of scores per (scope, kind) with the number of accounts above each score,
rebuilt by the job ``points.refresh_rankings`` (hourly) as of a moment ``W`` a little before the run. The rank is

    1 + above_W(my score)                            one index lookup in the histogram
      + Σ over accounts whose earned points moved since W:  [score now > mine] − [score at W > mine]

The second line is exact for every account it looks at, whether or not it really moved, so looking at a few too
many is harmless: it reads the accounts with an earning entry in a transfer created since W, and recovers their
score at W as ``earned_total − (their entries since W)``. The histogram itself is built the same way (one
statement per scope, so one snapshot), which makes it exact provided no posting stays uncommitted for longer than
the margin between W and the run (15 minutes). Grids and smaller places (a few hundred accounts) are counted live.
Accounts created after the refresh are added to the total by id. Two things the refresh catches up with only at
its next run: an account moved to another place, and one deactivated without a posting.
Measured in docs/performance.md ("Rankings"), with benchmarks/rank_bench.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Sum, Window
from django.db.models.functions import Rank
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.masking import mask_name
from gongzhi.core.tree import path_upper_bound, subtree_q
from gongzhi.places.models import Place, PlaceKind

from .models import HOLDER_KINDS, AccountKind, Entry, PointsAccount, RankBucket, Transfer

# Scopes answered from the histogram; smaller places are counted live.
BUCKET_SCOPE_KINDS = (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY)
# How far before the refresh the histogram is taken: longer than any posting transaction stays open.
SNAPSHOT_MARGIN = timedelta(minutes=15)
MAX_LIMIT = 200
# Places a ranking is shown for (public pages, the API, "my rank").
RANKING_KINDS = (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.GRID)
# Kinds of account held by a person (the annual "good neighbour" is chosen among them).
PERSON_KINDS = [AccountKind.RESIDENT, AccountKind.PARTY_MEMBER]


def public_name(name: str | None, kind: str) -> str:
    """The name a public list shows: a person's masked ("张*"), an organisation's or a team's in full."""
    return mask_name(name) if kind in PERSON_KINDS else (name or "").strip()


@dataclass(frozen=True)
class Period:
    """A ranking period: ``key`` "all", or dates ``start`` (inclusive) to ``end`` (exclusive)."""

    key: str
    start: date | None = None
    end: date | None = None

    @property
    def is_all_time(self) -> bool:
        return self.start is None


def parse_period(value: str | None) -> Period:
    """ "all" (or empty), "2026", "2026-Q3", "2026-11" → Period; anything else is a validation error."""
    text = (value or "all").strip().upper()
    if text == "ALL":
        return Period("all")
    try:
        if match := re.fullmatch(r"(\d{4})", text):
            year = int(match[1])
            return Period(text, date(year, 1, 1), date(year + 1, 1, 1))
        if match := re.fullmatch(r"(\d{4})-Q([1-4])", text):
            year, quarter = int(match[1]), int(match[2])
            start = date(year, 3 * quarter - 2, 1)
            return Period(text, start, _add_months(start, 3))
        if match := re.fullmatch(r"(\d{4})-(\d{2})", text):
            start = date(int(match[1]), int(match[2]), 1)
            return Period(text, start, _add_months(start, 1))
    except ValueError:
        pass
    raise ValidationFailed(
        fields={"period": _('Write the period as "all", a year "2026", a quarter "2026-Q3" or a month "2026-11".')}
    )


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _kinds(kind: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """The kinds of account ranked: one kind, a list of kinds, or every kind of holder (None)."""
    if not kind:
        return [str(k) for k in HOLDER_KINDS]
    kinds = [kind] if isinstance(kind, str) else list(kind)
    if any(k not in HOLDER_KINDS for k in kinds):
        raise ValidationFailed(fields={"kind": _("Unknown kind of account.")})
    return sorted(str(k) for k in kinds)


def _accounts(place: Place, kinds: list[str]):
    return PointsAccount.objects.filter(subtree_q(place.path, "place_path"), kind__in=kinds, is_active=True)


def _period_entries(place: Place, kinds: list[str], period: Period):
    return Entry.objects.filter(
        subtree_q(place.path, "account__place_path"),
        account__kind__in=kinds,
        account__is_active=True,
        counts_as_earned=True,
        transfer__effective_date__gte=period.start,
        transfer__effective_date__lt=period.end,
    )


# ---------------------------------------------------------------- counting


@dataclass(frozen=True)
class _Count:
    above: int
    total: int


def _count_above_live(place: Place, kinds: list[str], score: int) -> _Count:
    accounts = _accounts(place, kinds)
    return _Count(above=accounts.filter(earned_total__gt=score).count(), total=accounts.count())


def _kind_key(kinds: list[str]) -> str | None:
    """The histogram's kind for ``kinds``: one kind, "" for every kind of holder, None when it has none."""
    if len(kinds) == 1:
        return kinds[0]
    if set(kinds) == {str(k) for k in HOLDER_KINDS}:
        return ""
    return None


def _in_scope_sql(place: Place) -> tuple[str, list[Any]]:
    """The subtree condition on ``a.place_path`` as SQL (see core.tree: LIKE on PostgreSQL, a range on SQLite)."""
    if connection.vendor == "postgresql":
        return "a.place_path LIKE %s", [place.path + "%"]
    return "a.place_path >= %s AND a.place_path < %s", [place.path, path_upper_bound(place.path)]


def _bucket_count(
    place: Place, kinds: list[str], *, score: int | None = None, account_id: int | None = None
) -> tuple[int, _Count] | None:
    """(score, count) from the histogram corrected by the accounts that moved since it was taken; the score is
    ``score`` or the earned total of ``account_id``. None when the scope has no histogram yet.

    Two short statements: the first reads the score and the histogram (index lookups); the second, given the
    histogram's moment and last account id as constants (so the planner sees how few rows lie beyond them),
    corrects for the accounts that moved since and counts those created since.
    """
    kind_key = _kind_key(kinds)
    if kind_key is None or place.kind not in BUCKET_SCOPE_KINDS:
        return None
    qn = connection.ops.quote_name
    accounts, entries = qn(PointsAccount._meta.db_table), qn(Entry._meta.db_table)
    transfers, buckets = qn(Transfer._meta.db_table), qn(RankBucket._meta.db_table)
    if account_id is not None:
        me, me_params = f"SELECT earned_total AS score FROM {accounts} WHERE id = %s", [account_id]
    else:
        me, me_params = "SELECT %s AS score", [int(score)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH me AS ({me})
            SELECT (SELECT score FROM me), m.taken_at, m.max_account_id, m.total,
                   (SELECT b.above + b.accounts FROM {buckets} b, me
                    WHERE b.scope_id = %s AND b.kind = %s AND b.score > me.score ORDER BY b.score LIMIT 1)
            FROM {buckets} m WHERE m.scope_id = %s AND m.kind = %s LIMIT 1
            """,
            [*me_params, place.pk, kind_key, place.pk, kind_key],
        )
        row = cursor.fetchone()
        if row is None or row[0] is None:
            return None
        my_score, taken_at, max_account_id, total, above = row
        # The moved accounts come from the recent transfers (index on created_at), then one primary-key lookup
        # each; the scope is tested with substr() rather than LIKE on purpose, so the planner never trades those
        # few lookups for a scan of the whole scope (its estimate of a path prefix is poor).
        kind_list = ", ".join(["%s"] * len(kinds))
        in_scope = "substr(a.place_path, 1, %s) = %s"
        scope_params = [len(place.path), place.path]
        materialized = "MATERIALIZED " if connection.vendor == "postgresql" else ""
        cursor.execute(
            f"""
            WITH recent AS {materialized}(
                SELECT e.account_id, SUM(e.amount) AS since
                FROM {transfers} t JOIN {entries} e ON e.transfer_id = t.id
                WHERE t.created_at >= %s AND e.counts_as_earned
                GROUP BY e.account_id
            )
            SELECT (SELECT SUM(CASE WHEN a.earned_total > %s THEN 1 ELSE 0 END
                               - CASE WHEN a.id <= %s AND a.earned_total - r.since > %s THEN 1 ELSE 0 END)
                    FROM recent r JOIN {accounts} a ON a.id = r.account_id
                    WHERE a.kind IN ({kind_list}) AND a.is_active AND {in_scope}),
                   (SELECT COUNT(*) FROM {accounts} a
                    WHERE a.id > %s AND a.kind IN ({kind_list}) AND a.is_active AND {in_scope})
            """,
            [
                connection.ops.adapt_datetimefield_value(taken_at),
                my_score,
                max_account_id,
                my_score,
                *kinds,
                *scope_params,
                max_account_id,
                *kinds,
                *scope_params,
            ],
        )
        correction, newcomers = cursor.fetchone()
    counted = _Count(above=int(above or 0) + int(correction or 0), total=int(total) + int(newcomers or 0))
    return int(my_score), counted


def _count_above_all_time(place: Place, kinds: list[str], score: int) -> _Count:
    answered = _bucket_count(place, kinds, score=score)
    return answered[1] if answered is not None else _count_above_live(place, kinds, score)


def _count_above_period(place: Place, kinds: list[str], period: Period, score: int) -> _Count:
    grouped = _period_entries(place, kinds, period).values("account_id").annotate(points=Sum("amount"))
    total = _accounts(place, kinds).count()
    if score < 0:
        # Accounts without an entry in the period stand at 0, above a negative score: count those at or below.
        return _Count(above=total - grouped.filter(points__lte=score).count(), total=total)
    return _Count(above=grouped.filter(points__gt=score).count(), total=total)


# ---------------------------------------------------------------- public selectors


@dataclass(frozen=True)
class RankRow:
    rank: int
    account_id: int
    masked_name: str
    kind: str
    points: int


@dataclass(frozen=True)
class MyRank:
    rank: int
    total_accounts: int
    points: int

    def __iter__(self):
        return iter((self.rank, self.total_accounts, self.points))


def ranking(
    *, place: Place, kind: str | list[str] | None = None, period: str = "all", limit: int = 50, offset: int = 0
) -> list[RankRow]:
    """The accounts with points in ``place``'s subtree, best first, with their competition rank; names masked."""
    kinds = _kinds(kind)
    parsed = parse_period(period)
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = max(0, int(offset))
    if parsed.is_all_time:
        page = list(
            _accounts(place, kinds)
            .filter(earned_total__gt=0)
            .order_by("-earned_total", "id")
            .values_list("id", "display_name", "kind", "earned_total")[offset : offset + limit]
        )
        if not page:
            return []
        first_rank = 1 + _count_above_all_time(place, kinds, page[0][3]).above
        return _with_ranks(page, first_rank, offset)
    rows = (
        _period_entries(place, kinds, parsed)
        .values("account_id")
        .annotate(points=Sum("amount"))
        .filter(points__gt=0)
        .annotate(rank=Window(Rank(), order_by=F("points").desc()))
        .order_by("-points", "account_id")
        .values_list("account_id", "points", "rank")[offset : offset + limit]
    )
    rows = list(rows)
    names = dict(
        (pk, (name, account_kind))
        for pk, name, account_kind in PointsAccount.objects.filter(pk__in=[r[0] for r in rows]).values_list(
            "pk", "display_name", "kind"
        )
    )
    return [
        RankRow(rank=rank, account_id=pk, masked_name=public_name(*names[pk]), kind=names[pk][1], points=int(points))
        for pk, points, rank in rows
    ]


def _with_ranks(page: list[tuple], first_rank: int, offset: int) -> list[RankRow]:
    rows = []
    rank, previous = first_rank, None
    for position, (pk, name, account_kind, points) in enumerate(page, start=offset + 1):
        if previous is not None and points != previous:
            rank = position
        previous = points
        shown = public_name(name, account_kind)
        rows.append(RankRow(rank=rank, account_id=pk, masked_name=shown, kind=account_kind, points=points))
    return rows


def account_period_points(account: PointsAccount, period: str | Period = "all") -> int:
    """The account's score for ``period`` ("all" = its earned total)."""
    parsed = parse_period(period) if isinstance(period, str) else period
    if parsed.is_all_time:
        return int(PointsAccount.objects.values_list("earned_total", flat=True).get(pk=account.pk))
    total = Entry.objects.filter(
        account=account,
        counts_as_earned=True,
        transfer__effective_date__gte=parsed.start,
        transfer__effective_date__lt=parsed.end,
    ).aggregate(points=Sum("amount"))["points"]
    return int(total or 0)


def my_rank(
    *, account: PointsAccount, place: Place, kind: str | list[str] | None = None, period: str = "all"
) -> MyRank:
    """(rank, total accounts, points) of ``account`` among the accounts of ``kind`` in ``place``'s subtree.

    NotFound when the account does not rank there (another place, another kind, a system account).
    """
    kinds = _kinds(kind)
    if account.kind not in kinds or not account.place_path.startswith(place.path) or not account.is_active:
        raise NotFound()
    parsed = parse_period(period)
    if parsed.is_all_time:
        answered = _bucket_count(place, kinds, account_id=account.pk)  # one statement in large scopes
        if answered is not None:
            points, counted = answered
            return MyRank(rank=counted.above + 1, total_accounts=counted.total, points=points)
    points = account_period_points(account, parsed)
    if parsed.is_all_time:
        counted = _count_above_live(place, kinds, points)
    else:
        counted = _count_above_period(place, kinds, parsed, points)
    return MyRank(rank=counted.above + 1, total_accounts=counted.total, points=points)


# ---------------------------------------------------------------- the histogram


def _refresh_sql(scope: Place, taken_at: datetime) -> tuple[str, list[Any]]:
    """One statement (one snapshot) that writes ``scope``'s histogram as of ``taken_at``: each account's score at
    that moment is its earned total minus its earning entries in transfers created since."""
    qn = connection.ops.quote_name
    accounts, entries = qn(PointsAccount._meta.db_table), qn(Entry._meta.db_table)
    transfers, buckets = qn(Transfer._meta.db_table), qn(RankBucket._meta.db_table)
    in_scope, scope_params = _in_scope_sql(scope)
    kinds = [str(k) for k in HOLDER_KINDS]
    moment = connection.ops.adapt_datetimefield_value(taken_at)
    sql = f"""
        WITH recent AS (
            SELECT e.account_id, SUM(e.amount) AS amount
            FROM {entries} e JOIN {transfers} t ON t.id = e.transfer_id
            WHERE e.counts_as_earned AND t.created_at >= %s
            GROUP BY e.account_id
        ), scored AS (
            SELECT a.id, a.kind, a.earned_total - COALESCE(r.amount, 0) AS score
            FROM {accounts} a LEFT JOIN recent r ON r.account_id = a.id
            WHERE a.kind IN ({", ".join(["%s"] * len(kinds))}) AND a.is_active AND {in_scope}
        ), grouped AS (
            SELECT kind, score, COUNT(*) AS n FROM scored GROUP BY kind, score
            UNION ALL
            SELECT '' AS kind, score, COUNT(*) AS n FROM scored GROUP BY score
        )
        INSERT INTO {buckets} (scope_id, kind, score, accounts, above, total, taken_at, max_account_id)
        SELECT %s, g.kind, g.score, g.n,
               SUM(g.n) OVER (PARTITION BY g.kind ORDER BY g.score DESC) - g.n,
               SUM(g.n) OVER (PARTITION BY g.kind),
               %s, (SELECT COALESCE(MAX(id), 0) FROM scored)
        FROM grouped g
    """
    return sql, [moment, *kinds, *scope_params, scope.pk, moment]


def rank_buckets_refresh(*, now: datetime | None = None, scopes: list[Place] | None = None) -> dict:
    """Rebuild the histogram of every district, street and community (or of ``scopes``) as of ``now`` − the margin.

    One transaction per scope (delete, then one INSERT … SELECT computed in the database), so readers see either
    the old histogram of a scope or the new one, never half of it.
    """
    now = now or timezone.now()
    taken_at = now - SNAPSHOT_MARGIN
    if scopes is None:
        scopes = list(Place.objects.filter(kind__in=BUCKET_SCOPE_KINDS, is_active=True).order_by("path"))
    rows = 0
    for scope in scopes:
        sql, params = _refresh_sql(scope, taken_at)
        with transaction.atomic():
            RankBucket.objects.filter(scope=scope).delete()
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                rows += max(cursor.rowcount, 0)
    return {"scopes": len(scopes), "buckets": rows, "taken_at": taken_at.isoformat()}


__all__ = [
    "MyRank",
    "Period",
    "RankRow",
    "account_period_points",
    "my_rank",
    "parse_period",
    "rank_buckets_refresh",
    "ranking",
]
