"""What the points pages share: parsing of form values, the community picker, field errors, kind labels."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.http import QueryDict

from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.uploads import clean_photos
from gongzhi.places.models import Place

from ..claims import MAX_PHOTOS
from ..models import AccountKind

PER_PAGE = 50
TEXT_MAX = 2000
# What the review queue's address may carry: its filters, the search and the page (kept when a reviewer opens a
# claim from the queue and comes back, or decides it there).
QUEUE_PARAMETERS = ("community", "week", "category", "item", "grid", "q", "page")


def to_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def pick_community(request, communities: list[Place]) -> Place:
    if not communities:
        raise NotFound()
    wanted = to_int(request.POST.get("community") or request.GET.get("community"))
    return next((place for place in communities if place.pk == wanted), communities[0])


def photos_from(request) -> list:
    """The form's photos, checked and re-encoded (``core.uploads``: pictures only, no EXIF)."""
    return clean_photos(request.FILES.getlist("photos"), max_count=MAX_PHOTOS)


def field_errors(error: DomainError) -> dict[str, list[str]]:
    return error.as_dict()["fields"]


def kind_labels() -> dict[str, str]:
    return {value: str(label) for value, label in AccountKind.choices}


def queue_query(params: Mapping[str, Any]) -> str:
    """The review queue's own parameters out of ``params``, encoded again (nothing else passes: no open redirect)."""
    kept = QueryDict(mutable=True)
    for name in QUEUE_PARAMETERS:
        value = str(params.get(name) or "").strip()[:60]
        if value:
            kept[name] = value
    return kept.urlencode()
