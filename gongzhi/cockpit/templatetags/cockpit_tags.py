"""Template filters of the cockpit: a change with its sign, "—" when there is nothing to compare."""

from __future__ import annotations

from decimal import Decimal

from django import template

from gongzhi.core.kpi_catalogue import NO_VALUE, Unit

register = template.Library()


@register.filter
def signed(compared) -> str:
    """+12 / −3 / ±0 for a number, +2.5 pt for a rate (percentage points), "—" without a number."""
    change = compared.change
    if change is None:
        return NO_VALUE
    if isinstance(change, Decimal) and change == change.to_integral_value() and compared.current.unit != Unit.RATE:
        change = int(change)
    if change > 0:
        text = f"+{change:,}" if isinstance(change, int) else f"+{change}"
    elif change < 0:
        text = f"−{-change:,}" if isinstance(change, int) else f"−{-change}"
    else:
        text = "±0"
    return f"{text} pt" if compared.current.unit == Unit.RATE else text


@register.filter
def trend_direction(compared) -> str:
    change = compared.change
    if change is None:
        return "none"
    return "up" if change > 0 else "down" if change < 0 else "same"
