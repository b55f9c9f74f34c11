"""The points admin shows every account's current figures: a holder's from its row, a system account's summed."""

from __future__ import annotations

import pytest

from gongzhi.people.tests.factories import AccountFactory, ResidentFactory
from gongzhi.points.ledger import Leg, account_for_resident, post_transfer, system_account
from gongzhi.points.models import TransferKind

pytestmark = pytest.mark.django_db


def test_account_list_shows_system_figures_summed_from_entries(client, tree):
    holder = account_for_resident(ResidentFactory(household=tree["household_a1"], name="张三"))
    issuance = system_account("issuance")
    for number, amount in enumerate((7, 5)):
        post_transfer(
            kind=TransferKind.AWARD,
            idempotency_key=f"admin-{number}",
            legs=[Leg(issuance.pk, -amount), Leg(holder.pk, amount, "balance", True)],
            actor=None,
        )
    client.force_login(AccountFactory(username="root", is_staff=True, is_superuser=True))
    response = client.get("/admin/points/pointsaccount/")
    assert response.status_code == 200
    changelist = response.context["cl"]
    admin = changelist.model_admin
    rows = {account.pk: account for account in changelist.result_list}
    assert admin.current_balance(rows[issuance.pk]) == -12  # nothing stored on the row, summed from entries
    assert (admin.current_balance(rows[holder.pk]), admin.current_earned_total(rows[holder.pk])) == (12, 12)
    assert "-12" in response.content.decode()
