"""Public pages, no login: the communities, a published month (print style and .xlsx) with objections, the
rankings and the annual selection. Names are masked by the services that produce the lines."""

from __future__ import annotations

import io
from datetime import date, timedelta

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.core.access import reach
from gongzhi.core.errors import DomainError, NotFound, ValidationFailed
from gongzhi.core.roles import Permission
from gongzhi.core.views_support import domain_errors
from gongzhi.places.models import Place, PlaceKind

from .. import publication as pub
from ..evaluation import XLSX_CONTENT_TYPE
from ..models import HOLDER_KINDS, AccountKind, Publication, PublicationLine, Selection
from ..rankings import RANKING_KINDS, ranking
from .common import PER_PAGE, TEXT_MAX, kind_labels, to_int


def _public_community(community_id: int) -> Place:
    community = Place.objects.filter(pk=community_id, kind=PlaceKind.COMMUNITY, is_active=True).first()
    if community is None:
        raise NotFound()
    return community


def _published(community: Place, year: int, month: int) -> Publication:
    try:
        first = date(year, month, 1)
    except ValueError:
        raise NotFound() from None
    publication = (
        Publication.objects.filter(community=community, month=first).exclude(state=Publication.State.OPEN).first()
    )
    if publication is None:
        raise NotFound()
    return publication


@domain_errors
def public_index(request):
    communities = list(Place.objects.filter(kind=PlaceKind.COMMUNITY, is_active=True).order_by("path"))
    return render(request, "points/public_index.html", {"communities": communities})


@domain_errors
def public_community(request, community_id: int):
    community = _public_community(community_id)
    publications = list(
        Publication.objects.filter(community=community).exclude(state=Publication.State.OPEN).order_by("-month")
    )
    selections = list(
        Selection.objects.filter(community=community, state=Selection.State.PUBLISHED)
        .order_by("-year")
        .values("year")
        .distinct()
    )
    context = {"community": community, "publications": publications, "selections": selections}
    return render(request, "points/public_community.html", context)


def _publication_context(request, community: Place, publication: Publication) -> dict:
    labels = kind_labels()
    lines = pub.publication_public_lines(publication)
    for line in lines:
        line["kind_label"] = labels.get(line["account_kind"], line["account_kind"])
    window_open = publication.state == Publication.State.PUBLISHED and timezone.now() < publication.objections_until
    can_object = False
    if window_open and request.user.is_authenticated:
        allowed = reach(request.user, Permission.OBJECTION_RAISE)
        can_object = allowed.everything or any(path.startswith(community.path) for path in allowed.paths)
    return {
        "community": community,
        "publication": publication,
        "lines": lines,
        "totals": {"points": sum(line["points"] for line in lines), "claims": sum(line["claims"] for line in lines)},
        "window_open": window_open,
        "can_object": can_object,
        "objection_done": request.GET.get("objection") == "sent",
        "objection_form": {},
    }


@domain_errors
def public_publication(request, community_id: int, year: int, month: int):
    community = _public_community(community_id)
    publication = _published(community, year, month)
    return render(request, "points/public_publication.html", _publication_context(request, community, publication))


@domain_errors
@require_POST
def objection_new(request, community_id: int, year: int, month: int):
    community = _public_community(community_id)
    publication = _published(community, year, month)
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    text = request.POST.get("text", "")[:TEXT_MAX]
    line_id = to_int(request.POST.get("line"))
    line = PublicationLine.objects.filter(pk=line_id, publication=publication).first() if line_id else None
    try:
        if line_id and line is None:
            raise ValidationFailed(fields={"line": _("This line is not in this month's list.")})
        pub.objection_raise(actor=request.user, publication=publication, text=text, line=line)
    except DomainError as refusal:
        context = _publication_context(request, community, publication)
        context.update(objection_error=refusal, objection_form={"text": text, "line": line_id})
        return render(request, "points/public_publication.html", context, status=refusal.status)
    url = reverse("points:public_publication", args=[community.pk, year, month])
    return redirect(f"{url}?objection=sent#objection")


def publication_workbook(*, community: Place, publication: Publication, lines: list[dict]) -> bytes:
    """The month's public list as .xlsx: masked names only, headers in Chinese, ready to print."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    with translation.override("zh-hans"):
        labels = kind_labels()
        sheet.title = _("Points list")[:31]
        title = _("%(community)s: points of %(month)s") % {
            "community": community.name,
            "month": f"{publication.month:%Y-%m}",
        }
        sheet.append([title])
        sheet["A1"].font = Font(bold=True, size=14)
        sheet.append([_("No."), _("Name"), _("Kind"), _("Claims"), _("Points")])
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for number, line in enumerate(lines, start=1):
            sheet.append(
                [number, line["masked_name"], labels.get(line["account_kind"], ""), line["claims"], line["points"]]
            )
        sheet.append(["", _("Total"), "", sum(row["claims"] for row in lines), sum(row["points"] for row in lines)])
    for column, width in zip("ABCDE", (6, 16, 14, 8, 8), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A3"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@domain_errors
def public_publication_xlsx(request, community_id: int, year: int, month: int):
    community = _public_community(community_id)
    publication = _published(community, year, month)
    content = publication_workbook(
        community=community, publication=publication, lines=pub.publication_public_lines(publication)
    )
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="points-{community.pk}-{publication.month:%Y-%m}.xlsx"'
    return response


def ranking_periods(today: date) -> list[tuple[str, str]]:
    quarter = (today.month - 1) // 3 + 1
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return [
        (f"{today:%Y-%m}", _("This month")),
        (f"{last_month:%Y-%m}", _("Last month")),
        (f"{today.year}-Q{quarter}", _("This quarter")),
        (str(today.year), _("This year")),
        (str(today.year - 1), _("Last year")),
        ("all", _("All time")),
    ]


@domain_errors
def public_rankings(request, place_id: int):
    place = Place.objects.filter(pk=place_id, kind__in=RANKING_KINDS, is_active=True).first()
    if place is None:
        raise NotFound()
    periods = ranking_periods(timezone.localdate())
    period = request.GET.get("period") or "all"
    if period not in {value for value, _label in periods}:
        period = "all"
    kind = request.GET.get("kind") or ""
    if kind not in HOLDER_KINDS:
        kind = ""
    number = max(1, to_int(request.GET.get("page")) or 1)
    rows = ranking(place=place, kind=kind or None, period=period, limit=PER_PAGE + 1, offset=(number - 1) * PER_PAGE)
    labels = kind_labels()
    shown = [
        {"rank": row.rank, "masked_name": row.masked_name, "kind_label": labels.get(row.kind, ""), "points": row.points}
        for row in rows[:PER_PAGE]
    ]
    above = Place.objects.filter(pk__in=place.ancestor_ids, kind__in=RANKING_KINDS, is_active=True)
    scopes = [*above.order_by("depth"), place]
    context = {
        "place": place,
        "scopes": scopes,
        "rows": shown,
        "kinds": [(value, label) for value, label in AccountKind.choices if value in HOLDER_KINDS],
        "kind": kind,
        "periods": periods,
        "period": period,
        "page": _SimplePage(number, has_next=len(rows) > PER_PAGE),
    }
    return render(request, "points/public_rankings.html", context)


class _SimplePage:
    """Enough of a Paginator page for the pager when the total is not counted (rankings)."""

    def __init__(self, number: int, *, has_next: bool):
        self.number = number
        self._has_next = has_next

    def has_next(self) -> bool:
        return self._has_next

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_next() or self.has_previous()

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


@domain_errors
def public_selection(request, community_id: int, year: int):
    community = _public_community(community_id)
    chosen = []
    for selection in Selection.objects.filter(community=community, year=year, state=Selection.State.PUBLISHED):
        selection_obj, rows = pub.selection_public(selection.pk)
        selection_obj.chosen = rows
        chosen.append(selection_obj)
    return render(request, "points/public_selection.html", {"community": community, "year": year, "selections": chosen})
