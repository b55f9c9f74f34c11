"""Pages of the red points: the resident's phone pages (claim in three taps, balance, history, rank), the review
committee's weekly queue, staff pages (catalogue, adjustments, publication, selection, evaluation export) and the
public lists (no login: monthly publication with print style and .xlsx, rankings, annual selection).

Views are thin: parse input → fetch through a selector or ``access_*`` helper → one service call → render. Every
state change goes through ``services`` / ``publication``; refusals come back as DomainError and are shown on the
form that caused them, with what was typed kept.
"""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from gongzhi.core.access import reach
from gongzhi.core.errors import DomainError, NotFound, ValidationFailed
from gongzhi.core.jobs import run_key_for
from gongzhi.core.roles import Permission
from gongzhi.core.tree import subtree_q
from gongzhi.core.views_support import domain_errors, private_file_response
from gongzhi.places.models import Place, PlaceKind
from gongzhi.places.selectors import household_address_labels

from . import publication as pub
from . import services
from .evaluation import XLSX_CONTENT_TYPE, evaluation_export
from .evaluation import export_filename as evaluation_filename
from .ledger import account_for_resident
from .models import (
    HOLDER_KINDS,
    AccountKind,
    Adjustment,
    Claim,
    ClaimPhoto,
    ClaimState,
    Objection,
    PointCategory,
    PointItem,
    PointItemVersion,
    PointsAccount,
    Publication,
    PublicationLine,
    Selection,
    TransferKind,
)
from .rankings import my_rank, ranking
from .selectors import (
    access_account,
    access_claim,
    access_resident_for_claims,
    account_history,
    accounts_visible,
    catalogue_rows,
    claim_queue,
    claim_state_counts,
    claims_of,
    claims_visible,
    communities_in_reach,
    my_accounts,
    queue_count,
    residents_for_claims,
)

PER_PAGE = 50
MAX_PHOTO_BYTES = 10 * 1024 * 1024
TEXT_MAX = 2000


# ---------------------------------------------------------------- helpers


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _community_of(place: Place | None) -> Place | None:
    if place is None:
        return None
    if place.kind == PlaceKind.COMMUNITY:
        return place
    return Place.objects.filter(pk__in=place.ancestor_ids, kind=PlaceKind.COMMUNITY).first()


def _resident_kind(resident) -> str:
    """A resident with an active party membership earns as a party member, everyone else as a resident."""
    from gongzhi.people.models import PartyMembership

    active = PartyMembership.objects.filter(resident=resident, is_active=True).exists()
    return AccountKind.PARTY_MEMBER if active else AccountKind.RESIDENT


def _unsaved_account(resident) -> PointsAccount:
    """What a resident's account will look like before their first claim creates it (nothing written on a GET)."""
    household = resident.household
    return PointsAccount(
        kind=_resident_kind(resident),
        resident=resident,
        community=_community_of(household),
        place_path=household.path,
        display_name=resident.name,
    )


def own_accounts(user) -> list[PointsAccount]:
    """The person's own accounts; a resident without one yet gets the unsaved account their first claim makes."""
    accounts = list(my_accounts(user).select_related("community"))
    if accounts:
        return accounts
    resident = getattr(user, "resident", None)
    if resident is not None and resident.household_id and resident.is_active:
        return [_unsaved_account(resident)]
    return []


def saved_account(account: PointsAccount) -> PointsAccount:
    if account.pk:
        return account
    return account_for_resident(account.resident, kind=account.kind)


def _choose_account(request, accounts: list[PointsAccount]) -> PointsAccount:
    wanted = _int(request.POST.get("account") or request.GET.get("account"))
    for account in accounts:
        if wanted is None or account.pk == wanted:
            return account
    raise NotFound()


def _pick_community(request, communities: list[Place]) -> Place:
    if not communities:
        raise NotFound()
    wanted = _int(request.POST.get("community") or request.GET.get("community"))
    return next((place for place in communities if place.pk == wanted), communities[0])


def _photos_from(request) -> list:
    photos = request.FILES.getlist("photos")
    for photo in photos:
        content_type = getattr(photo, "content_type", "") or ""
        if not content_type.startswith("image/"):
            raise ValidationFailed(fields={"photos": _("Only photos (images) can be added.")})
        if photo.size > MAX_PHOTO_BYTES:
            raise ValidationFailed(fields={"photos": _("A photo can be at most 10 MB.")})
    return photos


def _field_errors(error: DomainError) -> dict[str, list[str]]:
    return error.as_dict()["fields"]


def _rank_of(account: PointsAccount):
    if not account.pk or account.community_id is None:
        return None
    try:
        return my_rank(account=account, place=account.community)
    except DomainError:
        return None


# ---------------------------------------------------------------- the resident's pages


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
    context = {"accounts": summaries, **_staff_capabilities(user)}
    if context["can_review"]:
        context["queue_count"] = queue_count(user)
    return render(request, "points/home.html", context)


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
    """The points card on the home page (loaded by htmx): balance and rank, or the review queue's size."""
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
    }
    return render(request, "points/_home_card.html", context)


def _claim_form_context(*, account: PointsAccount, today: date, form: dict, errors=None, error=None) -> dict:
    items = services.items_available(account.community, account.kind, today) if account.community_id else []
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


def _claim_form(request, *, account: PointsAccount, on_behalf_of=None, done_url: str):
    today = timezone.localdate()
    form = {"service_date": today.isoformat(), "description": "", "item": None, "idempotency_key": ""}
    errors, error, status = {}, None, 200
    if request.method == "POST":
        form = {
            "service_date": request.POST.get("service_date", "")[:10],
            "description": request.POST.get("description", "")[:TEXT_MAX],
            "item": _int(request.POST.get("item")),
            "idempotency_key": request.POST.get("idempotency_key", "")[:120],
        }
        try:
            claim = _submit_claim(request, account=account, form=form, today=today)
        except DomainError as refusal:
            error, errors, status = refusal, _field_errors(refusal), refusal.status
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
        offered = services.items_available(account.community, account.kind, today)
        item = next((entry for entry in offered if entry.pk == form["item"]), None)
        if item is None:  # not offered today (switched off, another kind): the service gives the precise reason
            item = PointItem.objects.filter(pk=form["item"]).first()
    if item is None:
        errors["item"] = _("Choose what you did.")
    service_date = _parse_date(form["service_date"])
    if service_date is None:
        errors["service_date"] = _("Choose the day of the service.")
    photos = _photos_from(request)
    if errors:
        raise ValidationFailed(fields=errors)
    return services.claim_submit(
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
        return render(request, "points/home.html", {"accounts": [], **_staff_capabilities(request.user)})
    account = _choose_account(request, accounts)
    return _claim_form(request, account=account, done_url=reverse("points:my_claims"))


@login_required
@domain_errors
def my_claims(request):
    accounts = own_accounts(request.user)
    state = request.GET.get("state", "")
    if state not in ClaimState.values:
        state = ""
    paginator = Paginator(claims_of(request.user, accounts, state=state or None), PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    shown = (ClaimState.SUBMITTED, ClaimState.RETURNED, ClaimState.APPROVED, ClaimState.REJECTED)
    states = [(value, label) for value, label in ClaimState.choices if value in shown]
    context = {"claims": page.object_list, "page": page, "state": state, "states": states}
    return render(request, "points/my_claims.html", context)


def _is_own(user, claim: Claim) -> bool:
    account = claim.account
    if account.resident_id is not None:
        return user.resident_id == account.resident_id
    return my_accounts(user).filter(pk=account.pk).exists()


def _claim_detail_context(request, claim: Claim) -> dict:
    own = _is_own(request.user, claim)
    waiting = claim.state in (ClaimState.SUBMITTED, ClaimState.RETURNED)
    return {
        "claim": claim,
        "photos": list(claim.photos.all()),
        "decisions": list(claim.decisions.select_related("actor")),
        "show_actors": not own,
        "can_resubmit": claim.state == ClaimState.RETURNED
        and (own or reach(request.user, Permission.CLAIM_SUBMIT_ON_BEHALF).covers(claim.account.place_path)),
        "can_withdraw": waiting and own,
        "form": {},
    }


@login_required
@domain_errors
def claim_detail(request, claim_id: int):
    claim = access_claim(request.user, claim_id)
    return render(request, "points/claim_detail.html", _claim_detail_context(request, claim))


@login_required
@domain_errors
@require_POST
def claim_resubmit(request, claim_id: int):
    claim = access_claim(request.user, claim_id)
    description = request.POST.get("description", "")[:TEXT_MAX]
    try:
        services.claim_resubmit(actor=request.user, claim=claim, description=description, photos=_photos_from(request))
    except DomainError as refusal:
        context = _claim_detail_context(request, claim)
        context.update(error=refusal, form={"description": description})
        return render(request, "points/claim_detail.html", context, status=refusal.status)
    messages.success(request, _("Your claim was sent again."))
    return redirect("points:claim_detail", claim_id=claim.pk)


@login_required
@domain_errors
@require_POST
def claim_withdraw(request, claim_id: int):
    claim = access_claim(request.user, claim_id)
    services.claim_withdraw(actor=request.user, claim=claim)
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


def history_lines(entries) -> list[dict]:
    """Ledger entries in plain words. Moves between an account's balance and its held points are shown once."""
    words = {
        TransferKind.AWARD: _("Approved: %(memo)s"),
        TransferKind.ADJUSTMENT: _("Adjustment: %(memo)s"),
        TransferKind.REVERSAL: _("Taken back: %(memo)s"),
        TransferKind.HOLD: _("Held for an exchange in the points shop"),
        TransferKind.RELEASE: _("Exchange cancelled: points back"),
        TransferKind.CAPTURE: _("Exchanged in the points shop"),
        TransferKind.EXPIRY: _("Points expired"),
    }
    lines = []
    for entry in entries:
        transfer = entry.transfer
        if transfer.kind in (TransferKind.HOLD, TransferKind.RELEASE) and entry.bucket != "balance":
            continue
        text = words.get(transfer.kind, transfer.get_kind_display())
        lines.append(
            {
                "text": str(text) % {"memo": transfer.memo or "—"} if "%(memo)s" in str(text) else str(text),
                "amount": entry.amount,
                "date": transfer.effective_date,
                "kind": transfer.kind,
                "bucket": entry.bucket,
            }
        )
    return lines


@login_required
@domain_errors
def history(request):
    accounts = own_accounts(request.user)
    wanted = _int(request.GET.get("account"))
    if wanted is not None and not any(account.pk == wanted for account in accounts):
        account = access_account(request.user, wanted)  # staff looking at an account in reach
    else:
        account = _choose_account(request, accounts) if accounts else None
    if account is None:
        raise NotFound()
    entries = account_history(request.user, account) if account.pk else []
    paginator = Paginator(entries, PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    context = {"account": account, "page": page, "lines": history_lines(page.object_list)}
    return render(request, "points/history.html", context)


# ---------------------------------------------------------------- the review committee's queue


def _queue_context(request) -> dict:
    user = request.user
    communities = communities_in_reach(user, Permission.CLAIM_REVIEW)
    community = _pick_community(request, communities)
    params = request.POST if request.method == "POST" and "community" in request.POST else request.GET
    filters = {
        "week": (params.get("week") or "")[:10],
        "item": _int(params.get("item")),
        "category": _int(params.get("category")),
        "grid": _int(params.get("grid")),
    }
    claims = claim_queue(user, community_id=community.pk, week=filters["week"] or None, item_id=filters["item"])
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
    paginator = Paginator(claims, PER_PAGE)
    page = paginator.get_page(params.get("page"))
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
    }


@login_required
@domain_errors
def review_queue(request):
    context = _queue_context(request)
    if request.htmx:
        return render(request, "points/_queue.html", context)
    return render(request, "points/review_queue.html", context)


REVIEW_DECISIONS = ("approve", "reject", "return")


def review_decide_many(*, actor, claim_ids: list[int], decision: str, reason: str) -> dict:
    """Approve / reject (one batch service call) or return (one service call per claim) many claims.

    Returns {"succeeded": [ids], "failed": {id: {"code", "message"}}}.
    """
    if decision not in REVIEW_DECISIONS:
        raise ValidationFailed(fields={"decision": _("Choose approve, reject or return.")})
    if not claim_ids:
        raise ValidationFailed(_("Select at least one claim."), fields={"claim_ids": _("Select at least one claim.")})
    if decision in ("approve", "reject"):
        return services.claims_review_batch(actor=actor, claim_ids=claim_ids, decision=decision, reason=reason)
    if not (reason or "").strip():
        raise ValidationFailed(fields={"reason": _("Give a reason.")})
    succeeded, failed = [], {}
    for claim_id in dict.fromkeys(claim_ids):
        try:
            claim = Claim.objects.select_related("community", "account").filter(pk=claim_id).first()
            if claim is None:
                raise NotFound()
            services.claim_return(actor=actor, claim=claim, reason=reason)
            succeeded.append(claim_id)
        except DomainError as error:
            failed[claim_id] = {"code": error.code, "message": str(error.message)}
    return {"succeeded": succeeded, "failed": failed}


@login_required
@domain_errors
@require_POST
def review_decide(request):
    ids = [value for value in (_int(raw) for raw in request.POST.getlist("claim")) if value is not None]
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
def record(request):
    """Staff find a resident in reach to record a claim for them (an elder without a phone, a paper form)."""
    if reach(request.user, Permission.CLAIM_SUBMIT_ON_BEHALF).is_empty:
        raise NotFound()
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
    kind = _resident_kind(resident)
    account = PointsAccount.objects.filter(resident=resident, kind=kind).select_related("community").first()
    account = account or _unsaved_account(resident)
    return _claim_form(request, account=account, on_behalf_of=resident, done_url=reverse("points:review_queue"))


# ---------------------------------------------------------------- public pages (no login)


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


def _kind_labels() -> dict[str, str]:
    return {value: str(label) for value, label in AccountKind.choices}


def _publication_context(request, community: Place, publication: Publication) -> dict:
    labels = _kind_labels()
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
    line_id = _int(request.POST.get("line"))
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
        labels = _kind_labels()
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


RANKING_KINDS = (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.GRID)


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
    number = max(1, _int(request.GET.get("page")) or 1)
    rows = ranking(place=place, kind=kind or None, period=period, limit=PER_PAGE + 1, offset=(number - 1) * PER_PAGE)
    labels = _kind_labels()
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


# ---------------------------------------------------------------- staff: catalogue


def _catalogue_places(user) -> list[Place]:
    """Places whose catalogue the person manages: districts in reach, then communities."""
    scope = reach(user, Permission.CATALOGUE_MANAGE)
    if scope.is_empty:
        return []
    places = Place.objects.filter(kind__in=[PlaceKind.DISTRICT, PlaceKind.COMMUNITY], is_active=True)
    if not scope.everything:
        places = places.filter(scope.q("path"))
    return list(places.order_by("path"))


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def catalogue(request):
    places = _catalogue_places(request.user)
    place = _pick_community(request, places)
    error = None
    status = 200
    if request.method == "POST":  # a new category (district catalogue managers only)
        try:
            services.category_create(
                actor=request.user,
                code=request.POST.get("code", "")[:40],
                name=request.POST.get("name", "")[:60],
                sort_order=_int(request.POST.get("sort_order")) or 0,
            )
        except DomainError as refusal:
            error, status = refusal, refusal.status
        else:
            messages.success(request, _("The category was added."))
            return redirect(f"{reverse('points:catalogue')}?community={place.pk}")
    context = {
        "communities": places,
        "community": place,
        "rows": catalogue_rows(place, day=timezone.localdate()),
        "kind_labels": _kind_labels(),
        "categories": list(PointCategory.objects.all()),
        "can_add": True,
        "can_toggle": place.kind == PlaceKind.COMMUNITY,
        "error": error,
    }
    labels = context["kind_labels"]
    for row in context["rows"]:
        row["kinds"] = [labels.get(kind, kind) for kind in row["item"].account_kinds]
    return render(request, "points/catalogue.html", context, status=status)


def _item_for(user, item_id: int) -> PointItem:
    item = PointItem.objects.select_related("category", "owner").filter(pk=item_id).first()
    if item is None:
        raise NotFound()
    places = _catalogue_places(user)
    if not any(place.path.startswith(item.owner.path) or item.owner.path.startswith(place.path) for place in places):
        raise NotFound()
    return item


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def item_new(request):
    places = _catalogue_places(request.user)
    if not places:
        raise NotFound()
    today = timezone.localdate()
    form = {
        "owner": _int(request.GET.get("community")) or places[0].pk,
        "category": None,
        "code": "",
        "name": "",
        "value": "",
        "effective_from": today.isoformat(),
        "account_kinds": [AccountKind.RESIDENT, AccountKind.PARTY_MEMBER],
        "evidence_required": False,
        "two_reviewers": False,
        "cap_per_day": "",
        "cap_per_month": "",
        "description": "",
    }
    errors, error, status = {}, None, 200
    if request.method == "POST":
        post = request.POST
        form.update(
            owner=_int(post.get("owner")),
            category=_int(post.get("category")),
            code=post.get("code", "")[:60],
            name=post.get("name", "")[:120],
            value=post.get("value", "")[:9],
            effective_from=post.get("effective_from", "")[:10],
            account_kinds=[kind for kind in post.getlist("account_kinds") if kind in HOLDER_KINDS],
            evidence_required=post.get("evidence_required") == "on",
            two_reviewers=post.get("two_reviewers") == "on",
            cap_per_day=post.get("cap_per_day", "")[:9],
            cap_per_month=post.get("cap_per_month", "")[:9],
            description=post.get("description", "")[:TEXT_MAX],
        )
        try:
            item = _create_item(request.user, form, places)
        except DomainError as refusal:
            error, errors, status = refusal, _field_errors(refusal), refusal.status
        else:
            messages.success(request, _("The item was added to the catalogue."))
            return redirect("points:item_detail", item_id=item.pk)
    context = {
        "form": form,
        "errors": errors,
        "error": error,
        "places": places,
        "categories": list(PointCategory.objects.filter(is_active=True)),
        "kinds": [(value, label) for value, label in AccountKind.choices if value in HOLDER_KINDS],
    }
    return render(request, "points/item_form.html", context, status=status)


def _create_item(user, form: dict, places: list[Place]) -> PointItem:
    errors = {}
    owner = next((place for place in places if place.pk == form["owner"]), None)
    if owner is None:
        errors["owner"] = _("Choose the district or the community.")
    category = PointCategory.objects.filter(pk=form["category"]).first() if form["category"] else None
    if category is None:
        errors["category"] = _("Choose a category.")
    value = _int(form["value"])
    if value is None:
        errors["value"] = _("Enter a whole number of points greater than zero.")
    effective_from = _parse_date(form["effective_from"])
    if effective_from is None:
        errors["effective_from"] = _("Enter a date.")
    caps = {}
    for name in ("cap_per_day", "cap_per_month"):
        raw = str(form[name]).strip()
        caps[name] = _int(raw) if raw else None
        if raw and caps[name] is None:
            errors[name] = _("A cap is a whole number greater than zero, or empty for none.")
    if errors:
        raise ValidationFailed(fields=errors)
    return services.item_create(
        actor=user,
        owner=owner,
        category=category,
        code=form["code"],
        name=form["name"],
        value=value,
        effective_from=effective_from,
        account_kinds=form["account_kinds"],
        evidence_required=form["evidence_required"],
        two_reviewers=form["two_reviewers"],
        description=form["description"],
        **caps,
    )


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def item_detail(request, item_id: int):
    item = _item_for(request.user, item_id)
    today = timezone.localdate()
    form = {"value": "", "effective_from": (today + timedelta(days=1)).isoformat(), "reason": ""}
    errors, error, status = {}, None, 200
    if request.method == "POST":
        form = {
            "value": request.POST.get("value", "")[:9],
            "effective_from": request.POST.get("effective_from", "")[:10],
            "reason": request.POST.get("reason", "")[:255],
        }
        try:
            value, effective_from = _int(form["value"]), _parse_date(form["effective_from"])
            missing = {}
            if value is None:
                missing["value"] = _("Enter a whole number of points greater than zero.")
            if effective_from is None:
                missing["effective_from"] = _("Enter a date.")
            if missing:
                raise ValidationFailed(fields=missing)
            services.item_value_change(
                actor=request.user, item=item, value=value, effective_from=effective_from, reason=form["reason"]
            )
        except DomainError as refusal:
            error, errors, status = refusal, _field_errors(refusal), refusal.status
        else:
            messages.success(request, _("The new value was saved. Claims already made keep their value."))
            return redirect("points:item_detail", item_id=item.pk)
    versions = list(PointItemVersion.objects.filter(item=item).select_related("changed_by").order_by("-effective_from"))
    context = {
        "item": item,
        "versions": versions,
        "form": form,
        "errors": errors,
        "error": error,
        "community": _int(request.GET.get("community")),
        "kinds": [str(_kind_labels().get(kind, kind)) for kind in item.account_kinds],
    }
    return render(request, "points/item_detail.html", context, status=status)


@login_required
@domain_errors
@require_POST
def item_toggle(request, item_id: int):
    item = _item_for(request.user, item_id)
    community = Place.objects.filter(pk=_int(request.POST.get("community")), kind=PlaceKind.COMMUNITY).first()
    if community is None:
        raise NotFound()
    enabled = request.POST.get("enabled") == "1"
    services.item_set_enabled(actor=request.user, community=community, item=item, enabled=enabled)
    names = {"item": item.name, "community": community.name}
    if enabled:
        messages.success(request, _("%(item)s is on in %(community)s.") % names)
    else:
        messages.success(request, _("%(item)s is off in %(community)s.") % names)
    return redirect(f"{reverse('points:catalogue')}?community={community.pk}")


# ---------------------------------------------------------------- staff: adjustments


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def adjustments(request):
    user = request.user
    scope = reach(user, Permission.POINTS_ADJUST)
    if scope.is_empty:
        raise NotFound()
    query = request.GET.get("q", "").strip()[:50]
    form = {"account": None, "amount": "", "reason": ""}
    errors, error, status = {}, None, 200
    if request.method == "POST":
        form = {
            "account": _int(request.POST.get("account")),
            "amount": request.POST.get("amount", "")[:9],
            "reason": request.POST.get("reason", "")[:255],
        }
        try:
            account = access_account(user, form["account"])
            amount = _int(form["amount"])
            if amount is None:
                raise ValidationFailed(fields={"amount": _("Enter a whole number of points other than zero.")})
            services.adjustment_propose(actor=user, account=account, amount=amount, reason=form["reason"])
        except DomainError as refusal:
            error, errors, status = refusal, _field_errors(refusal), refusal.status
        else:
            messages.success(request, _("The adjustment was proposed. A second person approves it."))
            return redirect("points:adjustments")
    matches = []
    if query:
        matches = list(
            accounts_visible(user)
            .filter(scope.q("place_path"), display_name__icontains=query)
            .order_by("display_name", "pk")[:20]
        )
    in_reach = Adjustment.objects.filter(scope.q("account__place_path")).select_related(
        "account", "proposed_by", "decided_by"
    )
    context = {
        "query": query,
        "matches": matches,
        "form": form,
        "errors": errors,
        "error": error,
        "proposed": list(in_reach.filter(state=Adjustment.State.PROPOSED).order_by("proposed_at")),
        "decided": list(in_reach.exclude(state=Adjustment.State.PROPOSED).order_by("-decided_at")[:30]),
    }
    return render(request, "points/adjustments.html", context, status=status)


@login_required
@domain_errors
@require_POST
def adjustment_decide(request, adjustment_id: int):
    scope = reach(request.user, Permission.POINTS_ADJUST)
    adjustment = Adjustment.objects.filter(scope.q("account__place_path"), pk=adjustment_id).first()
    if adjustment is None:
        raise NotFound()
    try:
        if request.POST.get("decision") == "approve":
            services.adjustment_approve(actor=request.user, adjustment=adjustment)
            messages.success(request, _("The adjustment was approved and posted."))
        else:
            services.adjustment_refuse(actor=request.user, adjustment=adjustment, reason=request.POST.get("reason", ""))
            messages.success(request, _("The adjustment was refused."))
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return redirect("points:adjustments")


# ---------------------------------------------------------------- staff: publications and objections


def _publishable_months(today: date, published: set[date]) -> list[date]:
    months, month = [], today.replace(day=1)
    for _step in range(3):
        month = (month - timedelta(days=1)).replace(day=1)
        if month not in published:
            months.append(month)
    return months


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def publications(request):
    communities = communities_in_reach(request.user, Permission.PUBLICATION_MANAGE)
    community = _pick_community(request, communities)
    error, status = None, 200
    if request.method == "POST":
        try:
            pub.publication_publish(actor=request.user, community=community, month=request.POST.get("month", "")[:7])
        except DomainError as refusal:
            error, status = refusal, refusal.status
        else:
            messages.success(request, _("The month was published; the objection window is open."))
            return redirect(f"{reverse('points:publications')}?community={community.pk}")
    rows = list(Publication.objects.filter(community=community).order_by("-month"))
    open_counts = dict(
        Objection.objects.filter(publication__in=rows, state=Objection.State.OPEN)
        .values_list("publication_id")
        .annotate(number=Count("pk"))
    )
    for row in rows:
        row.open_objections = open_counts.get(row.pk, 0)
    published = {row.month for row in rows if row.state != Publication.State.OPEN}
    context = {
        "communities": communities,
        "community": community,
        "publications": rows,
        "months": _publishable_months(timezone.localdate(), published),
        "error": error,
    }
    return render(request, "points/publications.html", context, status=status)


def _managed_publication(user, publication_id: int) -> Publication:
    publication = Publication.objects.select_related("community").filter(pk=publication_id).first()
    if publication is None or not reach(user, Permission.PUBLICATION_MANAGE).covers(publication.community.path):
        raise NotFound()
    return publication


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def publication_manage(request, publication_id: int):
    user = request.user
    publication = _managed_publication(user, publication_id)
    error, status = None, 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "lock":
                pub.publication_lock(actor=user, publication=publication)
                messages.success(request, _("The month is locked."))
            elif action in ("uphold", "dismiss"):
                objection_id = _int(request.POST.get("objection"))
                objection = Objection.objects.filter(pk=objection_id, publication=publication).first()
                if objection is None:
                    raise NotFound()
                reason = request.POST.get("reason", "")[:500]
                if action == "uphold":
                    claim = Claim.objects.filter(
                        pk=_int(request.POST.get("claim")), community=publication.community
                    ).first()
                    pub.objection_uphold(actor=user, objection=objection, reason=reason, claim=claim)
                    messages.success(request, _("The objection was upheld and the claim's points taken back."))
                else:
                    pub.objection_dismiss(actor=user, objection=objection, reason=reason)
                    messages.success(request, _("The objection was dismissed."))
            else:
                raise ValidationFailed(fields={"action": _("Choose what to do.")})
        except DomainError as refusal:
            error, status = refusal, refusal.status
        else:
            return redirect("points:publication_manage", publication_id=publication.pk)
        publication.refresh_from_db()
    objections = list(
        publication.objections.select_related("line", "claim", "claim__item", "raised_by").order_by(
            "state", "raised_at"
        )
    )
    line_accounts = {objection.line.account_id for objection in objections if objection.line_id}
    from .publication import month_end

    claims_by_account: dict[int, list[Claim]] = {}
    for claim in Claim.objects.filter(
        community=publication.community,
        account_id__in=line_accounts,
        service_date__gte=publication.month,
        service_date__lt=month_end(publication.month),
        state=ClaimState.APPROVED,
    ).select_related("item"):
        claims_by_account.setdefault(claim.account_id, []).append(claim)
    for objection in objections:
        objection.claims = claims_by_account.get(objection.line.account_id, []) if objection.line_id else []
    context = {
        "publication": publication,
        "community": publication.community,
        "objections": objections,
        "lines": list(publication.lines.order_by("-points", "id")[:500]),
        "error": error,
        "can_lock": publication.state == Publication.State.PUBLISHED,
        "window_open": publication.state == Publication.State.PUBLISHED
        and timezone.now() < publication.objections_until,
    }
    return render(request, "points/publication_manage.html", context, status=status)


# ---------------------------------------------------------------- staff: annual selection


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def selections(request):
    user = request.user
    communities = communities_in_reach(user, Permission.SELECTION_MANAGE)
    community = _pick_community(request, communities)
    today = timezone.localdate()
    default_year = today.year - 1 if today.month < 3 else today.year
    year = _int(request.POST.get("year") or request.GET.get("year")) or default_year
    error, status = None, 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "propose":
                pub.selection_propose(
                    actor=user,
                    community=community,
                    year=year,
                    kind=request.POST.get("kind", ""),
                    places_available=_int(request.POST.get("places_available")) or 0,
                )
                messages.success(request, _("Candidates were proposed from the year's ranking."))
            else:
                selection_id = _int(request.POST.get("selection"))
                selection = Selection.objects.filter(pk=selection_id, community=community).first()
                if selection is None:
                    raise NotFound()
                if action == "confirm":
                    chosen = [value for value in (_int(raw) for raw in request.POST.getlist("selected")) if value]
                    pub.selection_confirm(actor=user, selection=selection, selected_account_ids=chosen)
                    messages.success(request, _("The selection was confirmed."))
                elif action == "publish":
                    pub.selection_publish(actor=user, selection=selection)
                    messages.success(request, _("The selection was published."))
                else:
                    raise ValidationFailed(fields={"action": _("Choose what to do.")})
        except DomainError as refusal:
            error, status = refusal, refusal.status
        else:
            return redirect(f"{reverse('points:selections')}?community={community.pk}&year={year}")
    rows = list(
        Selection.objects.filter(community=community, year=year)
        .prefetch_related("candidates__account")
        .order_by("kind")
    )
    labels = _kind_labels()
    for selection in rows:
        for candidate in selection.candidates.all():
            candidate.kind_label = labels.get(candidate.account.kind, "")
    context = {
        "communities": communities,
        "community": community,
        "year": year,
        "years": list(range(today.year, today.year - 4, -1)),
        "selections": rows,
        "kinds": Selection.Kind.choices,
        "error": error,
    }
    return render(request, "points/selections.html", context, status=status)


# ---------------------------------------------------------------- staff: evaluation export


@login_required
@domain_errors
def evaluation(request):
    user = request.user
    scope = reach(user, Permission.EVALUATION_EXPORT)
    if scope.is_empty:
        raise NotFound()
    places = Place.objects.filter(
        kind__in=[PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY], is_active=True
    ).order_by("path")
    if not scope.everything:
        places = places.filter(scope.q("path"))
    places = list(places)
    today = timezone.localdate()
    if "year" not in request.GET:
        return render(
            request,
            "points/evaluation.html",
            {"places": places, "years": list(range(today.year, today.year - 4, -1)), "year": today.year},
        )
    place = next((item for item in places if item.pk == _int(request.GET.get("place"))), None)
    if place is None:
        raise NotFound()
    year = _int(request.GET.get("year")) or today.year
    subject = request.GET.get("subject", "party_members")
    content, _rows = evaluation_export(actor=user, place=place, year=year, subject=subject)
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = (
        f'attachment; filename="{evaluation_filename(place=place, year=year, subject=subject)}"'
    )
    response["Cache-Control"] = "no-store"
    return response
