"""Pages for merging a request as a duplicate, with a confirmation first and an undo after.

- ``/cases/<id>/merge/?into=<number>``: both requests side by side and one button that merges (``case_merge``);
  the request to keep is given by id or by its full number ("2026-000332");
- ``/cases/<id>/unmerge/`` (POST): undo the merge (``merging.case_unmerge``), offered on the merged request's page
  while it is allowed.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from gongzhi.core.errors import DomainError, NotFound, ValidationFailed
from gongzhi.core.views_support import domain_errors

from . import services
from .merging import case_unmerge, unmerge_window
from .models import Case
from .selectors import access_case, case_queryset, label_case_places, parse_case_number
from .transitions import REASON_MAX, allowed_actions


def _target(actor: Any, text: str) -> Case | None:
    number = parse_case_number(text)
    if number is None:
        return None
    year, case_id = number
    target = case_queryset(actor).select_related("category", "place", "handling_place").filter(pk=case_id).first()
    if target is not None and year is not None and target.number.split("-")[0] != str(year):
        return None
    return target


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def merge_confirm(request, case_id: int):
    """Confirm the merge of this request into the one to keep; nothing is merged before the button is pressed."""
    user = request.user
    case = access_case(user, case_id)
    if "merge" not in allowed_actions(user, case):
        raise NotFound()
    given = (request.POST.get("into") if request.method == "POST" else request.GET.get("into")) or ""
    into = _target(user, given.strip()[:30])
    context: dict[str, Any] = {
        "case": case,
        "into": into,
        "given": given[:30],
        "error": None,
        "note": request.POST.get("note", "")[:REASON_MAX],
        "undo_hours": int(unmerge_window().total_seconds() // 3600),
    }
    if into is None or into.pk == case.pk:
        context["error"] = ValidationFailed(_("No other request with this number: check the number to keep."))
        return render(request, "cases/merge_confirm.html", context, status=422)
    label_case_places([case, into])
    if request.method == "GET":
        return render(request, "cases/merge_confirm.html", context)
    try:
        services.case_merge(actor=user, case=case, into=into, note=context["note"])
    except DomainError as error:
        if isinstance(error, NotFound):
            raise
        context["error"] = error
        return render(request, "cases/merge_confirm.html", context, status=error.status)
    messages.success(
        request,
        _("Merged into %(number)s. You can undo it on this page for %(hours)d hours.")
        % {"number": into.number, "hours": context["undo_hours"]},
    )
    return redirect("cases:detail", case.pk)


@login_required
@domain_errors
@require_POST
def merge_undo(request, case_id: int):
    case = access_case(request.user, case_id)
    try:
        case_unmerge(actor=request.user, case=case, note=request.POST.get("note", "")[:REASON_MAX])
    except DomainError as error:
        if isinstance(error, NotFound):
            raise
        messages.error(request, str(error.message))
        return redirect("cases:detail", case.pk)
    messages.success(request, _("The merge was undone: the request is handled on its own again."))
    return redirect("cases:detail", case.pk)
