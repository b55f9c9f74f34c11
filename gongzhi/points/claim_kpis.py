"""The points claims figures (shared/kpis.md "Red points": claims submitted, approved, rejected, reviewed within a
week), for any place and period; the definitions are in ``gongzhi.points.kpis``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q

from gongzhi.core.figures import Figures, Period, Rate
from gongzhi.core.tree import subtree_q
from gongzhi.places.models import Place

from .models import Claim, ClaimDecision

REVIEW_WITHIN = timedelta(days=7)


def _under(place: Place, field: str = "place_path") -> Q:
    return subtree_q(place.path, field)


@dataclass(frozen=True)
class ClaimFigures(Figures):
    submitted: int
    approved: int
    rejected: int
    reviewed_in_week: Rate


# ---------------------------------------------------------------- claims


def claim_figures(place: Place, period: Period) -> ClaimFigures:
    """Two queries: the claims submitted, and the decisions made in the period (a reversal later does not undo
    the approval's place in its own period)."""
    submitted = Claim.objects.filter(
        _under(place, "account__place_path"), submitted_at__gte=period.start, submitted_at__lt=period.end
    ).count()
    approve, reject = ClaimDecision.Decision.APPROVE, ClaimDecision.Decision.REJECT
    waited = ExpressionWrapper(F("decided_at") - F("claim__submitted_at"), output_field=DurationField())
    row = (
        ClaimDecision.objects.filter(
            _under(place, "claim__account__place_path"),
            decision__in=(approve, reject),
            decided_at__gte=period.start,
            decided_at__lt=period.end,
        )
        .annotate(waited=waited)
        .aggregate(
            approved=Count("pk", filter=Q(decision=approve)),
            rejected=Count("pk", filter=Q(decision=reject)),
            in_week=Count("pk", filter=Q(waited__lte=REVIEW_WITHIN)),
        )
    )
    return ClaimFigures(
        submitted=submitted,
        approved=row["approved"],
        rejected=row["rejected"],
        reviewed_in_week=Rate(row["in_week"], row["approved"] + row["rejected"]),
    )


# Filled when the claims are rolled up.
ROLLUP_SOURCES: tuple = ()
ROLLUP_CHECKS: tuple = ()
