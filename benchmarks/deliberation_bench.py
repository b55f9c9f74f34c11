"""Deliberation on PostgreSQL: household votes with concurrent clients, the ballot chain, and its verification.

Three measurements, in a scratch database created on the server and dropped at the end:

1. **5,000 households, one vote, concurrent clients** (BENCH_HOUSEHOLDS, BENCH_CLIENTS processes): every household's
   householder casts its ballot through ``vote_cast`` (resident, eligibility, window, choice, the vote row locked,
   participation, ballot with its hash, the head moved, audit entry), all clients on the same vote, so every ballot
   queues on that vote's row lock. Afterwards: 5,000 participations, sequences 1…5,000 without a gap or a repeat,
   every ballot's previous hash the one before (no fork, no lost link), the chain recomputed intact, and the whole
   run within ten minutes.
2. **Platform vs psycopg**: ballots per second through ``vote_cast`` against the same statements through a plain
   psycopg connection (two casts captured with Django's execute wrapper, benchmarks/replay.py, replayed with each
   new ballot's vote, household, resident, account, sequence and hashes filled in; the replay's hashes are computed
   beforehand, so the replay runs one process per vote); with 1 and 4 processes, each process on its own vote.
3. **Verification**: ``chain_report`` over a vote of BENCH_VERIFY (100,000) ballots, inserted in bulk with a real
   chain; then one ballot altered with raw SQL must be found.

Run:
    .venv/bin/python benchmarks/deliberation_bench.py
Environment: BENCH_POSTGRES_SERVER (default postgres://postgres@127.0.0.1:5432), BENCH_HOUSEHOLDS (5000),
BENCH_CLIENTS (4), BENCH_OPS (ballots per process in measurement 2, default 400), BENCH_VERIFY (100000).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SERVER = os.environ.get("BENCH_POSTGRES_SERVER", "postgres://postgres@127.0.0.1:5432").rstrip("/")
HOUSEHOLDS = int(os.environ.get("BENCH_HOUSEHOLDS", "5000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
OPS = int(os.environ.get("BENCH_OPS", "400"))
VERIFY = int(os.environ.get("BENCH_VERIFY", "100000"))
PROCESSES = (1, 4)
ROUNDS = 3
DB = f"gongzhi_deliberation_bench_{os.getpid()}"

os.environ["GONGZHI_DATABASE_URL"] = f"{SERVER}/{DB}"
os.environ["DJANGO_SETTINGS_MODULE"] = "gongzhi.settings"

import psycopg  # noqa: E402
from processes import run_in_processes  # noqa: E402
from replay import Replay, capture, connect  # noqa: E402

# Wide, distinct id ranges, so a captured id never looks like another value of a statement.
SEQUENCES = {
    "places_place": 2_000_000,
    "people_resident": 3_000_000,
    "people_account": 4_000_000,
    "deliberation_vote": 5_000_000,
    "deliberation_participation": 60_000_000,
    "deliberation_ballot": 70_000_000,
}


def _server(dbname: str) -> psycopg.Connection:
    return psycopg.connect(f"{SERVER}/{dbname}", autocommit=True)


def run_processes(work: Callable, shares: list[list]) -> tuple[float, float]:
    """(ballots per second, seconds) of ``work``, one process per share, all started together."""
    return run_in_processes(work, shares)


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


def _households(parent, count: int, prefix: str) -> list:
    """``count`` households under ``parent``, each with a householder who has a login (bulk, for speed)."""
    from django.contrib.auth.hashers import make_password

    from gongzhi.people.models import Account, Resident
    from gongzhi.places.models import Place, PlaceKind
    from gongzhi.places.services import place_bulk_insert

    places = place_bulk_insert(
        levels=[[Place(kind=PlaceKind.HOUSEHOLD, name=f"{prefix}{n:05d}", parent=parent) for n in range(count)]],
        history=False,
    )
    residents = Resident.objects.bulk_create(
        [Resident(name=f"居民{prefix}{n}", household=place, relation="householder") for n, place in enumerate(places)]
    )
    unusable = make_password(None)
    return Account.objects.bulk_create(
        [Account(username=f"{prefix}{r.pk}", password=unusable, resident=r) for r in residents]
    )


def _main() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from gongzhi.deliberation import services
    from gongzhi.deliberation.chain import GENESIS, ballot_hash
    from gongzhi.deliberation.models import Ballot, Participation, Vote
    from gongzhi.deliberation.selectors import chain_report
    from gongzhi.places.models import PlaceKind
    from gongzhi.places.tests.factories import make_place, make_tree, superuser

    if connection.vendor != "postgresql":
        raise SystemExit("This benchmark runs on PostgreSQL.")
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        for table, start in SEQUENCES.items():
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {start})")
        cursor.execute("SELECT version()")
        server_version = cursor.fetchone()[0].split(" on ")[0]

    admin = superuser()
    tree = make_tree()
    community = tree["community_a"]
    now = timezone.now()
    topic = services.topic_propose(
        actor=admin, community=community, title="基准测试议题", description="bench", source="staff", now=now
    )
    topic = services.topic_accept(actor=admin, topic=topic, now=now)

    def new_vote(title: str, buildings=None) -> Vote:
        return services.vote_create(
            actor=admin,
            topic=topic,
            title=title,
            kind="household",
            choices=["同意", "不同意"],
            opens_at=now - timedelta(minutes=5),
            closes_at=now + timedelta(days=2),
            buildings=buildings or [],
            now=now,
        )

    # -------- 1. 5,000 households, one vote, concurrent clients
    building = make_place(PlaceKind.BUILDING, tree["grid_a1"], name="基准楼")
    entrance = make_place(PlaceKind.ENTRANCE, building, name="1单元")
    voters = _households(entrance, HOUSEHOLDS, "h")
    hot = new_vote("五千户表决", buildings=[building])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    def cast_all(share: list, prepare: bool = False, prepared=None):
        from gongzhi.people.models import Account

        if prepare:
            return list(Account.objects.filter(pk__in=share).order_by("pk")), Vote.objects.get(pk=hot.pk)
        accounts, vote = prepared
        for index, account in enumerate(accounts):
            services.vote_cast(actor=account, vote=vote, choice=1 + index % 2)
        return len(accounts)

    ids = [account.pk for account in voters]
    shares = [ids[n::CLIENTS] for n in range(CLIENTS)]
    hot_rate, hot_seconds = run_processes(cast_all, shares)
    sequences = list(Ballot.objects.filter(vote=hot).order_by("sequence").values_list("sequence", flat=True))
    previous = Ballot.objects.filter(vote=hot).values_list("previous_hash", flat=True)
    report = chain_report(hot)
    hot.refresh_from_db()
    one_chain = (
        sequences == list(range(1, HOUSEHOLDS + 1))
        and len(set(previous)) == HOUSEHOLDS
        and report.intact
        and hot.ballot_count == HOUSEHOLDS
        and Participation.objects.filter(vote=hot).count() == HOUSEHOLDS
    )

    # -------- 2. platform vs psycopg, each process on its own vote
    per_process = [
        _households(make_place(PlaceKind.ENTRANCE, building, name=f"{n + 2}单元"), ROUNDS * 4 * OPS + 2, f"p{n}x")
        for n in range(max(PROCESSES))
    ]
    capture_voters = _households(make_place(PlaceKind.ENTRANCE, building, name="抓取单元"), 3, "c")
    capture_vote = new_vote("抓取")
    # The platform's clients keep their vote object (its community and scope are loaded once): so does the capture.
    first_vote = Vote.objects.get(pk=capture_vote.pk)
    services.vote_cast(actor=capture_voters[2], vote=first_vote, choice=1)  # warms the connection and caches

    def cast(account, vote) -> dict:
        receipt = services.vote_cast(actor=account, vote=vote, choice=1)
        return {
            "vote": vote.pk,
            "household": account.resident.household_id,
            "resident": account.resident_id,
            "actor": account.pk,
            "sequence": receipt.ballot.sequence,
            "previous": receipt.ballot.previous_hash,
            "hash": receipt.ballot.hash,
            "participation": receipt.participation.pk,
        }

    first_values, first = capture(lambda: cast(capture_voters[0], first_vote))
    _second_values, second = capture(lambda: cast(capture_voters[1], first_vote))
    replay = Replay(first, second, first_values, by_value={"vote"}, returned={"participation"})
    statements = len(replay)
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profiled = new_vote("profile")
        accounts = _households(make_place(PlaceKind.ENTRANCE, building, name="剖析单元"), 300, "prof")
        profiler = cProfile.Profile()
        profiler.enable()
        for account in accounts:
            services.vote_cast(actor=account, vote=profiled, choice=1)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        for statement in first:
            print(statement.sql[:160])

    used = {"n": 0}

    def round_shares(implementation: str, processes: int) -> list[list]:
        """Per process: its own fresh vote and OPS of its own households (accounts) not used before."""
        result = []
        for process in range(processes):
            vote = new_vote(f"{implementation}{used['n']}")
            pool = per_process[process]
            start = used.setdefault(f"p{process}", 0)
            used[f"p{process}"] = start + OPS
            result.append([vote.pk, *[a.pk for a in pool[start : start + OPS]]])
        used["n"] += 1
        return result

    def platform(share: list, prepare: bool = False, prepared=None):
        from gongzhi.people.models import Account

        if prepare:
            return Vote.objects.get(pk=share[0]), list(Account.objects.filter(pk__in=share[1:]).order_by("pk"))
        vote, accounts = prepared
        for account in accounts:
            services.vote_cast(actor=account, vote=vote, choice=1)
        return len(accounts)

    def psycopg_replay(share: list, prepare: bool = False, prepared=None):
        from gongzhi.people.models import Account

        if prepare:
            vote_id = share[0]
            rows = list(
                Account.objects.filter(pk__in=share[1:])
                .order_by("pk")
                .values_list("pk", "resident_id", "resident__household_id")
            )
            values, head = [], GENESIS
            for sequence, (account_id, resident_id, household_id) in enumerate(rows, start=1):
                digest = ballot_hash(
                    sequence=sequence,
                    vote_id=vote_id,
                    choice=1,
                    voter=f"household:{household_id}",
                    channel="online",
                    tally_sheet_id=None,
                    cast_at=None,
                    previous_hash=head,
                )
                values.append(
                    {
                        "vote": vote_id,
                        "household": household_id,
                        "resident": resident_id,
                        "actor": account_id,
                        "sequence": sequence,
                        "previous": head,
                        "hash": digest,
                    }
                )
                head = digest
            return connect(f"{SERVER}/{DB}"), values
        raw, values = prepared
        try:
            for value in values:
                replay.run(raw, value)
        finally:
            raw.close()
        return len(values)

    results: dict[tuple[str, int], list[float]] = {}
    for _round in range(ROUNDS):
        for processes in PROCESSES:
            for name, work in (("platform", platform), ("psycopg", psycopg_replay)):
                rate, _seconds = run_processes(work, round_shares(name, processes))
                results.setdefault((name, processes), []).append(rate)
    replayed_votes = Vote.objects.filter(title__startswith="psycopg")
    replayed = Participation.objects.filter(vote__in=replayed_votes).count()
    # (the replay keeps the captured cast_at, so its own chains are not checked here: the platform's are)
    platform_chains = all(chain_report(v).intact for v in Vote.objects.filter(title__startswith="platform"))

    # -------- 3. verification of a vote of VERIFY ballots (inserted in bulk with a real chain)
    big = new_vote("十万票")
    head, rows = GENESIS, []
    for sequence in range(1, VERIFY + 1):
        voter = f"{sequence:016x}"
        digest = ballot_hash(
            sequence=sequence,
            vote_id=big.pk,
            choice=1 + sequence % 2,
            voter=voter,
            channel="online",
            tally_sheet_id=None,
            cast_at=None,
            previous_hash=head,
        )
        rows.append(
            Ballot(
                vote=big,
                sequence=sequence,
                choice=1 + sequence % 2,
                voter=voter,
                channel="online",
                previous_hash=head,
                hash=digest,
            )
        )
        head = digest
    Ballot.objects.bulk_create(rows, batch_size=5000)
    Vote.objects.filter(pk=big.pk).update(ballot_count=VERIFY, head_hash=head)
    start = time.perf_counter()
    big_report = chain_report(big)
    verify_seconds = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE deliberation_ballot DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE deliberation_ballot SET choice = 3 - choice WHERE vote_id = %s AND sequence = %s",
            [big.pk, VERIFY // 2],
        )
        cursor.execute("ALTER TABLE deliberation_ballot ENABLE TRIGGER USER")
    altered = chain_report(big)

    print(f"PostgreSQL: {server_version}; {os.cpu_count()} CPUs")
    print(
        f"1. {HOUSEHOLDS} households, {CLIENTS} concurrent clients, one vote: {hot_seconds:.1f} s "
        f"({hot_rate:,.0f} ballots/s); one chain without gap, repeat or fork: {one_chain}; "
        f"within ten minutes: {hot_seconds < 600}"
    )
    print(f"2. statements per ballot: {statements} (+ BEGIN, COMMIT of {replay.transactions} transaction)")
    print(f"   {'processes':>9} {'platform/s':>11} {'psycopg/s':>10} {'ratio':>6}   rounds (platform | psycopg)")
    for processes in PROCESSES:
        ours, theirs = results[("platform", processes)], results[("psycopg", processes)]
        rounds = " ".join(f"{v:,.0f}" for v in ours) + " | " + " ".join(f"{v:,.0f}" for v in theirs)
        ratio = statistics.median(ours) / statistics.median(theirs)
        print(
            f"   {processes:>9} {statistics.median(ours):>11,.0f} {statistics.median(theirs):>10,.0f} "
            f"{ratio:>6.0%}   {rounds}"
        )
    print(f"   replayed participations: {replayed}; platform chains intact: {platform_chains}")
    print(
        f"3. verification of {VERIFY:,} ballots: {verify_seconds:.2f} s, intact: {big_report.intact}; "
        f"one ballot altered with raw SQL found: {not altered.intact} ({'; '.join(altered.problems[:1])})"
    )


if __name__ == "__main__":
    main()
