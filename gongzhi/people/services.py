"""Every state change of people and accounts: login, tokens, roles, residents (party members: ``party.py``).

Each function takes the acting account, checks reach, writes in one transaction and records the audit log.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import forget_grants, require_reach
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record, diff_fields
from gongzhi.core.crypto import blind_index, decrypt_text, encrypt_text
from gongzhi.core.errors import Locked, NotFound, ValidationFailed
from gongzhi.core.masking import mask_id_card, mask_phone
from gongzhi.core.roles import ROLE_RANK, Permission, Role
from gongzhi.places.models import Place, PlaceKind

from .errors import PeopleError
from .models import (
    Account,
    ApiToken,
    Gender,
    Organisation,
    Relation,
    Resident,
    ResidentTag,
    ResidentTagCode,
    RoleAssignment,
)

# ---------------------------------------------------------------- login and lockout


def account_is_locked(account: Any, *, now: datetime | None = None) -> bool:
    locked_until = getattr(account, "locked_until", None)
    return bool(locked_until and locked_until > (now or timezone.now()))


def locked_error(account: Account) -> Locked:
    """The refusal for a locked account, saying until when."""
    return Locked(
        _("Too many failed logins. Try again after %(time)s.")
        % {"time": timezone.localtime(account.locked_until).strftime("%H:%M")}
    )


def login_attempt(*, username: str, password: str, request: Any = None, now: datetime | None = None) -> Account:
    """Check a username and password. Returns the account, or raises InvalidCredentials / Locked.

    Failures inside the window are counted with F() updates (no lost increments under concurrent attempts);
    reaching the limit locks the account. A success resets the count. Every outcome is audited.
    """
    now = now or timezone.now()
    username = (username or "").strip()
    account = Account.objects.filter(username=username).first()
    if account is not None and account_is_locked(account, now=now):
        audit_record(actor=None, actor_label=username, action="auth.login_locked", target=account)
        raise locked_error(account)
    user = authenticate(request, username=username, password=password) if username and password else None
    if user is not None:
        Account.objects.filter(pk=user.pk).update(failed_login_count=0, first_failed_login_at=None, locked_until=None)
        user.failed_login_count, user.locked_until = 0, None
        audit_record(actor=user, action="auth.login", target=user)
        return user
    if account is not None:
        count_failed_login(account, now=now)
    audit_record(actor=None, actor_label=username[:150], action="auth.login_failed", target=account)
    account_locked = account is not None and account_is_locked(Account.objects.get(pk=account.pk), now=now)
    if account_locked:
        raise Locked(
            _("Too many failed logins. This account is locked for %(minutes)d minutes.")
            % {"minutes": settings.GONGZHI_LOGIN_LOCK_MINUTES}
        )
    raise PeopleError.INVALID_CREDENTIALS()


def count_failed_login(account: Account, *, now: datetime) -> None:
    """Count one failed login (a wrong password or a wrong second-factor code); lock at the limit."""
    window_start = now - timedelta(minutes=settings.GONGZHI_LOGIN_FAILURE_WINDOW_MINUTES)
    with transaction.atomic():
        # A failure after the window has passed starts a new count.
        Account.objects.filter(pk=account.pk).filter(
            Q(first_failed_login_at__isnull=True) | Q(first_failed_login_at__lt=window_start)
        ).update(failed_login_count=0, first_failed_login_at=now)
        Account.objects.filter(pk=account.pk).update(failed_login_count=F("failed_login_count") + 1)
        locked = Account.objects.filter(
            pk=account.pk, failed_login_count__gte=settings.GONGZHI_LOGIN_MAX_FAILURES
        ).update(
            locked_until=now + timedelta(minutes=settings.GONGZHI_LOGIN_LOCK_MINUTES),
            failed_login_count=0,
            first_failed_login_at=None,
        )
        if locked:
            audit_record(actor=None, actor_label=account.username, action="auth.locked", target=account)


def account_unlock(*, actor: Actor, account: Account) -> None:
    """Lift a lockout early (an admin who has confirmed the person)."""
    if not actor.is_superuser:
        _require_manages_account(actor, account)
    with transaction.atomic():
        Account.objects.filter(pk=account.pk).update(
            locked_until=None, failed_login_count=0, first_failed_login_at=None
        )
        audit_record(actor=actor, action="auth.unlock", target=account)


# ---------------------------------------------------------------- API tokens

TOKEN_PREFIX = "gz_"


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_issue(*, account: Account, now: datetime | None = None) -> str:
    """Create a bearer token for ``account`` and return it; only its digest is kept."""
    now = now or timezone.now()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiToken.objects.create(
            account=account,
            digest=_token_digest(token),
            prefix=token[:8],
            expires_at=now + timedelta(days=settings.GONGZHI_API_TOKEN_DAYS),
            created_at=now,
        )
        audit_record(actor=account, action="auth.token_issued", target=account, occurred_at=now)
    return token


def api_token_authenticate(token: str, *, now: datetime | None = None) -> Account | None:
    """The active account behind a live token, or None."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    now = now or timezone.now()
    record = (
        ApiToken.objects.select_related("account")
        .filter(digest=_token_digest(token), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if record is None or not record.account.is_active or account_is_locked(record.account, now=now):
        return None
    # Touch at most once a minute so reads do not turn into writes on every request.
    if record.last_used_at is None or record.last_used_at < now - timedelta(minutes=1):
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
    return record.account


def api_token_revoke(*, account: Account, token: str, now: datetime | None = None) -> None:
    now = now or timezone.now()
    with transaction.atomic():
        ApiToken.objects.filter(account=account, digest=_token_digest(token), revoked_at__isnull=True).update(
            revoked_at=now
        )
        audit_record(actor=account, action="auth.token_revoked", target=account, occurred_at=now)


# ---------------------------------------------------------------- preferences


def account_set_preferences(*, actor: Account, language: str | None = None, elder_mode: bool | None = None) -> Account:
    """Language and elder-friendly mode stay with the account across devices."""
    changes: dict[str, Any] = {}
    if language is not None:
        if language not in {code for code, _label in settings.LANGUAGES}:
            raise ValidationFailed(fields={"language": _("Unknown language.")})
        changes["preferred_language"] = language
    if elder_mode is not None:
        changes["elder_mode"] = bool(elder_mode)
    if changes:
        with transaction.atomic():
            before = {name: getattr(actor, name) for name in changes}
            Account.objects.filter(pk=actor.pk).update(**changes)
            for name, value in changes.items():
                setattr(actor, name, value)
            audit_record(actor=actor, action="account.preferences", target=actor, changes=diff_fields(before, changes))
    return actor


# ---------------------------------------------------------------- roles


def _require_manages_account(actor: Actor, account: Account) -> None:
    paths = list(account.role_assignments.values_list("place__path", flat=True))
    if not paths:
        raise NotFound()
    for path in paths:
        require_reach(actor, Permission.ROLE_ASSIGN, path)


def role_assign_check(
    *, actor: Actor, account: Account, role: str, place: Place, organisation: Organisation | None = None
) -> None:
    """Raise what role_assign would refuse, without writing (forms call it to show the reason on the field)."""
    if role not in Role.values:
        raise ValidationFailed(fields={"role": _("Unknown role.")})
    require_reach(actor, Permission.ROLE_ASSIGN, place.path)
    if role in ROLE_RANK and not actor.is_superuser:
        from gongzhi.core.access import roles_of

        actor_rank = min((ROLE_RANK[item] for item in roles_of(actor) if item in ROLE_RANK), default=99)
        if ROLE_RANK[role] <= actor_rank:
            raise PeopleError.ROLE_TOO_HIGH(fields={"role": _("Ask the level above you.")})
    if role == Role.RESIDENT and place.kind != PlaceKind.HOUSEHOLD:
        raise ValidationFailed(fields={"place": _("A resident's role is held on their household.")})
    if role in {Role.MERCHANT_CLERK, Role.ORGANISATION_REPRESENTATIVE} and organisation is None:
        raise ValidationFailed(fields={"organisation": _("Choose the organisation.")})
    if RoleAssignment.objects.filter(account=account, role=role, place=place, ends_on__isnull=True).exists():
        raise PeopleError.DUPLICATE_ROLE()


@transaction.atomic
def role_assign(
    *,
    actor: Actor,
    account: Account,
    role: str,
    place: Place,
    organisation: Organisation | None = None,
    starts_on: date | None = None,
    now: datetime | None = None,
) -> RoleAssignment:
    """Give ``account`` a role on ``place``. The actor must be able to assign roles over ``place``, and may not
    grant a management role ranked at or above their own."""
    now = now or timezone.now()
    role_assign_check(actor=actor, account=account, role=role, place=place, organisation=organisation)
    try:
        with transaction.atomic():
            assignment = RoleAssignment.objects.create(
                account=account,
                role=role,
                place=place,
                organisation=organisation,
                starts_on=starts_on or timezone.localdate(now),
                granted_by=actor if actor.is_authenticated else None,
                created_at=now,
            )
    except IntegrityError:
        # Two managers granting the same role at once: the unique constraint lets one through.
        raise PeopleError.DUPLICATE_ROLE() from None
    audit_record(
        actor=actor,
        action="role.assign",
        target=assignment,
        place_path=place.path,
        changes={"account": [None, account.username], "role": [None, role], "place": [None, place.pk]},
        occurred_at=now,
    )
    forget_grants(account)
    return assignment


@transaction.atomic
def role_end(
    *, actor: Actor, assignment: RoleAssignment, ends_on: date | None = None, now: datetime | None = None
) -> RoleAssignment:
    """End a role (kept for history, never deleted)."""
    now = now or timezone.now()
    require_reach(actor, Permission.ROLE_ASSIGN, assignment.place.path)
    ends_on = ends_on or timezone.localdate(now)
    if ends_on < assignment.starts_on:
        raise ValidationFailed(fields={"ends_on": _("The end date is before the start date.")})
    RoleAssignment.objects.filter(pk=assignment.pk).update(ends_on=ends_on)
    assignment.ends_on = ends_on
    audit_record(
        actor=actor,
        action="role.end",
        target=assignment,
        place_path=assignment.place.path,
        changes={"ends_on": [None, ends_on.isoformat()]},
        occurred_at=now,
    )
    forget_grants(assignment.account)
    return assignment


# ---------------------------------------------------------------- residents

ID_CARD_PATTERN = re.compile(r"^\d{17}[\dX]$")
PHONE_PATTERN = re.compile(r"^1\d{10}$|^0\d{2,3}-?\d{7,8}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_card_is_valid(number: str) -> bool:
    """An 18-character mainland ID card number with a correct check character and a real birth date."""
    if not ID_CARD_PATTERN.match(number):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != number[17]:
        return False
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return True


def id_card_check_character(first17: str) -> str:
    return _ID_CHECK[sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


@dataclass
class ResidentInput:
    name: str
    household: Place | None = None
    gender: str = ""
    birth_date: date | None = None
    phone: str = ""
    id_card_number: str = ""
    relation: str = ""
    tags: tuple[str, ...] = ()


def resident_clean(data: ResidentInput, *, now: datetime | None = None) -> dict[str, Any]:
    """Validate one resident's fields; raise ValidationFailed with every bad field at once."""
    errors: dict[str, str] = {}
    name = (data.name or "").strip()
    if not name:
        errors["name"] = _("Enter the name.")
    elif len(name) > 50:
        errors["name"] = _("The name is too long.")
    if data.gender and data.gender not in Gender.values:
        errors["gender"] = _("Choose male or female.")
    if data.relation and data.relation not in Relation.values:
        errors["relation"] = _("Unknown relation to the householder.")
    phone = (data.phone or "").strip().replace(" ", "")
    if phone and not PHONE_PATTERN.match(phone):
        errors["phone"] = _("Enter an 11-digit mobile number or a landline with area code.")
    number = (data.id_card_number or "").strip().upper()
    if number and not id_card_is_valid(number):
        errors["id_card_number"] = _("This is not a valid 18-digit ID card number.")
    if data.birth_date and data.birth_date > timezone.localdate(now or timezone.now()):
        errors["birth_date"] = _("The birth date is in the future.")
    if data.household is not None and data.household.kind != PlaceKind.HOUSEHOLD:
        errors["household"] = _("Choose a household.")
    unknown_tags = [tag for tag in data.tags if tag not in ResidentTagCode.values]
    if unknown_tags:
        errors["tags"] = _("Unknown tags: %(tags)s") % {"tags": ", ".join(unknown_tags)}
    if errors:
        raise ValidationFailed(fields=errors)
    birth_date = data.birth_date
    if number and birth_date is None:
        birth_date = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    gender = data.gender
    if number and not gender:
        gender = Gender.MALE if int(number[16]) % 2 else Gender.FEMALE
    cleaned: dict[str, Any] = {
        "name": name,
        "gender": gender,
        "birth_date": birth_date,
        "phone": phone,
        "relation": data.relation,
        "household": data.household,
    }
    if number:
        cleaned.update(
            id_card_ciphertext=encrypt_text(number),
            id_card_digest=blind_index(number),
            id_card_masked=mask_id_card(number),
        )
    return cleaned


@transaction.atomic
def resident_create(*, actor: Actor, data: ResidentInput, now: datetime | None = None) -> Resident:
    """Register a resident in a household the actor reaches for imports or management."""
    now = now or timezone.now()
    cleaned = resident_clean(data, now=now)
    if data.household is None:
        raise ValidationFailed(fields={"household": _("Choose a household.")})
    require_reach(actor, Permission.ROSTER_IMPORT, data.household.path)
    if cleaned.get("id_card_digest") and Resident.objects.filter(id_card_digest=cleaned["id_card_digest"]).exists():
        raise PeopleError.DUPLICATE_ID_CARD(fields={"id_card_number": _("Already registered.")})
    resident = Resident.objects.create(**cleaned, created_at=now)
    ResidentTag.objects.bulk_create([ResidentTag(resident=resident, code=tag) for tag in sorted(set(data.tags))])
    audit_record(
        actor=actor,
        action="resident.create",
        target=resident,
        place_path=data.household.path,
        changes={"name": [None, resident.name], "household": [None, data.household.pk]},
        occurred_at=now,
    )
    return resident


@dataclass(frozen=True)
class RevealedResident:
    id_card_number: str
    phone: str


REVEAL_PURPOSE_MIN_LENGTH = 4


def resident_reveal(*, actor: Actor, resident: Resident, purpose: str) -> RevealedResident:
    """Unmasked ID card number and phone, for an actor allowed to reveal, with a stated purpose; audited."""
    purpose = (purpose or "").strip()
    household = resident.household
    household_path = household.path if household is not None else ""
    require_reach(actor, Permission.RESIDENT_REVEAL, household_path or "\x00")
    if len(purpose) < REVEAL_PURPOSE_MIN_LENGTH:
        raise PeopleError.PURPOSE_REQUIRED(
            fields={"purpose": _("Write the purpose, for example the matter you are handling.")}
        )
    with transaction.atomic():
        audit_record(actor=actor, action="resident.reveal", target=resident, place_path=household_path, purpose=purpose)
    number = decrypt_text(resident.id_card_ciphertext) if resident.id_card_ciphertext else ""
    return RevealedResident(id_card_number=number, phone=resident.phone)


def resident_masked_phone(resident: Resident) -> str:
    return mask_phone(resident.phone)


# The party tree and memberships live in party.py; these names stay importable from here for older callers.
from .party import party_membership_set, party_organisation_create  # noqa: E402, F401
