"""Pages of personal information: "我的信息" (see and download everything held about oneself) and, for staff,
anonymising a person who left. Both go through the services in personal_data.py / anonymise.py."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from gongzhi.core.errors import ValidationFailed
from gongzhi.core.views_support import domain_errors

from .anonymise import access_resident_to_anonymise, resident_anonymise
from .personal_data import PAGE_ROWS, personal_data_export, personal_data_view


@login_required
@domain_errors
def my_personal_data(request):
    """Every section of what the platform holds about the person, big type, one card per section."""
    report = personal_data_view(actor=request.user, now=timezone.now())
    sections = [
        {
            "key": section["key"],
            "title": section["title"],
            "shown": [
                [(label, row.get(key)) for key, label in section["columns"]] for row in section["rows"][:PAGE_ROWS]
            ],
            "more": max(0, len(section["rows"]) - PAGE_ROWS),
        }
        for section in report.sections
    ]
    response = render(request, "people/personal_data.html", {"report": report, "sections": sections})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
@domain_errors
def my_personal_data_download(request):
    """The .zip (JSON + Excel) of the same report; audited by the service."""
    exported = personal_data_export(actor=request.user, now=timezone.now())
    response = HttpResponse(exported.content, content_type=exported.content_type)
    response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def resident_anonymise_page(request, resident_id: int):
    """Confirm, with a reason, that a person who left is to be anonymised; then do it through the service."""
    resident = access_resident_to_anonymise(request.user, resident_id)
    context = {"resident": resident, "reason": "", "error": None}
    status = 200
    if request.method == "POST" and resident.anonymised_at is None:
        context["reason"] = request.POST.get("reason", "")[:255]
        if request.POST.get("confirm") != "yes":
            context["error"] = ValidationFailed(fields={"confirm": _("Tick the box to confirm.")})
            status = 422
        else:
            try:
                resident_anonymise(actor=request.user, resident=resident, reason=context["reason"], now=timezone.now())
            except ValidationFailed as error:
                context["error"] = error
                status = error.status
            else:
                return redirect("resident_anonymise", resident_id=resident.pk)
    return render(request, "people/resident_anonymise.html", context, status=status)
