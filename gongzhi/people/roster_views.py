"""Pages for the roster import: upload a file for a community, follow its progress, read the report.

The upload is checked at once (an .xlsx with the template's headers), then saved and imported in the background by
the one import runner (``gongzhi.core.imports``); the progress page polls with htmx every second. A person can
leave and come back: /roster/ lists their recent imports. Only the owner of an import sees it.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from gongzhi.core.access import reach
from gongzhi.core.errors import NotFound
from gongzhi.core.imports import access_import_progress, import_progress_context
from gongzhi.core.models import Progress
from gongzhi.core.roles import Permission
from gongzhi.core.views_support import domain_errors
from gongzhi.places.models import Place, PlaceKind
from gongzhi.places.selectors import access_place, place_queryset

from .errors import RosterFileRefused
from .roster import PROGRESS_KIND, roster_import_start
from .roster_format import MAX_ROWS, roster_inspect
from .roster_template import roster_error_workbook, roster_template_workbook

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RECENT_IMPORTS = 20
ERRORS_SHOWN = 200


def _require_importer(actor) -> None:
    if reach(actor, Permission.ROSTER_IMPORT).is_empty:
        raise NotFound()


def _communities(actor) -> list[Place]:
    return list(place_queryset(actor, Permission.ROSTER_IMPORT).filter(kind=PlaceKind.COMMUNITY).order_by("path")[:500])


def _access_community(actor, community_id) -> Place:
    community = access_place(actor, community_id, Permission.ROSTER_IMPORT)
    if community.kind != PlaceKind.COMMUNITY:
        raise NotFound()
    return community


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def roster_index(request):
    """The upload form and the person's recent imports."""
    actor = request.user
    _require_importer(actor)
    communities = _communities(actor)
    error = ""
    selected = request.POST.get("community", "")
    if not selected and len(communities) == 1:
        selected = str(communities[0].pk)
    if request.method == "POST":
        upload = request.FILES.get("file")
        if not request.POST.get("community"):
            error = _("Choose the community to import into.")
        elif upload is None:
            error = _("Choose the roster file to upload.")
        else:
            community = _access_community(actor, request.POST["community"])
            try:
                estimate = roster_inspect(file_obj=upload, filename=upload.name)
            except RosterFileRefused as exc:
                error = str(exc.message)
            else:
                progress = roster_import_start(actor=actor, community=community, upload=upload, estimate=estimate)
                return redirect("roster_progress", progress.pk)
    imports = list(Progress.objects.filter(owner_id=actor.pk, kind=PROGRESS_KIND)[:RECENT_IMPORTS])
    context = {
        "communities": communities,
        "selected": selected,
        "error": error,
        "imports": imports,
        "row_limit": _("At most %(max)d rows per file.") % {"max": MAX_ROWS},
    }
    return render(request, "people/roster_index.html", context, status=422 if error else 200)


@login_required
@domain_errors
@require_GET
def roster_progress(request, progress_id: int):
    """The progress of one import; htmx polls the status fragment until it is finished."""
    progress = access_import_progress(request.user, progress_id, kind=PROGRESS_KIND)
    context = import_progress_context(progress, now=timezone.now(), errors_shown=ERRORS_SHOWN)
    context["created"] = _created_rows(context["result"].get("created") or {})
    context["party"] = context["result"].get("party") or {}
    template = "people/roster_status.html" if request.htmx else "people/roster_progress.html"
    return render(request, template, context)


def _created_rows(created: dict) -> list[tuple[str, int]]:
    labels = [
        ("compound", _("Compounds")),
        ("building", _("Buildings")),
        ("entrance", _("Entrances")),
        ("household", _("Households")),
        ("resident", _("Residents")),
    ]
    return [(label, int(created.get(key, 0))) for key, label in labels]


@login_required
@domain_errors
@require_GET
def roster_errors(request, progress_id: int):
    """The bad rows of an import as an Excel workbook."""
    progress = access_import_progress(request.user, progress_id, kind=PROGRESS_KIND)
    errors = (progress.result or {}).get("errors") or []
    if not errors:
        raise NotFound()
    filename = _("roster-errors-%(id)s.xlsx") % {"id": progress.pk}
    return HttpResponse(
        roster_error_workbook(errors),
        content_type=XLSX_CONTENT_TYPE,
        headers={"Content-Disposition": content_disposition_header(True, filename)},
    )


@login_required
@domain_errors
@require_GET
def roster_template(request):
    """The empty roster template, with an example row and instructions."""
    _require_importer(request.user)
    return HttpResponse(
        roster_template_workbook(),
        content_type=XLSX_CONTENT_TYPE,
        headers={"Content-Disposition": content_disposition_header(True, "花名册模板.xlsx")},
    )
