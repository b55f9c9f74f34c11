"""Roster import from Excel: buildings, entrances, households and residents of one community.

The service reads the whole file, checks every row first (collecting every bad row with its row number, column
and reason) and writes only when no row is bad, in one transaction. Places and residents are matched, so importing
the same file twice changes nothing. Reads are done in bulk (a few queries for the whole file, not one per row)
and writes use ``bulk_create``, so a 10,000-row file takes a bounded number of queries.

Callers: the roster pages (through ``roster_import_task`` in the background), tests, and any command or job.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from gongzhi.core.access import require_reach
from gongzhi.core.audit import audit_entry, audit_record, diff_fields
from gongzhi.core.context import Origin, origin
from gongzhi.core.errors import DomainError, NotFound, ValidationFailed
from gongzhi.core.masking import mask_phone
from gongzhi.core.models import AuditEntry, Progress
from gongzhi.core.roles import Permission
from gongzhi.core.tree import subtree_q
from gongzhi.places.models import Place, PlaceKind
from gongzhi.places.services import place_bulk_insert

from .models import Gender, Relation, Resident, ResidentTag, ResidentTagCode
from .services import ResidentInput, id_card_check_character, id_card_is_valid, resident_clean

logger = logging.getLogger(__name__)

PROGRESS_KIND = "roster_import"
MAX_ROWS = 50_000
MAX_FILE_BYTES = 20 * 1024 * 1024
PROGRESS_EVERY = 200
MAX_STORED_ERRORS = 10_000
DATA_SHEET_TITLE = "花名册"
INSTRUCTIONS_SHEET_TITLE = "填写说明"
_PLACE_NAME_MAX = Place._meta.get_field("name").max_length
# Keep each IN (...) list under SQLite's default limit of 999 parameters.
_IN_CHUNK = 900


# ---------------------------------------------------------------- the file's columns


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # the Chinese header in the file (the file format itself, not translated)
    required: bool = False  # the header must be present and every row must fill it
    width: int = 12


COLUMNS: tuple[Column, ...] = (
    Column("grid", "网格", width=18),
    Column("compound", "小区", width=14),
    Column("building", "楼栋", required=True, width=10),
    Column("entrance", "单元", required=True, width=8),
    Column("household", "户号", required=True, width=8),
    Column("name", "姓名", width=10),
    Column("gender", "性别", width=6),
    Column("birth_date", "出生日期", width=12),
    Column("phone", "联系电话", width=14),
    Column("id_card_number", "身份证号", width=22),
    Column("relation", "与户主关系", width=12),
    Column("tags", "标签", width=22),
)
COLUMN_BY_KEY = {column.key: column for column in COLUMNS}

GENDER_BY_LABEL = {"男": Gender.MALE, "女": Gender.FEMALE, "male": Gender.MALE, "female": Gender.FEMALE}
RELATION_BY_LABEL = {
    "户主": Relation.HOUSEHOLDER,
    "配偶": Relation.SPOUSE,
    "子女": Relation.CHILD,
    "父母": Relation.PARENT,
    "孙子女": Relation.GRANDCHILD,
    "祖父母": Relation.GRANDPARENT,
    "兄弟姐妹": Relation.SIBLING,
    "租户": Relation.TENANT,
    "其他": Relation.OTHER,
}
TAG_BY_LABEL = {
    "独居老人": ResidentTagCode.ELDERLY_ALONE,
    "残疾人": ResidentTagCode.DISABLED,
    "低保": ResidentTagCode.LOW_INCOME,
    "退役军人": ResidentTagCode.VETERAN,
    "留守儿童": ResidentTagCode.LEFT_BEHIND_CHILD,
    "大病": ResidentTagCode.SERIOUS_ILLNESS,
    "流动人口": ResidentTagCode.FLOATING,
}
_TAG_SPLIT = re.compile(r"[、,，;；\s]+")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d")

_SAMPLE_ID = "11010119800101002" + id_card_check_character("11010119800101002")
SAMPLE_ROW: dict[str, str] = {
    "grid": "第一网格",
    "compound": "阳光小区",
    "building": "1号楼",
    "entrance": "1单元",
    "household": "101",
    "name": "张三",
    "gender": "男",
    "birth_date": "1980-01-01",
    "phone": "13800000000",
    "id_card_number": _SAMPLE_ID,
    "relation": "户主",
    "tags": "退役军人、低保",
}


# ---------------------------------------------------------------- results


class RowError(NamedTuple):
    row: int  # the row number in Excel (the header is row 1)
    column: str  # the column header, or "" for the whole row
    message: str


@dataclass
class RosterReport:
    created: dict[str, int] = field(
        default_factory=lambda: {"compound": 0, "building": 0, "entrance": 0, "household": 0, "resident": 0}
    )
    updated: int = 0
    unchanged: int = 0
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def created_total(self) -> int:
        return sum(self.created.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": dict(self.created),
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rows": self.rows,
            "error_count": len(self.errors),
            "errors": [list(error) for error in self.errors[:MAX_STORED_ERRORS]],
        }


class RosterFileRefused(ValidationFailed):
    """The file as a whole cannot be read as a roster (wrong type, missing columns, empty, too large)."""

    code = "roster_file_refused"


ProgressCallback = Callable[[str, int, int], None]


# ---------------------------------------------------------------- reading the file


@dataclass
class RosterFile:
    positions: dict[str, int]  # column key -> index in the row, for the columns present in the file
    rows: list[tuple[int, tuple[Any, ...]]]  # (Excel row number, cell values) of the non-empty data rows


def _header_key(value: Any) -> str | None:
    text = _text(value).rstrip("*＊").strip()
    for column in COLUMNS:
        if text in (column.header, column.key):
            return column.key
    return None


def _open_workbook(file_obj: Any, filename: str):
    from openpyxl import load_workbook

    if not (filename or "").lower().endswith(".xlsx"):
        raise RosterFileRefused(_("Upload an Excel workbook saved as .xlsx (download the template below)."))
    file_obj.seek(0)
    head = file_obj.read(8)
    file_obj.seek(0)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterFileRefused(_("This is an old Excel (.xls) file. Open it in Excel and save it as .xlsx."))
    if not head.startswith(b"PK"):
        raise RosterFileRefused(_("This file is not an Excel .xlsx workbook."))
    try:
        return load_workbook(file_obj, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for a damaged or foreign file
        raise RosterFileRefused(_("This file is not an Excel .xlsx workbook, or it is damaged.")) from None


def _data_sheet(workbook):
    if DATA_SHEET_TITLE in workbook.sheetnames:
        return workbook[DATA_SHEET_TITLE]
    return workbook.worksheets[0]


def _positions_from_header(header: Iterable[Any]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for index, value in enumerate(header):
        key = _header_key(value)
        if key and key not in positions:
            positions[key] = index
    missing = [
        COLUMN_BY_KEY[key].header for key in ("building", "entrance", "household", "name") if key not in positions
    ]
    if missing:
        raise RosterFileRefused(
            _("The first row must hold the column headers of the template. Missing: %(columns)s.")
            % {"columns": "、".join(missing)}
        )
    return positions


def roster_inspect(*, file_obj: Any, filename: str) -> int:
    """Quick check before accepting an upload: an .xlsx with the template's headers. Returns the estimated
    number of data rows (0 when the file does not say). Raises RosterFileRefused."""
    size = getattr(file_obj, "size", None)
    if size is not None and size > MAX_FILE_BYTES:
        raise RosterFileRefused(
            _("The file is larger than %(size)d MB. Split it into several files.")
            % {"size": MAX_FILE_BYTES // (1024 * 1024)}
        )
    workbook = _open_workbook(file_obj, filename)
    try:
        sheet = _data_sheet(workbook)
        header = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), None)
        if header is None:
            raise RosterFileRefused(_("The file is empty."))
        _positions_from_header(header)
        estimate = max((sheet.max_row or 1) - 1, 0)
    finally:
        workbook.close()
    if estimate > MAX_ROWS + 1:  # the sample row may still be there
        raise RosterFileRefused(
            _("The file has more than %(max)d rows. Split it into several files.") % {"max": MAX_ROWS}
        )
    return estimate


def roster_read(*, file_obj: Any, filename: str) -> RosterFile:
    """Read the data sheet: header positions and every non-empty row. Raises RosterFileRefused."""
    workbook = _open_workbook(file_obj, filename)
    try:
        rows_iter = _data_sheet(workbook).iter_rows(values_only=True)
        header = next(rows_iter, None)
        if header is None:
            raise RosterFileRefused(_("The file is empty."))
        positions = _positions_from_header(header)
        sample = tuple(SAMPLE_ROW.get(key, "") for key in positions)
        rows: list[tuple[int, tuple[Any, ...]]] = []
        for number, values in enumerate(rows_iter, start=2):
            if values is None or all(value is None or _text(value) == "" for value in values):
                continue
            if tuple(_text(_cell(values, index)) for index in positions.values()) == sample:
                continue  # the template's example row, left in place
            rows.append((number, values))
            if len(rows) > MAX_ROWS:
                raise RosterFileRefused(
                    _("The file has more than %(max)d rows. Split it into several files.") % {"max": MAX_ROWS}
                )
    finally:
        workbook.close()
    if not rows:
        raise RosterFileRefused(_("The file has no rows to import below the header."))
    return RosterFile(positions=positions, rows=rows)


def _cell(values: tuple[Any, ...], index: int) -> Any:
    return values[index] if index < len(values) else None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("\u3000", " ").strip()


# ---------------------------------------------------------------- planning against what exists


@dataclass(eq=False)
class _NewPlace:
    kind: str
    name: str
    parent: Place | _NewPlace
    row: int
    obj: Place | None = None


_PlaceRef = Place | _NewPlace


def _token(ref: _PlaceRef) -> tuple[str, int]:
    return ("p", ref.pk) if isinstance(ref, Place) else ("n", id(ref))


def _place_of(ref: _PlaceRef) -> Place:
    if isinstance(ref, Place):
        return ref
    assert ref.obj is not None
    return ref.obj


def _pk_of(ref: _PlaceRef) -> int:
    return _place_of(ref).pk


@dataclass(eq=False)
class _ResidentPlan:
    row: int
    household: _PlaceRef
    cleaned: dict[str, Any]
    tags: tuple[str, ...] | None  # None: the tags column was empty or absent (leave tags as they are)
    existing: Resident | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    tags_change: tuple[list[str], list[str]] | None = None


class _Planner:
    """Resolves every row against the places and residents already in the community, in memory."""

    def __init__(self, community: Place):
        self.community = community
        places = list(
            Place.objects.filter(subtree_q(community.path), is_active=True).only(
                "id", "kind", "name", "parent_id", "path", "depth", "grid_level"
            )
        )
        self.children: dict[tuple[int, str], Place] = {(p.parent_id, p.name): p for p in places if p.parent_id}
        self.grids_by_name: dict[str, list[Place]] = {}
        for place in places:
            if place.kind in (PlaceKind.GRID, PlaceKind.AREA):
                self.grids_by_name.setdefault(place.name, []).append(place)
        self.new_places: dict[tuple[tuple[str, int], str], _NewPlace] = {}

        residents = list(Resident.objects.filter(subtree_q(community.path, "household__path")).order_by("pk"))
        self.residents_by_digest = {r.id_card_digest: r for r in residents if r.id_card_digest}
        self.residents_by_name: dict[tuple[int, str], list[Resident]] = {}
        for resident in residents:
            self.residents_by_name.setdefault((resident.household_id, resident.name), []).append(resident)
        self.tags: dict[int, set[str]] = {}
        tag_rows = ResidentTag.objects.filter(subtree_q(community.path, "resident__household__path")).values_list(
            "resident_id", "code"
        )
        for resident_id, code in tag_rows:
            self.tags.setdefault(resident_id, set()).add(code)
        self.outside_digests: set[str] = set()

    def load_outside_digests(self, digests: set[str]) -> None:
        """Digests in the file that belong to residents registered in a household outside this community."""
        unknown = sorted(digest for digest in digests if digest not in self.residents_by_digest)
        for start in range(0, len(unknown), _IN_CHUNK):
            found = Resident.objects.filter(id_card_digest__in=unknown[start : start + _IN_CHUNK]).values_list(
                "id_card_digest", "household_id"
            )
            # A resident registered in no household may be taken in; anyone else lives elsewhere.
            self.outside_digests.update(digest for digest, household_id in found if household_id is not None)

    def grid(self, text: str) -> Place:
        parts = [part.strip() for part in re.split(r"[/／]", text) if part.strip()]
        node: Place = self.community
        for part in parts:
            child = self.children.get((node.pk, part))
            if child is None or child.kind not in (PlaceKind.GRID, PlaceKind.AREA):
                break
            node = child
        else:
            return node
        if len(parts) == 1:
            candidates = self.grids_by_name.get(parts[0], [])
            if len(candidates) == 1:
                return candidates[0]
            if len(candidates) > 1:
                raise _CellError(
                    _("Several grids are called %(name)s; write the path from the community, separated by “/”.")
                    % {"name": parts[0]}
                )
        raise _CellError(
            _("There is no grid called %(name)s in this community. Grids are set up by staff.") % {"name": text}
        )

    def place(self, kind: str, name: str, parent: _PlaceRef, row: int) -> _PlaceRef:
        if len(name) > _PLACE_NAME_MAX:
            raise _CellError(_("At most %(max)d characters.") % {"max": _PLACE_NAME_MAX})
        if isinstance(parent, Place):
            existing = self.children.get((parent.pk, name))
            if existing is not None:
                if existing.kind != kind:
                    raise _CellError(
                        _("%(name)s already exists here as a %(kind)s.")
                        % {"name": name, "kind": PlaceKind(existing.kind).label}
                    )
                return existing
        key = (_token(parent), name)
        planned = self.new_places.get(key)
        if planned is None:
            planned = self.new_places[key] = _NewPlace(kind=kind, name=name, parent=parent, row=row)
        elif planned.kind != kind:
            raise _CellError(
                _("%(name)s already exists here as a %(kind)s.") % {"name": name, "kind": PlaceKind(planned.kind).label}
            )
        return planned


class _CellError(Exception):
    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


# ---------------------------------------------------------------- checking one row


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        from openpyxl.utils.datetime import from_excel

        try:
            converted = from_excel(value)
        except (ValueError, OverflowError, TypeError):
            converted = None
        if isinstance(converted, datetime):
            return converted.date()
        raise ValueError(value)
    text = _text(value)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def _id_text(value: Any) -> str:
    if isinstance(value, float):
        raise _CellError(
            _("The ID card number was stored as a number and lost digits. Format the column as text and type it again.")
        )
    return _text(value).replace(" ", "").upper()


_FIELD_COLUMN = {
    "name": "name",
    "gender": "gender",
    "birth_date": "birth_date",
    "phone": "phone",
    "id_card_number": "id_card_number",
    "relation": "relation",
    "tags": "tags",
    "household": "household",
}


class _Checker:
    def __init__(self, planner: _Planner, positions: dict[str, int]):
        self.planner = planner
        self.positions = positions
        self.errors: list[RowError] = []
        self.plans: list[_ResidentPlan] = []
        self.id_rows: dict[str, int] = {}
        self.name_rows: dict[tuple[tuple[str, int], str], tuple[int, bool]] = {}
        self.claimed: dict[int, int] = {}  # existing resident pk -> row that matched it

    def error(self, row: int, key: str, message: str) -> None:
        self.errors.append(RowError(row, COLUMN_BY_KEY[key].header if key in COLUMN_BY_KEY else "", message))

    def value(self, values: tuple[Any, ...], key: str) -> Any:
        index = self.positions.get(key)
        return None if index is None else _cell(values, index)

    def check(self, row: int, values: tuple[Any, ...]) -> None:
        cells = {key: self.value(values, key) for key in COLUMN_BY_KEY}
        text = {key: _text(value) for key, value in cells.items()}
        before = len(self.errors)

        household = self._household(row, text)

        # Resident fields: mapped from the file's words to codes, then checked by the same rules as the forms.
        resident_keys = ("gender", "birth_date", "phone", "id_card_number", "relation", "tags")
        if not text["name"]:
            if any(text[key] for key in resident_keys):
                self.error(row, "name", _("Enter the name, or leave the resident's columns empty."))
            return
        gender = ""
        if text["gender"]:
            gender = GENDER_BY_LABEL.get(text["gender"], "")
            if not gender:
                self.error(row, "gender", _("Write 男 or 女."))
        relation = ""
        if text["relation"]:
            relation = RELATION_BY_LABEL.get(text["relation"], "")
            if not relation and text["relation"] in Relation.values:
                relation = text["relation"]
            if not relation:
                self.error(row, "relation", _("Unknown relation to the householder; choose one from the list."))
        tags: tuple[str, ...] | None = None
        if text["tags"]:
            words = [word for word in _TAG_SPLIT.split(text["tags"]) if word]
            unknown = [word for word in words if word not in TAG_BY_LABEL and word not in ResidentTagCode.values]
            if unknown:
                self.error(row, "tags", _("Unknown tags: %(tags)s.") % {"tags": "、".join(unknown)})
            tags = tuple(sorted({TAG_BY_LABEL.get(word, word) for word in words if word not in unknown}))
        birth_date = None
        if text["birth_date"]:
            try:
                birth_date = _parse_date(cells["birth_date"])
            except ValueError:
                self.error(row, "birth_date", _("Write the date as YYYY-MM-DD."))
        number = ""
        if text["id_card_number"]:
            try:
                number = _id_text(cells["id_card_number"])
            except _CellError as exc:
                self.error(row, "id_card_number", exc.message)
        try:
            cleaned = resident_clean(
                ResidentInput(
                    name=text["name"],
                    gender=gender,
                    birth_date=birth_date,
                    phone=text["phone"],
                    id_card_number=number,
                    relation=relation,
                    tags=tags or (),
                )
            )
        except ValidationFailed as exc:
            for name, message in exc.fields.items():
                self.error(row, _FIELD_COLUMN.get(name, ""), str(message))
            return
        if len(self.errors) > before or household is None:
            return

        digest = cleaned.get("id_card_digest")
        if digest:
            first = self.id_rows.setdefault(digest, row)
            if first != row:
                self.error(row, "id_card_number", _("The same ID card number is on row %(row)d.") % {"row": first})
                return
            if digest in self.planner.outside_digests:
                self.error(row, "id_card_number", _("This ID card number is already registered in another community."))
                return
        name_key = (_token(household), cleaned["name"])
        seen = self.name_rows.get(name_key)
        if seen is not None and (not digest or not seen[1]):
            self.error(row, "name", _("The same person is on row %(row)d.") % {"row": seen[0]})
            return
        if seen is None:
            self.name_rows[name_key] = (row, bool(digest))

        existing = self._match(household, cleaned)
        if existing is not None:
            other_row = self.claimed.setdefault(existing.pk, row)
            if other_row != row:
                self.error(row, "name", _("The same person is on row %(row)d.") % {"row": other_row})
                return
        plan = _ResidentPlan(row=row, household=household, cleaned=cleaned, tags=tags, existing=existing)
        if existing is not None:
            self._changes(plan, text)
        self.plans.append(plan)

    def _household(self, row: int, text: dict[str, str]) -> _PlaceRef | None:
        missing = [key for key in ("building", "entrance", "household") if not text[key]]
        for key in missing:
            self.error(row, key, _("This column is required."))
        if missing:
            return None
        planner = self.planner
        parent: _PlaceRef = planner.community
        try:
            step = "grid"
            if text["grid"]:
                parent = planner.grid(text["grid"])
            step = "compound"
            if text["compound"]:
                parent = planner.place(PlaceKind.COMPOUND, text["compound"], parent, row)
            step = "building"
            parent = planner.place(PlaceKind.BUILDING, text["building"], parent, row)
            step = "entrance"
            parent = planner.place(PlaceKind.ENTRANCE, text["entrance"], parent, row)
            step = "household"
            return planner.place(PlaceKind.HOUSEHOLD, text["household"], parent, row)
        except _CellError as exc:
            self.error(row, step, exc.message)
            return None

    def _match(self, household: _PlaceRef, cleaned: dict[str, Any]) -> Resident | None:
        planner = self.planner
        digest = cleaned.get("id_card_digest")
        if digest and digest in planner.residents_by_digest:
            return planner.residents_by_digest[digest]
        if not isinstance(household, Place):
            return None
        same_name = planner.residents_by_name.get((household.pk, cleaned["name"]), [])
        if digest:  # someone registered here without an ID number, now given one
            same_name = [resident for resident in same_name if not resident.id_card_digest]
        if not same_name:
            return None
        active = [resident for resident in same_name if resident.is_active]
        return (active or same_name)[0]

    def _changes(self, plan: _ResidentPlan, text: dict[str, str]) -> None:
        """What differs from the stored resident. An empty cell leaves the stored value as it is."""
        resident = plan.existing
        assert resident is not None
        cleaned = plan.cleaned
        after: dict[str, Any] = {"name": cleaned["name"]}
        for key in ("gender", "birth_date", "phone", "relation"):
            if text[key]:
                after[key] = cleaned[key]
            elif key in ("gender", "birth_date") and cleaned[key] and not getattr(resident, key):
                after[key] = cleaned[key]  # derived from the ID number, filling a gap
        if cleaned.get("id_card_digest") and resident.id_card_digest != cleaned["id_card_digest"]:
            after.update(
                id_card_ciphertext=cleaned["id_card_ciphertext"],
                id_card_digest=cleaned["id_card_digest"],
                id_card_masked=cleaned["id_card_masked"],
            )
        if not resident.is_active:
            after["is_active"] = True
        if not isinstance(plan.household, Place) or plan.household.pk != resident.household_id:
            after["household"] = plan.household
        plan.changes = {
            name: value for name, value in after.items() if name == "household" or getattr(resident, name) != value
        }
        if plan.tags is not None:
            current = sorted(self.planner.tags.get(resident.pk, set()))
            if list(plan.tags) != current:
                plan.tags_change = (current, list(plan.tags))


# ---------------------------------------------------------------- the service


def roster_import(
    *,
    actor: Any,
    community: Place,
    file_obj: Any,
    filename: str,
    progress: ProgressCallback | None = None,
) -> RosterReport:
    """Import a roster file into ``community``.

    Raises NotFound when the actor may not import rosters there, RosterFileRefused when the file as a whole is
    unusable. Bad rows come back in ``report.errors`` and nothing is written; otherwise everything is written in
    one transaction and audited.
    """
    require_reach(actor, Permission.ROSTER_IMPORT, community.path)
    if community.kind != PlaceKind.COMMUNITY or not community.is_active:
        raise NotFound()
    notify = progress or (lambda phase, done, total: None)
    roster = roster_read(file_obj=file_obj, filename=filename)
    total = len(roster.rows)
    notify("checking", 0, total)

    planner = _Planner(community)
    checker = _Checker(planner, roster.positions)
    # The outside-community check needs the file's digests first: a cheap pass computing only the blind index.
    planner.load_outside_digests(_file_digests(roster))
    for index, (row, values) in enumerate(roster.rows, start=1):
        checker.check(row, values)
        if index % PROGRESS_EVERY == 0:
            notify("checking", index, total)

    report = RosterReport(rows=total)
    if checker.errors:
        report.errors = sorted(checker.errors, key=lambda error: (error.row, _column_order(error.column)))
        return report

    notify("writing", total, total)
    with transaction.atomic():
        _write(actor=actor, community=community, planner=planner, plans=checker.plans, report=report)
        if report.created_total or report.updated:
            audit_record(
                actor=actor,
                action="roster.import",
                target=community,
                place_path=community.path,
                changes={"created": dict(report.created), "updated": report.updated, "file": filename[:200]},
            )
    return report


def _column_order(header: str) -> int:
    for index, column in enumerate(COLUMNS):
        if column.header == header:
            return index
    return -1


def _file_digests(roster: RosterFile) -> set[str]:
    from gongzhi.core.crypto import blind_index

    index = roster.positions.get("id_card_number")
    if index is None:
        return set()
    digests = set()
    for _row, values in roster.rows:
        value = _cell(values, index)
        if isinstance(value, float):
            continue
        number = _text(value).replace(" ", "").upper()
        if number and id_card_is_valid(number):
            digests.add(blind_index(number))
    return digests


def _write(
    *, actor: Any, community: Place, planner: _Planner, plans: list[_ResidentPlan], report: RosterReport
) -> None:
    now = timezone.now()

    # Places, one level per kind (a new place's parent is an existing place or a new place of an earlier kind), each
    # with its PlaceChange row; the import's one audit entry covers them all.
    new_places = list(planner.new_places.values())
    levels: list[list[Place]] = []
    for kind in (PlaceKind.COMPOUND, PlaceKind.BUILDING, PlaceKind.ENTRANCE, PlaceKind.HOUSEHOLD):
        level = [node for node in new_places if node.kind == kind]
        if not level:
            continue
        objects = [Place(kind=kind, name=node.name, parent=_place_of(node.parent), created_at=now) for node in level]
        for node, obj in zip(level, objects, strict=True):
            node.obj = obj
        levels.append(objects)
        report.created[kind] = len(objects)
    place_bulk_insert(levels=levels, actor=actor)

    # New residents and their tags.
    new_plans = [plan for plan in plans if plan.existing is None]
    residents = [
        Resident(
            **{name: value for name, value in plan.cleaned.items() if name != "household"},
            household_id=_pk_of(plan.household),
            created_at=now,
        )
        for plan in new_plans
    ]
    Resident.objects.bulk_create(residents)
    ResidentTag.objects.bulk_create(
        ResidentTag(resident_id=resident.pk, code=code)
        for plan, resident in zip(new_plans, residents, strict=True)
        for code in plan.tags or ()
    )
    report.created["resident"] = len(residents)

    # Matched residents: write only what changed, audit each change with its fields.
    changed: list[Resident] = []
    changed_fields: set[str] = set()
    audits: list[AuditEntry] = []
    retagged: dict[int, list[str]] = {}
    for plan in plans:
        resident = plan.existing
        if resident is None:
            continue
        if not plan.changes and plan.tags_change is None:
            report.unchanged += 1
            continue
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for name, value in plan.changes.items():
            if name == "household":
                new_id = _pk_of(value)
                if new_id == resident.household_id:
                    continue
                before["household"], after["household"] = resident.household_id, new_id
                resident.household_id = new_id
                changed_fields.add("household")
                continue
            before[name], after[name] = getattr(resident, name), value
            setattr(resident, name, value)
            changed_fields.add(name)
        if plan.tags_change is not None:
            before["tags"], after["tags"] = plan.tags_change
            retagged[resident.pk] = plan.tags_change[1]
        if not after:
            report.unchanged += 1
            continue
        if before.keys() - {"tags"}:
            resident.updated_at = now
            changed.append(resident)
        report.updated += 1
        audits.append(
            audit_entry(
                actor=actor,
                action="resident.update",
                target=resident,
                place_path=community.path,
                purpose="roster.import",
                changes=_audit_diff(before, after),
                occurred_at=now,
            )
        )
    if changed:
        Resident.objects.bulk_update(changed, sorted(changed_fields | {"updated_at"}))
    if retagged:
        ids = sorted(retagged)
        for start in range(0, len(ids), _IN_CHUNK):
            ResidentTag.objects.filter(resident_id__in=ids[start : start + _IN_CHUNK]).delete()
        ResidentTag.objects.bulk_create(
            ResidentTag(resident_id=resident_id, code=code) for resident_id, codes in retagged.items() for code in codes
        )
    AuditEntry.objects.bulk_create(audits)


_SECRET_FIELDS = {"id_card_ciphertext", "id_card_digest"}


def _audit_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The changed fields, with personal data masked: the audit log must not become a copy of the roster."""
    diff = diff_fields(
        {k: v for k, v in before.items() if k not in _SECRET_FIELDS},
        {k: v for k, v in after.items() if k not in _SECRET_FIELDS},
    )
    if "phone" in diff:
        diff["phone"] = [mask_phone(value) for value in diff["phone"]]
    return diff


# ---------------------------------------------------------------- background task and progress


def roster_upload_path(token: str) -> Path:
    return Path(settings.MEDIA_ROOT) / "imports" / f"{token}.xlsx"


def roster_import_task(
    *,
    progress_id: int,
    actor_id: int,
    community_id: int,
    token: str,
    filename: str,
    language: str = "",
    channel: str = "web",
    source_ip: str | None = None,
    user_agent: str = "",
) -> None:
    """Run an uploaded roster import and record its progress and outcome. The upload is deleted afterwards."""
    from .models import Account

    path = roster_upload_path(token)
    running = Progress.objects.filter(pk=progress_id)

    def notify(phase: str, done: int, total: int) -> None:
        running.update(status=Progress.Status.RUNNING, message=phase, done=done, total=total, updated_at=timezone.now())

    def finish(status: str, **result: Any) -> None:
        progress = running.first()
        if progress is None:
            return
        Progress.objects.filter(pk=progress_id).update(
            status=status,
            message="done",
            done=progress.total if status == Progress.Status.SUCCEEDED else progress.done,
            result={**progress.result, **result},
            updated_at=timezone.now(),
        )

    with (
        translation.override(language or settings.LANGUAGE_CODE),
        origin(Origin(channel=channel, source_ip=source_ip, user_agent=user_agent)),
    ):
        running.update(status=Progress.Status.RUNNING, message="reading", updated_at=timezone.now())
        try:
            actor = Account.objects.get(pk=actor_id)
            community = Place.objects.get(pk=community_id)
            with path.open("rb") as file_obj:
                report = roster_import(
                    actor=actor, community=community, file_obj=file_obj, filename=filename, progress=notify
                )
        except (Account.DoesNotExist, Place.DoesNotExist, NotFound):
            finish(Progress.Status.FAILED, refused=str(_("You cannot import a roster into this community.")))
        except DomainError as exc:
            finish(Progress.Status.FAILED, refused=str(exc.message))
        except (IntegrityError, DatabaseError):
            logger.exception("Roster import %s failed while writing", progress_id)
            finish(
                Progress.Status.FAILED,
                refused=str(_("The roster changed while this file was being imported. Nothing was saved; try again.")),
            )
        except Exception:
            logger.exception("Roster import %s failed", progress_id)
            finish(Progress.Status.FAILED, refused=str(_("The import failed unexpectedly. Nothing was saved.")))
        else:
            status = Progress.Status.SUCCEEDED if report.ok else Progress.Status.FAILED
            finish(status, **report.as_dict())
        finally:
            with contextlib.suppress(OSError):
                os.remove(path)


# ---------------------------------------------------------------- workbooks to download


def roster_template_workbook() -> bytes:
    """The template to fill in: headers, one example row, lists for gender and relation, and instructions."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = DATA_SHEET_TITLE
    sheet.append([column.header for column in COLUMNS])
    sheet.append([SAMPLE_ROW[column.key] for column in COLUMNS])
    required_fill = PatternFill("solid", fgColor="FDE2E1")
    header_fill = PatternFill("solid", fgColor="E8EEF7")
    sample_font = Font(color="808080", italic=True)
    last_row = MAX_ROWS + 1
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True)
        cell.fill = required_fill if column.required else header_fill
        cell.alignment = Alignment(horizontal="center")
        sheet.column_dimensions[letter].width = column.width
        sheet.cell(row=2, column=index).font = sample_font
        if column.key in ("household", "phone", "id_card_number", "birth_date"):
            # Text, so Excel keeps leading zeros and all 18 digits of an ID number.
            for row in range(2, 1002):
                sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = "A2"
    headers = {column.key: get_column_letter(index) for index, column in enumerate(COLUMNS, start=1)}
    for key, choices in (("gender", "男,女"), ("relation", ",".join(RELATION_BY_LABEL))):
        validation = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True)
        validation.error = "请从下拉列表中选择"
        validation.errorTitle = COLUMN_BY_KEY[key].header
        validation.add(f"{headers[key]}2:{headers[key]}{last_row}")
        sheet.add_data_validation(validation)
    sheet[f"{headers['grid']}1"].comment = Comment("已有网格的名称；多级网格写成“第一网格/第三网格”", "gongzhi")
    sheet[f"{headers['tags']}1"].comment = Comment("可填多个，用“、”分隔：" + "、".join(TAG_BY_LABEL), "gongzhi")

    notes = workbook.create_sheet(INSTRUCTIONS_SHEET_TITLE)
    notes.column_dimensions["A"].width = 14
    notes.column_dimensions["B"].width = 90
    lines = [
        ("填写说明", ""),
        ("基本规则", "每行填写一位居民；只登记房屋（不登记居民）时，姓名及之后各列留空。第一行为表头，请勿修改。"),
        ("示例行", "第二行为示例，导入前请删除或覆盖；未修改的示例行会被跳过。"),
        (
            "网格",
            (
                "选填。须为本社区已建立的网格名称；多级网格用“/”分隔，如“第一网格/第三网格”。"
                "网格由工作人员在系统中建立，导入不会新建网格。"
            ),
        ),
        ("小区", "选填。不存在时自动新建。"),
        ("楼栋、单元、户号", "必填。按名称在上一级下查找，不存在时自动新建。户号请按文本填写，如“0101”。"),
        ("姓名", "登记居民时必填。"),
        ("性别", "男 或 女；留空时按身份证号推算。"),
        ("出生日期", "日期格式，或文本 YYYY-MM-DD，如 1980-01-01；留空时按身份证号推算。"),
        ("联系电话", "11位手机号，或带区号的固定电话。"),
        (
            "身份证号",
            (
                "18位，请以文本格式填写（否则 Excel 会丢失末尾数字）。"
                "同一文件中不得重复；已在其他社区登记的号码会被拒绝。"
            ),
        ),
        ("与户主关系", "从下拉列表选择：" + "、".join(RELATION_BY_LABEL)),
        ("标签", "可填多个，用“、”或“,”分隔：" + "、".join(TAG_BY_LABEL)),
        (
            "重复导入",
            (
                "有身份证号的居民按身份证号匹配，没有的按“户+姓名”匹配。"
                "同一文件再次导入不会产生任何变化；留空的单元格不会清除系统中已有的信息。"
            ),
        ),
        ("出错时", "只要有一行有误，整个文件都不会导入。请按错误报告（行号、列、原因）修改后重新上传。"),
        ("规模", f"每个文件最多 {MAX_ROWS} 行。"),
    ]
    for title, text in lines:
        notes.append([title, text])
    notes["A1"].font = Font(bold=True, size=14)
    for row in notes.iter_rows(min_row=2):
        row[0].font = Font(bold=True)
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def roster_error_workbook(errors: Iterable[Iterable[Any]]) -> bytes:
    """The bad rows of an import as a workbook: row, column, reason."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = str(_("Errors"))[:31]
    sheet.append([str(_("Row")), str(_("Column")), str(_("Reason"))])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row, column, message in errors:
        sheet.append([row, column, message])
    sheet.column_dimensions["A"].width = 8
    sheet.column_dimensions["B"].width = 14
    sheet.column_dimensions["C"].width = 80
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
