"""The service figures of shared/kpis.md ("Service", volunteer teams), for any place (its subtree) and any period
(``gongzhi.core.figures.Period``). Pure reads; each group of figures is one aggregate query. A place counts the
records of the communities under it (or the community above it: a grid's figures are its community's).

Definitions (a rate is always a ``Rate`` with numerator and denominator; a zero denominator shows "—"):

Teams — active teams of communities under the place created by the end of the period; members: their active
members (approved, not left), each person once per team.

Activities — activities under the place starting in the period, not called off:
- held: closed (the organiser closed them after they ended);
- sign-ups: every sign-up made for them (with a place, waiting, cancelled or expired);
- attendance: sign-ups with a place whose check-in/out reached the activity's share (they earned credit hours);
- no-shows and late cancellations, as recorded at closing and cancelling;
- credit hours: the sum of credit minutes / 60 (from check-in/out only); honour hours: hours added by hand with a
  reason, served in the period, kept apart;
- beneficiaries: person-times and households recorded at closing, plus one person and one household for each wish
  confirmed in the period.

Dual registration — in-service party members whose registration with a community under the place was in force at
the end of the period (registered on or before its last day, not ended by then): registered; served: of them, those
who attended an activity (with credit hours) starting in the period or fulfilled a wish confirmed in the period;
rate = served / registered (seed 004: 3,218 / 3,747 = 85.9 %).

Home-service week (积分周、回家日) — the last seven days of each month: per month, registered at the month's end and
of them those who attended an activity starting in that week; rate = served / registered.

Wishes — under the place: posted in the period; claimed (a claim made in the period, withdrawn or not, once per
wish); fulfilled (fulfilled in the period: confirmed or waiting for the confirmation); confirmed in the period; now:
on the wall unclaimed for more than a week, and overdue (past the day wished for and not fulfilled).

Roll-ups (``gongzhi.rollups``, declared in ``kpi_rollups``): the activities and their sign-ups are kept as daily
totals; ``activity_figures`` reads them (exact at every moment), ``activity_figures_recount`` counts the same from
the raw records, and ``gongzhi kpi_check`` compares the two (``ROLLUP_CHECKS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.core.figures import Figures, Period, Rate
from gongzhi.core.kpi_catalogue import Figure, FigureGroup, KpiDomain, Unit
from gongzhi.core.tree import subtree_q
from gongzhi.places.models import Place, PlaceKind
from gongzhi.rollups.selectors import remembered

from .kpi_rollups import ROLLUP_SOURCES as ROLLUP_SOURCES
from .kpi_rollups import activity_counts, credited_weeks
from .models import Activity, DualRegistration, HonourHours, SignUp, Team, TeamMember, Wish, WishEvent

UNCLAIMED_FLAG_DAYS = 7


def scope_path(place: Place) -> str:
    """The path whose subtree the figures count: the place's own, or its community's for a place below one."""
    if place.kind in (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY):
        return place.path
    community = Place.objects.filter(pk__in=place.ancestor_ids, kind=PlaceKind.COMMUNITY).first()
    return community.path if community else place.path


def home_service_week(year: int, month: int) -> Period:
    """The home-service week of a month: its last seven days."""
    last = Period.month(year, month).last
    return Period.custom(last - timedelta(days=6), last)


@dataclass(frozen=True)
class TeamFigures(Figures):
    teams: int
    members: int


def team_figures(place: Place, period: Period) -> TeamFigures:
    """Teams and their members (see the module's definitions)."""
    row = Team.objects.filter(
        subtree_q(scope_path(place), "community__path"), is_active=True, created_at__lt=period.end
    ).aggregate(
        teams=Count("pk", distinct=True),
        members=Count("members", filter=Q(members__state=TeamMember.State.ACTIVE), distinct=True),
    )
    return TeamFigures(teams=row["teams"], members=row["members"])


@dataclass(frozen=True)
class ActivityFigures(Figures):
    activities: int
    held: int
    signups: int
    attendance: int
    no_shows: int
    late_cancellations: int
    credit_hours: float
    honour_hours: float
    beneficiary_person_times: int
    beneficiary_households: int


def _activities(place: Place, period: Period):
    return Activity.objects.filter(
        subtree_q(scope_path(place), "community__path"),
        starts_at__gte=period.start,
        starts_at__lt=period.end,
    ).exclude(state=Activity.State.CANCELLED)


def _honour_and_wishes(path: str, period: Period) -> tuple[dict, dict]:
    honour = HonourHours.objects.filter(
        subtree_q(path, "community__path"), served_on__gte=period.first, served_on__lte=period.last
    ).aggregate(minutes=Sum("minutes"))
    wishes = Wish.objects.filter(
        subtree_q(path, "community__path"),
        state=Wish.State.CONFIRMED,
        confirmed_at__gte=period.start,
        confirmed_at__lt=period.end,
    ).aggregate(people=Count("pk"), households=Count("household", distinct=True))
    return honour, wishes


def activity_figures(place: Place, period: Period) -> ActivityFigures:
    """Activities, sign-ups, attendance, hours and beneficiaries (see the module's definitions): the sign-ups and
    activities from the roll-ups (``kpi_rollups``), honour hours and wishes from their rows. Equal to
    ``activity_figures_recount`` at every moment."""
    counts = activity_counts(place, period)
    honour, wishes = _honour_and_wishes(scope_path(place), period)
    return ActivityFigures(
        activities=counts["activities"],
        held=counts["held"],
        signups=counts["signups"],
        attendance=counts["attendance"],
        no_shows=counts["no_shows"],
        late_cancellations=counts["late_cancellations"],
        credit_hours=round(counts["credit_minutes"] / 60, 1),
        honour_hours=round((honour["minutes"] or 0) / 60, 1),
        beneficiary_person_times=counts["person_times"] + wishes["people"],
        beneficiary_households=counts["households"] + wishes["households"],
    )


def activity_figures_recount(place: Place, period: Period) -> ActivityFigures:
    """The activity figures counted from the raw records alone (the code before the roll-ups): the reference
    ``gongzhi kpi_check`` compares ``activity_figures`` with."""
    signups = SignUp.objects.filter(activity__in=_activities(place, period)).aggregate(
        signups=Count("pk"),
        attendance=Count("pk", filter=Q(state=SignUp.State.CONFIRMED, credit_minutes__gt=0)),
        no_shows=Count("pk", filter=Q(state=SignUp.State.CONFIRMED, no_show=True)),
        late=Count("pk", filter=Q(late_cancellation=True)),
        minutes=Sum("credit_minutes"),
    )
    activities = _activities(place, period).aggregate(
        activities=Count("pk"),
        held=Count("pk", filter=Q(state=Activity.State.CLOSED)),
        person_times=Sum("beneficiary_person_times"),
        households=Sum("beneficiary_households"),
    )
    honour, wishes = _honour_and_wishes(scope_path(place), period)
    return ActivityFigures(
        activities=activities["activities"],
        held=activities["held"],
        signups=signups["signups"],
        attendance=signups["attendance"],
        no_shows=signups["no_shows"],
        late_cancellations=signups["late"],
        credit_hours=round((signups["minutes"] or 0) / 60, 1),
        honour_hours=round((honour["minutes"] or 0) / 60, 1),
        beneficiary_person_times=(activities["person_times"] or 0) + wishes["people"],
        beneficiary_households=(activities["households"] or 0) + wishes["households"],
    )


def registrations_in_force(path: str, day: date):
    """Registrations with a community under ``path`` in force at the end of ``day``."""
    return DualRegistration.objects.filter(subtree_q(path, "community__path"), registered_on__lte=day).filter(
        ~Q(state=DualRegistration.State.ENDED) | Q(ended_on__gt=day)
    )


def _served_q(start: datetime, end: datetime, *, wishes: bool = True, through_activity: bool = False) -> Q:
    # One probe of signup_credited_idx per registration (the activity's start is on the sign-up); the recounts
    # read the start from the activity itself (``through_activity``), so they do not rely on the copy.
    starts = "activity__starts_at" if through_activity else "activity_starts_at"
    attended = SignUp.objects.filter(
        resident_id=OuterRef("membership__resident_id"),
        state=SignUp.State.CONFIRMED,
        credit_minutes__gt=0,
        **{f"{starts}__gte": start, f"{starts}__lt": end},
    )
    served = Q(Exists(attended))
    if wishes:
        fulfilled = Wish.objects.filter(
            claimer_resident_id=OuterRef("membership__resident_id"),
            state=Wish.State.CONFIRMED,
            confirmed_at__gte=start,
            confirmed_at__lt=end,
        )
        served |= Q(Exists(fulfilled))
    return served


@dataclass(frozen=True)
class RegistrationFigures(Figures):
    registered: int
    served: int
    rate: Rate


def registration_figures(place: Place, period: Period) -> RegistrationFigures:
    """Dual registration: registered, of those who served, rate (see the module's definitions)."""
    row = registrations_in_force(scope_path(place), period.last).aggregate(
        registered=Count("membership", distinct=True),
        served=Count("membership", filter=_served_q(period.start, period.end), distinct=True),
    )
    return RegistrationFigures(
        registered=row["registered"], served=row["served"], rate=Rate(row["served"], row["registered"])
    )


@dataclass(frozen=True)
class HomeWeekFigures(Figures):
    month: str
    first: str
    last: str
    registered: int
    served: int
    rate: Rate


def home_service_week_figures(place: Place, year: int) -> list[HomeWeekFigures]:
    """Per month of ``year``: registered members and those who served in the month's home-service week.

    Two reads: the registrations under the place, and the credited sign-ups of their residents in the year's weeks
    (``kpi_rollups.credited_weeks``); the weeks are counted from those, each membership once per week."""
    weeks = [home_service_week(year, month) for month in range(1, 13)]
    registrations = list(
        DualRegistration.objects.filter(subtree_q(scope_path(place), "community__path")).values_list(
            "membership_id", "membership__resident_id", "registered_on", "state", "ended_on"
        )
    )
    served_weeks = credited_weeks({row[1] for row in registrations}, weeks)
    # Per week (index 0-11): the memberships in force at its last day, and those of them that served in it.
    in_force: list[set[int]] = [set() for _week in weeks]
    served: list[set[int]] = [set() for _week in weeks]
    for membership, resident, registered_on, state, ended_on in registrations:
        served_in = served_weeks.get(resident, ())
        for index, week in enumerate(weeks):
            if registered_on <= week.last and (
                state != DualRegistration.State.ENDED or (ended_on and ended_on > week.last)
            ):
                in_force[index].add(membership)
                if index in served_in:
                    served[index].add(membership)
    result = []
    for month, week in enumerate(weeks, start=1):
        registered, served_count = len(in_force[month - 1]), len(served[month - 1])
        result.append(
            HomeWeekFigures(
                month=f"{year}-{month:02d}",
                first=week.first.isoformat(),
                last=week.last.isoformat(),
                registered=registered,
                served=served_count,
                rate=Rate(served_count, registered),
            )
        )
    return result


def home_service_week_figures_recount(place: Place, year: int) -> list[HomeWeekFigures]:
    """``home_service_week_figures`` as one aggregate with an EXISTS probe per registration and week (the code
    before: 24 probes per member, slow on many sign-ups); the tests compare the two."""
    path = scope_path(place)
    aggregates: dict[str, Any] = {}
    weeks = [home_service_week(year, month) for month in range(1, 13)]
    for month, week in enumerate(weeks, start=1):
        in_force = Q(registered_on__lte=week.last) & (
            ~Q(state=DualRegistration.State.ENDED) | Q(ended_on__gt=week.last)
        )
        aggregates[f"r{month}"] = Count("membership", filter=in_force, distinct=True)
        aggregates[f"s{month}"] = Count(
            "membership",
            filter=in_force & _served_q(week.start, week.end, wishes=False, through_activity=True),
            distinct=True,
        )
    row = DualRegistration.objects.filter(subtree_q(path, "community__path")).aggregate(**aggregates)
    return [
        HomeWeekFigures(
            month=f"{year}-{month:02d}",
            first=week.first.isoformat(),
            last=week.last.isoformat(),
            registered=row[f"r{month}"],
            served=row[f"s{month}"],
            rate=Rate(row[f"s{month}"], row[f"r{month}"]),
        )
        for month, week in enumerate(weeks, start=1)
    ]


@dataclass(frozen=True)
class WishFigures(Figures):
    posted: int
    claimed: int
    fulfilled: int
    confirmed: int
    unclaimed_flagged: int
    overdue: int


def wish_figures(place: Place, period: Period, *, now: datetime | None = None) -> WishFigures:
    """Wishes posted / claimed / fulfilled / confirmed, and the flags as of ``now`` (default: the period's end)."""
    now = now or period.end
    today = timezone.localdate(now)
    claimed_in_period = WishEvent.objects.filter(
        wish=OuterRef("pk"), action=WishEvent.Action.CLAIM, at__gte=period.start, at__lt=period.end
    )
    row = Wish.objects.filter(subtree_q(scope_path(place), "community__path")).aggregate(
        posted=Count("pk", filter=Q(posted_at__gte=period.start, posted_at__lt=period.end)),
        claimed=Count("pk", filter=Q(Exists(claimed_in_period))),
        fulfilled=Count(
            "pk",
            filter=Q(
                state__in=[Wish.State.FULFILLED, Wish.State.CONFIRMED],
                fulfilled_at__gte=period.start,
                fulfilled_at__lt=period.end,
            ),
        ),
        confirmed=Count(
            "pk", filter=Q(state=Wish.State.CONFIRMED, confirmed_at__gte=period.start, confirmed_at__lt=period.end)
        ),
        unclaimed=Count(
            "pk", filter=Q(state=Wish.State.OPEN, decided_at__lt=now - timedelta(days=UNCLAIMED_FLAG_DAYS))
        ),
        overdue=Count("pk", filter=Q(state__in=[Wish.State.OPEN, Wish.State.CLAIMED], due_on__lt=today)),
    )
    return WishFigures(
        posted=row["posted"],
        claimed=row["claimed"],
        fulfilled=row["fulfilled"],
        confirmed=row["confirmed"],
        unclaimed_flagged=row["unclaimed"],
        overdue=row["overdue"],
    )


# ---------------------------------------------------------------- the KPI catalogue (gongzhi.core.kpi_catalogue)


COMMUNITY_DEPTH = 2  # district → street → community (places.models.ALLOWED_PARENTS)


def catalogue_scope(place: Place) -> Place:
    """The place the catalogue's figures are counted for, without a query: the place itself, or for a place below
    a community its community, the third place of its path (a stand-in holding its id, kind and path, all that
    ``scope_path`` reads), so that a grid's or a building's figures cost no more queries than a street's."""
    ids = place.ancestor_ids
    if place.kind in (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY) or len(ids) <= COMMUNITY_DEPTH:
        return place
    community_ids = ids[: COMMUNITY_DEPTH + 1]
    return Place(
        pk=community_ids[-1],
        kind=PlaceKind.COMMUNITY,
        path="/" + "".join(f"{ancestor}/" for ancestor in community_ids),
        depth=COMMUNITY_DEPTH,
    )


def team_kpis(place: Place, period: Period) -> TeamFigures:
    return team_figures(catalogue_scope(place), period)


@dataclass(frozen=True)
class ActivityKpis:
    """``activity_figures`` as the catalogue reads them: the hours as Decimals (the same one decimal), so that they
    are numbers in the cockpit's changes and the workbook."""

    figures: ActivityFigures

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.figures, name)
        return Decimal(str(value)) if isinstance(value, float) else value


def activity_kpis(place: Place, period: Period) -> ActivityKpis:
    return ActivityKpis(activity_figures(catalogue_scope(place), period))


def registration_kpis(place: Place, period: Period) -> RegistrationFigures:
    return registration_figures(catalogue_scope(place), period)


@dataclass(frozen=True)
class HomeWeekTotals(Figures):
    weeks: int
    registered: int
    served: int
    rate: Rate


def home_service_week_totals(place: Place, period: Period) -> HomeWeekTotals:
    """The home-service weeks ending in the period (of the months whose last day is in it), added up: one reading
    (``home_service_week_figures``) per year of the period, once per ``rollups.selectors.one_snapshot`` block."""
    scope = catalogue_scope(place)

    def weeks_of(year: int) -> list[HomeWeekFigures]:
        # A page shows a period and the one before, mostly of the same year: one reading of it per page.
        return remembered(f"home_weeks:{scope.pk}:{year}", partial(home_service_week_figures, scope, year))

    rows = [
        row
        for year in range(period.first.year, period.last.year + 1)
        for row in weeks_of(year)
        if period.first <= date.fromisoformat(row.last) <= period.last
    ]
    registered = sum(row.registered for row in rows)
    served = sum(row.served for row in rows)
    return HomeWeekTotals(weeks=len(rows), registered=registered, served=served, rate=Rate(served, registered))


def wish_kpis(place: Place, period: Period) -> WishFigures:
    """The wish figures with their flags as of the period's end."""
    return wish_figures(catalogue_scope(place), period)


KPI_DOMAIN = KpiDomain(
    "volunteering",
    _("Volunteering"),
    groups=(
        FigureGroup(
            "volunteering.teams",
            _("Volunteer teams"),
            team_kpis,
            (
                Figure(
                    "teams",
                    _("Volunteer teams"),
                    _(
                        "Active volunteer teams of the communities under the place (below a community: of its "
                        "community) created by the period's end."
                    ),
                ),
                Figure(
                    "members",
                    _("Team members"),
                    _(
                        "Members of those teams approved and not left (as the memberships stand now), each person "
                        "once per team."
                    ),
                ),
            ),
        ),
        FigureGroup(
            "volunteering.activities",
            _("Volunteer activities"),
            activity_kpis,
            (
                Figure(
                    "activities",
                    _("Volunteer activities"),
                    _(
                        "Activities of the communities under the place (below a community: of its community) "
                        "starting in the period, not called off."
                    ),
                ),
                Figure(
                    "held",
                    _("Activities held"),
                    _("Of those activities, the ones closed (the organiser closed them after they ended)."),
                ),
                Figure(
                    "signups",
                    _("Sign-ups"),
                    _(
                        "Every sign-up for those activities, whatever its state (with a place, waiting, offered, "
                        "cancelled or expired)."
                    ),
                ),
                Figure(
                    "attendance",
                    _("Attendance"),
                    _(
                        "Sign-ups for those activities with a place whose check-in and check-out earned credit "
                        "minutes (the time served reached the activity's share)."
                    ),
                ),
                Figure(
                    "no_shows",
                    _("No-shows"),
                    _("Sign-ups for those activities with a place recorded at closing as not having come."),
                ),
                Figure(
                    "late_cancellations",
                    _("Late cancellations"),
                    _("Sign-ups for those activities recorded as cancelled late when they were cancelled."),
                ),
                Figure(
                    "credit_hours",
                    _("Credit hours"),
                    _(
                        "The credit minutes of the sign-ups for those activities (from check-in and check-out only) "
                        "divided by 60, to one decimal; honour hours are not included."
                    ),
                ),
                Figure(
                    "honour_hours",
                    _("Honour hours"),
                    _(
                        "Hours added by hand with a reason for the communities under the place (below a community: "
                        "its community), served on a day of the period: their minutes divided by 60, to one "
                        "decimal; kept apart from credit hours."
                    ),
                ),
                Figure(
                    "beneficiary_person_times",
                    _("Beneficiaries (person-times)"),
                    _(
                        "The person-times recorded at closing on those activities, plus one for each wish of the "
                        "communities under the place confirmed in the period."
                    ),
                ),
                Figure(
                    "beneficiary_households",
                    _("Beneficiary households"),
                    _(
                        "The households recorded at closing on those activities, plus the distinct households of "
                        "the wishes of the communities under the place confirmed in the period."
                    ),
                ),
            ),
        ),
        FigureGroup(
            "volunteering.dual_registration",
            _("Dual registration"),
            registration_kpis,
            (
                Figure(
                    "registered",
                    _("In-service party members registered"),
                    _(
                        "In-service party members whose registration with a community under the place (below a "
                        "community: its community) was in force on the period's last day: registered on or before "
                        "it and not ended by then, confirmed by the employer or not; each membership once."
                    ),
                ),
                Figure(
                    "served",
                    _("Registered members who served"),
                    _(
                        "Of those members, the ones who attended an activity starting in the period (a sign-up "
                        "with a place that earned credit minutes) or fulfilled a wish they claimed themselves that "
                        "was confirmed in the period."
                    ),
                ),
                Figure(
                    "rate",
                    _("Dual registration service rate"),
                    _("Registered members who served in the period / in-service party members registered."),
                    Unit.RATE,
                    numerator=_("registered members who served in the period"),
                    denominator=_("in-service party members registered on the period's last day"),
                ),
            ),
        ),
        FigureGroup(
            "volunteering.home_service_week",
            _("Home-service week participation"),
            home_service_week_totals,
            (
                Figure(
                    "weeks",
                    _("Home-service weeks"),
                    _(
                        "Home-service weeks (积分周、回家日: the last seven days of a month) ending in the period: "
                        "one for each month whose last day is in it, weeks still to come included."
                    ),
                ),
                Figure(
                    "registered",
                    _("Members due in home-service weeks"),
                    _(
                        "For each of those weeks, the in-service party members whose registration with a community "
                        "under the place (below a community: its community) was in force on the month's last day, "
                        "added up over the weeks (a member counts once per week)."
                    ),
                ),
                Figure(
                    "served",
                    _("Members who served in home-service weeks"),
                    _(
                        "For each of those weeks, those registered members who attended an activity starting in "
                        "the week (a sign-up with a place that earned credit minutes; wishes do not count), added "
                        "up over the weeks."
                    ),
                ),
                Figure(
                    "rate",
                    _("Home-service week participation rate"),
                    _(
                        "Members who served in the home-service weeks ending in the period / members registered "
                        "for them, both added up over those weeks (for a month: its own week)."
                    ),
                    Unit.RATE,
                    numerator=_("registered members who served in a home-service week, once per week"),
                    denominator=_("members registered at each week's month end, once per week"),
                ),
            ),
        ),
        FigureGroup(
            "volunteering.wishes",
            _("Micro-wishes"),
            wish_kpis,
            (
                Figure(
                    "posted",
                    _("Wishes posted"),
                    _(
                        "Wishes of the communities under the place (below a community: of its community) posted "
                        "in the period, whatever became of them."
                    ),
                ),
                Figure(
                    "claimed",
                    _("Wishes claimed"),
                    _("Wishes with a claim made in the period, withdrawn later or not; each wish once."),
                ),
                Figure(
                    "fulfilled",
                    _("Wishes fulfilled"),
                    _("Wishes fulfilled in the period, confirmed since or waiting for the confirmation."),
                ),
                Figure(
                    "confirmed",
                    _("Wishes confirmed"),
                    _("Wishes whose fulfilment was confirmed in the period."),
                ),
                Figure(
                    "unclaimed_flagged",
                    _("Wishes unclaimed over a week"),
                    _(
                        "Wishes on the wish wall now, still unclaimed, that were put on it more than 7 days before "
                        "the period's end."
                    ),
                ),
                Figure(
                    "overdue",
                    _("Wishes overdue"),
                    _(
                        "Wishes still on the wall or claimed now (not fulfilled) whose wished-for day is on or "
                        "before the period's last day."
                    ),
                ),
            ),
        ),
    ),
)

ROLLUP_CHECKS = (("volunteering.activities", activity_figures, activity_figures_recount),)
