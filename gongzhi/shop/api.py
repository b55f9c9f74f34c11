"""The points shop in the API (mounted at /api/v1/shop/). Thin: parse → access → one service call → answer.

Residents: offers, redeem, my orders (with pickup code and QR payload), cancel, my points card.
Clerks: verify a pickup code (typed or scanned), look up a points card, the counter's orders today.
Staff: create, submit, approve offers; exchange windows; settlement per merchant per month.
Lists answer one page (``Page[T]``: count, page, page_size, results; ``?page=&page_size=``). Errors follow the one
shape: ``{"code", "message", "fields"}``; the shop's codes are ``shop.errors.ShopError`` (docs/errors.md).
The account that pays is the one /points/ shows first (a representative's: the organisation's), unless
``account_id`` names another the caller may act for.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from gongzhi.core.api_support import ERRORS, Page, PageQuery, paginate
from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.masking import mask_name
from gongzhi.core.ratelimit import rate_limit_request
from gongzhi.core.roles import Permission

from . import selectors, services
from .models import Offer, Redemption

if TYPE_CHECKING:
    from gongzhi.points.models import PointsAccount

router = Router(tags=["shop"])


class OfferOut(Schema):
    id: int
    title: str
    description: str
    kind: str
    merchant_id: int | None
    merchant_name: str
    community_id: int
    points_price: int
    cash_price: Decimal
    stock: int
    per_person_limit: int | None
    valid_from: date
    valid_until: date
    state: str

    @staticmethod
    def resolve_merchant_name(offer: Offer) -> str:
        return offer.merchant.name if offer.merchant_id else ""


class RedemptionOut(Schema):
    id: int
    offer_id: int
    offer_title: str
    account_id: int
    quantity: int
    points: int
    cash_due: Decimal
    state: str
    pickup_code: str | None
    qr_payload: str | None
    placed_at: datetime
    expires_at: datetime
    finished_at: datetime | None

    @staticmethod
    def resolve_offer_title(order: Redemption) -> str:
        return order.offer.title

    @staticmethod
    def resolve_pickup_code(order: Redemption) -> str | None:
        return order.pickup_code if order.state == Redemption.State.HELD else None

    @staticmethod
    def resolve_qr_payload(order: Redemption) -> str | None:
        return services.pickup_token(order) if order.state == Redemption.State.HELD else None


class RedeemIn(Schema):
    quantity: int = Field(1, ge=1, le=selectors.MAX_QUANTITY)
    idempotency_key: str = Field(..., min_length=1, max_length=96)
    account_id: int | None = None


class CounterIn(Schema):
    code: str = Field(..., min_length=1, max_length=600)
    merchant_id: int | None = None
    community_id: int | None = None


class CardOut(Schema):
    account_id: int
    code: str
    qr_payload: str


class CardLookupOut(Schema):
    account_id: int
    name_masked: str
    balance: int
    open_orders: list[RedemptionOut]


class OfferIn(Schema):
    community_id: int
    merchant_id: int | None = None
    title: str = Field(..., max_length=120)
    description: str = ""
    kind: str = Offer.Kind.GOODS
    points_price: int
    cash_price: Decimal = Decimal("0")
    discount_value: Decimal = Decimal("0")
    stock: int
    per_person_limit: int | None = None
    valid_from: date
    valid_until: date
    account_kinds: list[str] = []
    eligible_place_ids: list[int] = []


class WindowIn(Schema):
    community_id: int
    name: str = Field(..., max_length=60)
    starts_at: datetime
    ends_at: datetime


class WindowOut(Schema):
    id: int
    community_id: int
    name: str
    starts_at: datetime
    ends_at: datetime


class OrderQuery(PageQuery):
    state: str | None = None


class SettlementQuery(PageQuery):
    month: str | None = None
    merchant_id: int | None = None


class SettlementOut(Schema):
    merchant_id: int | None
    merchant_name: str
    community_name: str
    orders: int
    quantity: int
    points: int
    discount_value: Decimal
    cash_due: Decimal


def _account_for(request, account_id: int | None) -> PointsAccount:
    """The account that pays: ``account_id`` (one the caller may act for) or the caller's own, as /points/ shows."""
    account = selectors.shop_account(request.user, account_id)
    if account is None:
        raise ValidationFailed(fields={"account_id": _("Say which points account pays.")})
    return account


def _counter_args(request, payload: CounterIn) -> dict:
    if payload.merchant_id is not None:
        return {"merchant": selectors.access_merchant(request.user, payload.merchant_id)}
    if payload.community_id is not None:
        return {
            "community": selectors.access_shop_place(request.user, payload.community_id, Permission.REDEMPTION_VERIFY)
        }
    merchants = selectors.clerk_merchants(request.user)
    if len(merchants) == 1:
        return {"merchant": merchants[0]}
    raise ValidationFailed(fields={"merchant_id": _("Say which merchant's counter this is.")})


# ---------------------------------------------------------------- residents


@router.get(
    "/offers", response={200: Page[OfferOut], **ERRORS}, summary="Offers I can redeem (approved, open to my account)"
)
def offer_list(request, query: Query[PageQuery]):
    account = selectors.shop_account(request.user)
    offers = selectors.offers_for_account(account) if account is not None else Offer.objects.none()
    return paginate(offers, query)


@router.get("/offers/{offer_id}", response={200: OfferOut, **ERRORS}, summary="One offer")
def offer_detail(request, offer_id: int):
    return selectors.access_offer(request.user, offer_id)


@router.post(
    "/offers/{offer_id}/redeem",
    response={201: RedemptionOut, **ERRORS},
    summary="Place an order: points held, stock taken, pickup code given (idempotent per key)",
)
def offer_redeem(request, offer_id: int, payload: RedeemIn):
    offer = selectors.access_offer(request.user, offer_id)
    account = _account_for(request, payload.account_id)
    rate_limit_request(request, "order", now=timezone.now())
    order = services.redemption_place(
        actor=request.user,
        offer=offer,
        account=account,
        quantity=payload.quantity,
        idempotency_key=payload.idempotency_key,
    )
    return Status(201, order)


@router.get("/orders", response={200: Page[RedemptionOut], **ERRORS}, summary="My orders, newest first")
def order_list(request, query: Query[OrderQuery]):
    return paginate(selectors.my_orders(request.user, state=query.state), query)


@router.get(
    "/orders/{order_id}", response={200: RedemptionOut, **ERRORS}, summary="One order (with its pickup code while open)"
)
def order_detail(request, order_id: int):
    return selectors.access_redemption(request.user, order_id)


@router.post(
    "/orders/{order_id}/cancel", response={200: RedemptionOut, **ERRORS}, summary="Cancel an open order (idempotent)"
)
def order_cancel(request, order_id: int):
    order = selectors.access_redemption(request.user, order_id)
    return services.redemption_cancel(actor=request.user, redemption=order)


@router.get(
    "/card", response={200: CardOut, **ERRORS}, summary="My points card: QR payload and the 8-digit code to type"
)
def card_mine(request):
    card = services.resident_card(actor=request.user)
    if card is None:
        raise NotFound()
    return {"account_id": card.account_id, "code": card.code, "qr_payload": services.card_token(card)}


# ---------------------------------------------------------------- clerks


@router.post(
    "/verify",
    response={200: RedemptionOut, **ERRORS},
    summary="Verify a pickup code (6 digits or scanned QR); completes the order",
)
def order_verify(request, payload: CounterIn):
    return services.redemption_verify(actor=request.user, code=payload.code, **_counter_args(request, payload))


@router.post(
    "/card/lookup",
    response={200: CardLookupOut, **ERRORS},
    summary="Find a resident by points card and their open orders here",
)
def card_find(request, payload: CounterIn):
    found = services.card_lookup(actor=request.user, code=payload.code, **_counter_args(request, payload))
    return {
        "account_id": found.account.pk,
        "name_masked": mask_name(found.account.display_name),
        "balance": found.account.balance,
        "open_orders": found.open_orders,
    }


@router.get(
    "/counter/{merchant_id}/today", response={200: Page[RedemptionOut], **ERRORS}, summary="A merchant's orders today"
)
def counter_today(request, merchant_id: int, query: Query[PageQuery]):
    merchant = selectors.access_merchant(request.user, merchant_id)
    services.require_counter(request.user, merchant=merchant)
    return paginate(selectors.counter_orders_today(f"m{merchant.pk}"), query)


# ---------------------------------------------------------------- staff


@router.post(
    "/offers", response={201: OfferOut, **ERRORS}, summary="Create a draft offer (merchant clerk or shop staff)"
)
def offer_create(request, payload: OfferIn):
    community = selectors.access_shop_place(request.user, payload.community_id, Permission.PLACE_VIEW)
    merchant = selectors.access_merchant(request.user, payload.merchant_id) if payload.merchant_id else None
    data = services.OfferInput(
        **payload.dict(exclude={"community_id", "merchant_id"}),
    )
    return Status(201, services.offer_create(actor=request.user, community=community, merchant=merchant, data=data))


@router.post("/offers/{offer_id}/submit", response={200: OfferOut, **ERRORS}, summary="Send a draft offer for approval")
def offer_submit(request, offer_id: int):
    return services.offer_submit(actor=request.user, offer=selectors.access_offer(request.user, offer_id))


@router.post("/offers/{offer_id}/approve", response={200: OfferOut, **ERRORS}, summary="Approve an offer (community)")
def offer_approve(request, offer_id: int):
    return services.offer_approve(actor=request.user, offer=selectors.access_offer(request.user, offer_id))


@router.post("/windows", response={201: WindowOut, **ERRORS}, summary="Open an exchange window for a community")
def window_create(request, payload: WindowIn):
    community = selectors.access_shop_place(request.user, payload.community_id)
    window = services.window_create(
        actor=request.user, community=community, name=payload.name, starts_at=payload.starts_at, ends_at=payload.ends_at
    )
    return Status(201, window)


@router.get(
    "/settlement",
    response={200: Page[SettlementOut], **ERRORS},
    summary="Per merchant per month: orders, points, value given",
)
def settlement(request, query: Query[SettlementQuery]):
    merchant = selectors.access_merchant(request.user, query.merchant_id) if query.merchant_id else None
    month_start = selectors.parse_month(query.month) if query.month else timezone.localdate().replace(day=1)
    return paginate(selectors.settlement(request.user, month_start, merchant=merchant), query)
