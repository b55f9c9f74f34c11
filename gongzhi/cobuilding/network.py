"""State changes of the co-building network: points alliances, co-building activities, pairings with their
yearly commitments, and joint meetings / forums with their matters and follow-up.

- Alliances (红色积分联盟) belong to a community or street; members are active resident organisations (once each);
  the point items they co-run are items of the points catalogue (read, never changed here).
- An activity is recorded by community staff with the organisations that took part; for a pairing it is the
  pairing's joint activity and may fulfil one of its commitments (which is then kept).
- A pairing's commitments ("2–3 real things" a year) are promised, then marked kept or not kept once.
- A matter raised at a meeting is taken by an organisation (or the community), followed up, and solved once; the
  solved matters are the "problems solved in meetings and forums".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import ValidationFailed
from gongzhi.people.models import Organisation
from gongzhi.places.models import Place, PlaceKind
from gongzhi.points.models import PointItem

from .access import require_community, require_manage
from .errors import CobuildingError
from .lists import clean_text
from .locks import lock_commitment, lock_matter
from .models import Activity, Alliance, AllianceMember, Commitment, FollowUp, Matter, Meeting, Pairing

MAX_COMMITMENTS_A_YEAR = 10


def _audit(actor: Actor, action: str, target: Any, path: str, now: datetime, changes: dict | None = None) -> None:
    audit_record(actor=actor, action=action, target=target, place_path=path, changes=changes or {}, occurred_at=now)


def _day(value: Any, field: str, errors: dict) -> None:
    if not isinstance(value, date):
        errors[field] = _("Enter a date.")


# ---------------------------------------------------------------- alliances


def alliance_create(
    *,
    actor: Actor,
    place: Place,
    name: str,
    founded_on: date,
    description: str = "",
    point_items: Iterable[PointItem] = (),
    now: datetime | None = None,
) -> Alliance:
    """Found a points alliance of a community or street, with the point items its members co-run."""
    require_manage(actor, place)
    now = now or timezone.now()
    errors: dict[str, Any] = {}
    name = clean_text(name, "name", 100, errors)
    description = clean_text(description, "description", 2000, errors, required=False)
    _day(founded_on, "founded_on", errors)
    if place.kind not in (PlaceKind.COMMUNITY, PlaceKind.STREET):
        errors["place"] = _("An alliance belongs to a community or a street.")
    items = list(point_items)
    if any("organisation" not in item.account_kinds for item in items):
        errors["point_items"] = _("Choose items organisations may earn.")
    if not errors and Alliance.objects.filter(place=place, name=name).exists():
        errors["name"] = _("An alliance of this name exists here already.")
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        alliance = Alliance.objects.create(
            place=place, name=name, description=description, founded_on=founded_on, created_by=actor
        )
        alliance.point_items.set(items)
        _audit(actor, "cobuilding.alliance_create", alliance, place.path, now, {"items": [i.pk for i in items]})
    return alliance


def alliance_join(
    *, actor: Actor, alliance: Alliance, organisation: Organisation, joined_on: date, now: datetime | None = None
) -> AllianceMember:
    """Add an active resident organisation to an alliance (once)."""
    require_manage(actor, alliance.place)
    now = now or timezone.now()
    errors: dict[str, Any] = {}
    _day(joined_on, "joined_on", errors)
    if not organisation.is_active:
        errors["organisation"] = _("Choose an active organisation.")
    if errors:
        raise ValidationFailed(fields=errors)
    existing = AllianceMember.objects.filter(alliance=alliance, organisation=organisation).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            member = AllianceMember.objects.create(alliance=alliance, organisation=organisation, joined_on=joined_on)
            _audit(
                actor, "cobuilding.alliance_join", alliance, alliance.place.path, now, {"organisation": organisation.pk}
            )
    except IntegrityError:
        return AllianceMember.objects.get(alliance=alliance, organisation=organisation)
    return member


# ---------------------------------------------------------------- pairings


def pairing_create(
    *,
    actor: Actor,
    community: Place,
    kind: str,
    started_on: date,
    partner_organisation: Organisation | None = None,
    partner_place: Place | None = None,
    partner_name: str = "",
    now: datetime | None = None,
) -> Pairing:
    """Pair a community with an organisation, another community or a village (named: villages are outside the
    place tree). Exactly one partner, fitting the kind."""
    require_manage(actor, community)
    require_community(community)
    now = now or timezone.now()
    errors: dict[str, Any] = {}
    _day(started_on, "started_on", errors)
    partner_name = (partner_name or "").strip()
    given = [p for p in (partner_organisation, partner_place, partner_name or None) if p is not None]
    if kind not in Pairing.Kind.values:
        errors["kind"] = _("Choose the kind of pairing.")
    elif len(given) != 1:
        errors["partner"] = _("Name exactly one partner.")
    elif kind in (Pairing.Kind.ORGANISATION, Pairing.Kind.SOCIAL_ORGANISATION) and partner_organisation is None:
        errors["partner"] = _("Choose the partner organisation.")
    elif kind == Pairing.Kind.COMMUNITY and (
        partner_place is None or partner_place.kind != PlaceKind.COMMUNITY or partner_place.pk == community.pk
    ):
        errors["partner"] = _("Choose another community.")
    elif kind == Pairing.Kind.VILLAGE and not partner_name:
        errors["partner"] = _("Name the village.")
    if len(partner_name) > 120:
        errors["partner"] = _("At most 120 characters.")
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        pairing = Pairing.objects.create(
            community=community,
            kind=kind,
            partner_organisation=partner_organisation,
            partner_place=partner_place,
            partner_name=partner_name,
            started_on=started_on,
            created_by=actor,
        )
        _audit(actor, "cobuilding.pairing_create", pairing, community.path, now, {"kind": kind})
    return pairing


def commitment_add(*, actor: Actor, pairing: Pairing, year: int, title: str, now: datetime | None = None) -> Commitment:
    """Promise one of a pairing's real things for a year (at most ``MAX_COMMITMENTS_A_YEAR``)."""
    require_manage(actor, pairing.community)
    now = now or timezone.now()
    errors: dict[str, Any] = {}
    title = clean_text(title, "title", 160, errors)
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        errors["year"] = _("Enter a year.")
    elif Commitment.objects.filter(pairing=pairing, year=year).count() >= MAX_COMMITMENTS_A_YEAR:
        errors["year"] = _("At most %(count)d commitments a year.") % {"count": MAX_COMMITMENTS_A_YEAR}
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        commitment = Commitment.objects.create(pairing=pairing, year=year, title=title)
        _audit(actor, "cobuilding.commitment_add", commitment, pairing.community.path, now, {"year": year})
    return commitment


def commitment_mark(
    *, actor: Actor, commitment: Commitment, kept: bool, decided_on: date, note: str = "", now: datetime | None = None
) -> Commitment:
    """Mark a promised commitment kept or not kept (once)."""
    require_manage(actor, commitment.pairing.community)
    now = now or timezone.now()
    errors: dict[str, Any] = {}
    _day(decided_on, "decided_on", errors)
    note = clean_text(note, "note", 300, errors, required=False)
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        locked = lock_commitment(commitment.pk)
        if locked.state != Commitment.State.PROMISED:
            raise CobuildingError.COMMITMENT_DECIDED()
        locked.state = Commitment.State.KEPT if kept else Commitment.State.NOT_KEPT
        locked.decided_on = decided_on
        locked.note = note
        locked.save(update_fields=["state", "decided_on", "note"])
        _audit(actor, "cobuilding.commitment_mark", locked, commitment.pairing.community.path, now, {"kept": kept})
    return locked


# ---------------------------------------------------------------- activities


def activity_record(
    *,
    actor: Actor,
    community: Place,
    title: str,
    held_on: date,
    organisations: Iterable[Organisation],
    description: str = "",
    participants: int = 0,
    alliance: Alliance | None = None,
    pairing: Pairing | None = None,
    commitment: Commitment | None = None,
    now: datetime | None = None,
) -> Activity:
    """Record a co-building activity held with organisations; for a pairing, its joint activity, which keeps the
    commitment it fulfils."""
    require_manage(actor, community)
    require_community(community)
    now = now or timezone.now()
    errors: dict[str, Any] = {}
    title = clean_text(title, "title", 120, errors)
    description = clean_text(description, "description", 2000, errors, required=False)
    _day(held_on, "held_on", errors)
    if isinstance(held_on, date) and held_on > timezone.localdate(now):
        errors["held_on"] = _("Record an activity once it has been held.")
    members = list(organisations)
    if not members:
        errors["organisations"] = _("Choose the organisations that took part.")
    if not isinstance(participants, int) or participants < 0:
        errors["participants"] = _("Enter how many took part.")
    if pairing is not None and pairing.community_id != community.pk:
        errors["pairing"] = _("Choose a pairing of this community.")
    if commitment is not None and (pairing is None or commitment.pairing_id != pairing.pk):
        errors["commitment"] = _("Choose a commitment of this pairing.")
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        activity = Activity.objects.create(
            community=community,
            title=title,
            held_on=held_on,
            description=description,
            participants=participants,
            alliance=alliance,
            pairing=pairing,
            commitment=commitment,
            created_by=actor,
            created_at=now,
        )
        activity.organisations.set(members)
        if commitment is not None:
            Commitment.objects.filter(pk=commitment.pk, state=Commitment.State.PROMISED).update(
                state=Commitment.State.KEPT, decided_on=held_on
            )
        _audit(
            actor,
            "cobuilding.activity_record",
            activity,
            community.path,
            now,
            {"organisations": [o.pk for o in members], "pairing": pairing.pk if pairing else None},
        )
    return activity


# ---------------------------------------------------------------- meetings


def meeting_record(
    *,
    actor: Actor,
    community: Place,
    kind: str,
    title: str,
    held_on: date,
    attendees: Iterable[Organisation] = (),
    attendance: int = 0,
    matters: Iterable[str] = (),
    now: datetime | None = None,
) -> Meeting:
    """Record a joint meeting, forum or round table with who attended and the matters raised."""
    require_manage(actor, community)
    require_community(community)
    now = now or timezone.now()
    errors: dict[str, Any] = {}
    if kind not in Meeting.Kind.values:
        errors["kind"] = _("Choose joint meeting, forum or round table.")
    title = clean_text(title, "title", 120, errors)
    _day(held_on, "held_on", errors)
    if not isinstance(attendance, int) or attendance < 0:
        errors["attendance"] = _("Enter how many attended.")
    raised = [text.strip() for text in matters if text and text.strip()]
    if any(len(text) > 200 for text in raised):
        errors["matters"] = _("A matter is at most 200 characters.")
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        meeting = Meeting.objects.create(
            community=community, kind=kind, title=title, held_on=held_on, attendance=attendance, created_by=actor
        )
        meeting.attendees.set(list(attendees))
        Matter.objects.bulk_create([Matter(meeting=meeting, title=text) for text in raised])
        _audit(actor, "cobuilding.meeting_record", meeting, community.path, now, {"matters": len(raised)})
    return meeting


def matter_raise(
    *,
    actor: Actor,
    meeting: Meeting,
    title: str,
    raised_by: str = "",
    taken_by: Organisation | None = None,
    now: datetime | None = None,
) -> Matter:
    """Add a matter raised at a meeting, with who takes it."""
    require_manage(actor, meeting.community)
    now = now or timezone.now()
    errors: dict[str, Any] = {}
    title = clean_text(title, "title", 200, errors)
    raised_by = clean_text(raised_by, "raised_by", 100, errors, required=False)
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        matter = Matter.objects.create(meeting=meeting, title=title, raised_by=raised_by, taken_by=taken_by)
        _audit(actor, "cobuilding.matter_raise", matter, meeting.community.path, now)
    return matter


def matter_follow_up(
    *,
    actor: Actor,
    matter: Matter,
    note: str,
    taken_by: Organisation | None = None,
    solved: bool = False,
    now: datetime | None = None,
) -> Matter:
    """Write a follow-up on an open matter (and who takes it now); ``solved`` closes it today."""
    require_manage(actor, matter.meeting.community)
    now = now or timezone.now()
    errors: dict[str, Any] = {}
    note = clean_text(note, "note", 300, errors)
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        locked = lock_matter(matter.pk)
        if locked.state == Matter.State.SOLVED:
            raise CobuildingError.MATTER_SOLVED()
        FollowUp.objects.create(matter=locked, note=note, written_by=actor, written_at=now)
        fields = []
        if taken_by is not None:
            locked.taken_by = taken_by
            fields.append("taken_by")
        if solved:
            locked.state = Matter.State.SOLVED
            locked.solved_on = timezone.localdate(now)
            fields += ["state", "solved_on"]
        if fields:
            locked.save(update_fields=fields)
        _audit(actor, "cobuilding.matter_follow_up", locked, matter.meeting.community.path, now, {"solved": solved})
    return locked
