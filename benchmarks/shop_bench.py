"""Points shop on PostgreSQL: redemptions per second through the platform against the same statements via psycopg.

Cases, each with 1 and with 4 worker processes (each process on its own connection, its own residents):

- **hot offer**: every redemption, in every process, takes stock from one offer, so every order queues on that
  offer's row lock (the guarded ``UPDATE … SET stock = stock - 1 WHERE stock >= 1``) until the order commits;
- **spread**: every process redeems over its own 20 offers, so nothing waits on another process.

"Platform" is ``redemption_place`` (idempotency look-up, offer, eligibility, window, account lock, guarded stock
update, ledger hold, pickup code, order, stock movement, audit entry). "psycopg" replays the statements Django sent
for a redemption (two captured with Django's execute wrapper, benchmarks/replay.py) through a plain psycopg
connection, with the ids, keys and pickup code of each new order filled in as parameters: the same statements in the
same order and the same transactions (the pre-checks in autocommit, then one transaction per order), client-side
binding like Django's cursor, and the ledger hold prepared with bound parameters as ``ledger.execute_prepared`` runs
it: the database's own cost of the same work, without Python, the ORM or the services.

Everything happens in a scratch database created on the server and dropped at the end; afterwards the script checks
that every order is real (held points = points of held orders, stock = its movements, no ledger drift).

Run:
    .venv/bin/python benchmarks/shop_bench.py
Environment: BENCH_POSTGRES_SERVER (default postgres://postgres@127.0.0.1:5432), BENCH_OPS (orders per process
per case, default 300), BENCH_ROUNDS (default 3), BENCH_PROFILE=1 (first print where one replayed order's time
goes, statement by statement).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = os.environ.get("BENCH_POSTGRES_SERVER", "postgres://postgres@127.0.0.1:5432").rstrip("/")
OPS = int(os.environ.get("BENCH_OPS", "300"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PROCESSES = (1, 4)
ACCOUNTS_PER_PROCESS = 10
OFFERS_PER_PROCESS = 20
PROFILE_ORDERS = 200
DB = f"gongzhi_shop_bench_{os.getpid()}"

os.environ["GONGZHI_DATABASE_URL"] = f"{SERVER}/{DB}"
os.environ["DJANGO_SETTINGS_MODULE"] = "gongzhi.settings"

import psycopg  # noqa: E402
from processes import run_in_processes  # noqa: E402
from replay import Replay, capture, connect  # noqa: E402

# Distinct, wide id ranges, so a captured id never looks like another value of the statement (1, 10, 72 …).
SEQUENCES = {
    "people_organisation": 3_000_000,
    "people_account": 4_000_000,
    "points_pointsaccount": 5_000_000,
    "shop_offer": 6_000_000,
    "points_transfer": 70_000_000,
    "shop_redemption": 80_000_000,
}


def _server(dbname: str) -> psycopg.Connection:
    return psycopg.connect(f"{SERVER}/{dbname}", autocommit=True)


def raw_connection() -> psycopg.Connection:
    """A plain psycopg connection for the replay (see benchmarks/replay.py)."""
    return connect(f"{SERVER}/{DB}")


# ---------------------------------------------------------------- running in processes


def rate(work: Callable, shares: list[list]) -> float:
    """Orders per second of ``work``, one process per share, all started together (benchmarks/processes.py)."""
    return run_in_processes(work, shares, timeout=900)[0]


# ---------------------------------------------------------------- the cases


def main() -> None:
    with _server("postgres") as admin:
        admin.execute(f"CREATE DATABASE {DB}")
    try:
        _main()
    finally:
        from django.db import connections

        connections.close_all()
        with _server("postgres") as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def _profile(replay: Replay, buyers: list, offers: list, token: Callable[[], str]) -> None:
    """BENCH_PROFILE=1: where the time of one replayed redemption goes, statement by statement (one process)."""
    timings = [0.0] * (len(replay) + 1)
    raw = raw_connection()
    rounds = PROFILE_ORDERS
    started = time.perf_counter()
    for number in range(rounds):
        login, account = buyers[number % len(buyers)]
        offer = offers[number % len(offers)]
        replay.run(
            raw,
            {
                "key": token(),
                "code": f"{900_000 + number:06d}",
                "account": account.pk,
                "actor": login.pk,
                "offer": offer.pk,
                "merchant": offer.merchant_id,
            },
            timings,
        )
    total = time.perf_counter() - started
    raw.close()
    print(f"profile: {rounds / total:,.0f} replayed orders/s; per statement (ms per order):")
    labels = [("prepared " if st.prepared else "") + " ".join(st.sql.split()) for st in replay.statements]
    for label, spent in sorted(zip([*labels, "COMMIT"], timings, strict=True), key=lambda row: -row[1]):
        print(f"  {spent / rounds * 1000:7.3f}  {label[:110]}")


def _main() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Sum

    from gongzhi.core.audit import audit_bulk, audit_entry
    from gongzhi.core.models import AuditEntry
    from gongzhi.points.ledger import ledger_check
    from gongzhi.points.models import PointsAccount
    from gongzhi.shop.models import Offer, Redemption, StockMovement
    from gongzhi.shop.services import redemption_place

    if connection.vendor != "postgresql":
        raise SystemExit("This benchmark runs on PostgreSQL.")
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        for table, start in SEQUENCES.items():
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {start})")
        cursor.execute("SELECT version()")
        server_version = cursor.fetchone()[0].split(" on ")[0]

    from gongzhi.places.tests.factories import make_tree
    from gongzhi.shop.tests.factories import make_merchant, make_offer, open_shop, resident_with_points

    # -------- data: one community always open; per implementation a hot offer and per process 20 offers
    tree = make_tree()
    community, household = tree["community_a"], tree["household_a1"]
    open_shop(community)
    big = 10**9
    buyers = [resident_with_points(household, big) for _ in range(max(PROCESSES) * ACCOUNTS_PER_PROCESS + 3)]
    spare = buyers[-3:]
    buyers = buyers[:-3]
    offers = {}
    for implementation in ("platform", "psycopg", "capture"):
        merchant = make_merchant(community, f"{implementation}商家")
        offers[implementation] = {
            "hot": make_offer(community, merchant, points_price=10, stock=10**8),
            "spread": [
                [make_offer(community, merchant, points_price=10, stock=10**6) for _ in range(OFFERS_PER_PROCESS)]
                for _ in range(max(PROCESSES))
            ],
        }
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    # -------- the capture: two redemptions through the platform (other buyers, other offers), recorded
    counter = {"n": 0}

    def token() -> str:
        counter["n"] += 1
        return f"bench{os.getpid()}x{counter['n']:09d}"

    def place(buyer: tuple, offer: Offer) -> tuple[list, dict]:
        login, account = buyer
        key = token()
        order, statements = capture(
            lambda: redemption_place(actor=login, offer=offer, account=account, idempotency_key=key)
        )
        audit = AuditEntry.objects.get(action="shop.redemption_place", object_id=str(order.pk))
        return statements, {
            "key": key,
            "code": order.pickup_code,
            "transfer": order.hold_transfer_id,
            "redemption": order.pk,
            "account": account.pk,
            "actor": login.pk,
            "offer": offer.pk,
            "merchant": offer.merchant_id,
            # the audit chain's next link, computed by the replay from the locked head (benchmarks/replay.py)
            "audit_seq": audit.seq,
            "audit_previous": audit.previous_hash,
            "audit_hash": audit.hash,
        }

    # The replay tells its slots apart by value: move the audit chain's seq far from every id it fills.
    audit_bulk([audit_entry(actor=None, action="bench.spacer", place_path=tree["district"].path) for _ in range(5000)])

    place(spare[2], offers["capture"]["spread"][0][1])  # a first order warms the connection and its caches
    first, first_vars = place(spare[0], offers["capture"]["hot"])
    second, _second_vars = place(spare[1], offers["capture"]["spread"][0][0])
    # Both captured offers have one merchant; the pickup code is random and could, once in a million, repeat.
    replay = Replay(first, second, first_vars, by_value={"merchant", "code"}, returned={"transfer", "redemption"})
    statements = len(replay)
    if os.environ.get("BENCH_PROFILE"):
        _profile(replay, buyers, offers["psycopg"]["spread"][0], token)

    # -------- work functions (run in the child processes)
    def platform(share: list, prepare: bool = False, prepared=None):
        if prepare:
            account_ids = {row[1] for row in share}
            accounts = {account.pk: account for account in PointsAccount.objects.filter(pk__in=account_ids)}
            actors = {account.pk: login for login, account in buyers if account.pk in account_ids}
            offer_ids = {row[2] for row in share}
            return accounts, actors, {offer.pk: offer for offer in Offer.objects.filter(pk__in=offer_ids)}
        accounts, actors, offer_by_id = prepared
        for _login_id, account_id, offer_id, _merchant_id, _code, key in share:
            redemption_place(
                actor=actors[account_id], offer=offer_by_id[offer_id], account=accounts[account_id], idempotency_key=key
            )

    def psycopg_replay(share: list, prepare: bool = False, prepared=None):
        if prepare:
            return raw_connection()
        try:
            for login_id, account_id, offer_id, merchant_id, code, key in share:
                replay.run(
                    prepared,
                    {
                        "key": key,
                        "code": code,
                        "account": account_id,
                        "actor": login_id,
                        "offer": offer_id,
                        "merchant": merchant_id,
                    },
                )
        finally:
            prepared.close()

    codes = {"n": 0}

    def shares(implementation: str, case: str, processes: int) -> list[list]:
        result = []
        for process in range(processes):
            mine = buyers[process * ACCOUNTS_PER_PROCESS : (process + 1) * ACCOUNTS_PER_PROCESS]
            pool = [offers[implementation]["hot"]] if case == "hot" else offers[implementation]["spread"][process]
            share = []
            for number in range(OPS):
                login, account = mine[number % len(mine)]
                offer = pool[number % len(pool)]
                codes["n"] += 1
                share.append(
                    (login.pk, account.pk, offer.pk, offer.merchant_id, f"{codes['n'] % 1_000_000:06d}", token())
                )
            result.append(share)
        return result

    cases = {
        ("hot offer", "platform"): lambda p: rate(platform, shares("platform", "hot", p)),
        ("hot offer", "psycopg"): lambda p: rate(psycopg_replay, shares("psycopg", "hot", p)),
        ("spread", "platform"): lambda p: rate(platform, shares("platform", "spread", p)),
        ("spread", "psycopg"): lambda p: rate(psycopg_replay, shares("psycopg", "spread", p)),
    }
    results: dict[tuple[str, str, int], list[float]] = {}
    for _round in range(ROUNDS):
        for processes in PROCESSES:
            for (case, implementation), run in cases.items():
                results.setdefault((case, implementation, processes), []).append(run(processes))

    # -------- every order must be real, the books must balance
    expected = ROUNDS * 4 * sum(PROCESSES) * OPS + 3 + (PROFILE_ORDERS if os.environ.get("BENCH_PROFILE") else 0)
    made = Redemption.objects.count()
    held_orders = Redemption.objects.filter(state="held").aggregate(p=Sum("points"))["p"]
    held_accounts = PointsAccount.objects.aggregate(h=Sum("held"))["h"]
    drift = ledger_check()
    stock_ok = all(
        offer.stock == sum(StockMovement.objects.filter(offer=offer).values_list("change", flat=True))
        for offer in Offer.objects.filter(redemptions__isnull=False).distinct()
    )
    print(f"PostgreSQL: {server_version}; {os.cpu_count()} CPUs; {OPS} orders per process per case; rounds: {ROUNDS}")
    print(
        f"statements per redemption: {statements} (+ BEGIN, COMMIT of {replay.transactions} transaction); "
        f"orders: {made} of {expected} expected; "
        f"held points {held_accounts} = orders' {held_orders}; stock = movements: {stock_ok}; "
        f"ledger drift: {len(drift)}"
    )
    print(
        f"{'case':12} {'processes':>9} {'platform/s':>11} {'psycopg/s':>10} {'ratio':>6}   rounds (platform | psycopg)"
    )
    for case in ("hot offer", "spread"):
        for processes in PROCESSES:
            ours = results[(case, "platform", processes)]
            theirs = results[(case, "psycopg", processes)]
            rounds = " ".join(f"{v:,.0f}" for v in ours) + " | " + " ".join(f"{v:,.0f}" for v in theirs)
            ratio = statistics.median(ours) / statistics.median(theirs)
            print(
                f"{case:12} {processes:>9} {statistics.median(ours):>11,.0f} {statistics.median(theirs):>10,.0f} "
                f"{ratio:>6.0%}   {rounds}"
            )
    if made != expected or held_orders != held_accounts or drift or not stock_ok:
        raise SystemExit("The benchmark's writes are not what they should be.")


if __name__ == "__main__":
    main()
