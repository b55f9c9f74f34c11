"""``Actor``: the one type for "who is doing this" in services, selectors and access helpers.

The actor is the logged-in account (``settings.AUTH_USER_MODEL``, ``gongzhi.people.models.Account``) or, where a
service also serves anonymous visitors (public lists), ``AnonymousUser``. Core does not import people at run time
(layers point one way); the name is resolved only for the type checker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from gongzhi.people.models import Account

    Actor: TypeAlias = Account
    MaybeAnonymousActor: TypeAlias = Account | AnonymousUser
else:
    from typing import Any

    Actor = Any
    MaybeAnonymousActor = Any

__all__ = ["Actor", "MaybeAnonymousActor"]
