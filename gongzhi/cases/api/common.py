"""What the cases routers share: the small bodies and queries, the period and place lookups, the page."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema

from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.figures import Period
from gongzhi.people.models import Account, Resident
from gongzhi.people.selectors import access_resident
from gongzhi.places.models import Place


class NoteIn(Schema):
    note: str = Field("", max_length=500)


class ReasonIn(Schema):
    reason: str = Field(..., max_length=500)


class RateOut(Schema):
    numerator: int
    denominator: int
    percent: float | None = Field(None, description="Rounded half-up to one decimal place; null when nothing to rate")


class PeriodOut(Schema):
    kind: str
    key: str
    first: date
    last: date


class FiguresQuery(Schema):
    place_id: int
    period: str | None = Field(None, description="2026-W10, 2026-03, 2026-Q1, 2026 or 2026-03-01..2026-03-31")


def period_of(key: str | None) -> Period:
    """A period from its key ("2026-W10", "2026-03", "2026-Q1", "2026", "2026-03-01..2026-03-31"); this month by
    default."""
    if not key:
        today = timezone.localdate()
        return Period.month(today.year, today.month)
    return Period.from_key(key)


def active_place(place_id: Any) -> Place:
    try:
        place = Place.objects.filter(pk=int(place_id), is_active=True).first()
    except (TypeError, ValueError):
        place = None
    if place is None:
        raise NotFound()
    return place


def active_account(account_id: int | None, field: str) -> Account | None:
    if account_id is None:
        return None
    account = Account.objects.filter(pk=account_id, is_active=True).first()
    if account is None:
        raise ValidationFailed(fields={field: _("No such person.")})
    return account


def reporter_resident(request, resident_id: int | None) -> Resident | None:
    return access_resident(request.user, resident_id) if resident_id is not None else None
