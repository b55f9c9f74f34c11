"""Every state change of the points shop: alliance, offers, stock, exchange windows, redemptions, points cards.

Money rules (shared/design.md rule 4) in this app:

- ``redemption_place`` is one transaction: the account row is locked first (``SELECT … FOR UPDATE``; it serialises
  one account's orders, so the per-person limit is counted under the lock), then the stock is taken with a guarded
  ``UPDATE … SET stock = stock - q WHERE stock >= q`` (no row: ``stock_exhausted``), then the points are held in
  the ledger (refused: ``insufficient_points``). Any refusal rolls everything back. Lock order everywhere:
  redemption → account → offer, so two services never wait on each other in a cycle.
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
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gongzhi.core.access import reach, require_authenticated
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from gongzhi.core.roles import Permission
from gongzhi.people.models import Organisation, OrganisationKind
from gongzhi.places.models import Place, PlaceKind
from gongzhi.points.ledger import InsufficientPoints, account_for_resident, points_capture, points_hold, points_release
from gongzhi.points.models import HOLDER_KINDS, PointsAccount

from .models import AllianceMembership, ExchangeWindow, Offer, PointsCard, Redemption, ShopSettings, StockMovement

__all__ = [
    "InsufficientPoints",
    "alliance_end",
    "alliance_join",
    "card_lookup",
    "offer_approve",
    "offer_create",
    "offer_restock",
    "offer_submit",
    "offer_withdraw",
    "points_card_issue",
    "redemption_cancel",
    "redemption_place",
    "redemption_verify",
    "redemptions_expire",
    "shop_settings_update",
    "window_create",
]

MAX_QUANTITY = 20
DEFAULT_EXPIRY_HOURS = 72
PICKUP_SALT = "gongzhi.shop.pickup"
CARD_SALT = "gongzhi.shop.card"
PHOTO_TYPES = (".jpg", ".jpeg", ".png", ".webp")
PHOTO_MAX_BYTES = 5 * 1024 * 1024
_CODE_ATTEMPTS = 30


class StockExhausted(DomainError):
    status = 409
    code = "stock_exhausted"
    default_message = gettext_lazy("This offer is out of stock.")


class OutOfWindow(DomainError):
    status = 409
    code = "out_of_window"
    default_message = gettext_lazy("Exchange is closed now; offers can be redeemed only in an exchange window.")


class LimitReached(DomainError):
    status = 409
    code = "limit_reached"
    default_message = gettext_lazy("You have reached the limit for this offer in this exchange window.")


class WrongCode(DomainError):
    status = 404
    code = "wrong_code"
    default_message = gettext_lazy("No open order has this code here. Check the six digits and try again.")


class CodeUsed(DomainError):
    status = 409
    code = "code_used"
    default_message = gettext_lazy("This code has already been used.")


# ---------------------------------------------------------------- who may do what


def clerk_merchant_ids(actor: Any) -> set[int]:
    """Ids of the merchants the actor is a clerk of today (Role.MERCHANT_CLERK with an organisation)."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return set()
    cached = getattr(actor, "_gongzhi_clerk_of", None)
    if cached is not None:
        return cached
    from gongzhi.core.roles import Role
    from gongzhi.people.models import RoleAssignment

    today = timezone.localdate()
    ids = set(
        RoleAssignment.objects.filter(
            account_id=actor.pk,
            role=Role.MERCHANT_CLERK,
            organisation__isnull=False,
            organisation__is_active=True,
            starts_on__lte=today,
            place__is_active=True,
        )
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .values_list("organisation_id", flat=True)
    )
    actor._gongzhi_clerk_of = ids
    return ids


def is_clerk_of(actor: Any, merchant_id: int | None) -> bool:
    return merchant_id is not None and merchant_id in clerk_merchant_ids(actor)


def _may_manage(actor: Any, place_path: str) -> bool:
    return reach(actor, Permission.SHOP_MANAGE).covers(place_path)


def _may_edit_offer(actor: Any, offer: Offer) -> bool:
    return _may_manage(actor, offer.community.path) or is_clerk_of(actor, offer.merchant_id)


def may_act_for_account(actor: Any, account: PointsAccount) -> bool:
    """The holder (resident, or the representative of the organisation) or shop staff over the account's place."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    if account.kind not in HOLDER_KINDS:
        return False
    if account.resident_id is not None and account.resident_id == getattr(actor, "resident_id", None):
        return True
    if account.organisation_id is not None:
        from gongzhi.core.access import grants

        if any(
            org == account.organisation_id
            for role, _path, org in grants(actor)
            if role == "organisation_representative"
        ):
            return True
    return bool(account.place_path) and _may_manage(actor, account.place_path)


def counter_for(offer: Offer) -> str:
    return f"m{offer.merchant_id}" if offer.merchant_id else f"c{offer.community_id}"


def require_counter(actor: Any, *, merchant: Organisation | None = None, community: Place | None = None) -> str:
    """The counter (merchant, or a community's own shop) the actor verifies at; NotFound if not theirs."""
    require_authenticated(actor)
    if merchant is not None:
        if actor.is_superuser or is_clerk_of(actor, merchant.pk):
            return f"m{merchant.pk}"
        raise NotFound()
    if community is not None and reach(actor, Permission.REDEMPTION_VERIFY).covers(community.path):
        return f"c{community.pk}"
    raise NotFound()


def _audit(actor: Any, action: str, target: Any, place_path: str, changes: dict | None = None) -> None:
    audit_record(actor=actor, action=action, target=target, place_path=place_path, changes=changes or {})


# ---------------------------------------------------------------- alliance


def alliance_join(
    *, actor: Any, merchant: Organisation, place: Place, agreement_signed_on: date, agreement_file: Any = None
) -> AllianceMembership:
    """Enrol a merchant in a community's or street's alliance (商居联盟) with its signed agreement."""
    require_authenticated(actor)
    if not _may_manage(actor, place.path):
        raise NotFound()
    if place.kind not in (PlaceKind.COMMUNITY, PlaceKind.STREET):
        raise ValidationFailed(fields={"place": _("An alliance belongs to a community or a street.")})
    if merchant.kind != OrganisationKind.MERCHANT or not merchant.is_active:
        raise ValidationFailed(fields={"merchant": _("Only an active merchant can join the alliance.")})
    if agreement_signed_on is None or agreement_signed_on > timezone.localdate():
        raise ValidationFailed(fields={"agreement_signed_on": _("Enter the date the agreement was signed.")})
    if agreement_file:
        _check_agreement_file(agreement_file)
    existing = AllianceMembership.objects.filter(merchant=merchant, place=place, state="active").first()
    if existing is not None:
        return existing
    with transaction.atomic():
        membership = AllianceMembership(
            merchant=merchant, place=place, agreement_signed_on=agreement_signed_on, created_by=actor
        )
        if agreement_file:
            membership.agreement_file = agreement_file
        try:
            with transaction.atomic():
                membership.save()
        except IntegrityError:
            return AllianceMembership.objects.get(merchant=merchant, place=place, state="active")
        _audit(actor, "shop.alliance_join", membership, place.path, {"merchant": merchant.pk})
    return membership


AGREEMENT_SUFFIXES = (".pdf", ".jpg", ".jpeg", ".png")
MAX_AGREEMENT_BYTES = 10 * 1024 * 1024


def _check_agreement_file(upload: Any) -> None:
    """A scan or photo of the signed agreement: PDF, JPEG or PNG, at most 10 MB."""
    name = (getattr(upload, "name", "") or "").lower()
    if not name.endswith(AGREEMENT_SUFFIXES):
        raise ValidationFailed(fields={"agreement_file": _("Upload the agreement as a PDF, JPEG or PNG file.")})
    if (getattr(upload, "size", 0) or 0) > MAX_AGREEMENT_BYTES:
        raise ValidationFailed(fields={"agreement_file": _("The agreement file is larger than 10 MB.")})


def alliance_end(*, actor: Any, membership: AllianceMembership) -> AllianceMembership:
    """End a merchant's membership (the agreement ended); its offers stay as they are, for the settlement."""
    require_authenticated(actor)
    if not _may_manage(actor, membership.place.path):
        raise NotFound()
    with transaction.atomic():
        updated = AllianceMembership.objects.filter(pk=membership.pk, state="active").update(
            state="ended", ended_at=timezone.now()
        )
        if updated:
            _audit(actor, "shop.alliance_end", membership, membership.place.path)
    membership.refresh_from_db()
    return membership


def _alliance_member(merchant: Organisation, community: Place) -> bool:
    places = [community.pk, *community.ancestor_ids]
    return AllianceMembership.objects.filter(merchant=merchant, place_id__in=places, state="active").exists()


# ---------------------------------------------------------------- offers


@dataclass
class OfferInput:
    title: str
    points_price: int
    stock: int
    valid_from: date
    valid_until: date
    kind: str = Offer.Kind.GOODS
    description: str = ""
    cash_price: Decimal = Decimal("0")
    discount_value: Decimal = Decimal("0")
    per_person_limit: int | None = None
    account_kinds: list[str] | None = None
    eligible_place_ids: list[int] | None = None


def _offer_errors(data: OfferInput, photo: Any) -> dict:
    errors: dict[str, Any] = {}
    if not (data.title or "").strip():
        errors["title"] = _("Give the offer a title.")
    elif len(data.title) > 120:
        errors["title"] = _("The title is too long (at most 120 characters).")
    if not isinstance(data.points_price, int) or data.points_price <= 0:
        errors["points_price"] = _("Enter a whole number of points greater than zero.")
    if not isinstance(data.stock, int) or data.stock < 0:
        errors["stock"] = _("Enter the stock as a whole number, zero or more.")
    if data.kind not in Offer.Kind.values:
        errors["kind"] = _("Choose a kind.")
    for name in ("cash_price", "discount_value"):
        value = getattr(data, name)
        if value is None or Decimal(value) < 0:
            errors[name] = _("Enter an amount in yuan, zero or more.")
    if data.per_person_limit is not None and data.per_person_limit <= 0:
        errors["per_person_limit"] = _("Leave the limit empty, or enter a whole number greater than zero.")
    if not data.valid_from or not data.valid_until:
        errors["valid_until"] = _("Enter both dates.")
    elif data.valid_until < data.valid_from:
        errors["valid_until"] = _("The offer must end on or after the day it starts.")
    kinds = data.account_kinds or []
    if any(kind not in [str(k) for k in HOLDER_KINDS] for kind in kinds):
        errors["account_kinds"] = _("Unknown kind of account.")
    if photo:
        name = (getattr(photo, "name", "") or "").lower()
        if not name.endswith(PHOTO_TYPES):
            errors["photo"] = _("Send a photo as JPEG, PNG or WebP.")
        elif getattr(photo, "size", 0) > PHOTO_MAX_BYTES:
            errors["photo"] = _("The photo is too large (at most 5 MB).")
    return errors


def offer_create(
    *, actor: Any, community: Place, merchant: Organisation | None, data: OfferInput, photo: Any = None
) -> Offer:
    """A draft offer of a merchant (by its clerk or shop staff) or of the community's own points shop (staff)."""
    require_authenticated(actor)
    staff = _may_manage(actor, community.path)
    if merchant is None and not staff:
        raise NotFound()
    if merchant is not None and not (staff or is_clerk_of(actor, merchant.pk)):
        raise NotFound()
    if community.kind not in (PlaceKind.COMMUNITY, PlaceKind.STREET):
        raise ValidationFailed(fields={"community": _("Offers are shown by a community or a street.")})
    if merchant is not None and not _alliance_member(merchant, community):
        raise Conflict(
            _("This merchant has not joined the alliance of this community or street yet."), code="not_in_alliance"
        )
    errors = _offer_errors(data, photo)
    eligible = []
    if data.eligible_place_ids:
        eligible = list(Place.objects.filter(pk__in=data.eligible_place_ids, kind=PlaceKind.COMMUNITY, is_active=True))
        if len(eligible) != len(set(data.eligible_place_ids)):
            errors["eligible_places"] = _("Choose communities only.")
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        offer = Offer(
            merchant=merchant,
            community=community,
            account_kinds=list(data.account_kinds or []),
            kind=data.kind,
            title=data.title.strip(),
            description=(data.description or "").strip(),
            points_price=data.points_price,
            cash_price=Decimal(data.cash_price or 0),
            discount_value=Decimal(data.discount_value or 0),
            stock=data.stock,
            per_person_limit=data.per_person_limit,
            valid_from=data.valid_from,
            valid_until=data.valid_until,
        )
        if photo:
            offer.photo = photo
        offer.save()
        if eligible:
            offer.eligible_places.set(eligible)
        if data.stock:
            StockMovement.objects.create(
                offer=offer, change=data.stock, reason=StockMovement.Reason.RESTOCK, actor=actor, note=_("first stock")
            )
        _audit(actor, "shop.offer_create", offer, community.path, {"title": offer.title, "stock": data.stock})
    return offer


def _locked_offer(offer: Offer) -> Offer:
    return Offer.objects.select_for_update().select_related("community").get(pk=offer.pk)


def _move_offer(
    actor: Any, offer: Offer, *, from_states: tuple[str, ...], to_state: str, action: str, **extra
) -> Offer:
    with transaction.atomic():
        locked = _locked_offer(offer)
        if locked.state == to_state:
            return locked
        if locked.state not in from_states:
            raise Conflict(
                _("This offer is %(state)s and cannot be changed this way.") % {"state": locked.get_state_display()},
                code="offer_state",
            )
        locked.state = to_state
        for name, value in extra.items():
            setattr(locked, name, value)
        locked.save(update_fields=["state", *extra])
        _audit(actor, action, locked, locked.community.path, {"state": to_state})
    return locked


def offer_submit(*, actor: Any, offer: Offer) -> Offer:
    """Draft → waiting for the community's approval."""
    require_authenticated(actor)
    if not _may_edit_offer(actor, offer):
        raise NotFound()
    return _move_offer(actor, offer, from_states=("draft",), to_state="pending", action="shop.offer_submit")


def offer_approve(*, actor: Any, offer: Offer) -> Offer:
    """The community approves an offer; only approved offers show to residents."""
    require_authenticated(actor)
    if not reach(actor, Permission.OFFER_APPROVE).covers(offer.community.path):
        raise NotFound()
    return _move_offer(
        actor,
        offer,
        from_states=("pending",),
        to_state="approved",
        action="shop.offer_approve",
        approved_by=actor,
        approved_at=timezone.now(),
    )


def offer_withdraw(*, actor: Any, offer: Offer) -> Offer:
    """Take an offer off the shelf. Open orders stay valid until picked up, cancelled or expired."""
    require_authenticated(actor)
    if not (_may_edit_offer(actor, offer) or reach(actor, Permission.OFFER_APPROVE).covers(offer.community.path)):
        raise NotFound()
    return _move_offer(
        actor, offer, from_states=("draft", "pending", "approved"), to_state="withdrawn", action="shop.offer_withdraw"
    )


def offer_restock(*, actor: Any, offer: Offer, change: int, note: str = "") -> Offer:
    """Add stock (positive) or correct it (negative, never below zero), with a StockMovement row."""
    require_authenticated(actor)
    if not _may_edit_offer(actor, offer):
        raise NotFound()
    if not isinstance(change, int) or isinstance(change, bool) or change == 0:
        raise ValidationFailed(fields={"change": _("Enter a whole number other than zero.")})
    if change < 0 and not (note or "").strip():
        raise ValidationFailed(fields={"note": _("Say why the stock is lowered.")})
    with transaction.atomic():
        updated = Offer.objects.filter(pk=offer.pk, stock__gte=max(0, -change)).update(stock=F("stock") + change)
        if not updated:
            raise StockExhausted(_("The stock cannot go below zero."))
        reason = StockMovement.Reason.RESTOCK if change > 0 else StockMovement.Reason.CORRECTION
        StockMovement.objects.create(offer=offer, change=change, reason=reason, actor=actor, note=(note or "")[:255])
        _audit(actor, "shop.offer_restock", offer, offer.community.path, {"change": change, "note": note})
    offer.refresh_from_db(fields=["stock"])
    return offer


# ---------------------------------------------------------------- windows and settings


def window_create(*, actor: Any, community: Place, name: str, starts_at: datetime, ends_at: datetime) -> ExchangeWindow:
    """An exchange window (e.g. a quarter's redemption fortnight) for one community."""
    require_authenticated(actor)
    if not _may_manage(actor, community.path):
        raise NotFound()
    errors = {}
    if not (name or "").strip():
        errors["name"] = _("Give the window a name, e.g. “2026 Q4”.")
    if not starts_at or not ends_at:
        errors["ends_at"] = _("Enter when the window opens and closes.")
    elif ends_at <= starts_at:
        errors["ends_at"] = _("The window must close after it opens.")
    if errors:
        raise ValidationFailed(fields=errors)
    overlapping = ExchangeWindow.objects.filter(community=community, starts_at__lt=ends_at, ends_at__gt=starts_at)
    if overlapping.exists():
        raise ValidationFailed(fields={"starts_at": _("This window overlaps another window of the community.")})
    with transaction.atomic():
        window = ExchangeWindow.objects.create(
            community=community, name=name.strip()[:60], starts_at=starts_at, ends_at=ends_at
        )
        _audit(
            actor, "shop.window_create", window, community.path, {"starts_at": str(starts_at), "ends_at": str(ends_at)}
        )
    return window


def shop_settings_update(
    *, actor: Any, community: Place, always_open: bool, unclaimed_expiry_hours: int
) -> ShopSettings:
    require_authenticated(actor)
    if not _may_manage(actor, community.path):
        raise NotFound()
    if not isinstance(unclaimed_expiry_hours, int) or not 1 <= unclaimed_expiry_hours <= 24 * 60:
        raise ValidationFailed(
            fields={"unclaimed_expiry_hours": _("Enter a number of hours between 1 and 1440 (60 days).")}
        )
    with transaction.atomic():
        settings, _created = ShopSettings.objects.select_for_update().get_or_create(community=community)
        settings.always_open = bool(always_open)
        settings.unclaimed_expiry_hours = unclaimed_expiry_hours
        settings.save()
        _audit(
            actor,
            "shop.settings_update",
            settings,
            community.path,
            {"always_open": settings.always_open, "hours": unclaimed_expiry_hours},
        )
    return settings


@dataclass(frozen=True)
class WindowState:
    open: bool
    window: ExchangeWindow | None
    next_window: ExchangeWindow | None = None


def window_state(community_id: int | None, now: datetime | None = None) -> WindowState:
    """Whether exchange is open now for residents of ``community_id``, and in which window."""
    now = now or timezone.now()
    settings = ShopSettings.objects.filter(community_id=community_id).first() if community_id else None
    if settings is not None and settings.always_open:
        return WindowState(True, None)
    window = (
        ExchangeWindow.objects.filter(community_id=community_id, starts_at__lte=now, ends_at__gt=now)
        .order_by("starts_at")
        .first()
    )
    if window is not None:
        return WindowState(True, window)
    upcoming = ExchangeWindow.objects.filter(community_id=community_id, starts_at__gt=now).order_by("starts_at").first()
    return WindowState(False, None, upcoming)


def _quarter_start(now: datetime) -> datetime:
    local = timezone.localtime(now)
    month = 3 * ((local.month - 1) // 3) + 1
    return local.replace(month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


def _expiry_hours(offer: Offer, account: PointsAccount) -> int:
    ids = [offer.community_id, account.community_id]
    rows = dict(
        ShopSettings.objects.filter(community_id__in=[i for i in ids if i]).values_list(
            "community_id", "unclaimed_expiry_hours"
        )
    )
    return rows.get(offer.community_id) or rows.get(account.community_id) or DEFAULT_EXPIRY_HOURS


# ---------------------------------------------------------------- eligibility


def _path_ids(path: str) -> list[int]:
    return [int(part) for part in (path or "").strip("/").split("/") if part]


def offer_eligible(offer: Offer, account: PointsAccount) -> bool:
    """Eligible places given: the account lies under one of them; none given: under the offer's community."""
    if offer.account_kinds and account.kind not in offer.account_kinds:
        return False
    ids = set(_path_ids(account.place_path))
    eligible = [place.pk for place in offer.eligible_places.all()]
    if eligible:
        return bool(ids & set(eligible))
    return offer.community_id in ids


def _check_redeemable(offer: Offer, account: PointsAccount, today: date) -> None:
    if offer.state != Offer.State.APPROVED:
        raise Conflict(_("This offer is not on offer now."), code="offer_unavailable")
    if not offer.valid_from <= today <= offer.valid_until:
        raise Conflict(
            _("This offer can be redeemed from %(start)s to %(end)s.")
            % {"start": offer.valid_from.isoformat(), "end": offer.valid_until.isoformat()},
            code="offer_not_valid_today",
        )
    if not offer_eligible(offer, account):
        raise Conflict(_("This offer is not open to your account."), code="not_eligible")


# ---------------------------------------------------------------- redemption


_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,96}$")


def _stored_key(actor: Any, idempotency_key: str) -> str:
    key = (idempotency_key or "").strip()
    if not _KEY.match(key):
        raise ValidationFailed(
            fields={"idempotency_key": _("Send an idempotency key: 1–96 letters, digits or . _ : -")}
        )
    return f"{actor.pk}:{key}"


def _same_order(existing: Redemption, offer: Offer, account: PointsAccount, quantity: int) -> Redemption:
    if existing.offer_id != offer.pk or existing.account_id != account.pk or existing.quantity != quantity:
        raise Conflict(_("This idempotency key was already used for a different order."), code="idempotency_conflict")
    return existing


def _new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def pickup_token(redemption: Redemption) -> str:
    """The signed QR payload of an order: its id and code, signed with the site's key."""
    return signing.dumps({"r": redemption.pk, "c": redemption.pickup_code}, salt=PICKUP_SALT, compress=True)


def redemption_place(
    *, actor: Any, offer: Offer, account: PointsAccount, quantity: int = 1, idempotency_key: str
) -> Redemption:
    """Place an order: stock taken and points held in one transaction; returns the order with its pickup code.

    The same key returns the same order (placed by the same person); nothing is held twice.
    """
    require_authenticated(actor)
    if not may_act_for_account(actor, account):
        raise NotFound()
    key = _stored_key(actor, idempotency_key)
    offer = Offer.objects.get(pk=offer.pk)  # the current state and price, not what the caller loaded earlier
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationFailed(fields={"quantity": _("Enter a quantity from 1 to %(max)s.") % {"max": MAX_QUANTITY}})
    existing = Redemption.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return _same_order(existing, offer, account, quantity)
    now = timezone.now()
    _check_redeemable(offer, account, timezone.localdate(now))
    window = window_state(account.community_id or offer.community_id, now)
    if not window.open:
        raise OutOfWindow()
    points = offer.points_price * quantity
    hours = _expiry_hours(offer, account)
    with transaction.atomic():
        # 1. The account first: one account's orders queue here, so the limit below is counted under the lock.
        PointsAccount.objects.select_for_update().only("pk").get(pk=account.pk)
        existing = Redemption.objects.filter(idempotency_key=key).first()
        if existing is not None:  # the same request, committed while this one waited for the lock
            return _same_order(existing, offer, account, quantity)
        if offer.per_person_limit:
            taken = Redemption.objects.filter(offer=offer, account=account, state__in=("held", "completed"))
            taken = (
                taken.filter(window=window.window)
                if window.window
                else taken.filter(placed_at__gte=_quarter_start(now))
            )
            already = taken.aggregate(total=Sum("quantity"))["total"] or 0
            if already + quantity > offer.per_person_limit:
                raise LimitReached(
                    _("The limit is %(limit)s per person in this exchange window; you have %(taken)s already.")
                    % {"limit": offer.per_person_limit, "taken": already}
                )
        # 2. The stock, guarded: never below zero, whatever the concurrency.
        if not Offer.objects.filter(pk=offer.pk, stock__gte=quantity).update(stock=F("stock") - quantity):
            raise StockExhausted()
        # 3. The points: refused (InsufficientPoints) if the balance does not cover them; the stock update rolls back.
        hold = points_hold(
            account=account,
            amount=points,
            idempotency_key=f"shop:hold:{key}",
            actor=actor,
            source_type="shop.offer",
            source_id=str(offer.pk),
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
            offer=offer, change=-quantity, reason=StockMovement.Reason.REDEMPTION, redemption=redemption, actor=actor
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
    raise Conflict(_("Could not give this order a pickup code; please try again."), code="code_unavailable")


def _parse_code(code: str) -> tuple[int | None, str]:
    """(order id from a scanned QR or None, six-digit code). Wrong input → WrongCode."""
    text = re.sub(r"\s+", "", code or "")
    if re.fullmatch(r"\d{6}", text):
        return None, text
    try:
        payload = signing.loads(text, salt=PICKUP_SALT)
        return int(payload["r"]), str(payload["c"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise WrongCode() from None


def redemption_verify(
    *, actor: Any, code: str, merchant: Organisation | None = None, community: Place | None = None
) -> Redemption:
    """A clerk of ``merchant`` (or staff at ``community``'s own shop) hands over the goods: the hold is captured."""
    counter = require_counter(actor, merchant=merchant, community=community)
    order_id, digits = _parse_code(code)
    candidates = Redemption.objects.filter(counter=counter, pickup_code=digits)
    if order_id is not None:
        candidates = candidates.filter(pk=order_id)
    with transaction.atomic():
        found = candidates.filter(state="held").values_list("pk", flat=True).first()
        if found is None:
            used = candidates.exclude(state="held").order_by("-finished_at").first()
            if used is not None and used.state == Redemption.State.COMPLETED:
                raise CodeUsed(
                    _("This code was already used on %(when)s.")
                    % {"when": timezone.localtime(used.finished_at).strftime("%Y-%m-%d %H:%M")}
                )
            if used is not None and order_id is not None:
                raise Conflict(
                    _("This order was %(state)s and cannot be picked up.") % {"state": used.get_state_display()},
                    code="order_closed",
                )
            raise WrongCode()
        redemption = Redemption.objects.select_for_update().select_related("offer__community", "account").get(pk=found)
        if redemption.state != Redemption.State.HELD:  # finished while this call waited for the lock
            raise CodeUsed()
        if redemption.expires_at <= timezone.now():
            raise Conflict(_("This order has expired; the points go back to the resident."), code="order_expired")
        capture = points_capture(
            account=redemption.account,
            amount=redemption.points,
            idempotency_key=f"shop:capture:{redemption.pk}",
            actor=actor,
            source_type="shop.redemption",
            source_id=str(redemption.pk),
        )
        redemption.state = Redemption.State.COMPLETED
        redemption.verified_by = actor
        redemption.finished_at = timezone.now()
        redemption.finish_transfer = capture
        redemption.save(update_fields=["state", "verified_by", "finished_at", "finish_transfer"])
        _audit(
            actor,
            "shop.redemption_verify",
            redemption,
            redemption.account.place_path,
            {"points": redemption.points, "transfer": capture.pk},
        )
    return redemption


def _release(*, actor: Any, redemption: Redemption, state: str, action: str) -> tuple[Redemption, bool]:
    """Move a held order to ``state`` (cancelled / expired), releasing points and stock; (order, changed)."""
    with transaction.atomic():
        locked = Redemption.objects.select_for_update().select_related("account", "offer").get(pk=redemption.pk)
        if locked.state == state:
            return locked, False
        if locked.state != Redemption.State.HELD:
            raise Conflict(
                _("This order is %(state)s and cannot be changed.") % {"state": locked.get_state_display()},
                code="order_closed",
            )
        release = points_release(
            account=locked.account,
            amount=locked.points,
            idempotency_key=f"shop:release:{locked.pk}",
            actor=actor,
            source_type="shop.redemption",
            source_id=str(locked.pk),
        )
        Offer.objects.filter(pk=locked.offer_id).update(stock=F("stock") + locked.quantity)
        StockMovement.objects.create(
            offer_id=locked.offer_id,
            change=locked.quantity,
            reason=StockMovement.Reason.RELEASE,
            redemption=locked,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
        )
        locked.state = state
        locked.finished_at = timezone.now()
        locked.finish_transfer = release
        locked.save(update_fields=["state", "finished_at", "finish_transfer"])
        _audit(actor, action, locked, locked.account.place_path, {"points": locked.points, "transfer": release.pk})
    return locked, True


def redemption_cancel(*, actor: Any, redemption: Redemption) -> Redemption:
    """The resident (or shop staff) cancels an open order: points back to the balance, stock back on the shelf."""
    require_authenticated(actor)
    account = redemption.account
    offer = redemption.offer
    if not (may_act_for_account(actor, account) or _may_manage(actor, offer.community.path)):
        raise NotFound()
    order, _changed = _release(
        actor=actor, redemption=redemption, state=Redemption.State.CANCELLED, action="shop.redemption_cancel"
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
        redemption = Redemption(pk=pk)
        try:
            _order, changed = _release(
                actor=None, redemption=redemption, state=Redemption.State.EXPIRED, action="shop.redemption_expire"
            )
        except Conflict:  # picked up or cancelled meanwhile
            continue
        expired += changed
    return expired


# ---------------------------------------------------------------- points card


def _new_card_code() -> str:
    return f"{secrets.randbelow(100_000_000):08d}"


def points_card_issue(*, actor: Any, account: PointsAccount, reissue: bool = False) -> PointsCard:
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
                    PointsCard.objects.filter(pk=card.pk).update(code=code, issued_at=timezone.now())
                    card.refresh_from_db()
                _audit(actor, "shop.card_issue", card, account.place_path, {"reissue": reissue})
            return card
        except IntegrityError:
            existing = PointsCard.objects.filter(account=account).first()
            if existing is not None and card is None:
                return existing
    raise Conflict(_("Could not issue a card code; please try again."), code="code_unavailable")


def card_token(card: PointsCard) -> str:
    return signing.dumps({"a": card.account_id, "k": card.code}, salt=CARD_SALT, compress=True)


def resident_card(*, actor: Any) -> PointsCard | None:
    """The signed-in resident's card, issued on first use; None when the login has no resident."""
    if getattr(actor, "resident_id", None) is None:
        return None
    return points_card_issue(actor=actor, account=ensure_resident_account(actor))


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
    *, actor: Any, code: str, merchant: Organisation | None = None, community: Place | None = None
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
        raise NotFound(
            _("No points card has this code. Check the eight digits, or ask for a new card."), code="wrong_card"
        )
    orders = list(
        Redemption.objects.filter(account=card.account, counter=counter, state="held")
        .select_related("offer")
        .order_by("placed_at")
    )
    with transaction.atomic():
        _audit(actor, "shop.card_lookup", card, card.account.place_path, {"counter": counter, "orders": len(orders)})
    return CardLookup(account=card.account, open_orders=orders)


def ensure_resident_account(actor: Any) -> PointsAccount | None:
    """The resident's points account that shops use: an existing one (party member first), else a new one."""
    if getattr(actor, "resident_id", None) is None:
        return None
    existing = (
        PointsAccount.objects.filter(resident_id=actor.resident_id, kind__in=("party_member", "resident"))
        .order_by("kind")  # party_member before resident
        .first()
    )
    return existing or account_for_resident(actor.resident)
