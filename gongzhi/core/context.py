"""Where a change comes from (address, client, channel), kept for the audit log.

The middleware sets it per request; jobs and commands set their own channel. Services never take a request.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    channel: str = "system"  # web, api, admin, job, cli, system
    source_ip: str | None = None
    user_agent: str = ""


_SYSTEM_ORIGIN = Origin()
_current_origin: contextvars.ContextVar[Origin | None] = contextvars.ContextVar("gongzhi_origin", default=None)


def current_origin() -> Origin:
    return _current_origin.get() or _SYSTEM_ORIGIN


@contextmanager
def origin(value: Origin) -> Iterator[Origin]:
    token = _current_origin.set(value)
    try:
        yield value
    finally:
        _current_origin.reset(token)
