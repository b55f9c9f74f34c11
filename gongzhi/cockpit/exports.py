"""The ledger workbook ("工作台账") of the whole cockpit: one .xlsx for a place and period, a sheet per domain, each
figure with its definition, a rate with its numerator and denominator. Figures only, so nothing personal is in it
(masked by default: no names, no phone numbers, no ID numbers)."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from gongzhi.core.figures import Rate
from gongzhi.core.kpi_catalogue import FigureValue, Snapshot
from gongzhi.places.models import Place

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")
_INVALID_SHEET_CHARACTERS = str.maketrans({character: " " for character in "[]:*?/\\"})


def _sheet_title(name: str, used: set[str]) -> str:
    title = name.translate(_INVALID_SHEET_CHARACTERS)[:31] or "sheet"
    candidate, number = title, 2
    while candidate in used:
        candidate = f"{title[:28]} {number}"
        number += 1
    used.add(candidate)
    return candidate


def figure_rows(value: FigureValue) -> list[list]:
    """The workbook rows of one figure: key, name, value, numerator, denominator, unit, definition (a mapping: one
    row per entry below its figure)."""
    figure = value.figure
    raw = value.value
    numerator = denominator = None
    if isinstance(raw, Rate):
        cell: object = None if raw.percent is None else float(raw.percent)
        numerator, denominator = raw.numerator, raw.denominator
    elif isinstance(raw, Decimal):
        cell = float(raw)
    elif isinstance(raw, int) and not isinstance(raw, bool):
        cell = raw
    else:
        cell = value.shown
    if cell is None:
        cell = value.shown  # "—": nothing to rate, never 0 %
    definition = str(figure.definition)
    if figure.numerator is not None:
        definition += " " + _("Numerator: %(numerator)s; denominator: %(denominator)s.") % {
            "numerator": figure.numerator,
            "denominator": figure.denominator,
        }
    rows = [[value.key, str(figure.name), cell, numerator, denominator, _unit_label(figure.unit), definition]]
    for label, count in value.entries():
        rows.append(["", f"  {label}", count, None, None, "", ""])
    return rows


def _unit_label(unit: str) -> str:
    labels = {
        "count": _("count"),
        "points": _("points"),
        "amount": _("yuan"),
        "rate": _("percent"),
        "per_10000": _("per 10,000 residents"),
        "ratio": _("ratio"),
        "mapping": _("by kind"),
        "values": _("values"),
    }
    return str(labels.get(unit, unit))


def cockpit_workbook(*, place: Place, snapshot: Snapshot, generated_at: datetime) -> bytes:
    """The workbook's bytes: an overview sheet, then a sheet per domain of the snapshot."""
    workbook = Workbook()
    overview = workbook.active
    used: set[str] = set()
    overview.title = _sheet_title(_("Overview"), used)
    period = snapshot.period
    overview.append([_("Work ledger of the cockpit")])
    overview["A1"].font = Font(bold=True, size=14)
    overview.append([_("Place"), place.name])
    overview.append([_("Period"), f"{period.first.isoformat()} – {period.last.isoformat()} ({period.key})"])
    overview.append([_("Generated at"), generated_at.strftime("%Y-%m-%d %H:%M")])
    overview.append([_("Figures only: no personal data is in this workbook.")])
    overview.append([])
    overview.append([_("Domain"), _("Figures")])
    for domain_values in snapshot.domains:
        overview.append([str(domain_values.domain.name), sum(len(group.values) for group in domain_values.groups)])
    overview.column_dimensions["A"].width = 28
    overview.column_dimensions["B"].width = 48
    headers = [
        _("Key"),
        _("Figure"),
        _("Value"),
        _("Numerator"),
        _("Denominator"),
        _("Unit"),
        _("How it is counted"),
    ]
    widths = (30, 30, 14, 12, 12, 14, 90)
    for domain_values in snapshot.domains:
        sheet = workbook.create_sheet(_sheet_title(str(domain_values.domain.name), used))
        sheet.append([str(header) for header in headers])
        for cell in sheet[1]:
            cell.font = _BOLD
        for group_values in domain_values.groups:
            sheet.append([str(group_values.group.name)])
            sheet.cell(row=sheet.max_row, column=1).font = _BOLD
            for value in group_values.values:
                for row in figure_rows(value):
                    sheet.append(row)
                    sheet.cell(row=sheet.max_row, column=7).alignment = _WRAP
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
