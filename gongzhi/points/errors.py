"""Every code the red points answer with, and its general message (docs/errors.md lists them).

Raise a member, with a more specific message or the fields at fault where it helps::

    raise PointsError.CLAIM_NOT_PENDING()
    raise PointsError.DUPLICATE_CLAIM(fields={"service_date": _("One claim per item and day.")})

Missing or out-of-reach objects answer ``CoreError.NOT_FOUND`` and bad input ``CoreError.VALIDATION_FAILED`` (with
the fields), as everywhere.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from gongzhi.core.errors import Conflict, DomainError, ErrorCode, PermissionDenied, ValidationFailed


class InsufficientPoints(DomainError):
    """A posting would take a holder's balance below zero (the ledger's check constraint backs it)."""

    status = 409
    default_message = _("There are not enough points for this.")


class PointsError(ErrorCode):
    # The ledger.
    INSUFFICIENT_POINTS = ("insufficient_points", InsufficientPoints, _("There are not enough points for this."))
    IDEMPOTENCY_CONFLICT = (
        "idempotency_conflict",
        Conflict,
        _("This idempotency key was already used for a different posting."),
    )
    ALREADY_REVERSED = ("already_reversed", Conflict, _("This transfer has already been reversed."))
    REVERSAL_OF_REVERSAL = (
        "reversal_of_reversal",
        Conflict,
        _("A reversal cannot itself be reversed; post a new transfer."),
    )
    # The catalogue.
    DUPLICATE_CODE = ("duplicate_code", ValidationFailed, _("This code is already used."))
    VERSION_EXISTS = ("version_exists", Conflict, _("A value already starts on that day."))
    ITEM_NOT_IN_FORCE = ("item_not_in_force", ValidationFailed, _("This item has no value on that day."))
    # Claims.
    ITEM_UNAVAILABLE = ("item_unavailable", ValidationFailed, _("This item is not available in this community."))
    ACCOUNT_KIND_NOT_ALLOWED = (
        "account_kind_not_allowed",
        ValidationFailed,
        _("This kind of account cannot earn this item."),
    )
    SERVICE_DATE_FUTURE = ("service_date_future", ValidationFailed, _("The service date cannot be in the future."))
    EVIDENCE_REQUIRED = ("evidence_required", ValidationFailed, _("This item needs a photo as evidence."))
    DUPLICATE_CLAIM = ("duplicate_claim", Conflict, _("This service has already been claimed for that day."))
    CAP_PER_DAY_EXCEEDED = ("cap_per_day_exceeded", ValidationFailed, _("The daily limit for this item is reached."))
    CAP_PER_MONTH_EXCEEDED = (
        "cap_per_month_exceeded",
        ValidationFailed,
        _("The monthly limit for this item is reached."),
    )
    MONTH_CLOSED = ("month_closed", Conflict, _("That month's points have already been published."))
    # Review.
    OWN_CLAIM = ("own_claim", PermissionDenied, _("Nobody reviews their own claim."))
    CLAIM_NOT_PENDING = ("claim_not_pending", Conflict, _("This claim is no longer waiting for review."))
    SECOND_REVIEWER_REQUIRED = (
        "second_reviewer_required",
        Conflict,
        _("This item needs a second reviewer other than the first."),
    )
    CLAIM_NOT_RETURNED = (
        "claim_not_returned",
        Conflict,
        _("Only a claim returned for more information can be resubmitted."),
    )
    CLAIM_NOT_APPROVED = ("claim_not_approved", Conflict, _("Only an approved claim can be reversed."))
    # Adjustments.
    ADJUSTMENT_DECIDED = ("adjustment_decided", Conflict, _("This adjustment has already been decided."))
    SECOND_PERSON_REQUIRED = (
        "second_person_required",
        PermissionDenied,
        _("A second person must decide an adjustment."),
    )
    # The monthly publication and objections.
    NOT_A_COMMUNITY = ("not_a_community", ValidationFailed, _("Choose a community."))
    MONTH_NOT_OVER = ("month_not_over", Conflict, _("The month is not over yet."))
    ALREADY_PUBLISHED = ("already_published", Conflict, _("This month has already been published."))
    ALREADY_LOCKED = ("already_locked", Conflict, _("This month is already locked."))
    NOT_PUBLISHED = ("not_published", Conflict, _("This month has not been published."))
    WINDOW_OPEN = ("window_open", Conflict, _("The objection window is still open."))
    OBJECTIONS_OPEN = ("objections_open", Conflict, _("Objections are still open: decide them first."))
    NOT_A_RESIDENT = (
        "not_a_resident",
        PermissionDenied,
        _("Only residents of this community can raise an objection."),
    )
    WINDOW_CLOSED = ("window_closed", Conflict, _("The objection window is closed."))
    OBJECTION_NOT_OPEN = ("objection_not_open", Conflict, _("This objection has already been decided."))
    CLAIM_REQUIRED = ("claim_required", ValidationFailed, _("Name the claim to reverse."))
    # The annual selection.
    ALREADY_CONFIRMED = ("already_confirmed", Conflict, _("This selection has already been confirmed."))
    NOT_DRAFT = ("not_draft", Conflict, _("Only a proposed selection can be confirmed."))
    NOT_A_CANDIDATE = ("not_a_candidate", ValidationFailed, _("Only candidates can be selected."))
    TOO_MANY_SELECTED = ("too_many_selected", ValidationFailed, _("More people are chosen than there are places."))
    NOT_CONFIRMED = ("not_confirmed", Conflict, _("Only a confirmed selection can be published."))


# A bare ``InsufficientPoints()`` (as ``except``/``raise`` sites have always written it) answers the same code.
InsufficientPoints.code = PointsError.INSUFFICIENT_POINTS.code
