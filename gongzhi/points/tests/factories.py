"""Factories for red points, built through the services (so versions, audit and postings are real)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from django.utils import timezone

from gongzhi.core.roles import Role
from gongzhi.people.models import Account
from gongzhi.people.tests.factories import AccountFactory, ResidentFactory, account_with_role
from gongzhi.places.tests.factories import superuser
from gongzhi.points.ledger import account_for_resident
from gongzhi.points.models import HOLDER_KINDS, PointCategory, PointItem
from gongzhi.points.services import category_create, item_create

_serial = itertools.count(1)


def make_category(code: str | None = None, name: str = "文明实践") -> PointCategory:
    code = code or f"cat-{next(_serial)}"
    existing = PointCategory.objects.filter(code=code).first()
    return existing or category_create(actor=superuser(), code=code, name=name)


def make_item(
    owner,
    *,
    value: int = 5,
    code: str | None = None,
    name: str | None = None,
    effective_from: date | None = None,
    account_kinds=None,
    category: PointCategory | None = None,
    **extra,
) -> PointItem:
    serial = next(_serial)
    return item_create(
        actor=superuser(),
        owner=owner,
        category=category or make_category(),
        code=code or f"item-{serial}",
        name=name or f"志愿服务{serial}",
        value=value,
        effective_from=effective_from or date(2020, 1, 1),
        account_kinds=list(account_kinds or [str(kind) for kind in HOLDER_KINDS]),
        **extra,
    )


def resident_with_login(household, name: str | None = None, kind=None):
    """A resident with a login of their own, the resident role on their household, and a points account."""
    resident = ResidentFactory(household=household, **({"name": name} if name else {}))
    login = AccountFactory(resident=resident)
    from gongzhi.people.models import RoleAssignment

    RoleAssignment.objects.create(account=login, role=Role.RESIDENT, place=household)
    account = account_for_resident(resident, **({"kind": kind} if kind else {}))
    return login, account


def reviewer(community, username: str | None = None) -> Account:
    return account_with_role(Role.REVIEW_COMMITTEE_MEMBER, community, username=username)


def secretary(community, username: str | None = None) -> Account:
    return account_with_role(Role.COMMUNITY_SECRETARY, community, username=username)


def worker(community, username: str | None = None) -> Account:
    return account_with_role(Role.COMMUNITY_WORKER, community, username=username)


def yesterday() -> date:
    return timezone.localdate() - timedelta(days=1)


def snapshot() -> dict:
    """What a refused call must leave unchanged: row counts of the ledger, claims and audit, and every account."""
    from gongzhi.core.models import AuditEntry
    from gongzhi.points.models import Adjustment, Claim, ClaimDecision, Entry, PointItemVersion, PointsAccount, Transfer

    return {
        "transfers": Transfer.objects.count(),
        "entries": Entry.objects.count(),
        "claims": Claim.objects.count(),
        "decisions": ClaimDecision.objects.count(),
        "adjustments": list(Adjustment.objects.order_by("pk").values_list("pk", "state")),
        "versions": PointItemVersion.objects.count(),
        "audit": AuditEntry.objects.count(),
        "claim_states": list(Claim.objects.order_by("pk").values_list("pk", "state", "first_approver_id")),
        "accounts": list(PointsAccount.objects.order_by("pk").values_list("pk", "balance", "held", "earned_total")),
    }
