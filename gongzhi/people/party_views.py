"""Pages for a community's party members: the list (search, in service or retired, in force or ended), registering
a resident as a party member, changing a membership and ending one.

They are for the people who enter residents' records (``party.MEMBERSHIP_PERMISSION``); personal data is masked.
Every change goes through the party services, which check reach and write the audit log.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.pagination import page_of
from gongzhi.core.views_support import domain_errors
from gongzhi.places.models import Place, PlaceKind
from gongzhi.places.selectors import access_place, household_address_labels, place_queryset

from .forms import PartyMembershipEndForm, PartyMembershipForm, service_errors_to_form
from .party import MEMBERSHIP_PERMISSION, party_membership_add, party_membership_change, party_membership_end
from .selectors import (
    MembershipStatus,
    PartyMembershipFilters,
    access_party_membership,
    access_resident,
    employer_choices,
    party_member_candidates,
    party_membership_list,
    party_organisation_choices,
)

MEMBERS_PER_PAGE = 30
SEARCH_MAX_LENGTH = 50
# The form's field for each field a service may name.
FORM_FIELD_OF = {"is_in_service": "service", "reason": "reason", "ended_on": "ended_on"}


def _communities(actor) -> list[Place]:
    return list(
        place_queryset(actor, MEMBERSHIP_PERMISSION).filter(kind=PlaceKind.COMMUNITY).order_by("path")[:500]
    )


def _access_community(actor, community_id) -> Place:
    community = access_place(actor, community_id, MEMBERSHIP_PERMISSION)
    if community.kind != PlaceKind.COMMUNITY:
        raise NotFound()
    return community


def _community_of_membership(actor, membership) -> Place:
    """The community page a membership belongs to (its household's community, within the actor's reach)."""
    ancestors = membership.resident.household.ancestor_ids
    community = (
        place_queryset(actor, MEMBERSHIP_PERMISSION)
        .filter(pk__in=ancestors, kind=PlaceKind.COMMUNITY)
        .order_by("-depth")
        .first()
    )
    if community is None:
        raise NotFound()
    return community


def _membership_form(actor, community: Place, data=None, initial=None) -> PartyMembershipForm:
    return PartyMembershipForm(
        data,
        initial=initial,
        organisations=party_organisation_choices(actor, community),
        employers=employer_choices(actor, community),
    )


@login_required
@domain_errors
@require_GET
def party_index(request):
    """Which community's party members: straight to it when there is one."""
    communities = _communities(request.user)
    if not communities:
        raise NotFound()
    if len(communities) == 1:
        return redirect("party_members", communities[0].pk)
    return render(request, "people/party_index.html", {"communities": communities})


def _filters_from(request, community: Place) -> PartyMembershipFilters:
    service = request.GET.get("service", "")
    status = request.GET.get("status", MembershipStatus.IN_FORCE)
    if status not in (MembershipStatus.IN_FORCE, MembershipStatus.ENDED, MembershipStatus.ALL):
        status = MembershipStatus.IN_FORCE
    return PartyMembershipFilters(
        place=community,
        search=request.GET.get("q", "").strip()[:SEARCH_MAX_LENGTH],
        in_service={"in_service": True, "retired": False}.get(service),
        status=status,
    )


@login_required
@domain_errors
@require_GET
def party_members(request, community_id: int):
    """The community's party members, searchable, a page at a time; masked personal data."""
    community = _access_community(request.user, community_id)
    filters = _filters_from(request, community)
    memberships_in_reach = party_membership_list(request.user, filters, MEMBERSHIP_PERMISSION)
    page = page_of(request, memberships_in_reach, per_page=MEMBERS_PER_PAGE)
    memberships = list(page.object_list)
    addresses = household_address_labels([membership.resident.household for membership in memberships])
    for membership in memberships:
        membership.address_label = addresses.get(membership.resident.household_id, "")
    context = {
        "community": community,
        "filters": filters,
        "service": request.GET.get("service", ""),
        "page": page,
        "memberships": memberships,
        "filtered": bool(
            filters.search or filters.in_service is not None or filters.status != MembershipStatus.IN_FORCE
        ),
        "has_organisations": bool(party_organisation_choices(request.user, community)),
    }
    if request.htmx:
        return render(request, "people/_party_members_table.html", context)
    return render(request, "people/party_members.html", context)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def party_member_add(request, community_id: int):
    """Find the resident (name, room, last digits of the phone), then enter their membership."""
    actor = request.user
    community = _access_community(actor, community_id)
    resident_id = request.POST.get("resident") or request.GET.get("resident")
    query = request.GET.get("q", "").strip()[:SEARCH_MAX_LENGTH]
    context = {"community": community, "query": query, "resident": None, "form": None}
    if not resident_id:
        context["candidates"] = party_member_candidates(actor, community, query, permission=MEMBERSHIP_PERMISSION)
        return render(request, "people/party_member_add.html", context)
    resident = access_resident(actor, resident_id, MEMBERSHIP_PERMISSION)
    household = resident.household
    if household is None or not household.path.startswith(community.path):
        raise NotFound()
    context["resident"] = resident
    context["address"] = household_address_labels([household])[household.pk]
    form = _membership_form(actor, community, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                party_membership_add(actor=actor, resident=resident, data=form.membership_input(), now=timezone.now())
            except DomainError as error:
                if isinstance(error, NotFound):
                    raise
                service_errors_to_form(form, error, names=FORM_FIELD_OF)
                status = error.status
            else:
                return redirect(f"{reverse('party_members', args=[community.pk])}?{urlencode({'q': resident.name})}")
        status = 422 if status == 200 else status
    context["form"] = form
    return render(request, "people/party_member_add.html", context, status=status)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def party_member_edit(request, membership_id: int):
    """Change a membership in force."""
    actor = request.user
    membership = access_party_membership(actor, membership_id, MEMBERSHIP_PERMISSION)
    community = _community_of_membership(actor, membership)
    if not membership.is_active:
        return render(
            request,
            "people/party_member_edit.html",
            {"community": community, "membership": membership, "form": None},
        )
    if request.method == "POST":
        form = _membership_form(actor, community, request.POST)
    else:
        form = _membership_form(actor, community, initial=PartyMembershipForm.initial_of(membership))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                party_membership_change(
                    actor=actor, membership=membership, data=form.membership_input(), now=timezone.now()
                )
            except DomainError as error:
                if isinstance(error, NotFound):
                    raise
                service_errors_to_form(form, error, names=FORM_FIELD_OF)
                status = error.status
            else:
                return redirect("party_members", community.pk)
        status = 422 if status == 200 else status
    context = {"community": community, "membership": membership, "form": form}
    return render(request, "people/party_member_edit.html", context, status=status)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def party_member_end(request, membership_id: int):
    """End a membership (transferred out, deceased, entered by mistake…), after saying why."""
    actor = request.user
    membership = access_party_membership(actor, membership_id, MEMBERSHIP_PERMISSION)
    community = _community_of_membership(actor, membership)
    form = PartyMembershipEndForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                party_membership_end(
                    actor=actor,
                    membership=membership,
                    reason=form.cleaned_data["reason"],
                    ended_on=form.cleaned_data.get("ended_on"),
                    now=timezone.now(),
                )
            except DomainError as error:
                if isinstance(error, NotFound):
                    raise
                service_errors_to_form(form, error, names=FORM_FIELD_OF)
                status = error.status
            else:
                return redirect("party_members", community.pk)
        status = 422 if status == 200 else status
    context = {"community": community, "membership": membership, "form": form}
    return render(request, "people/party_member_end.html", context, status=status)

