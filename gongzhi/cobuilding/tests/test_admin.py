"""The admin looks (scoped) and its one action goes through the service."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client

from gongzhi.places.tests.factories import superuser

from ..models import Spending
from ..services import fund_set_budget, spending_request
from .factories import NOW

pytestmark = pytest.mark.django_db


def test_admin_lists_and_approves_through_the_service(world):
    with time_machine.travel(NOW, tick=False):
        fund = fund_set_budget(actor=world.secretary, community=world.community, year=2031, budget="1000", now=NOW)
        fits = spending_request(actor=world.worker, fund=fund, purpose="座椅", amount="800", now=NOW)
        too_much = spending_request(actor=world.worker, fund=fund, purpose="灯具", amount="900", now=NOW)
        client = Client()
        client.force_login(superuser())
        for page in ("agreement", "project", "fund", "spending", "assessmentresult", "meeting", "need"):
            assert client.get(f"/admin/cobuilding/{page}/").status_code == 200
        response = client.post(
            "/admin/cobuilding/spending/",
            {"action": "approve_selected", "_selected_action": [fits.pk, too_much.pk]},
            follow=True,
        )
        assert response.status_code == 200
    assert Spending.objects.get(pk=fits.pk).state == "approved"
    assert Spending.objects.get(pk=too_much.pk).state == "requested"
    fund.refresh_from_db()
    assert fund.committed == 800
