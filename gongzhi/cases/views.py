"""Pages of resident requests (民呼我应), mounted at /cases/.

- Residents on a phone: raise a request (category, text, photos from the camera, their household, building or a
  place described in words, anonymous if they wish), follow it (the trail in plain words), rate it, withdraw it.
- Handlers (grid workers, community, street, departments): the queue with filters, sort, search and pages; the
  request page with the actions the state machine and their place allow.
- Elsewhere: household visits (``visit_views.py``), hotline requests entered one by one or imported from the 12345
  spreadsheet (``hotline_views.py``), merging with its confirmation and undo (``merge_views.py``), Open311 keys and
  the categories' questions (``open311_views.py``).
- The in-app inbox, the unread badge in the top bar and the card on the home page.

Views are thin: parse input → fetch through a selector or ``access_*`` → one service call → render. Refusals come
back as DomainError and are shown on the form that caused them, with what was typed kept. Photos are served only
to people who may see the request, never from a public media URL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F, Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core.access import parse_id, reach
from gongzhi.core.errors import DomainError, NotFound, ValidationFailed
from gongzhi.core.masking import mask_name, mask_phone
from gongzhi.core.pagination import page_of
from gongzhi.core.ratelimit import rate_limit_request
from gongzhi.core.roles import Permission
from gongzhi.core.tree import subtree_q
from gongzhi.core.uploads import clean_photos
from gongzhi.core.views_support import domain_errors, private_file_response
from gongzhi.people.models import Organisation
from gongzhi.places.models import Place, PlaceKind

from . import held_photos, services
from .attributes import answer_lines
from .merging import can_unmerge, unmerge_deadline
from .models import (
    OPEN_STATES,
    Case,
    CaseChannel,
    CaseLevel,
    CasePhoto,
    CaseState,
    Satisfaction,
)
from .notifications import notification_mark_read
from .routing import next_level
from .selectors import (
    QueueFilters,
    access_case,
    access_category,
    can_handle,
    case_queryset,
    case_search_q,
    case_summonses,
    case_trail,
    category_list,
    configures_categories,
    handler_queue,
    handling_grants,
    inbox,
    label_case_places,
    my_cases,
    possible_duplicates,
    resident_households,
)
from .summonses import SUMMONS_DEFAULT_HOURS, case_summon
from .trail import trail_lines
from .transitions import MAX_PHOTO_BYTES, MAX_PHOTOS, TEXT_MAX, allowed_actions

PER_PAGE = 30
SEARCH_MAX = 50
CHOICE_LIMIT = 500
SORTS = ("deadline", "newest", "oldest")


# ---------------------------------------------------------------- helpers


def _is_handler(user) -> bool:
    if user.is_superuser:
        return True
    paths, organisations = handling_grants(user)
    return bool(paths or organisations)


def photos_from(request) -> list:
    """The uploaded photos, checked: at most nine, pictures only (by their first bytes), 10 MB each; each one
    re-encoded without its EXIF (no GPS position leaves with a resident's photo)."""
    return clean_photos(request.FILES.getlist("photos"), max_count=MAX_PHOTOS, max_bytes=MAX_PHOTO_BYTES)


def _errors(error: DomainError) -> dict[str, list[str]]:
    return error.as_dict().get("fields") or {}


def _mark_late(cases, now: datetime | None = None) -> None:
    """Give each case ``late``: overdue before, or past its deadline now (the job may not have run yet)."""
    now = now or timezone.now()
    for case in cases:
        deadline_passed = case.state in OPEN_STATES and (
            (case.state == CaseState.SUBMITTED and case.accept_by is not None and case.accept_by <= now)
            or (case.resolve_by is not None and case.resolve_by <= now)
        )
        case.late = case.is_overdue or deadline_passed


def _reporter_label(case: Case, viewer) -> str:
    if case.reporter_account_id and case.reporter_account_id == viewer.pk:
        return _("you")
    if case.is_anonymous:
        return _("anonymous")
    if case.reporter_resident_id:
        return mask_name(case.reporter_resident.name)
    return mask_name(case.contact_name)


# ---------------------------------------------------------------- where "Requests" leads


@login_required
@domain_errors
@require_GET
def home(request):
    """Handlers land on their queue; everyone else on the requests they raised (or can see in their area)."""
    if _is_handler(request.user):
        return redirect("cases:queue")
    if not reach(request.user, Permission.CASE_VIEW).is_empty and not resident_households(request.user):
        return redirect(f"{reverse('cases:queue')}?scope=area")
    return redirect("cases:mine")


@login_required
@domain_errors
@require_GET
def mine(request):
    user = request.user
    page = page_of(request, my_cases(user), per_page=PER_PAGE)
    _mark_late(page.object_list)
    context = {
        "page": page,
        "cases": page.object_list,
        "can_raise": bool(resident_households(user)),
        "can_record": not reach(user, Permission.CASE_INTAKE).is_empty,
        "is_handler": _is_handler(user),
    }
    return render(request, "cases/mine.html", context)


# ---------------------------------------------------------------- raising a request (resident)


def _resident_places(user) -> dict[str, Any]:
    """The places a resident may choose: their household, its building, and the community (for "somewhere else")."""
    households = resident_households(user)
    if not households:
        return {"household": None, "building": None, "community": None}
    household = households[0]
    above = {
        place.kind: place
        for place in Place.objects.filter(
            pk__in=household.ancestor_ids, kind__in=(PlaceKind.BUILDING, PlaceKind.COMMUNITY), is_active=True
        )
    }
    return {
        "household": household,
        "building": above.get(PlaceKind.BUILDING),
        "community": above.get(PlaceKind.COMMUNITY),
    }


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def case_new(request):
    user = request.user
    places = _resident_places(user)
    context: dict[str, Any] = {
        "categories": list(category_list()),
        "places": places,
        "form": {"where": "household"},
        "errors": {},
        "error": None,
        "max_photos": MAX_PHOTOS,
    }
    if places["household"] is None:
        return render(request, "cases/not_resident.html", context, status=403)
    if request.method == "GET":
        return render(request, "cases/new.html", context)
    form = {
        "category": request.POST.get("category", ""),
        "text": request.POST.get("text", "")[:TEXT_MAX],
        "where": request.POST.get("where", "household"),
        "location_text": request.POST.get("location_text", "")[:255],
        "anonymous": request.POST.get("anonymous") == "1",
    }
    context["form"] = form
    # Every field is checked at once, and photos already checked are held for the next try (held_photos.py).
    token = request.POST.get("held", "")
    problems: dict[str, Any] = {}
    photos: list = []
    if request.FILES.getlist("photos"):
        try:
            photos = photos_from(request)
        except DomainError as error:
            problems.update(_errors(error))
            photos = held_photos.load(user, token)  # a bad new file does not cost the photos already kept
    elif request.POST.get("drop_held") != "1":
        photos = held_photos.load(user, token)
    category = None
    if not form["category"]:
        problems["category"] = [_("Choose what the request is about.")]
    else:
        try:
            category = access_category(form["category"])
        except NotFound:
            problems["category"] = [_("Choose what the request is about.")]
    if not form["text"].strip():
        problems["text"] = [_("Say what the matter is.")]
    place = places.get(form["where"]) if form["where"] in ("household", "building", "community") else None
    if place is None:
        problems["where"] = [_("Choose where the matter is.")]
    if form["where"] == "community" and not form["location_text"].strip():
        problems["location_text"] = [_("Say where it is, for example “the lamp by the east gate”.")]
    try:
        if problems:
            raise ValidationFailed(fields=problems)
        rate_limit_request(request, "case", now=timezone.now())
        case = services.case_submit(
            actor=user,
            category=category,
            text=form["text"],
            place=place,
            location_text=form["location_text"],
            channel=CaseChannel.RESIDENT_APP,
            anonymous=form["anonymous"],
            photos=photos,
        )
    except DomainError as error:
        kept = held_photos.hold(user, photos, token=token)
        if not kept:
            held_photos.release(user, token)
        context.update(error=error, errors=_errors(error), held=kept)
        return render(request, "cases/new.html", context, status=error.status)
    held_photos.release(user, token)
    messages.success(request, _("Your request %(number)s was sent.") % {"number": case.number})
    return redirect(f"{reverse('cases:detail', args=[case.pk])}?new=1")


# ---------------------------------------------------------------- one request


def _refer_places(case: Case) -> list[Place]:
    """Where a handler may refer across: the district's streets and communities, and the first-level grids of the
    request's community."""
    root = "/".join(case.place.path.split("/")[:2]) + "/"
    community = list(case.place.ancestor_ids)
    return list(
        Place.objects.filter(subtree_q(root), is_active=True)
        .filter(
            Q(kind__in=(PlaceKind.STREET, PlaceKind.COMMUNITY))
            | Q(kind=PlaceKind.GRID, grid_level=1, parent_id__in=community)
        )
        .order_by("path")[:CHOICE_LIMIT]
    )


def _departments(case: Case) -> list[Organisation]:
    root = "/".join(case.place.path.split("/")[:2]) + "/"
    return list(
        Organisation.objects.filter(subtree_q(root, "place__path"), is_active=True)
        .exclude(kind="merchant")
        .order_by("kind", "name")[:CHOICE_LIMIT]
    )


def _detail_context(request, case: Case) -> dict[str, Any]:
    user = request.user
    handler = can_handle(user, case)
    is_reporter = case.reporter_account_id == user.pk
    actions = allowed_actions(user, case)
    staff_view = not is_reporter or handler
    context: dict[str, Any] = {
        "case": case,
        "trail": trail_lines(
            case_trail(case),
            with_actor=staff_view,
            hidden_actor_id=case.reporter_account_id if case.is_anonymous else None,
            viewer=user,
        ),
        "answers": answer_lines(case),
        "photos": list(case.photos.order_by("uploaded_at", "id")),
        "summonses": case_summonses(case),
        "actions": actions,
        "is_reporter": is_reporter,
        "is_handler": handler,
        "staff_view": staff_view,
        "reporter": _reporter_label(case, user),
        "contact_phone": "" if case.is_anonymous and not is_reporter else mask_phone(case.contact_phone),
        "ratings": Satisfaction.choices,
        "form": {},
        "errors": {},
        "error": None,
        "open_action": "",
        "next_level": CaseLevel(next_level(case.level)).label if next_level(case.level) else "",
        "show_duplicates": request.GET.get("new") == "1" or "merge" in actions,
        "max_photos": MAX_PHOTOS,
    }
    _mark_late([case])
    label_case_places([case])
    if case.state == CaseState.DUPLICATE and can_unmerge(user, case):
        context.update(can_unmerge=True, unmerge_until=unmerge_deadline(case))
    if context["show_duplicates"]:
        context["duplicates"] = possible_duplicates(user, category=case.category, place=case.place, exclude=case)
    if "refer" in actions:
        context["refer_places"] = _refer_places(case)
    if "refer" in actions or "summon" in actions:
        context["departments"] = _departments(case)
    return context


@login_required
@domain_errors
@require_GET
def case_detail(request, case_id: int):
    case = access_case(request.user, case_id)
    return render(request, "cases/detail.html", _detail_context(request, case))


_ACTION_FIELDS = ("note", "reason", "resolution", "rating", "comment", "to_place", "to_department", "department")
_ACTION_FIELDS += ("respond_within_hours", "into")


def _run_action(request, case: Case, action: str, form: dict[str, str]) -> str:
    """Call the one service for ``action``; return the message to show."""
    user = request.user
    if action == "accept":
        services.case_accept(actor=user, case=case, note=form["note"])
        return _("You accepted the request.")
    if action == "start":
        services.case_start(actor=user, case=case, note=form["note"])
        return _("Work has started.")
    if action == "resolve":
        services.case_resolve(actor=user, case=case, resolution=form["resolution"], photos=photos_from(request))
        return _("Resolved. The resident is asked to rate the result.")
    if action == "escalate":
        services.case_escalate(actor=user, case=case, reason=form["reason"])
        return _("The request was passed up a level.")
    if action == "refer":
        to_place = None
        if form["to_place"]:
            to_place = Place.objects.filter(pk=parse_id(form["to_place"]), is_active=True).first()
            if to_place is None:
                raise ValidationFailed(fields={"to_place": _("Choose a place.")})
        to_department = None
        if form["to_department"]:
            to_department = Organisation.objects.filter(pk=parse_id(form["to_department"]), is_active=True).first()
            if to_department is None:
                raise ValidationFailed(fields={"to_department": _("Choose a department.")})
        services.case_refer(
            actor=user, case=case, reason=form["reason"], to_place=to_place, to_department=to_department
        )
        return _("The request was referred.")
    if action == "summon":
        department = Organisation.objects.filter(pk=parse_id(form["department"]), is_active=True).first()
        hours = parse_id(form["respond_within_hours"]) or SUMMONS_DEFAULT_HOURS
        case_summon(actor=user, case=case, department=department, note=form["note"], respond_within_hours=hours)
        return _("The department was summoned.")
    if action == "reject":
        services.case_reject(actor=user, case=case, reason=form["reason"])
        return _("The request was rejected.")
    if action == "close":
        services.case_close(actor=user, case=case, note=form["note"])
        return _("The request was closed.")
    if action == "merge":
        into = case_queryset(user).filter(pk=parse_id(form["into"].strip().split("-")[-1])).first()
        if into is None:
            raise ValidationFailed(fields={"into": _("Choose the request to merge into.")})
        services.case_merge(actor=user, case=case, into=into, note=form["note"])
        return _("Merged as a duplicate.")
    if action == "rate":
        if form["rating"] not in Satisfaction.values:
            raise ValidationFailed(fields={"rating": _("Choose satisfied, basically satisfied or unsatisfied.")})
        services.case_rate(actor=user, case=case, rating=form["rating"], comment=form["comment"])
        return _("Thank you for rating the result.")
    if action == "withdraw":
        services.case_withdraw(actor=user, case=case, reason=form["reason"])
        return _("You withdrew the request.")
    raise ValidationFailed(_("Unknown action."))


@login_required
@domain_errors
@require_POST
def case_act(request, case_id: int):
    """Every action on a request: the buttons post here with ``action``; refusals re-render the request page."""
    case = access_case(request.user, case_id)
    action = request.POST.get("action", "")
    form = {name: request.POST.get(name, "")[:TEXT_MAX] for name in _ACTION_FIELDS}
    try:
        message = _run_action(request, case, action, form)
    except DomainError as error:
        if isinstance(error, NotFound):
            raise
        context = _detail_context(request, access_case(request.user, case_id))
        context.update(error=error, errors=_errors(error), form=form, open_action=action)
        return render(request, "cases/detail.html", context, status=error.status)
    messages.success(request, message)
    return redirect("cases:detail", case.pk)


@login_required
@domain_errors
@require_GET
def case_photo(request, photo_id: int):
    """A request's photo, for those who may see the request (never a public media URL)."""
    photo = CasePhoto.objects.filter(pk=photo_id, case__in=case_queryset(request.user)).first()
    if photo is None:
        raise NotFound()
    return private_file_response(photo.image)


# ---------------------------------------------------------------- the queue (handlers) and the area (viewers)


def _filters(request) -> tuple[QueueFilters, dict[str, Any]]:
    state = request.GET.get("state", "open")
    if state not in ("open", "all", *CaseState.values):
        state = "open"
    level = request.GET.get("level", "")
    if level not in CaseLevel.values:
        level = ""
    overdue = request.GET.get("overdue", "")
    sort = request.GET.get("sort", "deadline")
    if sort not in SORTS:
        sort = "deadline"
    states: tuple[str, ...] = OPEN_STATES if state == "open" else () if state == "all" else (state,)
    filters = QueueFilters(
        states=states,
        level=level or None,
        category_id=parse_id(request.GET.get("category")),
        overdue=True if overdue == "1" else None,
        search=request.GET.get("q", "").strip()[:SEARCH_MAX],
    )
    chosen = {
        "state": state,
        "level": level,
        "category": filters.category_id,
        "overdue": overdue == "1",
        "q": filters.search,
        "sort": sort,
    }
    return filters, chosen


def _area_cases(actor, filters: QueueFilters) -> QuerySet[Case]:
    """Cases the actor may see in their area (building heads, staff reading beyond their own queue)."""
    queryset = case_queryset(actor)
    if filters.states:
        queryset = queryset.filter(state__in=filters.states)
    if filters.level:
        queryset = queryset.filter(level=filters.level)
    if filters.category_id:
        queryset = queryset.filter(category_id=filters.category_id)
    if filters.overdue:
        queryset = queryset.filter(is_overdue=True)
    if filters.search:
        queryset = queryset.filter(case_search_q(filters.search))
    return queryset.select_related("category", "place", "handling_place", "handling_department").order_by(
        "-submitted_at", "-id"
    )


@login_required
@domain_errors
@require_GET
def queue(request):
    user = request.user
    handler = _is_handler(user)
    scope = request.GET.get("scope", "")
    if scope != "area" and not handler:
        scope = "area"
    if scope == "area" and reach(user, Permission.CASE_VIEW).is_empty and not user.is_superuser:
        raise NotFound()
    filters, chosen = _filters(request)
    queryset = _area_cases(user, filters) if scope == "area" else handler_queue(user, filters)
    if chosen["sort"] == "newest":
        queryset = queryset.order_by("-submitted_at", "-id")
    elif chosen["sort"] == "oldest":
        queryset = queryset.order_by("submitted_at", "id")
    elif scope == "area":
        queryset = queryset.order_by(F("resolve_by").asc(nulls_last=True), "-submitted_at", "-id")
    page = page_of(request, queryset, per_page=PER_PAGE)
    _mark_late(page.object_list)
    label_case_places(page.object_list)
    context = {
        "page": page,
        "cases": page.object_list,
        "chosen": chosen,
        "scope": scope,
        "is_handler": handler,
        "categories": list(category_list()),
        "levels": CaseLevel.choices,
        "states": CaseState.choices,
        "filtered": bool(
            chosen["q"] or chosen["category"] or chosen["level"] or chosen["overdue"] or chosen["state"] != "open"
        ),
        "can_record": not reach(user, Permission.CASE_INTAKE).is_empty,
        "can_import": not reach(user, Permission.CASE_IMPORT).is_empty,
        "can_visit": not reach(user, Permission.VISIT_LOG).is_empty,
        "can_configure": not reach(user, Permission.CASE_CONFIGURE).is_empty,
        "configures_categories": configures_categories(user),
    }
    if request.htmx and request.htmx.target == "case-results":
        return render(request, "cases/_queue_results.html", context)
    return render(request, "cases/queue.html", context)


# ---------------------------------------------------------------- the inbox


@login_required
@domain_errors
@require_GET
def inbox_page(request):
    unread_only = request.GET.get("unread") == "1"
    page = page_of(request, inbox(request.user, unread_only=unread_only).select_related("case"), per_page=PER_PAGE)
    context = {"page": page, "notifications": page.object_list, "unread_only": unread_only}
    return render(request, "cases/inbox.html", context)


@login_required
@domain_errors
@require_POST
def inbox_read(request):
    """Mark one notification (``id``) or all of them read."""
    ids = [value for value in (parse_id(item) for item in request.POST.getlist("id")) if value is not None]
    notification_mark_read(actor=request.user, notification_ids=ids or None)
    if request.htmx:
        return inbox_badge(request)
    return redirect("cases:inbox")


@login_required
@domain_errors
@require_GET
def inbox_open(request, notification_id: int):
    """Open what a notification is about, marking it read."""
    notification = inbox(request.user).filter(pk=notification_id).first()
    if notification is None:
        raise NotFound()
    notification_mark_read(actor=request.user, notification_ids=[notification.pk])
    if notification.case_id:
        return redirect("cases:detail", notification.case_id)
    return redirect("cases:inbox")


@login_required
@require_GET
def inbox_badge(request):
    """The unread count for the top bar (loaded by htmx): one COUNT on the inbox index."""
    unread = inbox(request.user, unread_only=True).count()
    response = render(request, "cases/_inbox_badge.html", {"unread": unread})
    response["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- the card on the home page


@login_required
@require_GET
def home_card(request):
    user = request.user
    context: dict[str, Any] = {"is_handler": _is_handler(user), "is_resident": bool(user.resident_id)}
    if context["is_resident"] or resident_households(user):
        context["is_resident"] = True
        open_cases = my_cases(user).filter(state__in=(*OPEN_STATES, CaseState.RESOLVED))
        context["my_open"] = list(open_cases[:3])
        context["my_open_count"] = open_cases.count() if len(context["my_open"]) == 3 else len(context["my_open"])
        context["to_rate"] = sum(1 for case in context["my_open"] if case.state == CaseState.RESOLVED)
    if context["is_handler"]:
        waiting = handler_queue(user)
        context["queue_count"] = waiting.count()
        context["overdue_count"] = waiting.filter(
            Q(is_overdue=True)
            | Q(resolve_by__lte=timezone.now())
            | Q(state=CaseState.SUBMITTED, accept_by__lte=timezone.now())
        ).count()
    if not context["is_handler"] and not context["is_resident"]:
        return HttpResponse("")
    return render(request, "cases/_home_card.html", context)
