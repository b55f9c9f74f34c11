"""Activities: creating one, signing up (with the waiting list), cancelling, offers and their expiry, calling off.
Attendance (check-in/out, the roster, closing, honour hours) is in ``attendance.py``.

What it guarantees:

- sign-ups of one activity are taken one at a time under the activity's row lock: ``taken`` (confirmed places plus
  places offered from the waiting list) never passes the capacity (also a check constraint), and whoever comes
  after the last place waits, in the order they came (``position`` from the activity's ``waiting_serial``, moved
  and read in one statement), up to the activity's ``waiting_limit``;
- a place freed (cancellation, an offer declined or expired) is offered at once to the first on the waiting list,
  who has ``confirm_hours`` (never past the start) to confirm; an offer not confirmed expires and moves on.

Every state change is keyword-only with the acting account first, writes in one transaction with its audit entry,
and raises a ``DomainError`` (nothing written) when it refuses.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from gongzhi.core.access import require_authenticated
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import DomainError, NotFound, ValidationFailed
from gongzhi.people.models import PartyMembership, Resident
from gongzhi.places.models import Place, PlaceKind
from gongzhi.points.models import PointItem

from .access import may_manage, require_resident
from .errors import VolunteeringError
from .locks import lock_activity, lock_signup
from .models import Activity, ActivityChange, Eligibility, SignUp, Team, TeamMember

IN_FORCE = (SignUp.State.CONFIRMED, SignUp.State.WAITING, SignUp.State.OFFERED)
MAX_CAPACITY = 10_000
MAX_HONOUR_MINUTES = 24 * 60


@dataclass(frozen=True)
class ActivityInput:
    title: str
    location: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    description: str = ""
    team: Team | None = None
    point_item: PointItem | None = None
    eligibility: str = Eligibility.EVERYONE
    skill: str = ""
    signup_closes_at: datetime | None = None
    cancel_deadline: datetime | None = None
    confirm_hours: int = 12
    waiting_limit: int | None = None
    check_margin_minutes: int = 30
    attendance_share: int = 60


def _clean_activity(community: Place, data: ActivityInput, now: datetime) -> dict:
    errors: dict[str, str] = {}
    title, location = (data.title or "").strip(), (data.location or "").strip()
    if not title:
        errors["title"] = _("Enter a title.")
    elif len(title) > 120:
        errors["title"] = _("At most %(max)d characters.") % {"max": 120}
    if not location:
        errors["location"] = _("Say where the activity takes place.")
    if data.ends_at <= data.starts_at:
        errors["ends_at"] = _("The activity must end after it starts.")
    if data.starts_at < now:
        errors["starts_at"] = _("The activity cannot start in the past.")
    if not 1 <= int(data.capacity or 0) <= MAX_CAPACITY:
        errors["capacity"] = _("Between 1 and %(max)d places.") % {"max": MAX_CAPACITY}
    signup_closes_at = data.signup_closes_at or data.starts_at
    if signup_closes_at > data.ends_at:
        errors["signup_closes_at"] = _("Sign-up must close before the activity ends.")
    cancel_deadline = data.cancel_deadline or data.starts_at - timedelta(hours=24)
    if cancel_deadline > data.starts_at:
        errors["cancel_deadline"] = _("The cancellation deadline must be before the start.")
    if not 1 <= data.attendance_share <= 100:
        errors["attendance_share"] = _("A share between 1 and 100 %.")
    if not 0 <= data.check_margin_minutes <= 240:
        errors["check_margin_minutes"] = _("Between 0 and 240 minutes.")
    if data.waiting_limit is not None and not 0 <= data.waiting_limit <= MAX_CAPACITY:
        errors["waiting_limit"] = _("Between 0 and %(max)d people.") % {"max": MAX_CAPACITY}
    if not 1 <= data.confirm_hours <= 168:
        errors["confirm_hours"] = _("Between 1 and 168 hours.")
    if data.eligibility not in Eligibility.values:
        errors["eligibility"] = _("Choose who may join.")
    if data.team is not None and (data.team.community_id != community.pk or not data.team.is_active):
        errors["team"] = _("Choose a team of this community.")
    if data.eligibility == Eligibility.TEAM and data.team is None:
        errors["team"] = _("Choose the team whose members may join.")
    skill = (data.skill or "").strip()
    if data.eligibility == Eligibility.SKILL and not skill:
        errors["skill"] = _("Name the skill asked for.")
    item = data.point_item
    if item is not None and (not item.is_active or not community.path.startswith(item.owner.path)):
        errors["point_item"] = _("Choose an item from the community's catalogue.")
    if errors:
        raise ValidationFailed(fields=errors)
    return {
        "title": title,
        "location": location[:150],
        "description": (data.description or "").strip(),
        "starts_at": data.starts_at,
        "ends_at": data.ends_at,
        "capacity": int(data.capacity),
        "team": data.team,
        "point_item": item,
        "eligibility": data.eligibility,
        "skill": skill[:50],
        "signup_closes_at": signup_closes_at,
        "cancel_deadline": cancel_deadline,
        "confirm_hours": data.confirm_hours,
        "waiting_limit": data.waiting_limit,
        "check_margin_minutes": data.check_margin_minutes,
        "attendance_share": data.attendance_share,
    }


@transaction.atomic
def activity_create(*, actor: Actor, community: Place, data: ActivityInput, now: datetime) -> Activity:
    """Publish an activity of ``community`` (the actor organises it; ``volunteering.manage`` over the community)."""
    require_authenticated(actor)
    if community.kind != PlaceKind.COMMUNITY or not may_manage(actor, community.path):
        raise NotFound()
    values = _clean_activity(community, data, now)
    activity = Activity.objects.create(
        community=community, organiser=actor, token_secret=secrets.token_hex(16), created_at=now, **values
    )
    audit_record(
        actor=actor,
        action="volunteering.activity_create",
        target=activity,
        place_path=community.path,
        changes={"title": activity.title, "capacity": activity.capacity, "starts_at": activity.starts_at.isoformat()},
        occurred_at=now,
    )
    return activity


def require_organiser(actor: Actor, activity: Activity) -> None:
    require_authenticated(actor)
    if not may_manage(actor, activity.community.path):
        raise NotFound()


# ---------------------------------------------------------------- sign-up and the waiting list


def eligibility_problem(activity: Activity, resident: Resident) -> DomainError | None:
    """Why ``resident`` may not join ``activity`` (None: they may)."""
    if activity.eligibility == Eligibility.PARTY_MEMBERS:
        if not PartyMembership.objects.filter(resident=resident, is_active=True).exists():
            return VolunteeringError.NOT_ELIGIBLE(_("This activity is open to party members only."))
    elif activity.eligibility == Eligibility.TEAM:
        if not TeamMember.objects.filter(team=activity.team, resident=resident, state=TeamMember.State.ACTIVE).exists():
            return VolunteeringError.NOT_ELIGIBLE(_("This activity is open to the members of its team only."))
    elif (
        activity.eligibility == Eligibility.SKILL
        and not TeamMember.objects.filter(
            resident=resident, state=TeamMember.State.ACTIVE, skills__icontains=activity.skill
        ).exists()
    ):
        return VolunteeringError.NOT_ELIGIBLE(
            _("This activity asks for volunteers with the skill: %(skill)s.") % {"skill": activity.skill}
        )
    return None


def _expire_offers(activity: Activity, now: datetime, actor: Actor | None = None) -> int:
    """Under the activity's lock: offers past their deadline expire, and their places go to the next in line."""
    overdue = list(
        SignUp.objects.filter(activity=activity, state=SignUp.State.OFFERED, offer_expires_at__lte=now).order_by("pk")
    )
    if not overdue:
        return 0
    SignUp.objects.filter(pk__in=[s.pk for s in overdue]).update(state=SignUp.State.EXPIRED, position=None)
    ActivityChange.record(activity.pk, now)
    Activity.objects.filter(pk=activity.pk).update(taken=F("taken") - len(overdue))
    activity.taken -= len(overdue)
    for signup in overdue:
        audit_record(
            actor=actor,
            actor_label="" if actor else "system",
            action="volunteering.offer_expire",
            target=signup,
            place_path=activity.community.path,
            occurred_at=now,
        )
    _promote(activity, now)
    return len(overdue)


def _promote(activity: Activity, now: datetime) -> list[SignUp]:
    """Under the activity's lock: offer free places to the first on the waiting list, in order."""
    offered: list[SignUp] = []
    if now >= activity.starts_at or activity.state != Activity.State.OPEN:
        return offered
    free = activity.capacity - activity.taken
    if free <= 0:
        return offered
    expires = min(now + timedelta(hours=activity.confirm_hours), activity.starts_at)
    for signup in SignUp.objects.filter(activity=activity, state=SignUp.State.WAITING).order_by("position")[:free]:
        SignUp.objects.filter(pk=signup.pk).update(state=SignUp.State.OFFERED, offered_at=now, offer_expires_at=expires)
        signup.state, signup.offered_at, signup.offer_expires_at = SignUp.State.OFFERED, now, expires
        offered.append(signup)
        audit_record(
            actor=None,
            actor_label="system",
            action="volunteering.offer_make",
            target=signup,
            place_path=activity.community.path,
            changes={"confirm_by": expires.isoformat()},
            occurred_at=now,
        )
    if offered:
        Activity.objects.filter(pk=activity.pk).update(taken=F("taken") + len(offered))
        ActivityChange.record(activity.pk, now)
        activity.taken += len(offered)
    return offered


def activity_join(*, actor: Actor, activity: Activity, now: datetime, resident: Resident | None = None) -> SignUp:
    """Sign the actor (a resident) up: a place if one is free, else the end of the waiting list. An organiser may
    sign up another ``resident`` (enrolled by phone, at the door).

    Refused: a full activity whose waiting list is full too (``activity_full``), a closed or cancelled activity or
    one whose sign-up has closed (``signup_closed``), one the resident may not join (``not_eligible``), a second
    sign-up (``already_signed_up``).
    """
    if resident is None:
        resident = require_resident(actor)
    else:
        require_authenticated(actor)
        household = resident.household
        if household is None or not may_manage(actor, household.path) or not may_manage(actor, activity.community.path):
            raise NotFound()
    try:
        with transaction.atomic():
            return _join(actor, resident, activity, now)
    except IntegrityError:  # the same resident's second sign-up raced the first
        raise VolunteeringError.ALREADY_SIGNED_UP() from None


def _next_position(activity_id: int) -> int:
    """The next waiting position: the activity's ``waiting_serial`` moved up by one in the database and read back
    in the same statement (``UPDATE … SET waiting_serial = waiting_serial + 1 … RETURNING``), under the lock."""
    table = connection.ops.quote_name(Activity._meta.db_table)
    column = connection.ops.quote_name("waiting_serial")
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = {column} + 1 WHERE id = %s RETURNING {column}", [activity_id])
        return int(cursor.fetchone()[0])


def _join(actor: Actor, resident: Resident, activity: Activity, now: datetime) -> SignUp:
    locked = lock_activity(activity.pk)
    locked.community = activity.community
    if locked.state != Activity.State.OPEN or now >= locked.signup_closes_at:
        raise VolunteeringError.SIGNUP_CLOSED()
    problem = eligibility_problem(locked, resident)
    if problem is not None:
        raise problem
    # A second sign-up in force is refused by the database (``signup_one_in_force``): the insert fails, the whole
    # transaction (the place or position taken with it) rolls back, and ``activity_join`` answers already_signed_up.
    _expire_offers(locked, now)
    if locked.taken < locked.capacity:
        Activity.objects.filter(pk=locked.pk).update(taken=F("taken") + 1)
        signup = SignUp.objects.create(
            activity=locked, resident=resident, account=actor, state=SignUp.State.CONFIRMED, created_at=now
        )
    else:
        if (
            locked.waiting_limit is not None
            and SignUp.objects.filter(activity=locked, state=SignUp.State.WAITING).count() >= locked.waiting_limit
        ):
            raise VolunteeringError.ACTIVITY_FULL(_("This activity is full, and so is its waiting list."))
        signup = SignUp.objects.create(
            activity=locked,
            resident=resident,
            account=actor,
            state=SignUp.State.WAITING,
            position=_next_position(locked.pk),
            created_at=now,
        )
    ActivityChange.record(locked.pk, now)
    audit_record(
        actor=actor,
        action="volunteering.join",
        target=signup,
        place_path=locked.community.path,
        changes={"state": signup.state, "position": signup.position},
        occurred_at=now,
    )
    return signup


def _require_own(actor: Actor, signup: SignUp) -> None:
    require_authenticated(actor)
    resident = require_resident(actor)
    if signup.resident_id != resident.pk:
        raise NotFound()


@transaction.atomic
def signup_cancel(*, actor: Actor, signup: SignUp, now: datetime) -> SignUp:
    """Cancel one's sign-up (or decline an offered place, or leave the waiting list); an organiser may cancel anyone's.

    A place freed goes to the first on the waiting list at once. A cancellation after the deadline is recorded as
    late (shown to the organiser).
    """
    activity = signup.activity
    if not may_manage(actor, activity.community.path):
        _require_own(actor, signup)
    locked_activity = lock_activity(activity.pk)
    locked_activity.community = activity.community
    locked = lock_signup(signup.pk)
    if locked.state not in IN_FORCE or locked_activity.state != Activity.State.OPEN:
        raise VolunteeringError.SIGNUP_STATE()
    if now >= locked_activity.ends_at:
        raise VolunteeringError.SIGNUP_STATE(_("The activity is over; it can no longer be cancelled."))
    held_place = locked.state in (SignUp.State.CONFIRMED, SignUp.State.OFFERED)
    late = locked.state == SignUp.State.CONFIRMED and now > locked_activity.cancel_deadline
    SignUp.objects.filter(pk=locked.pk).update(
        state=SignUp.State.CANCELLED, position=None, cancelled_at=now, late_cancellation=late
    )
    ActivityChange.record(locked_activity.pk, now)
    if held_place:
        Activity.objects.filter(pk=locked_activity.pk).update(taken=F("taken") - 1)
        locked_activity.taken -= 1
    audit_record(
        actor=actor,
        action="volunteering.cancel",
        target=locked,
        place_path=locked_activity.community.path,
        changes={"state": [locked.state, SignUp.State.CANCELLED], "late": late},
        occurred_at=now,
    )
    if held_place:
        _promote(locked_activity, now)
    locked.refresh_from_db()
    return locked


@transaction.atomic
def offer_confirm(*, actor: Actor, signup: SignUp, now: datetime) -> SignUp:
    """Take the place offered from the waiting list, before the offer expires."""
    _require_own(actor, signup)
    activity = lock_activity(signup.activity_id)
    activity.community = signup.activity.community
    locked = lock_signup(signup.pk)
    if locked.state != SignUp.State.OFFERED:
        raise VolunteeringError.SIGNUP_STATE()
    if locked.offer_expires_at is not None and now >= locked.offer_expires_at:
        _expire_offers(activity, now, actor)
        raise VolunteeringError.SIGNUP_STATE(_("The offer has expired; the place went to the next in line."))
    SignUp.objects.filter(pk=locked.pk).update(state=SignUp.State.CONFIRMED, position=None, offer_expires_at=None)
    ActivityChange.record(activity.pk, now)
    audit_record(
        actor=actor,
        action="volunteering.offer_confirm",
        target=locked,
        place_path=activity.community.path,
        occurred_at=now,
    )
    locked.refresh_from_db()
    return locked


def offers_expire(*, now: datetime, limit: int = 200) -> int:
    """The periodic job's work: every offer past its deadline expires and its place goes to the next in line.

    Each activity in a transaction of its own, under its lock; running it twice changes nothing the second time.
    """
    activity_ids = list(
        SignUp.objects.filter(state=SignUp.State.OFFERED, offer_expires_at__lte=now)
        .values_list("activity_id", flat=True)
        .distinct()
        .order_by("activity_id")[:limit]
    )
    expired = 0
    for activity_id in activity_ids:
        with transaction.atomic():
            activity = lock_activity(activity_id)
            activity.community = Place.objects.get(pk=activity.community_id)
            expired += _expire_offers(activity, now)
    return expired


@transaction.atomic
def activity_cancel(*, actor: Actor, activity: Activity, reason: str, now: datetime) -> Activity:
    """Call an open activity off before it ends; every sign-up in force is cancelled with it."""
    require_organiser(actor, activity)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": _("Say why the activity is called off.")})
    locked = lock_activity(activity.pk)
    if locked.state != Activity.State.OPEN or now >= locked.ends_at:
        raise VolunteeringError.ACTIVITY_STATE()
    SignUp.objects.filter(activity=locked, state__in=IN_FORCE).update(
        state=SignUp.State.CANCELLED, position=None, cancelled_at=now
    )
    Activity.objects.filter(pk=locked.pk).update(state=Activity.State.CANCELLED, taken=0)
    ActivityChange.record(locked.pk, now)
    audit_record(
        actor=actor,
        action="volunteering.activity_cancel",
        target=locked,
        place_path=activity.community.path,
        changes={"reason": reason[:255]},
        occurred_at=now,
    )
    locked.refresh_from_db()
    return locked
