"""The period a cockpit request asks for: a key (``2026-Q3``), a custom range (``from`` / ``to``) or a kind of
period around a day (the page's chooser), read the same way by the pages and the API."""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext_lazy as _

from gongzhi.core.errors import ValidationFailed
from gongzhi.core.figures import Period, PeriodKind

FIRST_YEAR, LAST_YEAR = 2000, 2100
LONGEST_RANGE_DAYS = 366 * 5


def _day(value: date | str | None, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(fields={field: _("Enter a date as YYYY-MM-DD.")}) from None


def period_from(
    *,
    today: date,
    key: str | None = None,
    first: date | str | None = None,
    last: date | str | None = None,
    kind: str | None = None,
    day: date | str | None = None,
) -> Period:
    """The period asked for; this month when nothing is asked. Bad input raises ValidationFailed with the field.

    Precedence: ``first``/``last`` (both needed: a custom range), then ``key``, then ``kind`` around ``day``
    (default today). Periods lie between 2000 and 2100 and a custom range spans at most five years."""
    start, end = _day(first, "from"), _day(last, "to")
    if start is not None or end is not None:
        if start is None:
            raise ValidationFailed(fields={"from": _("Give the first day of the range too.")})
        if end is None:
            raise ValidationFailed(fields={"to": _("Give the last day of the range too.")})
        if end < start:
            raise ValidationFailed(fields={"to": _("The period ends before it starts.")})
        period = Period.custom(start, end)
    elif key:
        period = Period.from_key(key)
    elif kind:
        if kind not in PeriodKind.ALL or kind == PeriodKind.CUSTOM:
            raise ValidationFailed(fields={"kind": _("Choose week, month, quarter or year, or give a range.")})
        period = Period.containing(kind, _day(day, "day") or today)
    else:
        period = Period.month(today.year, today.month)
    if period.first.year < FIRST_YEAR or period.last.year > LAST_YEAR:
        raise ValidationFailed(fields={"period": _("Choose a period between 2000 and 2100.")})
    if (period.last - period.first).days >= LONGEST_RANGE_DAYS:
        raise ValidationFailed(fields={"period": _("A custom range spans five years at most.")})
    return period
