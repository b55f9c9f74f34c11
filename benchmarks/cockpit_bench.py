"""The district cockpit on big data: the roll-ups (gongzhi/rollups) against the same figures counted from the raw
records, in the same run, at growing sizes (issue #13 part 5).

For each size (ledger postings; cases and volunteer attendances a tenth of them, points claims a twentieth) a
scratch database is made on PostgreSQL and filled in bulk by SQL (generate_series, rows cloned from one template row
per table, so every NOT NULL column is real): a district of 10 streets, 100 communities, 500 grids, 2,000 buildings
and 20,000 households, one resident and holder account per household, postings spread over 2029-2031 (80 % awards,
10 % adjustments, 10 % completed redemptions; each a transfer with a holder entry and the issuance's counter-entry),
cases about the buildings (80 % closed, ratings and levels varied), activities of 40 sign-ups with 2,000 registered
party members (benchmarks/cockpit_fill_volunteering.py) and reviewed claims (benchmarks/cockpit_fill_claims.py).
The roll-ups are built (timed), a few hundred postings are made after the build (so the live part of each figure is
exercised), then, median of ``BENCH_ROUNDS`` runs, for the district and March 2031 / the year 2031:

- page: the district cockpit page, then the comparison with the previous period and the trend it fetches, and the
  page with the comparison inside (?compare=1), through the real views (Django's test client, logged in);
- rolled: the rolled figure groups (points.ledger, points.moral_bank, cases.cases, points.claims, the volunteering
  activities) through their group functions, plus the cockpit's rankings (the streets) and trend (twelve months),
  as the cockpit page calls them;
- raw: the same figures by the raw recounts (``*_recount``: the pre-roll-up ORM code), rankings and trend by
  computing each street and each month from the raw records (what the cockpit did before the roll-ups);
- distinct: the participants count (a distinct count kept as first-seen records) timed alone.

Every rolled figure is checked equal to its raw recount in the run. The database is dropped at the end.

Run (needs PostgreSQL):
    .venv/bin/python benchmarks/cockpit_bench.py
Environment: BENCH_POSTGRES_SERVER (default postgres://postgres@127.0.0.1:5432), BENCH_SIZES (postings, comma
separated; default 100000,1000000,10000000), BENCH_ROUNDS (default 3), BENCH_RAW_ROUNDS (default BENCH_ROUNDS),
BENCH_KEEP=1 (keep the last size's database, to profile it), BENCH_REUSE=1 with BENCH_DB=<its name> (measure a kept
database again, one size, without filling or building).
"""

from __future__ import annotations

import html
import os
import re
import statistics
import sys
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = os.environ.get("BENCH_POSTGRES_SERVER", "postgres://postgres@127.0.0.1:5432").rstrip("/")
SIZES = [int(size) for size in os.environ.get("BENCH_SIZES", "100000,1000000,10000000").split(",")]
REUSE = bool(os.environ.get("BENCH_REUSE"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
# The raw recounts take minutes at 10,000,000 postings: BENCH_RAW_ROUNDS=1 times them once.
RAW_ROUNDS = int(os.environ.get("BENCH_RAW_ROUNDS", str(ROUNDS)))
DB = os.environ.get("BENCH_DB", f"gongzhi_cockpit_bench_{os.getpid()}")
SHANGHAI = ZoneInfo("Asia/Shanghai")

os.environ["GONGZHI_DATABASE_URL"] = f"{SERVER}/{DB}"
os.environ["DJANGO_SETTINGS_MODULE"] = "gongzhi.settings"
# The page is timed as a superuser without a second factor (setting one up is not what is measured).
os.environ["GONGZHI_TWO_FACTOR_MANDATORY"] = "0"

import psycopg  # noqa: E402
from cockpit_fill_claims import fill_claims  # noqa: E402
from cockpit_fill_volunteering import fill_volunteering, volunteering_raw, volunteering_rolled  # noqa: E402

STREETS, COMMUNITIES, GRIDS, BUILDINGS, HOUSEHOLDS = 10, 10, 5, 4, 10  # children per parent


def _server(dbname: str) -> psycopg.Connection:
    return psycopg.connect(f"{SERVER}/{dbname}", autocommit=True)


def _places(cursor) -> None:
    """The tree by SQL: ids numbered level by level, paths from the parents'."""
    cursor.execute(
        "INSERT INTO places_place (id, kind, name, code, parent_id, path, depth, address, is_active, created_at, "
        "updated_at) VALUES (1, 'district', '示范区', '', NULL, '/1/', 0, '', true, now(), now())"
    )
    levels = [("street", STREETS), ("community", COMMUNITIES), ("grid", GRIDS), ("building", BUILDINGS)]
    levels.append(("household", HOUSEHOLDS))
    for depth, (kind, per_parent) in enumerate(levels, start=1):
        grid_level = "1" if kind == "grid" else "NULL"
        cursor.execute(
            "INSERT INTO places_place (id, kind, name, code, parent_id, path, depth, grid_level, address, is_active, "
            "created_at, updated_at) "
            f"SELECT (SELECT max(id) FROM places_place) + row_number() OVER (ORDER BY p.id, n), %s, "
            f"%s || p.id || '-' || n, '', p.id, '', {depth}, {grid_level}, '', true, now(), now() "
            "FROM places_place p CROSS JOIN generate_series(1, %s) n WHERE p.depth = %s",
            [kind, kind, per_parent, depth - 1],
        )
        cursor.execute(
            "UPDATE places_place c SET path = p.path || c.id || '/' FROM places_place p "
            "WHERE c.parent_id = p.id AND c.depth = %s",
            [depth],
        )
    cursor.execute("SELECT setval('places_place_id_seq', (SELECT max(id) FROM places_place))")


def _columns(cursor, table: str, overrides: dict[str, str]) -> tuple[str, str]:
    """(column list, select list) cloning a template row ``t`` of ``table`` with ``overrides`` (SQL expressions)."""
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name <> 'id' "
        "ORDER BY ordinal_position",
        [table],
    )
    names = [row[0] for row in cursor.fetchall()]
    return ", ".join(names), ", ".join(overrides.get(name, f"t.{name}") for name in names)


def _fill(postings: int) -> None:
    """Accounts, postings and cases in bulk, cloned from templates the platform made."""
    from django.db import connection

    from gongzhi.cases.models import Case, CaseCategory
    from gongzhi.people.models import Resident
    from gongzhi.places.models import Place
    from gongzhi.points.ledger import Leg, post_transfer, system_account
    from gongzhi.points.models import AccountKind, PointsAccount, TransferKind

    with connection.cursor() as cursor:
        _places(cursor)
        issuance = system_account("issuance")
        household = Place.objects.filter(kind="household").first()
        # One resident per household, with their points account (participants and depositor households count
        # residents and their homes).
        resident = Resident.objects.create(name="居民", household=household)
        columns, select = _columns(cursor, "people_resident", {"household_id": "h.id", "name": "'居民' || h.id"})
        cursor.execute(
            f"INSERT INTO people_resident ({columns}) SELECT {select} FROM people_resident t "
            "CROSS JOIN places_place h WHERE t.id = %s AND h.kind = 'household' AND h.id <> %s",
            [resident.pk, household.pk],
        )
        template = PointsAccount.objects.create(
            kind=AccountKind.RESIDENT, resident=resident, place_path=household.path, display_name="t"
        )
        columns, select = _columns(
            cursor,
            "points_pointsaccount",
            {"place_path": "h.path", "display_name": "'居民' || h.id", "resident_id": "r.id"},
        )
        cursor.execute(
            f"INSERT INTO points_pointsaccount ({columns}) SELECT {select} FROM points_pointsaccount t "
            "CROSS JOIN places_place h JOIN people_resident r ON r.household_id = h.id "
            "WHERE t.id = %s AND h.kind = 'household' AND h.id <> %s",
            [template.pk, household.pk],
        )
        transfer, _created = post_transfer(
            kind=TransferKind.AWARD,
            idempotency_key="bench:template",
            legs=[Leg(issuance.pk, -5), Leg(template.pk, 5, counts_as_earned=True)],
            actor=None,
            effective_date=date(2029, 1, 1),
        )
        cursor.execute("SELECT min(id), count(*) FROM points_pointsaccount WHERE kind = 'resident'")
        first_account, accounts = cursor.fetchone()
        # Transfer i: kind by i % 10, effective day i % 1095 from 2029-01-01, created that day at 10:00.
        kind = "CASE WHEN mod(n, 10) = 8 THEN 'adjustment' WHEN mod(n, 10) = 9 THEN 'capture' ELSE 'award' END"
        day = "(date '2029-01-01' + mod(n, 1095))"
        columns, select = _columns(
            cursor,
            "points_transfer",
            {
                "kind": kind,
                "idempotency_key": "'bench:' || n",
                "effective_date": day,
                "created_at": f"({day} + time '10:00') AT TIME ZONE 'Asia/Shanghai'",
                "source_type": "''",
                "source_id": "''",
            },
        )
        start = time.perf_counter()
        cursor.execute("SELECT max(id) FROM points_transfer")
        base = cursor.fetchone()[0]
        cursor.execute(
            f"INSERT INTO points_transfer ({columns}) SELECT {select} FROM points_transfer t "
            "CROSS JOIN generate_series(1, %s) n WHERE t.id = %s ORDER BY n",
            [postings - 1, transfer.pk],
        )
        # Entries: the holder's leg (awards earn, captures come out of held) and the issuance's counter-leg.
        amount = "CASE WHEN x.kind = 'capture' THEN -(1 + mod(x.id, 7)) ELSE 1 + mod(x.id, 9) END"
        holder = f"{first_account} + mod(x.id * 7919, {accounts})"
        cursor.execute(
            "INSERT INTO points_entry (transfer_id, account_id, bucket, amount, counts_as_earned) "
            f"SELECT x.id, {holder}, CASE WHEN x.kind = 'capture' THEN 'held' ELSE 'balance' END, {amount}, "
            "x.kind = 'award' FROM points_transfer x WHERE x.id > %s ORDER BY x.id",
            [base],
        )
        cursor.execute(
            "INSERT INTO points_entry (transfer_id, account_id, bucket, amount, counts_as_earned) "
            f"SELECT x.id, %s, 'balance', -({amount}), false FROM points_transfer x WHERE x.id > %s ORDER BY x.id",
            [issuance.pk, base],
        )
        print(f"   postings: {postings:,} in {time.perf_counter() - start:.0f} s", flush=True)
        cases = postings // 10
        building = Place.objects.filter(kind="building").first()
        category = CaseCategory.objects.first() or CaseCategory.objects.create(name="路灯", code="light")
        moment = datetime(2029, 1, 1, 9, tzinfo=SHANGHAI)
        case = Case.objects.create(
            category=category,
            text="路灯不亮",
            place=building,
            channel="staff",
            handling_place=building,
            submitted_at=moment,
            reported_at=moment,
        )
        submitted = "(timestamp '2029-01-01 09:00' + mod(n, 1095) * interval '1 day') AT TIME ZONE 'Asia/Shanghai'"
        closed = n_closed = "mod(n, 10) < 8"
        columns, select = _columns(
            cursor,
            "cases_case",
            {
                "place_id": "b.id",
                "submitted_at": submitted,
                "reported_at": submitted,
                "state": f"CASE WHEN {closed} THEN 'closed' ELSE 'in_progress' END",
                "closed_at": f"CASE WHEN {n_closed} THEN {submitted} + mod(n, 5) * interval '1 day' END",
                "is_overdue": "mod(n, 7) = 0",
                "first_overdue_at": f"CASE WHEN mod(n, 7) = 0 THEN {submitted} END",
                "resolved_at": f"CASE WHEN {n_closed} THEN {submitted} + mod(n, 5) * interval '1 day' END",
                "satisfaction": f"CASE WHEN {closed} THEN (ARRAY['satisfied', 'basically_satisfied', "
                "'unsatisfied', ''])[1 + mod(n, 4)] ELSE '' END",
                "resolved_level": f"CASE WHEN {closed} THEN (ARRAY['grid', 'community', 'street'])[1 + mod(n, 3)] "
                "ELSE '' END",
            },
        )
        start = time.perf_counter()
        cursor.execute(
            "CREATE TEMP TABLE bench_buildings AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, id "
            "FROM places_place WHERE kind = 'building'"
        )
        cursor.execute(
            f"INSERT INTO cases_case ({columns}) SELECT {select} FROM cases_case t CROSS JOIN generate_series(1, %s) n "
            f"JOIN bench_buildings b ON b.k = mod(n, {STREETS * COMMUNITIES * GRIDS * BUILDINGS}) WHERE t.id = %s",
            [cases - 1, case.pk],
        )
        print(f"   cases: {cases:,} in {time.perf_counter() - start:.0f} s", flush=True)
        start = time.perf_counter()
        fill_volunteering(cursor, postings // 10, date(2029, 1, 1), 1095, _columns)
        print(f"   attendances: {postings // 10:,} in {time.perf_counter() - start:.0f} s", flush=True)
        start = time.perf_counter()
        fill_claims(cursor, postings // 20, date(2029, 1, 1), 1095, _columns)
        print(f"   claims: {postings // 20:,} in {time.perf_counter() - start:.0f} s", flush=True)
        cursor.execute("ANALYZE")


def _median(work, rounds: int = ROUNDS) -> tuple[float, object]:
    times, result = [], None
    for _round in range(rounds):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, result


def _measure(postings: int) -> dict:
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client

    from gongzhi.cases import kpis as case_kpis
    from gongzhi.cockpit import selectors
    from gongzhi.core import kpi_catalogue
    from gongzhi.core.figures import Period
    from gongzhi.people.models import Account
    from gongzhi.places.models import Place
    from gongzhi.points import claim_kpis, ledger_kpis
    from gongzhi.points import kpis as points_kpis
    from gongzhi.points.ledger import Leg, post_transfer, system_account
    from gongzhi.points.models import PointsAccount, TransferKind
    from gongzhi.rollups.services import rollups_build

    now = datetime(2031, 12, 31, 12, tzinfo=SHANGHAI)
    fill_seconds = build_seconds = 0.0
    if not REUSE:
        with _server("postgres") as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {DB}")
        call_command("migrate", verbosity=0)
        start = time.perf_counter()
        _fill(postings)
        fill_seconds = time.perf_counter() - start
        start = time.perf_counter()
        rollups_build(now=now)
        build_seconds = time.perf_counter() - start
    # Postings after the build, some back-dated into March 2031: the figures' live part.
    accounts = list(PointsAccount.objects.filter(kind="resident").order_by("pk").values_list("pk", flat=True)[:300])
    issuance = system_account("issuance").pk
    # A reused database (BENCH_REUSE) holds them already.
    for number, account in enumerate([] if REUSE else accounts):
        post_transfer(
            kind=TransferKind.ADJUSTMENT,
            idempotency_key=f"bench:after:{number}",
            legs=[Leg(issuance, -2), Leg(account, 2, counts_as_earned=True)],
            actor=None,
            effective_date=date(2031, 3, 15) if number % 3 == 0 else date(2031, 12, 31),
        )
    district = Place.objects.get(kind="district")
    streets = list(Place.objects.filter(parent=district))
    boss = Account.objects.filter(username="bench-admin").first() or _superuser()
    month, year = Period.month(2031, 3), Period.year(2031)

    def rolled(period):
        return (
            points_kpis.ledger_figures(district, period),
            points_kpis.moral_bank_figures(district, period),
            case_kpis.case_figures(district, period),
            selectors.cockpit_rankings(boss, district, period),
            selectors.cockpit_trend(boss, district, period),
            claim_kpis.claim_figures(district, period),
            volunteering_rolled(district, period),
        )

    def raw(period):
        ledger = points_kpis.ledger_figures_recount(district, period)
        moral = points_kpis.moral_bank_figures_recount(district, period)
        cases = case_kpis.case_figures_recount(district, period)
        claims = claim_kpis.claim_figures_recount(district, period)
        volunteering = volunteering_raw(district, period)
        ranking = [
            (points_kpis.ledger_figures_recount(s, period).issued, case_kpis.case_figures_recount(s, period).on_time)
            for s in streets
        ]
        trend = [
            (
                points_kpis.ledger_figures_recount(district, m).issued,
                case_kpis.case_figures_recount(district, m).received,
            )
            for m in selectors.trend_months(period.last)
        ]
        return ledger, moral, cases, ranking, trend, claims, volunteering

    def distinct_only(period):
        return ledger_kpis._participants(district, period)

    parts = {
        "ledger": lambda: points_kpis.ledger_figures(district, month),
        "moral bank": lambda: points_kpis.moral_bank_figures(district, month),
        "cases": lambda: case_kpis.case_figures(district, month),
        "rankings": lambda: selectors.cockpit_rankings(boss, district, month),
        "trend": lambda: selectors.cockpit_trend(boss, district, month),
        "claims": lambda: claim_kpis.claim_figures(district, month),
        "volunteering": lambda: volunteering_rolled(district, month),
    }
    print("   rolled, by part (month): " + ", ".join(f"{n} {_median(w)[0]:.0f} ms" for n, w in parts.items()))
    result: dict = {"postings": postings, "fill_s": fill_seconds, "build_s": build_seconds}
    client = Client()
    client.force_login(boss)

    def page(path: str) -> str:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response.content.decode()

    for label, period in (("month", month), ("year", year)):
        # Through the real views: the page (every figure of the catalogue for the period, the rankings, rendering),
        # the comparison with the previous period and the trend it fetches next, and the page with the comparison
        # inside (?compare=1, what a browser without scripts asks for).
        place_url = f"/cockpit/{district.pk}/?period={period.key}"
        compare_url = html.unescape(re.search(r'id="cockpit-figures"[^>]*hx-get="([^"]+)"', page(place_url))[1])
        timings = {
            "page": _median(lambda url=place_url: page(url))[0],
            "compare": _median(lambda url=compare_url: page(url))[0],
            "trend": _median(lambda period=period: page(f"/cockpit/{district.pk}/trend/?period={period.key}"))[0],
            "inline": _median(lambda url=place_url: page(f"{url}&compare=1"))[0],
        }
        result[f"page_{label}"] = timings
        print(
            f"   page ({label}): {timings['page']:.0f} ms; then the comparison {timings['compare']:.0f} ms and the "
            f"trend {timings['trend']:.0f} ms; with the comparison inside {timings['inline']:.0f} ms",
            flush=True,
        )
    for label, period in (("month", month), ("year", year)):
        rolled_ms, shown = _median(lambda period=period: rolled(period))
        raw_ms, counted = _median(lambda period=period: raw(period), rounds=RAW_ROUNDS)
        assert shown[0] == counted[0] and shown[1] == counted[1] and shown[2] == counted[2], label
        assert shown[5] == counted[5] and shown[6] == counted[6], label
        ranked = {row.place.pk: row.values["points.ledger.issued"].value for row in shown[3][0]}
        assert sorted(ranked.values()) == sorted(issued for issued, _rate in counted[3]), label
        assert [p.values["points.ledger.issued"].value for p in shown[4]] == [i for i, _r in counted[4]], label
        distinct_ms, _people = _median(lambda period=period: distinct_only(period))
        full_ms, _snapshot = _median(lambda period=period: kpi_catalogue.compute(district, period), rounds=1)
        result[label] = {"rolled_ms": rolled_ms, "raw_ms": raw_ms, "distinct_ms": distinct_ms, "full_ms": full_ms}
        print(
            f"   {label}: rolled {rolled_ms:.0f} ms (of which the distinct counts ~{2 * distinct_ms:.0f} ms), "
            f"raw {raw_ms:.0f} ms, raw/rolled {raw_ms / rolled_ms:.1f}×; whole catalogue {full_ms:.0f} ms",
            flush=True,
        )
    connections.close_all()
    return result


def _superuser():
    from gongzhi.people.models import Account

    return Account.objects.create_superuser(username="bench-admin", password=None)


def main() -> None:
    import django

    django.setup()
    results = []
    try:
        for postings in SIZES:
            print(f"== {postings:,} postings, {postings // 10:,} cases", flush=True)
            result = _measure(postings)
            print(f"   filled in {result['fill_s']:.0f} s, roll-ups built in {result['build_s']:.0f} s", flush=True)
            results.append(result)
    finally:
        from django.db import connections

        connections.close_all()
        if not (os.environ.get("BENCH_KEEP") or REUSE):
            with _server("postgres") as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        else:
            print(f"kept the database {DB} (BENCH_KEEP)")
    if len(results) > 1:
        small, large = results[0], results[-1]
        for label in ("month", "year"):
            growth = large[label]["rolled_ms"] / small[label]["rolled_ms"]
            raw_growth = large[label]["raw_ms"] / small[label]["raw_ms"]
            page_growth = large[f"page_{label}"]["page"] / small[f"page_{label}"]["page"]
            print(
                f"growth {small['postings']:,} → {large['postings']:,} ({label}): page {page_growth:.2f}×, rolled "
                f"{growth:.2f}×, raw {raw_growth:.2f}×"
            )


if __name__ == "__main__":
    main()
