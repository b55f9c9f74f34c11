"""Periodic, idempotent jobs and one-off background tasks.

(Placeholder interface; the full mechanism is being written: see docs/architecture.md once it lands.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib import import_module
from typing import Any

from django.db import close_old_connections


def _resolve(dotted: str) -> Callable[..., Any]:
    module_name, _, attribute = dotted.rpartition(".")
    return getattr(import_module(module_name), attribute)


def enqueue(task: str, **kwargs: Any) -> None:
    """Run ``task`` (a dotted path to a function taking keyword arguments) in the background."""

    def runner() -> None:
        close_old_connections()
        try:
            _resolve(task)(**kwargs)
        finally:
            close_old_connections()

    threading.Thread(target=runner, name=f"gongzhi-task-{task}", daemon=True).start()
