"""The monthly settlement as an Excel workbook, for the street office that subsidises merchants."""

from __future__ import annotations

import io
from datetime import date

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from gongzhi.core.access import reach
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import NotFound
from gongzhi.core.roles import Permission
from gongzhi.people.models import Organisation

from .access import clerk_merchant_ids
from .selectors import settlement

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def settlement_export(*, actor: Actor, month: date, merchant: Organisation | None = None) -> bytes:
    """Rows as on the settlement page (same scope), headers in Chinese; the export is audited."""
    rows = settlement(actor, month, merchant=merchant)
    nobody_here = not rows and merchant is None and not getattr(actor, "is_superuser", False)
    if nobody_here and reach(actor, Permission.SETTLEMENT_VIEW).is_empty and not clerk_merchant_ids(actor):
        raise NotFound()
    with translation.override("zh-hans"):
        headers = [
            _("Month"),
            _("Community"),
            _("Merchant"),
            _("Orders"),
            _("Items"),
            _("Points redeemed"),
            _("Value given (yuan)"),
            _("Cash paid (yuan)"),
        ]
        own_shop = _("Community points shop")
        total_label = _("Total")
    book = Workbook()
    sheet = book.active
    sheet.title = f"{month:%Y-%m}"
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(
            [
                f"{month:%Y-%m}",
                row.community_name,
                row.merchant_name or own_shop,
                row.orders,
                row.quantity,
                row.points,
                float(row.discount_value),
                float(row.cash_due),
            ]
        )
    sheet.append(
        [
            total_label,
            "",
            "",
            sum(r.orders for r in rows),
            sum(r.quantity for r in rows),
            sum(r.points for r in rows),
            float(sum(r.discount_value for r in rows)),
            float(sum(r.cash_due for r in rows)),
        ]
    )
    for column, width in zip("ABCDEFGH", (10, 20, 28, 8, 8, 12, 14, 14), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="shop.settlement_export",
            changes={"month": f"{month:%Y-%m}", "merchant": merchant.pk if merchant else None, "rows": len(rows)},
        )
    return buffer.getvalue()
