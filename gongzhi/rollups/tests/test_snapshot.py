"""``rollups.selectors.one_snapshot``: inside the block each source's roll-up state is read once for all the
figures of a page, and on PostgreSQL a posting and a roll-up run committed by another connection meanwhile are not
seen until the block ends (so a figure never counts a row both live and in the totals), then are."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from gongzhi.cockpit.tests.conftest import FEBRUARY, MARCH, at, build_world
from gongzhi.points import kpis
from gongzhi.points.ledger import Leg, post_transfer, system_account
from gongzhi.points.models import TransferKind
from gongzhi.rollups.selectors import one_snapshot
from gongzhi.rollups.services import rollups_build

APRIL_FIRST = at(date(2031, 4, 1), 2)


def _state_reads(captured: CaptureQueriesContext) -> int:
    return sum('"rollups_rollupstate"' in query["sql"] for query in captured.captured_queries)


def _page(district) -> tuple:
    return (
        kpis.ledger_figures(district, MARCH),
        kpis.ledger_figures(district, FEBRUARY),
        kpis.moral_bank_figures(district, MARCH),
    )


def test_inside_a_snapshot_each_source_state_is_read_once(world):
    rollups_build(now=APRIL_FIRST)
    district = world["district"]
    with CaptureQueriesContext(connection) as outside:
        apart = _page(district)
    with one_snapshot(), CaptureQueriesContext(connection) as inside:
        together = _page(district)
        assert _page(district) == together
    assert together == apart
    assert _state_reads(outside) > _state_reads(inside) > 0
    # Four sources read (ledger totals, moral bank totals, participants, depositor households): once each.
    assert _state_reads(inside) == 4, [query["sql"][:120] for query in inside.captured_queries]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="REPEATABLE READ snapshots are PostgreSQL's")
def test_a_run_committed_meanwhile_is_seen_only_after_the_block():
    world = build_world()
    rollups_build(now=APRIL_FIRST)
    district, r1 = world["district"], world.r1
    before = kpis.ledger_figures(district, MARCH)

    def elsewhere() -> None:
        try:
            post_transfer(
                kind=TransferKind.AWARD,
                idempotency_key="test:snapshot",
                legs=[Leg(system_account("issuance").pk, -4), Leg(r1.pk, 4, counts_as_earned=True)],
                actor=None,
                effective_date=date(2031, 3, 20),
                now=at(date(2031, 4, 2)),
            )
            rollups_build(now=at(date(2031, 4, 2), 3))
        finally:
            connections.close_all()

    with one_snapshot():
        first = kpis.ledger_figures(district, MARCH)
        other = threading.Thread(target=elsewhere)
        other.start()
        other.join(timeout=60)
        again = kpis.ledger_figures(district, MARCH)
    after = kpis.ledger_figures(district, MARCH)
    assert first == again == before
    assert after.issued == before.issued + 4
    assert after == kpis.ledger_figures_recount(district, MARCH)
