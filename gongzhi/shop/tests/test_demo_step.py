"""The shop's demo step: offers, a window open now, held and completed orders, the clerk login; twice is once."""

from __future__ import annotations

import pytest
from django.utils import timezone

from gongzhi.demo import load_demo
from gongzhi.points.ledger import ledger_check
from gongzhi.points.models import PointsAccount
from gongzhi.shop.models import AllianceMembership, Offer, Redemption
from gongzhi.shop.services import clerk_merchant_ids, window_state

pytestmark = pytest.mark.django_db


def test_demo_shop_is_complete_and_loads_once():
    from gongzhi.people.models import Account

    ran = load_demo(scale=0.05)
    now = timezone.now()
    assert ran["gongzhi.demo.steps_shop"]["offer"] >= 6
    assert AllianceMembership.objects.filter(state="active").exists()
    assert Offer.objects.filter(state="approved", merchant__isnull=True).count() == 5
    assert Redemption.objects.filter(state="completed").exists() and Redemption.objects.filter(state="held").exists()
    clerk = Account.objects.get(username="merchant")
    merchant_id = next(iter(clerk_merchant_ids(clerk)))
    assert Redemption.objects.filter(offer__merchant_id=merchant_id, state="completed").exists()
    # Orders wait at the clerk's counter and for the resident login, well before their pickup time runs out.
    assert Redemption.objects.filter(offer__merchant_id=merchant_id, state="held", expires_at__gt=now).exists()
    resident = Account.objects.get(username="resident")
    assert Redemption.objects.filter(account__resident=resident.resident).exists()
    assert Redemption.objects.filter(account__resident=resident.resident, state="held", expires_at__gt=now).exists()
    community = Offer.objects.filter(merchant__isnull=True).first().community
    assert window_state(community.pk).open
    # Several residents can still afford the cheapest offer (the demo's regulars keep earning).
    cheapest = min(Offer.objects.filter(state="approved").values_list("points_price", flat=True))
    assert PointsAccount.objects.filter(community=community, balance__gte=cheapest).count() >= 3
    assert ledger_check() == []
    assert load_demo(scale=0.05) == {}
