"""Pages for people: login, home per role, my household, preferences."""

from __future__ import annotations

from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from gongzhi.core.errors import DomainError

from .services import login_attempt


def login_page(request):
    error = None
    username = ""
    if request.method == "POST":
        username = request.POST.get("username", "")
        try:
            account = login_attempt(username=username, password=request.POST.get("password", ""), request=request)
        except DomainError as exc:
            error = exc
        else:
            login(request, account, backend="gongzhi.people.auth.LockoutAwareBackend")
            return redirect(request.GET.get("next") or "home")
    return render(
        request, "people/login.html", {"error": error, "username": username}, status=error.status if error else 200
    )


@require_POST
def logout_page(request):
    logout(request)
    return redirect("login")


@login_required
def home(request):
    return render(request, "people/home.html", {})
