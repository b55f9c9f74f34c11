"""The shop's row locks say ``FOR UPDATE OF`` their own table: an order never locks its community's place row.

Before, ``select_for_update().select_related("offer__community")`` locked ``places_place`` too, so every order
of a community queued behind every other. The SQL is read on PostgreSQL (SQLite has no row locks to look at).
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.places.tests.factories import superuser
from gongzhi.shop.services import (
    offer_approve,
    offer_submit,
    redemption_cancel,
    redemption_place,
    redemption_verify,
    shop_settings_update,
)

from .factories import make_offer

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are read on PostgreSQL only"),
]

OWN_TABLES = {"shop_offer", "shop_redemption", "shop_shopsettings", "points_pointsaccount"}
FOR_UPDATE = re.compile(r"FOR UPDATE(?P<rest>.*)$", re.DOTALL)


AUDIT_CHAIN_HEAD = 'OF "core_auditchainhead"'


def locking_clauses(captured: CaptureQueriesContext) -> list[str]:
    """The text after FOR UPDATE of each locking statement the shop takes: not the ledger's own locking SQL, nor the
    audit chain's head, which ``audit_record`` locks last in every audited transaction (core's, not the shop's)."""
    clauses = [
        match.group("rest").strip()
        for query in captured.captured_queries
        if (match := FOR_UPDATE.search(query["sql"])) and "WITH v(" not in query["sql"]
    ]
    return [clause for clause in clauses if clause != AUDIT_CHAIN_HEAD]


def assert_only_own_rows(clauses: list[str]) -> None:
    assert clauses, "expected the shop to lock rows"
    for clause in clauses:
        tables = re.fullmatch(r'OF "(?P<table>\w+)"', clause)
        assert tables is not None, f"FOR UPDATE {clause!r} must name one table with OF"
        assert tables.group("table") in OWN_TABLES, clause
        assert "places_place" not in clause


def test_placing_verifying_and_cancelling_lock_only_the_shops_own_rows(world):
    login, account, offer = world["buyer"], world["account"], world["offer"]
    with CaptureQueriesContext(connection) as placing:
        order = redemption_place(actor=login, offer=offer, account=account, idempotency_key="lock-1")
    assert_only_own_rows(locking_clauses(placing))
    assert locking_clauses(placing) == ['OF "points_pointsaccount"']  # the account, so its orders queue

    with CaptureQueriesContext(connection) as verifying:
        redemption_verify(actor=world["clerk"], code=order.pickup_code, merchant=world["merchant"])
    assert locking_clauses(verifying) == ['OF "shop_redemption"']

    second = redemption_place(actor=login, offer=offer, account=account, idempotency_key="lock-2")
    with CaptureQueriesContext(connection) as cancelling:
        redemption_cancel(actor=login, redemption=second)
    assert locking_clauses(cancelling) == ['OF "shop_redemption"']


def test_moving_an_offer_and_saving_settings_lock_only_their_own_rows(world):
    draft = make_offer(world["community"], world["merchant"], approve=False)
    with CaptureQueriesContext(connection) as moving:
        offer_submit(actor=superuser(), offer=draft)
        offer_approve(actor=superuser(), offer=draft)
    assert locking_clauses(moving) == ['OF "shop_offer"', 'OF "shop_offer"']
    with CaptureQueriesContext(connection) as saving:
        shop_settings_update(
            actor=superuser(), community=world["community"], always_open=True, unclaimed_expiry_hours=48
        )
    assert locking_clauses(saving) == ['OF "shop_shopsettings"']
