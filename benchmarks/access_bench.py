"""Scoped reads through the platform versus the same statements through psycopg, in one run.

For a grid worker, a community secretary and a street admin on a seeded district, each case is first run once
through the platform while Django records the SQL it sends; the reference then replays exactly those statements
through a plain psycopg connection. The ratio is the cost of the ORM and the access layer on top of the
database's own work.

Cases: the API's resident list page (roles + count + 50 rows + tags), one resident through ``access_resident``,
and everything under a community (``place_subtree``).

Run (needs a seeded PostgreSQL database; benchmarks/run.sh makes a scratch one):
    GONGZHI_DATABASE_URL=postgres://postgres@127.0.0.1:5432/DB .venv/bin/python benchmarks/access_bench.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")

import django

django.setup()

import psycopg  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from gongzhi.core.access import forget_grants  # noqa: E402
from gongzhi.core.roles import Role  # noqa: E402
from gongzhi.people.models import Account, Resident, RoleAssignment  # noqa: E402
from gongzhi.people.selectors import ResidentFilters, access_resident, resident_list  # noqa: E402
from gongzhi.places.models import Place, PlaceKind  # noqa: E402
from gongzhi.places.selectors import place_subtree  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "200"))


def median_seconds(function: Callable[[], object], rounds: int) -> float:
    for _ in range(5):
        function()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def replayer(raw: psycopg.Connection, function: Callable[[], object]) -> Callable[[], None]:
    """Run ``function`` once through Django, then return a callable sending the same SQL through psycopg."""
    with CaptureQueriesContext(connection) as captured:
        function()
    statements = [query["sql"] for query in captured.captured_queries]

    def replay() -> None:
        with raw.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
                if cursor.description is not None:
                    cursor.fetchall()

    return replay


def compare(raw: psycopg.Connection, label: str, function: Callable[[], object], rounds: int = ROUNDS) -> None:
    reference = replayer(raw, function)
    ours, theirs = median_seconds(function, rounds), median_seconds(reference, rounds)
    print(f"{label:48} {ours * 1000:11.2f} {theirs * 1000:11.2f} {ours / theirs:6.2f}")


def account_holding(role: str, place: Place) -> Account:
    account, _created = Account.objects.get_or_create(username=f"bench-{role}-{place.pk}")
    RoleAssignment.objects.get_or_create(account=account, role=role, place=place)
    return account


def resident_page(actor: Account) -> None:
    forget_grants(actor)  # a new request loads the roles again
    queryset = resident_list(actor, ResidentFilters())
    queryset.count()
    list(queryset[:50])


def resident_one(actor: Account, resident_id: int) -> None:
    forget_grants(actor)
    access_resident(actor, resident_id)


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("This benchmark compares against psycopg: point GONGZHI_DATABASE_URL at PostgreSQL.")
    community = Place.objects.filter(kind=PlaceKind.COMMUNITY).order_by("pk").first()
    if community is None:
        sys.exit("Seed the database first: gongzhi seed --households 100000")
    street = Place.objects.get(pk=community.parent_id)
    grid = Place.objects.filter(kind=PlaceKind.GRID, path__startswith=community.path).order_by("pk").first()
    params = connection.get_connection_params()
    raw = psycopg.connect(
        **{key: params[key] for key in ("host", "port", "user", "password", "dbname") if params.get(key)},
        autocommit=True,
    )
    print(
        f"households: {Place.objects.filter(kind=PlaceKind.HOUSEHOLD).count():,}; "
        f"residents: {Resident.objects.count():,}; median of {ROUNDS} rounds"
    )
    print(f"{'case':48} {'platform ms':>11} {'psycopg ms':>11} {'ratio':>6}")
    for role, place in ((Role.GRID_WORKER, grid), (Role.COMMUNITY_SECRETARY, community), (Role.STREET_ADMIN, street)):
        actor = account_holding(role, place)
        sample = Resident.objects.filter(household__path__startswith=place.path).order_by("pk").first()
        compare(raw, f"resident page as {role}", lambda actor=actor: resident_page(actor))
        compare(raw, f"resident by id as {role}", lambda actor=actor, sample=sample: resident_one(actor, sample.pk))
    size = place_subtree(community).count()
    compare(
        raw,
        f"subtree of a community ({size:,} places)",
        lambda: list(place_subtree(community).values_list("pk", "path")),
        rounds=50,
    )
    raw.close()


if __name__ == "__main__":
    main()
