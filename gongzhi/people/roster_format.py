"""The roster file: its columns, the words it uses, and reading it into rows (the rows are checked elsewhere).

The file is an Excel workbook (.xlsx) with the template's Chinese headers on the first row of its data sheet
(``roster_template.py`` writes the template). ``roster_inspect`` is the quick check of an upload; ``roster_read``
returns the header positions and every non-empty row. A file that cannot be read as a roster as a whole is refused
with ``roster_file_refused`` (``RosterFileRefused``), naming what to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from django.utils.translation import gettext as _

from .errors import PeopleError
from .models import Gender, Relation, ResidentTagCode
from .services import id_card_check_character

MAX_ROWS = 50_000
MAX_FILE_BYTES = 20 * 1024 * 1024
DATA_SHEET_TITLE = "花名册"
INSTRUCTIONS_SHEET_TITLE = "填写说明"

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
    # Party membership: filled for party members only; the organisation is what makes the row a party member's.
    Column("party_organisation", "所在党组织", width=20),
    Column("joined_party_on", "入党日期", width=12),
    Column("in_service", "在职/退休", width=10),
    Column("employer", "工作单位", width=20),
    Column("employer_party_organisation", "单位党组织", width=20),
)
PARTY_KEYS = ("party_organisation", "joined_party_on", "in_service", "employer", "employer_party_organisation")
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
IN_SERVICE_BY_LABEL = {"在职": True, "退休": False}
TAG_SPLIT = re.compile(r"[、,，;；\s]+")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d")

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
    "party_organisation": "第一网格党支部",
    "joined_party_on": "2005-07-01",
    "in_service": "在职",
    "employer": "区教育局",
    "employer_party_organisation": "区教育局机关党委",
}


class RowError(NamedTuple):
    row: int  # the row number in Excel (the header is row 1)
    column: str  # the column header, or "" for the whole row
    message: str


class CellError(Exception):
    """One cell cannot be taken as it is; the message says why and what to write instead."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def column_order(header: str) -> int:
    """The position of a column in the template, for sorting errors (-1 for the whole row)."""
    for index, column in enumerate(COLUMNS):
        if column.header == header:
            return index
    return -1


# ---------------------------------------------------------------- reading the file


@dataclass
class RosterFile:
    positions: dict[str, int]  # column key -> index in the row, for the columns present in the file
    rows: list[tuple[int, tuple[Any, ...]]]  # (Excel row number, cell values) of the non-empty data rows


def _header_key(value: Any) -> str | None:
    text = cell_text(value).rstrip("*＊").strip()
    for column in COLUMNS:
        if text in (column.header, column.key):
            return column.key
    return None


def _open_workbook(file_obj: Any, filename: str):
    from openpyxl import load_workbook

    if not (filename or "").lower().endswith(".xlsx"):
        raise PeopleError.ROSTER_FILE_REFUSED(
            _("Upload an Excel workbook saved as .xlsx (download the template below).")
        )
    file_obj.seek(0)
    head = file_obj.read(8)
    file_obj.seek(0)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise PeopleError.ROSTER_FILE_REFUSED(
            _("This is an old Excel (.xls) file. Open it in Excel and save it as .xlsx.")
        )
    if not head.startswith(b"PK"):
        raise PeopleError.ROSTER_FILE_REFUSED(_("This file is not an Excel .xlsx workbook."))
    try:
        return load_workbook(file_obj, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for a damaged or foreign file
        raise PeopleError.ROSTER_FILE_REFUSED(
            _("This file is not an Excel .xlsx workbook, or it is damaged.")
        ) from None


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
        raise PeopleError.ROSTER_FILE_REFUSED(
            _("The first row must hold the column headers of the template. Missing: %(columns)s.")
            % {"columns": "、".join(missing)}
        )
    return positions


def roster_inspect(*, file_obj: Any, filename: str) -> int:
    """Quick check before accepting an upload: an .xlsx with the template's headers. Returns the estimated
    number of data rows (0 when the file does not say). Raises RosterFileRefused."""
    size = getattr(file_obj, "size", None)
    if size is not None and size > MAX_FILE_BYTES:
        raise PeopleError.ROSTER_FILE_REFUSED(
            _("The file is larger than %(size)d MB. Split it into several files.")
            % {"size": MAX_FILE_BYTES // (1024 * 1024)}
        )
    workbook = _open_workbook(file_obj, filename)
    try:
        sheet = _data_sheet(workbook)
        header = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), None)
        if header is None:
            raise PeopleError.ROSTER_FILE_REFUSED(_("The file is empty."))
        _positions_from_header(header)
        estimate = max((sheet.max_row or 1) - 1, 0)
    finally:
        workbook.close()
    if estimate > MAX_ROWS + 1:  # the sample row may still be there
        raise PeopleError.ROSTER_FILE_REFUSED(
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
            raise PeopleError.ROSTER_FILE_REFUSED(_("The file is empty."))
        positions = _positions_from_header(header)
        sample = tuple(SAMPLE_ROW.get(key, "") for key in positions)
        rows: list[tuple[int, tuple[Any, ...]]] = []
        for number, values in enumerate(rows_iter, start=2):
            if values is None or all(value is None or cell_text(value) == "" for value in values):
                continue
            if tuple(cell_text(cell_value(values, index)) for index in positions.values()) == sample:
                continue  # the template's example row, left in place
            rows.append((number, values))
            if len(rows) > MAX_ROWS:
                raise PeopleError.ROSTER_FILE_REFUSED(
                    _("The file has more than %(max)d rows. Split it into several files.") % {"max": MAX_ROWS}
                )
    finally:
        workbook.close()
    if not rows:
        raise PeopleError.ROSTER_FILE_REFUSED(_("The file has no rows to import below the header."))
    return RosterFile(positions=positions, rows=rows)


def cell_value(values: tuple[Any, ...], index: int) -> Any:
    return values[index] if index < len(values) else None


def cell_text(value: Any) -> str:
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


def parse_date(value: Any) -> date:
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
    text = cell_text(value)
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)
