"""State changes of the community service fund: the yearly budget and its spending.

What it guarantees, at every moment and under concurrent approvals:

    budget = spent + committed + left,   left >= 0

- a spending is requested (by community staff, cobuilding.manage), then approved or refused by someone holding
  cobuilding.fund_approve over the community; approving commits its amount, paying moves it from committed to
  spent, cancelling an approved spending gives it back to what is left;
- approving and paying lock the spending, then the fund row (``locks.lock_fund``), read what is left under the
  lock and change the amounts with ``F()`` updates; the database check ``fund_within_budget``
  (committed + spent <= budget) refuses anything past the budget even if a check were skipped;
- nothing is spent without approval (``spending_not_approved``), nothing past what is left (``fund_exceeded``);
- a budget can be lowered only down to what is already committed and spent;
- spending for a project with a budget stays within it (what is asked, approved or paid, together).
Amounts are yuan as exact ``Decimal`` with two places.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import require_reach
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import ValidationFailed
from gongzhi.core.roles import Permission
from gongzhi.places.models import Place

from .access import require_community, require_manage
from .errors import CobuildingError
from .lists import money
from .locks import lock_fund, lock_spending
from .models import Fund, Project, Spending


def _audit(actor: Actor, action: str, target: Any, path: str, now: datetime, changes: dict) -> None:
    audit_record(actor=actor, action=action, target=target, place_path=path, changes=changes, occurred_at=now)


def fund_set_budget(*, actor: Actor, community: Place, year: int, budget: Any, now: datetime | None = None) -> Fund:
    """Set (or change) a community's yearly budget; never below what is committed and spent already."""
    require_reach(actor, Permission.FUND_APPROVE, community.path)
    require_community(community)
    now = now or timezone.now()
    amount = money(budget, "budget", positive=False)
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValidationFailed(fields={"year": _("Enter a year.")})
    with transaction.atomic():
        fund, _created = Fund.objects.get_or_create(community=community, year=year, defaults={"budget": amount})
        fund = lock_fund(fund.pk)
        before = fund.budget
        if fund.committed + fund.spent > amount:
            raise CobuildingError.FUND_EXCEEDED(
                _("%(used)s yuan is already committed or spent this year; the budget cannot be lower.")
                % {"used": fund.committed + fund.spent}
            )
        Fund.objects.filter(pk=fund.pk).update(budget=amount)
        _audit(actor, "cobuilding.fund_set_budget", fund, community.path, now, {"budget": [str(before), str(amount)]})
    fund.refresh_from_db()
    return fund


def spending_request(
    *,
    actor: Actor,
    fund: Fund,
    purpose: str,
    amount: Any,
    project: Project | None = None,
    now: datetime | None = None,
) -> Spending:
    """Ask to spend from the fund (for a project of the community, or another purpose); nothing is committed
    until it is approved. A request past what is left now is refused at once (fund_exceeded)."""
    require_manage(actor, fund.community)
    now = now or timezone.now()
    value = money(amount)
    purpose = (purpose or "").strip()
    if not purpose or len(purpose) > 200:
        raise ValidationFailed(fields={"purpose": _("Say what the money is for (at most 200 characters).")})
    if project is not None and project.community_id != fund.community_id:
        raise ValidationFailed(fields={"project": _("Choose a project of this community.")})
    if project is not None and project.budget > 0:
        drawn = project.spendings.exclude(state__in=(Spending.State.REFUSED, Spending.State.CANCELLED)).aggregate(
            total=Sum("amount")
        )["total"] or Decimal("0")
        if drawn + value > project.budget:
            raise ValidationFailed(
                fields={
                    "amount": _("The project's budget is %(budget)s yuan; %(drawn)s is asked or spent already.")
                    % {"budget": project.budget, "drawn": drawn}
                }
            )
    if value > fund.left:
        raise CobuildingError.FUND_EXCEEDED(
            _("Only %(left)s yuan is left in the fund this year.") % {"left": fund.left}
        )
    with transaction.atomic():
        spending = Spending.objects.create(
            fund=fund, project=project, purpose=purpose, amount=value, requested_by=actor, requested_at=now
        )
        _audit(actor, "cobuilding.spending_request", spending, fund.community.path, now, {"amount": str(value)})
    return spending


def spending_approve(*, actor: Actor, spending: Spending, now: datetime | None = None) -> Spending:
    """Approve a requested spending: its amount is committed. Refused past what is left (fund_exceeded), or when
    already decided (spending_state). Safe under concurrent approvals: the fund row is locked, the amounts move by
    ``F()`` and the database refuses committing past the budget."""
    fund = spending.fund
    require_reach(actor, Permission.FUND_APPROVE, fund.community.path)
    now = now or timezone.now()
    path = spending.fund.community.path
    try:
        with transaction.atomic():
            locked = lock_spending(spending.pk)
            if locked.state != Spending.State.REQUESTED:
                raise CobuildingError.SPENDING_STATE()
            fund = lock_fund(locked.fund_id)
            if locked.amount > fund.left:
                raise CobuildingError.FUND_EXCEEDED(
                    _("Only %(left)s yuan is left in the fund this year.") % {"left": fund.left}
                )
            Fund.objects.filter(pk=fund.pk).update(committed=F("committed") + locked.amount)
            Spending.objects.filter(pk=locked.pk).update(
                state=Spending.State.APPROVED, decided_by=actor, decided_at=now
            )
            _audit(actor, "cobuilding.spending_approve", locked, path, now, {"amount": str(locked.amount)})
    except IntegrityError:  # fund_within_budget: the database's word, should a check above ever be bypassed
        raise CobuildingError.FUND_EXCEEDED() from None
    spending.refresh_from_db()
    return spending


def spending_refuse(*, actor: Actor, spending: Spending, now: datetime | None = None) -> Spending:
    """Refuse a requested spending; nothing is committed."""
    require_reach(actor, Permission.FUND_APPROVE, spending.fund.community.path)
    now = now or timezone.now()
    path = spending.fund.community.path
    with transaction.atomic():
        locked = lock_spending(spending.pk)
        if locked.state != Spending.State.REQUESTED:
            raise CobuildingError.SPENDING_STATE()
        Spending.objects.filter(pk=locked.pk).update(state=Spending.State.REFUSED, decided_by=actor, decided_at=now)
        _audit(actor, "cobuilding.spending_refuse", locked, path, now, {})
    spending.refresh_from_db()
    return spending


def spending_pay(*, actor: Actor, spending: Spending, now: datetime | None = None) -> Spending:
    """Record an approved spending as paid: committed → spent. Refused without approval."""
    require_manage(actor, spending.fund.community)
    now = now or timezone.now()
    path = spending.fund.community.path
    with transaction.atomic():
        locked = lock_spending(spending.pk)
        if locked.state in (Spending.State.REQUESTED, Spending.State.REFUSED, Spending.State.CANCELLED):
            raise CobuildingError.SPENDING_NOT_APPROVED()
        if locked.state != Spending.State.APPROVED:
            raise CobuildingError.SPENDING_STATE()
        fund = lock_fund(locked.fund_id)
        Fund.objects.filter(pk=fund.pk).update(
            committed=F("committed") - locked.amount, spent=F("spent") + locked.amount
        )
        Spending.objects.filter(pk=locked.pk).update(state=Spending.State.PAID, paid_at=now)
        _audit(actor, "cobuilding.spending_pay", locked, path, now, {"amount": str(locked.amount)})
    spending.refresh_from_db()
    return spending


def spending_cancel(*, actor: Actor, spending: Spending, now: datetime | None = None) -> Spending:
    """Cancel a requested or approved (not yet paid) spending; an approved amount goes back to what is left."""
    require_reach(actor, Permission.FUND_APPROVE, spending.fund.community.path)
    now = now or timezone.now()
    path = spending.fund.community.path
    with transaction.atomic():
        locked = lock_spending(spending.pk)
        if locked.state not in (Spending.State.REQUESTED, Spending.State.APPROVED):
            raise CobuildingError.SPENDING_STATE()
        fund = lock_fund(locked.fund_id)
        if locked.state == Spending.State.APPROVED:
            Fund.objects.filter(pk=fund.pk).update(committed=F("committed") - locked.amount)
        Spending.objects.filter(pk=locked.pk).update(state=Spending.State.CANCELLED, decided_at=now)
        _audit(actor, "cobuilding.spending_cancel", locked, path, now, {"was": locked.state})
    spending.refresh_from_db()
    return spending
