"""Micro-wishes (微心愿): post → approve (or refuse) → on the wall → claim (withdraw) → fulfil with a photo →
confirm by the resident (or the worker) → the claimer's points claim.

- A wish's public text may not carry an ID card number or a phone number: refused when posted and again when
  approved (``wish_personal_data``); the wall shows the resident's name masked.
- A resident posts for their own household; staff (``volunteering.manage`` over the household) post for a
  resident, and then they (or the resident) confirm.
- One claimer at a time (under the wish's lock): a party member for themselves, a team by its lead, an organisation
  by its representative. A withdrawn claim is recorded (``WishEvent``) with why, and the wish goes back on the wall.
- On confirmation the claimer earns the wish's point item through ``gongzhi.points.services.claim_submit`` (into
  the review queue; key ``volunteering:wish:<id>``), submitted as the account that claimed the wish.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import require_authenticated
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import DomainError, NotFound, ValidationFailed
from gongzhi.core.uploads import clean_upload
from gongzhi.people.models import Organisation, PartyMembership, Resident
from gongzhi.places.models import Place, PlaceKind
from gongzhi.points.models import PointItem
from gongzhi.points.selectors import resident_account, saved_account
from gongzhi.points.services import claim_submit, organisation_account

from .access import may_approve_wishes, may_manage, represented_organisation_ids, resident_of
from .errors import VolunteeringError
from .locks import lock_wish
from .models import ClaimerKind, Team, TeamMember, Wish, WishEvent

# An ID card number (15 or 18 characters) and a mainland mobile or landline number, with spaces or dashes inside.
_ID_CARD = re.compile(r"(?<!\d)(\d{17}[\dXx]|\d{15})(?![\dXx])")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}|0\d{2,3}-?\d{7,8})(?!\d)")
UNCLAIMED_FLAG_DAYS = 7


def personal_data_in(text: str) -> bool:
    """Whether ``text`` carries an ID card number or a phone number."""
    return bool(_ID_CARD.search(text or "") or _PHONE.search(text or ""))


def _check_public_text(title: str, text: str) -> None:
    fields = {
        name: _("Remove the ID card or phone number: this text is shown on the wish wall.")
        for name, value in (("title", title), ("public_text", text))
        if personal_data_in(value)
    }
    if fields:
        raise VolunteeringError.WISH_PERSONAL_DATA(fields=fields)


def _community_of(household: Place) -> Place | None:
    return Place.objects.filter(pk__in=household.ancestor_ids, kind=PlaceKind.COMMUNITY).first()


@transaction.atomic
def wish_post(
    *,
    actor: Actor,
    resident: Resident,
    title: str,
    public_text: str,
    due_on: date,
    point_item: PointItem | None = None,
    now: datetime,
) -> Wish:
    """Post a wish for ``resident`` (oneself, or a resident of the worker's reach); it waits for approval."""
    require_authenticated(actor)
    household = resident.household
    own = resident_of(actor)
    on_behalf = own is None or own.pk != resident.pk
    if household is None or (on_behalf and not may_manage(actor, household.path)):
        raise NotFound()
    title, public_text = (title or "").strip(), (public_text or "").strip()
    errors: dict[str, str] = {}
    if not title or len(title) > 60:
        errors["title"] = _("Say in a few words what is wished for (at most 60 characters).")
    if not public_text or len(public_text) > 500:
        errors["public_text"] = _("Describe the wish (at most 500 characters).")
    today = timezone.localdate(now)
    if due_on < today or due_on > today + timedelta(days=366):
        errors["due_on"] = _("A day from today to a year ahead.")
    community = _community_of(household)
    if community is None:
        errors["resident"] = _("The resident does not live in a community.")
    if point_item is not None and (community is None or not community.path.startswith(point_item.owner.path)):
        errors["point_item"] = _("Choose an item from the community's catalogue.")
    if errors:
        raise ValidationFailed(fields=errors)
    _check_public_text(title, public_text)
    assert community is not None
    wish = Wish.objects.create(
        community=community,
        household=household,
        resident=resident,
        posted_by=actor,
        on_behalf=on_behalf,
        title=title,
        public_text=public_text,
        due_on=due_on,
        point_item=point_item,
        posted_at=now,
    )
    audit_record(
        actor=actor,
        action="volunteering.wish_post",
        target=wish,
        place_path=household.path,
        changes={"title": title, "on_behalf": on_behalf},
        occurred_at=now,
    )
    return wish


def _decide(actor: Actor, wish: Wish) -> Wish:
    require_authenticated(actor)
    if not may_approve_wishes(actor, wish.household.path):
        raise NotFound()
    locked = lock_wish(wish.pk)
    if locked.state != Wish.State.SUBMITTED:
        raise VolunteeringError.WISH_STATE()
    return locked


@transaction.atomic
def wish_approve(*, actor: Actor, wish: Wish, point_item: PointItem | None = None, now: datetime) -> Wish:
    """Put the wish on the wall (the public text checked again for personal data)."""
    locked = _decide(actor, wish)
    _check_public_text(locked.title, locked.public_text)
    item = point_item or locked.point_item
    if item is not None and not wish.community.path.startswith(item.owner.path):
        raise ValidationFailed(fields={"point_item": _("Choose an item from the community's catalogue.")})
    Wish.objects.filter(pk=locked.pk).update(state=Wish.State.OPEN, decided_by=actor, decided_at=now, point_item=item)
    audit_record(
        actor=actor,
        action="volunteering.wish_approve",
        target=locked,
        place_path=wish.household.path,
        occurred_at=now,
    )
    locked.refresh_from_db()
    return locked


@transaction.atomic
def wish_refuse(*, actor: Actor, wish: Wish, reason: str, now: datetime) -> Wish:
    """Refuse a wish, saying why (the resident sees the reason)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": _("Say why the wish is refused.")})
    locked = _decide(actor, wish)
    Wish.objects.filter(pk=locked.pk).update(
        state=Wish.State.REFUSED, decided_by=actor, decided_at=now, refusal_reason=reason[:255]
    )
    audit_record(
        actor=actor,
        action="volunteering.wish_refuse",
        target=locked,
        place_path=wish.household.path,
        changes={"reason": reason[:255]},
        occurred_at=now,
    )
    locked.refresh_from_db()
    return locked


def _claimer(actor: Actor, kind: str, team: Team | None, organisation: Organisation | None) -> dict[str, Any]:
    if kind == ClaimerKind.PARTY_MEMBER:
        own = resident_of(actor)
        if own is None or not PartyMembership.objects.filter(resident=own, is_active=True).exists():
            raise VolunteeringError.NOT_ELIGIBLE(_("Only a party member can claim a wish for themselves."))
        return {"claimer_resident": own, "claimer_team": None, "claimer_organisation": None}
    if kind == ClaimerKind.TEAM:
        own = resident_of(actor)
        if (
            team is None
            or own is None
            or not TeamMember.objects.filter(
                team=team, resident=own, is_lead=True, state=TeamMember.State.ACTIVE
            ).exists()
        ):
            raise VolunteeringError.NOT_ELIGIBLE(_("Only a team's lead can claim a wish for the team."))
        return {"claimer_resident": own, "claimer_team": team, "claimer_organisation": None}
    if kind == ClaimerKind.ORGANISATION:
        if organisation is None or organisation.pk not in represented_organisation_ids(actor):
            raise VolunteeringError.NOT_ELIGIBLE(_("Only an organisation's representative can claim for it."))
        return {"claimer_resident": None, "claimer_team": None, "claimer_organisation": organisation}
    raise ValidationFailed(fields={"claimer_kind": _("Choose who claims the wish.")})


@transaction.atomic
def wish_claim(
    *,
    actor: Actor,
    wish: Wish,
    claimer_kind: str = ClaimerKind.PARTY_MEMBER,
    team: Team | None = None,
    organisation: Organisation | None = None,
    now: datetime,
) -> Wish:
    """Claim a wish on the wall for oneself (a party member), one's team (its lead) or organisation."""
    require_authenticated(actor)
    claimer = _claimer(actor, claimer_kind, team, organisation)
    locked = lock_wish(wish.pk)
    if locked.state in (Wish.State.CLAIMED, Wish.State.FULFILLED, Wish.State.CONFIRMED):
        raise VolunteeringError.WISH_ALREADY_CLAIMED()
    if locked.state != Wish.State.OPEN:
        raise NotFound()  # not on the wall: nobody outside sees it
    Wish.objects.filter(pk=locked.pk).update(
        state=Wish.State.CLAIMED, claimer_kind=claimer_kind, claimed_by=actor, claimed_at=now, **claimer
    )
    WishEvent.objects.create(wish=locked, action=WishEvent.Action.CLAIM, actor=actor, claimer_kind=claimer_kind, at=now)
    audit_record(
        actor=actor,
        action="volunteering.wish_claim",
        target=locked,
        place_path=wish.household.path,
        changes={"claimer_kind": claimer_kind},
        occurred_at=now,
    )
    locked.refresh_from_db()
    return locked


def _require_claimer(actor: Actor, wish: Wish) -> None:
    require_authenticated(actor)
    if wish.claimed_by_id != actor.pk:
        raise VolunteeringError.NOT_CLAIMER()


@transaction.atomic
def wish_claim_withdraw(*, actor: Actor, wish: Wish, reason: str, now: datetime) -> Wish:
    """Give a claim back (recorded, with why): the wish returns to the wall."""
    _require_claimer(actor, wish)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": _("Say why the claim is withdrawn.")})
    locked = lock_wish(wish.pk)
    if locked.state != Wish.State.CLAIMED or locked.claimed_by_id != actor.pk:
        raise VolunteeringError.WISH_STATE()
    Wish.objects.filter(pk=locked.pk).update(
        state=Wish.State.OPEN,
        claimer_kind="",
        claimer_resident=None,
        claimer_team=None,
        claimer_organisation=None,
        claimed_by=None,
        claimed_at=None,
    )
    WishEvent.objects.create(
        wish=locked,
        action=WishEvent.Action.WITHDRAW,
        actor=actor,
        claimer_kind=locked.claimer_kind,
        note=reason[:255],
        at=now,
    )
    audit_record(
        actor=actor,
        action="volunteering.wish_claim_withdraw",
        target=locked,
        place_path=wish.household.path,
        changes={"reason": reason[:255]},
        occurred_at=now,
    )
    locked.refresh_from_db()
    return locked


@transaction.atomic
def wish_fulfil(*, actor: Actor, wish: Wish, photo: Any, note: str = "", now: datetime) -> Wish:
    """The claimer reports the wish fulfilled, with a photo."""
    _require_claimer(actor, wish)
    if not photo:
        raise ValidationFailed(fields={"photo": _("Add a photo of the wish fulfilled.")})
    cleaned = clean_upload(photo, field="photo")
    locked = lock_wish(wish.pk)
    if locked.state != Wish.State.CLAIMED:
        raise VolunteeringError.WISH_STATE()
    locked.fulfilment_photo.save(cleaned.name, cleaned, save=False)
    Wish.objects.filter(pk=locked.pk).update(
        state=Wish.State.FULFILLED,
        fulfilled_at=now,
        fulfilment_note=(note or "").strip()[:255],
        fulfilment_photo=locked.fulfilment_photo.name,
    )
    WishEvent.objects.create(wish=locked, action=WishEvent.Action.FULFIL, actor=actor, at=now)
    audit_record(
        actor=actor,
        action="volunteering.wish_fulfil",
        target=locked,
        place_path=wish.household.path,
        occurred_at=now,
    )
    locked.refresh_from_db()
    return locked


def may_confirm_wish(actor: Actor, wish: Wish) -> bool:
    own = resident_of(actor)
    if own is not None and own.pk == wish.resident_id:
        return True
    return wish.on_behalf and (wish.posted_by_id == actor.pk or may_manage(actor, wish.household.path))


@transaction.atomic
def wish_confirm(*, actor: Actor, wish: Wish, now: datetime) -> Wish:
    """The resident (or the worker who posted for them) confirms the wish came true; the claimer's points claim is
    submitted for review."""
    require_authenticated(actor)
    if not may_confirm_wish(actor, wish):
        raise VolunteeringError.WISH_NOT_YOURS()
    locked = lock_wish(wish.pk)
    if locked.state != Wish.State.FULFILLED:
        raise VolunteeringError.WISH_STATE()
    Wish.objects.filter(pk=locked.pk).update(state=Wish.State.CONFIRMED, confirmed_by=actor, confirmed_at=now)
    WishEvent.objects.create(wish=locked, action=WishEvent.Action.CONFIRM, actor=actor, at=now)
    claim, refusal = None, ""
    if locked.point_item is not None and locked.claimed_by is not None:
        try:
            if locked.claimer_organisation_id:
                account = organisation_account(locked.claimer_organisation)
            else:
                account = saved_account(resident_account(locked.claimer_resident))
            claim = claim_submit(
                actor=locked.claimed_by,
                account=account,
                item=locked.point_item,
                service_date=timezone.localdate(locked.fulfilled_at or now),
                description=locked.title,
                source_type="volunteering.wish",
                source_id=str(locked.pk),
                idempotency_key=f"volunteering:wish:{locked.pk}",
                now=now,
            )
        except DomainError as error:
            refusal = error.code[:64]
        Wish.objects.filter(pk=locked.pk).update(claim=claim, claim_refusal=refusal)
    audit_record(
        actor=actor,
        action="volunteering.wish_confirm",
        target=locked,
        place_path=wish.household.path,
        changes={"claim": claim.pk if claim else None, "refusal": refusal},
        occurred_at=now,
    )
    locked.refresh_from_db()
    return locked
