"""State changes of the shop's shelf: the merchant alliance, offers and their stock, exchange windows, settings.

Orders and points cards are in ``services`` (which re-exports these, so callers import every service from there).

- A merchant offers through a community's or street's alliance (商居联盟), with its signed agreement on file.
- An offer is a draft, waits for the community's approval, is approved (residents see it) or withdrawn; each move
  is made under a lock on the offer. Its photo is checked and re-encoded (no EXIF) by ``core.uploads``.
- Stock changes only through guarded updates, each with a ``StockMovement`` row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import reach, require_authenticated
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.roles import Permission
from gongzhi.core.uploads import DOCUMENTS, IMAGES, MB, clean_upload, upload_problem
from gongzhi.people.models import Organisation, OrganisationKind
from gongzhi.places.models import Place, PlaceKind
from gongzhi.points.selectors import holder_kinds

from .access import is_clerk_of, may_edit_offer, may_manage
from .errors import ShopError
from .locks import lock_offer, lock_settings
from .models import AllianceMembership, ExchangeWindow, Offer, ShopSettings, StockMovement

PHOTO_MAX_BYTES = 5 * MB
MAX_AGREEMENT_BYTES = 10 * MB


def _audit(actor: Actor | None, action: str, target: Any, place_path: str, changes: dict | None = None) -> None:
    audit_record(actor=actor, action=action, target=target, place_path=place_path, changes=changes or {})


# ---------------------------------------------------------------- alliance


def alliance_join(
    *,
    actor: Actor,
    merchant: Organisation,
    place: Place,
    agreement_signed_on: date,
    agreement_file: Any = None,
    now: datetime | None = None,
) -> AllianceMembership:
    """Enrol a merchant in a community's or street's alliance (商居联盟) with its signed agreement."""
    require_authenticated(actor)
    if not may_manage(actor, place.path):
        raise NotFound()
    today = timezone.localdate(now or timezone.now())
    if place.kind not in (PlaceKind.COMMUNITY, PlaceKind.STREET):
        raise ValidationFailed(fields={"place": _("An alliance belongs to a community or a street.")})
    if merchant.kind != OrganisationKind.MERCHANT or not merchant.is_active:
        raise ValidationFailed(fields={"merchant": _("Only an active merchant can join the alliance.")})
    if agreement_signed_on is None or agreement_signed_on > today:
        raise ValidationFailed(fields={"agreement_signed_on": _("Enter the date the agreement was signed.")})
    if agreement_file:
        # A scan or photo of the signed agreement: PDF, JPEG or PNG by its first bytes, at most 10 MB.
        agreement_file = clean_upload(
            agreement_file, field="agreement_file", kinds=DOCUMENTS, max_bytes=MAX_AGREEMENT_BYTES
        )
    existing = AllianceMembership.objects.filter(merchant=merchant, place=place, state="active").first()
    if existing is not None:
        return existing
    with transaction.atomic():
        membership = AllianceMembership(
            merchant=merchant, place=place, agreement_signed_on=agreement_signed_on, created_by=actor
        )
        if now is not None:
            membership.joined_at = now
        if agreement_file:
            membership.agreement_file = agreement_file
        try:
            with transaction.atomic():
                membership.save()
        except IntegrityError:
            return AllianceMembership.objects.get(merchant=merchant, place=place, state="active")
        _audit(actor, "shop.alliance_join", membership, place.path, {"merchant": merchant.pk})
    return membership


def alliance_end(*, actor: Actor, membership: AllianceMembership, now: datetime | None = None) -> AllianceMembership:
    """End a merchant's membership (the agreement ended); its offers stay as they are, for the settlement."""
    require_authenticated(actor)
    if not may_manage(actor, membership.place.path):
        raise NotFound()
    with transaction.atomic():
        updated = AllianceMembership.objects.filter(pk=membership.pk, state="active").update(
            state="ended", ended_at=now or timezone.now()
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
    if any(kind not in holder_kinds() for kind in data.account_kinds or []):
        errors["account_kinds"] = _("Unknown kind of account.")
    if photo:
        problem = upload_problem(photo, kinds=IMAGES, max_bytes=PHOTO_MAX_BYTES)
        if problem:
            errors["photo"] = problem
    return errors


def offer_create(
    *, actor: Actor, community: Place, merchant: Organisation | None, data: OfferInput, photo: Any = None
) -> Offer:
    """A draft offer of a merchant (by its clerk or shop staff) or of the community's own points shop (staff)."""
    require_authenticated(actor)
    staff = may_manage(actor, community.path)
    if merchant is None and not staff:
        raise NotFound()
    if merchant is not None and not (staff or is_clerk_of(actor, merchant.pk)):
        raise NotFound()
    if community.kind not in (PlaceKind.COMMUNITY, PlaceKind.STREET):
        raise ValidationFailed(fields={"community": _("Offers are shown by a community or a street.")})
    if merchant is not None and not _alliance_member(merchant, community):
        raise ShopError.NOT_IN_ALLIANCE()
    errors = _offer_errors(data, photo)
    eligible = []
    if data.eligible_place_ids:
        eligible = list(Place.objects.filter(pk__in=data.eligible_place_ids, kind=PlaceKind.COMMUNITY, is_active=True))
        if len(eligible) != len(set(data.eligible_place_ids)):
            errors["eligible_places"] = _("Choose communities only.")
    if errors:
        raise ValidationFailed(fields=errors)
    if photo:  # a fresh copy of the picture, without its EXIF (no GPS position leaves with it)
        photo = clean_upload(photo, field="photo", kinds=IMAGES, max_bytes=PHOTO_MAX_BYTES)
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


def _move_offer(
    actor: Actor, offer: Offer, *, from_states: tuple[str, ...], to_state: str, action: str, **extra: Any
) -> Offer:
    with transaction.atomic():
        locked = lock_offer(offer.pk)
        if locked.state == to_state:
            return locked
        if locked.state not in from_states:
            raise ShopError.OFFER_STATE(
                _("This offer is %(state)s and cannot be changed this way.") % {"state": locked.get_state_display()}
            )
        locked.state = to_state
        for name, value in extra.items():
            setattr(locked, name, value)
        locked.save(update_fields=["state", *extra])
        _audit(actor, action, locked, offer.community.path, {"state": to_state})
    return locked


def offer_submit(*, actor: Actor, offer: Offer) -> Offer:
    """Draft → waiting for the community's approval."""
    require_authenticated(actor)
    if not may_edit_offer(actor, offer):
        raise NotFound()
    return _move_offer(actor, offer, from_states=("draft",), to_state="pending", action="shop.offer_submit")


def offer_approve(*, actor: Actor, offer: Offer, now: datetime | None = None) -> Offer:
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
        approved_at=now or timezone.now(),
    )


def offer_withdraw(*, actor: Actor, offer: Offer) -> Offer:
    """Take an offer off the shelf. Open orders stay valid until picked up, cancelled or expired."""
    require_authenticated(actor)
    if not (may_edit_offer(actor, offer) or reach(actor, Permission.OFFER_APPROVE).covers(offer.community.path)):
        raise NotFound()
    return _move_offer(
        actor, offer, from_states=("draft", "pending", "approved"), to_state="withdrawn", action="shop.offer_withdraw"
    )


def offer_restock(*, actor: Actor, offer: Offer, change: int, note: str = "") -> Offer:
    """Add stock (positive) or correct it (negative, never below zero), with a StockMovement row."""
    require_authenticated(actor)
    if not may_edit_offer(actor, offer):
        raise NotFound()
    if not isinstance(change, int) or isinstance(change, bool) or change == 0:
        raise ValidationFailed(fields={"change": _("Enter a whole number other than zero.")})
    if change < 0 and not (note or "").strip():
        raise ValidationFailed(fields={"note": _("Say why the stock is lowered.")})
    with transaction.atomic():
        updated = Offer.objects.filter(pk=offer.pk, stock__gte=max(0, -change)).update(stock=F("stock") + change)
        if not updated:
            raise ShopError.STOCK_EXHAUSTED(_("The stock cannot go below zero."))
        reason = StockMovement.Reason.RESTOCK if change > 0 else StockMovement.Reason.CORRECTION
        StockMovement.objects.create(offer=offer, change=change, reason=reason, actor=actor, note=(note or "")[:255])
        _audit(actor, "shop.offer_restock", offer, offer.community.path, {"change": change, "note": note})
    offer.refresh_from_db(fields=["stock"])
    return offer


# ---------------------------------------------------------------- windows and settings


def window_create(
    *, actor: Actor, community: Place, name: str, starts_at: datetime, ends_at: datetime
) -> ExchangeWindow:
    """An exchange window (e.g. a quarter's redemption fortnight) for one community."""
    require_authenticated(actor)
    if not may_manage(actor, community.path):
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
    *, actor: Actor, community: Place, always_open: bool, unclaimed_expiry_hours: int
) -> ShopSettings:
    require_authenticated(actor)
    if not may_manage(actor, community.path):
        raise NotFound()
    if not isinstance(unclaimed_expiry_hours, int) or not 1 <= unclaimed_expiry_hours <= 24 * 60:
        raise ValidationFailed(
            fields={"unclaimed_expiry_hours": _("Enter a number of hours between 1 and 1440 (60 days).")}
        )
    with transaction.atomic():
        settings = lock_settings(community)
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
