"""Pages of two-factor login: the second step of a login (/login/code/) and setting it up (/me/two-factor/)."""

from __future__ import annotations

import segno
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from gongzhi.core.errors import DomainError
from gongzhi.core.ratelimit import rate_limit_request

from .models import Account
from .two_factor import (
    recovery_codes_left,
    two_factor_begin,
    two_factor_check,
    two_factor_confirm,
    two_factor_disable,
    two_factor_on,
    two_factor_pending_secret,
    two_factor_required_for,
)
from .views import PENDING_LOGIN_KEY, complete_login

PENDING_LOGIN_SECONDS = 5 * 60  # the code must follow the password within five minutes


def _pending_account(request) -> Account | None:
    pending = request.session.get(PENDING_LOGIN_KEY) or {}
    started = pending.get("at")
    if not started or timezone.now().timestamp() - float(started) > PENDING_LOGIN_SECONDS:
        return None
    return Account.objects.filter(pk=pending.get("account"), is_active=True).first()


def login_code(request):
    """The code from the authenticator app (or a recovery code), after a right password."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    account = _pending_account(request)
    if account is None:
        request.session.pop(PENDING_LOGIN_KEY, None)
        return redirect("login")
    error = None
    if request.method == "POST":
        try:
            rate_limit_request(request, "login", now=timezone.now(), who=f"account:{account.pk}")
            two_factor_check(account=account, code=request.POST.get("code", ""), now=timezone.now())
        except DomainError as exc:
            error = exc
        else:
            return complete_login(request, account, next_url)
    context = {"error": error, "next": next_url}
    return render(request, "people/login_code.html", context, status=error.status if error else 200)


def _qr_svg(uri: str) -> str:
    return segno.make(uri, error="m").svg_inline(scale=5, border=2)


@login_required
def two_factor(request):
    """Whether two-factor login is on, and the steps to turn it on or off."""
    account = request.user
    enrolment = None if two_factor_on(account) else two_factor_pending_secret(account)
    return _render(request, enrolment=enrolment)


def _render(request, *, enrolment=None, recovery_codes=None, error=None, status=200):
    account = request.user
    context = {
        "on": two_factor_on(account),
        "mandatory": two_factor_required_for(account),
        "enrolment": enrolment,
        "qr_svg": _qr_svg(enrolment.uri) if enrolment else "",
        "recovery_codes": recovery_codes,
        "codes_left": recovery_codes_left(account),
        "error": error,
    }
    return render(request, "people/two_factor.html", context, status=status)


@login_required
@require_POST
def two_factor_start(request):
    try:
        enrolment = two_factor_begin(actor=request.user, now=timezone.now())
    except DomainError as exc:
        return _render(request, error=exc, status=exc.status)
    return _render(request, enrolment=enrolment)


@login_required
@require_POST
def two_factor_turn_on(request):
    try:
        codes = two_factor_confirm(actor=request.user, code=request.POST.get("code", ""), now=timezone.now())
    except DomainError as exc:
        return _render(request, enrolment=two_factor_pending_secret(request.user), error=exc, status=exc.status)
    return _render(request, recovery_codes=codes)


@login_required
@require_POST
def two_factor_turn_off(request):
    try:
        two_factor_disable(actor=request.user, password=request.POST.get("password", ""), now=timezone.now())
    except DomainError as exc:
        return _render(request, error=exc, status=exc.status)
    return redirect("two_factor")
