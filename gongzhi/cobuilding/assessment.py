"""The quarterly property management assessment (物业考评): three parties' scores, weights, stars and the reward.

The rule, in numbers (docs/architecture.md repeats it):

- each of the three parties (party organisation, owners' committee, housing department) scores a compound's
  property company once a quarter, 0–100 with at most two decimals (a database unique and check constraint);
- the weights are percentages adding up to 100, set for a place and applying to the compounds under it (the
  nearest place up the tree with weights); by default 30 / 30 / 40, the party organisation and the owners'
  committee together 60 % (三方权重, seed 000);
- weighted score = Σ score × weight / 100, exact in Decimal, rounded half-up to two decimals;
- grade: ``EXCELLENT_FROM`` (90) and above is excellent, below ``POOR_BELOW`` (60) is poor, else pass;
- stars: a compound starts at ``INITIAL_STARS`` (3); each poor quarter takes one star away (never below 0);
- reward: the quarter that completes ``REWARD_AFTER`` (4) consecutive excellent quarters (calendar quarters with
  no gap) carries the reward flag and gives one star back (at most ``MAX_STARS``, 5); the run then starts again.
  A quarter that is not excellent, or a gap, ends the run.
A quarter is published once all three scores are in, in calendar order (earlier quarters first, no rewriting).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import require_reach
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import ValidationFailed
from gongzhi.core.roles import Permission
from gongzhi.people.models import Organisation
from gongzhi.places.models import Place, PlaceKind

from .errors import CobuildingError
from .models import AssessmentParty, AssessmentResult, AssessmentScore, AssessmentWeights

EXCELLENT_FROM = Decimal("90")
POOR_BELOW = Decimal("60")
INITIAL_STARS = 3
MAX_STARS = 5
REWARD_AFTER = 4
HUNDRED = Decimal("100")
TWO_PLACES = Decimal("0.01")
DEFAULT_WEIGHTS: dict[str, Decimal] = {
    AssessmentParty.PARTY_ORGANISATION: Decimal("30"),
    AssessmentParty.OWNERS_COMMITTEE: Decimal("30"),
    AssessmentParty.HOUSING_DEPARTMENT: Decimal("40"),
}


def weighted_score(scores: dict[str, Decimal], weights: dict[str, Decimal]) -> Decimal:
    """Σ score × weight / 100 over the three parties, exact, rounded half-up to two decimals."""
    total = sum((scores[party] * weights[party] for party in AssessmentParty.values), Decimal("0"))
    return (total / HUNDRED).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def grade_of(score: Decimal) -> str:
    if score >= EXCELLENT_FROM:
        return AssessmentResult.Grade.EXCELLENT
    if score < POOR_BELOW:
        return AssessmentResult.Grade.POOR
    return AssessmentResult.Grade.PASS


@dataclass(frozen=True)
class StarStep:
    stars: int
    excellent_streak: int
    reward: bool


def next_stars(previous: StarStep | None, grade: str, *, consecutive: bool) -> StarStep:
    """The stars, run of excellent quarters and reward after a quarter of ``grade``, given the previous quarter's
    (None: the first) and whether it is the calendar quarter just before."""
    stars = previous.stars if previous is not None else INITIAL_STARS
    streak = previous.excellent_streak if previous is not None and consecutive else 0
    if grade == AssessmentResult.Grade.POOR:
        return StarStep(max(stars - 1, 0), 0, False)
    if grade != AssessmentResult.Grade.EXCELLENT:
        return StarStep(stars, 0, False)
    streak += 1
    if streak >= REWARD_AFTER:
        return StarStep(min(stars + 1, MAX_STARS), 0, True)
    return StarStep(stars, streak, False)


def weights_for(compound: Place) -> dict[str, Decimal]:
    """The weights of the nearest place up the tree (the compound itself first) that has them, else the default."""
    ids = [*compound.ancestor_ids, compound.pk]
    rows = {row.place_id: row for row in AssessmentWeights.objects.filter(place_id__in=ids)}
    for place_id in reversed(ids):
        row = rows.get(place_id)
        if row is not None:
            return {
                AssessmentParty.PARTY_ORGANISATION: row.party_organisation,
                AssessmentParty.OWNERS_COMMITTEE: row.owners_committee,
                AssessmentParty.HOUSING_DEPARTMENT: row.housing_department,
            }
    return dict(DEFAULT_WEIGHTS)


def _decimal(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(fields={field: _("Enter a number from 0 to 100.")}) from None
    if not number.is_finite() or not Decimal("0") <= number <= HUNDRED or number != number.quantize(TWO_PLACES):
        raise ValidationFailed(fields={field: _("Enter a number from 0 to 100 with at most two decimals.")})
    return number.quantize(TWO_PLACES)


def weights_set(
    *,
    actor: Actor,
    place: Place,
    party_organisation: Any,
    owners_committee: Any,
    housing_department: Any,
    now: datetime | None = None,
) -> AssessmentWeights:
    """Set the three weights (percent, adding up to 100) for the compounds under ``place``."""
    require_reach(actor, Permission.ASSESSMENT_SCORE, place.path)
    now = now or timezone.now()
    values = {
        "party_organisation": _decimal(party_organisation, "party_organisation"),
        "owners_committee": _decimal(owners_committee, "owners_committee"),
        "housing_department": _decimal(housing_department, "housing_department"),
    }
    if sum(values.values()) != HUNDRED:
        raise ValidationFailed(fields={"party_organisation": _("The three weights must add up to 100.")})
    with transaction.atomic():
        weights, _created = AssessmentWeights.objects.update_or_create(place=place, defaults=values)
        audit_record(
            actor=actor,
            action="cobuilding.weights_set",
            target=weights,
            place_path=place.path,
            changes={key: str(value) for key, value in values.items()},
            occurred_at=now,
        )
    return weights


def _check_quarter(year: Any, quarter: Any) -> None:
    errors = {}
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        errors["year"] = _("Enter a year.")
    if quarter not in (1, 2, 3, 4):
        errors["quarter"] = _("A quarter is 1, 2, 3 or 4.")
    if errors:
        raise ValidationFailed(fields=errors)


def score_enter(
    *,
    actor: Actor,
    compound: Place,
    company: Organisation,
    year: int,
    quarter: int,
    party: str,
    score: Any,
    now: datetime | None = None,
) -> AssessmentScore:
    """Enter one party's score of a compound's property company for a quarter: once (score_exists), 0–100."""
    require_reach(actor, Permission.ASSESSMENT_SCORE, compound.path)
    now = now or timezone.now()
    if compound.kind != PlaceKind.COMPOUND:
        raise ValidationFailed(fields={"compound": _("Choose a compound.")})
    _check_quarter(year, quarter)
    if party not in AssessmentParty.values:
        raise ValidationFailed(fields={"party": _("Choose the party scoring.")})
    value = _decimal(score, "score")
    if AssessmentScore.objects.filter(compound=compound, year=year, quarter=quarter, party=party).exists():
        raise CobuildingError.SCORE_EXISTS()
    try:
        with transaction.atomic():
            row = AssessmentScore.objects.create(
                compound=compound,
                company=company,
                year=year,
                quarter=quarter,
                party=party,
                score=value,
                scored_by=actor,
                scored_at=now,
            )
            audit_record(
                actor=actor,
                action="cobuilding.score_enter",
                target=row,
                place_path=compound.path,
                changes={"quarter": f"{year}-Q{quarter}", "party": party, "score": str(value)},
                occurred_at=now,
            )
    except IntegrityError:
        raise CobuildingError.SCORE_EXISTS() from None
    return row


def _previous_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year, quarter - 1) if quarter > 1 else (year - 1, 4)


def quarter_publish(
    *, actor: Actor, compound: Place, year: int, quarter: int, now: datetime | None = None
) -> AssessmentResult:
    """Publish a compound's quarter: the weighted score with the weights in force, its grade, the stars after it
    and the reward flag (module docstring). Needs all three scores; once per quarter; not before a later one."""
    require_reach(actor, Permission.ASSESSMENT_SCORE, compound.path)
    now = now or timezone.now()
    _check_quarter(year, quarter)
    rows = list(AssessmentScore.objects.filter(compound=compound, year=year, quarter=quarter))
    if len(rows) != 3:
        raise CobuildingError.SCORES_MISSING()
    if AssessmentResult.objects.filter(compound=compound, year=year, quarter=quarter).exists():
        raise CobuildingError.ALREADY_PUBLISHED()
    earlier = AssessmentResult.objects.filter(compound=compound).order_by("-year", "-quarter").first()
    if earlier is not None and (earlier.year, earlier.quarter) > (year, quarter):
        raise ValidationFailed(fields={"quarter": _("A later quarter is published already.")})
    weights = weights_for(compound)
    scores = {row.party: row.score for row in rows}
    total = weighted_score(scores, weights)
    grade = grade_of(total)
    previous = StarStep(earlier.stars, earlier.excellent_streak, earlier.reward) if earlier is not None else None
    consecutive = earlier is not None and (earlier.year, earlier.quarter) == _previous_quarter(year, quarter)
    step = next_stars(previous, grade, consecutive=consecutive)
    try:
        with transaction.atomic():
            result = AssessmentResult.objects.create(
                compound=compound,
                company=rows[0].company,
                year=year,
                quarter=quarter,
                weighted_score=total,
                weights={key: str(value) for key, value in weights.items()},
                grade=grade,
                stars=step.stars,
                excellent_streak=step.excellent_streak,
                reward=step.reward,
                published_by=actor,
                published_at=now,
            )
            audit_record(
                actor=actor,
                action="cobuilding.quarter_publish",
                target=result,
                place_path=compound.path,
                changes={"score": str(total), "grade": grade, "stars": step.stars, "reward": step.reward},
                occurred_at=now,
            )
    except IntegrityError:
        raise CobuildingError.ALREADY_PUBLISHED() from None
    return result
