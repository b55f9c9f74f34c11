"""Demo step: volunteering, made through the services (sign-ups, waiting list, attendance, claims are real).

- Five volunteer teams of the main community, by purpose, with members and a lead.
- In-service party members of the main community who were registered at home (``registered_at_home_on``, set by
  the district builder) register through the service on that date; the employers confirm most (the ``orgrep``
  login's school has some left to confirm). About 86 % of them serve in past activities (seed 004: 3,218 / 3,747).
- Past activities over the last ten weeks (two in last month's home-service week), attended (the organiser ticks
  the roster) and closed: their claims wait in the review queue. Upcoming activities: one full with a waiting
  list, one in this month's home-service week, one for party members; the ``resident`` login has signed up.
- Posts claimed by registered members; honour hours; wishes in every state (waiting for approval, refused, on the
  wall, claimed, fulfilled, confirmed), one of them unclaimed for over a week.

``top_up`` on a later day closes activities that have ended, expires overdue offers, and publishes new upcoming
activities when none is ahead. Deterministic for a seed and a day.
"""

from __future__ import annotations

import contextlib
import io
from datetime import datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy

from gongzhi.core.errors import DomainError
from gongzhi.core.tree import subtree_q

TITLE = gettext_lazy("Volunteering: teams, activities, dual registration and wishes")

TEAMS = (
    ("政策宣传队", "policy_publicity"),
    ("文明督导队", "civilisation_supervision"),
    ("环境卫生队", "sanitation"),
    ("平安巡逻队", "patrol"),
    ("银发助老队", "elderly_care"),
)
PAST = (
    ("楼道杂物清理", 68, "sanitation"),
    ("反诈宣传进小区", 54, "policy_publicity"),
    ("文明养犬劝导", 40, "civilisation_supervision"),
    ("夜间平安巡逻", 26, "patrol"),
    ("独居老人探访", 12, "elderly_care"),
    ("小区绿地补种", 0, "sanitation"),
)
POSTS = (("楼栋联络员", 6), ("平安巡逻岗", 8), ("文明劝导岗", 6))
SERVED_SHARE = 0.86
MAX_REGISTERED = 120


def _district_path() -> str:
    from gongzhi.places.models import Place, PlaceKind

    from .figures import DEMO_DISTRICT_CODE

    district = Place.objects.filter(kind=PlaceKind.DISTRICT, code=DEMO_DISTRICT_CODE, is_active=True).first()
    return district.path if district else "/nonexistent/"


def is_loaded() -> bool:
    from gongzhi.volunteering.models import Team

    return Team.objects.filter(subtree_q(_district_path(), "community__path")).exists()


def _at(day, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _item(community, day):
    from gongzhi.points.models import AccountKind
    from gongzhi.points.selectors import catalogue_rows

    for row in catalogue_rows(community, day=day):
        item = row["item"]
        kinds = set(item.account_kinds or [])
        wanted = {AccountKind.RESIDENT, AccountKind.PARTY_MEMBER} <= kinds and not item.evidence_required
        if row["enabled"] and row["value"] and wanted and "志愿" in item.name:
            return item
    for row in catalogue_rows(community, day=day):
        item = row["item"]
        kinds = set(item.account_kinds or [])
        if row["enabled"] and row["value"] and not item.evidence_required and {"resident", "party_member"} <= kinds:
            return item
    return None


def _photo():
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (220, 60, 60)).save(buffer, format="JPEG")
    return SimpleUploadedFile("wish.jpg", buffer.getvalue(), content_type="image/jpeg")


def _activity(organiser, community, title, starts, *, capacity, item, hours=2, created=None, **extra):
    from gongzhi.volunteering.services import ActivityInput, activity_create

    data = ActivityInput(
        title=title,
        location=f"{community.name}党群服务中心",
        starts_at=starts,
        ends_at=starts + timedelta(hours=hours),
        capacity=capacity,
        point_item=item,
        signup_closes_at=starts - timedelta(hours=1),
        **extra,
    )
    return activity_create(actor=organiser, community=community, data=data, now=created or starts - timedelta(days=7))


def _upcoming(context, organiser, community, item, rng, now) -> int:
    from gongzhi.people.models import Resident
    from gongzhi.volunteering.kpis import home_service_week
    from gongzhi.volunteering.services import activity_join

    today = timezone.localdate(now)
    residents = list(
        Resident.objects.filter(subtree_q(community.path, "household__path"), is_active=True).order_by("id")[:400]
    )
    made = 0
    full = _activity(
        organiser, community, "周末爱心义剪", _at(today + timedelta(days=4), 9), capacity=6, item=item, created=now
    )
    for resident in rng.sample(residents, min(10, len(residents))):
        with contextlib.suppress(DomainError):
            activity_join(actor=organiser, activity=full, resident=resident, now=now)
    made += 1
    week = home_service_week(today.year, today.month)
    day = max(week.first, today + timedelta(days=1))
    if day > week.last:
        following = week.last + timedelta(days=1)
        day = home_service_week(following.year, following.month).first
    _activity(organiser, community, "积分周·回家日 社区服务", _at(day, 14), capacity=40, item=item, created=now)
    _activity(
        organiser,
        community,
        "党员先锋 楼道微治理",
        _at(today + timedelta(days=9), 15),
        capacity=20,
        item=item,
        created=now,
        eligibility="party_members",
    )
    made += 2
    resident_login = context.account("resident")
    if resident_login.resident_id:
        with contextlib.suppress(DomainError):
            activity_join(actor=resident_login, activity=full, now=now)
    return made


def load(context) -> dict[str, int]:
    from gongzhi.core.access import grants
    from gongzhi.people.models import Organisation, PartyMembership, Resident
    from gongzhi.volunteering.kpis import home_service_week
    from gongzhi.volunteering.models import SignUp
    from gongzhi.volunteering.services import (
        activity_close,
        activity_join,
        attendance_mark,
        honour_hours_add,
        post_claim,
        post_create,
        registration_confirm,
        registration_create,
        team_create,
        team_join,
        team_member_approve,
        wish_approve,
        wish_claim,
        wish_confirm,
        wish_fulfil,
        wish_post,
        wish_refuse,
    )

    rng = context.rng("volunteering")
    now = context.moment
    today = context.today
    community = context.main_community
    organiser = context.account("secretary")
    admin = context.account("admin")
    item = _item(community, today)
    counts = {"team": 0, "activity": 0, "signup": 0, "registration": 0, "wish": 0}
    residents = list(
        Resident.objects.filter(subtree_q(community.path, "household__path"), is_active=True)
        .select_related("household")
        .order_by("id")[:600]
    )
    volunteers = rng.sample(residents, min(len(residents), 120))

    # Teams
    teams = []
    for index, (name, purpose) in enumerate(TEAMS):
        team = team_create(
            actor=organiser, community=community, name=name, purpose=purpose, now=now - timedelta(days=200)
        )
        members = volunteers[index * 12 : index * 12 + 12]
        for position, resident in enumerate(members):
            member = team_join(
                actor=organiser,
                team=team,
                resident=resident,
                skills=rng.choice(["理发", "电工", "陪护", "宣讲", ""]),
                now=now - timedelta(days=190),
            )
            if position == 0:
                team_member_approve(actor=organiser, member=member, lead=True, now=now - timedelta(days=190))
        teams.append(team)
    counts["team"] = len(teams)

    # Dual registration: in-service members of the main community registered at home
    memberships = list(
        PartyMembership.objects.filter(
            subtree_q(community.path, "resident__household__path"),
            is_active=True,
            is_in_service=True,
            registered_at_home_on__isnull=False,
        )
        .select_related("resident__household", "employer")
        .order_by("id")[:MAX_REGISTERED]
    )
    orgrep = context.account("orgrep")
    school_id = next((organisation for _role, _path, organisation in grants(orgrep) if organisation), None)
    registrations = []
    for membership in memberships:
        registered_on = min(membership.registered_at_home_on, today - timedelta(days=80))
        registration = registration_create(
            actor=organiser, membership=membership, registered_on=registered_on, now=now - timedelta(days=80)
        )
        leave_pending = membership.employer_id == school_id and rng.random() < 0.3
        if not leave_pending:
            confirmer = orgrep if membership.employer_id == school_id else admin
            registration = registration_confirm(
                actor=confirmer, registration=registration, now=now - timedelta(days=79)
            )
        registrations.append(registration)
    counts["registration"] = len(registrations)
    posts = [
        post_create(actor=organiser, community=community, title=title, slots=slots, now=now - timedelta(days=85))
        for title, slots in POSTS
    ]
    for registration in registrations[:15]:
        with contextlib.suppress(DomainError):
            post_claim(actor=organiser, registration=registration, post=rng.choice(posts), now=now - timedelta(days=78))
    # The seeds' proportion exactly: this share of the registered members serve (fully attended) this year.
    registered_residents = [r.membership.resident for r in registrations]
    serving = rng.sample(registered_residents, round(len(registered_residents) * SERVED_SHARE))
    serving_ids = {resident.pk for resident in serving}
    registered_ids = {resident.pk for resident in registered_residents}
    others = [resident for resident in volunteers if resident.pk not in registered_ids]

    # Past activities, attended and closed
    last_month = today.replace(day=1) - timedelta(days=1)
    week = home_service_week(last_month.year, last_month.month)
    days = [today - timedelta(days=days_ago) for _title, days_ago, _purpose in PAST]
    days[2] = week.first + timedelta(days=1)
    days[3] = week.first + timedelta(days=3)
    per_activity = max(1, -(-len(serving) // len(PAST)))
    for index, ((title, _days_ago, purpose), day) in enumerate(zip(PAST, days, strict=True)):
        starts = _at(day, 9)
        if index == len(PAST) - 1:
            # The latest ended this morning (or a few hours ago): its month is not yet published, so its claims
            # wait in this week's review queue. Earlier months' claims are refused as published (shown on the roster).
            starts = (now - timedelta(hours=4)).replace(minute=0, second=0, microsecond=0)
        team = next(t for t in teams if t.purpose == purpose)
        activity = _activity(
            organiser, community, title, starts, capacity=40, item=item, team=team, created=starts - timedelta(days=10)
        )
        people = serving[index * per_activity : (index + 1) * per_activity] + rng.sample(others, min(12, len(others)))
        for resident in people:
            try:
                activity_join(actor=organiser, activity=activity, resident=resident, now=starts - timedelta(days=3))
            except DomainError:
                continue
        for signup in SignUp.objects.filter(activity=activity, state=SignUp.State.CONFIRMED).order_by("pk"):
            roll = 1.0 if signup.resident_id in serving_ids else rng.random()
            if roll < 0.08:
                continue  # did not come
            minutes = 120 if roll > 0.2 else 50  # some leave early: under 60 %, no hours
            attendance_mark(
                actor=organiser,
                signup=signup,
                checked_in_at=starts + timedelta(minutes=rng.randint(0, 5)),
                checked_out_at=starts + timedelta(minutes=minutes),
                now=starts + timedelta(hours=3),
            )
            counts["signup"] += 1
        activity_close(
            actor=organiser,
            activity=activity,
            beneficiary_person_times=rng.randint(20, 120),
            beneficiary_households=rng.randint(8, 40),
            now=starts + timedelta(hours=3),
        )
        counts["activity"] += 1
    if volunteers:
        honour_hours_add(
            actor=organiser,
            resident=volunteers[0],
            minutes=240,
            served_on=today - timedelta(days=30),
            reason="防汛值守（手工补录）",
            now=now,
        )

    counts["activity"] += _upcoming(context, organiser, community, item, rng, now)

    # Wishes in every state
    wish_texts = (
        ("想要一台收音机", "独居老人，想听戏曲广播。"),
        ("家里灯泡坏了", "行动不便，需要有人帮忙换灯泡。"),
        ("孩子想要课外书", "四年级，喜欢科普书。"),
        ("想学用智能手机", "想学会视频通话。"),
        ("轮椅需要修理", "轮椅刹车不灵。"),
        ("冬天的棉被", "家里棉被太旧了。"),
        ("陪老人去医院复查", "子女在外地，需要有人陪同。"),
    )
    employers = list(Organisation.objects.filter(pk=school_id)) if school_id else []
    party_login = context.account("partymember")
    posters = rng.sample(residents, min(len(residents), len(wish_texts)))
    for index, ((title, text), resident) in enumerate(zip(wish_texts, posters, strict=False)):
        posted = now - timedelta(days=20 - index)
        wish = wish_post(
            actor=organiser,
            resident=resident,
            title=title,
            public_text=text,
            due_on=today + timedelta(days=10 + index),
            point_item=item,
            now=posted,
        )
        counts["wish"] += 1
        if index == 0:
            continue  # waiting for approval
        if index == 1:
            wish_refuse(
                actor=organiser, wish=wish, reason="属于物业维修范围，已转物业", now=posted + timedelta(hours=2)
            )
            continue
        wish = wish_approve(actor=organiser, wish=wish, now=posted + timedelta(hours=2))
        if index == 2:
            continue  # on the wall, unclaimed for over a week
        claimer = party_login if index in (3, 5) and party_login.resident_id else (orgrep if employers else party_login)
        kind = "organisation" if claimer == orgrep else "party_member"
        try:
            wish = wish_claim(
                actor=claimer,
                wish=wish,
                claimer_kind=kind,
                organisation=employers[0] if kind == "organisation" else None,
                now=posted + timedelta(days=1),
            )
        except DomainError:
            continue
        if index == 3:
            continue  # claimed
        wish = wish_fulfil(actor=claimer, wish=wish, photo=_photo(), note="已送达", now=posted + timedelta(days=3))
        if index == 4:
            continue  # fulfilled, waiting for confirmation
        wish_confirm(actor=organiser, wish=wish, now=posted + timedelta(days=4))
    return counts


def top_up(context, now: datetime) -> dict[str, int]:
    """Close what has ended, expire overdue offers, publish upcoming activities when none is ahead."""
    from gongzhi.volunteering.models import Activity
    from gongzhi.volunteering.services import activity_close, offers_expire

    community = context.main_community
    organiser = context.account("secretary")
    closed = 0
    for activity in Activity.objects.filter(community=community, state=Activity.State.OPEN, ends_at__lte=now).order_by(
        "pk"
    ):
        try:
            activity_close(actor=organiser, activity=activity, now=now)
            closed += 1
        except DomainError:
            pass
    expired = offers_expire(now=now)
    made = 0
    if not Activity.objects.filter(
        community=community, state=Activity.State.OPEN, starts_at__gt=now + timedelta(days=1)
    ).exists():
        made = _upcoming(
            context,
            organiser,
            community,
            _item(community, timezone.localdate(now)),
            context.rng(f"volunteering:{context.today}"),
            now,
        )
    return {key: value for key, value in {"closed": closed, "expired": expired, "activity": made}.items() if value}
