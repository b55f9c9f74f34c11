"""Working-time arithmetic for case deadlines: working hours and working days with the staff-maintained calendar.

A day is a working day when the calendar marks it as a make-up working day (调休上班), or when it is Monday to
Friday and not marked as a holiday. Working hours are windows of the local day (Asia/Shanghai), by default
09:00–12:00 and 13:00–18:00; a deployment may set ``GONGZHI_CASE_WORKING_HOURS`` to other windows.

- ``hours``: the deadline is reached after that many hours inside working windows.
- ``days``: the start moves to the next working moment (if it is outside working hours), then forward that many
  working days at the same time of day: received Friday 10:00, 1 working day → Monday 10:00 (or Tuesday when
  Monday is a holiday); received Friday 20:00 → starts Monday 09:00 → Tuesday 09:00.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

DEFAULT_WINDOWS: tuple[tuple[str, str], ...] = (("09:00", "12:00"), ("13:00", "18:00"))
_MAX_DAYS = 3 * 366  # a deadline further away than this means a broken calendar


def _parse(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def working_windows() -> tuple[tuple[time, time], ...]:
    windows = tuple(
        (_parse(start), _parse(end)) for start, end in getattr(settings, "GONGZHI_CASE_WORKING_HOURS", DEFAULT_WINDOWS)
    )
    if not windows or any(start >= end for start, end in windows):
        raise ValueError("GONGZHI_CASE_WORKING_HOURS must be non-empty (start, end) windows with start before end")
    return tuple(sorted(windows))


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)
    windows: tuple[tuple[time, time], ...] = field(default_factory=working_windows)

    @classmethod
    def load(cls, since: date | None = None) -> WorkCalendar:
        """The calendar as staff keep it (``CalendarDay`` rows), from ``since`` (default: a week ago) onward."""
        from .models import CalendarDay, CalendarDayKind

        since = since or (timezone.localdate() - timedelta(days=7))
        holidays, workdays = set(), set()
        for day, kind in CalendarDay.objects.filter(date__gte=since).values_list("date", "kind"):
            (holidays if kind == CalendarDayKind.HOLIDAY else workdays).add(day)
        return cls(holidays=frozenset(holidays), workdays=frozenset(workdays))

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def _at(self, day: date, moment: time) -> datetime:
        return timezone.make_aware(datetime.combine(day, moment))

    def next_working_moment(self, start: datetime) -> datetime:
        """``start`` itself when it falls inside working hours, else the start of the next working window."""
        local = timezone.localtime(start)
        day = local.date()
        for _ in range(_MAX_DAYS):
            if self.is_working_day(day):
                for window_start, window_end in self.windows:
                    begin, end = self._at(day, window_start), self._at(day, window_end)
                    if local < end:
                        return max(local, begin)
            day += timedelta(days=1)
        raise ValueError("No working time found within three years: check the working calendar")


def add_working_time(
    start: datetime, *, hours: float | None = None, days: int | None = None, calendar: WorkCalendar | None = None
) -> datetime:
    """The moment ``hours`` working hours or ``days`` working days after ``start`` (exactly one of the two)."""
    if (hours is None) == (days is None):
        raise ValueError("Give either hours or days")
    calendar = calendar or WorkCalendar.load(since=timezone.localtime(start).date())
    if days is not None:
        if days < 0:
            raise ValueError("days must not be negative")
        begin = timezone.localtime(calendar.next_working_moment(start))
        day = begin.date()
        remaining = days
        for _ in range(_MAX_DAYS):
            if remaining == 0:
                return calendar._at(day, begin.time())
            day += timedelta(days=1)
            if calendar.is_working_day(day):
                remaining -= 1
        raise ValueError("No working day found within three years: check the working calendar")
    if hours < 0:
        raise ValueError("hours must not be negative")
    remaining_time = timedelta(hours=hours)
    local = timezone.localtime(start)
    if remaining_time == timedelta(0):
        return local
    day = local.date()
    for _ in range(_MAX_DAYS):
        if calendar.is_working_day(day):
            for window_start, window_end in calendar.windows:
                begin, end = calendar._at(day, window_start), calendar._at(day, window_end)
                if local >= end:
                    continue
                begin = max(begin, local)
                available = end - begin
                if remaining_time <= available:
                    return begin + remaining_time
                remaining_time -= available
        day += timedelta(days=1)
    raise ValueError("No working time found within three years: check the working calendar")
