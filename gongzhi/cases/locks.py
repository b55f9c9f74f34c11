"""Every row lock the cases domain takes (``core.locks``: own table only, primary-key order).

Each lock is taken by a query without joins and the row is read again afterwards with what it refers to. On
PostgreSQL a ``FOR UPDATE`` query rechecks a row that another transaction has just changed against the rows it was
joined to, so a lock joined to a case's old handling place would lose a case that was moved meanwhile. A missing
row answers NotFound. Call these inside ``transaction.atomic``; two rows of one kind are locked in primary-key
order (``case_merge``).
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models

from gongzhi.core.errors import NotFound
from gongzhi.core.locks import lock_rows

from .models import AgentService, Case, Dispute, HouseholdVisit, Summons

ModelT = TypeVar("ModelT", bound=models.Model)


def _lock_then_read(model: type[ModelT], pk: Any, related: tuple[str, ...]) -> ModelT:
    if pk is None or not lock_rows(model.objects.filter(pk=pk).only("pk")):
        raise NotFound()
    return model.objects.select_related(*related).get(pk=pk)


def lock_case(case_id: Any) -> Case:
    """The case, locked, with its category and places."""
    return _lock_then_read(Case, case_id, ("category", "place", "handling_place", "handling_department"))


def lock_summons(summons_id: Any) -> Summons:
    return _lock_then_read(Summons, summons_id, ("case", "department"))


def lock_agent_service(service_id: Any) -> AgentService:
    return _lock_then_read(AgentService, service_id, ("place", "agent"))


def lock_dispute(dispute_id: Any) -> Dispute:
    return _lock_then_read(Dispute, dispute_id, ("place", "mediator"))


def lock_visit(visit_id: Any) -> HouseholdVisit:
    return _lock_then_read(HouseholdVisit, visit_id, ("household", "visitor"))
