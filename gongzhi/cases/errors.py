"""Every code the cases domain answers with, and its general message (docs/errors.md lists them).

Raise a member, with a more specific message or the fields at fault where it helps::

    raise CasesError.INVALID_TRANSITION()
    raise CasesError.INVALID_TRANSITION(_("This summons has already been answered."))

Missing or out-of-reach objects answer ``CoreError.NOT_FOUND`` and bad input ``CoreError.VALIDATION_FAILED`` (with
the fields), as everywhere.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from gongzhi.core.errors import Conflict, ErrorCode, PermissionDenied, ValidationFailed


class InvalidTransition(Conflict):
    """A step the state machine (of a case, a dispute, an agent service or a visit's opinion) forbids now."""


class HotlineFileRefused(ValidationFailed):
    """The file as a whole cannot be read as a hotline export (not .xlsx, missing columns, empty, too large)."""


class CasesError(ErrorCode):
    # Every state machine of the domain.
    INVALID_TRANSITION = (
        "invalid_transition",
        InvalidTransition,
        _("This cannot be done in the current state."),
    )
    # Cases.
    NOT_A_RESIDENT = (
        "not_a_resident",
        PermissionDenied,
        _("Only a registered resident can raise a request here."),
    )
    NOT_REPORTER = ("not_reporter", PermissionDenied, _("Only the resident who raised this request can do this."))
    ALREADY_SUMMONED = (
        "already_summoned",
        Conflict,
        _("This department has already been summoned and has not responded yet."),
    )
    # Agent services.
    STEPS_OPEN = ("steps_open", Conflict, _("Some steps are not done yet."))
    # Red points for a well-rated request.
    NOT_ELIGIBLE = ("not_eligible", Conflict, _("Points cannot be claimed for this request."))
    # The hotline import.
    HOTLINE_FILE_REFUSED = (
        "hotline_file_refused",
        HotlineFileRefused,
        _("This file cannot be read as a hotline export."),
    )
    IMPORT_CONFLICT = (
        "import_conflict",
        Conflict,
        _("Another import of the same work orders ran at the same time. Import the file again."),
    )
