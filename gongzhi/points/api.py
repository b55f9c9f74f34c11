"""The points domain in the API (mounted at /api/v1/points/)."""

from ninja import Router

router = Router(tags=["points"])
