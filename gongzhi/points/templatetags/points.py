"""Template helpers for the points pages: ``{% load points %}``."""

from __future__ import annotations

import re
from datetime import date, timedelta

from django import template
from django.utils.dates import MONTHS_3
from django.utils.translation import gettext as _

register = template.Library()

ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@register.filter
def week_label(code: str | None) -> str:
    """An ISO week code as people read it: "2026-W47" → "2026年第47周（11月16日–11月22日）", in English
    "Week 47, 16–22 Nov 2026". Anything that is not a week code is shown as it is."""
    match = ISO_WEEK.match(str(code or "").strip())
    if match is None:
        return code or ""
    year, week = int(match[1]), int(match[2])
    try:
        first = date.fromisocalendar(year, week, 1)
    except ValueError:
        return code or ""
    last = first + timedelta(days=6)
    parts = {
        "year": year,
        "week": week,
        "start_year": first.year,
        "start_month": str(MONTHS_3[first.month]).title(),
        "start_month_number": first.month,
        "start_day": first.day,
        "end_year": last.year,
        "end_month": str(MONTHS_3[last.month]).title(),
        "end_month_number": last.month,
        "end_day": last.day,
    }
    if first.year != last.year:
        text = _("Week %(week)d, %(start_day)d %(start_month)s %(start_year)d – %(end_day)d %(end_month)s %(end_year)d")
    elif first.month != last.month:
        text = _("Week %(week)d, %(start_day)d %(start_month)s – %(end_day)d %(end_month)s %(end_year)d")
    else:
        text = _("Week %(week)d, %(start_day)d–%(end_day)d %(end_month)s %(end_year)d")
    return text % parts
