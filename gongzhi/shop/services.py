"""Every state change of the points shop. Orders (redemptions) and points cards are here; the shelf (alliance,
offers, stock, exchange windows, settings) is in ``offers.py`` and re-exported, so callers import from here.

Money rules (shared/design.md rule 4) in this app:

- ``redemption_place`` is one transaction: the account row is locked first (``locks.lock_account``; it serialises
  one account's orders, so the per-person limit and the balance are read under the lock), then the stock is taken
  with a guarded ``UPDATE … SET stock = stock - q WHERE stock >= q`` (no row: ``stock_exhausted``), then the points
  are held in the ledger (refused: ``insufficient_points``). Any refusal rolls everything back. Lock order
  everywhere: redemption → account → offer, so two services never wait on each other in a cycle. Every lock is
  in ``locks.py`` and takes its own table's row only, never the community's place row.
- Verification captures the hold, cancelling and expiry release it and put the stock back; each moves the
  order out of ``held`` under a lock on the order, and each ledger posting has a key derived from the order, so a
  repeated call can never capture or release twice.
- Every change of stock is a ``StockMovement`` row written in the same transaction as the guarded update.

Rules of the shop that are choices, not physics:

- An offer with no eligible places is open to accounts under its community (or street); with eligible places, to
  accounts under one of them. ``account_kinds`` empty: every kind of holder.
- Exchange follows the *resident's* community: its ShopSettings (always open) or its current ExchangeWindow.
  The per-person limit counts the held and completed orders of that window; when the shop is always open, of the
  current calendar quarter (一季一兑换).
- Expiry comes from the ShopSettings of the offer's community, else the resident's, else 72 hours.
- A pickup code is unique among the open orders of one counter (a merchant, or a community's own shop):
  ``Redemption.counter`` with a partial unique constraint; a collision is retried with a new code.

Each service that reads the clock takes ``now`` (default: the current time).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import require_authenticated
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from gongzhi.people.models import Organisation
from gongzhi.places.models import Place
from gongzhi.points.ledger import points_capture, points_hold, points_release
from gongzhi.points.selectors import saved_account

from .access import clerk_merchant_ids, counter_for, is_clerk_of, may_act_for_account, may_manage, require_counter
from .errors import ShopError
from .locks import lock_account, lock_redemption
from .models import Offer, PointsCard, Redemption, ShopSettings, StockMovement
from .offers import (
    OfferInput,
    alliance_end,
    alliance_join,
    offer_approve,
    offer_create,
    offer_restock,
    offer_submit,
    offer_withdraw,
    shop_settings_update,
    window_create,
)
from .selectors import (
    MAX_QUANTITY,
    WindowState,
    offer_eligible,
    quantity_taken,
    quarter_start,
    shop_account,
    window_state,
)

if TYPE_CHECKING:
    from gongzhi.points.models import PointsAccount

__all__ = [
    "MAX_QUANTITY",
    "OfferInput",
    "WindowState",
    "alliance_end",
    "alliance_join",
    "card_lookup",
    "clerk_merchant_ids",
    "counter_for",
    "ensure_resident_account",
    "is_clerk_of",
    "may_act_for_account",
    "offer_approve",
    "offer_create",
    "offer_eligible",
    "offer_restock",
    "offer_submit",
    "offer_withdraw",
    "points_card_issue",
    "redemption_cancel",
    "redemption_place",
    "redemption_verify",
    "redemptions_expire",
    "require_counter",
    "shop_settings_update",
    "window_create",
    "window_state",
]

DEFAULT_EXPIRY_HOURS = 72
PICKUP_SALT = "gongzhi.shop.pickup"
CARD_SALT = "gongzhi.shop.card"
_CODE_ATTEMPTS = 30
_quarter_start = quarter_start  # the demo's name for it


def _audit(actor: Actor | None, action: str, target: Any, place_path: str, changes: dict | None = None) -> None:
    audit_record(actor=actor, action=action, target=target, place_path=place_path, changes=changes or {})


def _expiry_hours(offer: Offer, account: PointsAccount) -> int:
    ids = [offer.community_id, account.community_id]
    rows = dict(
        ShopSettings.objects.filter(community_id__in=[i for i in ids if i]).values_list(
            "community_id", "unclaimed_expiry_hours"
        )
    )
    own = rows.get(account.community_id) if account.community_id else None
    return rows.get(offer.community_id) or own or DEFAULT_EXPIRY_HOURS


# ---------------------------------------------------------------- redemption


def _check_redeemable(offer: Offer, account: PointsAccount, today: date) -> None:
    if offer.state != Offer.State.APPROVED:
        raise ShopError.OFFER_UNAVAILABLE()
    if not offer.valid_from <= today <= offer.valid_until:
        raise ShopError.OFFER_NOT_VALID_TODAY(
            _("This offer can be redeemed from %(start)s to %(end)s.")
            % {"start": offer.valid_from.isoformat(), "end": offer.valid_until.isoformat()}
        )
    if not offer_eligible(offer, account):
        raise ShopError.NOT_ELIGIBLE()


_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,96}$")


def _stored_key(actor: Actor, idempotency_key: str) -> str:
    key = (idempotency_key or "").strip()
    if not _KEY.match(key):
        raise ValidationFailed(
            fields={"idempotency_key": _("Send an idempotency key: 1–96 letters, digits or . _ : -")}
        )
    return f"{actor.pk}:{key}"


def _same_order(existing: Redemption, offer: Offer, account: PointsAccount, quantity: int) -> Redemption:
    if existing.offer_id != offer.pk or existing.account_id != account.pk or existing.quantity != quantity:
        raise ShopError.IDEMPOTENCY_CONFLICT()
    return existing


def _short_of(points: int) -> DomainError:
    return ShopError.INSUFFICIENT_POINTS(
        _("There are not enough points for this: %(points)s points short.") % {"points": points}
    )


def _new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def pickup_token(redemption: Redemption) -> str:
    """The signed QR payload of an order: its id and code, signed with the site's key."""
    return signing.dumps({"r": redemption.pk, "c": redemption.pickup_code}, salt=PICKUP_SALT, compress=True)


def redemption_place(
    *,
    actor: Actor,
    offer: Offer,
    account: PointsAccount,
    quantity: int = 1,
    idempotency_key: str,
    now: datetime | None = None,
) -> Redemption:
    """Place an order: stock taken and points held in one transaction; returns the order with its pickup code.

    The quantity is refused beyond what ``selectors.redeem_choice`` offers: the per-person limit left
    (``limit_reached``), the stock (``stock_exhausted``) and the balance (``insufficient_points``), each read
    under the account's lock. The same key returns the same order (placed by the same person); nothing is held
    twice.
    """
    require_authenticated(actor)
    if not may_act_for_account(actor, account):
        raise NotFound()
    key = _stored_key(actor, idempotency_key)
    offer = Offer.objects.get(pk=offer.pk)  # the current state and price, not what the caller loaded earlier
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationFailed(fields={"quantity": _("Enter a quantity from 1 to %(max)s.") % {"max": MAX_QUANTITY}})
    if not account.pk:  # a resident's account not made yet holds no points
        raise _short_of(offer.points_price * quantity)
    existing = Redemption.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return _same_order(existing, offer, account, quantity)
    now = now or timezone.now()
    _check_redeemable(offer, account, timezone.localdate(now))
    window = window_state(account.community_id or offer.community_id, now)
    if not window.open:
        raise ShopError.OUT_OF_WINDOW()
    points = offer.points_price * quantity
    hours = _expiry_hours(offer, account)
    with transaction.atomic():
        # 1. The account first: one account's orders queue here, so the limit and balance are read under the lock.
        locked = lock_account(account.pk)
        existing = Redemption.objects.filter(idempotency_key=key).first()
        if existing is not None:  # the same request, committed while this one waited for the lock
            return _same_order(existing, offer, account, quantity)
        if offer.per_person_limit:
            already = quantity_taken(offer, account, window, now)
            if already + quantity > offer.per_person_limit:
                raise ShopError.LIMIT_REACHED(
                    _("The limit is %(limit)s per person in this exchange window; you have %(taken)s already.")
                    % {"limit": offer.per_person_limit, "taken": already}
                )
        if locked.balance < points:
            raise _short_of(points - locked.balance)
        # 2. The stock, guarded: never below zero, whatever the concurrency.
        if not Offer.objects.filter(pk=offer.pk, stock__gte=quantity).update(stock=F("stock") - quantity):
            raise ShopError.STOCK_EXHAUSTED()
        # 3. The points: the ledger refuses (insufficient_points) if the balance does not cover them.
        hold = points_hold(
            account=account,
            amount=points,
            idempotency_key=f"shop:hold:{key}",
            actor=actor,
            source_type="shop.offer",
            source_id=str(offer.pk),
            now=now,
        )
        redemption = Redemption(
            offer=offer,
            account=account,
            quantity=quantity,
            points=points,
            cash_due=offer.cash_price * quantity,
            discount_value=offer.discount_value * quantity,
            window=window.window,
            idempotency_key=key,
            placed_by=actor,
            placed_at=now,
            expires_at=now + timedelta(hours=hours),
            hold_transfer=hold,
            counter=counter_for(offer),
        )
        _save_with_code(redemption)
        StockMovement.objects.create(
            offer=offer,
            change=-quantity,
            reason=StockMovement.Reason.REDEMPTION,
            redemption=redemption,
            actor=actor,
            at=now,
        )
        _audit(
            actor,
            "shop.redemption_place",
            redemption,
            account.place_path,
            {"offer": offer.pk, "account": account.pk, "quantity": quantity, "points": points, "transfer": hold.pk},
        )
    return redemption


def _save_with_code(redemption: Redemption) -> None:
    """A six-digit code unique among the counter's open orders; a collision is retried with a new code."""
    for _attempt in range(_CODE_ATTEMPTS):
        code = _new_code()
        if Redemption.objects.filter(counter=redemption.counter, pickup_code=code, state="held").exists():
            continue
        redemption.pickup_code = code
        try:
            with transaction.atomic():
                redemption.save(force_insert=True)
            return
        except IntegrityError as error:
            if "pickup_code" not in str(error) and "redemption_open_code" not in str(error):
                raise
            redemption.pk = None
    raise ShopError.CODE_UNAVAILABLE()


def _parse_code(code: str) -> tuple[int | None, str]:
    """(order id from a scanned QR or None, six-digit code). Wrong input → wrong_code."""
    text = re.sub(r"\s+", "", code or "")
    if re.fullmatch(r"\d{6}", text):
        return None, text
    try:
        payload = signing.loads(text, salt=PICKUP_SALT)
        return int(payload["r"]), str(payload["c"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise ShopError.WRONG_CODE() from None


def _closed(state_label: Any) -> DomainError:
    return ShopError.ORDER_CLOSED(_("This order was %(state)s and cannot be picked up.") % {"state": state_label})


def redemption_verify(
    *,
    actor: Actor,
    code: str,
    merchant: Organisation | None = None,
    community: Place | None = None,
    now: datetime | None = None,
) -> Redemption:
    """A clerk of ``merchant`` (or staff at ``community``'s own shop) hands over the goods: the hold is captured."""
    counter = require_counter(actor, merchant=merchant, community=community)
    order_id, digits = _parse_code(code)
    candidates = Redemption.objects.filter(counter=counter, pickup_code=digits)
    if order_id is not None:
        candidates = candidates.filter(pk=order_id)
    now = now or timezone.now()
    with transaction.atomic():
        found = candidates.filter(state="held").values_list("pk", flat=True).first()
        if found is None:
            used = candidates.exclude(state="held").order_by("-finished_at").first()
            if used is not None and used.state == Redemption.State.COMPLETED:
                raise ShopError.CODE_USED(
                    _("This code was already used on %(when)s.")
                    % {"when": timezone.localtime(used.finished_at).strftime("%Y-%m-%d %H:%M")}
                )
            if used is not None and order_id is not None:
                raise _closed(used.get_state_display())
            raise ShopError.WRONG_CODE()
        redemption = lock_redemption(found)
        if redemption.state != Redemption.State.HELD:  # finished while this call waited for the lock
            raise ShopError.CODE_USED()
        if redemption.expires_at <= now:
            raise ShopError.ORDER_EXPIRED()
        account = redemption.account
        capture = points_capture(
            account=account,
            amount=redemption.points,
            idempotency_key=f"shop:capture:{redemption.pk}",
            actor=actor,
            source_type="shop.redemption",
            source_id=str(redemption.pk),
            now=now,
        )
        redemption.state = Redemption.State.COMPLETED
        redemption.verified_by = actor
        redemption.finished_at = now
        redemption.finish_transfer = capture
        redemption.save(update_fields=["state", "verified_by", "finished_at", "finish_transfer"])
        _audit(
            actor,
            "shop.redemption_verify",
            redemption,
            account.place_path,
            {"points": redemption.points, "transfer": capture.pk},
        )
    return redemption


def _release(
    *, actor: Actor | None, redemption: Redemption, state: str, action: str, now: datetime
) -> tuple[Redemption, bool]:
    """Move a held order to ``state`` (cancelled / expired), releasing points and stock; (order, changed)."""
    with transaction.atomic():
        locked = lock_redemption(redemption.pk)
        if locked.state == state:
            return locked, False
        if locked.state != Redemption.State.HELD:
            raise ShopError.ORDER_CLOSED(
                _("This order is %(state)s and cannot be changed.") % {"state": locked.get_state_display()}
            )
        account = locked.account
        release = points_release(
            account=account,
            amount=locked.points,
            idempotency_key=f"shop:release:{locked.pk}",
            actor=actor,
            source_type="shop.redemption",
            source_id=str(locked.pk),
            now=now,
        )
        Offer.objects.filter(pk=locked.offer_id).update(stock=F("stock") + locked.quantity)
        StockMovement.objects.create(
            offer_id=locked.offer_id,
            change=locked.quantity,
            reason=StockMovement.Reason.RELEASE,
            redemption=locked,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            at=now,
        )
        locked.state = state
        locked.finished_at = now
        locked.finish_transfer = release
        locked.save(update_fields=["state", "finished_at", "finish_transfer"])
        _audit(actor, action, locked, account.place_path, {"points": locked.points, "transfer": release.pk})
    return locked, True


def redemption_cancel(*, actor: Actor, redemption: Redemption, now: datetime | None = None) -> Redemption:
    """The resident (or shop staff) cancels an open order: points back to the balance, stock back on the shelf."""
    require_authenticated(actor)
    account = redemption.account
    offer = redemption.offer
    if not (may_act_for_account(actor, account) or may_manage(actor, offer.community.path)):
        raise NotFound()
    order, _changed = _release(
        actor=actor,
        redemption=redemption,
        state=Redemption.State.CANCELLED,
        action="shop.redemption_cancel",
        now=now or timezone.now(),
    )
    return order


def redemptions_expire(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Release every open order past its expiry (the job ``shop.expire_unclaimed``). Safe to run any number of times."""
    now = now or timezone.now()
    ids = list(
        Redemption.objects.filter(state="held", expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    expired = 0
    for pk in ids:
        try:
            _order, changed = _release(
                actor=None,
                redemption=Redemption(pk=pk),
                state=Redemption.State.EXPIRED,
                action="shop.redemption_expire",
                now=now,
            )
        except Conflict:  # picked up or cancelled meanwhile
            continue
        expired += changed
    return expired


# ---------------------------------------------------------------- points card


def _new_card_code() -> str:
    return f"{secrets.randbelow(100_000_000):08d}"


def points_card_issue(
    *, actor: Actor, account: PointsAccount, reissue: bool = False, now: datetime | None = None
) -> PointsCard:
    """The account's points card (created on first use); ``reissue`` gives it a new code, voiding the old one."""
    require_authenticated(actor)
    if not may_act_for_account(actor, account):
        raise NotFound()
    card = PointsCard.objects.filter(account=account).first()
    if card is not None and not reissue:
        return card
    for _attempt in range(_CODE_ATTEMPTS):
        code = _new_card_code()
        try:
            with transaction.atomic():
                if card is None:
                    card = PointsCard.objects.create(account=account, code=code)
                else:
                    PointsCard.objects.filter(pk=card.pk).update(code=code, issued_at=now or timezone.now())
                    card.refresh_from_db()
                _audit(actor, "shop.card_issue", card, account.place_path, {"reissue": reissue})
            return card
        except IntegrityError:
            existing = PointsCard.objects.filter(account=account).first()
            if existing is not None and card is None:
                return existing
    raise ShopError.CODE_UNAVAILABLE(_("Could not issue a card code; please try again."))


def card_token(card: PointsCard) -> str:
    return signing.dumps({"a": card.account_id, "k": card.code}, salt=CARD_SALT, compress=True)


def resident_card(*, actor: Actor) -> PointsCard | None:
    """The card of the account the actor pays from (``selectors.shop_account``), issued on first use; None when
    the actor has no account."""
    account = ensure_resident_account(actor)
    return points_card_issue(actor=actor, account=account) if account is not None else None


def is_card_code(code: str) -> bool:
    """Eight digits, or a QR signed as a points card (a pickup code is six digits or a pickup QR)."""
    text = re.sub(r"\s+", "", code or "")
    if re.fullmatch(r"\d{8}", text):
        return True
    try:
        signing.loads(text, salt=CARD_SALT)
    except signing.BadSignature:
        return False
    return True


@dataclass
class CardLookup:
    account: PointsAccount
    open_orders: list[Redemption]


def card_lookup(
    *, actor: Actor, code: str, merchant: Organisation | None = None, community: Place | None = None
) -> CardLookup:
    """A clerk scans or types a points card: the account and its open orders at this counter (audited)."""
    counter = require_counter(actor, merchant=merchant, community=community)
    text = re.sub(r"\s+", "", code or "")
    card = None
    if re.fullmatch(r"\d{8}", text):
        card = PointsCard.objects.select_related("account").filter(code=text).first()
    elif text:
        try:
            payload = signing.loads(text, salt=CARD_SALT)
            card = (
                PointsCard.objects.select_related("account")
                .filter(account_id=int(payload["a"]), code=str(payload["k"]))
                .first()
            )
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            card = None
    if card is None:
        raise ShopError.WRONG_CARD()
    orders = list(
        Redemption.objects.filter(account=card.account, counter=counter, state="held")
        .select_related("offer")
        .order_by("placed_at")
    )
    with transaction.atomic():
        _audit(actor, "shop.card_lookup", card, card.account.place_path, {"counter": counter, "orders": len(orders)})
    return CardLookup(account=card.account, open_orders=orders)


def ensure_resident_account(actor: Actor) -> PointsAccount | None:
    """The account the actor pays from, as /points/ chooses it (a resident's is made on first use); None if none."""
    account = shop_account(actor)
    return saved_account(account) if account is not None else None
