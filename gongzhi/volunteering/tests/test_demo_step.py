"""The volunteering demo step: teams, past and upcoming activities, a waiting list, registered members in the seeds'
proportion, wishes in every state; loading twice is once."""

from __future__ import annotations

import pytest

from gongzhi.demo import load_demo
from gongzhi.volunteering.models import Activity, DualRegistration, SignUp, Team, Wish

pytestmark = pytest.mark.django_db


def test_demo_volunteering_is_complete_and_loads_once():
    ran = load_demo(scale=0.05)
    assert ran["gongzhi.demo.steps_volunteering"]["team"] == 5
    assert Team.objects.count() == 5
    assert Activity.objects.filter(state="closed").count() >= 6
    assert Activity.objects.filter(state="open").count() >= 3
    assert SignUp.objects.filter(state="waiting").exists()
    assert SignUp.objects.filter(claim__isnull=False).exists()
    assert set(Wish.objects.values_list("state", flat=True)) == {s.value for s in Wish.State}
    registered = DualRegistration.objects.count()
    assert registered > 0
    assert load_demo(scale=0.05) == {}
