"""Pages for people: login, home per role, me, my household, and the interface preferences."""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from gongzhi.core.access import reach, roles_of
from gongzhi.core.errors import DomainError
from gongzhi.core.ratelimit import rate_limit_request
from gongzhi.core.roles import STAFF_ROLES, Permission, Role
from gongzhi.core.views_support import domain_errors, safe_next
from gongzhi.places.models import Place
from gongzhi.places.selectors import place_ancestors, place_counts_by_kind, place_roots_for

from .party import MEMBERSHIP_PERMISSION
from .selectors import (
    account_households,
    account_organisations,
    account_roles,
    annotate_resident_counts,
    household_members,
)
from .services import account_set_preferences, login_attempt
from .two_factor import two_factor_on

ELDER_COOKIE = "gongzhi_elder"
ELDER_COOKIE_AGE = 365 * 24 * 3600
HOME_ROOTS_SHOWN = 12
PENDING_LOGIN_KEY = "gongzhi_login_pending"


def _set_elder_cookie(response, on: bool) -> None:
    if on:
        response.set_cookie(ELDER_COOKIE, "1", max_age=ELDER_COOKIE_AGE, samesite="Lax")
    else:
        response.delete_cookie(ELDER_COOKIE, samesite="Lax")


def _set_language_cookie(response, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE or "Lax",
    )


def login_page(request):
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(next_url or "home")
    error = None
    username = ""
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        try:
            rate_limit_request(request, "login", now=timezone.now(), who=f"username:{username}")
            account = login_attempt(username=username, password=request.POST.get("password", ""), request=request)
        except DomainError as exc:
            error = exc
        else:
            if two_factor_on(account):
                # The password was right; the session holds who is half-way until the code is given.
                request.session[PENDING_LOGIN_KEY] = {"account": account.pk, "at": timezone.now().timestamp()}
                target = reverse("login_code")
                return HttpResponseRedirect(f"{target}?next={quote(next_url)}" if next_url else target)
            return complete_login(request, account, next_url)
    context = {"error": error, "username": username, "next": next_url}
    return render(request, "people/login.html", context, status=error.status if error else 200)


def complete_login(request, account, next_url: str):
    """Log the person in (a new session key) and carry their preferences to this device."""
    request.session.pop(PENDING_LOGIN_KEY, None)
    login(request, account, backend="gongzhi.people.auth.LockoutAwareBackend")
    device_elder = request.COOKIES.get(ELDER_COOKIE) == "1"
    if device_elder and not account.elder_mode:
        # Switched on at the login page: keep it on for this person on every device.
        account_set_preferences(actor=account, elder_mode=True)
    response = HttpResponseRedirect(next_url or reverse("home"))
    if account.elder_mode:
        _set_elder_cookie(response, True)
    if account.preferred_language:
        _set_language_cookie(response, account.preferred_language)
    return response


@require_POST
def logout_page(request):
    logout(request)
    return redirect("login")


@login_required
@domain_errors
def home(request):
    user = request.user
    today = timezone.localdate()
    roles = roles_of(user)
    context: dict = {"roles": roles, "is_superuser": user.is_superuser}
    staff_roles = roles & STAFF_ROLES
    if user.is_superuser or staff_roles:
        roots = place_roots_for(user)
        shown = roots[:HOME_ROOTS_SHOWN]
        resident_counts = dict(
            annotate_resident_counts(user, Place.objects.filter(pk__in=[place.pk for place in shown])).values_list(
                "pk", "resident_count"
            )
        )
        residents_scope = reach(user, Permission.RESIDENT_VIEW)  # a reviewer sees places, not their residents
        context["staff_places"] = [
            {
                "place": place,
                "counts": place_counts_by_kind(place),
                "residents": resident_counts.get(place.pk, 0),
                "can_view_residents": residents_scope.covers(place.path),
            }
            for place in shown
        ]
        context["more_places"] = len(roots) - len(shown)
        context["can_manage_party"] = not reach(user, MEMBERSHIP_PERMISSION).is_empty
        context["staff_roles"] = sorted(Role(role).label for role in staff_roles)
    if Role.RESIDENT in roles or user.resident_id:
        households = account_households(user, today=today)
        if households:
            household = households[0]
            context["household"] = household
            context["household_address"] = place_ancestors(household)
            context["household_members"] = household_members(user, household)
        context["own_resident"] = user.resident
    if roles & {Role.MERCHANT_CLERK, Role.ORGANISATION_REPRESENTATIVE}:
        context["organisations"] = account_organisations(user, today=today)
    context["has_anything"] = bool(
        context.get("staff_places") or "household" in context or context.get("organisations") or user.is_superuser
    )
    return render(request, "people/home.html", context)


@login_required
def me(request):
    user = request.user
    assignments = account_roles(user, today=timezone.localdate())
    is_staff = user.is_superuser or bool(roles_of(user) & STAFF_ROLES)
    context = {"assignments": assignments, "is_staff": is_staff, "two_factor_on": is_staff and two_factor_on(user)}
    return render(request, "people/me.html", context)


@login_required
@domain_errors
def my_household(request):
    user = request.user
    entries = []
    for household in account_households(user, today=timezone.localdate()):
        members = household_members(user, household)
        if not members and user.resident_id and user.resident.household_id == household.pk:
            members = [user.resident]
        entries.append({"household": household, "address": place_ancestors(household), "members": members})
    return render(request, "people/household.html", {"entries": entries})


@require_POST
def elder_mode(request):
    """Switch elder-friendly mode on ("1") or off ("0"); kept on the account and in a cookie for the login page."""
    on = request.POST.get("elder") == "1"
    if request.user.is_authenticated:
        account_set_preferences(actor=request.user, elder_mode=on)
    response = HttpResponseRedirect(safe_next(request, reverse("home")))
    _set_elder_cookie(response, on)
    return response


@require_POST
def language(request):
    """Switch the language through Django's set_language view, and keep the choice on the account."""
    code = request.POST.get("language", "")
    if request.user.is_authenticated and code in {item for item, _label in settings.LANGUAGES}:
        account_set_preferences(actor=request.user, language=code)
    return set_language(request)
