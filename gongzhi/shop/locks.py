"""Every row lock of the points shop, built on ``core.locks``: own table only (``FOR UPDATE OF``), by primary key.

Lock order, everywhere in the shop: redemption → account → offer, so two services never wait on each other in a
cycle. None of these locks a place: a query that joined ``places_place`` used to lock the community's row as well,
so unrelated orders in one community queued behind each other.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from gongzhi.core.locks import lock_row
from gongzhi.places.models import Place

# The points account is the points app's row: its lock lives in points/locks.py. One account's orders queue there.
from gongzhi.points.locks import lock_account

from .models import Offer, Redemption, ShopSettings

__all__ = ["lock_account", "lock_offer", "lock_redemption", "lock_settings"]


def lock_offer(offer_id: int) -> Offer:
    """The offer, locked (its state and stock are the latest committed)."""
    return lock_row(Offer.objects.all(), offer_id)


def lock_redemption(redemption_id: int) -> Redemption:
    """The order, locked: it leaves ``held`` once (verification, cancelling or expiry, whichever locks first)."""
    return lock_row(Redemption.objects.all(), redemption_id)


def lock_settings(community: Place) -> ShopSettings:
    """The community's shop settings, created on first use, locked."""
    try:
        with transaction.atomic():
            settings, _created = ShopSettings.objects.get_or_create(community=community)
    except IntegrityError:  # created by a concurrent call meanwhile
        settings = ShopSettings.objects.get(community=community)
    return lock_row(ShopSettings.objects.all(), settings.pk)
