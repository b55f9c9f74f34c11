"""Volunteering in the API (mounted at /api/v1/volunteering/)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["volunteering"])
