"""Co-building on PostgreSQL: fund approvals and project claims per second through the services.

Cases, each with 1 and with 4 worker processes (each process on its own connection):

- **hot fund**: every approval, in every process, commits money from one community's fund, so each one queues on
  that fund row's lock (``locks.lock_fund``) until it commits: the price of "spent + committed + left = budget"
  under concurrency;
- **spread funds**: each process approves spending of its own community's fund; nothing waits on another process;
- **claims**: each process claims its own open micro-projects (project lock, claim row with the partial unique
  constraint, audit).

Afterwards the script checks that every fund adds up (committed = the sum of approved spending, never past the
budget). Everything happens in a scratch database created on the server and dropped at the end.

Run:
    .venv/bin/python benchmarks/cobuilding_bench.py
Environment: BENCH_POSTGRES_SERVER (default postgres://postgres@127.0.0.1:5432), BENCH_OPS (operations per process
per case, default 200), BENCH_ROUNDS (default 3).
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = os.environ.get("BENCH_POSTGRES_SERVER", "postgres://postgres@127.0.0.1:5432").rstrip("/")
OPS = int(os.environ.get("BENCH_OPS", "200"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PROCESSES = (1, 4)
DB = f"gongzhi_cobuilding_bench_{os.getpid()}"

os.environ["GONGZHI_DATABASE_URL"] = f"{SERVER}/{DB}"
os.environ["DJANGO_SETTINGS_MODULE"] = "gongzhi.settings"

import psycopg  # noqa: E402
from processes import run_in_processes  # noqa: E402


def _server(dbname: str) -> psycopg.Connection:
    return psycopg.connect(f"{SERVER}/{dbname}", autocommit=True)


def run_parallel(work, shares: list) -> float:
    """Operations per second: all processes start together (benchmarks/processes.py)."""

    def timed(share: list, prepare: bool = False, prepared=None) -> None:
        if not prepare:
            work(share)

    return run_in_processes(timed, shares)[0]


def setup_world(processes: int):
    """A district with one community per process (plus the hot one), each with a fund and a secretary."""
    from datetime import date

    from gongzhi.cobuilding.services import agreement_sign, fund_set_budget
    from gongzhi.cobuilding.tests.factories import NOW, make_organisation, representative_of
    from gongzhi.core.roles import Role
    from gongzhi.people.tests.factories import account_with_role
    from gongzhi.places.models import PlaceKind
    from gongzhi.places.tests.factories import make_place, superuser

    district = make_place(PlaceKind.DISTRICT, name="基准区")
    street = make_place(PlaceKind.STREET, district, name="基准街道")
    communities = [make_place(PlaceKind.COMMUNITY, street, name=f"社区{i}") for i in range(processes + 1)]
    admin = superuser()
    secretaries, funds, reps = [], [], []
    for index, community in enumerate(communities):
        secretaries.append(account_with_role(Role.COMMUNITY_SECRETARY, community, username=f"sec{index}"))
        funds.append(fund_set_budget(actor=admin, community=community, year=2031, budget="100000000", now=NOW))
        organisation = make_organisation(community, f"单位{index}")
        agreement_sign(
            actor=admin,
            organisation=organisation,
            community=community,
            scope="共建",
            starts_on=date(2031, 1, 1),
            ends_on=date(2031, 12, 31),
            now=NOW,
        )
        reps.append((organisation, representative_of(organisation, f"rep{index}")))
    return communities, secretaries, funds, reps


def main() -> None:
    with _server("postgres") as server:
        server.execute(f"CREATE DATABASE {DB}")
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        _bench()
    finally:
        from django.db import connections

        connections.close_all()
        with _server("postgres") as server:
            server.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def _bench() -> None:
    from django.db.models import Sum

    from gongzhi.cobuilding.models import Fund, Spending
    from gongzhi.cobuilding.services import project_claim, spending_approve, spending_request
    from gongzhi.cobuilding.tests.factories import NOW, make_project

    communities, secretaries, funds, reps = setup_world(max(PROCESSES))
    hot = 0

    def approvals(share):
        for spending_id, secretary_index in share:
            spending = Spending.objects.select_related("fund__community").get(pk=spending_id)
            spending_approve(actor=secretaries[secretary_index], spending=spending, now=NOW)

    def claims(share):
        from gongzhi.cobuilding.models import Project

        for project_id, index in share:
            organisation, rep = reps[index]
            project_claim(actor=rep, project=Project.objects.get(pk=project_id), organisation=organisation, now=NOW)

    def requests(fund_index: int, count: int) -> list:
        fund = funds[fund_index]
        return [
            (
                spending_request(actor=secretaries[fund_index], fund=fund, purpose="基准", amount="10", now=NOW).pk,
                fund_index,
            )
            for _i in range(count)
        ]

    print(f"co-building on PostgreSQL, {OPS} operations per process per case, best of {ROUNDS} rounds")
    for processes in PROCESSES:
        for case in ("hot fund", "spread funds", "claims"):
            rates = []
            for _round in range(ROUNDS):
                if case == "hot fund":
                    shares = [requests(hot, OPS) for _p in range(processes)]
                    rate = run_parallel(approvals, shares)
                elif case == "spread funds":
                    shares = [requests(p + 1, OPS) for p in range(processes)]
                    rate = run_parallel(approvals, shares)
                else:
                    shares = [
                        [(make_project(communities[p + 1]).pk, p + 1) for _i in range(OPS)] for p in range(processes)
                    ]
                    rate = run_parallel(claims, shares)
                rates.append(rate)
            print(f"  {case:<13} {processes} process(es): {max(rates):7.0f} /s (median {statistics.median(rates):.0f})")
    for fund in Fund.objects.all():
        approved = Spending.objects.filter(fund=fund, state="approved").aggregate(total=Sum("amount"))["total"] or 0
        assert fund.committed == approved and fund.committed + fund.spent <= fund.budget, fund
    print("every fund adds up: committed = approved spending, committed + spent <= budget")


if __name__ == "__main__":
    main()
