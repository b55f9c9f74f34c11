"""Who may do what in deliberation: staff over a community (``deliberation.manage`` / ``deliberation.ballot_enter``)
and the residents registered in it. Services and selectors both ask these."""

from __future__ import annotations

from typing import Any

from gongzhi.core.access import reach, require_authenticated, require_reach
from gongzhi.core.actors import MaybeAnonymousActor
from gongzhi.core.roles import Permission
from gongzhi.core.tree import path_ids
from gongzhi.people.models import Resident
from gongzhi.places.models import Place, PlaceKind

from .errors import DeliberationError


def may_manage(actor: MaybeAnonymousActor | None, community: Place) -> bool:
    return reach(actor, Permission.DELIBERATION_MANAGE).covers(community.path)


def require_manage(actor: Any, community: Place) -> None:
    """NotFound unless the actor keeps deliberation over ``community``."""
    require_reach(actor, Permission.DELIBERATION_MANAGE, community.path)


def require_ballot_enter(actor: Any, community: Place) -> None:
    require_reach(actor, Permission.BALLOT_ENTER, community.path)


def actor_resident(actor: MaybeAnonymousActor | None) -> Resident | None:
    """The registered resident record of a signed-in account, with its household; None otherwise."""
    resident_id = getattr(actor, "resident_id", None) if getattr(actor, "is_authenticated", False) else None
    if not resident_id:
        return None
    cached = getattr(actor, "_gongzhi_deliberation_resident", None)
    if cached is not None:
        return cached
    resident = next(
        iter(Resident.objects.select_related("household").filter(pk=int(resident_id), is_active=True)[:1]), None
    )
    if resident is None or resident.household is None:
        return None
    actor._gongzhi_deliberation_resident = resident  # type: ignore[union-attr]
    return resident


def community_of(place: Place) -> Place | None:
    """The community a place lies in (itself if it is one)."""
    if place.kind == PlaceKind.COMMUNITY:
        return place
    ids = path_ids(place.path)
    return Place.objects.filter(pk__in=ids, kind=PlaceKind.COMMUNITY).first()


def resident_community_id(actor: MaybeAnonymousActor | None) -> int | None:
    """The id of the community the actor lives in, if a registered resident."""
    resident = actor_resident(actor)
    if resident is None or resident.household is None:
        return None
    cached = getattr(actor, "_gongzhi_deliberation_community", None)
    if cached is not None:
        return cached
    community = community_of(resident.household)
    value = community.pk if community is not None else None
    actor._gongzhi_deliberation_community = value  # type: ignore[union-attr]
    return value


def require_resident_of(actor: Any, community: Place) -> Resident:
    """The actor's resident record if registered in ``community``; else ``not_a_resident_here``."""
    require_authenticated(actor)
    resident = actor_resident(actor)
    if resident is None or resident.household is None or not resident.household.path.startswith(community.path):
        raise DeliberationError.NOT_A_RESIDENT_HERE()
    return resident
