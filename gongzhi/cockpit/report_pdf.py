"""The work report as PDF: the same content as the .docx (``report.report_content``), drawn with reportlab.

Chinese needs no font file: reportlab's built-in CID font STSong-Light (Adobe's Song, resolved by the PDF reader
from its own Asian font pack) is named in the PDF, so this works offline on a fresh machine. Text stays text:
a reader (or pypdf) can search and copy it.
"""

from __future__ import annotations

import io
from datetime import datetime
from xml.sax.saxutils import escape

from gongzhi.core.kpi_catalogue import Snapshot
from gongzhi.places.models import Place

from .report import ReportContent, report_content

PDF_CONTENT_TYPE = "application/pdf"
CHINESE_FONT = "STSong-Light"


def _styles():
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CHINESE_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CHINESE_FONT))
    base = {"fontName": CHINESE_FONT, "wordWrap": "CJK"}
    return {
        "title": ParagraphStyle("title", fontSize=16, leading=22, alignment=TA_CENTER, spaceAfter=12, **base),
        "heading": ParagraphStyle("heading", fontSize=13, leading=18, spaceBefore=10, spaceAfter=6, **base),
        "group": ParagraphStyle("group", fontSize=10.5, leading=15, spaceBefore=6, spaceAfter=3, **base),
        "body": ParagraphStyle("body", fontSize=10, leading=15, firstLineIndent=20, spaceAfter=4, **base),
        "cell": ParagraphStyle("cell", fontSize=8.5, leading=11, **base),
        "small": ParagraphStyle("small", fontSize=7, leading=9, textColor=colors.HexColor("#444444"), **base),
    }


def work_report_pdf(*, place: Place, snapshot: Snapshot, previous: Snapshot, generated_at: datetime) -> bytes:
    """The report's bytes (PDF, A4)."""
    content = report_content(place=place, snapshot=snapshot, previous=previous, generated_at=generated_at)
    return render_pdf(content)


def render_pdf(content: ReportContent) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = _styles()

    def text(value: str, style: str) -> Paragraph:
        return Paragraph(escape(value), styles[style])

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=content.title,
        author=content.placeholders["place"],
    )
    width = A4[0] - 36 * mm
    columns = [width * share for share in (0.22, 0.12, 0.12, 0.12, 0.42)]
    story: list = [text(content.title, "title"), text(content.opening, "body")]
    for section in content.sections:
        story.append(text(section.heading, "heading"))
        if section.note:
            story.append(text(section.note, "body"))
        for group in section.groups:
            story.append(text(group.name, "group"))
            if group.sentence:
                story.append(text(group.sentence, "body"))
            rows = [[text(cell, "cell") for cell in group.header]]
            rows += [
                [text(cell, "small" if index == 4 else "cell") for index, cell in enumerate(row)] for row in group.rows
            ]
            table = Table(rows, colWidths=columns, repeatRows=1)
            table.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                )
            )
            story += [table, Spacer(1, 4)]

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(CHINESE_FONT, 8)
        canvas.drawCentredString(A4[0] / 2, 10 * mm, f"{content.placeholders['place']} · {doc.page}")
        canvas.restoreState()

    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
