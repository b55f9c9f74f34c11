"""One error shape everywhere: HTTP status + {"code", "message", "fields"}.

Services raise these; the API and pages turn them into responses in the user's language.
"""

from __future__ import annotations

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
