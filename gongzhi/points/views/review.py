"""The review committee's weekly queue (filters, one or many decisions) and staff recording a claim on behalf of
a resident (an elder without a phone, a paper form)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from gongzhi.core.access import reach
from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.jobs import run_key_for
from gongzhi.core.pagination import page_of
from gongzhi.core.roles import Permission
from gongzhi.core.tree import subtree_q
from gongzhi.core.views_support import domain_errors
from gongzhi.places.models import Place, PlaceKind
from gongzhi.places.selectors import household_address_labels

from ..models import Claim, ClaimPhoto, ClaimState, PointCategory, PointItem
from ..review import review_decide_many
from ..selectors import (
    access_claim,
    access_resident_for_claims,
    claim_queue,
    communities_in_reach,
    resident_account,
    residents_for_claims,
)
from .common import PER_PAGE, pick_community, queue_query, to_int
from .resident import claim_detail_context, claim_form


def _queue_context(request) -> dict:
    user = request.user
    communities = communities_in_reach(user, Permission.CLAIM_REVIEW)
    community = pick_community(request, communities)
    params = request.POST if request.method == "POST" and "community" in request.POST else request.GET
    filters = {
        "week": (params.get("week") or "")[:10],
        "item": to_int(params.get("item")),
        "category": to_int(params.get("category")),
        "grid": to_int(params.get("grid")),
        "q": (params.get("q") or "").strip()[:50],
    }
    claims = claim_queue(
        user, community_id=community.pk, week=filters["week"] or None, item_id=filters["item"], text=filters["q"]
    )
    if filters["category"]:
        claims = claims.filter(item__category_id=filters["category"])
    grids = list(
        Place.objects.filter(subtree_q(community.path), kind=PlaceKind.GRID, is_active=True, grid_level__lte=2)
        .only("pk", "name", "path", "grid_level")
        .order_by("path")
    )
    if filters["grid"]:
        grid = next((place for place in grids if place.pk == filters["grid"]), None)
        grid = grid or Place.objects.filter(subtree_q(community.path), pk=filters["grid"], kind=PlaceKind.GRID).first()
        claims = claims.filter(subtree_q(grid.path, "account__place_path")) if grid else claims.none()
    claims = claims.prefetch_related(Prefetch("photos", queryset=ClaimPhoto.objects.order_by("pk")))
    page = page_of(request, claims, per_page=PER_PAGE)  # a decision posts without ?page=: the first page again
    weeks = sorted(
        set(
            Claim.objects.filter(community=community, state=ClaimState.SUBMITTED)
            .values_list("review_week", flat=True)
            .distinct()
        ),
        reverse=True,
    )
    for grid in grids:
        grid.name = ("— " if grid.grid_level and grid.grid_level > 1 else "") + grid.name
    return {
        "communities": communities,
        "community": community,
        "filters": filters,
        "claims": page.object_list,
        "page": page,
        "weeks": weeks,
        "current_week": run_key_for("week"),
        "categories": list(PointCategory.objects.filter(is_active=True)),
        "items": list(
            PointItem.objects.filter(owner_id__in=[*community.ancestor_ids, community.pk], is_active=True).order_by(
                "category__sort_order", "code"
            )
        ),
        "grids": grids,
        "can_record": not reach(user, Permission.CLAIM_SUBMIT_ON_BEHALF).is_empty,
        # Carried to a claim's page and back, so the reviewer returns to the same filters, search and page.
        "queue_query": queue_query(
            {**filters, "community": community.pk, "page": page.number if page.number > 1 else None}
        ),
    }


@login_required
@domain_errors
def review_queue(request):
    context = _queue_context(request)
    if request.htmx:
        return render(request, "points/_queue.html", context)
    return render(request, "points/review_queue.html", context)


@login_required
@domain_errors
@require_POST
def review_decide(request):
    ids = [value for value in (to_int(raw) for raw in request.POST.getlist("claim")) if value is not None]
    decision = request.POST.get("decision", "")
    reason = request.POST.get("reason", "")[:500]
    result = error = None
    try:
        outcome = review_decide_many(actor=request.user, claim_ids=ids, decision=decision, reason=reason)
    except DomainError as refusal:
        error = refusal
    else:
        names = dict(Claim.objects.filter(pk__in=list(outcome["failed"])).values_list("pk", "account__display_name"))
        result = {
            "done": len(outcome["succeeded"]),
            "failed": [
                {"label": names.get(claim_id, f"#{claim_id}"), "message": failure["message"]}
                for claim_id, failure in outcome["failed"].items()
            ],
        }
    if request.htmx:
        context = _queue_context(request)
        context.update(result=result, error=error)
        return render(request, "points/_queue.html", context, status=error.status if error else 200)
    if error is not None:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(count)d claims decided.") % {"count": result["done"]})
        for failure in result["failed"]:
            messages.warning(request, f"{failure['label']}: {failure['message']}")
    query = request.META.get("QUERY_STRING", "")
    return redirect(reverse("points:review_queue") + (f"?{query}" if query else ""))


@login_required
@domain_errors
@require_POST
def claim_decide(request, claim_id: int):
    """Approve, return or reject one claim from its own page (the same service as the queue); back to the queue
    with its filters when done, or the claim's page again with the refusal and the reason typed."""
    claim = access_claim(request.user, claim_id)
    decision = request.POST.get("decision", "")
    reason = request.POST.get("reason", "")[:500]
    try:
        outcome = review_decide_many(actor=request.user, claim_ids=[claim.pk], decision=decision, reason=reason)
    except DomainError as refusal:
        failure = {"message": refusal.message, "status": refusal.status}
    else:
        failure = outcome["failed"].get(claim.pk)
        if failure is not None and failure["code"] == NotFound.code:  # readable, but not this reviewer's to decide
            raise NotFound()
    if failure is not None:
        claim.refresh_from_db()
        context = claim_detail_context(request, claim)
        context.update(error=failure, form={"reason": reason})
        return render(request, "points/claim_detail.html", context, status=failure.get("status", 409))
    messages.success(request, _("The claim was decided."))
    query = queue_query(QueryDict(request.POST.get("back", "")))
    return redirect(reverse("points:review_queue") + (f"?{query}" if query else ""))


@login_required
@domain_errors
def record(request):
    """Staff find a resident in reach to record a claim for them (an elder without a phone, a paper form). Someone
    who does not record (a reviewer following a habit or an old link) is taken to their own points work."""
    if reach(request.user, Permission.CLAIM_SUBMIT_ON_BEHALF).is_empty:
        messages.info(request, _("Claims for residents are recorded by community workers and the secretary."))
        can_review = not reach(request.user, Permission.CLAIM_REVIEW).is_empty
        return redirect("points:review_queue" if can_review else "points:home")
    query = request.GET.get("q", "").strip()[:50]
    residents = residents_for_claims(request.user, query)
    labels = household_address_labels([resident.household for resident in residents])
    for resident in residents:
        resident.address_label = labels.get(resident.household_id, resident.household.name)
    context = {"query": query, "residents": residents}
    if request.htmx:
        return render(request, "points/_record_results.html", context)
    return render(request, "points/record.html", context)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def record_claim(request, resident_id: int):
    resident = access_resident_for_claims(request.user, resident_id)
    account = resident_account(resident)
    return claim_form(request, account=account, on_behalf_of=resident, done_url=reverse("points:review_queue"))
