"""Red points on PostgreSQL: the platform against the same statements through psycopg, and against django-hordak.

(a) Approving a claim (``claim_approve``: lock the claim, check reach, post the award, mark the claim, record the
    decision and the audit entry) against **the same statements replayed through a plain psycopg connection**:
    two approvals are captured with Django's execute wrapper, the parameters that differ between them (claim,
    account, transfer ids, keys) become slots, and the replay fills them for every claim it approves, with the
    platform's transaction boundaries (one transaction per claim) and its binding: client-side for ordinary
    statements, server-side and prepared for those ``ledger.execute_prepared`` runs (benchmarks/replay.py). Each
    approval is one request: the reviewer's roles are loaded again every time (``forget_grants``).
(b) A bare posting between two accounts: ``post_transfer`` (one statement on PostgreSQL) against django-hordak
    2.0's ``Account.transfer_to`` (inside ``transaction.atomic()``, as hordak needs its legs in one transaction),
    and, for reference, the posting's statement replayed through psycopg. Each process has its own pair of
    accounts.

Each case runs with 1 process and with 4 (each process on its own connection and its own rows), ``BENCH_ROUNDS``
times alternating the cases; the median rate of the rounds is printed. Everything happens in a scratch database
created on the server and dropped at the end. After the runs the script checks that every replayed approval
really approved its claim and that the ledger has no drift.

Run (needs PostgreSQL; django-hordak only for the benchmark, never a dependency of the platform):
    .venv/bin/pip install "django-hordak>=2.0,<2.1"
    .venv/bin/python benchmarks/points_bench.py
Environment: BENCH_POSTGRES_SERVER (default postgres://postgres@127.0.0.1:5432), BENCH_OPS (operations per
process per case, default 500), BENCH_ROUNDS (default 3), BENCH_SYNCHRONOUS_COMMIT ("off" for every connection
of the run, platform, psycopg and hordak alike: it takes the WAL flush out of the comparison when a shared disk
makes it the bottleneck; default: the server's setting), BENCH_CASES (run only the cases whose name starts with it,
e.g. "posting"; default: all).
"""

from __future__ import annotations

import contextlib
import importlib.util
import multiprocessing as mp
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SERVER = os.environ.get("BENCH_POSTGRES_SERVER", "postgres://postgres@127.0.0.1:5432").rstrip("/")
OPS = int(os.environ.get("BENCH_OPS", "500"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PROCESSES = (1, 4)
DB = f"gongzhi_points_bench_{os.getpid()}"
# "off" isolates round trips and CPU from waits for the WAL flush (a shared machine's disk); default: the server's.
SYNCHRONOUS_COMMIT = os.environ.get("BENCH_SYNCHRONOUS_COMMIT", "")
SESSION = f"?options=-c%20synchronous_commit%3D{SYNCHRONOUS_COMMIT}" if SYNCHRONOUS_COMMIT else ""
HAVE_HORDAK = importlib.util.find_spec("hordak") is not None

os.environ["GONGZHI_DATABASE_URL"] = f"{SERVER}/{DB}{SESSION}"
os.environ["DJANGO_SETTINGS_MODULE"] = "hordak_settings" if HAVE_HORDAK else "gongzhi.settings"

import psycopg  # noqa: E402
from replay import Replay, capture, connect  # noqa: E402


def _server(dbname: str) -> psycopg.Connection:
    return psycopg.connect(f"{SERVER}/{dbname}", autocommit=True)


def raw_connection() -> psycopg.Connection:
    """A plain psycopg connection for the replays (see benchmarks/replay.py)."""
    return connect(f"{SERVER}/{DB}{SESSION}")


# ---------------------------------------------------------------- running in processes


def _child(work: Callable[[list], None], share: list, barrier, results) -> None:
    from django.db import connections

    connections.close_all()
    try:
        prepared = work(share, prepare=True)
        barrier.wait()
        start, cpu = time.perf_counter(), time.process_time()
        work(share, prepared=prepared)
        results.put((start, time.perf_counter(), len(share), time.process_time() - cpu, ""))
    except Exception as error:  # report, do not hang the parent
        results.put((0.0, 0.0, 0, 0.0, repr(error)))
        with contextlib.suppress(Exception):
            barrier.abort()
    finally:
        connections.close_all()


def rate(processes: int, work: Callable, pool: list) -> tuple[float, float]:
    """Operations per second of ``work`` over ``OPS`` items per process, in ``processes`` processes at once, and
    the client's CPU milliseconds per operation (what Python costs, whatever the load on the machine)."""
    from django.db import connections

    shares = [pool.pop() for _ in range(processes)]
    connections.close_all()
    context = mp.get_context("fork")
    barrier, results = context.Barrier(processes), context.Queue()
    children = [context.Process(target=_child, args=(work, share, barrier, results)) for share in shares]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=600) for _ in children]
    for child in children:
        child.join()
    errors = [error for *_rest, error in outcomes if error]
    if errors:
        raise SystemExit(f"a benchmark process failed: {errors[0]}")
    start, end = min(o[0] for o in outcomes), max(o[1] for o in outcomes)
    operations = sum(o[2] for o in outcomes)
    return operations / (end - start), 1000 * sum(o[3] for o in outcomes) / operations


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
            admin.execute(f"DROP DATABASE IF EXISTS {DB}")


def _main() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from gongzhi.core.access import forget_grants
    from gongzhi.core.audit import audit_bulk, audit_entry
    from gongzhi.core.jobs import run_key_for
    from gongzhi.core.models import AuditEntry
    from gongzhi.core.roles import Role
    from gongzhi.people.models import Account
    from gongzhi.people.tests.factories import account_with_role
    from gongzhi.places.tests.factories import make_tree
    from gongzhi.points.ledger import Leg, ledger_check, post_transfer, system_account
    from gongzhi.points.models import AccountKind, Claim, ClaimState, PointsAccount, TransferKind
    from gongzhi.points.services import claim_approve
    from gongzhi.points.tests.factories import make_item

    if connection.vendor != "postgresql":
        raise SystemExit("This benchmark runs on PostgreSQL.")
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        server_version = cursor.fetchone()[0].split(" on ")[0]
        cursor.execute("SHOW synchronous_commit")
        server_version += f", synchronous_commit={cursor.fetchone()[0]}"

    # -------- data: a community, one item, a reviewer, holder accounts and enough submitted claims
    tree = make_tree()
    community, household = tree["community_a"], tree["household_a1"]
    item = make_item(tree["district"], value=5)
    version = item.versions.get()
    reviewer = account_with_role(Role.REVIEW_COMMITTEE_MEMBER, community, username="bench-reviewer")
    clerk = account_with_role(Role.COMMUNITY_WORKER, community, username="bench-clerk")
    system_account("issuance")
    holders = PointsAccount.objects.bulk_create(
        PointsAccount(
            kind=AccountKind.RESIDENT,
            community=community,
            place_path=household.path,
            display_name=f"居民{number}",
        )
        for number in range(400)
    )
    per_round = 2 * sum(PROCESSES) * OPS
    total_claims = ROUNDS * per_round + 3
    today, week = timezone.localdate(), run_key_for("week")
    claims = Claim.objects.bulk_create(
        (
            Claim(
                account=holders[number % len(holders)],
                item=item,
                item_version=version,
                value=version.value,
                community=community,
                service_date=today - timedelta(days=number // len(holders) + 1),
                submitted_by=clerk,
                on_behalf=True,
                idempotency_key=f"bench-claim-{number}",
                review_week=week,
            )
            for number in range(total_claims)
        ),
        batch_size=2000,
    )
    claim_ids = [claim.pk for claim in claims]
    account_of = {claim.pk: claim.account_id for claim in claims}
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    def approve_once(claim_id: int) -> None:
        forget_grants(reviewer)  # one approval per request: the roles are loaded again
        claim_approve(actor=reviewer, claim=Claim(pk=claim_id))

    # -------- the replay of an approval, from two captured approvals (after a first one that warms the connection).
    # The replay tells its slots apart by value: move the audit chain's seq far from every claim, account and
    # transfer id, so no captured seq equals one of them (one bulk write of properly chained entries).
    audit_bulk([audit_entry(actor=None, action="bench.spacer", place_path=tree["district"].path) for _ in range(5000)])
    warm_id, first_id, second_id = claim_ids.pop(), claim_ids.pop(), claim_ids.pop()
    approve_once(warm_id)
    _result, first = capture(lambda: approve_once(first_id))
    _result, second = capture(lambda: approve_once(second_id))
    first_audit = AuditEntry.objects.get(action="points.claim_approve", object_id=str(first_id))
    approve_vars = {
        "claim": first_id,
        "account": account_of[first_id],
        "transfer": Claim.objects.get(pk=first_id).transfer_id,
        # the audit chain's next link, computed by the replay from the locked head (benchmarks/replay.py)
        "audit_seq": first_audit.seq,
        "audit_previous": first_audit.previous_hash,
        "audit_hash": first_audit.hash,
    }
    approve_replay = Replay(first, second, approve_vars, returned={"transfer"})

    def platform_approvals(share: list, prepare: bool = False, prepared: Any = None):
        if prepare:
            actor = Account.objects.get(pk=reviewer.pk)
            Claim.objects.filter(pk=share[0]).exists()  # open the connection before the clock starts
            return actor
        for claim_id in share:
            forget_grants(prepared)
            claim_approve(actor=prepared, claim=Claim(pk=claim_id))

    def psycopg_approvals(share: list, prepare: bool = False, prepared: Any = None):
        if prepare:
            return raw_connection()
        for claim_id in share:
            approve_replay.run(prepared, {"claim": claim_id, "account": account_of[claim_id]})
        prepared.close()

    # -------- bare postings: one pair of accounts per process
    sources = [
        PointsAccount.objects.create(kind=AccountKind.SYSTEM, system_code=f"bench-source-{n}", display_name="源")
        for n in range(max(PROCESSES))
    ]
    targets = PointsAccount.objects.bulk_create(
        PointsAccount(kind=AccountKind.RESIDENT, community=community, place_path=household.path, display_name="目标")
        for _ in range(max(PROCESSES))
    )
    counter = iter(range(10**9))

    def posting(key: str, pair: int) -> None:
        post_transfer(
            kind=TransferKind.AWARD,
            idempotency_key=key,
            legs=[Leg(sources[pair].pk, -1), Leg(targets[pair].pk, 1, "balance", True)],
            actor=None,
            source_type="bench",
        )

    posting("bench-warm", 0)
    _result, post_first = capture(lambda: posting("bench-capture-1", 0))
    _result, post_second = capture(lambda: posting("bench-capture-2", 0))
    posting_vars = {"key": "bench-capture-1", "source": sources[0].pk, "target": targets[0].pk}
    posting_replay = Replay(post_first, post_second, posting_vars, by_value={"source", "target"})

    def share_of_postings(label: str) -> list:
        return [(label, next(counter)) for _ in range(OPS)]

    def ledger_postings(share: list, prepare: bool = False, prepared: Any = None):
        pair = share[0][1] % max(PROCESSES)
        if prepare:
            PointsAccount.objects.filter(pk=targets[pair].pk).exists()
            return pair
        for label, number in share:
            posting(f"{label}-{number}", prepared)

    def psycopg_postings(share: list, prepare: bool = False, prepared: Any = None):
        pair = share[0][1] % max(PROCESSES)
        if prepare:
            return raw_connection(), pair
        raw, pair = prepared
        for label, number in share:  # one statement in autocommit, as the platform's posting
            posting_replay.run(
                raw, {"key": f"{label}-{number}", "source": sources[pair].pk, "target": targets[pair].pk}
            )
        raw.close()

    # -------- the scale the issue gives: the least a posting can be, one guarded UPDATE … RETURNING and one INSERT of
    # a ledger row in one statement, on tables of its own (one balance row, one ledger row; no transfer, no second
    # leg, no lock order, no idempotent replay). Not a ledger the platform could keep: it shows how much of a
    # posting's cost is the round trip and the commit.
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_minimal_account (id bigint PRIMARY KEY, balance bigint NOT NULL)")
        cursor.execute(
            "INSERT INTO bench_minimal_account SELECT id, 0 FROM points_pointsaccount WHERE id = ANY(%s)",
            [[target.pk for target in targets]],
        )
        cursor.execute(
            "CREATE TABLE bench_minimal_ledger (id bigserial PRIMARY KEY, account_id bigint NOT NULL "
            "REFERENCES bench_minimal_account (id), amount bigint NOT NULL, idempotency_key varchar(120) UNIQUE)"
        )
    minimal_sql = (
        "WITH u AS (UPDATE bench_minimal_account SET balance = balance + %s WHERE id = %s AND balance + %s >= 0 "
        "RETURNING id) INSERT INTO bench_minimal_ledger (account_id, amount, idempotency_key) "
        "SELECT id, %s, %s FROM u RETURNING id"
    )

    def minimal_postings(share: list, prepare: bool = False, prepared: Any = None):
        pair = share[0][1] % max(PROCESSES)
        if prepare:
            raw = psycopg.connect(f"{SERVER}/{DB}{SESSION}", autocommit=True, prepare_threshold=0)
            return raw, pair
        raw, pair = prepared
        with raw.cursor() as cursor:
            for label, number in share:
                cursor.execute(minimal_sql, (1, targets[pair].pk, 1, 1, f"{label}-{number}"), prepare=True)
                if cursor.fetchone() is None:
                    raise RuntimeError("the minimal posting wrote nothing")
        raw.close()

    if HAVE_HORDAK:
        from djmoney.money import Money
        from hordak.models import Account as HordakAccount
        from hordak.models import AccountType

        hordak_pairs = [
            (
                HordakAccount.objects.create(name=f"income {n}", type=AccountType.income, currencies=["CNY"]),
                HordakAccount.objects.create(name=f"asset {n}", type=AccountType.asset, currencies=["CNY"]),
            )
            for n in range(max(PROCESSES))
        ]

        def hordak_postings(share: list, prepare: bool = False, prepared: Any = None):
            pair = share[0][1] % max(PROCESSES)
            if prepare:
                source, target = (HordakAccount.objects.get(pk=account.pk) for account in hordak_pairs[pair])
                return source, target
            source, target = prepared
            for _share in share:
                with transaction.atomic():
                    source.transfer_to(target, Money(1, "CNY"))

    # -------- the rounds
    def approval_pool(processes: int) -> list:
        return [[claim_ids.pop() for _ in range(OPS)] for _ in range(processes)]

    def posting_pool(processes: int, label: str) -> list:
        shares = []
        for pair in range(processes):
            share = share_of_postings(label)
            shares.append([(share_label, pair + max(PROCESSES) * number) for share_label, number in share])
        return shares

    cases: dict[str, Callable[[int], tuple[float, float]]] = {
        "approve: claim_approve": lambda p: rate(p, platform_approvals, approval_pool(p)),
        "approve: same statements via psycopg": lambda p: rate(p, psycopg_approvals, approval_pool(p)),
        "posting: post_transfer": lambda p: rate(p, ledger_postings, posting_pool(p, "ledger")),
        "posting: same statement via psycopg": lambda p: rate(p, psycopg_postings, posting_pool(p, "raw")),
    }
    cases["posting: minimal one-statement (reference)"] = lambda p: rate(p, minimal_postings, posting_pool(p, "min"))
    if HAVE_HORDAK:
        cases["posting: hordak transfer_to"] = lambda p: rate(p, hordak_postings, posting_pool(p, "hordak"))
    only = os.environ.get("BENCH_CASES", "")  # e.g. "posting": only the cases whose name starts with it
    cases = {name: case for name, case in cases.items() if name.startswith(only)}
    results: dict[tuple[str, int], list[float]] = {}
    cpu: dict[tuple[str, int], list[float]] = {}
    for _round in range(ROUNDS):
        for processes in PROCESSES:
            for name, case in cases.items():
                per_second, cpu_ms = case(processes)
                results.setdefault((name, processes), []).append(per_second)
                cpu.setdefault((name, processes), []).append(cpu_ms)

    # -------- everything the replay did must be real, and the ledger without drift
    approved = Claim.objects.filter(state=ClaimState.APPROVED, transfer__isnull=False).count()
    approval_cases = sum(name.startswith("approve") for name in cases)
    expected = ROUNDS * approval_cases * sum(PROCESSES) * OPS + 3
    problems = ledger_check()
    print(f"PostgreSQL: {server_version}; {os.cpu_count()} CPUs; {OPS} operations per process; rounds: {ROUNDS}")
    print(f"approved claims: {approved} of {expected} expected; ledger drift: {len(problems)}")
    print(f"{'case':40} {'processes':>9} {'median/s':>10} {'client CPU ms/op':>17}   rounds/s")
    for (name, processes), rates in results.items():
        rounds = " ".join(f"{value:,.0f}" for value in rates)
        cpu_ms = statistics.median(cpu[(name, processes)])
        print(f"{name:40} {processes:>9} {statistics.median(rates):>10,.0f} {cpu_ms:>17.2f}   {rounds}")
    for processes in PROCESSES:
        if approval_cases:
            ours = statistics.median(results[("approve: claim_approve", processes)])
            raw = statistics.median(results[("approve: same statements via psycopg", processes)])
            print(f"approve, {processes} process(es): platform / psycopg = {ours / raw:.0%} (target >= 50%)")
        if HAVE_HORDAK and ("posting: hordak transfer_to", processes) in results:
            posting_rate = statistics.median(results[("posting: post_transfer", processes)])
            hordak = statistics.median(results[("posting: hordak transfer_to", processes)])
            minimal = statistics.median(results[("posting: minimal one-statement (reference)", processes)])
            print(
                f"posting, {processes} process(es): post_transfer / hordak = {posting_rate / hordak:.1f}x "
                f"(target >= 3x); the minimal one-statement posting / hordak = {minimal / hordak:.1f}x"
            )
    if approved != expected or problems:
        raise SystemExit("The benchmark's writes are not what they should be: " + "; ".join(problems[:5]))


if __name__ == "__main__":
    main()
