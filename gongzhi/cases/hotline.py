"""Import of the 12345 hotline's work orders from the spreadsheet the hotline sends (.xlsx).

Columns (first row, in any order): 工单号, 来电时间, 诉求类别, 诉求内容, 地址, 联系人, 联系电话.

Every row is checked first; when any row is bad the report lists each bad row (row number, column, reason) and
nothing is written. Otherwise each new work order becomes a case through ``case_submit`` (channel ``hotline``)
in one transaction. A work order number already imported is left alone (counted as unchanged), so importing the
same file twice changes nothing; the database's unique (channel, 工单号) constraint keeps two imports racing each
other from creating a case twice.

The address is matched to the deepest place under the importing place whose name it contains (community →
compound/grid → building …); when nothing matches, the case sits at the importing place itself.

From the pages the import runs in the background (``hotline_import_start``, the one runner in
``gongzhi.core.imports``), with a progress page; the API imports at once (``hotline_import``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import require_reach
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import NotFound
from gongzhi.core.imports import start_import
from gongzhi.core.models import Progress
from gongzhi.core.roles import Permission
from gongzhi.core.tree import subtree_q
from gongzhi.places.models import Place, PlaceKind

from .errors import CasesError
from .models import Case, CaseCategory, CaseChannel
from .services import case_submit

MAX_ROWS = 5_000
PROGRESS_KIND = "cases.hotline_import"
UPLOAD_FOLDER = "hotline"
MAX_FILE_BYTES = 10 * 1024 * 1024
HEADERS: dict[str, str] = {
    "external_ref": "工单号",
    "reported_at": "来电时间",
    "category": "诉求类别",
    "text": "诉求内容",
    "address": "地址",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
}
REQUIRED = ("external_ref", "reported_at", "category", "text")
_PHONE = re.compile(r"^[0-9+\-() ]{5,20}$")
_DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H:%M",
)


class RowError(NamedTuple):
    row: int  # the row number in Excel (the header is row 1)
    column: str  # the column header, or "" for the whole row
    message: str


@dataclass
class HotlineReport:
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    case_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "unchanged": self.unchanged,
            "error_count": len(self.errors),
            "errors": [list(error) for error in self.errors],
            "case_ids": self.case_ids,
        }


@dataclass
class _Row:
    number: int
    external_ref: str
    reported_at: datetime
    category: CaseCategory
    text: str
    address: str
    contact_name: str
    contact_phone: str


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\u3000", " ").strip()


def _read(file_obj: Any, filename: str) -> tuple[dict[str, int], list[tuple[int, tuple[Any, ...]]]]:
    from openpyxl import load_workbook

    if not (filename or "").lower().endswith(".xlsx"):
        raise CasesError.HOTLINE_FILE_REFUSED(_("Upload the hotline's Excel workbook saved as .xlsx."))
    size = getattr(file_obj, "size", None)
    if size is not None and size > MAX_FILE_BYTES:
        raise CasesError.HOTLINE_FILE_REFUSED(_("The file is larger than 10 MB. Split it into several files."))
    file_obj.seek(0)
    if not file_obj.read(4).startswith(b"PK"):
        raise CasesError.HOTLINE_FILE_REFUSED(_("This file is not an Excel .xlsx workbook."))
    file_obj.seek(0)
    try:
        workbook = load_workbook(file_obj, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for a damaged or foreign file
        damaged = _("This file is not an Excel .xlsx workbook, or it is damaged.")
        raise CasesError.HOTLINE_FILE_REFUSED(damaged) from None
    try:
        rows_iter = workbook.worksheets[0].iter_rows(values_only=True)
        header = next(rows_iter, None)
        if header is None:
            raise CasesError.HOTLINE_FILE_REFUSED(_("The file is empty."))
        by_header = {header_text: key for key, header_text in HEADERS.items()}
        positions: dict[str, int] = {}
        for index, value in enumerate(header):
            key = by_header.get(_text(value))
            if key and key not in positions:
                positions[key] = index
        missing = [HEADERS[key] for key in REQUIRED if key not in positions]
        if missing:
            raise CasesError.HOTLINE_FILE_REFUSED(
                _("The first row must hold the hotline's column headers. Missing: %(columns)s.")
                % {"columns": "、".join(missing)}
            )
        rows = []
        for number, values in enumerate(rows_iter, start=2):
            if values is None or all(_text(value) == "" for value in values):
                continue
            rows.append((number, values))
            if len(rows) > MAX_ROWS:
                raise CasesError.HOTLINE_FILE_REFUSED(_("The file has more than %(max)d rows.") % {"max": MAX_ROWS})
    finally:
        workbook.close()
    if not rows:
        raise CasesError.HOTLINE_FILE_REFUSED(_("The file has no rows to import below the header."))
    return positions, rows


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, datetime.min.time())
    else:
        text = _text(value)
        for pattern in _DATETIME_FORMATS:
            try:
                moment = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
        else:
            raise ValueError(text)
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _category_index() -> dict[str, CaseCategory]:
    index: dict[str, CaseCategory] = {}
    for category in CaseCategory.objects.filter(is_active=True):
        names = [category.name, category.code, *re.split(r"[,，、;；]", category.hotline_names)]
        for name in names:
            if name.strip():
                index.setdefault(name.strip().lower(), category)
    return index


class _PlaceMatcher:
    """Finds the deepest place under ``root`` whose names, read in order, appear in an address: each step takes
    the longest name found anywhere under the place matched so far (so an address may skip the grid level)."""

    def __init__(self, root: Place):
        self.root = root
        self.by_name: dict[str, list[tuple[int, str]]] = {}
        rows = (
            Place.objects.filter(subtree_q(root.path), is_active=True)
            .exclude(kind__in=(PlaceKind.ENTRANCE, PlaceKind.HOUSEHOLD))
            .exclude(pk=root.pk)
            .values_list("pk", "path", "name")
        )
        for pk, path, name in rows:
            if name:
                self.by_name.setdefault(name, []).append((pk, path))

    def match(self, address: str) -> int:
        candidates = [
            (pk, path, name) for name, places in self.by_name.items() if name in address for pk, path in places
        ]
        current, current_path, rest = self.root.pk, self.root.path, address
        while True:
            inside = [
                item
                for item in candidates
                if item[1].startswith(current_path) and item[1] != current_path and item[2] in rest
            ]
            if not inside:
                return current
            pk, path, name = max(inside, key=lambda item: (len(item[2]), -item[1].count("/")))
            current, current_path, rest = pk, path, rest.split(name, 1)[1]


def hotline_import(
    *, actor: Actor, place: Place, file_obj: Any, filename: str, now: datetime | None = None
) -> HotlineReport:
    """Import a hotline file for cases at or under ``place`` (usually a street or a community).

    Raises NotFound when the actor may not import cases there, ``hotline_file_refused`` when the file as a whole is
    unusable. Bad rows come back in ``report.errors`` and nothing is written.
    """
    now = now or timezone.now()
    if place is None or not place.is_active:
        raise NotFound()
    require_reach(actor, Permission.CASE_IMPORT, place.path)
    positions, raw_rows = _read(file_obj, filename)
    categories = _category_index()
    report = HotlineReport(rows=len(raw_rows))
    seen: dict[str, int] = {}
    parsed: list[_Row] = []

    def cell(values: tuple[Any, ...], key: str) -> Any:
        index = positions.get(key)
        return values[index] if index is not None and index < len(values) else None

    for number, values in raw_rows:
        errors_before = len(report.errors)

        def error(key: str, message: str, number: int = number) -> None:
            report.errors.append(RowError(number, HEADERS.get(key, ""), message))

        ref = _text(cell(values, "external_ref"))
        if not ref:
            error("external_ref", _("Fill in the work order number."))
        elif len(ref) > 64:
            error("external_ref", _("The work order number is longer than 64 characters."))
        elif ref in seen:
            error("external_ref", _("The same work order number is already on row %(row)d.") % {"row": seen[ref]})
        else:
            seen[ref] = number
        raw_time = cell(values, "reported_at")
        reported_at = None
        if raw_time is None or _text(raw_time) == "":
            error("reported_at", _("Fill in the call time."))
        else:
            try:
                reported_at = _parse_time(raw_time)
            except ValueError:
                error("reported_at", _("Write the call time as 2025-01-31 14:05."))
            else:
                if reported_at > now + timedelta(minutes=5):
                    error("reported_at", _("The call time is in the future."))
        category_text = _text(cell(values, "category"))
        category = categories.get(category_text.lower()) if category_text else None
        if not category_text:
            error("category", _("Fill in the category."))
        elif category is None:
            error(
                "category",
                _("No category is called “%(name)s”. Add it (or a hotline name) first.") % {"name": category_text},
            )
        text = _text(cell(values, "text"))
        if not text:
            error("text", _("Fill in what the caller asks."))
        elif len(text) > 2000:
            error("text", _("The request is longer than 2000 characters."))
        address = _text(cell(values, "address"))
        if len(address) > 255:
            error("address", _("The address is longer than 255 characters."))
        contact_name = _text(cell(values, "contact_name"))
        if len(contact_name) > 50:
            error("contact_name", _("The contact name is longer than 50 characters."))
        contact_phone = _text(cell(values, "contact_phone"))
        if contact_phone and not _PHONE.match(contact_phone):
            error("contact_phone", _("This is not a phone number."))
        if len(report.errors) == errors_before:
            parsed.append(
                _Row(number, ref, reported_at, category, text, address, contact_name, contact_phone)  # type: ignore[arg-type]
            )
    if report.errors:
        return report

    existing = set(
        Case.objects.filter(
            channel=CaseChannel.HOTLINE, external_ref__in=[row.external_ref for row in parsed]
        ).values_list("external_ref", flat=True)
    )
    fresh = [row for row in parsed if row.external_ref not in existing]
    report.unchanged = len(parsed) - len(fresh)
    if not fresh:
        return report
    matcher = _PlaceMatcher(place)
    targets = {row.number: matcher.match(row.address) for row in fresh}
    places = Place.objects.in_bulk(set(targets.values()))
    try:
        with transaction.atomic():
            for row in fresh:
                case = case_submit(
                    actor=actor,
                    category=row.category,
                    text=row.text,
                    place=places[targets[row.number]],
                    location_text=row.address,
                    channel=CaseChannel.HOTLINE,
                    contact_name=row.contact_name,
                    contact_phone=row.contact_phone,
                    external_ref=row.external_ref,
                    reported_at=row.reported_at,
                    now=now,
                )
                report.case_ids.append(case.pk)
            report.created = len(fresh)
            audit_record(
                actor=actor,
                action="case.hotline_import",
                target=place,
                place_path=place.path,
                changes={"created": report.created, "unchanged": report.unchanged, "file": (filename or "")[:200]},
            )
    except IntegrityError:
        raise CasesError.IMPORT_CONFLICT() from None
    return report


# ---------------------------------------------------------------- in the background, with progress


def hotline_import_start(*, actor: Actor, place: Place, upload: Any) -> Progress:
    """Save the uploaded workbook and import it for ``place`` in the background; returns its progress."""
    return start_import(
        actor=actor,
        upload=upload,
        folder=UPLOAD_FOLDER,
        runner="gongzhi.cases.hotline.hotline_import_runner",
        progress_kind=PROGRESS_KIND,
        params={"place_id": place.pk},
        result={"place_id": place.pk, "place": place.name},
    )


def hotline_import_runner(
    *, actor: Actor, file_obj: Any, filename: str, progress: Callable[[str, int, int], None], place_id: int
) -> HotlineReport:
    """The import job's work (``core.imports.run_import`` calls it with the saved upload open): the rows count as
    done only when the file was imported."""
    progress("importing", 0, 0)
    place = Place.objects.filter(pk=place_id).first()
    report = hotline_import(actor=actor, place=place, file_obj=file_obj, filename=filename)
    progress("importing", report.rows if report.ok else 0, report.rows)
    return report
