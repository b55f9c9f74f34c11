"""The yearly report-back of an organisation as an Excel workbook, for its supervising department."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def report_rows(figures: dict[str, Any]) -> list[tuple[str, Any]]:
    """(label, value) of the report-back, in the order of the printed page (labels in the active language)."""
    return [
        (_("Co-building agreements"), figures["agreements"]),
        (_("Micro-projects claimed"), figures["projects_claimed"]),
        (_("Micro-projects completed"), figures["projects_completed"]),
        (_("Average rating by residents"), figures["average_rating"] if figures["average_rating"] is not None else "—"),
        (_("Co-building activities"), figures["activities"]),
        (_("Points earned (approved)"), figures["points"]),
        (_("Pairings"), figures["pairings"]),
        (_("Commitments"), figures["commitments"]),
        (_("Commitments kept"), figures["commitments_kept"]),
        (_("Matters solved from meetings"), figures["matters_solved"]),
        (_("Quarters assessed (property management)"), figures["assessment_quarters"]),
        (
            _("Average weighted score"),
            figures["assessment_average"] if figures["assessment_average"] is not None else "—",
        ),
        (
            _("Stars after the last quarter"),
            figures["assessment_stars"] if figures["assessment_stars"] is not None else "—",
        ),
        (_("Rewards"), figures["assessment_rewards"]),
    ]


def report_back_workbook(organisation: Any, figures: dict[str, Any]) -> bytes:
    """One sheet: the organisation, its department, the year, then one row per figure (headers in Chinese)."""
    with translation.override("zh-hans"):
        book = Workbook()
        sheet = book.active
        sheet.title = str(figures["year"])
        sheet.append([_("Organisation"), organisation.name])
        sheet.append([_("Supervising department"), organisation.supervising_department])
        sheet.append([_("Year"), figures["year"]])
        sheet.append([])
        sheet.append([_("Figure"), _("Value")])
        for cell in sheet[5]:
            cell.font = Font(bold=True)
        for label, value in report_rows(figures):
            sheet.append([label, float(value) if isinstance(value, Decimal) else value])
        sheet.column_dimensions["A"].width = 36
        sheet.column_dimensions["B"].width = 24
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
