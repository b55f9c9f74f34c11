"""Excel exports of volunteering: the employer's report card of its registered members (names masked)."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _

from gongzhi.core.figures import Period
from gongzhi.people.models import Organisation

from .selectors import MemberRecord

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def employer_report_xlsx(organisation: Organisation, period: Period, records: list[MemberRecord]) -> bytes:
    """One sheet: a row per registered member with service and points in the period, and a totals row."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = period.key
    sheet.append(
        [
            _("%(organisation)s: in-service party members' home-community service, %(period)s")
            % {"organisation": organisation.name, "period": period.key}
        ]
    )
    headers = [
        _("Name"),
        _("Home community"),
        _("Registered on"),
        _("Activities attended"),
        _("Credit hours"),
        _("Honour hours"),
        _("Home-service weeks served"),
        _("Wishes fulfilled"),
        _("Points claimed"),
        _("Points approved"),
    ]
    sheet.append(headers)
    for record in records:
        sheet.append(
            [
                record.name,
                record.community,
                record.registration.registered_on.isoformat(),
                record.activities,
                record.credit_hours,
                record.honour_hours,
                record.home_weeks,
                record.wishes,
                record.points_claimed,
                record.points_approved,
            ]
        )
    sheet.append(
        [
            _("Total"),
            "",
            "",
            sum(r.activities for r in records),
            round(sum(r.credit_hours for r in records), 1),
            round(sum(r.honour_hours for r in records), 1),
            sum(r.home_weeks for r in records),
            sum(r.wishes for r in records),
            sum(r.points_claimed for r in records),
            sum(r.points_approved for r in records),
        ]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
