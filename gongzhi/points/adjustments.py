"""Manual adjustments: a correction of an account's points, proposed by one person and decided by another.

What it guarantees:

- only staff with the adjustment permission over the account's place propose or decide; system accounts are never
  adjusted by hand, and an amount is a whole number other than zero, with a reason;
- nothing is posted when proposed: a second person (never the proposer) approves or refuses it, once;
- an approval posts one transfer (issuance ↔ account, not counted as earned, idempotency key ``adjustment:<id>``)
  through ``gongzhi.points.ledger``.

Every state change is keyword-only with the acting account first, writes in one transaction with its audit entry,
and raises a ``DomainError`` (nothing written) when it refuses.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import require_reach
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import ValidationFailed
from gongzhi.core.roles import Permission

from . import locks
from .errors import PointsError
from .ledger import Leg, post_transfer, system_account
from .models import AccountKind, Adjustment, PointsAccount, TransferKind


def _require_adjuster(actor: Actor, account: PointsAccount) -> None:
    require_reach(actor, Permission.POINTS_ADJUST, account.place_path or "/-/")


@transaction.atomic
def adjustment_propose(
    *, actor: Actor, account: PointsAccount, amount: int, reason: str, now: datetime | None = None
) -> Adjustment:
    """Propose a manual correction; it is posted only when a second person approves it."""
    now = now or timezone.now()
    _require_adjuster(actor, account)
    errors = {}
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
        errors["amount"] = _("Enter a whole number of points other than zero.")
    if not (reason or "").strip():
        errors["reason"] = _("Give a reason.")
    if account.kind == AccountKind.SYSTEM:
        errors["account"] = _("System accounts are not adjusted by hand.")
    if errors:
        raise ValidationFailed(fields=errors)
    adjustment = Adjustment.objects.create(
        account=account, amount=amount, reason=reason.strip()[:255], proposed_by=actor, proposed_at=now
    )
    audit_record(
        actor=actor,
        action="points.adjustment_propose",
        target=adjustment,
        place_path=account.place_path,
        changes={"amount": amount, "reason": adjustment.reason},
        occurred_at=now,
    )
    return adjustment


def _locked_adjustment(actor: Actor, adjustment: Adjustment) -> Adjustment:
    locked = locks.lock_adjustment(adjustment.pk)
    _require_adjuster(actor, locked.account)
    if locked.state != Adjustment.State.PROPOSED:
        raise PointsError.ADJUSTMENT_DECIDED()
    if locked.proposed_by_id == actor.pk:
        raise PointsError.SECOND_PERSON_REQUIRED()
    return locked


@transaction.atomic
def adjustment_approve(*, actor: Actor, adjustment: Adjustment, now: datetime | None = None) -> Adjustment:
    """A second person approves; the adjustment is posted (issuance ↔ account; not counted as earned)."""
    now = now or timezone.now()
    locked = _locked_adjustment(actor, adjustment)
    issuance = system_account("issuance").pk
    transfer, _created = post_transfer(
        kind=TransferKind.ADJUSTMENT,
        idempotency_key=f"adjustment:{locked.pk}",
        legs=[Leg(issuance, -locked.amount), Leg(locked.account_id, locked.amount)],
        actor=actor,
        source_type="adjustment",
        source_id=str(locked.pk),
        memo=locked.reason,
        now=now,
    )
    Adjustment.objects.filter(pk=locked.pk).update(
        state=Adjustment.State.APPROVED, decided_by=actor, decided_at=now, transfer=transfer
    )
    audit_record(
        actor=actor,
        action="points.adjustment_approve",
        target=locked,
        place_path=locked.account.place_path,
        changes={"amount": locked.amount, "transfer": transfer.pk},
        occurred_at=now,
    )
    adjustment.state, adjustment.decided_by, adjustment.decided_at = Adjustment.State.APPROVED, actor, now
    adjustment.transfer = transfer
    return adjustment


@transaction.atomic
def adjustment_refuse(
    *, actor: Actor, adjustment: Adjustment, reason: str = "", now: datetime | None = None
) -> Adjustment:
    now = now or timezone.now()
    locked = _locked_adjustment(actor, adjustment)
    Adjustment.objects.filter(pk=locked.pk).update(state=Adjustment.State.REFUSED, decided_by=actor, decided_at=now)
    audit_record(
        actor=actor,
        action="points.adjustment_refuse",
        target=locked,
        place_path=locked.account.place_path,
        changes={"reason": (reason or "").strip()},
        occurred_at=now,
    )
    adjustment.state, adjustment.decided_by, adjustment.decided_at = Adjustment.State.REFUSED, actor, now
    return adjustment
