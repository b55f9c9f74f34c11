"""Places in the API: one place, its children, its counts. Out of reach answers 404 like missing."""

from __future__ import annotations

from ninja import Router, Schema

from gongzhi.core.api_support import ERRORS

from .models import Place
from .selectors import access_place, place_children, place_counts_by_kind, place_visible_ancestors

router = Router(tags=["places"])


class PlaceOut(Schema):
    id: int
    kind: str
    kind_label: str
    name: str
    code: str
    parent_id: int | None
    grid_level: int | None
    depth: int
    path: str

    @staticmethod
    def resolve_kind_label(place: Place) -> str:
        return str(place.get_kind_display())


class PlaceChildOut(PlaceOut):
    child_count: int = 0


class PlaceDetailOut(PlaceOut):
    ancestors: list[PlaceOut]
    counts: dict[str, int]


@router.get(
    "/{place_id}",
    response={200: PlaceDetailOut, **ERRORS},
    summary="One place, its visible ancestors and counts below it",
)
def place_detail(request, place_id: int):
    place = access_place(request.user, place_id)
    place.ancestors = place_visible_ancestors(request.user, place)
    place.counts = place_counts_by_kind(place)
    return place


@router.get(
    "/{place_id}/children", response={200: list[PlaceChildOut], **ERRORS}, summary="Direct children of a place"
)
def place_children_list(request, place_id: int):
    place = access_place(request.user, place_id)
    return list(place_children(request.user, place))
