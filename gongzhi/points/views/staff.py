"""Staff pages: the catalogue (items, values, on/off per community), adjustments (propose, second person
decides), monthly publications and objections, the annual selection and the evaluation export."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from gongzhi.core.access import reach
from gongzhi.core.errors import DomainError, NotFound, ValidationFailed
from gongzhi.core.roles import Permission
from gongzhi.core.views_support import domain_errors
from gongzhi.places.models import Place, PlaceKind

from .. import publication as pub
from ..adjustments import adjustment_approve, adjustment_propose, adjustment_refuse
from ..catalogue import category_create, item_create, item_set_enabled, item_value_change
from ..evaluation import XLSX_CONTENT_TYPE, evaluation_export
from ..evaluation import export_filename as evaluation_filename
from ..models import (
    HOLDER_KINDS,
    AccountKind,
    Adjustment,
    Claim,
    ClaimState,
    Objection,
    PointCategory,
    PointItem,
    PointItemVersion,
    Publication,
    Selection,
)
from ..selectors import (
    access_account,
    accounts_visible,
    adjustments_waiting_for,
    catalogue_rows,
    communities_in_reach,
)
from .common import TEXT_MAX, field_errors, kind_labels, parse_date, pick_community, to_int


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
    place = pick_community(request, places)
    error = None
    status = 200
    if request.method == "POST":  # a new category (district catalogue managers only)
        try:
            category_create(
                actor=request.user,
                code=request.POST.get("code", "")[:40],
                name=request.POST.get("name", "")[:60],
                sort_order=to_int(request.POST.get("sort_order")) or 0,
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
        "kind_labels": kind_labels(),
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
        "owner": to_int(request.GET.get("community")) or places[0].pk,
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
            owner=to_int(post.get("owner")),
            category=to_int(post.get("category")),
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
            error, errors, status = refusal, field_errors(refusal), refusal.status
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
    value = to_int(form["value"])
    if value is None:
        errors["value"] = _("Enter a whole number of points greater than zero.")
    effective_from = parse_date(form["effective_from"])
    if effective_from is None:
        errors["effective_from"] = _("Enter a date.")
    caps = {}
    for name in ("cap_per_day", "cap_per_month"):
        raw = str(form[name]).strip()
        caps[name] = to_int(raw) if raw else None
        if raw and caps[name] is None:
            errors[name] = _("A cap is a whole number greater than zero, or empty for none.")
    if errors:
        raise ValidationFailed(fields=errors)
    return item_create(
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
            value, effective_from = to_int(form["value"]), parse_date(form["effective_from"])
            missing = {}
            if value is None:
                missing["value"] = _("Enter a whole number of points greater than zero.")
            if effective_from is None:
                missing["effective_from"] = _("Enter a date.")
            if missing:
                raise ValidationFailed(fields=missing)
            item_value_change(
                actor=request.user, item=item, value=value, effective_from=effective_from, reason=form["reason"]
            )
        except DomainError as refusal:
            error, errors, status = refusal, field_errors(refusal), refusal.status
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
        "community": to_int(request.GET.get("community")),
        "kinds": [str(kind_labels().get(kind, kind)) for kind in item.account_kinds],
    }
    return render(request, "points/item_detail.html", context, status=status)


@login_required
@domain_errors
@require_POST
def item_toggle(request, item_id: int):
    item = _item_for(request.user, item_id)
    community = Place.objects.filter(pk=to_int(request.POST.get("community")), kind=PlaceKind.COMMUNITY).first()
    if community is None:
        raise NotFound()
    enabled = request.POST.get("enabled") == "1"
    item_set_enabled(actor=request.user, community=community, item=item, enabled=enabled)
    names = {"item": item.name, "community": community.name}
    if enabled:
        messages.success(request, _("%(item)s is on in %(community)s.") % names)
    else:
        messages.success(request, _("%(item)s is off in %(community)s.") % names)
    return redirect(f"{reverse('points:catalogue')}?community={community.pk}")


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def adjustments(request):
    user = request.user
    scope = reach(user, Permission.POINTS_ADJUST)
    if scope.is_empty:  # a habit or an old link: the person's own points work, with who makes adjustments
        messages.info(request, _("Adjustments are made by the secretary and the street and district administrators."))
        return redirect("points:home")
    query = request.GET.get("q", "").strip()[:50]
    form = {"account": None, "amount": "", "reason": ""}
    errors, error, status = {}, None, 200
    if request.method == "POST":
        form = {
            "account": to_int(request.POST.get("account")),
            "amount": request.POST.get("amount", "")[:9],
            "reason": request.POST.get("reason", "")[:255],
        }
        try:
            account = access_account(user, form["account"])
            amount = to_int(form["amount"])
            if amount is None:
                raise ValidationFailed(fields={"amount": _("Enter a whole number of points other than zero.")})
            adjustment_propose(actor=user, account=account, amount=amount, reason=form["reason"])
        except DomainError as refusal:
            error, errors, status = refusal, field_errors(refusal), refusal.status
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
    shown = ("account", "account__community", "proposed_by", "decided_by")
    in_reach = Adjustment.objects.filter(scope.q("account__place_path")).select_related(*shown)
    context = {
        "query": query,
        "matches": matches,
        "form": form,
        "errors": errors,
        "error": error,
        "waiting": list(adjustments_waiting_for(user).select_related(*shown)),
        "proposed": list(in_reach.filter(state=Adjustment.State.PROPOSED, proposed_by=user).order_by("proposed_at")),
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
            adjustment_approve(actor=request.user, adjustment=adjustment)
            messages.success(request, _("The adjustment was approved and posted."))
        else:
            adjustment_refuse(actor=request.user, adjustment=adjustment, reason=request.POST.get("reason", ""))
            messages.success(request, _("The adjustment was refused."))
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return redirect("points:adjustments")


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
    community = pick_community(request, communities)
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
                objection_id = to_int(request.POST.get("objection"))
                objection = Objection.objects.filter(pk=objection_id, publication=publication).first()
                if objection is None:
                    raise NotFound()
                reason = request.POST.get("reason", "")[:500]
                if action == "uphold":
                    claim = Claim.objects.filter(
                        pk=to_int(request.POST.get("claim")), community=publication.community
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
    claims_by_account: dict[int, list[Claim]] = {}
    for claim in Claim.objects.filter(
        community=publication.community,
        account_id__in=line_accounts,
        service_date__gte=publication.month,
        service_date__lt=pub.month_end(publication.month),
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


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def selections(request):
    user = request.user
    communities = communities_in_reach(user, Permission.SELECTION_MANAGE)
    community = pick_community(request, communities)
    today = timezone.localdate()
    default_year = today.year - 1 if today.month < 3 else today.year
    year = to_int(request.POST.get("year") or request.GET.get("year")) or default_year
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
                    places_available=to_int(request.POST.get("places_available")) or 0,
                )
                messages.success(request, _("Candidates were proposed from the year's ranking."))
            else:
                selection_id = to_int(request.POST.get("selection"))
                selection = Selection.objects.filter(pk=selection_id, community=community).first()
                if selection is None:
                    raise NotFound()
                if action == "confirm":
                    chosen = [value for value in (to_int(raw) for raw in request.POST.getlist("selected")) if value]
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
    labels = kind_labels()
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
    place = next((item for item in places if item.pk == to_int(request.GET.get("place"))), None)
    if place is None:
        raise NotFound()
    year = to_int(request.GET.get("year")) or today.year
    subject = request.GET.get("subject", "party_members")
    content, _rows = evaluation_export(actor=user, place=place, year=year, subject=subject)
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = (
        f'attachment; filename="{evaluation_filename(place=place, year=year, subject=subject)}"'
    )
    response["Cache-Control"] = "no-store"
    return response
