"""Attendance: check-in and check-out (the rotating token or the typed code), the organiser's roster, closing an
activity (attendance → credit hours → points claims) and honour hours added by hand.

What it guarantees:

- check-in and check-out take the screen's token or its six digits (``tokens.py``), only inside the window, once
  each, the check-out after the check-in;
- credit hours come from check-in/out only, and count only when the time attended reaches the activity's share;
  honour hours are a separate record with who added them and why;
- closing turns attendance into points claims through ``gongzhi.points.services.claim_submit`` with the key
  ``volunteering:attendance:<sign-up id>``: closing again retries what was refused and awards nothing twice.

Every state change is keyword-only with the acting account first, writes in one transaction with its audit entry,
and raises a ``DomainError`` (nothing written) when it refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import require_authenticated
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import DomainError, NotFound, ValidationFailed
from gongzhi.people.models import Resident
from gongzhi.places.models import Place, PlaceKind
from gongzhi.points.selectors import resident_account, saved_account
from gongzhi.points.services import claim_submit

from . import tokens
from .access import may_manage, may_record_claims, require_resident
from .activities import MAX_HONOUR_MINUTES, require_organiser
from .errors import VolunteeringError
from .locks import lock_activity, lock_signup
from .models import Activity, ActivityChange, HonourHours, SignUp

# ---------------------------------------------------------------- check-in and check-out


def _verify(activity: Activity, token: str, code: str, now: datetime) -> str:
    if token:
        tokens.verify_token(activity, token, now)
        return SignUp.Method.SCAN
    if code:
        tokens.verify_typed_code(activity, code, now)
        return SignUp.Method.CODE
    raise VolunteeringError.TOKEN_INVALID()


def _own_confirmed(actor: Actor, activity: Activity) -> SignUp:
    resident = require_resident(actor)
    signup = SignUp.objects.filter(activity=activity, resident=resident, state=SignUp.State.CONFIRMED).first()
    if signup is None:
        raise VolunteeringError.NOT_SIGNED_UP()
    locked = lock_signup(signup.pk)
    if locked.state != SignUp.State.CONFIRMED:  # cancelled meanwhile
        raise VolunteeringError.NOT_SIGNED_UP()
    return locked


@transaction.atomic
def check_in(*, actor: Actor, activity: Activity, token: str = "", code: str = "", now: datetime) -> SignUp:
    """Check the actor in with the screen's token (scanned) or its six digits (typed), inside the window."""
    require_authenticated(actor)
    if activity.state != Activity.State.OPEN:
        raise VolunteeringError.ACTIVITY_STATE()
    if not tokens.in_window(activity, now):
        raise VolunteeringError.OUTSIDE_WINDOW()
    method = _verify(activity, token, code, now)
    signup = _own_confirmed(actor, activity)
    if signup.checked_in_at is not None:
        raise VolunteeringError.ALREADY_CHECKED_IN()
    SignUp.objects.filter(pk=signup.pk).update(checked_in_at=now, check_in_method=method)
    audit_record(
        actor=actor,
        action="volunteering.check_in",
        target=signup,
        place_path=activity.community.path,
        changes={"method": method},
        occurred_at=now,
    )
    signup.checked_in_at, signup.check_in_method = now, method
    return signup


@transaction.atomic
def check_out(*, actor: Actor, activity: Activity, token: str = "", code: str = "", now: datetime) -> SignUp:
    """Check the actor out the same way; refused before a check-in or a second time."""
    require_authenticated(actor)
    if activity.state != Activity.State.OPEN:
        raise VolunteeringError.ACTIVITY_STATE()
    if not tokens.in_window(activity, now):
        raise VolunteeringError.OUTSIDE_WINDOW()
    method = _verify(activity, token, code, now)
    signup = _own_confirmed(actor, activity)
    if signup.checked_in_at is None:
        raise VolunteeringError.NOT_CHECKED_IN()
    if signup.checked_out_at is not None:
        raise VolunteeringError.ALREADY_CHECKED_OUT()
    SignUp.objects.filter(pk=signup.pk).update(checked_out_at=now, check_out_method=method)
    audit_record(
        actor=actor,
        action="volunteering.check_out",
        target=signup,
        place_path=activity.community.path,
        changes={"method": method},
        occurred_at=now,
    )
    signup.checked_out_at, signup.check_out_method = now, method
    return signup


@transaction.atomic
def attendance_mark(
    *,
    actor: Actor,
    signup: SignUp,
    checked_in_at: datetime | None,
    checked_out_at: datetime | None,
    now: datetime,
) -> SignUp:
    """The organiser ticks the roster: a confirmed volunteer's check-in and check-out times (inside the window)."""
    activity = signup.activity
    require_organiser(actor, activity)
    locked = lock_signup(signup.pk)
    if activity.state != Activity.State.OPEN or locked.state != SignUp.State.CONFIRMED:
        raise VolunteeringError.SIGNUP_STATE()
    errors: dict[str, str] = {}
    for name, moment in (("checked_in_at", checked_in_at), ("checked_out_at", checked_out_at)):
        if moment is not None and (not tokens.in_window(activity, moment) or moment > now):
            errors[name] = _("A time around the activity, not in the future.")
    if checked_out_at is not None and checked_in_at is None:
        errors["checked_out_at"] = _("Check in before checking out.")
    elif checked_out_at is not None and checked_in_at is not None and checked_out_at < checked_in_at:
        errors["checked_out_at"] = _("The check-out is before the check-in.")
    if errors:
        raise ValidationFailed(fields=errors)
    SignUp.objects.filter(pk=locked.pk).update(
        checked_in_at=checked_in_at,
        check_in_method=SignUp.Method.ROSTER if checked_in_at else "",
        checked_out_at=checked_out_at,
        check_out_method=SignUp.Method.ROSTER if checked_out_at else "",
    )
    audit_record(
        actor=actor,
        action="volunteering.attendance_mark",
        target=locked,
        place_path=activity.community.path,
        changes={
            "checked_in_at": [str(locked.checked_in_at or ""), str(checked_in_at or "")],
            "checked_out_at": [str(locked.checked_out_at or ""), str(checked_out_at or "")],
        },
        occurred_at=now,
    )
    locked.refresh_from_db()
    return locked


# ---------------------------------------------------------------- closing: hours and points


def attended_minutes(activity: Activity, signup: SignUp) -> int:
    """Minutes of the activity between the check-in and the check-out (0 without both)."""
    if signup.checked_in_at is None or signup.checked_out_at is None:
        return 0
    start = max(signup.checked_in_at, activity.starts_at)
    end = min(signup.checked_out_at, activity.ends_at)
    return max(0, int((end - start).total_seconds() // 60))


def credit_minutes_for(activity: Activity, signup: SignUp) -> int:
    """Credit minutes: the minutes attended when they reach the activity's share, else none."""
    minutes = attended_minutes(activity, signup)
    return minutes if minutes * 100 >= activity.attendance_share * activity.duration_minutes else 0


@dataclass
class CloseResult:
    activity: Activity
    attended: int
    no_shows: int
    claims: int
    refused: int


@transaction.atomic
def activity_close(
    *,
    actor: Actor,
    activity: Activity,
    beneficiary_person_times: int | None = None,
    beneficiary_households: int | None = None,
    now: datetime,
) -> CloseResult:
    """Close an activity after it has ended: hours from attendance, no-shows marked, one points claim per volunteer
    whose attendance counts (into the review queue), with who was served.

    Closing a closed activity again only retries the claims refused before; the idempotency key of each claim
    (``volunteering:attendance:<sign-up id>``) guarantees nothing is awarded twice.
    """
    require_organiser(actor, activity)
    community = activity.community
    locked = lock_activity(activity.pk)
    locked.community = community
    if locked.state == Activity.State.CANCELLED:
        raise VolunteeringError.ACTIVITY_STATE()
    if now < locked.ends_at:
        raise VolunteeringError.ACTIVITY_NOT_OVER()
    errors: dict[str, str] = {}
    for name, value in (
        ("beneficiary_person_times", beneficiary_person_times),
        ("beneficiary_households", beneficiary_households),
    ):
        if value is not None and not 0 <= value <= 1_000_000:
            errors[name] = _("A number from 0.")
    if errors:
        raise ValidationFailed(fields=errors)
    if locked.point_item_id and not may_record_claims(actor, community.path):
        raise VolunteeringError.CANNOT_RECORD_CLAIMS()
    first_close = locked.state == Activity.State.OPEN
    confirmed = list(SignUp.objects.filter(activity=locked, state=SignUp.State.CONFIRMED).order_by("pk"))
    attended = no_shows = 0
    if first_close:
        for signup in confirmed:
            minutes = credit_minutes_for(locked, signup)
            signup.credit_minutes = minutes
            signup.no_show = signup.checked_in_at is None
            attended += minutes > 0
            no_shows += signup.no_show
        SignUp.objects.bulk_update(confirmed, ["credit_minutes", "no_show"])
        # Whoever still waits when the activity is closed will not get a place.
        SignUp.objects.filter(activity=locked, state__in=[SignUp.State.WAITING, SignUp.State.OFFERED]).update(
            state=SignUp.State.EXPIRED, position=None
        )
        Activity.objects.filter(pk=locked.pk).update(
            state=Activity.State.CLOSED,
            closed_at=now,
            closed_by=actor,
            taken=SignUp.objects.filter(activity=locked, state=SignUp.State.CONFIRMED).count(),
            beneficiary_person_times=beneficiary_person_times or 0,
            beneficiary_households=beneficiary_households or 0,
        )
        ActivityChange.record(locked.pk, now)
    else:
        attended = sum(1 for signup in confirmed if signup.credit_minutes > 0)
        no_shows = sum(1 for signup in confirmed if signup.no_show)
        updates = {
            name: value
            for name, value in (
                ("beneficiary_person_times", beneficiary_person_times),
                ("beneficiary_households", beneficiary_households),
            )
            if value is not None
        }
        if updates:
            Activity.objects.filter(pk=locked.pk).update(**updates)
            ActivityChange.record(locked.pk, now)
    claims = refused = 0
    item = locked.point_item
    if item is not None:
        service_date = timezone.localdate(locked.starts_at)
        for signup in confirmed:
            if signup.credit_minutes <= 0 or signup.claim_id is not None:
                continue
            try:
                claim = claim_submit(
                    actor=actor,
                    account=saved_account(resident_account(signup.resident)),
                    item=item,
                    service_date=service_date,
                    description=locked.title,
                    source_type="volunteering.attendance",
                    source_id=str(signup.pk),
                    idempotency_key=f"volunteering:attendance:{signup.pk}",
                    now=now,
                )
            except DomainError as error:
                SignUp.objects.filter(pk=signup.pk).update(claim_refusal=error.code[:64])
                refused += 1
                continue
            SignUp.objects.filter(pk=signup.pk).update(claim=claim, claim_refusal="")
            claims += 1
    audit_record(
        actor=actor,
        action="volunteering.activity_close" if first_close else "volunteering.activity_close_again",
        target=locked,
        place_path=community.path,
        changes={"attended": attended, "no_shows": no_shows, "claims": claims, "refused": refused},
        occurred_at=now,
    )
    locked.refresh_from_db()
    return CloseResult(activity=locked, attended=attended, no_shows=no_shows, claims=claims, refused=refused)


@transaction.atomic
def honour_hours_add(
    *,
    actor: Actor,
    resident: Resident,
    minutes: int,
    served_on: date,
    reason: str,
    activity: Activity | None = None,
    now: datetime,
) -> HonourHours:
    """Add honour hours by hand for a resident of the actor's reach: kept apart from credit hours, with why."""
    require_authenticated(actor)
    household = resident.household
    if household is None or not may_manage(actor, household.path):
        raise NotFound()
    community = Place.objects.filter(pk__in=[*household.ancestor_ids], kind=PlaceKind.COMMUNITY).first()
    errors: dict[str, str] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = _("Say why these hours are added.")
    if not 1 <= int(minutes or 0) <= MAX_HONOUR_MINUTES:
        errors["minutes"] = _("Between 1 minute and 24 hours.")
    if served_on > timezone.localdate(now):
        errors["served_on"] = _("The date is in the future.")
    if activity is not None and activity.community_id != (community.pk if community else None):
        errors["activity"] = _("Choose an activity of the resident's community.")
    if community is None:
        errors["resident"] = _("The resident does not live in a community.")
    if errors:
        raise ValidationFailed(fields=errors)
    assert community is not None
    hours = HonourHours.objects.create(
        resident=resident,
        community=community,
        activity=activity,
        minutes=int(minutes),
        served_on=served_on,
        reason=reason[:255],
        added_by=actor,
        added_at=now,
    )
    audit_record(
        actor=actor,
        action="volunteering.honour_hours_add",
        target=hours,
        place_path=household.path,
        changes={"minutes": hours.minutes, "reason": hours.reason},
        occurred_at=now,
    )
    return hours
