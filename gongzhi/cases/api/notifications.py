"""The inbox in the API: my notifications and marking them read."""

from __future__ import annotations

from datetime import datetime

from ninja import Query, Router, Schema

from gongzhi.core.api_support import ERRORS, Page, PageQuery, paginate

from ..notifications import notification_mark_read
from ..selectors import inbox

router = Router()


class NotificationOut(Schema):
    id: int
    case_id: int | None
    kind: str
    text: str
    created_at: datetime
    read_at: datetime | None


class NotificationPage(Page[NotificationOut]):
    unread: int


class NotificationQuery(PageQuery):
    unread: bool = False


class ReadIn(Schema):
    ids: list[int] | None = None


class ReadOut(Schema):
    marked: int


@router.get("/notifications", response={200: NotificationPage, **ERRORS}, summary="My inbox")
def notifications(request, query: Query[NotificationQuery]):
    page = paginate(inbox(request.user, unread_only=query.unread), query)
    return {**page, "unread": inbox(request.user, unread_only=True).count()}


@router.post(
    "/notifications/read", response={200: ReadOut, **ERRORS}, summary="Mark my notifications read (all when no ids)"
)
def notifications_read(request, payload: ReadIn):
    return {"marked": notification_mark_read(actor=request.user, notification_ids=payload.ids)}
