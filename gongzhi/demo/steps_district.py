"""Demo step: the district, its places, organisations, residents, party tree and the demo logins."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext_lazy as _

from gongzhi.places.models import Place, PlaceKind

from .district import build_district, create_demo_logins
from .figures import DEMO_DISTRICT_CODE, demo_district

TITLE = _("The district, its residents and the demo logins")


def is_loaded() -> bool:
    return Place.objects.filter(kind=PlaceKind.DISTRICT, code=DEMO_DISTRICT_CODE, is_active=True).exists()


def load(context) -> dict[str, int]:
    built = build_district(demo_district(context.scale), seed=context.seed, log=context.detail)
    create_demo_logins(built, seed=context.seed)
    return dict(built.counts, account=11)


def top_up(context, now: datetime) -> dict[str, int]:
    """Places, people and roles do not age: nothing to bring up to date (the roles run from 2025 with no end)."""
    return {}
