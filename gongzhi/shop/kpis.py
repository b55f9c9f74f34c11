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
from django.utils.translation import gettext_lazy as _

from gongzhi.core.figures import Period
from gongzhi.core.kpi_catalogue import Figure, FigureGroup, KpiDomain, Unit
from gongzhi.core.tree import path_ids, subtree_q
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
    above = path_ids(place.path)
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


# ---------------------------------------------------------------- the KPI catalogue (gongzhi.core.kpi_catalogue)

KPI_DOMAIN = KpiDomain(
    "shop",
    _("Points shop and merchant alliance"),
    groups=(
        FigureGroup(
            "shop.alliance",
            _("Shop and alliance"),
            shop_figures,
            (
                Figure(
                    "merchants",
                    _("Merchants in the alliance"),
                    _(
                        "Distinct merchants that were members, on some day of the period, of an alliance of the "
                        "place, a place above it or a place below it."
                    ),
                ),
                Figure(
                    "offers",
                    _("Offers"),
                    _(
                        "Approved offers shown by the place, a place above or below it, valid on some day of the "
                        "period."
                    ),
                ),
                Figure(
                    "own_shop_offers",
                    _("Own points shop offers"),
                    _("Of the offers, the community's own points shop's (爱心超市)."),
                ),
                Figure("merchant_offers", _("Merchant offers"), _("Of the offers, the merchants'.")),
                Figure(
                    "redemptions",
                    _("Redemptions"),
                    _("Orders completed (picked up) in the period by accounts under the place."),
                ),
                Figure(
                    "points_redeemed",
                    _("Points redeemed at the shop"),
                    _("Points of the orders completed in the period by accounts under the place."),
                    Unit.POINTS,
                ),
                Figure(
                    "value_given",
                    _("Value given by merchants"),
                    _(
                        "The cash value (yuan) of discounts and goods given on the orders completed in the period, as "
                        "agreed on each offer."
                    ),
                    Unit.AMOUNT,
                ),
                Figure(
                    "own_shop_goods_issued",
                    _("Goods issued by the own points shop"),
                    _("Pieces of goods the community's own points shop handed out on orders completed in the period."),
                ),
            ),
        ),
    ),
)
