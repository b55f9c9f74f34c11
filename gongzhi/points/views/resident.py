"""The resident's phone pages: home and the home-page card, the claim form (also used by staff recording a claim
for a resident, ``review.record_claim``), my claims, a claim's page, its photos, and the account's history."""

from __future__ import annotations

import uuid
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from gongzhi.core.access import reach
from gongzhi.core.errors import DomainError, NotFound, ValidationFailed
from gongzhi.core.pagination import page_of
from gongzhi.core.ratelimit import rate_limit_request
from gongzhi.core.roles import Permission
from gongzhi.core.views_support import domain_errors, private_file_response

from .. import catalogue, claims
from ..models import Claim, ClaimPhoto, ClaimState, PointItem, PointsAccount
from ..rankings import my_rank
from ..selectors import (
    access_account,
    access_claim,
    account_history,
    adjustments_waiting_for,
    claim_state_counts,
    claims_of,
    claims_visible,
    history_lines,
    my_accounts,
    own_accounts,
    queue_count,
    saved_account,
)
from .common import PER_PAGE, TEXT_MAX, field_errors, parse_date, photos_from, queue_query, to_int


def _choose_account(request, accounts: list[PointsAccount]) -> PointsAccount:
    wanted = to_int(request.POST.get("account") or request.GET.get("account"))
    for account in accounts:
        if wanted is None or account.pk == wanted:
            return account
    raise NotFound()


def _rank_of(account: PointsAccount):
    if not account.pk or account.community_id is None:
        return None
    try:
        return my_rank(account=account, place=account.community)
    except DomainError:
        return None


@login_required
@domain_errors
def home(request):
    user = request.user
    accounts = own_accounts(user)
    counts = claim_state_counts(accounts)
    summaries = []
    for account in accounts:
        rank = _rank_of(account)
        states = counts.get(account.pk, {})
        summaries.append(
            {
                "account": account,
                "rank": rank.rank if rank and rank.points > 0 else None,
                "rank_of": rank.total_accounts if rank and rank.points > 0 else None,
                "waiting": states.get(ClaimState.SUBMITTED, 0),
                "returned": states.get(ClaimState.RETURNED, 0),
            }
        )
    return render(request, "points/home.html", _home_context(user, summaries))


def _home_context(user, summaries: list) -> dict:
    """What points/home.html needs: the accounts and, for staff, their work cards with their counts."""
    context = {"accounts": summaries, **_staff_capabilities(user)}
    if context["can_review"]:
        context["queue_count"] = queue_count(user)
    if context["can_adjust"]:
        context["adjustments_waiting"] = adjustments_waiting_for(user).count()
    return context


def _staff_capabilities(user) -> dict:
    can = {
        "can_review": not reach(user, Permission.CLAIM_REVIEW).is_empty,
        "can_record": not reach(user, Permission.CLAIM_SUBMIT_ON_BEHALF).is_empty,
        "can_catalogue": not reach(user, Permission.CATALOGUE_MANAGE).is_empty,
        "can_adjust": not reach(user, Permission.POINTS_ADJUST).is_empty,
        "can_publish": not reach(user, Permission.PUBLICATION_MANAGE).is_empty,
        "can_select": not reach(user, Permission.SELECTION_MANAGE).is_empty,
        "can_export": not reach(user, Permission.EVALUATION_EXPORT).is_empty,
    }
    can["staff_links"] = any(can.values())
    return can


@login_required
@domain_errors
def home_card(request):
    """The points card on the home page (loaded by htmx): balance and rank, the review queue's size, and the
    adjustments waiting for this person's decision (the second person who approves, e.g. a street admin)."""
    user = request.user
    accounts = own_accounts(user)
    account = accounts[0] if accounts else None
    rank = _rank_of(account) if account is not None else None
    can_review = not reach(user, Permission.CLAIM_REVIEW).is_empty
    context = {
        "account": account,
        "rank": rank if rank and rank.points > 0 else None,
        "can_review": can_review,
        "queue_count": queue_count(user) if can_review else 0,
        "adjustments_waiting": adjustments_waiting_for(user).count(),
    }
    return render(request, "points/_home_card.html", context)


def _claim_form_context(*, account: PointsAccount, today: date, form: dict, errors=None, error=None) -> dict:
    items = catalogue.items_available(account.community, account.kind, today) if account.community_id else []
    categories: dict[int, dict] = {}
    for item in sorted(items, key=lambda entry: (entry.category.sort_order, entry.category.code, entry.code)):
        item.value = item.version.value
        group = categories.setdefault(item.category_id, {"name": item.category.name, "items": []})
        group["items"].append(item)
    return {
        "account": account,
        "items": items,
        "categories": list(categories.values()),
        "form": form,
        "errors": errors or {},
        "error": error,
        "today": today,
        "idempotency_key": form.get("idempotency_key") or f"page-{uuid.uuid4().hex}",
    }


def claim_form(request, *, account: PointsAccount, on_behalf_of=None, done_url: str):
    today = timezone.localdate()
    form = {"service_date": today.isoformat(), "description": "", "item": None, "idempotency_key": ""}
    errors, error, status = {}, None, 200
    if request.method == "POST":
        form = {
            "service_date": request.POST.get("service_date", "")[:10],
            "description": request.POST.get("description", "")[:TEXT_MAX],
            "item": to_int(request.POST.get("item")),
            "idempotency_key": request.POST.get("idempotency_key", "")[:120],
        }
        try:
            claim = _submit_claim(request, account=account, form=form, today=today)
        except DomainError as refusal:
            error, errors, status = refusal, field_errors(refusal), refusal.status
        else:
            messages.success(request, _("Your claim was sent. The review committee looks at claims every week."))
            return redirect(done_url.format(claim=claim.pk))
    context = _claim_form_context(account=account, today=today, form=form, errors=errors, error=error)
    context["on_behalf_of"] = account if on_behalf_of is not None else None
    context["on_behalf_of_resident"] = on_behalf_of
    response = render(request, "points/claim_form.html", context, status=status)
    response["Cache-Control"] = "no-store"  # going back never re-offers a used idempotency key
    return response


def _submit_claim(request, *, account: PointsAccount, form: dict, today: date) -> Claim:
    errors = {}
    item = None
    if form["item"] is not None and account.community_id:
        offered = catalogue.items_available(account.community, account.kind, today)
        item = next((entry for entry in offered if entry.pk == form["item"]), None)
        if item is None:  # not offered today (switched off, another kind): the service gives the precise reason
            item = PointItem.objects.filter(pk=form["item"]).first()
    if item is None:
        errors["item"] = _("Choose what you did.")
    service_date = parse_date(form["service_date"])
    if service_date is None:
        errors["service_date"] = _("Choose the day of the service.")
    photos = photos_from(request)
    if errors:
        raise ValidationFailed(fields=errors)
    rate_limit_request(request, "claim", now=timezone.now())
    return claims.claim_submit(
        actor=request.user,
        account=saved_account(account),
        item=item,
        service_date=service_date,
        description=form["description"],
        photos=photos,
        idempotency_key=form["idempotency_key"] or None,
    )


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def claim_new(request):
    accounts = own_accounts(request.user)
    if not accounts:
        # Staff without an account of their own get the points home (with its work cards, counts included).
        return render(request, "points/home.html", _home_context(request.user, []))
    account = _choose_account(request, accounts)
    return claim_form(request, account=account, done_url=reverse("points:my_claims"))


@login_required
@domain_errors
def my_claims(request):
    accounts = own_accounts(request.user)
    state = request.GET.get("state", "")
    if state not in ClaimState.values:
        state = ""
    page = page_of(request, claims_of(request.user, accounts, state=state or None), per_page=PER_PAGE)
    shown = (ClaimState.SUBMITTED, ClaimState.RETURNED, ClaimState.APPROVED, ClaimState.REJECTED)
    states = [(value, label) for value, label in ClaimState.choices if value in shown]
    context = {"claims": page.object_list, "page": page, "state": state, "states": states}
    return render(request, "points/my_claims.html", context)


def _is_own(user, claim: Claim) -> bool:
    account = claim.account
    if account.resident_id is not None:
        return user.resident_id == account.resident_id
    return my_accounts(user).filter(pk=account.pk).exists()


def _back_link(request, claim: Claim, *, own: bool, reviewing: bool) -> tuple[str, str]:
    """Where the claim's page leads back to: the review queue (with its filters) for a reviewer who came from it
    or may decide the claim, the claimant's own claims, or the account's history for other staff."""
    if "back" in request.GET or "back" in request.POST or (reviewing and not own):
        query = queue_query(QueryDict(request.POST.get("back") or request.GET.get("back") or ""))
        return reverse("points:review_queue") + (f"?{query}" if query else ""), _("Back to the review queue")
    if own:
        return reverse("points:my_claims"), _("Back to my claims")
    return f"{reverse('points:history')}?account={claim.account_id}", _("Back to the account's history")


def claim_detail_context(request, claim: Claim) -> dict:
    """What a claim's page shows; a reviewer who may decide it gets approve / return / reject there."""
    own = _is_own(request.user, claim)
    waiting = claim.state in (ClaimState.SUBMITTED, ClaimState.RETURNED)
    reviewing = reach(request.user, Permission.CLAIM_REVIEW).covers(claim.community.path)
    back_url, back_label = _back_link(request, claim, own=own, reviewing=reviewing)
    return {
        "claim": claim,
        "photos": list(claim.photos.all()),
        "decisions": list(claim.decisions.select_related("actor")),
        "show_actors": not own,
        "can_resubmit": claim.state == ClaimState.RETURNED
        and (own or reach(request.user, Permission.CLAIM_SUBMIT_ON_BEHALF).covers(claim.account.place_path)),
        "can_withdraw": waiting and own,
        "can_decide": reviewing and not own and claim.state == ClaimState.SUBMITTED,
        "approved_once_by_me": claim.first_approver_id is not None and claim.first_approver_id == request.user.pk,
        "back_url": back_url,
        "back_label": back_label,
        "back_query": queue_query(QueryDict(request.POST.get("back") or request.GET.get("back") or "")),
        "form": {},
    }


@login_required
@domain_errors
def claim_detail(request, claim_id: int):
    claim = access_claim(request.user, claim_id)
    return render(request, "points/claim_detail.html", claim_detail_context(request, claim))


@login_required
@domain_errors
@require_POST
def claim_resubmit(request, claim_id: int):
    claim = access_claim(request.user, claim_id)
    description = request.POST.get("description", "")[:TEXT_MAX]
    try:
        claims.claim_resubmit(actor=request.user, claim=claim, description=description, photos=photos_from(request))
    except DomainError as refusal:
        context = claim_detail_context(request, claim)
        context.update(error=refusal, form={"description": description})
        return render(request, "points/claim_detail.html", context, status=refusal.status)
    messages.success(request, _("Your claim was sent again."))
    return redirect("points:claim_detail", claim_id=claim.pk)


@login_required
@domain_errors
@require_POST
def claim_withdraw(request, claim_id: int):
    claim = access_claim(request.user, claim_id)
    claims.claim_withdraw(actor=request.user, claim=claim)
    messages.success(request, _("The claim was withdrawn."))
    return redirect("points:my_claims")


@login_required
@domain_errors
def claim_photo(request, photo_id: int):
    """A claim's photo, for the claimant and those who may read the claim (never a public media URL)."""
    photo = ClaimPhoto.objects.filter(pk=photo_id, claim__in=claims_visible(request.user)).first()
    if photo is None:
        raise NotFound()
    return private_file_response(photo.image)


@login_required
@domain_errors
def history(request):
    accounts = own_accounts(request.user)
    wanted = to_int(request.GET.get("account"))
    if wanted is not None and not any(account.pk == wanted for account in accounts):
        account = access_account(request.user, wanted)  # staff looking at an account in reach
    else:
        account = _choose_account(request, accounts) if accounts else None
    if account is None:
        raise NotFound()
    entries = account_history(request.user, account) if account.pk else []
    page = page_of(request, entries, per_page=PER_PAGE)
    context = {"account": account, "page": page, "lines": history_lines(page.object_list)}
    return render(request, "points/history.html", context)
