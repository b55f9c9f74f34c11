"""Rate limits: how often one person, one username or one address may log in, get a token, claim points, raise a
request, place an order, vote or check in, in a fixed window (429 ``rate_limited`` in the one error shape, with
Retry-After).

Counters live in the cache (Redis in production, so every app server counts together: ``incr`` is atomic there;
the embedded default's local memory cache counts per process). Each window is its own key, which expires by itself.
The address is ``core.middleware.client_ip`` (X-Forwarded-For only from trusted proxies). The limits are
``LIMITS`` unless ``GONGZHI_RATE_LIMITS`` names others (``{"claim": {"account": 30, "address": 120, "seconds": 60}}``);
``GONGZHI_RATE_LIMITING=0`` turns them off (the test settings do, beside the tests of this module).

Views and endpoints call ``rate_limit_request(request, "claim", now=...)`` right before the service call they guard,
so a refused attempt writes nothing; pages show the message like any refusal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from .errors import CoreError, RateLimited
from .middleware import client_ip


@dataclass(frozen=True)
class Limit:
    """At most ``account`` attempts per person (or per username, for logins) and ``address`` per client address in
    ``seconds``. An office behind one address serves many people, so the address's limit is the looser one."""

    account: int
    address: int
    seconds: int


LIMITS: dict[str, Limit] = {
    "login": Limit(account=10, address=60, seconds=300),
    "token": Limit(account=10, address=60, seconds=300),
    "claim": Limit(account=30, address=240, seconds=60),
    "case": Limit(account=10, address=120, seconds=60),
    "order": Limit(account=20, address=240, seconds=60),
    "vote": Limit(account=10, address=600, seconds=60),
    # The typed check-in code is six digits: guessing it must take longer than the minute it lives.
    "checkin": Limit(account=12, address=600, seconds=60),
}


def limit_for(scope: str) -> Limit:
    configured = (getattr(settings, "GONGZHI_RATE_LIMITS", None) or {}).get(scope)
    if configured:
        return Limit(**configured)
    return LIMITS[scope]


def _hit(key: str, seconds: int, now: datetime) -> tuple[int, int]:
    """Count one attempt under ``key`` in the window holding ``now``; returns (count, seconds left)."""
    moment = int(now.timestamp())
    window = moment // seconds
    bucket = f"gongzhi:rate:{key}:{seconds}:{window}"
    cache.add(bucket, 0, timeout=seconds + 5)
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.add(bucket, 1, timeout=seconds + 5)
        count = 1
    return int(count), seconds - moment % seconds


def rate_limit(scope: str, *, who: str | None, address: str | None, now: datetime) -> None:
    """Count one attempt of ``scope`` by ``who`` (an account id or a username) from ``address``; raise
    ``rate_limited`` once either is past its limit in the current window."""
    if not getattr(settings, "GONGZHI_RATE_LIMITING", True):
        return
    limit = limit_for(scope)
    checks: list[tuple[str, int]] = []
    if who:
        # Usernames are hashed: the cache never holds who tried to log in.
        checks.append((f"{scope}:who:{hashlib.sha256(who.encode()).hexdigest()[:32]}", limit.account))
    if address:
        checks.append((f"{scope}:address:{address}", limit.address))
    for key, allowed in checks:
        count, wait = _hit(key, limit.seconds, now)
        if count > allowed:
            message = _("Too many attempts. Try again in %(seconds)d seconds.") % {"seconds": wait}
            error = CoreError.RATE_LIMITED(message)
            assert isinstance(error, RateLimited)
            error.retry_after = wait
            raise error


def rate_limit_request(request: Any, scope: str, *, now: datetime, who: str | None = None) -> None:
    """``rate_limit`` for a request: the signed-in person (or ``who``, e.g. the username typed) and the address."""
    user = getattr(request, "user", None)
    if who is None and user is not None and user.is_authenticated:
        who = f"account:{user.pk}"
    rate_limit(scope, who=who, address=client_ip(request), now=now)
