"""The KPI catalogue in the API (mounted at /api/v1/kpis)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["kpis"])
