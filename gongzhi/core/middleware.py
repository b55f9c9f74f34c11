"""Request-wide context: where the request came from (for the audit log) and the account's language."""

from __future__ import annotations

from django.conf import settings

from .context import Origin, origin


def client_ip(request) -> str | None:
    # Behind the district's load balancer the first X-Forwarded-For entry is the client; the balancer sets it.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and getattr(settings, "GONGZHI_TRUST_FORWARDED_FOR", False):
        return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        channel = "api" if path.startswith("/api/") else "admin" if path.startswith("/admin/") else "web"
        with origin(
            Origin(
                channel=channel, source_ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:255]
            )
        ):
            return self.get_response(request)


class PreferredLanguageMiddleware:
    """Use the language the person chose (cookie) before the browser's; zh-hans stays the default."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Browsers on office PCs often announce English; the platform is Chinese first, so only an explicit
        # choice (the cookie set by the language switch) changes the language.
        if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
