"""Template context every page needs: elder-friendly mode and the person's roles."""

from __future__ import annotations

from .access import roles_of


def interface(request) -> dict:
    user = getattr(request, "user", None)
    elder_mode = bool(getattr(user, "elder_mode", False)) or request.COOKIES.get("gongzhi_elder") == "1"
    return {
        "elder_mode": elder_mode,
        "current_roles": roles_of(user) if user is not None and user.is_authenticated else set(),
    }
