"""The volunteering figures that grow with the data, kept as daily totals (``gongzhi.rollups``).

What grows with the number of sign-ups ("attendances") and activities is the activity group: the activities of a
place starting in a period and their sign-ups (sign-ups, attendance, no-shows, late cancellations, credit minutes;
held activities and the beneficiaries recorded at closing). Those are kept per place (every rolled level) and per
local day of the activity's start, in two changing sources:

- ``volunteering.signups``: the sign-ups (one row per attendance) of activities not called off;
- ``volunteering.activities``: the activities not called off.

Both change after the fact (a sign-up cancelled, a place confirmed, the activity closed with its credit minutes and
no-shows, called off), always under the activity's lock in a service that writes an ``ActivityChange`` in the same
transaction. A change record names the activity; for the sign-up source it names every sign-up of that activity
(``change_row = "activity__signups__id"``), so the activity's start day is dirty until the next run rebuilds it. A
new sign-up is a new row (its pk is past the watermark), so its day is dirty as well. An activity's start never
moves (no service edits it), so a row's day never changes under the totals.

Kept raw (bounded by other things than attendances): honour hours (added by hand), the wishes' beneficiaries, the
teams, the wishes, and dual registration. The "served" members are a distinct count (people, not sign-ups): it is
one EXISTS probe per registration in force, served by the sign-ups' index on the resident, so it grows with the
registered members and their own sign-ups, not with the district's attendances (see ``kpis._served_q``; the
home-service weeks: ``credited_weeks``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db.models import Case, IntegerField, Q, Sum, When

from gongzhi.core.figures import Period
from gongzhi.places.models import Place, PlaceKind
from gongzhi.rollups.selectors import place_totals
from gongzhi.rollups.sources import Measure, Source, count_of, local_day, moment_days

from .models import Activity, ActivityChange, SignUp

SIGNUPS, ACTIVITIES = "volunteering.signups", "volunteering.activities"
SIGNUP_MEASURES = ("signups", "attendance", "no_shows", "late_cancellations", "credit_minutes")
ACTIVITY_MEASURES = ("activities", "held", "person_times", "households")


def _sum(field: str) -> Sum:
    # Only non-zero values: a day whose values are all 0 stores nothing.
    return Sum(field, filter=Q(**{f"{field}__gt": 0}))


def _signups():
    return SignUp.objects.exclude(activity__state=Activity.State.CANCELLED)


def _activities():
    return Activity.objects.exclude(state=Activity.State.CANCELLED)


_CONFIRMED = Q(state=SignUp.State.CONFIRMED)
ROLLUP_SOURCES = (
    Source(
        SIGNUPS,
        _signups,
        "activity__community__path",
        local_day("activity__starts_at"),
        moment_days("activity__starts_at"),
        (
            Measure("volunteering.signups.signups", count_of()),
            Measure("volunteering.signups.attendance", count_of(_CONFIRMED & Q(credit_minutes__gt=0))),
            Measure("volunteering.signups.no_shows", count_of(_CONFIRMED & Q(no_show=True))),
            Measure("volunteering.signups.late_cancellations", count_of(Q(late_cancellation=True))),
            Measure("volunteering.signups.credit_minutes", _sum("credit_minutes")),
        ),
        changes=ActivityChange.objects.all,
        change_row="activity__signups__id",
    ),
    Source(
        ACTIVITIES,
        _activities,
        "community__path",
        local_day("starts_at"),
        moment_days("starts_at"),
        (
            Measure("volunteering.activities.activities", count_of()),
            Measure("volunteering.activities.held", count_of(Q(state=Activity.State.CLOSED))),
            Measure("volunteering.activities.person_times", _sum("beneficiary_person_times")),
            Measure("volunteering.activities.households", _sum("beneficiary_households")),
        ),
        changes=ActivityChange.objects.all,
        change_row="activity_id",
    ),
)


def rolled_scope(place: Place) -> Place:
    """The place whose totals hold the place's figures: itself, or for a place below a community its community
    (the same subtree as ``kpis.scope_path``)."""
    if place.kind in (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY):
        return place
    community = Place.objects.filter(pk__in=place.ancestor_ids, kind=PlaceKind.COMMUNITY).first()
    return community or place


def activity_counts(place: Place, period: Period) -> dict[str, int]:
    """The sign-up and activity measures of the activities under the place (below a community: its community)
    starting in the period, not called off: the daily totals of the clean days plus the raw rows of the dirty
    days and of today, so exact at every moment. Keys: ``SIGNUP_MEASURES`` + ``ACTIVITY_MEASURES``."""
    scope = rolled_scope(place)
    signups = place_totals(SIGNUPS, scope, period.first, period.last, [f"{SIGNUPS}.{name}" for name in SIGNUP_MEASURES])
    activities = place_totals(
        ACTIVITIES, scope, period.first, period.last, [f"{ACTIVITIES}.{name}" for name in ACTIVITY_MEASURES]
    )
    counts = {name: signups[f"{SIGNUPS}.{name}"] for name in SIGNUP_MEASURES}
    counts.update({name: activities[f"{ACTIVITIES}.{name}"] for name in ACTIVITY_MEASURES})
    return counts


PROBE_CHUNK = 2_000  # resident ids per query (well under SQLite's bound on parameters)


def credited_weeks(resident_ids: Iterable[int], weeks: Sequence[Period]) -> dict[int, set[int]]:
    """Per resident of ``resident_ids`` who served in any of ``weeks``: the indexes (0-based) of the weeks in which
    an activity they earned credit minutes at started. One query per ``PROBE_CHUNK`` residents through the
    credited sign-ups' index on the resident and the activity's start (``signup_credited_idx``), answering each
    (resident, week) once: it costs the registered members' own sign-ups in those weeks, not the district's."""
    week_of = Case(
        *(
            When(activity_starts_at__gte=week.start, activity_starts_at__lt=week.end, then=index)
            for index, week in enumerate(weeks)
        ),
        output_field=IntegerField(),
    )
    in_weeks = Q(pk__in=[])
    for week in weeks:
        in_weeks |= Q(activity_starts_at__gte=week.start, activity_starts_at__lt=week.end)
    found: dict[int, set[int]] = defaultdict(set)
    ids = sorted(set(resident_ids))
    for offset in range(0, len(ids), PROBE_CHUNK):
        rows = (
            SignUp.objects.filter(
                in_weeks,
                resident_id__in=ids[offset : offset + PROBE_CHUNK],
                # The whole span as well, so the index range stops at it (the weeks alone only filter).
                activity_starts_at__gte=min(week.start for week in weeks),
                activity_starts_at__lt=max(week.end for week in weeks),
                state=SignUp.State.CONFIRMED,
                credit_minutes__gt=0,
            )
            .annotate(week=week_of)
            .values_list("resident_id", "week")
            .order_by()
            .distinct()
        )
        for resident_id, week in rows:
            found[resident_id].add(week)
    return found
