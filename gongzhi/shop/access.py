"""Who may do what in the points shop: clerks of merchants, holders of accounts, shop staff over places.

Services and selectors both ask these; an answer of "no" becomes the same NotFound as a missing object.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from gongzhi.core.access import grants, reach, require_authenticated
from gongzhi.core.actors import Actor, MaybeAnonymousActor
from gongzhi.core.errors import NotFound
from gongzhi.core.roles import Permission, Role
from gongzhi.people.models import Organisation, RoleAssignment
from gongzhi.places.models import Place
from gongzhi.points.selectors import holder_kinds

from .models import Offer

if TYPE_CHECKING:
    from gongzhi.points.models import PointsAccount


def _signed_in(actor: MaybeAnonymousActor | None) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def clerk_merchant_ids(actor: MaybeAnonymousActor | None, *, now: datetime | None = None) -> set[int]:
    """Ids of the merchants the actor is a clerk of on the day of ``now`` (default: today; Role.MERCHANT_CLERK
    with an organisation)."""
    if not _signed_in(actor):
        return set()
    day = timezone.localdate(now or timezone.now())
    account: Any = actor  # signed in: an Account, which keeps the answer (per day) for the rest of the request
    cached = getattr(account, "_gongzhi_clerk_of", None)
    if cached is not None and cached[0] == day:
        return cached[1]
    ids = set(
        RoleAssignment.objects.current(on=day)
        .filter(
            account_id=account.pk,
            role=Role.MERCHANT_CLERK,
            organisation__isnull=False,
            organisation__is_active=True,
            place__is_active=True,
        )
        .values_list("organisation_id", flat=True)
    )
    account._gongzhi_clerk_of = (day, ids)
    return ids


def is_clerk_of(actor: MaybeAnonymousActor | None, merchant_id: int | None) -> bool:
    return merchant_id is not None and merchant_id in clerk_merchant_ids(actor)


def may_manage(actor: MaybeAnonymousActor | None, place_path: str) -> bool:
    return reach(actor, Permission.SHOP_MANAGE).covers(place_path)


def may_edit_offer(actor: Actor, offer: Offer) -> bool:
    return may_manage(actor, offer.community.path) or is_clerk_of(actor, offer.merchant_id)


def may_act_for_account(actor: MaybeAnonymousActor | None, account: PointsAccount) -> bool:
    """The holder (resident, or the representative of the organisation) or shop staff over the account's place."""
    if not _signed_in(actor) or account.kind not in holder_kinds():
        return False
    if account.resident_id is not None and account.resident_id == getattr(actor, "resident_id", None):
        return True
    if account.organisation_id is not None and any(
        organisation == account.organisation_id
        for role, _path, organisation in grants(actor)
        if role == Role.ORGANISATION_REPRESENTATIVE
    ):
        return True
    return bool(account.place_path) and may_manage(actor, account.place_path)


def counter_for(offer: Offer) -> str:
    """The counter an offer's orders are picked up at: its merchant's, or its community's own shop."""
    return f"m{offer.merchant_id}" if offer.merchant_id else f"c{offer.community_id}"


def require_counter(actor: Actor, *, merchant: Organisation | None = None, community: Place | None = None) -> str:
    """The counter (merchant, or a community's own shop) the actor verifies at; NotFound if not theirs."""
    require_authenticated(actor)
    if merchant is not None:
        if actor.is_superuser or is_clerk_of(actor, merchant.pk):
            return f"m{merchant.pk}"
        raise NotFound()
    if community is not None and reach(actor, Permission.REDEMPTION_VERIFY).covers(community.path):
        return f"c{community.pk}"
    raise NotFound()
