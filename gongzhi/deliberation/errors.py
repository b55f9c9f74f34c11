"""Every code deliberation answers with, and its general message (docs/errors.md lists them).

Missing or out-of-reach objects answer ``CoreError.NOT_FOUND`` and bad input ``CoreError.VALIDATION_FAILED`` (with
the fields), as everywhere.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from gongzhi.core.errors import Conflict, ErrorCode


class DeliberationError(ErrorCode):
    TOPIC_STATE = ("topic_state", Conflict, _("This topic cannot be changed this way in its current state."))
    ALREADY_COSIGNED = ("already_cosigned", Conflict, _("You have already co-signed this topic."))
    NOT_A_RESIDENT_HERE = (
        "not_a_resident_here",
        Conflict,
        _("Only residents registered in this community can do this."),
    )
    MAJOR_NEEDS_RESOLUTION = (
        "major_needs_resolution",
        Conflict,
        _("A major matter is decided by the four-step resolution, not directly."),
    )
    NOT_MAJOR = ("not_major", Conflict, _("Only a major matter takes the four-step resolution."))
    STEP_OUT_OF_ORDER = (
        "step_out_of_order",
        Conflict,
        _("The four steps go in order: this step is not the next one."),
    )
    STEP_BACKDATED = (
        "step_backdated",
        Conflict,
        _("A step cannot be dated before the previous step, nor in the future."),
    )
    QUORUM_NOT_MET = ("quorum_not_met", Conflict, _("The meeting did not reach its quorum or majority."))
    PUBLISH_TOO_EARLY = (
        "publish_too_early",
        Conflict,
        _("This cannot be published before its step is done."),
    )
    ALREADY_PUBLISHED = ("already_published", Conflict, _("This is published and cannot be changed."))
    VOTE_NOT_OPEN = ("vote_not_open", Conflict, _("Voting is not open now."))
    ALREADY_VOTED = ("already_voted", Conflict, _("This vote has already been cast."))
    NOT_ELIGIBLE = ("not_eligible", Conflict, _("You may not vote in this one."))
    RESULTS_HIDDEN = ("results_hidden", Conflict, _("Results are shown once the vote closes."))
    VOTE_NOT_CLOSED = ("vote_not_closed", Conflict, _("The vote is still open."))
    TASKS_OPEN = ("tasks_open", Conflict, _("Some tasks of carrying it out are not done yet."))
    ALREADY_RATED = ("already_rated", Conflict, _("You have already rated this."))
    CHAIN_BROKEN = (
        "chain_broken",
        Conflict,
        _("The ballot box's chain does not verify; the result cannot be published. Run deliberation_verify."),
    )
