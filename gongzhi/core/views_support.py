"""Helpers for pages: turn a service's DomainError into a rendered page with the right status.

``@domain_errors`` wraps a view: NotAuthenticated sends the person to the login page, every other DomainError
renders ``errors/error.html`` with the error's status. NotFound renders the same page whether the record is
missing or out of reach, so a page never tells which.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from .errors import DomainError, NotAuthenticated, NotFound


def render_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    """The error page for ``error``, with its HTTP status."""
    if isinstance(error, NotFound):
        title = _("Not found")
        hint = _("The page or record does not exist, or it is outside the places you work in.")
    else:
        title = _("This cannot be done")
        hint = ""
    context = {"error": error, "error_title": title, "error_hint": hint, "status": error.status}
    return render(request, "errors/error.html", context, status=error.status)


def domain_errors(view):
    """Decorator for page views: DomainError → rendered error page (401 → login page)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotAuthenticated:
            return redirect_to_login(request.get_full_path())
        except DomainError as error:
            return render_error(request, error)

    return wrapper


def safe_next(request: HttpRequest, fallback: str = "/") -> str:
    """The ``next`` parameter (POST, then GET, then the referring page) if it points inside this site."""
    candidate = request.POST.get("next") or request.GET.get("next") or request.META.get("HTTP_REFERER") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


def private_file_response(stored: Any, *, cache_seconds: int = 3600, filename: str | None = None) -> FileResponse:
    """Stream a stored file (a photo, a signed agreement) to someone the view has already let see it.

    Uploaded files are never served from a public media URL; each is streamed by a view that checked access.
    An empty field or a file missing on disk is NotFound, like a record out of reach. The response may be cached
    only by the person's own browser, and the browser must not guess another content type.
    """
    if not stored:
        raise NotFound()
    try:
        handle = stored.open("rb")
    except (FileNotFoundError, OSError):
        raise NotFound() from None
    response = FileResponse(handle, filename=filename or "")
    response["Cache-Control"] = f"private, max-age={cache_seconds}" if cache_seconds else "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
