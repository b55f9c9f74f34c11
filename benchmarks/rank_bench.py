""" "My rank" among 1,000,000 points accounts on PostgreSQL: the platform call against the same statements through
psycopg, and against the plain count it replaces.

What it does, in a scratch database it creates and drops:
1. ``createdb``, ``manage.py migrate``; one district, 5 streets, 40 communities per street (real places);
2. 1,000,000 holder accounts in one ``INSERT … SELECT FROM generate_series`` (85 % residents, 10 % party members,
   4 % organisations, 1 % volunteer teams; scores skewed like real ones, ``floor(3000 · random()³)``, a third of them
   at 0), spread evenly over the communities (``place_path`` under the community); ``VACUUM ANALYZE``;
3. the hourly job's histogram refresh (timed), then an hour's worth of activity: 1,000 awards through the ledger
   after the refresh, so "my rank" has moved accounts to correct for, as it would in production;
4. for accounts at the top, in the middle and at the bottom, ``my_rank`` district-wide (every kind, and residents
   only) and within a community: median and p95 of the platform call; the same SQL replayed through psycopg; and
   the naive ``count(*)`` of the accounts above, through psycopg, for comparison. Every answer is checked against
   that count.

Run:
    .venv/bin/python benchmarks/rank_bench.py                 # 1,000,000 accounts, 200 rounds per case
    BENCH_ACCOUNTS=200000 BENCH_ROUNDS=100 .venv/bin/python benchmarks/rank_bench.py
    BENCH_KEEP=1 …                                            # keep the database to look at plans
Needs ``createdb``/``dropdb`` and a PostgreSQL server (BENCH_POSTGRES_HOST, default 127.0.0.1, user postgres).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = os.environ.get("BENCH_POSTGRES_HOST", "127.0.0.1")
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "1000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "200"))
STREETS, COMMUNITIES_PER_STREET = 5, 40
MOVED = int(os.environ.get("BENCH_MOVED", "1000"))


def main() -> None:
    """Parent: make the scratch database, migrate, run the measurement in a child process, drop the database."""
    name = f"gongzhi_rank_bench_{os.getpid()}"
    url = f"postgres://postgres@{HOST}:5432/{name}"
    env = {**os.environ, "GONGZHI_DATABASE_URL": url, "RANK_BENCH_CHILD": "1", "GONGZHI_LOG_LEVEL": "WARNING"}
    subprocess.run(["createdb", "-h", HOST, "-U", "postgres", name], check=True)
    try:
        subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], check=True, env=env, cwd=ROOT)
        subprocess.run([sys.executable, __file__], check=True, env=env, cwd=ROOT)
    finally:
        if os.environ.get("BENCH_KEEP"):
            print(f"kept the database {name}; drop it with: dropdb -h {HOST} -U postgres {name}")
        else:
            subprocess.run(["dropdb", "-h", HOST, "-U", "postgres", "--if-exists", name], check=True)


def measure(function: Callable[[], object], rounds: int = ROUNDS) -> tuple[float, float]:
    """(median, p95) in milliseconds after a few warm-up calls."""
    for _ in range(5):
        function()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def child() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")
    import django

    django.setup()

    import psycopg
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gongzhi.places.models import Place, PlaceKind
    from gongzhi.places.services import place_create
    from gongzhi.places.tests.factories import superuser
    from gongzhi.points.ledger import Leg, post_transfer, system_account
    from gongzhi.points.models import AccountKind, PointsAccount, RankBucket, TransferKind
    from gongzhi.points.rankings import my_rank, rank_buckets_refresh

    admin = superuser()
    district = place_create(actor=admin, kind=PlaceKind.DISTRICT, name="基准区", parent=None, audit=False)
    communities = []
    for s in range(STREETS):
        street = place_create(actor=admin, kind=PlaceKind.STREET, name=f"街道{s}", parent=district, audit=False)
        for c in range(COMMUNITIES_PER_STREET):
            communities.append(
                place_create(actor=admin, kind=PlaceKind.COMMUNITY, name=f"社区{s}-{c}", parent=street, audit=False)
            )
    values = ", ".join(f"({n}, {place.pk}, '{place.path}')" for n, place in enumerate(communities))
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO points_pointsaccount (kind, community_id, place_path, system_code, display_name, balance,
                                              held, earned_total, is_active, created_at)
            SELECT CASE WHEN g %% 100 < 85 THEN 'resident' WHEN g %% 100 < 95 THEN 'party_member'
                        WHEN g %% 100 < 99 THEN 'organisation' ELSE 'volunteer_team' END,
                   c.id, c.path || (1000000 + g / {len(communities)})::text || '/', '', '居民' || g,
                   s.score, 0, s.score, true, now()
            FROM generate_series(1, %s) AS g
            JOIN (VALUES {values}) AS c(n, id, path) ON c.n = g %% {len(communities)}
            CROSS JOIN LATERAL (SELECT floor(3000 * power(random(), 3))::bigint + 0 * g AS score) s
            """,
            [ACCOUNTS],
        )
    # Totals are set directly, without ledger entries (the ranking reads only earned_total); the database is dropped.
    connection.cursor().execute("VACUUM ANALYZE points_pointsaccount")
    print(
        f"accounts: {ACCOUNTS:,} in {len(communities)} communities, inserted in {time.perf_counter() - started:.1f} s"
    )

    started = time.perf_counter()
    result = rank_buckets_refresh()
    refresh_seconds = time.perf_counter() - started
    print(f"histogram refresh: {result['scopes']} scopes, {result['buckets']:,} buckets in {refresh_seconds:.1f} s")

    issuance = system_account("issuance")
    moved_ids = list(
        PointsAccount.objects.exclude(kind=AccountKind.SYSTEM).order_by("?").values_list("pk", flat=True)[:MOVED]
    )
    started = time.perf_counter()
    for n, account_id in enumerate(moved_ids):
        post_transfer(
            kind=TransferKind.AWARD,
            idempotency_key=f"bench-{n}",
            legs=[Leg(issuance.pk, -5), Leg(account_id, 5, "balance", True)],
            actor=None,
        )
    print(f"{MOVED:,} awards after the refresh in {time.perf_counter() - started:.1f} s (the hour's moved accounts)")
    connection.cursor().execute("ANALYZE")

    holders = PointsAccount.objects.exclude(kind=AccountKind.SYSTEM)
    community = communities[len(communities) // 2]

    def pick(scope_q, kind: str | None, where: str):
        rows = holders.filter(**scope_q)
        if kind:
            rows = rows.filter(kind=kind)
        if where == "top":
            return rows.order_by("-earned_total", "id").first()
        if where == "bottom":
            return rows.order_by("earned_total", "id").first()
        count = rows.count()
        return rows.order_by("-earned_total", "id")[count // 2]

    raw = psycopg.connect(f"host={HOST} user=postgres dbname={connection.settings_dict['NAME']}", autocommit=True)

    def replay(statements: list[str]) -> Callable[[], None]:
        def run() -> None:
            with raw.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
                    if cursor.description is not None:
                        cursor.fetchall()

        return run

    def naive(place: Place, kinds: list[str], score: int) -> Callable[[], int]:
        sql = (
            "SELECT count(*) FROM points_pointsaccount WHERE place_path LIKE %s AND kind = ANY(%s) AND is_active "
            "AND earned_total > %s"
        )

        def run() -> int:
            with raw.cursor() as cursor:
                cursor.execute(sql, [place.path + "%", kinds, score])
                return cursor.fetchone()[0]

        return run

    all_kinds = [k for k in AccountKind.values if k != AccountKind.SYSTEM]
    cases = [
        ("district, every kind", district, None, {}),
        ("district, residents", district, AccountKind.RESIDENT, {}),
        ("community, every kind", community, None, {"community": community}),
    ]
    print()
    print(f"buckets in the district: {RankBucket.objects.filter(scope=district).count():,}; rounds per case: {ROUNDS}")
    print(
        f"{'case':34} {'rank':>9} {'of':>9}  {'platform med/p95 ms':>20} {'same SQL psycopg':>17} "
        f"{'naive count(*)':>15} queries"
    )
    if os.environ.get("BENCH_PLANS"):
        for label, place, kind, scope_q in cases:
            account = pick(scope_q, kind, "middle")
            with CaptureQueriesContext(connection) as captured:
                my_rank(account=account, place=place, kind=kind)
            for query in captured.captured_queries:
                with raw.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                    print(label, "\n", query["sql"], "\n", "\n".join(row[0] for row in cursor.fetchall()), "\n")
    for label, place, kind, scope_q in cases:
        for where in ("top", "middle", "bottom"):
            account = pick(scope_q, kind, where)
            call = lambda account=account, place=place, kind=kind: my_rank(account=account, place=place, kind=kind)  # noqa: E731
            with CaptureQueriesContext(connection) as captured:
                answer = call()
            statements = [query["sql"] for query in captured.captured_queries]
            count = naive(place, [kind] if kind else all_kinds, answer.points)
            assert answer.rank == count() + 1, (label, where, answer, count())
            ours = measure(call)
            same = measure(replay(statements))
            plain = measure(count, rounds=max(10, ROUNDS // 10))
            print(
                f"{label + ', ' + where:34} {answer.rank:9,} {answer.total_accounts:9,}  "
                f"{ours[0]:9.2f} /{ours[1]:7.2f}   {same[0]:6.2f} /{same[1]:6.2f}  "
                f"{plain[0]:6.1f} /{plain[1]:6.1f}  {len(statements)}"
            )
    raw.close()


if __name__ == "__main__":
    child() if os.environ.get("RANK_BENCH_CHILD") else main()
