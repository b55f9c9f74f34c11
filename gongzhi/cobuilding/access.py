"""Who may do what in co-building: community staff over places, representatives for their organisations.

Services and selectors both ask these; an answer of "no" becomes the same NotFound as a missing object.
"""

from __future__ import annotations

from typing import Any

from gongzhi.core.access import grants, reach, require_authenticated
from gongzhi.core.errors import NotFound
from gongzhi.core.roles import Permission, Role
from gongzhi.places.models import Place, PlaceKind


def signed_in(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def represented_ids(actor: Any) -> set[int]:
    """Ids of the organisations the actor represents today (Role.ORGANISATION_REPRESENTATIVE with an
    organisation)."""
    if not signed_in(actor):
        return set()
    return {
        organisation
        for role, _path, organisation in grants(actor)
        if role == Role.ORGANISATION_REPRESENTATIVE and organisation is not None
    }


def represents(actor: Any, organisation_id: int | None) -> bool:
    return organisation_id is not None and organisation_id in represented_ids(actor)


def may_manage(actor: Any, path: str) -> bool:
    return reach(actor, Permission.COBUILDING_MANAGE).covers(path)


def require_manage(actor: Any, place: Place) -> None:
    """NotFound unless the actor holds cobuilding.manage over ``place``."""
    require_authenticated(actor)
    if not may_manage(actor, place.path):
        raise NotFound()


def require_representative(actor: Any, organisation_id: int | None) -> None:
    """NotFound unless the actor represents the organisation."""
    require_authenticated(actor)
    if not represents(actor, organisation_id):
        raise NotFound()


def require_community(place: Place, field: str = "community") -> None:
    from django.utils.translation import gettext as _

    from gongzhi.core.errors import ValidationFailed

    if place.kind != PlaceKind.COMMUNITY:
        raise ValidationFailed(fields={field: _("Choose a community.")})
