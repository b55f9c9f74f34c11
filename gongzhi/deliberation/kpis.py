"""The deliberation figures of shared/kpis.md ("Deliberation and co-building", seeds 002–004), for any place (its
subtree, by the topic's community) and any period (``core.figures.Period``; local days in Asia/Shanghai). Each
group is one aggregate query; every rate is a ``Rate`` (numerator, denominator; "—" when the denominator is 0).

Definitions:

Deliberation (``deliberation_figures``):
- topics proposed: proposed in the period; accepted / declined: accepted / declined in the period;
- sessions: deliberation sessions held in the period (``Session.held_at``; seed 002: 8);
- matters settled: topics decided in the period (directly, or by the four-step resolution; seed 002: 20+);
- matters carried out: topics marked carried out in the period;
- participation: invitees marked present / invited, over the sessions held in the period.

Catalogue (``catalogue_figures``, as of now, not of a period):
- communities under the place, communities with a consultation catalogue (at least one active entry) and the
  rate; liaisons in office.

Four-step resolutions (``resolution_figures``):
- completed: resolutions whose fourth step (the residents' meeting) was held in the period;
- with both publications: of those, the resolution and the result both published (now); the rate of the two.

Votes (``vote_figures``): votes closing in the period, ballots cast in them (online and paper), those eligible;
turnout = ballots / eligible (seed-free: the platform's own measure); results published.

Evaluation (``evaluation_figures``): ratings given in the period, satisfied (4 or 5 of 5) / ratings.

Not here: problems solved in forums and joint meetings (co-building's figures).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils.translation import gettext_lazy as _

from gongzhi.core.figures import Figures, Period, Rate
from gongzhi.core.kpi_catalogue import Figure, FigureGroup, KpiDomain, Unit
from gongzhi.core.tree import subtree_q
from gongzhi.places.models import Place, PlaceKind

from .models import CatalogueEntry, Liaison, Rating, ResolutionStep, ResolutionStepKind, Session, Topic, Vote


@dataclass(frozen=True)
class DeliberationFigures(Figures):
    topics_proposed: int
    topics_accepted: int
    topics_declined: int
    sessions_held: int
    matters_settled: int
    matters_carried_out: int
    participation: Rate


@dataclass(frozen=True)
class CatalogueFigures(Figures):
    communities: int
    communities_with_catalogue: int
    catalogue_coverage: Rate
    liaisons: int


@dataclass(frozen=True)
class ResolutionFigures(Figures):
    completed: int
    with_both_publications: int
    publication_rate: Rate


@dataclass(frozen=True)
class VoteFigures(Figures):
    votes: int
    ballots: int
    paper_ballots: int
    eligible: int
    turnout: Rate
    results_published: int


@dataclass(frozen=True)
class EvaluationFigures(Figures):
    ratings: int
    satisfied: int
    satisfaction: Rate


def _in(period: Period, field: str) -> Q:
    return Q(**{f"{field}__gte": period.start, f"{field}__lt": period.end})


def deliberation_figures(place: Place, period: Period) -> DeliberationFigures:
    """Topics, sessions and matters settled under ``place`` in ``period`` (two aggregate queries: the topics,
    and the sessions held with their invitations)."""
    topics = Topic.objects.filter(subtree_q(place.path, "community__path")).aggregate(
        proposed=Count("pk", filter=_in(period, "proposed_at")),
        accepted=Count("pk", filter=_in(period, "accepted_at")),
        declined=Count("pk", filter=_in(period, "declined_at")),
        settled=Count("pk", filter=_in(period, "decided_at")),
        carried_out=Count("pk", filter=_in(period, "carried_out_at")),
    )
    sessions = (
        Session.objects.filter(subtree_q(place.path, "topic__community__path"))
        .filter(_in(period, "held_at"))
        .aggregate(
            held=Count("pk", distinct=True),
            invited=Count("invitations"),
            attended=Count("invitations", filter=Q(invitations__attended=True)),
        )
    )
    return DeliberationFigures(
        topics_proposed=topics["proposed"],
        topics_accepted=topics["accepted"],
        topics_declined=topics["declined"],
        sessions_held=sessions["held"],
        matters_settled=topics["settled"],
        matters_carried_out=topics["carried_out"],
        participation=Rate(sessions["attended"], sessions["invited"]),
    )


def catalogue_figures(place: Place) -> CatalogueFigures:
    """Communities under ``place`` with a consultation catalogue, and liaisons in office (as of now)."""
    entries = CatalogueEntry.objects.filter(community=OuterRef("pk"), is_active=True)
    row = (
        Place.objects.filter(subtree_q(place.path), kind=PlaceKind.COMMUNITY, is_active=True)
        .annotate(has_catalogue=Exists(entries))
        .aggregate(total=Count("pk"), with_catalogue=Count("pk", filter=Q(has_catalogue=True)))
    )
    liaison_total = Liaison.objects.filter(subtree_q(place.path, "community__path"), ends_on__isnull=True).count()
    return CatalogueFigures(
        communities=row["total"],
        communities_with_catalogue=row["with_catalogue"],
        catalogue_coverage=Rate(row["with_catalogue"], row["total"]),
        liaisons=liaison_total,
    )


def resolution_figures(place: Place, period: Period) -> ResolutionFigures:
    """Four-step resolutions completed in ``period`` (step 4 held then) and how many have both publications."""
    row = ResolutionStep.objects.filter(
        subtree_q(place.path, "resolution__topic__community__path"),
        kind=ResolutionStepKind.RESIDENTS_MEETING,
        held_on__gte=period.first,
        held_on__lte=period.last,
    ).aggregate(
        completed=Count("pk"),
        both=Count(
            "pk",
            filter=Q(resolution__published_at__isnull=False, resolution__result_published_at__isnull=False),
        ),
    )
    return ResolutionFigures(
        completed=row["completed"],
        with_both_publications=row["both"],
        publication_rate=Rate(row["both"], row["completed"]),
    )


def vote_figures(place: Place, period: Period) -> VoteFigures:
    """Votes closing in ``period`` under ``place``: ballots, paper ballots, eligible, turnout, results published."""
    votes = Vote.objects.filter(subtree_q(place.path, "community__path")).filter(_in(period, "closes_at"))
    row = votes.aggregate(
        votes=Count("pk"),
        ballots=Sum("ballot_count"),
        eligible=Sum("eligible_count"),
        published=Count("pk", filter=Q(published_at__isnull=False)),
    )
    paper = votes.aggregate(paper=Count("participations", filter=Q(participations__channel="paper")))["paper"]
    ballots, eligible = row["ballots"] or 0, row["eligible"] or 0
    return VoteFigures(
        votes=row["votes"],
        ballots=ballots,
        paper_ballots=paper,
        eligible=eligible,
        turnout=Rate(ballots, eligible),
        results_published=row["published"],
    )


def evaluation_figures(place: Place, period: Period) -> EvaluationFigures:
    """Residents' ratings (民评) given in ``period`` of topics under ``place``; satisfied = 4 or 5."""
    row = (
        Rating.objects.filter(subtree_q(place.path, "topic__community__path"))
        .filter(_in(period, "rated_at"))
        .aggregate(ratings=Count("pk"), satisfied=Count("pk", filter=Q(score__gte=4)))
    )
    return EvaluationFigures(
        ratings=row["ratings"], satisfied=row["satisfied"], satisfaction=Rate(row["satisfied"], row["ratings"])
    )


def all_figures(place: Place, period: Period) -> dict[str, Figures]:
    """Every group, for a staff page or the cockpit."""
    return {
        "deliberation": deliberation_figures(place, period),
        "catalogue": catalogue_figures(place),
        "resolutions": resolution_figures(place, period),
        "votes": vote_figures(place, period),
        "evaluation": evaluation_figures(place, period),
    }


# ---------------------------------------------------------------- the KPI catalogue


def catalogue_figures_now(place: Place, period: Period) -> CatalogueFigures:
    """``catalogue_figures`` in the catalogue's ``(place, period)`` form: as of now, whatever the period."""
    return catalogue_figures(place)


KPI_DOMAIN = KpiDomain(
    "deliberation",
    _("Deliberation"),
    groups=(
        FigureGroup(
            "deliberation.topics",
            _("Topics and deliberation sessions"),
            deliberation_figures,
            (
                Figure(
                    "topics_proposed",
                    _("Topics proposed"),
                    _("Topics of the communities under the place proposed in the period."),
                ),
                Figure(
                    "topics_accepted",
                    _("Topics accepted"),
                    _("Topics of the communities under the place put on the agenda in the period."),
                ),
                Figure(
                    "topics_declined",
                    _("Topics declined"),
                    _("Topics of the communities under the place declined in the period."),
                ),
                Figure(
                    "sessions_held",
                    _("Sessions held"),
                    _(
                        "Deliberation sessions of topics of the communities under the place recorded as held in the "
                        "period (by the time they were recorded as held)."
                    ),
                ),
                Figure(
                    "matters_settled",
                    _("Matters settled"),
                    _(
                        "Topics of the communities under the place decided in the period, directly after a session "
                        "or by the four-step resolution."
                    ),
                ),
                Figure(
                    "matters_carried_out",
                    _("Matters carried out"),
                    _("Topics of the communities under the place marked carried out in the period."),
                ),
                Figure(
                    "participation",
                    _("Participation"),
                    _("Invitees marked present / invitees, over the deliberation sessions held in the period."),
                    Unit.RATE,
                    numerator=_("invitees marked present"),
                    denominator=_("invitees of the sessions held in the period"),
                ),
            ),
        ),
        FigureGroup(
            "deliberation.catalogue",
            _("Consultation catalogues and liaisons"),
            catalogue_figures_now,
            (
                Figure(
                    "communities",
                    _("Communities"),
                    _("Active communities under the place, as of now (not of the period)."),
                ),
                Figure(
                    "communities_with_catalogue",
                    _("Communities with a catalogue"),
                    _(
                        "Of those communities, the ones with at least one active entry in their consultation "
                        "catalogue, as of now (not of the period)."
                    ),
                ),
                Figure(
                    "catalogue_coverage",
                    _("Consultation catalogue coverage"),
                    _(
                        "Communities with a consultation catalogue / active communities under the place, as of now "
                        "(not of the period)."
                    ),
                    Unit.RATE,
                    numerator=_("communities with a consultation catalogue"),
                    denominator=_("active communities under the place"),
                ),
                Figure(
                    "liaisons",
                    _("Liaisons"),
                    _(
                        "Consultation liaisons of the communities under the place in office now (appointed and not "
                        "ended), not of the period."
                    ),
                ),
            ),
            timeless=True,
        ),
        FigureGroup(
            "deliberation.resolutions",
            _("Four-step resolutions"),
            resolution_figures,
            (
                Figure(
                    "completed",
                    _("Four-step resolutions completed"),
                    _(
                        "Four-step resolutions of topics under the place whose fourth step, the residents' "
                        "(representatives') meeting, was held on a day of the period."
                    ),
                ),
                Figure(
                    "with_both_publications",
                    _("With both publications"),
                    _(
                        "Of those resolutions, the ones whose resolution and whose result of carrying it out have "
                        "both been published (by now)."
                    ),
                ),
                Figure(
                    "publication_rate",
                    _("Both publications rate"),
                    _(
                        "Resolutions completed in the period with both publications / resolutions completed in the "
                        "period."
                    ),
                    Unit.RATE,
                    numerator=_("resolutions completed in the period with both publications"),
                    denominator=_("resolutions completed in the period"),
                ),
            ),
        ),
        FigureGroup(
            "deliberation.votes",
            _("Votes"),
            vote_figures,
            (
                Figure(
                    "votes",
                    _("Votes closing"),
                    _("Votes of the communities under the place whose ballot closes in the period."),
                ),
                Figure(
                    "ballots",
                    _("Ballots cast"),
                    _("Ballots cast in those votes, online and on paper."),
                ),
                Figure(
                    "paper_ballots",
                    _("Paper ballots"),
                    _("Of those ballots, the paper ballots entered from tally sheets."),
                ),
                Figure(
                    "eligible",
                    _("Eligible voters"),
                    _("Households or people eligible to vote in those votes, as fixed when each vote was created."),
                ),
                Figure(
                    "turnout",
                    _("Turnout"),
                    _("Ballots cast / those eligible, over the votes closing in the period."),
                    Unit.RATE,
                    numerator=_("ballots cast"),
                    denominator=_("those eligible to vote"),
                ),
                Figure(
                    "results_published",
                    _("Vote results published"),
                    _("Of the votes closing in the period, the ones whose result has been published (by now)."),
                ),
            ),
        ),
        FigureGroup(
            "deliberation.evaluation",
            _("Residents' evaluation"),
            evaluation_figures,
            (
                Figure(
                    "ratings",
                    _("Ratings given"),
                    _("Residents' ratings (民评) of topics under the place given in the period."),
                ),
                Figure(
                    "satisfied",
                    _("Satisfied ratings"),
                    _("Of those ratings, the ones scoring 4 or 5 of 5."),
                ),
                Figure(
                    "satisfaction",
                    _("Satisfaction"),
                    _("Ratings of 4 or 5 of 5 / ratings given in the period."),
                    Unit.RATE,
                    numerator=_("ratings of 4 or 5"),
                    denominator=_("ratings given in the period"),
                ),
            ),
        ),
    ),
)
