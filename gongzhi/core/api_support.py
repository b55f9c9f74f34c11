"""What every API router shares: the error schema, the page query and the ``Page[T]`` schema with its pager.

    from gongzhi.core.api_support import ERRORS, Page, PageQuery, paginate

    @router.get("/things", response={200: Page[ThingOut], **ERRORS})
    def things(request, query: Query[PageQuery]):
        return paginate(thing_list(request.user), query, render=thing_out)

A page with more than the four fields subclasses ``Page[T]`` (``class NotificationPage(Page[NotificationOut]):
unread: int``). The error shape is the one ``gongzhi.api`` produces for every ``DomainError``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from ninja import Field, Schema

T = TypeVar("T")

PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 200


class ErrorOut(Schema):
    """Every refusal: a stable ``code`` (docs/errors.md lists them), a message in the user's language, and the
    messages per field for input that was not valid."""

    code: str
    message: str
    fields: dict[str, list[str]]


ERRORS: dict[int, type[ErrorOut]] = {
    status: ErrorOut for status in (400, 401, 403, 404, 409, 422, 423, 429)
}


class PageQuery(Schema):
    page: int = Field(1, ge=1)
    page_size: int = Field(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX)


class Page(Schema, Generic[T]):
    """One page of a list: the total ``count``, which ``page`` of ``page_size``, and the rows."""

    count: int
    page: int
    page_size: int
    results: list[T]


def paginate(
    items: Any,
    query: PageQuery | int,
    page_size: int | None = None,
    *,
    render: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """The ``Page`` dict for ``items`` (a queryset or a sequence): counts once, slices once, renders each row.

    ``query`` is a ``PageQuery`` (or a page number with ``page_size``). A page past the end is an empty page with
    the true count, so a client that overshoots learns where the end is.
    """
    if isinstance(query, PageQuery):
        page, size = query.page, query.page_size
    else:
        page, size = int(query), int(page_size or PAGE_SIZE_DEFAULT)
    count = len(items) if isinstance(items, Sequence) else items.count()
    start = (page - 1) * size
    rows = list(items[start : start + size])
    return {
        "count": count,
        "page": page,
        "page_size": size,
        "results": [render(row) for row in rows] if render else rows,
    }
