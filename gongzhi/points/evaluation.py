"""Annual evaluation (党员评议): each party member's points, claims and activities in a year, for the annual
democratic evaluation; the same for each resident organisation, for its supervising department.

These lists go to the party branch and to the supervising departments, not to the public: names are shown in
full, and nothing else personal (no ID card number, no phone) is in them. Building one is audited. Headers are
in Chinese whatever the page language (gettext under zh-hans).
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from gongzhi.core.access import require_reach
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import ValidationFailed
from gongzhi.core.roles import Permission
from gongzhi.core.tree import subtree_q
from gongzhi.people.models import Organisation, OrganisationKind, PartyMembership
from gongzhi.places.models import Place

from .models import AccountKind, Claim, ClaimState, Entry, PointsAccount

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ACTIVITY_SOURCE = "activity"
SUBJECTS = ("party_members", "organisations")


@dataclass(frozen=True)
class EvaluationRow:
    name: str
    group: str  # the party organisation, or the supervising department
    detail: str  # in service / employer, or the kind of organisation
    points: int
    claims: int
    approved: int
    activities: int


def _year(year: int) -> tuple[date, date]:
    if not isinstance(year, int) or not 2000 <= year <= timezone.localdate().year:
        raise ValidationFailed(fields={"year": _("Choose this year or a past year.")})
    return date(year, 1, 1), date(year + 1, 1, 1)


def _figures(account_ids: list[int], start: date, end: date) -> tuple[dict, dict]:
    """Points per account (entries counting as earned, dated in the year, net of reversals) and claim counts."""
    points = dict(
        Entry.objects.filter(
            account_id__in=account_ids,
            counts_as_earned=True,
            transfer__effective_date__gte=start,
            transfer__effective_date__lt=end,
        )
        .values("account_id")
        .annotate(total=Sum("amount"))
        .values_list("account_id", "total")
    )
    claims = {
        row["account_id"]: row
        for row in Claim.objects.filter(account_id__in=account_ids, service_date__gte=start, service_date__lt=end)
        .exclude(state=ClaimState.WITHDRAWN)
        .values("account_id")
        .annotate(
            claims=Count("id"),
            approved=Count("id", filter=Q(state=ClaimState.APPROVED)),
            activities=Count("id", filter=Q(state=ClaimState.APPROVED, source_type=ACTIVITY_SOURCE)),
        )
    }
    return points, claims


def party_member_evaluation(*, actor: Actor, place: Place, year: int) -> list[EvaluationRow]:
    """One row per active party member living under ``place``: the year's points over their accounts (party
    member and resident), claims with a service date in the year (all but withdrawn), approved claims, and
    approved claims from activities. NotFound when ``place`` is out of the actor's reach."""
    require_reach(actor, Permission.EVALUATION_EXPORT, place.path)
    start, end = _year(year)
    memberships = list(
        PartyMembership.objects.filter(subtree_q(place.path, "resident__household__path"), is_active=True)
        .select_related("resident", "organisation", "employer")
        .order_by("organisation__path", "resident__name", "resident_id")
    )
    accounts: dict[int, list[int]] = defaultdict(list)
    for account_id, resident_id in PointsAccount.objects.filter(
        resident_id__in=[m.resident_id for m in memberships],
        kind__in=[AccountKind.PARTY_MEMBER, AccountKind.RESIDENT],
    ).values_list("pk", "resident_id"):
        accounts[resident_id].append(account_id)
    points, claims = _figures([pk for ids in accounts.values() for pk in ids], start, end)
    with translation.override("zh-hans"):
        in_service = _("in-service party member")
    rows = []
    for membership in memberships:
        ids = accounts.get(membership.resident_id, [])
        employer = membership.employer.name if membership.employer else membership.employer_name
        detail = " ".join(part for part in (in_service if membership.is_in_service else "", employer) if part)
        rows.append(
            EvaluationRow(
                name=membership.resident.name,
                group=membership.organisation.name,
                detail=detail,
                points=sum(int(points.get(pk, 0)) for pk in ids),
                claims=sum(claims[pk]["claims"] for pk in ids if pk in claims),
                approved=sum(claims[pk]["approved"] for pk in ids if pk in claims),
                activities=sum(claims[pk]["activities"] for pk in ids if pk in claims),
            )
        )
    return rows


def organisation_evaluation(*, actor: Actor, place: Place, year: int) -> list[EvaluationRow]:
    """One row per active resident organisation located under ``place`` (merchants only when they hold a points
    account), grouped by supervising department."""
    require_reach(actor, Permission.EVALUATION_EXPORT, place.path)
    start, end = _year(year)
    account_of = dict(
        PointsAccount.objects.filter(
            subtree_q(place.path, "organisation__place__path"), kind=AccountKind.ORGANISATION
        ).values_list("organisation_id", "pk")
    )
    organisations = list(
        Organisation.objects.filter(subtree_q(place.path, "place__path"), is_active=True)
        .filter(~Q(kind=OrganisationKind.MERCHANT) | Q(pk__in=list(account_of)))
        .order_by("supervising_department", "name", "pk")
    )
    points, claims = _figures(list(account_of.values()), start, end)
    rows = []
    for organisation in organisations:
        pk = account_of.get(organisation.pk)
        figures = claims.get(pk, {})
        with translation.override("zh-hans"):
            kind = str(organisation.get_kind_display())
        rows.append(
            EvaluationRow(
                name=organisation.name,
                group=organisation.supervising_department,
                detail=kind,
                points=int(points.get(pk, 0)),
                claims=figures.get("claims", 0),
                approved=figures.get("approved", 0),
                activities=figures.get("activities", 0),
            )
        )
    return rows


def _columns(subject: str) -> list[tuple[str, int]]:
    with translation.override("zh-hans"):
        if subject == "party_members":
            named = [(_("Name"), 12), (_("Party organisation"), 24), (_("In service / employer"), 28)]
        else:
            named = [(_("Organisation"), 28), (_("Supervising department"), 24), (_("Kind"), 14)]
        return [
            (_("No."), 6),
            *named,
            (_("Points in the year"), 12),
            (_("Claims"), 10),
            (_("Approved claims"), 12),
            (_("Activities"), 10),
        ]


def evaluation_workbook(*, subject: str, year: int, place: Place, rows: list[EvaluationRow]) -> bytes:
    """The .xlsx of ``rows``: a title line, a header row (frozen), one line per person or organisation."""
    workbook = Workbook(write_only=True)
    with translation.override("zh-hans"):
        if subject == "party_members":
            title = _("Party members' points in %(year)s") % {"year": year}
        else:
            title = _("Organisations' points in %(year)s") % {"year": year}
        sheet = workbook.create_sheet(title=str(year))
    columns = _columns(subject)
    for index, (_header, width) in enumerate(columns):
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    sheet.freeze_panes = "A3"
    title_cell = WriteOnlyCell(sheet, value=f"{place.name} {title}")
    title_cell.font = Font(bold=True, size=14)
    sheet.append([title_cell])
    header = []
    for text, _width in columns:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="FFE8E8E8")
        cell.alignment = Alignment(horizontal="center")
        header.append(cell)
    sheet.append(header)
    for number, row in enumerate(rows, start=1):
        sheet.append([number, row.name, row.group, row.detail, row.points, row.claims, row.approved, row.activities])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def evaluation_export(*, actor: Actor, place: Place, year: int, subject: str = "party_members") -> tuple[bytes, int]:
    """The year's evaluation of party members (or organisations) under ``place`` as .xlsx bytes; audited.

    Codes: not_found (out of reach), validation_failed (year, subject).
    """
    if subject not in SUBJECTS:
        raise ValidationFailed(fields={"subject": _("Choose party members or organisations.")})
    if subject == "party_members":
        rows = party_member_evaluation(actor=actor, place=place, year=year)
    else:
        rows = organisation_evaluation(actor=actor, place=place, year=year)
    content = evaluation_workbook(subject=subject, year=year, place=place, rows=rows)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="points.evaluation_export",
            target=place,
            place_path=place.path,
            changes={"subject": subject, "year": year, "rows": len(rows)},
        )
    return content, len(rows)


def export_filename(*, place: Place, year: int, subject: str) -> str:
    return f"evaluation-{subject}-{place.pk}-{year}.xlsx"
