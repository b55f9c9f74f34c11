"""The deliberation demo step: topics in every state, both publications, a vote open now, a published result with
an intact chain; loading twice is once, and a later day is topped up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from gongzhi.deliberation.models import CatalogueEntry, Liaison, Resolution, Topic, TopicState, Vote, VoteState
from gongzhi.deliberation.selectors import chain_report
from gongzhi.demo import load_demo

pytestmark = pytest.mark.django_db


def test_demo_deliberation_is_complete_and_loads_once():
    now = timezone.now()
    ran = load_demo(scale=0.05, now=now)
    assert ran["gongzhi.demo.steps_deliberation"]["topic"] >= 8
    assert CatalogueEntry.objects.filter(is_major=True).count() == 2 and Liaison.objects.count() == 3
    states = set(Topic.objects.values_list("state", flat=True))
    assert states == set(TopicState.values)
    assert Topic.objects.get(state=TopicState.DECLINED).decline_reason
    both = Resolution.objects.filter(published_at__isnull=False, result_published_at__isnull=False)
    assert both.count() == 1 and Resolution.objects.filter(steps_done=2).count() == 1
    assert Vote.objects.filter(state=VoteState.OPEN, opens_at__lte=now, closes_at__gt=now).exists()
    published = Vote.objects.get(state=VoteState.PUBLISHED)
    assert published.result["paper"] > 0 and published.result["online"] > 0 and published.result["quorum_met"]
    assert chain_report(published).intact and published.result["head"] == published.head_hash
    for vote in Vote.objects.all():
        assert chain_report(vote).intact
    assert load_demo(scale=0.05, now=now) == {}


def test_demo_deliberation_tops_up_a_later_day():
    now = timezone.now()
    load_demo(scale=0.05, now=now)
    later = now + timedelta(days=9)
    ran = load_demo(scale=0.05, now=later)
    assert ran["gongzhi.demo.steps_deliberation"]["vote"] == 1
    assert Vote.objects.filter(state=VoteState.OPEN, opens_at__lte=later, closes_at__gt=later).exists()
    assert Topic.objects.filter(state=TopicState.PROPOSED).exists()
