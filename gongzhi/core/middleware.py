"""Request-wide context: where the request came from (for the audit log) and the account's language."""

from __future__ import annotations

import ipaddress

from django.conf import settings

from .context import Origin, origin


def _trusted_networks() -> list:
    return [ipaddress.ip_network(entry.strip(), strict=False) for entry in settings.GONGZHI_TRUSTED_PROXIES if entry]


def _is_trusted(address: str, networks: list) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_ip(request) -> str | None:
    """The client's address. ``X-Forwarded-For`` counts only when the request came from a trusted proxy
    (``GONGZHI_TRUSTED_PROXIES``: addresses or networks of the district's load balancers); then the client is the
    nearest address in the chain that is not itself a trusted proxy. Entries a client wrote into the header
    itself sit further left and are never taken, so nobody escapes a lockout or a rate limit by inventing one."""
    remote = request.META.get("REMOTE_ADDR") or None
    networks = _trusted_networks()
    if not remote or not networks or not _is_trusted(remote, networks):
        return remote
    chain = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
    for address in reversed(chain):
        if not _is_trusted(address, networks):
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:
                return remote  # a malformed entry: fall back to the proxy's own address
    return remote


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


class ContentSecurityPolicyMiddleware:
    """Every response says where its scripts, styles, pictures and connections may come from: this site only, no
    inline script (``GONGZHI_CONTENT_SECURITY_POLICY``). Behaviour lives in static files (``gongzhi/app.js``:
    data-print, data-autosubmit, data-select-all, data-confirm); styles may be inline."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "GONGZHI_CONTENT_SECURITY_POLICY", "")
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
