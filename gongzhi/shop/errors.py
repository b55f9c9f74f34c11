"""Every code the points shop answers with, and its general message (docs/errors.md lists them).

Raise a member, with a more specific message where it helps::

    raise ShopError.STOCK_EXHAUSTED()
    raise ShopError.LIMIT_REACHED(_("The limit is 2 per person in this exchange window; you have 2 already."))

Missing or out-of-reach objects answer ``CoreError.NOT_FOUND`` and bad input ``CoreError.VALIDATION_FAILED`` (with
the fields), as everywhere.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from gongzhi.core.errors import Conflict, ErrorCode, NotFound
from gongzhi.points.errors import InsufficientPoints


class ShopError(ErrorCode):
    STOCK_EXHAUSTED = ("stock_exhausted", Conflict, _("This offer is out of stock."))
    # The same code as the ledger's refusal (``points.errors``): said before anything is held, with the shortfall.
    INSUFFICIENT_POINTS = ("insufficient_points", InsufficientPoints, _("There are not enough points for this."))
    OUT_OF_WINDOW = (
        "out_of_window",
        Conflict,
        _("Exchange is closed now; offers can be redeemed only in an exchange window."),
    )
    LIMIT_REACHED = (
        "limit_reached",
        Conflict,
        _("You have reached the limit for this offer in this exchange window."),
    )
    WRONG_CODE = (
        "wrong_code",
        NotFound,
        _("No open order has this code here. Check the six digits and try again."),
    )
    WRONG_CARD = (
        "wrong_card",
        NotFound,
        _("No points card has this code. Check the eight digits, or ask for a new card."),
    )
    CODE_USED = ("code_used", Conflict, _("This code has already been used."))
    CODE_UNAVAILABLE = ("code_unavailable", Conflict, _("Could not give this order a pickup code; please try again."))
    ORDER_CLOSED = ("order_closed", Conflict, _("This order is closed and cannot be changed."))
    ORDER_EXPIRED = ("order_expired", Conflict, _("This order has expired; the points go back to the resident."))
    IDEMPOTENCY_CONFLICT = (
        "idempotency_conflict",
        Conflict,
        _("This idempotency key was already used for a different order."),
    )
    NOT_IN_ALLIANCE = (
        "not_in_alliance",
        Conflict,
        _("This merchant has not joined the alliance of this community or street yet."),
    )
    OFFER_STATE = ("offer_state", Conflict, _("This offer cannot be changed this way in its current state."))
    OFFER_UNAVAILABLE = ("offer_unavailable", Conflict, _("This offer is not on offer now."))
    OFFER_NOT_VALID_TODAY = ("offer_not_valid_today", Conflict, _("This offer cannot be redeemed today."))
    NOT_ELIGIBLE = ("not_eligible", Conflict, _("This offer is not open to your account."))
