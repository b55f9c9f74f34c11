"""The red points figures against hand counts, at explicit 2031 moments (no wall clock)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gongzhi.core.figures import Period
from gongzhi.points import kpis
from gongzhi.points.services import claim_approve, claim_reject, claim_reverse, claim_submit, item_value_change
from gongzhi.points.tests.factories import superuser

SHANGHAI = ZoneInfo("Asia/Shanghai")
MARCH = Period.month(2031, 3)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def counted(world):
    """Community A: r1 (building A1) and r2 (building A2); community B: r3. Claims by hand:

    - r1: item 8 approved 2 Feb (February); item 3 submitted 3 Mar 10:00, approved 10 Mar 09:00 (inside 7 days);
      item 5 submitted and approved 10/12 Mar, reversed 20 Mar.
    - r2: item 8 submitted 20 Feb, approved 5 Mar (13 days: late); item 3 submitted 10 Mar, rejected 11 Mar.
    - r3 (community B): item 5 submitted and approved 10 Mar.
    """
    tree = world.tree
    _login1, r1 = world.resident("household_a1")
    _login2, r2 = world.resident("household_a2")
    _login3, r3 = world.resident("household_b1")
    from gongzhi.points.tests.factories import reviewer

    reviewer_b = reviewer(tree["community_b"])

    def claim(account, value, submitted: date, decided: date | None, *, by=None, reject=False, hour=15):
        made = claim_submit(
            actor=world.worker if account is not r3 else superuser(),
            account=account,
            item=world.items[value],
            service_date=submitted,
            description=f"服务 {account.pk} {value} {submitted}",
            now=at(submitted),
        )
        if decided is None:
            return made
        if reject:
            return claim_reject(actor=by or world.reviewer, claim=made, reason="不符合", now=at(decided, hour))
        return claim_approve(actor=by or world.reviewer, claim=made, now=at(decided, hour))

    claim(r1, 8, date(2031, 2, 1), date(2031, 2, 2))
    claim(r1, 3, date(2031, 3, 3), date(2031, 3, 10), hour=9)
    reversed_claim = claim(r1, 5, date(2031, 3, 10), date(2031, 3, 12))
    claim_reverse(actor=world.reviewer, claim=reversed_claim, reason="重复申报", now=at(date(2031, 3, 20)))
    claim(r2, 8, date(2031, 2, 20), date(2031, 3, 5))
    claim(r2, 3, date(2031, 3, 10), date(2031, 3, 11), reject=True)
    claim(r3, 5, date(2031, 3, 10), date(2031, 3, 10), by=reviewer_b)
    # A value change for April: in this year's adjustments, not in March's values in use.
    item_value_change(
        actor=superuser(),
        item=world.items[3],
        value=4,
        effective_from=date(2031, 4, 1),
        reason="年度调整",
        now=at(date(2031, 3, 25)),
    )
    return world


def test_ledger_figures_of_a_community_by_hand(counted):
    figures = kpis.ledger_figures(counted.community, MARCH)
    assert figures.issued == 3 + 5 + 8 - 5
    assert figures.redeemed == 0
    assert figures.outstanding == 8 + 3 + 5 + 8 - 5
    assert figures.participants == 2
    item_3, item_5, item_8 = (counted.items[value].category.code for value in (3, 5, 8))
    assert figures.issued_by_category == {item_3: 3, item_5: 0, item_8: 8}
    assert figures.issued_by_account_kind["resident"] == 11
    assert figures.issued_by_account_kind["organisation"] == 0


def test_ledger_figures_narrow_to_a_building_and_widen_to_the_district(counted):
    tree = counted.tree
    building = kpis.ledger_figures(tree["building_a1"], MARCH)
    assert (building.issued, building.participants, building.outstanding) == (3, 1, 11)
    district = kpis.ledger_figures(tree["district"], MARCH)
    assert (district.issued, district.participants) == (16, 3)
    february = kpis.ledger_figures(counted.community, Period.month(2031, 2))
    assert (february.issued, february.outstanding) == (8, 8)


def test_claim_figures_and_the_review_week(counted):
    figures = kpis.claim_figures(counted.community, MARCH)
    assert (figures.submitted, figures.approved, figures.rejected) == (3, 3, 1)
    assert (figures.reviewed_in_week.numerator, figures.reviewed_in_week.denominator) == (3, 4)
    assert str(figures.reviewed_in_week.percent) == "75.0"


def test_catalogue_accounts_and_moral_bank(counted):
    catalogue = kpis.catalogue_figures(counted.community, MARCH)
    assert (catalogue.categories, catalogue.items) == (3, 3)
    assert catalogue.values_in_use == [3, 5, 8]
    assert (catalogue.items_adjusted, catalogue.adjustments) == (1, 1)
    accounts = kpis.account_figures(counted.community, MARCH)
    assert accounts.by_kind["resident"] == 2 and accounts.total == 2
    bank = kpis.moral_bank_figures(counted.community, MARCH)
    # r2's March award counts; r1's reversed one does not.
    assert (bank.depositor_households, bank.people_served) == (2, 2)


def test_a_place_with_nothing_shows_dashes_not_zero_percent(world):
    figures = kpis.points_kpis(world.tree["community_b"], MARCH)
    assert figures.claims.reviewed_in_week.percent is None
    assert figures.publications.on_time.percent is None
    assert figures.as_dict()["claims"]["reviewed_in_week"] == {"numerator": 0, "denominator": 0, "percent": None}


def test_publication_on_time_rule():
    assert kpis.publication_due(date(2031, 2, 1)) == date(2031, 3, 5)
    assert kpis.month_end(date(2031, 2, 1)) == date(2031, 2, 28)
    assert kpis.publication_due(date(2031, 12, 1)) == date(2032, 1, 5)
    assert kpis.month_end(date(2032, 2, 1)) - timedelta(days=28) == date(2032, 2, 1)
