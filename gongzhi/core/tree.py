"""Materialised-path helpers shared by every tree (places, party organisation).

A path is the chain of ids from the root to the node, each followed by "/": "/1/5/23/".
"Everything under X" is ``path`` starting with X's path:
- on PostgreSQL, ``LIKE 'prefix%'`` served by a varchar_pattern_ops index;
- on SQLite (bytewise BINARY collation), the equivalent range ``prefix <= path < prefix'`` served by a plain index,
  because SQLite's LIKE is case-insensitive and would not use the index.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q


def path_ids(path: str) -> list[int]:
    """The ids along a path, from the root down: "/1/5/23/" → [1, 5, 23]."""
    return [int(part) for part in (path or "").strip("/").split("/") if part]


def child_path(parent_path: str, node_id: int) -> str:
    return f"{parent_path or '/'}{node_id}/"


def path_upper_bound(prefix: str) -> str:
    # "/" sorts just before "0"; bumping the last character ("/" -> "0") gives the first string past the subtree.
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def subtree_q(prefix: str, field: str = "path") -> Q:
    """Q for the rows whose ``field`` lies in the subtree rooted at ``prefix`` (the root included)."""
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__startswith": prefix})
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": path_upper_bound(prefix)})


def subtrees_q(prefixes: list[str], field: str = "path") -> Q:
    """Q for rows under any of ``prefixes``; an empty list matches nothing."""
    query = Q(pk__in=[])
    for prefix in collapse_prefixes(prefixes):
        query |= subtree_q(prefix, field)
    return query


def collapse_prefixes(prefixes: list[str]) -> list[str]:
    """Drop prefixes already covered by a shorter one, so queries stay small."""
    kept: list[str] = []
    for prefix in sorted(set(prefixes), key=len):
        if not any(prefix.startswith(shorter) for shorter in kept):
            kept.append(prefix)
    return sorted(kept)
