"""Two-factor login for staff: an authenticator app's six-digit codes (TOTP, RFC 6238) and one-time recovery codes.

- ``two_factor_begin`` makes a new secret (shown as a QR code and as text); ``two_factor_confirm`` turns it on once
  the person types a code back, and hands out ten recovery codes, shown once (only their digests are kept).
- ``two_factor_check`` is the second step of a login (the login page and ``POST /api/v1/auth/token``): a code of
  the current time step or one step either side, never one already used (``last_step`` moves forward with a
  conditional update, so two logins racing with the same code cannot both pass), or an unused recovery code. A
  wrong code counts as a failed login for the lockout.
- ``two_factor_disable`` asks for the password again, and is refused where two-factor login is mandatory: for
  superusers and administrators (``GONGZHI_TWO_FACTOR_ROLES``) when ``GONGZHI_TWO_FACTOR_MANDATORY`` is on, which
  is the default; ``TwoFactorEnrolmentMiddleware`` sends such a person to set it up before any other page.
Every change and every check is audited.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.shortcuts import redirect

from gongzhi.core.access import require_authenticated, roles_of
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.crypto import decrypt_text, encrypt_text
from gongzhi.core.errors import PermissionDenied
from gongzhi.core.roles import STAFF_ROLES

from .errors import PeopleError
from .models import Account, RecoveryCode, TwoFactorDevice
from .services import account_is_locked, count_failed_login, locked_error

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1  # a phone's clock may be one step (30 s) off either way
RECOVERY_CODE_COUNT = 10
ISSUER = "gongzhi"


# ---------------------------------------------------------------- TOTP (RFC 6238 over HOTP, RFC 4226)


def time_step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def totp_code(secret: bytes, step: int) -> str:
    """The six-digit code of a secret at a time step (HMAC-SHA1, dynamic truncation)."""
    digest = hmac.new(secret, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 10**DIGITS:0{DIGITS}d}"


def _secret_of(device: TwoFactorDevice) -> bytes:
    return base64.b32decode(decrypt_text(device.secret_ciphertext))


def _matching_step(secret: bytes, code: str, now: datetime) -> int | None:
    current = time_step(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp_code(secret, step), code):
            return step
    return None


def _normalised(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def _recovery_digest(code: str) -> str:
    return hashlib.sha256(_normalised(code).encode()).hexdigest()


# ---------------------------------------------------------------- who must, who may


def two_factor_on(account: Any) -> bool:
    return TwoFactorDevice.objects.filter(account_id=account.pk, confirmed_at__isnull=False).exists()


def two_factor_required_for(account: Any) -> bool:
    """Whether this person must use two-factor login (mandatory for administrators when switched on)."""
    if not getattr(settings, "GONGZHI_TWO_FACTOR_MANDATORY", True):
        return False
    if getattr(account, "is_superuser", False):
        return True
    required = set(getattr(settings, "GONGZHI_TWO_FACTOR_ROLES", ()))
    return bool(roles_of(account) & required)


def _require_staff(actor: Actor) -> None:
    require_authenticated(actor)
    if not (actor.is_superuser or roles_of(actor) & STAFF_ROLES):
        raise PermissionDenied()


# ---------------------------------------------------------------- setting up and turning off


@dataclass(frozen=True)
class Enrolment:
    secret: str  # base32, as typed into an app by hand
    uri: str  # otpauth://, as encoded in the QR code


def two_factor_begin(*, actor: Actor, now: datetime) -> Enrolment:
    """A new secret for the actor's authenticator app (replacing one not yet confirmed)."""
    _require_staff(actor)
    if two_factor_on(actor):
        raise PeopleError.TWO_FACTOR_ALREADY_ON()
    secret = base64.b32encode(secrets.token_bytes(20)).decode()
    with transaction.atomic():
        TwoFactorDevice.objects.update_or_create(
            account=actor,
            defaults={"secret_ciphertext": encrypt_text(secret), "confirmed_at": None, "last_step": 0},
        )
        audit_record(actor=actor, action="auth.two_factor_begin", target=actor, occurred_at=now)
    label = quote(f"{ISSUER}:{actor.username}")
    uri = f"otpauth://totp/{label}?secret={secret}&issuer={ISSUER}&digits={DIGITS}&period={STEP_SECONDS}"
    return Enrolment(secret=secret, uri=uri)


def two_factor_pending_secret(actor: Actor) -> Enrolment | None:
    """The secret being set up, to show the QR code again after a wrong code."""
    device = TwoFactorDevice.objects.filter(account_id=actor.pk, confirmed_at__isnull=True).first()
    if device is None:
        return None
    secret = decrypt_text(device.secret_ciphertext)
    label = quote(f"{ISSUER}:{actor.username}")
    return Enrolment(
        secret=secret,
        uri=f"otpauth://totp/{label}?secret={secret}&issuer={ISSUER}&digits={DIGITS}&period={STEP_SECONDS}",
    )


def _new_recovery_codes(account: Account) -> list[str]:
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.filter(account=account).delete()
    RecoveryCode.objects.bulk_create([RecoveryCode(account=account, digest=_recovery_digest(code)) for code in codes])
    return codes


def two_factor_confirm(*, actor: Actor, code: str, now: datetime) -> list[str]:
    """Turn two-factor login on with the first code from the app; returns the recovery codes (shown once)."""
    _require_staff(actor)
    device = TwoFactorDevice.objects.filter(account_id=actor.pk).first()
    if device is None:
        raise PeopleError.TWO_FACTOR_NOT_STARTED()
    if device.confirmed_at is not None:
        raise PeopleError.TWO_FACTOR_ALREADY_ON()
    step = _matching_step(_secret_of(device), _normalised(code), now)
    if step is None:
        raise PeopleError.WRONG_TWO_FACTOR_CODE(fields={"code": PeopleError.WRONG_TWO_FACTOR_CODE.message})
    with transaction.atomic():
        turned_on = TwoFactorDevice.objects.filter(pk=device.pk, confirmed_at__isnull=True).update(
            confirmed_at=now, last_step=step
        )
        if not turned_on:
            raise PeopleError.TWO_FACTOR_ALREADY_ON()
        codes = _new_recovery_codes(actor)
        audit_record(actor=actor, action="auth.two_factor_on", target=actor, occurred_at=now)
    return codes


def two_factor_disable(*, actor: Actor, password: str, now: datetime) -> None:
    """Turn two-factor login off after the password is given again; refused where it is mandatory."""
    _require_staff(actor)
    if two_factor_required_for(actor):
        raise PeopleError.TWO_FACTOR_MANDATORY()
    if not actor.check_password(password or ""):
        count_failed_login(actor, now=now)
        audit_record(actor=actor, action="auth.two_factor_off_refused", target=actor, occurred_at=now)
        raise PeopleError.PASSWORD_CHECK_FAILED(fields={"password": PeopleError.PASSWORD_CHECK_FAILED.message})
    with transaction.atomic():
        TwoFactorDevice.objects.filter(account_id=actor.pk).delete()
        RecoveryCode.objects.filter(account_id=actor.pk).delete()
        audit_record(actor=actor, action="auth.two_factor_off", target=actor, occurred_at=now)


# ---------------------------------------------------------------- the second step of a login


def two_factor_check(*, account: Account, code: str, now: datetime) -> None:
    """Accept a current code (once) or an unused recovery code for ``account``; else count a failed login and
    raise ``wrong_two_factor_code`` (``locked`` once the lockout is reached)."""
    if account_is_locked(account, now=now):
        raise locked_error(account)
    normalised = _normalised(code)
    device = TwoFactorDevice.objects.filter(account_id=account.pk, confirmed_at__isnull=False).first()
    if device is None:
        return
    if normalised.isdigit() and len(normalised) == DIGITS:
        step = _matching_step(_secret_of(device), normalised, now)
        # Moving last_step forward is the claim on the code: a replay (or a racing login) finds it taken.
        if step is not None and TwoFactorDevice.objects.filter(pk=device.pk, last_step__lt=step).update(last_step=step):
            audit_record(actor=account, action="auth.two_factor_passed", target=account, occurred_at=now)
            return
    elif normalised:
        used = RecoveryCode.objects.filter(
            Q(used_at__isnull=True), account_id=account.pk, digest=_recovery_digest(normalised)
        ).update(used_at=now)
        if used:
            audit_record(actor=account, action="auth.recovery_code_used", target=account, occurred_at=now)
            return
    count_failed_login(account, now=now)
    audit_record(actor=None, actor_label=account.username, action="auth.two_factor_failed", target=account)
    account.refresh_from_db(fields=["locked_until"])
    if account_is_locked(account, now=now):
        raise locked_error(account)
    raise PeopleError.WRONG_TWO_FACTOR_CODE(fields={"code": PeopleError.WRONG_TWO_FACTOR_CODE.message})


def login_second_step(*, account: Account, code: str, now: datetime) -> None:
    """What a login without a page (the API's token) asks after the password: the code where two-factor login is
    on (``two_factor_required`` when missing); a person for whom it is mandatory must have set it up first."""
    if two_factor_on(account):
        if not _normalised(code):
            raise PeopleError.TWO_FACTOR_REQUIRED(fields={"code": PeopleError.TWO_FACTOR_REQUIRED.message})
        two_factor_check(account=account, code=code, now=now)
    elif two_factor_required_for(account):
        raise PeopleError.TWO_FACTOR_SETUP_REQUIRED()


def recovery_codes_left(account: Any) -> int:
    return RecoveryCode.objects.filter(account_id=account.pk, used_at__isnull=True).count()


# ---------------------------------------------------------------- mandatory set-up for administrators

_SEEN_ON_KEY = "gongzhi_two_factor_seen_on"
_EXEMPT_PREFIXES = ("/me/two-factor/", "/logout/", "/login/", "/static/", "/i18n/", "/healthz", "/api/")


class TwoFactorEnrolmentMiddleware:
    """Pages of a person for whom two-factor login is mandatory and not yet on lead to setting it up first.

    The API is not redirected: its token endpoint refuses such a person (``two_factor_setup_required``).
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        user = getattr(request, "user", None)
        if (
            getattr(settings, "GONGZHI_TWO_FACTOR_MANDATORY", True)
            and user is not None
            and user.is_authenticated
            and not request.path.startswith(_EXEMPT_PREFIXES)
            # Once seen on, the session remembers it: no query on every page of an administrator's day.
            and not request.session.get(_SEEN_ON_KEY)
            and two_factor_required_for(user)
        ):
            if not two_factor_on(user):
                return redirect("two_factor")
            request.session[_SEEN_ON_KEY] = True
        return self.get_response(request)
