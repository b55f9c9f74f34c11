"""The points claims figures (shared/kpis.md "Red points": claims submitted, approved, rejected, reviewed within a
week), for any place and period; the definitions are in ``gongzhi.points.kpis``.

``claim_figures`` reads them through the roll-ups (``gongzhi.rollups``: daily totals per place and local day of
the claims by submission and of the approvals and rejections by decision, ``ROLLUP_SOURCES``);
``claim_figures_recount`` counts them from the raw rows; ``gongzhi kpi_check`` compares the two (``ROLLUP_CHECKS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Value
from django.db.models.lookups import LessThanOrEqual

from gongzhi.core.figures import Figures, Period, Rate
from gongzhi.core.tree import subtree_q
from gongzhi.places.models import Place
from gongzhi.rollups.selectors import place_totals
from gongzhi.rollups.sources import Measure, Source, count_of, local_day, moment_days

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


# ---------------------------------------------------------------- claims, counted from the raw rows


def claim_figures_recount(place: Place, period: Period) -> ClaimFigures:
    """The claims figures counted from the claims and decisions alone (the reference ``gongzhi kpi_check``
    compares with). Two queries: the claims submitted, and the decisions made in the period (a reversal later
    does not undo the approval's place in its own period)."""
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


# ---------------------------------------------------------------- claims through the roll-ups
#
# Both sources are append-only: a claim changes state, but never its submission time nor its account (whose
# place path is fixed: see PointsAccount), and a decision row is never updated (it is only ever inserted, by
# gongzhi.points.claims and gongzhi.points.review). So the totals hold the rows up to a primary-key watermark
# and a figure adds the rows after it.

SUBMITTED = "points.claims.submitted"
DECIDED = "points.claims.decided"
_APPROVE, _REJECT = ClaimDecision.Decision.APPROVE, ClaimDecision.Decision.REJECT
# The wait as a duration, compared with a duration: on PostgreSQL an interval (microsecond precision), on SQLite
# Django's microsecond difference of the two timestamps; the same comparison as the recount's on both.
_WAITED = ExpressionWrapper(F("decided_at") - F("claim__submitted_at"), output_field=DurationField())
_IN_WEEK = LessThanOrEqual(_WAITED, Value(REVIEW_WITHIN, output_field=DurationField()))


def _decisions():
    return ClaimDecision.objects.filter(decision__in=(_APPROVE, _REJECT))


ROLLUP_SOURCES = (
    Source(
        SUBMITTED,
        Claim.objects.all,
        "account__place_path",
        local_day("submitted_at"),
        moment_days("submitted_at"),
        (Measure("points.claims.submitted", count_of()),),
    ),
    Source(
        DECIDED,
        _decisions,
        "claim__account__place_path",
        local_day("decided_at"),
        moment_days("decided_at"),
        (
            Measure("points.claims.approved", count_of(Q(decision=_APPROVE))),
            Measure("points.claims.rejected", count_of(Q(decision=_REJECT))),
            Measure("points.claims.in_week", count_of(_IN_WEEK)),
        ),
    ),
)


def claim_figures(place: Place, period: Period) -> ClaimFigures:
    """The claims figures (definitions in ``gongzhi.points.kpis``) from the daily totals plus the claims and
    decisions made since the last roll-up. Equal to ``claim_figures_recount`` at every moment."""
    submitted = place_totals(SUBMITTED, place, period.first, period.last, ["points.claims.submitted"])
    keys = ["points.claims.approved", "points.claims.rejected", "points.claims.in_week"]
    decided = place_totals(DECIDED, place, period.first, period.last, keys)
    approved, rejected = decided["points.claims.approved"], decided["points.claims.rejected"]
    return ClaimFigures(
        submitted=submitted["points.claims.submitted"],
        approved=approved,
        rejected=rejected,
        reviewed_in_week=Rate(decided["points.claims.in_week"], approved + rejected),
    )


ROLLUP_CHECKS = (("points.claims", claim_figures, claim_figures_recount),)
