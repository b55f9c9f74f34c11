"""The workbooks the roster pages hand out: the template to fill in, and the report of an import's bad rows."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from .roster_format import (
    COLUMN_BY_KEY,
    COLUMNS,
    DATA_SHEET_TITLE,
    IN_SERVICE_BY_LABEL,
    INSTRUCTIONS_SHEET_TITLE,
    MAX_ROWS,
    RELATION_BY_LABEL,
    SAMPLE_ROW,
    TAG_BY_LABEL,
)


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
        if column.key in ("household", "phone", "id_card_number", "birth_date", "joined_party_on"):
            # Text, so Excel keeps leading zeros and all 18 digits of an ID number.
            for row in range(2, 1002):
                sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = "A2"
    headers = {column.key: get_column_letter(index) for index, column in enumerate(COLUMNS, start=1)}
    lists = (
        ("gender", "男,女"),
        ("relation", ",".join(RELATION_BY_LABEL)),
        ("in_service", ",".join(IN_SERVICE_BY_LABEL)),
    )
    for key, choices in lists:
        validation = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True)
        validation.error = "请从下拉列表中选择"
        validation.errorTitle = COLUMN_BY_KEY[key].header
        validation.add(f"{headers[key]}2:{headers[key]}{last_row}")
        sheet.add_data_validation(validation)
    sheet[f"{headers['grid']}1"].comment = Comment("已有网格的名称；多级网格写成“第一网格/第三网格”", "gongzhi")
    sheet[f"{headers['tags']}1"].comment = Comment("可填多个，用“、”分隔：" + "、".join(TAG_BY_LABEL), "gongzhi")
    sheet[f"{headers['party_organisation']}1"].comment = Comment(
        "党员填写：本社区已建立的党支部、党小组或党员中心户的名称；非党员留空", "gongzhi"
    )

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
            "所在党组织",
            (
                "党员填写，非党员留空。须为本社区已建立的党组织（党支部、党小组或党员中心户）的名称；"
                "重名时写出上级，用“/”分隔，如“和平社区党委/第一网格党支部”。党组织由工作人员在系统中建立，导入不会新建。"
            ),
        ),
        ("入党日期", "选填。日期格式，或文本 YYYY-MM-DD，如 2005-07-01。"),
        ("在职/退休", "填写“在职”或“退休”；新登记的党员留空时按退休登记。"),
        ("工作单位", "在职党员的工作单位。与本社区登记的驻区单位同名时自动关联。"),
        ("单位党组织", "在职党员组织关系所在的单位党组织，如“区教育局机关党委”。"),
        (
            "党员信息",
            (
                "党员各列须与“所在党组织”一起填写。已登记的党员再次导入时按所填内容更新，留空的单元格不会清除已有信息；"
                "党员组织关系转出等需结束登记的，请在“党员管理”页面办理。"
            ),
        ),
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
