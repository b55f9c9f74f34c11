"""The work ledgers (工作台账): one .xlsx per domain for a place and period — points claims, cases, volunteering
activities and attendances, deliberation topics / votes / resolutions, co-building projects and fund spending, and
the people and party roster counts. Each ledger reads its rows through the owning app's selectors
(``points.selectors.claims_ledger`` …), which check that ``cockpit.report_generate`` reaches the place.

Personal data is masked by default (张*, 138****5678; ID numbers are never in a ledger): ``LedgerMasking`` is the
one place that decides. Unmasked names and phones need ``resident.reveal`` reaching the place **and** a stated
purpose; every ledger export is audited (``cockpit.ledger_export``, with ``revealed`` and the purpose).

The workbook is written with openpyxl's write-only mode, row by row from ``QuerySet.iterator()``: no page size,
memory stays flat however long the ledger, and the file is spooled to disk past a few megabytes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from gongzhi.core.access import reach, require_reach
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.db_router import reading_from_replica
from gongzhi.core.errors import ValidationFailed
from gongzhi.core.figures import Period
from gongzhi.core.masking import mask_name, mask_phone
from gongzhi.core.roles import Permission
from gongzhi.places.models import Place

CHUNK = 2000
MIN_PURPOSE_LENGTH = 4


@dataclass(frozen=True)
class LedgerMasking:
    """How personal data leaves in a ledger: masked unless ``revealed`` (checked and audited by the caller)."""

    revealed: bool = False

    def name(self, value: str | None) -> str:
        return (value or "") if self.revealed else mask_name(value)

    def phone(self, value: str | None) -> str:
        return (value or "") if self.revealed else mask_phone(value)


MASKED = LedgerMasking()


def _when(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _day(value: Any) -> str:
    return value.isoformat() if value else ""


@dataclass(frozen=True)
class Sheet:
    title: Any
    headers: tuple[Any, ...]
    rows: Callable[[Actor, Place, Period, LedgerMasking], Iterable[list]]


# ---------------------------------------------------------------- the sheets, domain by domain


def _claims(actor: Actor, place: Place, period: Period, masking: LedgerMasking) -> Iterator[list]:
    from gongzhi.points.selectors import claims_ledger

    for claim in claims_ledger(actor, place, period).iterator(chunk_size=CHUNK):
        account = claim.account
        resident = account.resident
        holder = masking.name(resident.name) if resident is not None else account.display_name
        if resident is None and account.organisation is not None:
            holder = account.organisation.name
        yield [
            claim.pk,
            _day(claim.service_date),
            holder,
            masking.phone(resident.phone) if resident is not None else "",
            claim.item.name if claim.item_id else "",
            claim.value,
            claim.get_state_display(),
            _when(claim.submitted_at),
            _when(claim.decided_at),
            claim.community.name if claim.community_id else "",
        ]


def _cases(actor: Actor, place: Place, period: Period, masking: LedgerMasking) -> Iterator[list]:
    from gongzhi.cases.selectors import cases_ledger

    for case in cases_ledger(actor, place, period).iterator(chunk_size=CHUNK):
        contact = case.contact_name or (case.reporter_resident.name if case.reporter_resident is not None else "")
        yield [
            case.pk,
            _when(case.submitted_at),
            case.category.name if case.category_id else "",
            case.place.name,
            case.get_channel_display(),
            case.get_state_display(),
            "" if case.is_anonymous else masking.name(contact),
            "" if case.is_anonymous else masking.phone(case.contact_phone),
            case.resolved_level,
            case.satisfaction,
            _("yes") if case.is_overdue else _("no"),
            _when(case.closed_at),
        ]


def _activities(actor: Actor, place: Place, period: Period, masking: LedgerMasking) -> Iterator[list]:
    from gongzhi.volunteering.selectors import activities_ledger

    for activity in activities_ledger(actor, place, period).iterator(chunk_size=CHUNK):
        yield [
            activity.pk,
            activity.title,
            activity.community.name,
            activity.team.name if activity.team is not None else "",
            _when(activity.starts_at),
            _when(activity.ends_at),
            activity.capacity,
            activity.taken,
            activity.get_state_display(),
        ]


def _attendances(actor: Actor, place: Place, period: Period, masking: LedgerMasking) -> Iterator[list]:
    from gongzhi.volunteering.selectors import attendances_ledger

    for signup in attendances_ledger(actor, place, period).iterator(chunk_size=CHUNK):
        resident = signup.resident
        yield [
            signup.activity_id,
            signup.activity.title,
            masking.name(resident.name) if resident is not None else "",
            masking.phone(resident.phone) if resident is not None else "",
            signup.get_state_display(),
            _when(signup.checked_in_at),
            _when(signup.checked_out_at),
            signup.credit_minutes,
        ]


def _topics(actor: Actor, place: Place, period: Period, masking: LedgerMasking) -> Iterator[list]:
    from gongzhi.deliberation.selectors import topics_ledger

    for topic in topics_ledger(actor, place, period).iterator(chunk_size=CHUNK):
        proposer = topic.proposer_resident
        yield [
            topic.pk,
            topic.title,
            topic.community.name,
            masking.name(proposer.name) if proposer is not None else "",
            topic.get_state_display(),
            _when(topic.proposed_at),
            _when(topic.decided_at),
            _when(topic.carried_out_at),
        ]


def _votes(actor: Actor, place: Place, period: Period, masking: LedgerMasking) -> Iterator[list]:
    from gongzhi.deliberation.selectors import votes_ledger

    for vote in votes_ledger(actor, place, period).iterator(chunk_size=CHUNK):
        yield [
            vote.pk,
            vote.title,
            vote.community.name,
            _when(vote.opens_at),
            _when(vote.closes_at),
            vote.eligible_count,
            vote.ballot_count,
            vote.get_state_display(),
            vote.outcome,
        ]


def _resolutions(actor: Actor, place: Place, period: Period, masking: LedgerMasking) -> Iterator[list]:
    from gongzhi.deliberation.selectors import resolutions_ledger

    for resolution in resolutions_ledger(actor, place, period).iterator(chunk_size=CHUNK):
        yield [
            resolution.pk,
            resolution.topic.title,
            resolution.topic.community.name,
            resolution.steps_done,
            _when(resolution.published_at),
            _when(resolution.result_published_at),
        ]


def _projects(actor: Actor, place: Place, period: Period, masking: LedgerMasking) -> Iterator[list]:
    from gongzhi.cobuilding.selectors import projects_ledger

    for project in projects_ledger(actor, place, period).iterator(chunk_size=CHUNK):
        yield [
            project.pk,
            project.title,
            project.place.name,
            float(project.budget) if project.budget is not None else None,
            project.get_state_display(),
            project.claimer.name if project.claimer is not None else "",
            _when(project.claimed_at),
            _when(project.confirmed_at),
        ]


def _spending(actor: Actor, place: Place, period: Period, masking: LedgerMasking) -> Iterator[list]:
    from gongzhi.cobuilding.selectors import spending_ledger

    for spending in spending_ledger(actor, place, period).iterator(chunk_size=CHUNK):
        yield [
            spending.pk,
            spending.fund.community.name,
            spending.fund.year,
            spending.purpose,
            spending.project.title if spending.project is not None else "",
            float(spending.amount),
            spending.get_state_display(),
            _when(spending.requested_at),
            _when(spending.decided_at),
            _when(spending.paid_at),
        ]


def _roster(actor: Actor, place: Place, period: Period, masking: LedgerMasking) -> Iterator[list]:
    from gongzhi.people.selectors import roster_counts_ledger

    for item, residents, party in roster_counts_ledger(actor, place):
        yield [
            item.name,
            item.get_kind_display(),
            residents,
            party.get("committee", 0),
            party.get("branch", 0),
            party.get("building_group", 0),
            party.get("household_lead", 0),
            party.get("members", 0),
            party.get("in_service_members", 0),
        ]


LEDGERS: dict[str, tuple[Any, tuple[Sheet, ...]]] = {
    "points": (
        _l("Red points ledger"),
        (
            Sheet(
                _l("Points claims"),
                (
                    _l("No."),
                    _l("Service date"),
                    _l("Holder"),
                    _l("Phone"),
                    _l("Item"),
                    _l("Points"),
                    _l("State"),
                    _l("Submitted at"),
                    _l("Reviewed at"),
                    _l("Community"),
                ),
                _claims,
            ),
        ),
    ),
    "cases": (
        _l("Residents' requests ledger"),
        (
            Sheet(
                _l("Cases"),
                (
                    _l("No."),
                    _l("Submitted at"),
                    _l("Category"),
                    _l("Place"),
                    _l("Channel"),
                    _l("State"),
                    _l("Contact"),
                    _l("Phone"),
                    _l("Resolved at level"),
                    _l("Satisfaction"),
                    _l("Overdue"),
                    _l("Closed at"),
                ),
                _cases,
            ),
        ),
    ),
    "volunteering": (
        _l("Volunteering ledger"),
        (
            Sheet(
                _l("Activities"),
                (
                    _l("No."),
                    _l("Activity"),
                    _l("Community"),
                    _l("Team"),
                    _l("Starts at"),
                    _l("Ends at"),
                    _l("Places"),
                    _l("Taken"),
                    _l("State"),
                ),
                _activities,
            ),
            Sheet(
                _l("Attendances"),
                (
                    _l("Activity no."),
                    _l("Activity"),
                    _l("Volunteer"),
                    _l("Phone"),
                    _l("State"),
                    _l("Checked in"),
                    _l("Checked out"),
                    _l("Minutes credited"),
                ),
                _attendances,
            ),
        ),
    ),
    "deliberation": (
        _l("Deliberation ledger"),
        (
            Sheet(
                _l("Topics"),
                (
                    _l("No."),
                    _l("Topic"),
                    _l("Community"),
                    _l("Proposed by"),
                    _l("State"),
                    _l("Proposed at"),
                    _l("Decided at"),
                    _l("Carried out at"),
                ),
                _topics,
            ),
            Sheet(
                _l("Votes"),
                (
                    _l("No."),
                    _l("Vote"),
                    _l("Community"),
                    _l("Opens at"),
                    _l("Closes at"),
                    _l("Eligible"),
                    _l("Ballots"),
                    _l("State"),
                    _l("Outcome"),
                ),
                _votes,
            ),
            Sheet(
                _l("Resolutions"),
                (
                    _l("No."),
                    _l("Topic"),
                    _l("Community"),
                    _l("Steps done"),
                    _l("Published at"),
                    _l("Result published at"),
                ),
                _resolutions,
            ),
        ),
    ),
    "cobuilding": (
        _l("Co-building ledger"),
        (
            Sheet(
                _l("Projects"),
                (
                    _l("No."),
                    _l("Project"),
                    _l("Place"),
                    _l("Budget (yuan)"),
                    _l("State"),
                    _l("Claimed by"),
                    _l("Claimed at"),
                    _l("Confirmed at"),
                ),
                _projects,
            ),
            Sheet(
                _l("Fund spending"),
                (
                    _l("No."),
                    _l("Community"),
                    _l("Year"),
                    _l("Purpose"),
                    _l("Project"),
                    _l("Amount (yuan)"),
                    _l("State"),
                    _l("Asked for at"),
                    _l("Decided at"),
                    _l("Paid at"),
                ),
                _spending,
            ),
        ),
    ),
    "people": (
        _l("People and party roster"),
        (
            Sheet(
                _l("Roster counts"),
                (
                    _l("Place"),
                    _l("Kind"),
                    _l("Residents"),
                    _l("Party committees"),
                    _l("Party branches"),
                    _l("Building groups"),
                    _l("Household leads"),
                    _l("Party members"),
                    _l("Members in service"),
                ),
                _roster,
            ),
        ),
    ),
}


def ledger_masking(*, actor: Actor, place: Place, reveal: bool, purpose: str) -> LedgerMasking:
    """Masked unless asked to reveal with ``resident.reveal`` reaching the place and a stated purpose (the same
    NotFound as elsewhere when the reveal reach is missing; a short purpose is a field error)."""
    if not reveal:
        return MASKED
    require_reach(actor, Permission.RESIDENT_REVEAL, place.path)
    if len(purpose.strip()) < MIN_PURPOSE_LENGTH:
        raise ValidationFailed(fields={"purpose": _("Say why you need the names and phone numbers.")})
    return LedgerMasking(revealed=True)


def can_reveal(actor: Actor, place: Place) -> bool:
    return reach(actor, Permission.RESIDENT_REVEAL).covers(place.path)


def ledger_workbook(
    *,
    actor: Actor,
    domain: str,
    place: Place,
    period: Period,
    reveal: bool = False,
    purpose: str = "",
    now: datetime,
) -> tempfile.SpooledTemporaryFile:
    """The ledger's .xlsx (a spooled file at position 0), its export audited. Rows come from the owning app's
    selectors (which check ``cockpit.report_generate``), read from the replica when there is one."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    if domain not in LEDGERS:
        raise ValidationFailed(fields={"domain": _("There is no such ledger.")})
    require_reach(actor, Permission.REPORT_GENERATE, place.path)
    masking = ledger_masking(actor=actor, place=place, reveal=reveal, purpose=purpose)
    title, sheets = LEDGERS[domain]
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    counts = {}
    with reading_from_replica():
        for sheet in sheets:
            worksheet = workbook.create_sheet(str(sheet.title)[:31])
            heading = WriteOnlyCell(worksheet, value=f"{title} · {place.name} · {period.first} – {period.last}")
            heading.font = bold
            worksheet.append([heading])
            worksheet.append(
                [_("Names and phone numbers are shown in full.") if masking.revealed else _("Personal data masked.")]
            )
            header = []
            for label in sheet.headers:
                cell = WriteOnlyCell(worksheet, value=str(label))
                cell.font = bold
                header.append(cell)
            worksheet.append(header)
            rows = 0
            for row in sheet.rows(actor, place, period, masking):
                worksheet.append(row)
                rows += 1
            counts[str(sheet.title)] = rows
    spooled = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, suffix=".xlsx")  # noqa: SIM115 (the response closes it)
    workbook.save(spooled)
    spooled.seek(0)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="cockpit.ledger_export",
            target=place,
            place_path=place.path,
            purpose=purpose.strip() if masking.revealed else "",
            changes={"ledger": domain, "period": period.key, "revealed": masking.revealed, "rows": counts},
            occurred_at=now,
        )
    return spooled
