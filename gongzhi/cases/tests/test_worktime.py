"""Working-time arithmetic: windows, nights, weekends, holidays and make-up working days from the calendar."""

from __future__ import annotations

from datetime import date

import pytest

from gongzhi.cases.models import CalendarDay, CalendarDayKind
from gongzhi.cases.worktime import WorkCalendar, add_working_time

from .factories import local

PLAIN = WorkCalendar()


def test_hours_inside_one_window():
    assert add_working_time(local("2026-11-16 09:30"), hours=2, calendar=PLAIN) == local("2026-11-16 11:30")


def test_hours_skip_the_lunch_break_and_the_night():
    assert add_working_time(local("2026-11-16 11:00"), hours=2, calendar=PLAIN) == local("2026-11-16 14:00")
    # 17:00 Monday + 3h: one hour Monday, then 09:00–11:00 Tuesday.
    assert add_working_time(local("2026-11-16 17:00"), hours=3, calendar=PLAIN) == local("2026-11-17 11:00")


def test_hours_started_outside_working_time_count_from_the_next_window():
    assert add_working_time(local("2026-11-16 20:00"), hours=1, calendar=PLAIN) == local("2026-11-17 10:00")
    # Friday evening: the weekend does not count.
    assert add_working_time(local("2026-11-20 19:00"), hours=1, calendar=PLAIN) == local("2026-11-23 10:00")


def test_exactly_a_window_ends_at_its_end():
    assert add_working_time(local("2026-11-16 13:00"), hours=5, calendar=PLAIN) == local("2026-11-16 18:00")


def test_days_keep_the_time_of_day_and_skip_weekends():
    assert add_working_time(local("2026-11-20 10:00"), days=1, calendar=PLAIN) == local("2026-11-23 10:00")
    assert add_working_time(local("2026-11-20 20:00"), days=1, calendar=PLAIN) == local("2026-11-24 09:00")


def test_holidays_and_make_up_days_from_the_calendar(db):
    CalendarDay.objects.create(date=date(2026, 11, 23), kind=CalendarDayKind.HOLIDAY, name="假日")
    CalendarDay.objects.create(date=date(2026, 11, 21), kind=CalendarDayKind.WORKDAY, name="调休上班")
    calendar = WorkCalendar.load(since=date(2026, 11, 1))
    # Friday 17:00 + 2h: one hour Friday, Saturday is a make-up working day.
    assert add_working_time(local("2026-11-20 17:00"), hours=2, calendar=calendar) == local("2026-11-21 10:00")
    # Saturday + 1 working day: Sunday off, Monday a holiday → Tuesday.
    assert add_working_time(local("2026-11-21 10:00"), days=1, calendar=calendar) == local("2026-11-24 10:00")
    # Without a calendar passed, the stored one is used.
    assert add_working_time(local("2026-11-21 10:00"), days=1) == local("2026-11-24 10:00")


def test_hours_or_days_not_both():
    with pytest.raises(ValueError):
        add_working_time(local("2026-11-16 10:00"), hours=1, days=1, calendar=PLAIN)
