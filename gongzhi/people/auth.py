"""Login with lockout: repeated failures lock an account for a while, and every attempt is audited."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend


class LockoutAwareBackend(ModelBackend):
    """Django's model backend that refuses locked accounts (the lockout itself lives in services.login_attempt)."""

    def user_can_authenticate(self, user: Any) -> bool:
        from .services import account_is_locked

        return super().user_can_authenticate(user) and not account_is_locked(user)
