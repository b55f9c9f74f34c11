"""Demo step: the district, its places, organisations, residents, party tree and the demo logins."""

from __future__ import annotations

from gongzhi.places.models import Place, PlaceKind

from .district import build_district, create_demo_logins
from .figures import DEMO_DISTRICT_CODE, demo_district


def is_loaded() -> bool:
    return Place.objects.filter(kind=PlaceKind.DISTRICT, code=DEMO_DISTRICT_CODE, is_active=True).exists()


def load(context) -> dict[str, int]:
    built = build_district(demo_district(context.scale), seed=context.seed, log=context.log)
    create_demo_logins(built, seed=context.seed)
    return dict(built.counts, account=11)
