"""The red points' service entry: every state change of the catalogue, claims, review and manual adjustments.

The functions live in the modules of their sub-domain; this module re-exports their public names, so a caller
outside the app (pages, the API, admin, jobs, the demo, other apps) has one place to import from:

- ``gongzhi.points.catalogue``: categories, point items and their value versions, each community's switches;
- ``gongzhi.points.claims``: submitting a claim, answering a return, withdrawing;
- ``gongzhi.points.review``: the committee's decisions on claims (one or many) and reversals;
- ``gongzhi.points.adjustments``: manual corrections proposed by one person and decided by another;
- ``organisation_account``: an organisation's points account, opened on first use (other apps award
  organisations through it and ``claim_submit``).

Each state change is keyword-only with the acting account first, checks reach with ``gongzhi.core.access``, writes
in one transaction, records the audit log in it, and raises a ``DomainError`` (nothing written) when it refuses.
Postings go through ``gongzhi.points.ledger``. Publication, objections and the annual selection live in
``gongzhi.points.publication``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gongzhi.people.models import Resident

from .adjustments import adjustment_approve, adjustment_propose, adjustment_refuse
from .catalogue import (
    CODE_PATTERN,
    category_create,
    item_create,
    item_set_enabled,
    item_value_change,
    item_value_on,
    items_available,
)
from .claims import CLOSED_MONTH_STATES, MAX_PHOTOS, claim_resubmit, claim_submit, claim_withdraw
from .ledger import account_for_organisation as organisation_account
from .review import (
    REVIEW_DECISIONS,
    claim_approve,
    claim_reject,
    claim_return,
    claim_reverse,
    claims_review_batch,
    review_decide_many,
)

__all__ = [
    "CLOSED_MONTH_STATES",
    "CODE_PATTERN",
    "MAX_PHOTOS",
    "REVIEW_DECISIONS",
    "adjustment_approve",
    "adjustment_propose",
    "adjustment_refuse",
    "category_create",
    "claim_approve",
    "claim_reject",
    "claim_resubmit",
    "claim_return",
    "claim_reverse",
    "claim_submit",
    "claim_withdraw",
    "claims_review_batch",
    "item_create",
    "item_set_enabled",
    "item_value_change",
    "item_value_on",
    "items_available",
    "organisation_account",
    "review_decide_many",
]


def personal_data_anonymise(*, resident: Resident | None, account: Any, now: datetime) -> dict[str, int]:
    """people.anonymise calls this inside its transaction: the resident's points accounts stop showing their name.
    Balances, entries and totals are left exactly as they are (no transfer is posted)."""
    from .models import PointsAccount

    if resident is None:
        return {}
    renamed = PointsAccount.objects.filter(resident=resident).exclude(display_name="").update(display_name="")
    return {"points_accounts": renamed}
