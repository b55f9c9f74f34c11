"""Row locks, the one way: ``SELECT ... FOR UPDATE OF <own table>`` in primary-key order.

Each app keeps its locks in its own ``locks.py`` (``gongzhi/shop/locks.py``, ``gongzhi/points/locks.py``...), built
on ``lock_rows``; services call those, never ``select_for_update`` directly (a test in core scans for it). Two
rules, as in Saleor's ``lock_objects.py``:

* ``of=("self",)``: a query that joins another table (``select_related``, a filter across a relation) would
  otherwise lock the joined rows too; locking ``places_place`` made unrelated orders in one community wait on
  each other.
* primary-key order: two transactions that lock the same rows take them in the same order, so they queue instead
  of deadlocking.

On SQLite ``select_for_update`` does nothing; the settings open every transaction ``IMMEDIATE``, which takes the
database's write lock at ``BEGIN``.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import models

ModelT = TypeVar("ModelT", bound=models.Model)


def locked(queryset: models.QuerySet[ModelT]) -> models.QuerySet[ModelT]:
    """The queryset with its own rows (only) to be locked in primary-key order, still lazy."""
    return queryset.select_for_update(of=("self",)).order_by("pk")


def lock_rows(queryset: models.QuerySet[ModelT]) -> list[ModelT]:
    """Lock and return the queryset's rows, own table only, in primary-key order. Call inside ``atomic``."""
    return list(locked(queryset))


def lock_row(queryset: models.QuerySet[ModelT], pk: int) -> ModelT:
    """Lock and return one row by primary key (``DoesNotExist`` if it is gone)."""
    return locked(queryset.filter(pk=pk)).get()
