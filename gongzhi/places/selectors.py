"""Reads of the place tree, always scoped to what the actor may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from gongzhi.core.access import reach, require_authenticated
from gongzhi.core.actors import MaybeAnonymousActor
from gongzhi.core.errors import NotFound
from gongzhi.core.roles import Permission
from gongzhi.core.tree import subtree_q

from .models import Place, PlaceKind


def place_queryset(actor: MaybeAnonymousActor, permission: str = Permission.PLACE_VIEW) -> QuerySet[Place]:
    """Active places inside the actor's reach for ``permission`` (nothing for an actor without roles)."""
    scope = reach(actor, permission)
    return Place.objects.filter(is_active=True).filter(scope.q("path"))


def access_place(actor: MaybeAnonymousActor, place_id: Any, permission: str = Permission.PLACE_VIEW) -> Place:
    """The place, or NotFound whether it is missing or out of the actor's reach."""
    require_authenticated(actor)
    try:
        place_id = int(place_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    place = place_queryset(actor, permission).filter(pk=place_id).first()
    if place is None:
        raise NotFound()
    return place


def place_visible_ancestors(actor: MaybeAnonymousActor, place: Place) -> list[Place]:
    """Breadcrumb: the place's ancestors that the actor may see, root first."""
    ids = place.ancestor_ids
    if not ids:
        return []
    by_id = {item.pk: item for item in place_queryset(actor).filter(pk__in=ids)}
    return [by_id[item_id] for item_id in ids if item_id in by_id]


def place_children(actor: MaybeAnonymousActor, place: Place) -> QuerySet[Place]:
    """Direct children the actor may see, with how many children each has and households for buildings."""
    return (
        place_queryset(actor)
        .filter(parent=place)
        .annotate(child_count=Count("children", distinct=True))
        .order_by("kind", "name")
    )


def place_roots_for(actor: MaybeAnonymousActor) -> list[Place]:
    """The top places an actor starts browsing from: the places of their roles (collapsed)."""
    scope = reach(actor, Permission.PLACE_VIEW)
    if scope.everything:
        return list(Place.objects.filter(parent__isnull=True, is_active=True).order_by("name"))
    return list(Place.objects.filter(path__in=scope.paths, is_active=True).order_by("path"))


def place_subtree(place: Place) -> QuerySet[Place]:
    """Everything under ``place`` (itself included), as one indexed query. Callers check access first."""
    return Place.objects.filter(subtree_q(place.path), is_active=True)


def place_counts_by_kind(place: Place) -> dict[str, int]:
    """How many places of each kind lie under ``place``; grids are counted per level too (grid_1 … grid_3)."""
    counts: dict[str, int] = {kind: 0 for kind in PlaceKind.values}
    rows = place_subtree(place).exclude(pk=place.pk).values("kind", "grid_level").annotate(total=Count("id"))
    for row in rows:
        counts[row["kind"]] += row["total"]
        if row["kind"] == PlaceKind.GRID and row["grid_level"]:
            key = f"grid_{row['grid_level']}"
            counts[key] = counts.get(key, 0) + row["total"]
    return counts


def place_search(actor: MaybeAnonymousActor, text: str, *, kind: str | None = None, limit: int = 20) -> list[Place]:
    queryset = place_queryset(actor).filter(name__icontains=text.strip())
    if kind:
        queryset = queryset.filter(kind=kind)
    return list(queryset.order_by("depth", "name")[:limit])


def place_ancestors(place: Place) -> list[Place]:
    """All of the place's ancestors, root first, for an address line. Callers check access to ``place`` first."""
    ids = place.ancestor_ids
    if not ids:
        return []
    by_id = Place.objects.in_bulk(ids)
    return [by_id[item_id] for item_id in ids if item_id in by_id]


def place_names_in_subtree(place: Place, *, exclude_kinds: tuple[str, ...] = (PlaceKind.HOUSEHOLD,)) -> dict[int, str]:
    """{id: name} of the places under ``place`` (itself included), for address lines in exports.

    Households are left out by default (they come with each resident). Callers check access first.
    """
    return dict(place_subtree(place).exclude(kind__in=exclude_kinds).values_list("id", "name"))


ADDRESS_KINDS = (PlaceKind.BUILDING, PlaceKind.ENTRANCE)


def household_address_labels(households: list[Place]) -> dict[int, str]:
    """{household id: "1号楼 1单元 101"}: building, entrance and household names, in one query for all.

    Grids and compounds are left out: a resident's address is where the door is. Callers check access.
    """
    wanted = {item_id for household in households for item_id in household.ancestor_ids}
    names = (
        dict(Place.objects.filter(pk__in=list(wanted), kind__in=ADDRESS_KINDS).values_list("id", "name"))
        if wanted
        else {}
    )
    return {
        household.pk: " ".join(
            [*(names[item_id] for item_id in household.ancestor_ids if item_id in names), household.name]
        )
        for household in households
    }
