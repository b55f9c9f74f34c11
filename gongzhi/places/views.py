"""Pages for staff browsing the place tree and the residents under it, the resident page and the export.

Every read goes through the access helpers: a place or resident that is missing or out of reach gives the same
"not found" page.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from gongzhi.core.access import reach
from gongzhi.core.errors import ValidationFailed
from gongzhi.core.pagination import page_of
from gongzhi.core.roles import Permission
from gongzhi.core.views_support import domain_errors
from gongzhi.people.exports import XLSX_CONTENT_TYPE, export_filename, resident_export
from gongzhi.people.models import ResidentTagCode
from gongzhi.people.selectors import (
    ResidentFilters,
    access_resident,
    annotate_resident_counts,
    household_members,
    resident_list,
    resident_reachable_permissions,
)
from gongzhi.people.services import resident_reveal

from .models import Place, PlaceKind
from .selectors import (
    access_place,
    household_address_labels,
    place_children,
    place_counts_by_kind,
    place_roots_for,
    place_search,
    place_visible_ancestors,
)

RESIDENTS_PER_PAGE = 50
SEARCH_MAX_LENGTH = 50

# Kinds shown in the summary of a place, in the order of the tree.
SUMMARY_KINDS = [
    PlaceKind.STREET,
    PlaceKind.COMMUNITY,
    PlaceKind.AREA,
    PlaceKind.GRID,
    PlaceKind.COMPOUND,
    PlaceKind.BUILDING,
    PlaceKind.ENTRANCE,
    PlaceKind.HOUSEHOLD,
]


def _summary(place: Place) -> list[tuple[str, int]]:
    counts = place_counts_by_kind(place)
    return [(PlaceKind(kind).label, counts[kind]) for kind in SUMMARY_KINDS if counts.get(kind)]


@login_required
@domain_errors
def place_index(request):
    user = request.user
    query = request.GET.get("q", "").strip()[:SEARCH_MAX_LENGTH]
    roots = place_roots_for(user)
    root_rows = annotate_resident_counts(
        user,
        Place.objects.filter(pk__in=[place.pk for place in roots]).annotate(
            child_count=_child_count(),
        ),
    ).order_by("path")
    results = place_search(user, query, limit=30) if query else None
    context = {"roots": list(root_rows), "query": query, "results": results}
    return render(request, "places/index.html", context)


def _child_count():
    from django.db.models import Count, Q

    return Count("children", filter=Q(children__is_active=True), distinct=True)


@login_required
@domain_errors
def place_detail(request, place_id: int):
    user = request.user
    place = access_place(user, place_id)
    context = {
        "place": place,
        "breadcrumb": place_visible_ancestors(user, place),
        "children": list(annotate_resident_counts(user, place_children(user, place))),
        "summary": _summary(place),
        "can_view_residents": reach(user, Permission.RESIDENT_VIEW).covers(place.path),
        "can_export": reach(user, Permission.RESIDENT_EXPORT).covers(place.path),
    }
    if place.kind == PlaceKind.HOUSEHOLD:
        context["members"] = household_members(user, place)
    elif context["can_view_residents"]:
        context["resident_total"] = resident_list(user, ResidentFilters(place=place)).count()
    return render(request, "places/detail.html", context)


def _filters_from(request, place: Place | None) -> ResidentFilters:
    tag = request.GET.get("tag", "")
    party = request.GET.get("party", "")
    return ResidentFilters(
        place=place,
        search=request.GET.get("q", "").strip()[:SEARCH_MAX_LENGTH],
        tag=tag if tag in ResidentTagCode.values else None,
        party_member={"1": True, "0": False}.get(party),
    )


def _resident_page(request, place: Place | None):
    filters = _filters_from(request, place)
    page = page_of(request, resident_list(request.user, filters), per_page=RESIDENTS_PER_PAGE)
    _label_addresses(page.object_list)
    context = {
        "place": place,
        "filters": filters,
        "party": request.GET.get("party", ""),
        "page": page,
        "residents": page.object_list,
        "tag_choices": ResidentTagCode.choices,
        "filtered": bool(filters.search or filters.tag or filters.party_member is not None),
        "can_export": place is not None and reach(request.user, Permission.RESIDENT_EXPORT).covers(place.path),
    }
    if request.htmx:
        return render(request, "places/_resident_table.html", context)
    if place is not None:
        context["breadcrumb"] = place_visible_ancestors(request.user, place)
    return render(request, "places/residents.html", context)


def _label_addresses(residents) -> None:
    """Give each resident on the page an ``address_label`` (building, entrance, household) in one query."""
    residents = list(residents)
    labels = household_address_labels([resident.household for resident in residents])
    for resident in residents:
        resident.address_label = labels[resident.household_id]


@login_required
@domain_errors
def place_residents(request, place_id: int):
    place = access_place(request.user, place_id, Permission.RESIDENT_VIEW)
    return _resident_page(request, place)


@login_required
@domain_errors
def resident_search(request):
    return _resident_page(request, None)


@login_required
@domain_errors
def place_residents_export(request, place_id: int):
    place = access_place(request.user, place_id)
    content, _rows = resident_export(actor=request.user, place=place, filters=_filters_from(request, place))
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{export_filename(place)}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def resident_detail(request, resident_id: int):
    user = request.user
    resident = access_resident(user, resident_id)
    permissions = resident_reachable_permissions(user, resident)
    context = {
        "resident": resident,
        "breadcrumb": place_visible_ancestors(user, resident.household) if resident.household_id else [],
        "membership": _membership(resident),
        "tags": list(resident.tags.all()),
        "can_reveal": Permission.RESIDENT_REVEAL in permissions,
        "can_anonymise": Permission.RESIDENT_ANONYMISE in permissions,
        "purpose": "",
        "revealed": None,
        "reveal_error": None,
    }
    status = 200
    if request.method == "POST":
        context["purpose"] = request.POST.get("purpose", "")[:255]
        try:
            context["revealed"] = resident_reveal(actor=user, resident=resident, purpose=context["purpose"])
        except ValidationFailed as error:
            context["reveal_error"] = error
            status = error.status
    response = render(request, "places/resident.html", context, status=status)
    if context["revealed"] is not None:
        response["Cache-Control"] = "no-store"
    return response


def _membership(resident):
    try:
        membership = resident.party_membership
    except ObjectDoesNotExist:  # not a party member
        return None
    return membership if membership.is_active else None
