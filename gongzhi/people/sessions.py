"""Sessions end after a while without use (``GONGZHI_SESSION_IDLE_MINUTES``, 60 by default; 0 turns it off).

The time of the last request is kept in the session, written at most once a minute (not on every request, which
would be a database write per page). A session idle for longer is ended: pages go to the login page (and come back
after it), the API answers 401. A new session key is made at every login (Django's ``login``), so a session
fixed before login is worthless after it.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver
from django.http import JsonResponse

LAST_SEEN_KEY = "gongzhi_last_seen"
REFRESH_SECONDS = 60


def idle_limit_seconds() -> int:
    return int(getattr(settings, "GONGZHI_SESSION_IDLE_MINUTES", 60)) * 60


@receiver(user_logged_in)
def _stamp_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[LAST_SEEN_KEY] = int(time.time())


class SessionIdleTimeoutMiddleware:
    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        limit = idle_limit_seconds()
        user = getattr(request, "user", None)
        if limit and user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            last_seen = request.session.get(LAST_SEEN_KEY)
            if last_seen is not None and now - int(last_seen) > limit:
                logout(request)
                if request.path.startswith("/api/"):
                    from gongzhi.core.errors import CoreError

                    body = {"code": CoreError.NOT_AUTHENTICATED.code, "message": str(_idle_message()), "fields": {}}
                    return JsonResponse(body, status=401)
                return redirect_to_login(request.get_full_path())
            if last_seen is None or now - int(last_seen) >= REFRESH_SECONDS:
                request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)


def _idle_message() -> Any:
    from django.utils.translation import gettext

    return gettext("You were logged out after a while without use. Log in again.")
