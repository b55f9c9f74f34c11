"""The points figures through the roll-ups equal the raw recount: built, after postings since, after a back-dated
correction, and after the next run (SQLite and PostgreSQL). Hand counts: see gongzhi/cockpit/tests/conftest.py."""

from __future__ import annotations

from datetime import date

from gongzhi.cockpit.tests.conftest import FEBRUARY, MARCH, at
from gongzhi.core.figures import Period
from gongzhi.points import kpis, ledger_kpis
from gongzhi.points.ledger import Leg, post_transfer, system_account
from gongzhi.points.models import Claim, TransferKind
from gongzhi.points.review import claim_reverse
from gongzhi.rollups.models import DailyTotal, RollupState
from gongzhi.rollups.services import rollups_build

YEAR = Period.year(2031)
APRIL_FIRST = at(date(2031, 4, 1), 2)


def _same_as_recount(place, period):
    shown = kpis.ledger_figures(place, period)
    assert shown == kpis.ledger_figures_recount(place, period)
    assert kpis.moral_bank_figures(place, period) == kpis.moral_bank_figures_recount(place, period)
    return shown


def test_rolled_up_figures_equal_the_hand_counts_and_the_recount(world):
    rollups_build(now=APRIL_FIRST)
    state = RollupState.objects.get(source=ledger_kpis.LEDGER)
    assert state.built_to > 0 and state.built_at == APRIL_FIRST
    # The totals hold the community's March: 5 + 3 issued, on the two award days.
    march_rows = DailyTotal.objects.filter(
        measure="points.ledger.issued", place_id=world["community_a"].pk, day__gte=MARCH.first, day__lte=MARCH.last
    )
    assert sorted(march_rows.values_list("day", "value")) == [(date(2031, 3, 3), 5), (date(2031, 3, 10), 3)]
    for place in ("district", "street", "community_a", "grid_a1", "community_b"):
        for period in (MARCH, FEBRUARY, YEAR):
            _same_as_recount(world[place], period)
    march = _same_as_recount(world["community_a"], MARCH)
    assert (march.issued, march.outstanding, march.participants) == (8, 16, 1)
    assert kpis.moral_bank_figures(world["district"], MARCH).people_served == 2
    assert _same_as_recount(world["community_b"], MARCH).issued == 0
    # A household is below the rolled levels: counted from the entries, the same numbers.
    assert _same_as_recount(world["household_a1"], MARCH).issued == 8


def test_a_back_dated_correction_counts_in_its_month_before_and_after_the_next_run(world):
    rollups_build(now=APRIL_FIRST)
    account = world.r1
    # On 10 April, an adjustment of +4 effective 15 March, and the reversal of the 5 points of 3 March.
    post_transfer(
        kind=TransferKind.ADJUSTMENT,
        idempotency_key="test:back-dated",
        legs=[Leg(system_account("issuance").pk, -4), Leg(account.pk, 4, counts_as_earned=True)],
        actor=None,
        effective_date=date(2031, 3, 15),
        now=at(date(2031, 4, 10)),
    )
    five = Claim.objects.get(account=account, value=5)
    reviewer = world["reviewer"]
    claim_reverse(actor=reviewer, claim=five, reason="重复申报", now=at(date(2031, 4, 10), 11))
    # Before the next run: the posting is among the entries after the watermark, counted live.
    before = _same_as_recount(world["community_a"], MARCH)
    assert before.issued == 8 + 4
    assert kpis.ledger_figures(world["community_a"], Period.month(2031, 4)).issued == -5
    assert kpis.moral_bank_figures(world["district"], MARCH).people_served == 1
    # After two runs (the watermark lags one run), the totals hold them on their own days.
    rollups_build(now=at(date(2031, 4, 11), 2))
    rollups_build(now=at(date(2031, 4, 11), 3))
    assert (
        DailyTotal.objects.get(
            measure="points.ledger.issued", place_id=world["community_a"].pk, day=date(2031, 3, 15)
        ).value
        == 4
    )
    after = _same_as_recount(world["community_a"], MARCH)
    assert after == before
    assert kpis.moral_bank_figures(world["district"], MARCH).people_served == 1
    for period in (MARCH, Period.month(2031, 4), YEAR):
        _same_as_recount(world["district"], period)


def test_the_job_is_idempotent(world):
    rollups_build(now=APRIL_FIRST)
    rollups_build(now=at(date(2031, 4, 1), 3))
    first = sorted(DailyTotal.objects.values_list("measure", "place_id", "day", "value"))
    rollups_build(now=at(date(2031, 4, 1), 4))
    rollups_build(now=at(date(2031, 4, 1), 4))
    assert sorted(DailyTotal.objects.values_list("measure", "place_id", "day", "value")) == first
    rollups_build(now=at(date(2031, 4, 1), 5), rebuild=True)
    assert sorted(DailyTotal.objects.values_list("measure", "place_id", "day", "value")) == first
