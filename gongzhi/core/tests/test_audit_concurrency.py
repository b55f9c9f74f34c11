"""Audit writers racing on PostgreSQL: real threads, committed transactions. One district's writers keep one
chain (no gap, no fork, every seq once); two districts' writers do not wait on one head; the first writers of a
new chain create its head once.

Run on PostgreSQL (``GONGZHI_DATABASE_URL=postgres://…``); SQLite takes one writer at a time, so these skip there.
"""

from __future__ import annotations

import time

import pytest
from django.db import connection, transaction

from gongzhi.core.audit import audit_record
from gongzhi.core.audit_chain import chain_of, verify_chain
from gongzhi.core.models import AuditChainHead, AuditEntry
from gongzhi.core.testing import race
from gongzhi.places.models import PlaceKind
from gongzhi.places.tests.factories import make_place, make_tree

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrency is tested on PostgreSQL only"),
]


def _write(place_path: str, number: int) -> int:
    with transaction.atomic():
        entry = audit_record(actor=None, action="test.race", place_path=place_path, changes={"n": number})
    return entry.seq


def _assert_one_line(chain: str, count: int) -> None:
    rows = list(AuditEntry.objects.filter(chain=chain).order_by("seq").values_list("seq", "previous_hash", "hash"))
    assert [seq for seq, _previous, _hash in rows] == list(range(1, count + 1))  # no gap, no seq twice
    assert len({previous for _seq, previous, _hash in rows}) == count  # no two entries hang off one link: no fork
    assert all(rows[i][1] == rows[i - 1][2] for i in range(1, count))
    report = verify_chain(chain)
    assert report.intact, report.problems
    assert AuditChainHead.objects.get(chain=chain).seq == count


def test_many_writers_in_one_district_keep_one_chain_and_create_its_head_once():
    tree = make_tree()
    path = tree["household_a1"].path
    results = race([lambda n=n: _write(path, n) for n in range(48)])
    assert sorted(results) == list(range(1, 49))
    _assert_one_line(chain_of(path), 48)


def test_two_districts_write_in_parallel_each_on_its_own_chain():
    first = make_tree()
    second = make_place(PlaceKind.DISTRICT, name="另一区")
    paths = [first["grid_a1"].path, second.path]
    AuditChainHead.objects.bulk_create([AuditChainHead(chain=chain_of(path)) for path in paths])

    def slow_writer(path: str, number: int) -> float:
        """Holds its chain's head for 0.3 s before committing: writers of one chain queue, of two chains don't."""
        with transaction.atomic():
            audit_record(actor=None, action="test.race", place_path=path, changes={"n": number})
            time.sleep(0.3)
        return time.monotonic()

    started = time.monotonic()
    finished = race([lambda path=path, n=n: slow_writer(path, n) for n in range(3) for path in paths], workers=6)
    took = max(finished) - started
    for path in paths:
        _assert_one_line(chain_of(path), 3)
    # One chain's three writers take >= 0.9 s in a row; had both districts shared a head it would be >= 1.8 s.
    assert 0.9 <= took < 1.7, took
