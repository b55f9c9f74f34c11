"""Read replicas: the cockpit's reads (pages, API, generated reports and ledgers) may go to a replica database.

With ``GONGZHI_REPLICA_DATABASE_URL`` set, settings add a ``"replica"`` database alias and name it in
``GONGZHI_READ_REPLICA``. Code that only reads and can live with a replica's lag wraps its reads in
``reading_from_replica()`` (or decorates a view with ``@replica_reads``); ``ReplicaRouter`` then sends every read
made inside it to the replica. Everything else reads from ``default``, and **every write goes to default**, inside
the block too (a report's progress, an audit entry), so nothing is ever written to the replica.

Why opt-in per block rather than all reads: a page that writes and then reads its own write (a service) must read
the primary; the cockpit's figures are aggregates where a second of replication lag does not matter. Migrations run
on ``default`` only (the replica gets them by replication).

The switch is a context variable, so it holds for the thread (or asyncio task) that set it and nothing else: a
background report thread sets its own.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

REPLICA_ALIAS = "replica"
_reading_from_replica: contextvars.ContextVar[bool] = contextvars.ContextVar("gongzhi_replica_reads", default=False)

F = TypeVar("F", bound=Callable[..., Any])


def replica_alias() -> str:
    """The alias reads go to inside ``reading_from_replica()``: the replica when configured, else default."""
    alias = getattr(settings, "GONGZHI_READ_REPLICA", "") or ""
    return alias if alias and alias in settings.DATABASES else DEFAULT_DB_ALIAS


def replica_configured() -> bool:
    return replica_alias() != DEFAULT_DB_ALIAS


@contextlib.contextmanager
def reading_from_replica() -> Iterator[str]:
    """Inside the block, reads go to the replica (when one is configured); yields the alias reads go to."""
    token = _reading_from_replica.set(True)
    try:
        yield replica_alias()
    finally:
        _reading_from_replica.reset(token)


def replica_reads(function: F) -> F:
    """Decorator: the function's reads go to the replica (a view, an endpoint, a report job)."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with reading_from_replica():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class ReplicaRouter:
    """Reads inside ``reading_from_replica()`` → the replica; all writes and migrations → default."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if _reading_from_replica.get():
            return replica_alias()
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, first: Any, second: Any, **hints: Any) -> bool:
        # The replica holds the same rows as default: objects read from either may be related.
        return True

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS
