"""Volunteering on big data for the cockpit benchmark: teams, activities, sign-ups ("attendances") and dual
registrations in bulk by SQL, on a database that already holds the place tree of ``benchmarks/cockpit_bench.py``
(``_places``: a district, 10 streets, 100 communities, grids, buildings, 20,000 households).

One template row per table is made through the ORM (so every NOT NULL column is real) and cloned with
generate_series:

- one resident per household (if the tree has none yet), one organiser account, one team per community;
- activities of about 40 sign-ups each (``attendances // 40``), spread over the communities and the days
  ``first_day`` .. ``first_day + days - 1`` (starting at 09:00, two hours; all closed but the last day's);
- sign-ups of residents of the activity's own community: 90 % confirmed with 120 credit minutes (checked in and
  out), 5 % confirmed no-shows, 5 % cancelled (half of them late);
- 2,000 in-service party members registered with their home community 30 days before ``first_day`` (a fixed
  number: the served count is bounded by the registered members, not by the attendances).

``volunteering_rolled(district, period)`` and ``volunteering_raw(district, period)`` answer the same figure tuples
(activities, dual registration, home-service weeks), through the roll-ups and from the raw records.
"""

from __future__ import annotations

from datetime import date

SIGNUPS_PER_ACTIVITY = 40
REGISTERED = 2_000


def _clone(columns, cursor, table: str, template_id: int, overrides: dict[str, str], source: str, params=()) -> None:
    names, select = columns(cursor, table, overrides)
    cursor.execute(f"INSERT INTO {table} ({names}) SELECT {select} FROM {table} t {source}", [*params, template_id])


def _templates(first_day: date):
    """The template rows, made through the ORM."""
    from datetime import datetime, time, timedelta

    from django.utils import timezone

    from gongzhi.people.models import Account, PartyMembership, PartyOrganisation, Resident
    from gongzhi.places.models import Place
    from gongzhi.volunteering.models import Activity, DualRegistration, SignUp, Team

    household = Place.objects.filter(kind="household").order_by("pk").first()
    community = Place.objects.get(pk=household.ancestor_ids[2])
    organiser = Account.objects.create_user(username="bench-organiser", password=None)
    resident = Resident.objects.filter(household=household).first() or Resident.objects.create(
        name="居民", household=household
    )
    team = Team.objects.create(community=community, name="志愿服务队", purpose="other")
    starts = timezone.make_aware(datetime.combine(first_day, time(9)))
    activity = Activity.objects.create(
        community=community,
        title="社区服务",
        location="社区广场",
        organiser=organiser,
        team=team,
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        capacity=50,
        signup_closes_at=starts,
        cancel_deadline=starts - timedelta(hours=24),
        token_secret="0" * 32,
        state=Activity.State.CLOSED,
        closed_at=starts + timedelta(hours=3),
    )
    signup = SignUp.objects.create(
        activity=activity, resident=resident, account=organiser, state=SignUp.State.CONFIRMED, credit_minutes=120
    )
    branch = PartyOrganisation.objects.create(kind="branch", name="党支部", place=community)
    return household, organiser, resident, team, activity, signup, branch, PartyMembership, DualRegistration


def fill_volunteering(cursor, attendances: int, first_day: date, days: int, columns) -> None:
    """Insert teams, activities, residents, ``attendances`` sign-ups and the dual registrations (see the module).
    ``columns`` is the bench's ``_columns`` (column list and select list cloning a template row)."""
    household, organiser, resident, team, activity, signup, branch, PartyMembership, DualRegistration = _templates(
        first_day
    )
    cursor.execute("SELECT count(*) FROM people_resident")
    if cursor.fetchone()[0] <= 1:
        _clone(
            columns,
            cursor,
            "people_resident",
            resident.pk,
            {"household_id": "h.id", "name": "'居民' || h.id"},
            "CROSS JOIN places_place h WHERE h.kind = 'household' AND h.id <> %s AND t.id = %s",
            [household.pk],
        )
    # Residents numbered within their community (k = 0, 1, ...), communities numbered c = 0 .. 99.
    cursor.execute(
        "CREATE TEMP TABLE bench_communities AS SELECT row_number() OVER (ORDER BY id) - 1 AS c, id, path "
        "FROM places_place WHERE kind = 'community'"
    )
    cursor.execute(
        "CREATE TEMP TABLE bench_residents AS SELECT c.c, row_number() OVER (PARTITION BY c.c ORDER BY r.id) - 1 "
        "AS k, r.id FROM people_resident r JOIN places_place h ON h.id = r.household_id "
        "JOIN bench_communities c ON h.path LIKE c.path || '%%'"
    )
    cursor.execute("CREATE INDEX ON bench_residents (c, k)")
    cursor.execute("SELECT count(*) FROM bench_communities")
    communities = cursor.fetchone()[0]
    cursor.execute("SELECT min(n) FROM (SELECT count(*) AS n FROM bench_residents GROUP BY c) counts")
    per_community = cursor.fetchone()[0]
    _clone(
        columns,
        cursor,
        "volunteering_team",
        team.pk,
        {"community_id": "c.id"},
        "CROSS JOIN bench_communities c WHERE c.id <> %s AND t.id = %s",
        [team.community_id],
    )
    # Activity n: day mod(n, days), community mod(n, communities) (every community, on a fifth of the days).
    activities = max(1, attendances // SIGNUPS_PER_ACTIVITY)
    day = f"(date '{first_day.isoformat()}' + mod(n, {days}))"
    starts = f"(({day} + time '09:00') AT TIME ZONE 'Asia/Shanghai')"
    last_day = f"mod(n, {days}) = {days - 1}"
    cursor.execute("SELECT max(id) FROM volunteering_activity")
    base = cursor.fetchone()[0]
    _clone(
        columns,
        cursor,
        "volunteering_activity",
        activity.pk,
        {
            "community_id": "c.id",
            "team_id": "(SELECT id FROM volunteering_team WHERE community_id = c.id LIMIT 1)",
            "title": "'社区服务' || n",
            "starts_at": starts,
            "ends_at": f"{starts} + interval '2 hours'",
            "signup_closes_at": starts,
            "cancel_deadline": f"{starts} - interval '1 day'",
            "state": f"CASE WHEN {last_day} THEN 'open' ELSE 'closed' END",
            "closed_at": f"CASE WHEN {last_day} THEN NULL ELSE {starts} + interval '3 hours' END",
            "beneficiary_person_times": f"CASE WHEN {last_day} THEN 0 ELSE 20 + mod(n, 30) END",
            "beneficiary_households": f"CASE WHEN {last_day} THEN 0 ELSE 5 + mod(n, 10) END",
            "taken": str(SIGNUPS_PER_ACTIVITY),
        },
        f"CROSS JOIN generate_series(1, %s) n JOIN bench_communities c ON c.c = mod(n, {communities}) "
        "WHERE t.id = %s ORDER BY n",
        [activities - 1],
    )
    # Sign-up j of activity a: resident k = mod(a * 7 + j, per community) of the activity's community.
    cancelled = "mod(j, 20) = 0"
    no_show = "mod(j, 20) = 1"
    _clone(
        columns,
        cursor,
        "volunteering_signup",
        signup.pk,
        {
            "activity_id": "a.id",
            "activity_starts_at": "a.starts_at",
            "resident_id": "r.id",
            "state": f"CASE WHEN {cancelled} THEN 'cancelled' ELSE 'confirmed' END",
            "created_at": "a.starts_at - interval '3 days'",
            "cancelled_at": f"CASE WHEN {cancelled} THEN a.starts_at - interval '2 hours' END",
            "late_cancellation": "mod(j, 40) = 0",
            "checked_in_at": f"CASE WHEN {cancelled} OR {no_show} THEN NULL ELSE a.starts_at END",
            "check_in_method": f"CASE WHEN {cancelled} OR {no_show} THEN '' ELSE 'scan' END",
            "checked_out_at": f"CASE WHEN {cancelled} OR {no_show} THEN NULL ELSE a.ends_at END",
            "check_out_method": f"CASE WHEN {cancelled} OR {no_show} THEN '' ELSE 'scan' END",
            "no_show": f"{no_show} AND a.state = 'closed'",
            "credit_minutes": f"CASE WHEN {cancelled} OR {no_show} OR a.state <> 'closed' THEN 0 ELSE 120 END",
        },
        "JOIN volunteering_activity a ON a.id > %s "
        "JOIN bench_communities c ON c.id = a.community_id "
        f"CROSS JOIN generate_series(1, {SIGNUPS_PER_ACTIVITY}) j "
        f"JOIN bench_residents r ON r.c = c.c AND r.k = mod(a.id * 7 + j, {per_community}) "
        "WHERE t.id = %s ORDER BY a.id, j",
        [base],
    )
    cursor.execute("DELETE FROM volunteering_signup WHERE id = %s", [signup.pk])  # the template: not 40 of its own
    # Party members: REGISTERED residents spread over the communities, in service, registered at home.
    membership = PartyMembership.objects.create(resident=resident, organisation=branch, is_in_service=True)
    registration = DualRegistration.objects.create(
        membership=membership,
        community_id=branch.place_id,
        registered_on=date.fromordinal(first_day.toordinal() - 30),
        state=DualRegistration.State.CONFIRMED,
        created_by=organiser,
    )
    per = max(1, REGISTERED // communities)
    _clone(
        columns,
        cursor,
        "people_partymembership",
        membership.pk,
        {"resident_id": "r.id"},
        f"JOIN bench_residents r ON r.k < {per} AND r.id <> %s WHERE t.id = %s",
        [resident.pk],
    )
    _clone(
        columns,
        cursor,
        "volunteering_dualregistration",
        registration.pk,
        {"membership_id": "m.id", "community_id": "c.id"},
        "JOIN people_partymembership m ON m.id <> t.membership_id JOIN bench_residents r ON r.id = m.resident_id "
        "JOIN bench_communities c ON c.c = r.c WHERE t.id = %s",
    )
    cursor.execute("DROP TABLE bench_residents, bench_communities")
    cursor.execute("ANALYZE")


def volunteering_rolled(district, period) -> tuple:
    """The volunteering figures of the district as the cockpit reads them (the activities through the roll-ups)."""
    from gongzhi.volunteering import kpis

    return (
        kpis.activity_figures(district, period),
        kpis.registration_figures(district, period),
        kpis.home_service_week_totals(district, period),
    )


def volunteering_raw(district, period) -> tuple:
    """The same figures counted from the raw records (the activities by ``activity_figures_recount``)."""
    from gongzhi.volunteering import kpis

    return (
        kpis.activity_figures_recount(district, period),
        kpis.registration_figures(district, period),
        kpis.home_service_week_totals(district, period),
    )
