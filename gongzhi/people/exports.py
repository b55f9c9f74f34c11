"""Excel exports of residents. Always masked: an export never carries a full ID card number or phone."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from gongzhi.core.access import require_reach
from gongzhi.core.audit import audit_record
from gongzhi.core.masking import mask_phone
from gongzhi.core.roles import Permission
from gongzhi.places.models import Place
from gongzhi.places.selectors import place_names_in_subtree

from .selectors import ResidentFilters, resident_list

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _columns() -> list[tuple[str, int]]:
    """(header, width) of each column; headers are in Chinese whatever the page language."""
    with translation.override("zh-hans"):
        return [
            (_("No."), 6),
            (_("Name"), 12),
            (_("Gender"), 6),
            (_("Birth date"), 12),
            (_("ID card number"), 22),
            (_("Phone"), 15),
            (_("Address"), 30),
            (_("Relation to householder"), 12),
            (_("Tags"), 24),
            (_("Party member"), 8),
            (_("Party organisation"), 24),
        ]


def _address(resident: Any, place: Place, names: dict[int, str]) -> str:
    """Names from just below the exported place down to the household: "1号楼 1单元 101"."""
    household = resident.household
    parts = [names[item_id] for item_id in household.ancestor_ids if item_id in names and item_id != place.pk]
    parts.append(household.name)
    return " ".join(parts)


def residents_workbook(*, place: Place, residents: Any, names: dict[int, str]) -> tuple[bytes, int]:
    """Build the .xlsx (masked ID card and phone, header row, frozen header, column widths); (bytes, rows)."""
    workbook = Workbook(write_only=True)
    with translation.override("zh-hans"):
        sheet = workbook.create_sheet(title=_("Residents")[:31])
        yes, no = _("yes"), _("no")
    columns = _columns()
    for index, (_header, width) in enumerate(columns):
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    sheet.freeze_panes = "A2"
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="FFE8E8E8")
    header = []
    for title, _width in columns:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center")
        header.append(cell)
    sheet.append(header)
    rows = 0
    with translation.override("zh-hans"):
        for resident in residents:
            rows += 1
            membership = getattr(resident, "party_membership", None)
            is_member = membership is not None and membership.is_active
            sheet.append(
                [
                    rows,
                    resident.name,
                    resident.get_gender_display(),
                    resident.birth_date,
                    resident.id_card_masked,
                    mask_phone(resident.phone),
                    _address(resident, place, names),
                    resident.get_relation_display(),
                    "、".join(str(tag.get_code_display()) for tag in resident.tags.all()),
                    yes if is_member else no,
                    membership.organisation.name if is_member else "",
                ]
            )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), rows


def resident_export(*, actor: Any, place: Place, filters: ResidentFilters | None = None) -> tuple[bytes, int]:
    """The residents under ``place`` the actor may export, as masked .xlsx bytes; the export is audited.

    Raises NotFound when ``place`` lies outside the actor's reach for ``resident.export``.
    """
    require_reach(actor, Permission.RESIDENT_EXPORT, place.path)
    filters = replace(filters or ResidentFilters(), place=place)
    residents = resident_list(actor, filters, permission=Permission.RESIDENT_EXPORT)
    content, rows = residents_workbook(
        place=place, residents=residents.iterator(chunk_size=2000), names=place_names_in_subtree(place)
    )
    with transaction.atomic():
        audit_record(actor=actor, action="resident.export", target=place, place_path=place.path, changes={"rows": rows})
    return content, rows


def export_filename(place: Place) -> str:
    return f"residents-{place.pk}-{timezone.localdate():%Y%m%d}.xlsx"
