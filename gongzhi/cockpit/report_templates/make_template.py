"""Writes the default work-report template (work_report.docx) — run once when changing it:
``.venv/bin/python gongzhi/cockpit/report_templates/make_template.py``. Districts replace the file with their own
(letterhead, fonts) through GONGZHI_REPORT_TEMPLATE; see gongzhi/cockpit/report.py for the placeholders."""

from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt


def main() -> None:
    document = Document()
    for name, size in (("Normal", 11), ("Title", 20), ("Heading 1", 15)):
        style = document.styles[name]
        style.font.size = Pt(size)
        style.font.name = "SimSun" if name == "Normal" else "SimHei"
        style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), style.font.name)
    header = document.sections[0].header.paragraphs[0]
    header.text = "{{ place }} · {{ period }}"
    header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    footer = document.sections[0].footer.paragraphs[0]
    footer.text = "{{ generated_at }}"
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph("{{ report }}")
    document.save(Path(__file__).with_name("work_report.docx"))


if __name__ == "__main__":
    main()
