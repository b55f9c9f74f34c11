"""Roster workbooks for tests: rows as dicts keyed by the template's column keys, written with openpyxl."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from openpyxl import Workbook

from gongzhi.people.roster_format import COLUMNS
from gongzhi.people.services import id_card_check_character


def id_number(index: int, region: str = "110101") -> str:
    """A valid, distinct ID card number for each ``index`` (birth dates walk back from 1990, serials cycle)."""
    birth = date(1990, 1, 1) - timedelta(days=index // 1000)
    first17 = f"{region}{birth:%Y%m%d}{index % 1000:03d}"
    return first17 + id_card_check_character(first17)


def roster_bytes(rows: list[dict[str, Any]], *, headers: list[str] | None = None) -> bytes:
    """An .xlsx with the template's headers (or ``headers``) and ``rows`` (missing keys are empty cells)."""
    workbook = Workbook()
    sheet = workbook.active
    keys = [column.key for column in COLUMNS]
    sheet.append(headers or [column.header for column in COLUMNS])
    for row in rows:
        sheet.append([row.get(key) for key in keys])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def roster_file(rows: list[dict[str, Any]], **kwargs: Any) -> io.BytesIO:
    return io.BytesIO(roster_bytes(rows, **kwargs))


def generated_rows(count: int, *, grid: str = "第一网格", per_entrance: int = 12, people_per_household: int = 3):
    """``count`` resident rows spread over buildings, entrances and households, each with a distinct ID."""
    rows = []
    households = max(1, count // people_per_household)
    for index in range(count):
        household = index % households
        entrance = household // per_entrance
        building = entrance // 4
        rows.append(
            {
                "grid": grid,
                "building": f"{building + 10}号楼",
                "entrance": f"{entrance % 4 + 1}单元",
                "household": str(100 * (household % per_entrance // 4 + 1) + household % 4 + 1),
                "name": f"居民{index}",
                "gender": "男" if index % 2 else "女",
                "phone": f"139{index:08d}",
                "id_card_number": id_number(index),
                "relation": "户主" if index < households else "子女",
                "tags": "独居老人" if index % 50 == 0 else None,
            }
        )
    return rows
