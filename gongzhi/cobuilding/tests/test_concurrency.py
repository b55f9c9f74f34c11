"""The fund under concurrent approvals, and a project under concurrent claims, on PostgreSQL: real threads,
committed transactions. SQLite takes one writer at a time, so racing there proves nothing and these skip."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from gongzhi.core.testing import race

from ..models import Fund, ProjectClaim, Spending
from ..services import fund_set_budget, project_claim, spending_approve, spending_pay, spending_request
from .factories import NOW, make_organisation, make_project, make_world, representative_of, sign

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrency is tested on PostgreSQL only"),
]


def test_concurrent_approvals_never_spend_past_the_budget(transactional_db):
    world = make_world()
    fund = fund_set_budget(actor=world.secretary, community=world.community, year=2031, budget="10000", now=NOW)
    # 24 requests of 700 yuan: 14 fit (9,800), the other 10 must be refused.
    spendings = [
        spending_request(actor=world.worker, fund=fund, purpose=f"项目{i}", amount="700", now=NOW) for i in range(24)
    ]
    outcomes = race([lambda s=s: spending_approve(actor=world.secretary, spending=s, now=NOW) for s in spendings])
    approved = [o for o in outcomes if isinstance(o, Spending)]
    assert len(approved) == 14
    assert [o for o in outcomes if not isinstance(o, Spending)] == ["fund_exceeded"] * 10
    fund = Fund.objects.get(pk=fund.pk)
    assert fund.committed == Decimal("9800.00") and fund.spent == 0 and fund.left == Decimal("200.00")
    assert Spending.objects.filter(fund=fund, state="approved").aggregate(t=Sum("amount"))["t"] == fund.committed
    # Paying them all at once moves committed to spent exactly; the sum still adds up.
    race([lambda s=s: spending_pay(actor=world.worker, spending=s, now=NOW) for s in approved])
    fund = Fund.objects.get(pk=fund.pk)
    assert (fund.committed, fund.spent, fund.left) == (Decimal("0.00"), Decimal("9800.00"), Decimal("200.00"))
    assert fund.spent + fund.committed + fund.left == fund.budget


def test_concurrent_claims_leave_one_claimer(transactional_db):
    world = make_world()
    project = make_project(world.community)
    claimers = []
    for i in range(8):
        organisation = make_organisation(world.community, f"共建单位{i}")
        sign(organisation, world.community)
        claimers.append((organisation, representative_of(organisation, f"rep{i}")))
    outcomes = race(
        [lambda o=o, r=r: project_claim(actor=r, project=project, organisation=o, now=NOW) for o, r in claimers]
    )
    assert sorted(o if isinstance(o, str) else "ok" for o in outcomes) == ["already_claimed"] * 7 + ["ok"]
    assert ProjectClaim.objects.filter(project=project, state="open").count() == 1
