"""One error shape everywhere: HTTP status + {"code", "message", "fields"}.

Services raise these; the API and pages turn them into responses in the user's language.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A refusal the user can act on. Nothing has been written when it is raised inside a service."""

    status = 400
    code = "invalid"
    default_message = _("The request could not be carried out.")

    def __init__(self, message: Any = None, *, code: str | None = None, fields: dict | None = None):
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        self.fields = fields or {}
        super().__init__(str(self.message))

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "message": str(self.message),
            "fields": {name: [str(item) for item in _as_list(value)] for name, value in self.fields.items()},
        }


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"
    default_message = _("Some fields are not valid.")


class NotFound(DomainError):
    """Missing, or out of the actor's reach: the two look the same on purpose."""

    status = 404
    code = "not_found"
    default_message = _("Not found.")


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"
    default_message = _("You do not have permission to do this.")


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"
    default_message = _("Please log in first.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = _("This conflicts with the current state.")


class Locked(DomainError):
    status = 423
    code = "locked"
    default_message = _("This account is locked for a while after repeated failed logins.")


class RateLimited(DomainError):
    """Too many attempts in a short time; ``retry_after`` says in how many seconds to try again."""

    status = 429
    code = "rate_limited"
    default_message = _("Too many attempts. Wait a moment and try again.")
    retry_after = 60


class ServerFault(DomainError):
    """Never raised by a service: the shape the API answers with when something unexpected broke (logged)."""

    status = 500
    code = "server_error"
    default_message = _("Something went wrong on our side. Please try again.")


class ErrorCode(Enum):
    """Base of each app's error catalogue (``gongzhi/<app>/errors.py``): one member per code the app can answer.

    A member's value is ``(code, kind, message)``: the stable code clients see, the ``DomainError`` class that gives
    its HTTP status, and the general message. Calling the member makes the error to raise, optionally with a more
    specific message or the fields at fault::

        class CasesError(ErrorCode):
            INVALID_TRANSITION = ("invalid_transition", Conflict, _("This cannot be done in the current state."))

        raise CasesError.INVALID_TRANSITION()
        raise CasesError.INVALID_TRANSITION(_("This step is already done."), fields={"step": ...})

    docs/errors.md is generated from the catalogues (``gongzhi errors_doc``) and a test keeps it current.
    """

    def __init__(self, code: str, kind: type[DomainError], message: Any) -> None:
        self.code = code
        self.kind = kind
        self.message = message

    def __call__(self, message: Any = None, *, fields: dict | None = None) -> DomainError:
        return self.kind(message if message is not None else self.message, code=self.code, fields=fields)

    @property
    def status(self) -> int:
        return self.kind.status


class CoreError(ErrorCode):
    """Codes any part of the platform may answer: the kinds' own codes, and the API's and pages' own refusals."""

    INVALID = ("invalid", DomainError, DomainError.default_message)
    VALIDATION_FAILED = ("validation_failed", ValidationFailed, ValidationFailed.default_message)
    NOT_FOUND = ("not_found", NotFound, NotFound.default_message)
    PERMISSION_DENIED = ("permission_denied", PermissionDenied, PermissionDenied.default_message)
    NOT_AUTHENTICATED = ("not_authenticated", NotAuthenticated, NotAuthenticated.default_message)
    CONFLICT = ("conflict", Conflict, Conflict.default_message)
    LOCKED = ("locked", Locked, Locked.default_message)
    UPLOAD_REFUSED = ("upload_refused", ValidationFailed, _("This file cannot be accepted."))
    MALFORMED_REQUEST = ("malformed_request", DomainError, _("The request body could not be read. Send JSON."))
    HTTP_ERROR = ("http_error", DomainError, _("The request could not be carried out."))
    SERVER_ERROR = ("server_error", ServerFault, ServerFault.default_message)
    RATE_LIMITED = ("rate_limited", RateLimited, RateLimited.default_message)
