"""Volunteering's service entry: every state change of teams, activities (sign-up, waiting list, check-in, closing),
dual registration with posts, and micro-wishes.

The functions live in the modules of their sub-domain (``teams``, ``activities``, ``attendance``,
``registration``, ``wishes``); this module re-exports them, so pages, the API, admin, jobs and the demo import
from one place. Each is keyword-only with the acting account first, checks access itself, writes in one
transaction with its audit entry, takes ``now``, and raises a ``DomainError`` (nothing written) when it refuses.
Points are earned only through ``gongzhi.points.services.claim_submit``.
"""

from __future__ import annotations

from .activities import (
    ActivityInput,
    activity_cancel,
    activity_create,
    activity_join,
    eligibility_problem,
    offer_confirm,
    offers_expire,
    signup_cancel,
)
from .attendance import (
    CloseResult,
    activity_close,
    attendance_mark,
    attended_minutes,
    check_in,
    check_out,
    credit_minutes_for,
    honour_hours_add,
)
from .registration import (
    post_claim,
    post_create,
    post_release,
    registration_confirm,
    registration_create,
    registration_end,
)
from .teams import team_create, team_join, team_leave, team_member_approve
from .wishes import (
    may_confirm_wish,
    personal_data_in,
    wish_approve,
    wish_claim,
    wish_claim_withdraw,
    wish_confirm,
    wish_fulfil,
    wish_post,
    wish_refuse,
)

__all__ = [
    "ActivityInput",
    "CloseResult",
    "activity_cancel",
    "activity_close",
    "activity_create",
    "activity_join",
    "attendance_mark",
    "attended_minutes",
    "check_in",
    "check_out",
    "credit_minutes_for",
    "eligibility_problem",
    "honour_hours_add",
    "may_confirm_wish",
    "offer_confirm",
    "offers_expire",
    "personal_data_in",
    "post_claim",
    "post_create",
    "post_release",
    "registration_confirm",
    "registration_create",
    "registration_end",
    "signup_cancel",
    "team_create",
    "team_join",
    "team_leave",
    "team_member_approve",
    "wish_approve",
    "wish_claim",
    "wish_claim_withdraw",
    "wish_confirm",
    "wish_fulfil",
    "wish_post",
    "wish_refuse",
]
