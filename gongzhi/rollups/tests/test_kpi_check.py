"""``gongzhi kpi_check``: exit 0 when the roll-ups agree with the raw records, 1 listing each disagreement."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from gongzhi.cases.models import Case
from gongzhi.cockpit.tests.conftest import at
from gongzhi.rollups.models import DailyTotal
from gongzhi.rollups.services import rollups_build


def _check(*args):
    out = StringIO()
    call_command("kpi_check", "--day", "2031-03-15", *args, stdout=out)
    return out.getvalue()


def test_agreement_exits_zero(world):
    rollups_build(now=at(date(2031, 4, 1), 2))
    assert "agree" in _check()


def test_a_wrong_total_exits_one_and_is_listed(world):
    rollups_build(now=at(date(2031, 4, 1), 2))
    DailyTotal.objects.filter(measure="points.ledger.issued", place_id=world["community_a"].pk).update(value=99)
    out = StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("kpi_check", "--day", "2031-03-15", stdout=out)
    assert refused.value.returncode == 1
    listed = out.getvalue()
    assert f"points.ledger.issued place {world['community_a'].pk} 2031-03-03: rolled up 99, recounted 5" in listed
    assert len(listed.splitlines()) == 3  # the three award days of the community; its street's totals are right
    # --rebuild recomputes every total from the raw records: agreement again.
    assert "agree" in _check("--rebuild")


def test_a_change_the_trail_does_not_tell_is_caught(world):
    rollups_build(now=at(date(2031, 4, 1), 2))
    # A rating changed behind the services' back (no CaseEvent): the totals cannot know, the check does.
    Case.objects.filter(satisfaction="unsatisfied").update(satisfaction="satisfied")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("kpi_check", "--day", "2031-03-15", stdout=out)
    assert "cases.cases.satisfied" in out.getvalue()
