"""The co-building figures of shared/kpis.md ("Deliberation and co-building", "problems solved through forums and
joint meetings"), for any place (its subtree) and any period (``gongzhi.core.figures.Period``). Each group of
figures is one aggregate query, whatever the amount of data; each function is a pure read.

Definitions (a rate is always a ``Rate`` with numerator and denominator; a zero denominator shows "—"):

Agreements — of communities under the place: signed (starting) in the period; in force on the period's last day;
organisations with one in force then.

Alliances — points alliances of places under the place founded by the period's last day, and their member
organisations (distinct).

Micro-projects — of places under the place: claimed in the period (claims made then and not given back),
completed (confirmed by the community) in the period, completion rate = completed in the period / claimed in the
period (a cohort-free flow rate: a project claimed in March and confirmed in April counts in each month once),
open to claim now (of those created by the period's end).

Activities — co-building activities held in the period in communities under the place, with their participants;
of them, pairings' joint activities.

Pairings — of communities under the place in force at some day of the period; commitments of the period's years
(by the commitment's year), kept, and commitments kept rate = kept / commitments.

Meetings — joint meetings, forums and round tables held in the period; matters raised at them; matters solved in
the period (whatever meeting raised them; "problems solved in meetings and forums", seed 001: 96 forums, 320
problems); solved rate = matters raised in the period and solved by now / raised in the period.

Fund — the community service funds of communities under the place for the period's years: budget, committed,
spent, left (yuan; budget = spent + committed + left).

Report-back — organisations located under the place with an agreement in force at some day of the period's years,
and how many of them were reported back for one of those years; rate = reported / with an agreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gongzhi.core.access import reach, require_authenticated
from gongzhi.core.actors import Actor
from gongzhi.core.errors import NotFound
from gongzhi.core.figures import Figures, Period, Rate
from gongzhi.core.kpi_catalogue import Figure, FigureGroup, KpiDomain, Unit
from gongzhi.core.roles import Permission
from gongzhi.core.tree import subtree_q
from gongzhi.places.models import Place

from .models import (
    Activity,
    Agreement,
    Alliance,
    Commitment,
    Fund,
    Matter,
    Meeting,
    Pairing,
    Project,
    ProjectClaim,
    ReportBack,
)


@dataclass(frozen=True)
class AgreementFigures(Figures):
    signed: int
    in_force: int
    organisations: int


@dataclass(frozen=True)
class AllianceFigures(Figures):
    alliances: int
    members: int


@dataclass(frozen=True)
class ProjectFigures(Figures):
    claimed: int
    completed: int
    completion_rate: Rate
    open_now: int


@dataclass(frozen=True)
class ActivityFigures(Figures):
    activities: int
    participants: int
    joint_activities: int


@dataclass(frozen=True)
class PairingFigures(Figures):
    pairings: int
    commitments: int
    kept: int
    kept_rate: Rate


@dataclass(frozen=True)
class MeetingFigures(Figures):
    meetings: int
    joint_meetings: int
    forums: int
    matters_raised: int
    problems_solved: int
    solved_rate: Rate


@dataclass(frozen=True)
class FundFigures(Figures):
    budget: Decimal
    committed: Decimal
    spent: Decimal
    left: Decimal


@dataclass(frozen=True)
class ReportBackFigures(Figures):
    organisations: int
    reported: int
    reported_rate: Rate


def _in_force_on_q(day: Any) -> Q:
    return Q(starts_on__lte=day) & (Q(ended_on__isnull=True, ends_on__gte=day) | Q(ended_on__gte=day))


def agreement_figures(place: Place, period: Period) -> AgreementFigures:
    in_force = _in_force_on_q(period.last)
    row = Agreement.objects.filter(subtree_q(place.path, "community__path")).aggregate(
        signed=Count("pk", filter=Q(starts_on__gte=period.first, starts_on__lte=period.last, renewed_from=None)),
        in_force=Count("pk", filter=in_force),
        organisations=Count("organisation_id", filter=in_force, distinct=True),
    )
    return AgreementFigures(**row)


def alliance_figures(place: Place, period: Period) -> AllianceFigures:
    row = Alliance.objects.filter(subtree_q(place.path, "place__path"), founded_on__lte=period.last).aggregate(
        alliance_count=Count("pk", distinct=True), member_count=Count("members__organisation_id", distinct=True)
    )
    return AllianceFigures(alliances=row["alliance_count"], members=row["member_count"])


def project_figures(place: Place, period: Period) -> ProjectFigures:
    claims = (
        ProjectClaim.objects.filter(subtree_q(place.path, "project__place__path"))
        .filter(claimed_at__gte=period.start, claimed_at__lt=period.end)
        .exclude(state=ProjectClaim.State.RELEASED)
        .aggregate(claimed=Count("pk"))
    )
    row = Project.objects.filter(subtree_q(place.path, "place__path")).aggregate(
        completed=Count(
            "pk",
            filter=Q(state=Project.State.CONFIRMED, confirmed_at__gte=period.start, confirmed_at__lt=period.end),
        ),
        open_now=Count("pk", filter=Q(state=Project.State.OPEN, created_at__lt=period.end)),
    )
    return ProjectFigures(
        claimed=claims["claimed"],
        completed=row["completed"],
        completion_rate=Rate(row["completed"], claims["claimed"]),
        open_now=row["open_now"],
    )


def activity_figures(place: Place, period: Period) -> ActivityFigures:
    row = Activity.objects.filter(
        subtree_q(place.path, "community__path"), held_on__gte=period.first, held_on__lte=period.last
    ).aggregate(
        activities=Count("pk"),
        participants=Sum("participants"),
        joint_activities=Count("pk", filter=Q(pairing__isnull=False)),
    )
    return ActivityFigures(
        activities=row["activities"], participants=row["participants"] or 0, joint_activities=row["joint_activities"]
    )


def pairing_figures(place: Place, period: Period) -> PairingFigures:
    pairings = Pairing.objects.filter(subtree_q(place.path, "community__path"), started_on__lte=period.last).filter(
        Q(ended_on__isnull=True) | Q(ended_on__gte=period.first)
    )
    years = list(range(period.first.year, period.last.year + 1))
    row = pairings.aggregate(
        pairing_count=Count("pk", distinct=True),
        commitment_count=Count("commitments", filter=Q(commitments__year__in=years), distinct=True),
        kept=Count(
            "commitments",
            filter=Q(commitments__year__in=years, commitments__state=Commitment.State.KEPT),
            distinct=True,
        ),
    )
    return PairingFigures(
        pairings=row["pairing_count"],
        commitments=row["commitment_count"],
        kept=row["kept"],
        kept_rate=Rate(row["kept"], row["commitment_count"]),
    )


def meeting_figures(place: Place, period: Period) -> MeetingFigures:
    held = Q(held_on__gte=period.first, held_on__lte=period.last)
    meetings = (
        Meeting.objects.filter(subtree_q(place.path, "community__path"))
        .filter(held)
        .aggregate(
            meetings=Count("pk"),
            joint_meetings=Count("pk", filter=Q(kind=Meeting.Kind.JOINT_MEETING)),
            forums=Count("pk", filter=Q(kind__in=(Meeting.Kind.FORUM, Meeting.Kind.ROUND_TABLE))),
        )
    )
    raised_q = Q(meeting__held_on__gte=period.first, meeting__held_on__lte=period.last)
    matters = Matter.objects.filter(subtree_q(place.path, "meeting__community__path")).aggregate(
        raised=Count("pk", filter=raised_q),
        raised_solved=Count("pk", filter=raised_q & Q(state=Matter.State.SOLVED)),
        solved=Count(
            "pk", filter=Q(state=Matter.State.SOLVED, solved_on__gte=period.first, solved_on__lte=period.last)
        ),
    )
    return MeetingFigures(
        **meetings,
        matters_raised=matters["raised"],
        problems_solved=matters["solved"],
        solved_rate=Rate(matters["raised_solved"], matters["raised"]),
    )


def fund_figures(place: Place, period: Period) -> FundFigures:
    row = Fund.objects.filter(
        subtree_q(place.path, "community__path"), year__gte=period.first.year, year__lte=period.last.year
    ).aggregate(budget_total=Sum("budget"), committed_total=Sum("committed"), spent_total=Sum("spent"))
    budget, committed, spent = (row[key] or Decimal("0") for key in ("budget_total", "committed_total", "spent_total"))
    return FundFigures(budget=budget, committed=committed, spent=spent, left=budget - committed - spent)


def report_back_figures(place: Place, period: Period) -> ReportBackFigures:
    from gongzhi.people.models import Organisation

    years = list(range(period.first.year, period.last.year + 1))
    first, last = period.first.replace(month=1, day=1), period.last.replace(month=12, day=31)
    with_agreement = Q(cobuilding_agreements__starts_on__lte=last) & (
        Q(cobuilding_agreements__ended_on__isnull=True, cobuilding_agreements__ends_on__gte=first)
        | Q(cobuilding_agreements__ended_on__gte=first)
    )
    reported_ids = ReportBack.objects.filter(year__in=years).values("organisation_id")
    row = (
        Organisation.objects.filter(subtree_q(place.path, "place__path"))
        .filter(with_agreement)
        .aggregate(
            organisation_count=Count("pk", distinct=True),
            reported_count=Count("pk", filter=Q(pk__in=reported_ids), distinct=True),
        )
    )
    return ReportBackFigures(
        organisations=row["organisation_count"],
        reported=row["reported_count"],
        reported_rate=Rate(row["reported_count"], row["organisation_count"]),
    )


@dataclass(frozen=True)
class CobuildingKpis:
    place: Place
    period: Period
    agreements: AgreementFigures
    alliances: AllianceFigures
    projects: ProjectFigures
    activities: ActivityFigures
    pairings: PairingFigures
    meetings: MeetingFigures
    fund: FundFigures
    report_back: ReportBackFigures

    def as_dict(self) -> dict:
        return {
            "place": {"id": self.place.pk, "name": self.place.name, "kind": self.place.kind},
            "period": self.period.as_dict(),
            "agreements": self.agreements.as_dict(),
            "alliances": self.alliances.as_dict(),
            "projects": self.projects.as_dict(),
            "activities": self.activities.as_dict(),
            "pairings": self.pairings.as_dict(),
            "meetings": self.meetings.as_dict(),
            "fund": {key: str(value) for key, value in self.fund.as_dict().items()},
            "report_back": self.report_back.as_dict(),
        }

    def rows(self) -> list[tuple[str, Any]]:
        """(label, value) pairs for pages and exports, in the user's language."""
        return [
            (_("agreements signed"), self.agreements.signed),
            (_("agreements in force"), self.agreements.in_force),
            (_("points alliances"), self.alliances.alliances),
            (_("organisations in alliances"), self.alliances.members),
            (_("micro-projects claimed"), self.projects.claimed),
            (_("micro-projects completed"), self.projects.completed),
            (_("completion rate"), self.projects.completion_rate),
            (_("co-building activities"), self.activities.activities),
            (_("pairings"), self.pairings.pairings),
            (_("commitments kept"), self.pairings.kept_rate),
            (_("joint meetings"), self.meetings.joint_meetings),
            (_("forums and round tables"), self.meetings.forums),
            (_("problems solved in meetings and forums"), self.meetings.problems_solved),
            (_("organisations reported back"), self.report_back.reported_rate),
            (_("service fund spent (yuan)"), self.fund.spent),
            (_("service fund left (yuan)"), self.fund.left),
        ]


def require_figures_reach(actor: Actor, place: Place) -> None:
    """Figures of a place are for those who manage co-building over it; else NotFound."""
    require_authenticated(actor)
    if place is None or not reach(actor, Permission.COBUILDING_MANAGE).covers(place.path):
        raise NotFound()


def cobuilding_kpis(*, actor: Actor, place: Place, period: Period) -> CobuildingKpis:
    """Every co-building figure for the place and period (about ten queries)."""
    require_figures_reach(actor, place)
    return CobuildingKpis(
        place=place,
        period=period,
        agreements=agreement_figures(place, period),
        alliances=alliance_figures(place, period),
        projects=project_figures(place, period),
        activities=activity_figures(place, period),
        pairings=pairing_figures(place, period),
        meetings=meeting_figures(place, period),
        fund=fund_figures(place, period),
        report_back=report_back_figures(place, period),
    )


# ---------------------------------------------------------------- the KPI catalogue (gongzhi.core.kpi_catalogue)

KPI_DOMAIN = KpiDomain(
    "cobuilding",
    gettext_lazy("Co-building"),
    groups=(
        FigureGroup(
            "cobuilding.agreements",
            gettext_lazy("Co-building agreements"),
            agreement_figures,
            (
                Figure(
                    "signed",
                    gettext_lazy("Agreements signed"),
                    gettext_lazy("Co-building agreements starting in the period (not renewals)."),
                ),
                Figure(
                    "in_force",
                    gettext_lazy("Agreements in force"),
                    gettext_lazy("Agreements in force on the period's last day."),
                ),
                Figure(
                    "organisations",
                    gettext_lazy("Organisations with an agreement"),
                    gettext_lazy("Distinct organisations with an agreement in force on the period's last day."),
                ),
            ),
        ),
        FigureGroup(
            "cobuilding.alliances",
            gettext_lazy("Points alliances"),
            alliance_figures,
            (
                Figure(
                    "alliances",
                    gettext_lazy("Points alliances"),
                    gettext_lazy("Points alliances founded by the period's last day."),
                ),
                Figure(
                    "members",
                    gettext_lazy("Organisations in alliances"),
                    gettext_lazy("Distinct member organisations of them."),
                ),
            ),
        ),
        FigureGroup(
            "cobuilding.projects",
            gettext_lazy("Micro-projects"),
            project_figures,
            (
                Figure(
                    "claimed",
                    gettext_lazy("Micro-projects claimed"),
                    gettext_lazy("Claims made in the period and not given back."),
                ),
                Figure(
                    "completed",
                    gettext_lazy("Micro-projects completed"),
                    gettext_lazy("Projects confirmed by the community in the period."),
                ),
                Figure(
                    "completion_rate",
                    gettext_lazy("Completion rate"),
                    gettext_lazy("Completed in the period / claimed in the period."),
                    Unit.RATE,
                    numerator=gettext_lazy("micro-projects completed"),
                    denominator=gettext_lazy("micro-projects claimed"),
                ),
                Figure(
                    "open_now",
                    gettext_lazy("Open to claim"),
                    gettext_lazy("Projects open to claim now, created by the period's end."),
                ),
            ),
        ),
        FigureGroup(
            "cobuilding.activities",
            gettext_lazy("Co-building activities"),
            activity_figures,
            (
                Figure(
                    "activities", gettext_lazy("Co-building activities"), gettext_lazy("Activities held in the period.")
                ),
                Figure("participants", gettext_lazy("Participants"), gettext_lazy("People taking part in them.")),
                Figure(
                    "joint_activities",
                    gettext_lazy("Pairings' joint activities"),
                    gettext_lazy("Of the activities, pairings' ones."),
                ),
            ),
        ),
        FigureGroup(
            "cobuilding.pairings",
            gettext_lazy("Pairings"),
            pairing_figures,
            (
                Figure(
                    "pairings", gettext_lazy("Pairings"), gettext_lazy("Pairings in force at some day of the period.")
                ),
                Figure(
                    "commitments",
                    gettext_lazy("Commitments"),
                    gettext_lazy("Their commitments for the period's years."),
                ),
                Figure("kept", gettext_lazy("Commitments kept"), gettext_lazy("Of the commitments, those kept.")),
                Figure(
                    "kept_rate",
                    gettext_lazy("Commitments kept rate"),
                    gettext_lazy("Kept / commitments."),
                    Unit.RATE,
                    numerator=gettext_lazy("commitments kept"),
                    denominator=gettext_lazy("commitments"),
                ),
            ),
        ),
        FigureGroup(
            "cobuilding.meetings",
            gettext_lazy("Joint meetings and forums"),
            meeting_figures,
            (
                Figure(
                    "meetings",
                    gettext_lazy("Meetings"),
                    gettext_lazy("Joint meetings, forums and round tables held in the period."),
                ),
                Figure("joint_meetings", gettext_lazy("Joint meetings"), gettext_lazy("Of them, joint meetings.")),
                Figure(
                    "forums", gettext_lazy("Forums and round tables"), gettext_lazy("Of them, forums and round tables.")
                ),
                Figure(
                    "matters_raised",
                    gettext_lazy("Matters raised"),
                    gettext_lazy("Matters raised at meetings held in the period."),
                ),
                Figure(
                    "problems_solved",
                    gettext_lazy("Problems solved in meetings and forums"),
                    gettext_lazy("Matters solved in the period, whichever meeting raised them."),
                ),
                Figure(
                    "solved_rate",
                    gettext_lazy("Matters solved rate"),
                    gettext_lazy("Matters raised in the period and solved by now / raised in the period."),
                    Unit.RATE,
                    numerator=gettext_lazy("matters raised in the period and solved"),
                    denominator=gettext_lazy("matters raised in the period"),
                ),
            ),
        ),
        FigureGroup(
            "cobuilding.fund",
            gettext_lazy("Community service fund"),
            fund_figures,
            (
                Figure(
                    "budget", gettext_lazy("Fund budget"), gettext_lazy("Budgets of the period's years."), Unit.AMOUNT
                ),
                Figure(
                    "committed", gettext_lazy("Fund committed"), gettext_lazy("Approved, not yet paid."), Unit.AMOUNT
                ),
                Figure("spent", gettext_lazy("Fund spent"), gettext_lazy("Paid."), Unit.AMOUNT),
                Figure("left", gettext_lazy("Fund left"), gettext_lazy("Budget − committed − spent."), Unit.AMOUNT),
            ),
        ),
        FigureGroup(
            "cobuilding.report_back",
            gettext_lazy("Report-back"),
            report_back_figures,
            (
                Figure(
                    "organisations",
                    gettext_lazy("Organisations to report back"),
                    gettext_lazy("Organisations under the place with an agreement in force in the period's years."),
                ),
                Figure(
                    "reported",
                    gettext_lazy("Organisations reported back"),
                    gettext_lazy("Of them, reported back for one of those years."),
                ),
                Figure(
                    "reported_rate",
                    gettext_lazy("Reported-back rate"),
                    gettext_lazy("Reported back / organisations with an agreement."),
                    Unit.RATE,
                    numerator=gettext_lazy("organisations reported back"),
                    denominator=gettext_lazy("organisations with an agreement"),
                ),
            ),
        ),
    ),
)
