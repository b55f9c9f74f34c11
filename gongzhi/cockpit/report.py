"""The generated work report of a place and period, in the form of the seeds (shared/seeds): a title, an opening
paragraph, then numbered sections — organisation, red points, service, cases, deliberation, co-building — each with
its figures written out in a paragraph and a table (figure, this period, previous period, numerator / denominator,
how it is counted). A rate is always written with its numerator and denominator: "66.7%（2/3）", "—（0/0）".

``report_content`` lays the report out once from the KPI catalogue's ``Snapshot`` (the same numbers as the cockpit,
the API and the workbook); ``work_report`` writes it as .docx, ``report_pdf.work_report_pdf`` as PDF.

The .docx comes from a template staff can edit in Word: ``GONGZHI_REPORT_TEMPLATE`` names a .docx (default: the
one shipped here, ``report_templates/work_report.docx``). Its styles (Title, Heading 1, Table Grid …), header,
footer and letterhead are kept; in its paragraphs ``{{ place }}``, ``{{ period }}``, ``{{ first }}``, ``{{ last }}``
and ``{{ generated_at }}`` are filled in, and the report goes where a paragraph reads exactly ``{{ report }}`` (at
the end when there is none). See docs/deployment.md.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from gongzhi.core.figures import Rate
from gongzhi.core.kpi_catalogue import NO_VALUE, DomainValues, FigureValue, Snapshot, Unit
from gongzhi.places.models import Place

# The seeds' sections and the domains that fill each (in the catalogue's order within a section).
REPORT_SECTIONS = (
    (pgettext_lazy("report section", "Organisation"), ("places", "people")),
    (pgettext_lazy("report section", "Red points"), ("points",)),
    (pgettext_lazy("report section", "Service to residents"), ("shop", "volunteering")),
    (pgettext_lazy("report section", "Residents' requests and disputes"), ("cases",)),
    (pgettext_lazy("report section", "Deliberation"), ("deliberation",)),
    (pgettext_lazy("report section", "Co-building"), ("cobuilding",)),
)
CHINESE_NUMERALS = "一二三四五六七八九十"
DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DEFAULT_TEMPLATE = Path(__file__).resolve().parent / "report_templates" / "work_report.docx"
REPORT_MARKER = "{{ report }}"
_PLACEHOLDER = re.compile(r"\{\{\s*(place|period|first|last|generated_at)\s*\}\}")


def numbered(index: int) -> str:
    """一、二、… (the seeds' section numbering), then 11、12、…"""
    return CHINESE_NUMERALS[index] if index < len(CHINESE_NUMERALS) else str(index + 1)


def written(value: FigureValue) -> str:
    """A value in a sentence: a rate with its numerator and denominator, "—" when nothing is rated."""
    if isinstance(value.value, Rate):
        return f"{value.shown}（{value.value.numerator}/{value.value.denominator}）"
    return value.shown


def _fraction(value: FigureValue) -> str:
    if isinstance(value.value, Rate):
        return f"{value.value.numerator}/{value.value.denominator}"
    return ""


def _sentence(values: list[FigureValue]) -> str:
    parts = [f"{value.figure.name}{written(value)}" for value in values if value.figure.unit != Unit.MAPPING]
    return "；".join(parts) + "。" if parts else ""


def sections(snapshot: Snapshot) -> list[tuple[str, list[DomainValues]]]:
    """The report's sections with the domains computed for each (a registered domain no section names last)."""
    by_key = {domain_values.domain.key: domain_values for domain_values in snapshot.domains}
    named = {key for _title, keys in REPORT_SECTIONS for key in keys}
    result = [(str(title), [by_key[key] for key in keys if key in by_key]) for title, keys in REPORT_SECTIONS]
    result += [(str(values.domain.name), [values]) for key, values in by_key.items() if key not in named]
    return result


# ---------------------------------------------------------------- the content, once for every format


@dataclass(frozen=True)
class ReportGroup:
    """One group of figures: its name, the sentence that writes them out, and the table (header + rows)."""

    name: str
    sentence: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class ReportSection:
    heading: str  # "一、组织建设"
    groups: tuple[ReportGroup, ...]
    note: str = ""  # said instead of the groups when the platform counts nothing for the section


@dataclass(frozen=True)
class ReportContent:
    title: str
    opening: str
    sections: tuple[ReportSection, ...]
    placeholders: dict[str, str]


def report_content(*, place: Place, snapshot: Snapshot, previous: Snapshot, generated_at: datetime) -> ReportContent:
    """The report's words and tables, in the active language (the same for .docx and PDF)."""
    period = snapshot.period
    title = _("%(place)s: work report on party-led community governance, %(first)s to %(last)s") % {
        "place": place.name,
        "first": period.first.isoformat(),
        "last": period.last.isoformat(),
    }
    opening = _(
        "This report was generated by the platform on %(moment)s from the records of %(place)s and the places "
        "under it for the period %(key)s, compared with %(previous)s. Every figure is counted as its "
        "definition in the tables says; a rate is given with its numerator and denominator, and “—” means "
        "there was nothing to rate."
    ) % {
        "moment": generated_at.strftime("%Y-%m-%d %H:%M"),
        "place": place.name,
        "key": period.key,
        "previous": previous.period.key,
    }
    header = (
        str(_("Figure")),
        period.key,
        previous.period.key,
        str(_("Numerator / denominator")),
        str(_("How it is counted")),
    )
    built = []
    for index, (section_title, domains) in enumerate(sections(snapshot)):
        heading = f"{numbered(index)}、{section_title}"
        if not domains:
            note = _("The platform does not count this section's figures yet; write it by hand for now.")
            built.append(ReportSection(heading, (), str(note)))
            continue
        groups = []
        for domain_values in domains:
            for group_values in domain_values.groups:
                values = list(group_values.values)
                rows = []
                for value in values:
                    before = previous.values.get(value.key)
                    rows.append(
                        (
                            str(value.figure.name),
                            value.shown,
                            before.shown if before is not None else NO_VALUE,
                            _fraction(value),
                            str(value.figure.definition),
                        )
                    )
                groups.append(ReportGroup(str(group_values.group.name), _sentence(values), header, tuple(rows)))
        built.append(ReportSection(heading, tuple(groups)))
    placeholders = {
        "place": place.name,
        "period": period.key,
        "first": period.first.isoformat(),
        "last": period.last.isoformat(),
        "generated_at": generated_at.strftime("%Y-%m-%d %H:%M"),
    }
    return ReportContent(str(title), str(opening), tuple(built), placeholders)


# ---------------------------------------------------------------- .docx from the staff's template


def template_path() -> Path:
    """The .docx template in use: ``GONGZHI_REPORT_TEMPLATE`` or the one shipped with the cockpit."""
    configured = getattr(settings, "GONGZHI_REPORT_TEMPLATE", "") or ""
    return Path(configured) if configured else DEFAULT_TEMPLATE


def _fill_placeholders(paragraph, values: dict[str, str]) -> None:
    """Replace ``{{ name }}`` in a paragraph. Word may split a placeholder over runs: the paragraph's text is then
    rewritten into its first run (that paragraph keeps the first run's formatting)."""
    text = paragraph.text
    if not _PLACEHOLDER.search(text):
        return
    for run in paragraph.runs:
        if _PLACEHOLDER.search(run.text):
            run.text = _PLACEHOLDER.sub(lambda match: values[match.group(1)], run.text)
    if _PLACEHOLDER.search(paragraph.text) and paragraph.runs:
        paragraph.runs[0].text = _PLACEHOLDER.sub(lambda match: values[match.group(1)], paragraph.text)
        for run in paragraph.runs[1:]:
            run.text = ""


def _template_paragraphs(document):
    yield from document.paragraphs
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                yield from cell.paragraphs
    for section in document.sections:
        for part in (section.header, section.footer):
            yield from part.paragraphs


def work_report(*, place: Place, snapshot: Snapshot, previous: Snapshot, generated_at: datetime) -> bytes:
    """The report's bytes (.docx), written into the template."""
    content = report_content(place=place, snapshot=snapshot, previous=previous, generated_at=generated_at)
    return work_report_docx(content)


def work_report_docx(content: ReportContent) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    document = Document(str(template_path()))
    marker = None
    for paragraph in list(_template_paragraphs(document)):
        if paragraph.text.strip() == REPORT_MARKER and marker is None:
            marker = paragraph
            continue
        _fill_placeholders(paragraph, content.placeholders)
    body = document.element.body
    existing = set(body)

    title = document.add_heading(content.title, level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph(content.opening)
    for section in content.sections:
        document.add_heading(section.heading, level=1)
        if section.note:
            document.add_paragraph(section.note)
        for group in section.groups:
            document.add_paragraph().add_run(group.name).bold = True
            if group.sentence:
                document.add_paragraph(group.sentence)
            table = document.add_table(rows=1, cols=len(group.header))
            table.style = "Table Grid"
            for cell, text in zip(table.rows[0].cells, group.header, strict=True):
                cell.text = text
                for paragraph in cell.paragraphs:
                    for run in paragraph.runs:
                        run.bold = True
            for row in group.rows:
                cells = table.add_row().cells
                for cell, text in zip(cells, row, strict=True):
                    cell.text = text
                for paragraph in cells[-1].paragraphs:
                    for run in paragraph.runs:
                        run.font.size = Pt(8)

    if marker is not None:
        # Move what was added (everything before the closing section properties) to where the marker stands.
        added = [element for element in body if element not in existing and not element.tag.endswith("}sectPr")]
        anchor = marker._element
        for element in added:
            anchor.addprevious(element)
        anchor.getparent().remove(anchor)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
