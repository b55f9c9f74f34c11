"""The people app's error codes: every refusal its services, pages and API answer with, beside the core kinds'.

Raise a member (``raise PeopleError.DUPLICATE_ROLE()``), with a more specific message or the fields at fault when
there is one. ``docs/errors.md`` lists them.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from gongzhi.core.errors import Conflict, DomainError, ErrorCode, PermissionDenied, ValidationFailed


class InvalidCredentials(DomainError):
    """A wrong username or password (the same answer for an unknown username)."""

    status = 401


class RosterFileRefused(ValidationFailed):
    """The file as a whole cannot be read as a roster (wrong type, missing columns, empty, too large)."""


class PeopleError(ErrorCode):
    INVALID_CREDENTIALS = (
        "invalid_credentials",
        InvalidCredentials,
        _("The username or password is not correct."),
    )
    ROLE_TOO_HIGH = ("role_too_high", ValidationFailed, _("You cannot grant a role as high as your own."))
    DUPLICATE_ROLE = ("duplicate_role", ValidationFailed, _("This person already holds this role here."))
    DUPLICATE_ID_CARD = (
        "duplicate_id_card",
        ValidationFailed,
        _("A resident with this ID card number is already registered."),
    )
    PURPOSE_REQUIRED = ("purpose_required", ValidationFailed, _("State why you need to see the full data."))
    ROSTER_FILE_REFUSED = ("roster_file_refused", RosterFileRefused, _("This file cannot be read as a roster."))
    ALREADY_PARTY_MEMBER = (
        "already_party_member",
        Conflict,
        _("This resident is already registered as a party member. Change the membership instead."),
    )
    PARTY_MEMBERSHIP_ENDED = (
        "party_membership_ended",
        Conflict,
        _("This party membership has ended. Register the resident as a party member again instead."),
    )
    TWO_FACTOR_REQUIRED = (
        "two_factor_required",
        InvalidCredentials,
        _("Enter the six-digit code from your authenticator app (or a recovery code)."),
    )
    WRONG_TWO_FACTOR_CODE = (
        "wrong_two_factor_code",
        InvalidCredentials,
        _("The code is not correct or has expired. Enter the code your app shows now."),
    )
    TWO_FACTOR_ALREADY_ON = ("two_factor_already_on", Conflict, _("Two-factor login is already on for this account."))
    TWO_FACTOR_NOT_STARTED = (
        "two_factor_not_started",
        Conflict,
        _("Start setting up two-factor login first: scan the new code, then enter the six digits."),
    )
    TWO_FACTOR_MANDATORY = (
        "two_factor_mandatory",
        Conflict,
        _("Two-factor login is required for administrators and cannot be turned off."),
    )
    PASSWORD_CHECK_FAILED = (
        "password_check_failed",
        InvalidCredentials,
        _("The password is not correct. Enter your password again to turn two-factor login off."),
    )
    TWO_FACTOR_SETUP_REQUIRED = (
        "two_factor_setup_required",
        PermissionDenied,
        _("Administrators must turn on two-factor login first: log in on the web and follow the steps."),
    )
    ALREADY_ANONYMISED = (
        "already_anonymised",
        Conflict,
        _("This person has already been anonymised; nothing is left to remove."),
    )
    REASON_REQUIRED = (
        "reason_required",
        ValidationFailed,
        _("Write why this person's data is being removed, for example that they moved away."),
    )
