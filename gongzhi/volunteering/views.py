"""Pages of volunteering: volunteers on phones, organisers in tables and on the screen, party members, employers.

Thin views: parse → access_<thing> → one service call → render. A DomainError from a form's service call is shown
beside the form (what was typed is kept); anything out of reach renders the same "not found" page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from gongzhi.core.access import parse_id, reach
from gongzhi.core.errors import DomainError, NotFound, ValidationFailed
from gongzhi.core.figures import Period
from gongzhi.core.pagination import page_of
from gongzhi.core.ratelimit import rate_limit_request
from gongzhi.core.roles import Permission
from gongzhi.core.views_support import domain_errors, private_file_response
from gongzhi.places.selectors import access_place
from gongzhi.points.selectors import active_item

from . import kpis, selectors, services, tokens
from .exports import XLSX_CONTENT_TYPE, employer_report_xlsx
from .models import Activity, Eligibility, SignUp, TeamPurpose, Wish


def qr_svg(data: str, *, scale: int = 6) -> str:
    """A QR code as inline SVG, drawn on the server (no script, no outside service)."""
    import segno

    return mark_safe(segno.make_qr(data, error="m").svg_inline(scale=scale, border=2, omitsize=True))


def _now() -> datetime:
    return timezone.now()


def _moment(value: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat((value or "").strip())
    except ValueError:
        raise ValidationFailed(fields={field: _("Enter a date and time.")}) from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _whole_minutes(value: str | None) -> int:
    """Hours as typed (1.5) into whole minutes; a clear field error for anything else."""
    try:
        hours = float((value or "").strip())
    except ValueError:
        raise ValidationFailed(fields={"minutes": _("Enter the hours as a number, e.g. 1.5.")}) from None
    return round(hours * 60)


def _roles(user: Any) -> dict:
    return {
        "can_manage": not reach(user, Permission.VOLUNTEERING_MANAGE).is_empty,
        "can_approve_wishes": not reach(user, Permission.WISH_APPROVE).is_empty,
        "represents": selectors.represented_organisations(user),
    }


# ---------------------------------------------------------------- volunteers


@login_required
@domain_errors
def home(request: HttpRequest) -> HttpResponse:
    now = _now()
    scope = request.GET.get("scope", "community")
    membership = selectors.own_membership(request.user)
    context = {
        "activities": list(selectors.activities_near(request.user, now=now, scope=scope)[:30]),
        "scope": scope,
        "signups": list(selectors.my_signups(request.user).filter(activity__ends_at__gt=now)[:10]),
        "hours": selectors.my_hours(request.user),
        "membership": membership,
        "registration": selectors.registration_of(membership) if membership else None,
        "is_resident": selectors.resident_of(request.user) is not None,
        **_roles(request.user),
    }
    return render(request, "volunteering/home.html", context)


@login_required
@domain_errors
def activity_detail(request: HttpRequest, activity_id: int) -> HttpResponse:
    activity = selectors.access_activity(request.user, activity_id)
    now = _now()
    error = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "join":
                services.activity_join(actor=request.user, activity=activity, now=now)
                messages.success(request, _("You have signed up."))
            elif action in ("cancel", "confirm"):
                signup = selectors.access_signup(request.user, request.POST.get("signup"))
                if action == "cancel":
                    services.signup_cancel(actor=request.user, signup=signup, now=now)
                    messages.success(request, _("Your sign-up is cancelled."))
                else:
                    services.offer_confirm(actor=request.user, signup=signup, now=now)
                    messages.success(request, _("The place is yours."))
            return redirect("volunteering:activity", activity_id=activity.pk)
        except DomainError as refusal:
            if isinstance(refusal, NotFound):
                raise
            error = refusal
    signup = selectors.own_signup(request.user, activity)
    in_force = signup is not None and signup.state in (
        SignUp.State.CONFIRMED,
        SignUp.State.WAITING,
        SignUp.State.OFFERED,
    )
    context = {
        "activity": activity,
        "signup": signup if in_force else None,
        "error": error,
        "can_join": activity.state == Activity.State.OPEN and now < activity.signup_closes_at and not in_force,
        "is_full": activity.taken >= activity.capacity,
        "window_open": tokens.in_window(activity, now),
        "can_organise": reach(request.user, Permission.VOLUNTEERING_MANAGE).covers(activity.community.path),
    }
    return render(request, "volunteering/activity.html", context, status=error.status if error else 200)


@login_required
@domain_errors
def check_in_page(request: HttpRequest, activity_id: int) -> HttpResponse:
    """Check in or out: the phone's camera opens this page from the QR (token in the link), or the volunteer types
    the six digits shown on the screen."""
    activity = selectors.access_activity(request.user, activity_id)
    token = request.POST.get("token") or request.GET.get("token") or ""
    code = request.POST.get("code", "")
    error, done = None, None
    if request.method == "POST":
        action = request.POST.get("action", "in")
        call = services.check_out if action == "out" else services.check_in
        try:
            rate_limit_request(request, "checkin", now=_now())
            done = call(actor=request.user, activity=activity, token=token, code=code, now=_now())
            messages.success(request, _("Checked out. Thank you!") if action == "out" else _("Checked in."))
            return redirect("volunteering:check_in", activity_id=activity.pk)
        except DomainError as refusal:
            error = refusal
    signup = selectors.own_signup(request.user, activity)
    context = {"activity": activity, "token": token, "code": code, "error": error, "signup": signup, "done": done}
    return render(request, "volunteering/check_in.html", context, status=error.status if error else 200)


@login_required
@domain_errors
def my_hours(request: HttpRequest) -> HttpResponse:
    resident = selectors.resident_of(request.user)
    if resident is None:
        raise NotFound()
    year = parse_id(request.GET.get("year")) or timezone.localdate(_now()).year
    period = Period.year(year)
    signups = selectors.my_signups(request.user).filter(
        state=SignUp.State.CONFIRMED, activity__starts_at__gte=period.start, activity__starts_at__lt=period.end
    )
    context = {
        "resident": resident,
        "year": year,
        "summary": selectors.hours_of(resident, period),
        "signups": list(signups[:200]),
        "honour": list(selectors.my_honour_hours(request.user)[:50]),
        "certificate": request.GET.get("certificate") == "1",
    }
    return render(request, "volunteering/hours.html", context)


# ---------------------------------------------------------------- party members


@login_required
@domain_errors
def my_registration(request: HttpRequest) -> HttpResponse:
    membership = selectors.own_membership(request.user)
    if membership is None:
        raise NotFound()
    now = _now()
    error = None
    registration = selectors.registration_of(membership)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "register":
                services.registration_create(actor=request.user, membership=membership, now=now)
                messages.success(request, _("You are registered with your home community."))
            elif request.POST.get("action") == "claim" and registration is not None:
                post = selectors.access_post(request.user, request.POST.get("post"))
                services.post_claim(actor=request.user, registration=registration, post=post, now=now)
                messages.success(request, _("The post is yours."))
            return redirect("volunteering:registration")
        except DomainError as refusal:
            if isinstance(refusal, NotFound):
                raise
            error = refusal
    today = timezone.localdate(now)
    week = kpis.home_service_week(today.year, today.month)
    year = Period.year(today.year)
    context = {
        "membership": membership,
        "registration": registration,
        "error": error,
        "week": week,
        "posts": list(selectors.posts_of(registration.community)) if registration else [],
        "held": list(selectors.open_post_claims(registration)) if registration else [],
        "record": selectors.member_records([registration], year)[0] if registration else None,
        "activities": list(
            selectors.activities_near(request.user, now=now).filter(starts_at__gte=week.start, starts_at__lt=week.end)[
                :20
            ]
        ),
    }
    return render(request, "volunteering/registration.html", context, status=error.status if error else 200)


# ---------------------------------------------------------------- wishes


@login_required
@domain_errors
def wish_wall(request: HttpRequest) -> HttpResponse:
    community = selectors.home_community_of(request.user)
    page = page_of(request, selectors.wish_wall(request.user, community))
    return render(
        request,
        "volunteering/wishes.html",
        {"page": page, "community": community, "mine": list(selectors.my_wishes(request.user)[:20]), "now": _now()},
    )


@login_required
@domain_errors
def wish_new(request: HttpRequest) -> HttpResponse:
    resident = selectors.resident_of(request.user)
    if resident is None:
        raise NotFound()
    error = None
    if request.method == "POST":
        try:
            due = request.POST.get("due_on", "")
            try:
                due_on = datetime.strptime(due, "%Y-%m-%d").date()
            except ValueError:
                raise ValidationFailed(fields={"due_on": _("Enter a date.")}) from None
            wish = services.wish_post(
                actor=request.user,
                resident=resident,
                title=request.POST.get("title", ""),
                public_text=request.POST.get("public_text", ""),
                due_on=due_on,
                now=_now(),
            )
            messages.success(request, _("Your wish waits for the community's approval."))
            return redirect("volunteering:wish", wish_id=wish.pk)
        except DomainError as refusal:
            if isinstance(refusal, NotFound):
                raise
            error = refusal
    return render(
        request,
        "volunteering/wish_form.html",
        {"error": error, "data": request.POST},
        status=error.status if error else 200,
    )


@login_required
@domain_errors
def wish_detail(request: HttpRequest, wish_id: int) -> HttpResponse:
    wish = selectors.access_wish(request.user, wish_id)
    now = _now()
    error = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "claim":
                organisation = None
                kind = request.POST.get("claimer_kind", "party_member")
                if kind == "organisation":
                    organisation = next(
                        (
                            o
                            for o in selectors.represented_organisations(request.user)
                            if o.pk == parse_id(request.POST.get("organisation"))
                        ),
                        None,
                    )
                team = selectors.access_team(request.user, request.POST.get("team")) if kind == "team" else None
                services.wish_claim(
                    actor=request.user, wish=wish, claimer_kind=kind, team=team, organisation=organisation, now=now
                )
            elif action == "withdraw":
                services.wish_claim_withdraw(
                    actor=request.user, wish=wish, reason=request.POST.get("reason", ""), now=now
                )
            elif action == "fulfil":
                services.wish_fulfil(
                    actor=request.user,
                    wish=wish,
                    photo=request.FILES.get("photo"),
                    note=request.POST.get("note", ""),
                    now=now,
                )
            elif action == "confirm":
                services.wish_confirm(actor=request.user, wish=wish, now=now)
            elif action == "approve":
                services.wish_approve(actor=request.user, wish=wish, now=now)
            elif action == "refuse":
                services.wish_refuse(actor=request.user, wish=wish, reason=request.POST.get("reason", ""), now=now)
            return redirect("volunteering:wish", wish_id=wish.pk)
        except DomainError as refusal:
            if isinstance(refusal, NotFound):
                raise
            error = refusal
    wish.refresh_from_db()
    context = {
        "wish": wish,
        "error": error,
        "flags": selectors.wish_flags(wish, now=now),
        "events": list(wish.events.all()),
        "is_claimer": wish.claimed_by_id == request.user.pk,
        "may_confirm": services.may_confirm_wish(request.user, wish),
        "may_approve": reach(request.user, Permission.WISH_APPROVE).covers(wish.household.path),
        "represents": selectors.represented_organisations(request.user),
    }
    return render(request, "volunteering/wish.html", context, status=error.status if error else 200)


@login_required
@domain_errors
def wish_photo(request: HttpRequest, wish_id: int) -> HttpResponse:
    wish = selectors.access_wish(request.user, wish_id)
    return private_file_response(wish.fulfilment_photo)


# ---------------------------------------------------------------- teams


@login_required
@domain_errors
def teams(request: HttpRequest) -> HttpResponse:
    """Residents: their community's teams, ask to join, leave. Organisers: their teams and a new one."""
    now = _now()
    error = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "create":
                community = access_place(request.user, request.POST.get("community"), Permission.VOLUNTEERING_MANAGE)
                services.team_create(
                    actor=request.user,
                    community=community,
                    name=request.POST.get("name", ""),
                    purpose=request.POST.get("purpose", ""),
                    description=request.POST.get("description", ""),
                    now=now,
                )
                messages.success(request, _("The team is created."))
            elif action == "join":
                team = selectors.access_team(request.user, request.POST.get("team"))
                services.team_join(actor=request.user, team=team, skills=request.POST.get("skills", ""), now=now)
                messages.success(request, _("Asked to join: the organiser approves."))
            elif action == "leave":
                member = selectors.access_team_member(request.user, request.POST.get("member"))
                services.team_leave(actor=request.user, member=member, now=now)
            return redirect("volunteering:teams")
        except DomainError as refusal:
            if isinstance(refusal, NotFound):
                raise
            error = refusal
    resident = selectors.resident_of(request.user)
    context = {
        "managed": list(selectors.teams_managed(request.user)[:200]),
        "communities": selectors.managed_communities(request.user),
        "open_teams": list(selectors.teams_open_to(request.user)),
        "mine": list(
            resident.volunteer_teams.exclude(state="left").select_related("team") if resident is not None else []
        ),
        "purposes": TeamPurpose.choices,
        "error": error,
        "data": request.POST,
    }
    return render(request, "volunteering/teams.html", context, status=error.status if error else 200)


@login_required
@domain_errors
def team_detail(request: HttpRequest, team_id: int) -> HttpResponse:
    team = selectors.access_team(request.user, team_id)
    organiser = reach(request.user, Permission.VOLUNTEERING_MANAGE).covers(team.community.path)
    error = None
    if request.method == "POST" and organiser:
        member = selectors.access_team_member(request.user, request.POST.get("member"))
        try:
            if request.POST.get("action") == "leave":
                services.team_leave(actor=request.user, member=member, now=_now())
            else:
                services.team_member_approve(
                    actor=request.user, member=member, lead=request.POST.get("action") == "lead", now=_now()
                )
            return redirect("volunteering:team", team_id=team.pk)
        except DomainError as refusal:
            error = refusal
    context = {
        "team": team,
        "members": list(selectors.team_members(team)) if organiser else [],
        "organiser": organiser,
        "error": error,
    }
    return render(request, "volunteering/team.html", context, status=error.status if error else 200)


# ---------------------------------------------------------------- organisers


def _require_manager(request: HttpRequest) -> None:
    if reach(request.user, Permission.VOLUNTEERING_MANAGE).is_empty:
        raise NotFound()


@login_required
@domain_errors
def manage(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    filters = selectors.ActivityFilters(
        text=request.GET.get("q", "").strip(),
        state=request.GET.get("state", ""),
        community_id=parse_id(request.GET.get("community")),
    )
    page = page_of(request, selectors.activities_managed(request.user, filters))
    communities = selectors.managed_communities(request.user)
    place = next((c for c in communities if c.pk == filters.community_id), None) or (
        communities[0] if len(communities) == 1 else None
    )
    today = timezone.localdate(_now())
    period = Period.year(today.year)
    figures = None
    if place is not None:
        figures = {
            "teams": kpis.team_figures(place, period),
            "activities": kpis.activity_figures(place, period),
            "registration": kpis.registration_figures(place, period),
            "wishes": kpis.wish_figures(place, period, now=_now()),
            "home_weeks": kpis.home_service_week_figures(place, today.year),
        }
    context = {
        "page": page,
        "filters": filters,
        "communities": communities,
        "place": place,
        "figures": figures,
        "period": period,
        "states": Activity.State.choices,
    }
    return render(request, "volunteering/manage.html", context)


@login_required
@domain_errors
def activity_new(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    communities = selectors.managed_communities(request.user)
    error = None
    if request.method == "POST":
        try:
            community = access_place(request.user, request.POST.get("community"), Permission.VOLUNTEERING_MANAGE)
            item = active_item(request.POST.get("point_item")) if request.POST.get("point_item") else None
            data = services.ActivityInput(
                title=request.POST.get("title", ""),
                location=request.POST.get("location", ""),
                description=request.POST.get("description", ""),
                starts_at=_moment(request.POST.get("starts_at", ""), "starts_at"),
                ends_at=_moment(request.POST.get("ends_at", ""), "ends_at"),
                capacity=parse_id(request.POST.get("capacity")) or 0,
                point_item=item,
                eligibility=request.POST.get("eligibility", Eligibility.EVERYONE),
                skill=request.POST.get("skill", ""),
            )
            activity = services.activity_create(actor=request.user, community=community, data=data, now=_now())
            messages.success(request, _("The activity is published."))
            return redirect("volunteering:roster", activity_id=activity.pk)
        except DomainError as refusal:
            error = refusal
    from gongzhi.points.selectors import catalogue_rows

    items = catalogue_rows(communities[0], day=timezone.localdate(_now())) if communities else []
    context = {
        "communities": communities,
        "items": items,
        "error": error,
        "data": request.POST,
        "eligibilities": Eligibility.choices,
    }
    return render(request, "volunteering/activity_form.html", context, status=error.status if error else 200)


@login_required
@domain_errors
def roster_page(request: HttpRequest, activity_id: int) -> HttpResponse:
    activity = selectors.access_managed_activity(request.user, activity_id)
    now = _now()
    error, result = None, None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "close":
                result = services.activity_close(
                    actor=request.user,
                    activity=activity,
                    beneficiary_person_times=parse_id(request.POST.get("beneficiary_person_times")),
                    beneficiary_households=parse_id(request.POST.get("beneficiary_households")),
                    now=now,
                )
                messages.success(
                    request,
                    _("Closed: %(attended)d attended, %(claims)d claims sent for review.")
                    % {"attended": result.attended, "claims": result.claims},
                )
            elif action == "mark":
                signup = selectors.access_signup(request.user, request.POST.get("signup"))
                checked_in = request.POST.get("checked_in_at")
                checked_out = request.POST.get("checked_out_at")
                services.attendance_mark(
                    actor=request.user,
                    signup=signup,
                    checked_in_at=_moment(checked_in, "checked_in_at") if checked_in else None,
                    checked_out_at=_moment(checked_out, "checked_out_at") if checked_out else None,
                    now=now,
                )
            elif action == "cancel":
                services.activity_cancel(
                    actor=request.user, activity=activity, reason=request.POST.get("reason", ""), now=now
                )
                messages.success(request, _("The activity is called off; everyone signed up has been released."))
            elif action == "honour":
                signup = selectors.access_signup(request.user, request.POST.get("signup"))
                if signup.activity_id != activity.pk:
                    raise NotFound()
                services.honour_hours_add(
                    actor=request.user,
                    resident=signup.resident,
                    minutes=_whole_minutes(request.POST.get("minutes")),
                    served_on=timezone.localdate(activity.starts_at),
                    reason=request.POST.get("reason", ""),
                    activity=activity,
                    now=now,
                )
                messages.success(request, _("Honour hours added, apart from credit hours."))
            return redirect("volunteering:roster", activity_id=activity.pk)
        except DomainError as refusal:
            if isinstance(refusal, NotFound):
                raise
            error = refusal
    activity.refresh_from_db()
    rows = selectors.roster(activity)
    context = {
        "activity": activity,
        "rows": rows,
        "error": error,
        "late": sum(1 for row in rows if row.late_cancellation),
        "no_shows": sum(1 for row in rows if row.no_show),
        "is_over": now >= activity.ends_at,
    }
    return render(request, "volunteering/roster.html", context, status=error.status if error else 200)


@login_required
@domain_errors
def screen(request: HttpRequest, activity_id: int) -> HttpResponse:
    """The QR code on the organiser's screen; the page reloads its code part every few seconds (htmx)."""
    activity = selectors.access_managed_activity(request.user, activity_id)
    now = _now()
    link = request.build_absolute_uri(
        reverse("volunteering:check_in", kwargs={"activity_id": activity.pk})
        + "?token="
        + tokens.token_for(activity, now)
    )
    context = {
        "activity": activity,
        "qr": qr_svg(link),
        "link": link,
        "code": tokens.typed_code_for(activity, now),
        "seconds_left": tokens.seconds_left(now),
        "in_window": tokens.in_window(activity, now),
        "checked_in": SignUp.objects.filter(activity=activity, checked_in_at__isnull=False).count(),
    }
    template = "volunteering/_screen_code.html" if request.headers.get("HX-Request") else "volunteering/screen.html"
    return render(request, template, context)


@login_required
@domain_errors
def wishes_manage(request: HttpRequest) -> HttpResponse:
    if reach(request.user, Permission.WISH_APPROVE).is_empty:
        raise NotFound()
    state = request.GET.get("state", Wish.State.SUBMITTED)
    page = page_of(request, selectors.wishes_managed(request.user, state=state))
    return render(
        request,
        "volunteering/wishes_manage.html",
        {"page": page, "state": state, "states": Wish.State.choices, "now": _now()},
    )


# ---------------------------------------------------------------- employers' representatives


@login_required
@domain_errors
def employer(request: HttpRequest) -> HttpResponse:
    organisations = selectors.represented_organisations(request.user)
    if not organisations:
        raise NotFound()
    error = None
    if request.method == "POST":
        try:
            registration = selectors.access_registration(request.user, request.POST.get("registration"))
            services.registration_confirm(actor=request.user, registration=registration, now=_now())
            messages.success(request, _("The registration is confirmed."))
            return redirect("volunteering:employer")
        except DomainError as refusal:
            if isinstance(refusal, NotFound):
                raise
            error = refusal
    today = timezone.localdate(_now())
    context = {
        "organisations": organisations,
        "registrations": list(selectors.registrations_of_employers(request.user)[:500]),
        "error": error,
        "year": today.year,
        "quarter": f"{today.year}-Q{(today.month - 1) // 3 + 1}",
    }
    return render(request, "volunteering/employer.html", context, status=error.status if error else 200)


@login_required
@domain_errors
def employer_report(request: HttpRequest, organisation_id: int) -> HttpResponse:
    organisation = selectors.access_employer(request.user, organisation_id)
    period = Period.from_key(request.GET.get("period") or str(timezone.localdate(_now()).year))
    records = selectors.employer_report(request.user, organisation, period)
    if request.GET.get("format") == "xlsx":
        response = HttpResponse(employer_report_xlsx(organisation, period, records), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="report-{organisation.pk}-{period.key}.xlsx"'
        return response
    return render(
        request,
        "volunteering/employer_report.html",
        {"organisation": organisation, "period": period, "records": records},
    )
