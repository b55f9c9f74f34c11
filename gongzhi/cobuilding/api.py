"""Co-building in the API (mounted at /api/v1/cobuilding/)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["cobuilding"])
