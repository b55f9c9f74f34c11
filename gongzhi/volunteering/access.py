"""Who may do what in volunteering: organisers over places, residents for themselves, employers' representatives
for their own organisation. Services and selectors both ask these; a "no" becomes NotFound where existence must not
leak, or a named refusal where the object is public (an activity, a wish on the wall)."""

from __future__ import annotations

from typing import Any

from gongzhi.core.access import grants, reach
from gongzhi.core.actors import MaybeAnonymousActor
from gongzhi.core.roles import Permission, Role
from gongzhi.people.models import Resident

from .errors import VolunteeringError


def signed_in(actor: MaybeAnonymousActor | None) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def may_manage(actor: MaybeAnonymousActor | None, path: str) -> bool:
    """Organisers: ``volunteering.manage`` over the place (community staff and the managers above them)."""
    return reach(actor, Permission.VOLUNTEERING_MANAGE).covers(path)


def may_approve_wishes(actor: MaybeAnonymousActor | None, path: str) -> bool:
    return reach(actor, Permission.WISH_APPROVE).covers(path)


def may_record_claims(actor: MaybeAnonymousActor | None, path: str) -> bool:
    return reach(actor, Permission.CLAIM_SUBMIT_ON_BEHALF).covers(path)


def resident_of(actor: MaybeAnonymousActor | None) -> Resident | None:
    """The actor's own resident record, if they are a resident registered in a household."""
    if not signed_in(actor):
        return None
    resident: Any = getattr(actor, "resident", None)
    if resident is None or not resident.is_active or resident.household_id is None:
        return None
    return resident


def require_resident(actor: MaybeAnonymousActor | None) -> Resident:
    resident = resident_of(actor)
    if resident is None:
        raise VolunteeringError.NOT_A_RESIDENT()
    return resident


def represented_organisation_ids(actor: MaybeAnonymousActor | None) -> set[int]:
    """Ids of the organisations the actor represents today (Role.ORGANISATION_REPRESENTATIVE with one named)."""
    if not signed_in(actor):
        return set()
    return {
        organisation
        for role, _path, organisation in grants(actor)
        if role == Role.ORGANISATION_REPRESENTATIVE and organisation is not None
    }
