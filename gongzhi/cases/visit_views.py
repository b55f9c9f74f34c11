"""Logging a household visit (入户走访), mounted at /cases/visit/.

A building head or grid worker picks the household by searching — building, entrance, room or a resident's name
(``selectors.visit_households``) — instead of scrolling a list of hundreds: the search box asks the small endpoint
``/cases/visit/households/?q=`` as they type (htmx, served by the app itself), and without JavaScript its button
sends the form back with the matches, keeping what was typed. An opinion can become a request in the same step.
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
from gongzhi.core.roles import Permission
from gongzhi.core.views_support import domain_errors
from gongzhi.places.selectors import access_place

from .selectors import access_category, category_list, place_labels, visit_households
from .transitions import TEXT_MAX
from .visits import visit_log

SEARCH_MAX = 50


def _require_visitor(user) -> None:
    if reach(user, Permission.VISIT_LOG).is_empty:
        raise NotFound()


def _choices(user, query: str, chosen: str) -> dict[str, Any]:
    """The households to pick from for ``query``, with the chosen one kept first even when it does not match."""
    households, total = visit_households(user, query)
    if chosen.isdigit() and all(household.pk != int(chosen) for household in households):
        try:
            household = access_place(user, chosen, Permission.VISIT_LOG)
        except NotFound:
            household = None
        if household is not None:
            household.label = place_labels([household])[household.pk]  # type: ignore[attr-defined]
            households.insert(0, household)
    return {"households": households, "household_total": total, "household_query": query}


@login_required
@domain_errors
@require_GET
def visit_household_options(request):
    """The matching households as a list of choices (the fragment the search box swaps in)."""
    user = request.user
    _require_visitor(user)
    query = request.GET.get("household_q", request.GET.get("q", "")).strip()[:SEARCH_MAX]
    context = _choices(user, query, request.GET.get("household", ""))
    context["form"] = {"household": request.GET.get("household", "")}
    return render(request, "cases/_visit_households.html", context)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def visit_new(request):
    """A building head or grid worker logs a household visit; an opinion can become a request in the same step."""
    user = request.user
    _require_visitor(user)
    today = timezone.localdate()
    query = (request.POST.get("household_q") or request.GET.get("household_q") or "").strip()[:SEARCH_MAX]
    context: dict[str, Any] = {
        "categories": list(category_list()),
        "form": {"visited_on": today.isoformat(), "outcome": "none"},
        "errors": {},
        "error": None,
        "today": today,
        "any_household": visit_households(user, "", limit=1)[1] > 0,
    }
    if request.method == "GET":
        context.update(_choices(user, query, ""))
        return render(request, "cases/visit.html", context)
    form = {
        "household": request.POST.get("household", ""),
        "visited_on": request.POST.get("visited_on", ""),
        "findings": request.POST.get("findings", "")[:TEXT_MAX],
        "opinion": request.POST.get("opinion", "")[:TEXT_MAX],
        "outcome": request.POST.get("outcome", "none"),
        "category": request.POST.get("category", ""),
    }
    context["form"] = form
    context.update(_choices(user, query, form["household"]))
    if request.POST.get("find"):  # the search button without JavaScript: show the matches, keep what was typed
        return render(request, "cases/visit.html", context)
    try:
        household = access_place(user, form["household"], Permission.VISIT_LOG) if form["household"] else None
        if household is None:
            raise ValidationFailed(fields={"household": _("Choose the household you visited.")})
        try:
            visited_on = datetime.strptime(form["visited_on"], "%Y-%m-%d").date()
        except ValueError:
            raise ValidationFailed(fields={"visited_on": _("Give the date of the visit.")}) from None
        create_case = form["outcome"] == "case"
        category = None
        if create_case:
            if not form["category"]:
                raise ValidationFailed(fields={"category": _("Choose a category for the case.")})
            category = access_category(form["category"])
        visit = visit_log(
            actor=user,
            household=household,
            visited_on=visited_on,
            findings=form["findings"],
            opinion=form["opinion"],
            handled_on_spot=form["outcome"] == "handled",
            create_case=create_case,
            category=category,
        )
    except DomainError as error:
        context.update(error=error, errors=error.as_dict().get("fields") or {})
        return render(request, "cases/visit.html", context, status=error.status)
    if visit.became_case_id:
        messages.success(request, _("The visit is logged and the opinion was passed up as a request."))
        return redirect("cases:detail", visit.became_case_id)
    messages.success(request, _("The visit is logged."))
    return redirect("cases:visit_new")
