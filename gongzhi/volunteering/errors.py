"""Every code volunteering answers with, and its general message (docs/errors.md lists them).

Missing or out-of-reach objects answer ``CoreError.NOT_FOUND`` and bad input ``CoreError.VALIDATION_FAILED`` (with
the fields), as everywhere.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from gongzhi.core.errors import Conflict, ErrorCode, PermissionDenied, ValidationFailed


class VolunteeringError(ErrorCode):
    ACTIVITY_FULL = ("activity_full", Conflict, _("This activity is full."))
    SIGNUP_CLOSED = ("signup_closed", Conflict, _("Sign-up for this activity has closed."))
    NOT_ELIGIBLE = ("not_eligible", Conflict, _("This activity is open only to some volunteers."))
    ALREADY_SIGNED_UP = ("already_signed_up", Conflict, _("You have signed up for this activity already."))
    NOT_SIGNED_UP = ("not_signed_up", Conflict, _("You have no place in this activity."))
    SIGNUP_STATE = ("signup_state", Conflict, _("This sign-up cannot be changed this way now."))
    NOT_A_RESIDENT = ("not_a_resident", PermissionDenied, _("Only a registered resident can do this."))
    OUTSIDE_WINDOW = (
        "outside_window",
        Conflict,
        _("Check-in and check-out work only around the time of the activity."),
    )
    TOKEN_INVALID = ("token_invalid", ValidationFailed, _("This code is not valid. Scan the code on the screen again."))
    TOKEN_STALE = ("token_stale", ValidationFailed, _("This code has expired. Scan the code on the screen again."))
    TOKEN_OTHER_ACTIVITY = ("token_other_activity", ValidationFailed, _("This code belongs to another activity."))
    ALREADY_CHECKED_IN = ("already_checked_in", Conflict, _("You have checked in already."))
    NOT_CHECKED_IN = ("not_checked_in", Conflict, _("Check in before checking out."))
    ALREADY_CHECKED_OUT = ("already_checked_out", Conflict, _("You have checked out already."))
    ACTIVITY_STATE = ("activity_state", Conflict, _("This activity cannot be changed this way in its state."))
    ACTIVITY_NOT_OVER = ("activity_not_over", Conflict, _("The activity can be closed only after it has ended."))
    CANNOT_RECORD_CLAIMS = (
        "cannot_record_claims",
        PermissionDenied,
        _("Closing turns attendance into points claims; you may not record claims for these residents."),
    )
    TEAM_STATE = ("team_state", Conflict, _("This team membership cannot be changed this way now."))
    ALREADY_IN_TEAM = ("already_in_team", Conflict, _("This resident is in the team already (or has asked)."))
    NOT_IN_SERVICE = (
        "not_in_service",
        Conflict,
        _("Only in-service party members register with their home community."),
    )
    ALREADY_REGISTERED = ("already_registered", Conflict, _("This party member is registered already."))
    REGISTRATION_STATE = ("registration_state", Conflict, _("This registration cannot be changed this way now."))
    NOT_EMPLOYER_REPRESENTATIVE = (
        "not_employer_representative",
        PermissionDenied,
        _("Only a representative of the member's employer can confirm this registration."),
    )
    POST_FULL = ("post_full", Conflict, _("This post has all the people it needs."))
    POST_CLAIMED = ("post_claimed", Conflict, _("You hold this post already."))
    WISH_PERSONAL_DATA = (
        "wish_personal_data",
        ValidationFailed,
        _("The wish's public text may not contain an ID card number or a phone number."),
    )
    WISH_ALREADY_CLAIMED = ("wish_already_claimed", Conflict, _("This wish has been claimed already."))
    WISH_STATE = ("wish_state", Conflict, _("This wish cannot be changed this way in its state."))
    WISH_NOT_YOURS = (
        "wish_not_yours",
        PermissionDenied,
        _("Only the person the wish is for (or their worker) can do this."),
    )
    NOT_CLAIMER = ("wish_not_claimer", PermissionDenied, _("Only whoever claimed this wish can do this."))
