"""Figures every report shares: exact rates and calendar periods.

A rate always carries its numerator and denominator and is computed exactly (seed 004 printed 84 % for 3,218 of
3,747, which is 85.9 %): ``Rate(3218, 3747).percent == Decimal("85.9")``. A period is a whole number of local days
(Asia/Shanghai, ``settings.TIME_ZONE``); weeks start on Monday.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .errors import ValidationFailed

_ONE_PLACE = Decimal("0.1")


@dataclass(frozen=True)
class Rate:
    """numerator / denominator as a percentage, rounded half-up to one decimal place; None when nothing to rate."""

    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        if self.numerator < 0 or self.denominator < 0:
            raise ValueError("A rate counts things: numerator and denominator cannot be negative.")

    @property
    def percent(self) -> Decimal | None:
        if not self.denominator:
            return None
        value = Decimal(self.numerator) * 100 / Decimal(self.denominator)
        return value.quantize(_ONE_PLACE, rounding=ROUND_HALF_UP)

    def as_dict(self) -> dict:
        percent = self.percent
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "percent": None if percent is None else float(percent),
        }

    def __str__(self) -> str:
        percent = self.percent
        shown = "–" if percent is None else f"{percent} %"
        return f"{shown} ({self.numerator:,}/{self.denominator:,})"


class PeriodKind:
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    CUSTOM = "custom"
    ALL = (WEEK, MONTH, QUARTER, YEAR, CUSTOM)


_KEY_PATTERNS = (
    (PeriodKind.WEEK, re.compile(r"^(\d{4})-W(\d{2})$")),
    (PeriodKind.QUARTER, re.compile(r"^(\d{4})-Q([1-4])$")),
    (PeriodKind.MONTH, re.compile(r"^(\d{4})-(\d{2})$")),
    (PeriodKind.YEAR, re.compile(r"^(\d{4})$")),
    (PeriodKind.CUSTOM, re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")),
)


@dataclass(frozen=True)
class Period:
    """Local days ``first`` … ``last`` (both included) of a week, month, quarter, year or custom range."""

    kind: str
    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValidationFailed(fields={"period": _("The period ends before it starts.")})

    # ---- constructors

    @classmethod
    def week(cls, day: date) -> Period:
        """The Monday-start week holding ``day``."""
        first = day - timedelta(days=day.weekday())
        return cls(PeriodKind.WEEK, first, first + timedelta(days=6))

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        first = date(year, month, 1)
        following = date(year + (month == 12), month % 12 + 1, 1)
        return cls(PeriodKind.MONTH, first, following - timedelta(days=1))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        if quarter not in (1, 2, 3, 4):
            raise ValidationFailed(fields={"period": _("A quarter is 1, 2, 3 or 4.")})
        first_month = 3 * (quarter - 1) + 1
        return cls(PeriodKind.QUARTER, date(year, first_month, 1), cls.month(year, first_month + 2).last)

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(PeriodKind.YEAR, date(year, 1, 1), date(year, 12, 31))

    @classmethod
    def custom(cls, first: date, last: date) -> Period:
        return cls(PeriodKind.CUSTOM, first, last)

    @classmethod
    def containing(cls, kind: str, day: date) -> Period:
        """The week, month, quarter or year that holds ``day``."""
        if kind == PeriodKind.WEEK:
            return cls.week(day)
        if kind == PeriodKind.MONTH:
            return cls.month(day.year, day.month)
        if kind == PeriodKind.QUARTER:
            return cls.quarter(day.year, (day.month - 1) // 3 + 1)
        if kind == PeriodKind.YEAR:
            return cls.year(day.year)
        raise ValidationFailed(fields={"period": _("Choose week, month, quarter or year.")})

    @classmethod
    def from_key(cls, key: str) -> Period:
        """Parse "2026-W10", "2026-03", "2026-Q1", "2026" or "2026-03-01..2026-03-31"."""
        key = (key or "").strip()
        try:
            for kind, pattern in _KEY_PATTERNS:
                match = pattern.match(key)
                if match is None:
                    continue
                if kind == PeriodKind.WEEK:
                    return cls.week(date.fromisocalendar(int(match[1]), int(match[2]), 1))
                if kind == PeriodKind.QUARTER:
                    return cls.quarter(int(match[1]), int(match[2]))
                if kind == PeriodKind.MONTH:
                    return cls.month(int(match[1]), int(match[2]))
                if kind == PeriodKind.YEAR:
                    return cls.year(int(match[1]))
                return cls.custom(date.fromisoformat(match[1]), date.fromisoformat(match[2]))
        except ValueError:
            pass
        raise ValidationFailed(
            fields={"period": _("Write a period as 2026-W10, 2026-03, 2026-Q1, 2026 or 2026-03-01..2026-03-31.")}
        )

    # ---- reading

    @property
    def key(self) -> str:
        if self.kind == PeriodKind.WEEK:
            year, week, _day = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == PeriodKind.MONTH:
            return f"{self.first:%Y-%m}"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"
        if self.kind == PeriodKind.YEAR:
            return f"{self.first.year}"
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    @property
    def start(self) -> datetime:
        """The first instant (aware, local midnight of ``first``)."""
        return timezone.make_aware(datetime.combine(self.first, time.min))

    @property
    def end(self) -> datetime:
        """The first instant after the period (exclusive bound)."""
        return timezone.make_aware(datetime.combine(self.last + timedelta(days=1), time.min))

    def previous(self) -> Period:
        """The period of the same kind just before (a custom range: the same number of days before)."""
        if self.kind == PeriodKind.CUSTOM:
            days = (self.last - self.first).days + 1
            return Period.custom(self.first - timedelta(days=days), self.first - timedelta(days=1))
        return Period.containing(self.kind, self.first - timedelta(days=1))

    def as_dict(self) -> dict:
        return {"kind": self.kind, "key": self.key, "first": self.first.isoformat(), "last": self.last.isoformat()}


def plain_value(value: Any) -> Any:
    """A figure as JSON holds it: a Rate as its dict, containers item by item, the rest as it is."""
    if isinstance(value, Rate):
        return value.as_dict()
    if isinstance(value, dict):
        return {key: plain_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain_value(item) for item in value]
    return value


@dataclass(frozen=True)
class Figures:
    """The base of a group of figures (a frozen dataclass per group in each app's kpis.py): ``as_dict()`` for the
    API and exports."""

    def as_dict(self) -> dict:
        return {name: plain_value(getattr(self, name)) for name in self.__dataclass_fields__}  # type: ignore[attr-defined]
