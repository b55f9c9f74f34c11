"""Volunteering on PostgreSQL: 500 sign-ups racing for an activity of 50 places, and sign-ups per second through
the platform against the same statements via psycopg.

1. **The race**: 500 residents, split over ``BENCH_PROCESSES`` worker processes (default 8, each on its own
   connection), all released at once on one activity of capacity 50. Afterwards: exactly 50 with a place, 450 on
   the waiting list with positions 1…450 and no gap, the waiting order the order the sign-ups were committed in
   (ids ascending with the positions), ``taken`` = 50. The rate is reported.
2. **Platform against psycopg**: 500 sign-ups (1 process and 4) to an activity that is full already, so every one
   takes the same path (the one 450 of the 500 above take): ``activity_join`` (the resident, the activity's lock,
   the duplicate check, overdue offers, the waiting position moved and read in one ``UPDATE … RETURNING``, the
   sign-up, the audit entry). "psycopg" replays the statements Django sent for two captured sign-ups
   (benchmarks/replay.py) through a plain psycopg connection with each new resident's, account's and activity's
   ids filled in, and the position taken from the replayed ``UPDATE … RETURNING``.

Everything happens in a scratch database created on the server and dropped at the end.

Run:
    .venv/bin/python benchmarks/volunteering_bench.py
Environment: BENCH_POSTGRES_SERVER (default postgres://postgres@127.0.0.1:5432), BENCH_ROUNDS (default 3),
BENCH_PROCESSES (default 8, for the race).
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = os.environ.get("BENCH_POSTGRES_SERVER", "postgres://postgres@127.0.0.1:5432").rstrip("/")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
RACE_PROCESSES = int(os.environ.get("BENCH_PROCESSES", "8"))
SIGNUPS = 500
CAPACITY = 50
PROCESSES = (1, 4)
DB = f"gongzhi_volunteering_bench_{os.getpid()}"

os.environ["GONGZHI_DATABASE_URL"] = f"{SERVER}/{DB}"
os.environ["DJANGO_SETTINGS_MODULE"] = "gongzhi.settings"

import psycopg  # noqa: E402
from processes import run_in_processes  # noqa: E402
from replay import Replay, capture, connect  # noqa: E402

# Distinct, wide id ranges, so a captured id never looks like another value of a statement.
SEQUENCES = {
    "people_resident": 2_000_000,
    "people_account": 4_000_000,
    "volunteering_activity": 6_000_000,
    "volunteering_signup": 80_000_000,
}
SERIAL_START = 7_000_000  # the captured activities' waiting positions, equally distinctive


def _server(dbname: str) -> psycopg.Connection:
    return psycopg.connect(f"{SERVER}/{dbname}", autocommit=True)


def rate(work: Callable, shares: list[list]) -> float:
    """Sign-ups per second of ``work``, one process per share, all started together (benchmarks/processes.py)."""
    return run_in_processes(work, shares, timeout=900)[0]


def _volunteers(household, count: int) -> list[int]:
    """``count`` residents of ``household`` with a login each (no password) and the resident role: bulk-made, as
    the roster import would (hashing 6,000 passwords would take longer than the benchmark)."""
    from gongzhi.core.roles import Role
    from gongzhi.people.models import Account, Resident, RoleAssignment

    residents = Resident.objects.bulk_create(
        [Resident(name=f"志愿者{number}", household=household) for number in range(count)], batch_size=1000
    )
    logins = [Account(username=f"bench-{resident.pk}", resident=resident, password="!") for resident in residents]
    logins = Account.objects.bulk_create(logins, batch_size=1000)
    RoleAssignment.objects.bulk_create(
        [RoleAssignment(account=login, role=Role.RESIDENT, place=household) for login in logins], batch_size=1000
    )
    return [login.pk for login in logins]


def split(items: list, parts: int) -> list[list]:
    return [items[index::parts] for index in range(parts)]


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


def _main() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from gongzhi.people.models import Account
    from gongzhi.volunteering.models import Activity, SignUp
    from gongzhi.volunteering.services import activity_join

    if connection.vendor != "postgresql":
        raise SystemExit("This benchmark runs on PostgreSQL.")
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        for table, start in SEQUENCES.items():
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {start})")
        cursor.execute("SELECT version()")
        server_version = cursor.fetchone()[0].split(" on ")[0]

    from django.utils import timezone

    from gongzhi.volunteering.tests.factories import make_activity, make_world, volunteer

    now = timezone.now()
    world = make_world()
    needed = SIGNUPS * (1 + ROUNDS * len(PROCESSES) * 2) + 4
    people_ids = _volunteers(world.tree["household_a1"], needed)

    def activity(capacity: int, *, full: bool = False) -> Activity:
        made = make_activity(world, starts_at=now + timedelta(days=3), capacity=capacity, now=now)
        if full:  # every place taken (by the organiser's enrolment of a spare resident), waiting serial distinctive
            activity_join(actor=world.organiser, activity=made, resident=volunteer(world).resident, now=now)
            Activity.objects.filter(pk=made.pk).update(waiting_serial=SERIAL_START)
        return Activity.objects.select_related("community").get(pk=made.pk)

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    def accounts(ids: list[int]) -> list:
        by_id = {a.pk: a for a in Account.objects.filter(pk__in=ids)}
        return [by_id[pk] for pk in ids]

    # -------- 1. the race: 500 for 50
    race_activity = activity(CAPACITY)
    race_ids, people_ids = people_ids[:SIGNUPS], people_ids[SIGNUPS:]

    def platform(share: list, prepare: bool = False, prepared=None):
        if prepare:
            return accounts([row[0] for row in share]), Activity.objects.select_related("community").get(pk=share[0][1])
        logins, target = prepared
        for login in logins:
            activity_join(actor=login, activity=target, now=now)

    race_rate = rate(platform, split([(pk, race_activity.pk) for pk in race_ids], RACE_PROCESSES))
    confirmed = SignUp.objects.filter(activity=race_activity, state="confirmed").count()
    waiting = list(SignUp.objects.filter(activity=race_activity, state="waiting").order_by("position"))
    race_activity.refresh_from_db()
    positions_ok = [s.position for s in waiting] == list(range(1, len(waiting) + 1))
    order_ok = [s.pk for s in waiting] == sorted(s.pk for s in waiting)
    race_ok = (
        confirmed == CAPACITY
        and len(waiting) == SIGNUPS - CAPACITY
        and race_activity.taken == CAPACITY
        and positions_ok
        and order_ok
    )

    # -------- 2. the capture: two waiting-list sign-ups through the platform (other residents), recorded
    capture_activity = activity(1, full=True)

    def join(login) -> tuple[list, dict]:
        target = Activity.objects.select_related("community").get(pk=capture_activity.pk)
        login = Account.objects.get(pk=login.pk)
        signup, statements = capture(lambda: activity_join(actor=login, activity=target, now=now))
        return statements, {
            "actor": login.pk,
            "resident": login.resident_id,
            "activity": target.pk,
            "position": signup.position,
            "signup": signup.pk,
        }

    spare = [volunteer(world) for _ in range(3)]
    join(spare[2])  # warms the connection
    first, first_vars = join(spare[0])
    second, _second_vars = join(spare[1])
    replay = Replay(first, second, first_vars, by_value={"activity"}, returned={"position", "signup"})

    def psycopg_replay(share: list, prepare: bool = False, prepared=None):
        if prepare:
            return connect(f"{SERVER}/{DB}")
        try:
            for login_id, resident_id, activity_id in share:
                replay.run(prepared, {"actor": login_id, "resident": resident_id, "activity": activity_id})
        finally:
            prepared.close()

    resident_of = dict(Account.objects.filter(pk__in=people_ids).values_list("pk", "resident_id"))
    results: dict[tuple[str, int], list[float]] = {}
    expected: dict[int, int] = {}
    for _round in range(ROUNDS):
        for processes in PROCESSES:
            for implementation in ("platform", "psycopg"):
                target = activity(1, full=True)
                ids, people_ids = people_ids[:SIGNUPS], people_ids[SIGNUPS:]
                if implementation == "platform":
                    value = rate(platform, split([(pk, target.pk) for pk in ids], processes))
                else:
                    rows = [(pk, resident_of[pk], target.pk) for pk in ids]
                    value = rate(psycopg_replay, split(rows, processes))
                expected[target.pk] = SIGNUPS
                results.setdefault((implementation, processes), []).append(value)
    made_ok = all(
        SignUp.objects.filter(activity_id=pk, state="waiting").count() == count for pk, count in expected.items()
    )

    print(f"PostgreSQL: {server_version}; {os.cpu_count()} CPUs; rounds: {ROUNDS}")
    print(
        f"race: {SIGNUPS} sign-ups in {RACE_PROCESSES} processes for {CAPACITY} places: {confirmed} with a place, "
        f"{len(waiting)} waiting, positions 1…{len(waiting)} without gap: {positions_ok}, in commit order: "
        f"{order_ok}; {race_rate:,.0f} sign-ups/s"
    )
    print(f"statements per sign-up: {len(replay)} (+ BEGIN, COMMIT); every sign-up written: {made_ok}")
    print(f"{'processes':>9} {'platform/s':>11} {'psycopg/s':>10} {'ratio':>6}   rounds (platform | psycopg)")
    for processes in PROCESSES:
        ours, theirs = results[("platform", processes)], results[("psycopg", processes)]
        rounds = " ".join(f"{v:,.0f}" for v in ours) + " | " + " ".join(f"{v:,.0f}" for v in theirs)
        ratio = statistics.median(ours) / statistics.median(theirs)
        print(
            f"{processes:>9} {statistics.median(ours):>11,.0f} {statistics.median(theirs):>10,.0f} {ratio:>6.0%}   "
            f"{rounds}"
        )
    if not race_ok or not made_ok:
        raise SystemExit("The benchmark's writes are not what they should be.")


if __name__ == "__main__":
    main()
