"""Writing the audit log. Call inside the same transaction as the change it records.

Every entry joins its district's hash chain (core/audit_chain.py): ``audit_record`` appends one, ``audit_bulk`` many
(for bulk writers: entries built with ``audit_entry``). Never ``AuditEntry.objects.create`` / ``bulk_create``
directly: an entry without its chain fields fails ``gongzhi audit_verify``.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from . import audit_chain
from .context import current_origin
from .models import AuditEntry


def audit_entry(
    *,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    place_path: str = "",
    changes: dict | None = None,
    purpose: str = "",
    actor_label: str = "",
    occurred_at: Any = None,
) -> AuditEntry:
    """An unsaved, unchained entry stamped with the current origin; for callers that write many at once with
    ``audit_bulk`` (or link it into a statement of their own with ``audit_chain.link``).

    ``actor`` may be None (system) or anonymous (recorded by label only).
    """
    origin = current_origin()
    actor_id = getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None
    entry = AuditEntry(
        actor_id=actor_id,
        actor_label=actor_label or (getattr(actor, "username", "") if actor_id else ""),
        action=action,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None and target.pk is not None else "",
        place_path=place_path,
        channel=origin.channel,
        source_ip=origin.source_ip,
        user_agent=origin.user_agent[:255],
        purpose=purpose[:255],
        changes=changes or {},
    )
    if occurred_at is not None:
        entry.occurred_at = occurred_at
    return entry


def audit_record(**kwargs: Any) -> AuditEntry:
    """Append one entry to its chain (see audit_entry for the arguments). Call inside the transaction of the
    change, as late as possible: the chain's head stays locked until that transaction ends."""
    entry = audit_entry(**kwargs)
    audit_chain.append([entry])
    return entry


def audit_bulk(entries: list[AuditEntry]) -> list[AuditEntry]:
    """Append many entries built with ``audit_entry``, chained in the order given (one lock per chain)."""
    return audit_chain.append(entries)


def diff_fields(before: dict, after: dict) -> dict:
    """{"field": [old, new]} for the fields whose value changed."""
    return {
        name: [_plain(before.get(name)), _plain(value)] for name, value in after.items() if before.get(name) != value
    }


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return str(value)
