"""Disputes and mediation (矛盾纠纷 / 调解): register with parties, assign a mediator, hold sessions, and end with an
agreement, a referral, or "not resolved".

Who may act: ``dispute.mediate`` held on a place above the dispute's place (mediators, community workers and
managers). Anyone else gets NotFound, the same as for a dispute that does not exist. Every change locks the
dispute row, checks its state, writes the audit log in the same transaction, and changes nothing when refused.

States: open → mediating (first session) → agreement | referred | not_resolved. A dispute may also be referred or
closed unresolved while still open (e.g. one party refuses mediation).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import reach, require_authenticated, require_reach
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.roles import Permission
from gongzhi.people.models import Account, Organisation, Resident
from gongzhi.places.models import Place

from .errors import CasesError
from .locks import lock_dispute
from .models import (
    Case,
    Dispute,
    DisputeKind,
    DisputeParty,
    DisputeSide,
    DisputeState,
    HouseholdVisit,
    MediationSession,
)
from .transitions import REASON_MAX, TEXT_MAX, clean_text, current_time

LIVE_STATES = (DisputeState.OPEN, DisputeState.MEDIATING)
MAX_PARTIES = 20


@dataclass(frozen=True)
class PartyIn:
    """One party: a registered resident, an organisation, or a person named in free text."""

    side: str
    resident: Resident | None = None
    organisation: Organisation | None = None
    name: str = ""
    phone: str = ""


# ---------------------------------------------------------------- reads


def dispute_queryset(actor: Actor) -> QuerySet[Dispute]:
    """Disputes at places in the actor's ``dispute.mediate`` reach (a mediator always holds it there)."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return Dispute.objects.none()
    mediate = reach(actor, Permission.DISPUTE_MEDIATE)
    if mediate.everything:
        return Dispute.objects.all()
    return Dispute.objects.filter(mediate.q("place__path"))


def access_dispute(actor: Actor, dispute_id: Any) -> Dispute:
    """The dispute, or NotFound whether it is missing or out of reach."""
    require_authenticated(actor)
    try:
        dispute_id = int(dispute_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    dispute = (
        dispute_queryset(actor)
        .select_related("place", "mediator", "registered_by", "referred_to_organisation")
        .filter(pk=dispute_id)
        .first()
    )
    if dispute is None:
        raise NotFound()
    return dispute


def dispute_parties(dispute: Dispute) -> list[DisputeParty]:
    return list(dispute.parties.select_related("resident", "organisation").order_by("id"))


def dispute_sessions(dispute: Dispute) -> list[MediationSession]:
    return list(dispute.sessions.select_related("mediator").order_by("held_at", "id"))


# ---------------------------------------------------------------- checks


def _check_mediator(mediator: Any, place: Place) -> None:
    if (
        mediator is None
        or not isinstance(mediator, Account)
        or not mediator.is_active
        or not reach(mediator, Permission.DISPUTE_MEDIATE).covers(place.path)
    ):
        raise ValidationFailed(fields={"mediator": _("Choose a mediator who mediates disputes at this place.")})


def _clean_parties(actor: Actor, parties: Iterable[PartyIn]) -> list[PartyIn]:
    parties = list(parties or ())
    if len(parties) < 2:
        raise ValidationFailed(fields={"parties": _("A dispute has at least two parties.")})
    if len(parties) > MAX_PARTIES:
        raise ValidationFailed(fields={"parties": _("At most %(count)d parties.") % {"count": MAX_PARTIES}})
    mediate = reach(actor, Permission.DISPUTE_MEDIATE)
    cleaned = []
    for party in parties:
        if party.side not in DisputeSide.values:
            raise ValidationFailed(fields={"parties": _("Each party is an applicant, a respondent or another party.")})
        name = clean_text(party.name, "parties", required=False, limit=100)
        phone = clean_text(party.phone, "parties", required=False, limit=20)
        if party.resident is None and party.organisation is None and not name:
            raise ValidationFailed(fields={"parties": _("Name each party, or choose a resident or organisation.")})
        if party.resident is not None:
            household = party.resident.household
            if household is None or not mediate.covers(household.path):
                raise NotFound()
        if party.organisation is not None and not party.organisation.is_active:
            raise ValidationFailed(fields={"parties": _("This organisation is no longer active.")})
        cleaned.append(PartyIn(party.side, party.resident, party.organisation, name, phone))
    if not any(party.side == DisputeSide.APPLICANT for party in cleaned):
        raise ValidationFailed(fields={"parties": _("Name at least one applicant.")})
    return cleaned


def _lock(actor: Actor, dispute: Dispute, states: Iterable[str]) -> Dispute:
    """Lock the dispute row, check the actor's reach and the state; NotFound or Conflict before any write."""
    require_authenticated(actor)
    locked = lock_dispute(getattr(dispute, "pk", None))
    if not reach(actor, Permission.DISPUTE_MEDIATE).covers(locked.place.path):
        raise NotFound()
    if locked.state not in states:
        raise CasesError.INVALID_TRANSITION(
            _("This dispute is %(state)s; it cannot be changed this way now.")
            % {"state": DisputeState(locked.state).label}
        )
    return locked


def _audit(actor: Actor, action: str, dispute: Dispute, changes: dict) -> None:
    audit_record(actor=actor, action=action, target=dispute, place_path=dispute.place.path, changes=changes)


def _finish(dispute: Dispute, before: str, now: datetime, **fields: Any) -> Dispute:
    updated = Dispute.objects.filter(pk=dispute.pk, state=before).update(closed_at=now, **fields)
    if not updated:  # pragma: no cover - the row is locked; kept as a guard
        raise CasesError.INVALID_TRANSITION(_("This dispute has just been changed by someone else."))
    for name, value in {"closed_at": now, **fields}.items():
        setattr(dispute, name, value)
    return dispute


# ---------------------------------------------------------------- changes


def dispute_register(
    *,
    actor: Actor,
    place: Place,
    kind: str,
    description: str,
    found_on: date,
    parties: Iterable[PartyIn],
    mediator: Any = None,
    source_case: Case | None = None,
    source_visit: HouseholdVisit | None = None,
    now: datetime | None = None,
) -> Dispute:
    """Register a dispute found at ``place`` with its parties (and, optionally, its mediator at once)."""
    require_authenticated(actor)
    now = current_time(now)
    if place is None or not place.is_active:
        raise NotFound()
    require_reach(actor, Permission.DISPUTE_MEDIATE, place.path)
    if kind not in DisputeKind.values:
        raise ValidationFailed(fields={"kind": _("Choose the kind of dispute.")})
    description = clean_text(description, "description", limit=TEXT_MAX)
    if found_on is None or found_on > timezone.localtime(now).date():
        raise ValidationFailed(fields={"found_on": _("The date found cannot be in the future.")})
    cleaned = _clean_parties(actor, parties)
    if mediator is not None:
        _check_mediator(mediator, place)
    if source_case is not None and not reach(actor, Permission.CASE_VIEW).covers(source_case.place.path):
        raise NotFound()
    if source_visit is not None and not reach(actor, Permission.DISPUTE_MEDIATE).covers(source_visit.household.path):
        raise NotFound()
    with transaction.atomic():
        dispute = Dispute.objects.create(
            kind=kind,
            place=place,
            description=description,
            found_on=found_on,
            registered_by=actor,
            mediator=mediator,
            state=DisputeState.OPEN,
            source_case=source_case,
            source_visit=source_visit,
            created_at=now,
        )
        DisputeParty.objects.bulk_create(
            [
                DisputeParty(
                    dispute=dispute,
                    side=party.side,
                    resident=party.resident,
                    organisation=party.organisation,
                    name=party.name,
                    phone=party.phone,
                )
                for party in cleaned
            ]
        )
        _audit(
            actor,
            "dispute.register",
            dispute,
            {"kind": kind, "parties": len(cleaned), "mediator": getattr(mediator, "pk", None)},
        )
    return dispute


@transaction.atomic
def dispute_assign_mediator(*, actor: Actor, dispute: Dispute, mediator: Any, now: datetime | None = None) -> Dispute:
    """Give the dispute a mediator (or another one) while it is open or being mediated."""
    dispute = _lock(actor, dispute, LIVE_STATES)
    _check_mediator(mediator, dispute.place)
    before = dispute.mediator_id
    if before == mediator.pk:
        raise ValidationFailed(fields={"mediator": _("This person already mediates the dispute.")})
    Dispute.objects.filter(pk=dispute.pk).update(mediator=mediator)
    dispute.mediator = mediator
    _audit(actor, "dispute.assign_mediator", dispute, {"mediator": [before, mediator.pk]})
    return dispute


@transaction.atomic
def dispute_session_add(
    *, actor: Actor, dispute: Dispute, held_at: datetime, notes: str, now: datetime | None = None
) -> MediationSession:
    """Record a mediation session with its notes; the first one moves the dispute to "being mediated". The session's
    mediator is the dispute's, else the actor (who then becomes its mediator)."""
    now = current_time(now)
    notes = clean_text(notes, "notes", limit=TEXT_MAX)
    if held_at is None or held_at > now:
        raise ValidationFailed(fields={"held_at": _("A session is recorded after it was held.")})
    dispute = _lock(actor, dispute, LIVE_STATES)
    if timezone.localtime(held_at).date() < dispute.found_on:
        raise ValidationFailed(fields={"held_at": _("The session cannot be before the dispute was found.")})
    mediator = dispute.mediator or actor
    session = MediationSession.objects.create(
        dispute=dispute, held_at=held_at, mediator=mediator, notes=notes, created_at=now
    )
    before = dispute.state
    Dispute.objects.filter(pk=dispute.pk).update(state=DisputeState.MEDIATING, mediator=mediator)
    dispute.state, dispute.mediator = DisputeState.MEDIATING, mediator
    _audit(actor, "dispute.session_add", dispute, {"session": session.pk, "state": [before, dispute.state]})
    return session


@transaction.atomic
def dispute_resolve(*, actor: Actor, dispute: Dispute, agreement: str, now: datetime | None = None) -> Dispute:
    """The parties reached an agreement (its text is kept)."""
    now = current_time(now)
    agreement = clean_text(agreement, "agreement", limit=TEXT_MAX)
    dispute = _lock(actor, dispute, LIVE_STATES)
    before = dispute.state
    _finish(dispute, before, now, state=DisputeState.AGREEMENT, agreement_text=agreement)
    _audit(actor, "dispute.resolve", dispute, {"state": [before, dispute.state]})
    return dispute


@transaction.atomic
def dispute_refer(
    *,
    actor: Actor,
    dispute: Dispute,
    reason: str,
    to: str = "",
    to_organisation: Organisation | None = None,
    now: datetime | None = None,
) -> Dispute:
    """Refer the dispute to a court, a police station, an arbitration committee … (named, or an organisation)."""
    now = current_time(now)
    reason = clean_text(reason, "reason", limit=REASON_MAX)
    to = clean_text(to, "to", required=False, limit=150)
    if not to and to_organisation is None:
        raise ValidationFailed(fields={"to": _("Say to whom the dispute is referred.")})
    if to_organisation is not None and not to_organisation.is_active:
        raise ValidationFailed(fields={"to_organisation": _("This organisation is no longer active.")})
    dispute = _lock(actor, dispute, LIVE_STATES)
    before = dispute.state
    _finish(
        dispute,
        before,
        now,
        state=DisputeState.REFERRED,
        referred_to=to or (to_organisation.name if to_organisation is not None else ""),
        referred_to_organisation=to_organisation,
        outcome_note=reason,
    )
    _audit(
        actor,
        "dispute.refer",
        dispute,
        {
            "state": [before, dispute.state],
            "to": dispute.referred_to,
            "organisation": getattr(to_organisation, "pk", None),
        },
    )
    return dispute


@transaction.atomic
def dispute_close_unresolved(*, actor: Actor, dispute: Dispute, reason: str, now: datetime | None = None) -> Dispute:
    """Mediation ended without an agreement and without a referral."""
    now = current_time(now)
    reason = clean_text(reason, "reason", limit=REASON_MAX)
    dispute = _lock(actor, dispute, LIVE_STATES)
    before = dispute.state
    _finish(dispute, before, now, state=DisputeState.NOT_RESOLVED, outcome_note=reason)
    _audit(actor, "dispute.close_unresolved", dispute, {"state": [before, dispute.state]})
    return dispute
