"""Searching and exporting the audit log: for those who hold ``audit.view``, within the places they reach.

``audit_search(actor, filters)`` is the one read (entries whose ``place_path`` lies in the actor's reach; entries
without a place only for superusers). ``audit_export`` writes the same rows as .xlsx and is itself audited.
``masked_changes`` hides personal data inside an entry's ``changes`` (names, phones, ID card numbers, addresses, by
key and by shape) on the page and in the export alike.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from .access import reach, require_authenticated
from .audit import audit_record
from .errors import NotFound, ValidationFailed
from .masking import mask_id_card, mask_name, mask_phone
from .models import AuditEntry
from .roles import Permission

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_LIMIT = 50_000


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""  # exact, or a prefix ending in "." ("points.")
    actor: str = ""  # part of the actor's name
    object_type: str = ""
    object_id: str = ""
    place_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    @property
    def any(self) -> bool:
        return any(
            (self.action, self.actor, self.object_type, self.object_id, self.place_id, self.date_from, self.date_to)
        )


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed(fields={field: _("Enter a date as YYYY-MM-DD.")}) from None


def parse_filters(query: Any) -> AuditFilters:
    """The filters of a page's or an export's query string (``ValidationFailed`` on a garbled date or place)."""
    place = (query.get("place") or "").strip()
    if place and not place.isdigit():
        raise ValidationFailed(fields={"place": _("Choose a place from the list.")})
    filters = AuditFilters(
        action=(query.get("action") or "").strip()[:64],
        actor=(query.get("actor") or "").strip()[:150],
        object_type=(query.get("object_type") or "").strip()[:64],
        object_id=(query.get("object_id") or "").strip()[:64],
        place_id=int(place) if place else None,
        date_from=_day(query.get("from") or "", "from"),
        date_to=_day(query.get("to") or "", "to"),
    )
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise ValidationFailed(fields={"to": _("The end date is before the start date.")})
    return filters


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_search(actor: Any, filters: AuditFilters) -> QuerySet[AuditEntry]:
    """Entries the actor may read (``audit.view`` on their place's subtree), newest first, matching ``filters``.

    Raises NotFound for someone who reads the audit log nowhere, and for a place outside their reach.
    """
    require_authenticated(actor)
    scope = reach(actor, Permission.AUDIT_VIEW)
    if scope.is_empty:
        raise NotFound()
    entries = AuditEntry.objects.filter(scope.q("place_path")).select_related(None)
    if filters.place_id is not None:
        Place = apps.get_model("places", "Place")  # core names the place tree without importing the app
        path = Place.objects.filter(pk=filters.place_id).values_list("path", flat=True).first()
        if path is None or not scope.covers(path):
            raise NotFound()
        entries = entries.filter(place_path__startswith=path)
    if filters.action:
        if filters.action.endswith("."):
            entries = entries.filter(action__startswith=filters.action)
        else:
            entries = entries.filter(action=filters.action)
    if filters.actor:
        entries = entries.filter(actor_label__icontains=filters.actor)
    if filters.object_type:
        entries = entries.filter(object_type=filters.object_type)
    if filters.object_id:
        entries = entries.filter(object_id=filters.object_id)
    if filters.date_from:
        entries = entries.filter(occurred_at__gte=_aware(filters.date_from))
    if filters.date_to:
        entries = entries.filter(occurred_at__lt=_aware(filters.date_to + timedelta(days=1)))
    return entries.order_by("-occurred_at", "-id")


def audit_actions(actor: Any) -> list[str]:
    """The action names that occur in the actor's reach (for the filter's list)."""
    scope = reach(actor, Permission.AUDIT_VIEW)
    if scope.is_empty:
        return []
    rows = AuditEntry.objects.filter(scope.q("place_path")).order_by("action").values_list("action", flat=True)
    return list(rows.distinct())


# ---------------------------------------------------------------- masking


_PHONE_KEYS = {"phone", "mobile", "telephone", "contact_phone", "phone_number"}
_ID_KEYS = {"id_card", "id_card_number", "id_number", "id_no", "identity_card"}
_NAME_KEYS = {"name", "resident_name", "real_name", "full_name", "contact_name", "householder"}
_ADDRESS_KEYS = {"address", "home_address"}
_ID_SHAPE = re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[\dXx])(?!\d)")
_PHONE_SHAPE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def _mask_text(text: str) -> str:
    text = _ID_SHAPE.sub(lambda match: mask_id_card(match.group(0)), text)
    return _PHONE_SHAPE.sub(lambda match: mask_phone(match.group(0)), text)


def _mask_value(key: str, value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _mask_value(str(name), item) for name, item in value.items()}
    if isinstance(value, list):
        return [_mask_value(key, item) for item in value]
    if not isinstance(value, str):
        return value
    lowered = key.lower()
    if lowered in _ID_KEYS:
        return mask_id_card(value)
    if lowered in _PHONE_KEYS:
        return mask_phone(value)
    if lowered in _NAME_KEYS:
        return mask_name(value)
    if lowered in _ADDRESS_KEYS:
        return value[:3] + "*" * max(0, len(value) - 3)
    return _mask_text(value)


def masked_changes(changes: Any) -> Any:
    """``changes`` with personal data masked: by key (name, phone, ID card, address, also as ``[old, new]``) and
    any ID card number or mobile number written inside other text."""
    return _mask_value("", changes if changes is not None else {})


def masked_changes_text(changes: Any) -> str:
    return json.dumps(masked_changes(changes), ensure_ascii=False, sort_keys=True)


# ---------------------------------------------------------------- export


def _columns() -> list[tuple[str, int]]:
    with translation.override("zh-hans"):
        return [
            (_("Time"), 20),
            (_("Actor"), 14),
            (_("Action"), 28),
            (_("Object type"), 20),
            (_("Object id"), 10),
            (_("Place path"), 20),
            (_("Channel"), 8),
            (_("Source address"), 16),
            (_("Stated purpose"), 20),
            (_("Changes"), 60),
            (_("Chain"), 8),
            (_("Sequence"), 8),
            (_("Hash"), 66),
        ]


def audit_export(*, actor: Any, filters: AuditFilters, now: datetime) -> tuple[bytes, int]:
    """The entries ``audit_search`` gives (at most EXPORT_LIMIT), as .xlsx bytes with personal data masked; the
    export is audited (who, which filters, how many rows) on the actor's top place in reach."""
    entries = audit_search(actor, filters)
    workbook = Workbook(write_only=True)
    with translation.override("zh-hans"):
        sheet = workbook.create_sheet(title=_("Audit log")[:31])
    columns = _columns()
    for index, (_title, width) in enumerate(columns):
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    sheet.freeze_panes = "A2"
    header = []
    for title, _width in columns:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    rows = 0
    for entry in entries[:EXPORT_LIMIT].iterator(chunk_size=2000):
        rows += 1
        sheet.append(
            [
                timezone.localtime(entry.occurred_at).strftime("%Y-%m-%d %H:%M:%S"),
                entry.actor_label,
                entry.action,
                entry.object_type,
                entry.object_id,
                entry.place_path,
                entry.channel,
                entry.source_ip or "",
                entry.purpose,
                masked_changes_text(entry.changes),
                entry.chain,
                entry.seq,
                entry.hash,
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    scope = reach(actor, Permission.AUDIT_VIEW)
    place_path = "" if scope.everything else scope.paths[0]
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="audit.export",
            place_path=place_path,
            changes={"rows": rows, "filters": _filters_record(filters)},
            occurred_at=now,
        )
    return buffer.getvalue(), rows


def _filters_record(filters: AuditFilters) -> dict[str, Any]:
    return {
        name: value.isoformat() if isinstance(value, date) else value
        for name, value in filters.__dict__.items()
        if value not in ("", None)
    }
