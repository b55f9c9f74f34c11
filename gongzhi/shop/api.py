"""The shop domain in the API (mounted at /api/v1/shop/)."""

from ninja import Router

router = Router(tags=["shop"])
