"""The co-building demo step: every state there, the fund adding up, the logins at work; twice is once."""

from __future__ import annotations

import pytest

from gongzhi.cobuilding.models import Agreement, AssessmentResult, Fund, Match, Matter, Project, Spending
from gongzhi.demo import load_demo

pytestmark = pytest.mark.django_db


def test_demo_cobuilding_is_complete_and_loads_once():
    from gongzhi.people.models import Account

    ran = load_demo(scale=0.05)
    counts = ran["gongzhi.demo.steps_cobuilding"]
    assert counts["projects"] == 7 and counts["meetings"] >= 6
    assert {state for state in Project.objects.values_list("state", flat=True)} == set(Project.State.values)
    assert Project.objects.filter(state="confirmed", rating_count__gt=0).exists()
    assert Agreement.objects.filter(state="ended", renewal__isnull=False).exists()
    assert Match.objects.filter(state="accepted").exists() and Match.objects.filter(state="suggested").exists()
    assert {s for s in Spending.objects.values_list("state", flat=True)} >= {"paid", "approved", "requested", "refused"}
    fund = Fund.objects.get()
    assert fund.spent > 0 and fund.committed > 0 and fund.spent + fund.committed + fund.left == fund.budget
    assert Matter.objects.filter(state="solved").exists() and Matter.objects.filter(state="open").exists()
    assert AssessmentResult.objects.values("year", "quarter").distinct().count() == 5
    # The orgrep login represents the school, which has projects and an agreement in force.
    orgrep = Account.objects.get(username="orgrep")
    school = orgrep.role_assignments.get(role="organisation_representative").organisation
    assert Agreement.objects.filter(organisation=school, state="active").exists()
    assert Project.objects.filter(claimer=school).exists()
    assert "gongzhi.demo.steps_cobuilding" not in load_demo(scale=0.05)


def test_demo_assessment_shows_the_star_rule_and_tops_up_later():
    from datetime import timedelta

    from django.utils import timezone

    load_demo(scale=0.05)
    assert AssessmentResult.objects.filter(reward=True).exists()
    assert AssessmentResult.objects.filter(grade="poor", stars=2).exists()
    assert AssessmentResult.objects.filter(reward=True, stars=3, excellent_streak=0).exists()
    later = timezone.now() + timedelta(days=100)
    ran = load_demo(scale=0.05, now=later)
    counts = ran["gongzhi.demo.steps_cobuilding"]
    assert counts["meetings"] >= 1 and counts["quarters"] >= 1
    assert "gongzhi.demo.steps_cobuilding" not in load_demo(scale=0.05, now=later)
