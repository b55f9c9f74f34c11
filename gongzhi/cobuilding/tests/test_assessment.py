"""The property management assessment on hand-computed quarters: weights, exact weighted scores, grades, the star
rule and the reward after four excellent quarters in a row."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gongzhi.core.errors import CoreError
from gongzhi.core.testing import assert_refused

from ..assessment import (
    EXCELLENT_FROM,
    INITIAL_STARS,
    POOR_BELOW,
    StarStep,
    grade_of,
    next_stars,
    quarter_publish,
    score_enter,
    weighted_score,
    weights_for,
    weights_set,
)
from ..errors import CobuildingError
from ..models import AssessmentParty, AssessmentResult
from .factories import NOW, make_organisation

P, OC, H = AssessmentParty.PARTY_ORGANISATION, AssessmentParty.OWNERS_COMMITTEE, AssessmentParty.HOUSING_DEPARTMENT


def score_quarter(world, company, year, quarter, party_organisation, owners_committee, housing_department):
    for party, value in ((P, party_organisation), (OC, owners_committee), (H, housing_department)):
        score_enter(
            actor=world.secretary,
            compound=world.compound,
            company=company,
            year=year,
            quarter=quarter,
            party=party,
            score=value,
            now=NOW,
        )
    return quarter_publish(actor=world.secretary, compound=world.compound, year=year, quarter=quarter, now=NOW)


def test_default_weights_give_party_and_owners_60_percent(world):
    weights = weights_for(world.compound)
    assert weights == {P: Decimal("30"), OC: Decimal("30"), H: Decimal("40")}
    assert weights[P] + weights[OC] == Decimal("60")


def test_weighted_score_is_exact():
    # 88.5 × 30 + 91 × 30 + 79.25 × 40 = 2655 + 2730 + 3170 = 8555 → 85.55
    scores = {P: Decimal("88.5"), OC: Decimal("91"), H: Decimal("79.25")}
    assert weighted_score(scores, {P: Decimal("30"), OC: Decimal("30"), H: Decimal("40")}) == Decimal("85.55")
    # 33.33 % weights: 90 × 33.33 + 80 × 33.33 + 70 × 33.34 = 2999.7 + 2666.4 + 2333.8 = 7999.9 → 80.00 (79.999)
    thirds = {P: Decimal("33.33"), OC: Decimal("33.33"), H: Decimal("33.34")}
    assert weighted_score({P: Decimal(90), OC: Decimal(80), H: Decimal(70)}, thirds) == Decimal("80.00")


def test_grades_at_the_thresholds():
    assert (Decimal("90"), Decimal("60")) == (EXCELLENT_FROM, POOR_BELOW)
    assert grade_of(Decimal("90.00")) == "excellent"
    assert grade_of(Decimal("89.99")) == "pass"
    assert grade_of(Decimal("60.00")) == "pass"
    assert grade_of(Decimal("59.99")) == "poor"


def test_star_rule_on_the_pure_function():
    first = next_stars(None, "poor", consecutive=False)
    assert first == StarStep(INITIAL_STARS - 1, 0, False)
    assert next_stars(StarStep(0, 0, False), "poor", consecutive=True) == StarStep(0, 0, False)
    step = None
    for _quarter in range(3):
        step = next_stars(step, "excellent", consecutive=True)
    assert step == StarStep(3, 3, False)
    assert next_stars(step, "excellent", consecutive=True) == StarStep(4, 0, True)
    assert next_stars(step, "excellent", consecutive=False) == StarStep(3, 1, False)  # a gap ends the run
    assert next_stars(StarStep(5, 3, False), "excellent", consecutive=True) == StarStep(5, 0, True)


def test_published_quarters_follow_the_star_rule(world):
    company = make_organisation(world.community, "安居物业", "enterprise")
    # Hand-computed with 30 / 30 / 40:
    # 2031 Q1: 50×.3 + 60×.3 + 55×.4 = 15 + 18 + 22 = 55.00  poor      stars 3 → 2
    # 2031 Q2: 95×.3 + 92×.3 + 90×.4 = 28.5 + 27.6 + 36 = 92.10  excellent (run 1), stars 2
    # 2031 Q3: 90×.3 + 90×.3 + 90×.4 = 90.00  excellent (run 2)
    # 2031 Q4: 100, 88, 91: 30 + 26.4 + 36.4 = 92.80  excellent (run 3)
    # 2032 Q1: 96, 94, 89.5: 28.8 + 28.2 + 35.8 = 92.80  excellent (run 4): reward, stars 2 → 3, run restarts
    # 2032 Q2: 70, 65, 72: 21 + 19.5 + 28.8 = 69.30  pass, stars 3
    expected = [
        (2031, 1, (50, 60, 55), "55.00", "poor", 2, False),
        (2031, 2, (95, 92, 90), "92.10", "excellent", 2, False),
        (2031, 3, (90, 90, 90), "90.00", "excellent", 2, False),
        (2031, 4, (100, 88, 91), "92.80", "excellent", 2, False),
        (2032, 1, (96, 94, "89.5"), "92.80", "excellent", 3, True),
        (2032, 2, (70, 65, 72), "69.30", "pass", 3, False),
    ]
    for year, quarter, scores, total, grade, stars, reward in expected:
        result = score_quarter(world, company, year, quarter, *scores)
        assert (result.weighted_score, result.grade, result.stars, result.reward) == (
            Decimal(total),
            grade,
            stars,
            reward,
        ), (year, quarter)
    assert AssessmentResult.objects.filter(compound=world.compound, reward=True).count() == 1


def test_configured_weights_apply_to_compounds_below(world):
    weights_set(
        actor=world.secretary,
        place=world.community,
        party_organisation="35",
        owners_committee="25",
        housing_department="40",
        now=NOW,
    )
    company = make_organisation(world.community, "安居物业", "enterprise")
    # 80×.35 + 60×.25 + 90×.40 = 28 + 15 + 36 = 79.00
    result = score_quarter(world, company, 2031, 1, 80, 60, 90)
    assert result.weighted_score == Decimal("79.00")
    assert result.weights == {P: "35.00", OC: "25.00", H: "40.00"}
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: weights_set(
            actor=world.secretary,
            place=world.community,
            party_organisation="30",
            owners_committee="30",
            housing_department="30",
            now=NOW,
        ),
    )


@pytest.mark.parametrize("score", ["-1", "100.01", "abc", "50.123", "NaN"])
def test_scores_out_of_range_are_refused(world, score):
    company = make_organisation(world.community, "安居物业", "enterprise")
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: score_enter(
            actor=world.secretary,
            compound=world.compound,
            company=company,
            year=2031,
            quarter=1,
            party=P,
            score=score,
            now=NOW,
        ),
    )


def test_a_second_score_for_one_quarter_and_party_is_refused(world):
    company = make_organisation(world.community, "安居物业", "enterprise")
    score_enter(
        actor=world.secretary,
        compound=world.compound,
        company=company,
        year=2031,
        quarter=1,
        party=P,
        score="88",
        now=NOW,
    )
    assert_refused(
        CobuildingError.SCORE_EXISTS,
        lambda: score_enter(
            actor=world.secretary,
            compound=world.compound,
            company=company,
            year=2031,
            quarter=1,
            party=P,
            score="90",
            now=NOW,
        ),
    )
    assert_refused(
        CobuildingError.SCORES_MISSING,
        lambda: quarter_publish(actor=world.secretary, compound=world.compound, year=2031, quarter=1, now=NOW),
    )
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: score_enter(
            actor=world.secretary,
            compound=world.compound,
            company=company,
            year=2031,
            quarter=5,
            party=OC,
            score="90",
            now=NOW,
        ),
    )
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: score_enter(
            actor=world.worker,
            compound=world.compound,
            company=company,
            year=2031,
            quarter=1,
            party=OC,
            score="90",
            now=NOW,
        ),
    )


def test_a_quarter_is_published_once(world):
    company = make_organisation(world.community, "安居物业", "enterprise")
    score_quarter(world, company, 2031, 2, 90, 90, 90)
    assert_refused(
        CobuildingError.ALREADY_PUBLISHED,
        lambda: quarter_publish(actor=world.secretary, compound=world.compound, year=2031, quarter=2, now=NOW),
    )
    for party in (P, OC, H):
        score_enter(
            actor=world.secretary,
            compound=world.compound,
            company=company,
            year=2031,
            quarter=1,
            party=party,
            score="90",
            now=NOW,
        )
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: quarter_publish(actor=world.secretary, compound=world.compound, year=2031, quarter=1, now=NOW),
    )
