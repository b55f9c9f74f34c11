"""The access rule, in one place: a role held on a place reaches that place's subtree.

``reach(actor, permission)`` answers which subtrees an actor may touch for a permission. Selectors filter by it;
``access_<thing>`` helpers in each domain return the object or raise the same NotFound whether it is missing or
out of reach, so nothing leaks whether a record exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from .errors import NotAuthenticated, NotFound
from .tree import collapse_prefixes, subtrees_q


@dataclass(frozen=True)
class Reach:
    everything: bool = False
    paths: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_empty(self) -> bool:
        return not self.everything and not self.paths

    def q(self, field_name: str = "path") -> Q:
        """Q restricting rows whose ``field_name`` (a place path) lies in reach."""
        if self.everything:
            return Q()
        return subtrees_q(list(self.paths), field_name)

    def covers(self, path: str) -> bool:
        return self.everything or any(path.startswith(prefix) for prefix in self.paths)


def grants(actor: Any) -> list[tuple[str, str, int | None]]:
    """(role, place path, organisation id) of the actor's current roles, loaded once per actor object."""
    cached = getattr(actor, "_gongzhi_grants", None)
    if cached is not None:
        return cached
    today = connection.ops.adapt_datefield_value(timezone.localdate())
    with connection.cursor() as cursor:
        cursor.execute(_grants_sql(), [actor.pk, today, True, today])
        rows = [tuple(row) for row in cursor.fetchall()]
    actor._gongzhi_grants = rows
    return rows


@cache
def _grants_sql() -> str:
    """The roles query, written once: it runs on every request, and compiling it as a queryset cost more than the
    database answering it (benchmarks/points_bench.py, approvals)."""
    # The people app owns role records and places own the tree; core names their tables without importing them.
    from django.apps import apps

    role_table = apps.get_model("people", "RoleAssignment")._meta.db_table
    place_table = apps.get_model("places", "Place")._meta.db_table
    qn = connection.ops.quote_name
    return f"""
        SELECT r.{qn("role")}, p.{qn("path")}, r.{qn("organisation_id")}
        FROM {qn(role_table)} r JOIN {qn(place_table)} p ON p.id = r.{qn("place_id")}
        WHERE r.{qn("account_id")} = %s AND r.{qn("starts_on")} <= %s AND p.{qn("is_active")} = %s
          AND (r.{qn("ends_on")} IS NULL OR r.{qn("ends_on")} >= %s)
    """


def forget_grants(actor: Any) -> None:
    """Drop the cached roles (after a role change within the same request)."""
    if hasattr(actor, "_gongzhi_grants"):
        del actor._gongzhi_grants


def reach(actor: Any, permission: str) -> Reach:
    """The subtrees in which ``actor`` holds ``permission``. Superusers reach everything."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return Reach()
    if actor.is_superuser:
        return Reach(everything=True)
    from .roles import ROLE_PERMISSIONS

    paths = [path for role, path, _ in grants(actor) if permission in ROLE_PERMISSIONS.get(role, ())]
    return Reach(paths=tuple(collapse_prefixes(paths)))


def roles_of(actor: Any) -> set[str]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return set()
    return {role for role, _, _ in grants(actor)}


def require_authenticated(actor: Any) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()


def require_reach(actor: Any, permission: str, path: str) -> None:
    """Raise NotFound unless ``path`` lies in the actor's reach for ``permission``."""
    require_authenticated(actor)
    if not reach(actor, permission).covers(path):
        raise NotFound()


def parse_id(value: Any) -> int | None:
    """An id as typed in a URL, a form or JSON; None when it is no whole number (callers answer "not found")."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
