"""The shop and merchant figures of shared/kpis.md ("Shop and merchants", and the moral bank's merchants), for any
place (its subtree) and any period (``gongzhi.core.figures.Period``). Three aggregate queries.

Definitions:
- merchants in the alliance ("商居联盟 x家"): distinct merchants with a membership in force at some time in the
  period (joined by its end, not ended before its start) in an alliance of the place, of a place above it (a
  street's alliance serves every community of the street) or of a place below it;
- offers: approved offers shown by the place, a place above it or below it (``Offer.community``), valid on some
  day of the period; of those, the community's own points shop's (爱心超市) and merchants';
- redemptions: orders completed (picked up) in the period by accounts under the place; points redeemed; the cash
  value given by merchants (discounts and goods, in yuan, as agreed on each offer); goods issued by the
  community's own points shop (pieces);
- orders waiting for pickup now are the counter's business, not a figure of the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum

from gongzhi.core.figures import Period
from gongzhi.core.tree import subtree_q
from gongzhi.places.models import Place

from .models import AllianceMembership, Offer, Redemption


@dataclass(frozen=True)
class ShopFigures:
    merchants: int
    offers: int
    own_shop_offers: int
    merchant_offers: int
    redemptions: int
    points_redeemed: int
    value_given: Decimal
    own_shop_goods_issued: int

    def as_dict(self) -> dict:
        return {
            name: str(value) if isinstance(value, Decimal) else value
            for name, value in ((name, getattr(self, name)) for name in self.__dataclass_fields__)
        }


def _around(place: Place, field: str) -> Q:
    """The place, the places above it and those below it."""
    above = [int(part) for part in place.path.strip("/").split("/") if part]
    return Q(**{f"{field}_id__in": above}) | subtree_q(place.path, f"{field}__path")


def shop_figures(place: Place, period: Period) -> ShopFigures:
    merchants = (
        AllianceMembership.objects.filter(_around(place, "place"), joined_at__lt=period.end)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=period.start))
        .aggregate(merchants=Count("merchant_id", distinct=True))["merchants"]
    )
    offers = Offer.objects.filter(
        _around(place, "community"),
        state=Offer.State.APPROVED,
        valid_from__lte=period.last,
        valid_until__gte=period.first,
    ).aggregate(
        offers=Count("pk"),
        own=Count("pk", filter=Q(merchant__isnull=True)),
        merchants=Count("pk", filter=Q(merchant__isnull=False)),
    )
    own_goods = Q(offer__merchant__isnull=True, offer__kind=Offer.Kind.GOODS)
    redeemed = Redemption.objects.filter(
        subtree_q(place.path, "account__place_path"),
        state=Redemption.State.COMPLETED,
        finished_at__gte=period.start,
        finished_at__lt=period.end,
    ).aggregate(
        redemptions=Count("pk"),
        points=Sum("points", default=0),
        value=Sum("discount_value", default=Decimal("0")),
        goods=Sum("quantity", filter=own_goods, default=0),
    )
    return ShopFigures(
        merchants=merchants,
        offers=offers["offers"],
        own_shop_offers=offers["own"],
        merchant_offers=offers["merchants"],
        redemptions=redeemed["redemptions"],
        points_redeemed=int(redeemed["points"]),
        value_given=Decimal(redeemed["value"]).quantize(Decimal("0.01")),
        own_shop_goods_issued=int(redeemed["goods"]),
    )
