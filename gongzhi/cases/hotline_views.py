"""Pages for hotline (12345) requests: staff enter one work order by hand, or upload the hotline's spreadsheet and
follow its import.

The upload is saved under MEDIA_ROOT/imports/hotline/ and imported in the background (``hotline_import_start``, on
the one runner of ``gongzhi.core.imports``); the progress page polls with htmx until it is finished and then lists
the rows refused, row by row. Only the owner of an import sees it. The import itself (matching addresses to
places, one case per new work order) is ``hotline.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from gongzhi.core.access import reach
from gongzhi.core.errors import DomainError, NotFound, ValidationFailed
from gongzhi.core.imports import access_import_progress, import_progress_context
from gongzhi.core.models import Progress
from gongzhi.core.roles import Permission
from gongzhi.core.views_support import domain_errors
from gongzhi.places.models import Place, PlaceKind
from gongzhi.places.selectors import access_place, place_queryset

from . import services
from .hotline import MAX_ROWS, PROGRESS_KIND, _PlaceMatcher, hotline_import_start
from .models import CaseChannel
from .selectors import access_category, category_list
from .transitions import TEXT_MAX

CHOICE_LIMIT = 500
HOTLINE_ERRORS_SHOWN = 300


def _hotline_places(user, permission: str) -> list[Place]:
    """The streets and communities the person may enter or import hotline requests for."""
    places = place_queryset(user, permission).filter(kind__in=(PlaceKind.STREET, PlaceKind.COMMUNITY))
    return list(places.order_by("path")[:CHOICE_LIMIT])


def _errors(error: DomainError) -> dict[str, list[str]]:
    return error.as_dict().get("fields") or {}


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def hotline_new(request):
    """Staff enter one hotline work order: the address is matched to the deepest place under the chosen one."""
    user = request.user
    if reach(user, Permission.CASE_INTAKE).is_empty:
        raise NotFound()
    places = _hotline_places(user, Permission.CASE_INTAKE)
    context: dict[str, Any] = {
        "places": places,
        "categories": list(category_list()),
        "form": {"under": str(places[0].pk) if len(places) == 1 else ""},
        "errors": {},
        "error": None,
    }
    if request.method == "GET":
        return render(request, "cases/hotline_new.html", context)
    names = ("under", "external_ref", "reported_at", "category", "text", "address", "contact_name", "contact_phone")
    form = {name: request.POST.get(name, "")[:TEXT_MAX] for name in names}
    context["form"] = form
    try:
        if not form["under"]:
            raise ValidationFailed(fields={"under": _("Choose the street or community the call is about.")})
        under = access_place(user, form["under"], Permission.CASE_INTAKE)
        if not form["category"]:
            raise ValidationFailed(fields={"category": _("Choose a category.")})
        category = access_category(form["category"])
        reported_at = None
        if form["reported_at"]:
            try:
                reported_at = timezone.make_aware(datetime.strptime(form["reported_at"], "%Y-%m-%dT%H:%M"))
            except ValueError:
                raise ValidationFailed(fields={"reported_at": _("Write the call time as 2025-01-31 14:05.")}) from None
        place_id = _PlaceMatcher(under).match(form["address"])
        place = Place.objects.get(pk=place_id)
        case = services.case_submit(
            actor=user,
            category=category,
            text=form["text"],
            place=place,
            location_text=form["address"][:255],
            channel=CaseChannel.HOTLINE,
            contact_name=form["contact_name"],
            contact_phone=form["contact_phone"],
            external_ref=form["external_ref"],
            reported_at=reported_at,
        )
    except DomainError as error:
        context.update(error=error, errors=_errors(error))
        return render(request, "cases/hotline_new.html", context, status=error.status)
    messages.success(request, _("Hotline request %(number)s was entered.") % {"number": case.number})
    return redirect("cases:detail", case.pk)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def hotline_import_page(request):
    """Upload the 12345 spreadsheet; the import runs in the background and the progress page follows it."""
    user = request.user
    if reach(user, Permission.CASE_IMPORT).is_empty:
        raise NotFound()
    places = _hotline_places(user, Permission.CASE_IMPORT)
    selected = request.POST.get("place", "") or (str(places[0].pk) if len(places) == 1 else "")
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if not request.POST.get("place"):
            error = _("Choose the street or community to import into.")
        elif upload is None:
            error = _("Choose the hotline file to upload.")
        elif not (upload.name or "").lower().endswith(".xlsx"):
            error = _("Upload the hotline's Excel workbook saved as .xlsx.")
        else:
            place = access_place(user, request.POST["place"], Permission.CASE_IMPORT)
            progress = hotline_import_start(actor=user, place=place, upload=upload)
            return redirect("cases:hotline_progress", progress.pk)
    imports = list(Progress.objects.filter(owner_id=user.pk, kind=PROGRESS_KIND)[:20])
    context = {
        "places": places,
        "selected": selected,
        "error": error,
        "imports": imports,
        "max_rows": MAX_ROWS,
    }
    return render(request, "cases/hotline_import.html", context, status=422 if error else 200)


@login_required
@domain_errors
@require_GET
def hotline_progress(request, progress_id: int):
    """The import's progress; htmx polls the status part until it is finished. Only its owner sees it."""
    progress = access_import_progress(request.user, progress_id, kind=PROGRESS_KIND)
    context = import_progress_context(progress, now=timezone.now(), errors_shown=HOTLINE_ERRORS_SHOWN)
    template = "cases/_hotline_status.html" if request.htmx else "cases/hotline_progress.html"
    return render(request, template, context)
