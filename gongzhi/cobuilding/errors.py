"""Every code co-building answers with, and its general message (docs/errors.md lists them).

Missing or out-of-reach objects answer ``CoreError.NOT_FOUND`` and bad input ``CoreError.VALIDATION_FAILED`` (with
the fields), as everywhere.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from gongzhi.core.errors import Conflict, ErrorCode


class CobuildingError(ErrorCode):
    AGREEMENT_EXISTS = (
        "agreement_exists",
        Conflict,
        _("This organisation already has an agreement in force with this community; renew or end it instead."),
    )
    AGREEMENT_ENDED = ("agreement_ended", Conflict, _("This agreement has already ended."))
    NO_AGREEMENT = (
        "no_agreement",
        Conflict,
        _("This organisation has no co-building agreement in force with this community."),
    )
    ALREADY_CLAIMED = ("already_claimed", Conflict, _("Another organisation has already claimed this project."))
    NOT_CLAIMER = ("not_claimer", Conflict, _("Only the organisation that claimed this project can do this."))
    PROJECT_STATE = ("project_state", Conflict, _("This cannot be done to the project in its current state."))
    ALREADY_RATED = ("already_rated", Conflict, _("You have already rated this project."))
    FUND_EXCEEDED = ("fund_exceeded", Conflict, _("The fund does not have this much left this year."))
    SPENDING_NOT_APPROVED = (
        "spending_not_approved",
        Conflict,
        _("This spending has not been approved; it cannot be paid."),
    )
    SPENDING_STATE = ("spending_state", Conflict, _("This spending has already been decided."))
    SCORE_EXISTS = (
        "score_exists",
        Conflict,
        _("This party has already scored this compound for this quarter."),
    )
    SCORES_MISSING = (
        "scores_missing",
        Conflict,
        _("All three parties must score the quarter before it is published."),
    )
    ALREADY_PUBLISHED = ("already_published", Conflict, _("This quarter is already published."))
    MATTER_SOLVED = ("matter_solved", Conflict, _("This matter is already solved."))
    COMMITMENT_DECIDED = ("commitment_decided", Conflict, _("This commitment has already been marked."))
    ALREADY_REPORTED = ("already_reported", Conflict, _("This year has already been reported back."))
    MATCH_DECIDED = ("match_decided", Conflict, _("This suggestion has already been answered."))
