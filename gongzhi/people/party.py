"""The party tree and party members: every state change of party organisations and residents' party membership.

The party tree (committee → branch → building group → household lead) shadows the places; each node serves a
place. A resident's membership names the party organisation of their community they belong to, when they joined,
whether they are in service or retired, and for in-service members their employer and the employer's party
organisation. Memberships are entered by the people who enter residents' records (``party.manage``: community
workers and the managers above them) on the party members' page, through the API, the roster import and the admin,
and always by these rules. A membership is ended, never deleted; registering the resident again reopens it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import reach, require_reach
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record, diff_fields
from gongzhi.core.errors import ValidationFailed
from gongzhi.core.roles import Permission
from gongzhi.core.tree import child_path
from gongzhi.places.models import Place, PlaceKind

from .errors import PeopleError
from .models import (
    PARTY_ALLOWED_PARENTS,
    Organisation,
    PartyMembership,
    PartyMembershipEndReason,
    PartyOrganisation,
    PartyOrganisationKind,
    Resident,
)

# Who enters party members (the party page, the API, the admin and the party columns of the roster import): the
# community's staff and the managers above them, who also enter residents' records.
MEMBERSHIP_PERMISSION = Permission.PARTY_MANAGE
TEXT_MAX = 150

# ---------------------------------------------------------------- party organisation tree


def _expected_place_kinds(kind: str) -> set[str]:
    Kind = PartyOrganisationKind
    kinds: dict[str, set[str]] = {
        Kind.COMMITTEE: {PlaceKind.COMMUNITY, PlaceKind.STREET, PlaceKind.DISTRICT},
        Kind.BRANCH: {PlaceKind.GRID, PlaceKind.COMPOUND, PlaceKind.AREA, PlaceKind.COMMUNITY},
        Kind.GROUP: {PlaceKind.BUILDING, PlaceKind.GRID, PlaceKind.ENTRANCE},
        Kind.HOUSEHOLD_LEAD: {PlaceKind.HOUSEHOLD},
    }
    return kinds[kind]


def party_organisation_check(
    *,
    actor: Actor,
    kind: str,
    name: str,
    place: Place,
    parent: PartyOrganisation | None = None,
    leader: Resident | None = None,
) -> str:
    """Raise what ``party_organisation_create`` would refuse, without writing; returns the name to store."""
    if kind not in PartyOrganisationKind.values:
        raise ValidationFailed(fields={"kind": _("Unknown kind of party organisation.")})
    require_reach(actor, Permission.PLACE_MANAGE, place.path)
    name = (name or "").strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = _("Enter a name.")
    if (parent.kind if parent else None) not in PARTY_ALLOWED_PARENTS[kind]:
        errors["parent"] = _("This kind of party organisation cannot sit under the chosen one.")
    elif parent is not None and not place.path.startswith(parent.place.path):
        errors["place"] = _("The place must lie inside the place of the parent organisation.")
    if place.kind not in _expected_place_kinds(kind):
        errors["place"] = _("This kind of party organisation cannot serve this kind of place.")
    # A committee's secretary may live anywhere; a branch, group or household lead lives where they serve.
    leader_lives_elsewhere = leader is not None and not household_path(leader).startswith(place.path)
    if leader_lives_elsewhere and kind != PartyOrganisationKind.COMMITTEE:
        errors["leader"] = _("The lead must live in the place served.")
    if errors:
        raise ValidationFailed(fields=errors)
    return name


@transaction.atomic
def party_organisation_create(
    *,
    actor: Actor,
    kind: str,
    name: str,
    place: Place,
    parent: PartyOrganisation | None = None,
    leader: Resident | None = None,
) -> PartyOrganisation:
    """Add a node to the four-level party tree, shadowing ``place``.

    A committee serves a community (or street/district); a branch a grid, compound or area inside its committee's
    place; a building group a building; a household lead a household. The served place must lie inside the
    parent's place, so the party tree never reaches outside the places it shadows.
    """
    name = party_organisation_check(actor=actor, kind=kind, name=name, place=place, parent=parent, leader=leader)
    node = PartyOrganisation.objects.create(kind=kind, name=name, parent=parent, place=place, leader=leader)
    node.path = child_path(parent.path if parent else "", node.pk)
    PartyOrganisation.objects.filter(pk=node.pk).update(path=node.path)
    audit_record(
        actor=actor,
        action="party.organisation_create",
        target=node,
        place_path=place.path,
        changes={"name": [None, name], "kind": [None, kind], "place": [None, place.pk]},
    )
    return node


# ---------------------------------------------------------------- membership


@dataclass(frozen=True)
class PartyMembershipInput:
    """What a membership records. ``employer`` links a resident organisation; ``employer_name`` is the name as
    written when the employer is not one of them (an employer outside the district)."""

    organisation: PartyOrganisation | None
    joined_on: date | None = None
    is_in_service: bool = False
    employer: Organisation | None = None
    employer_name: str = ""
    employer_party_organisation: str = ""


# The fields a membership's input sets, in the order forms and audit entries show them.
MEMBERSHIP_FIELDS = (
    "organisation",
    "joined_on",
    "is_in_service",
    "employer",
    "employer_name",
    "employer_party_organisation",
)


def household_path(resident: Resident) -> str:
    """The path of the resident's household ("" for a resident registered in none)."""
    household = resident.household
    return household.path if household is not None else ""


def community_path_of(place: Place) -> str | None:
    """The path of the community at or above ``place`` (None above community level)."""
    if place.kind == PlaceKind.COMMUNITY:
        return place.path
    return (
        Place.objects.filter(pk__in=place.ancestor_ids, kind=PlaceKind.COMMUNITY)
        .values_list("path", flat=True)
        .first()
    )


def _serves_residents_household(organisation: PartyOrganisation, household: Place) -> bool:
    """A member belongs to a party organisation serving a place above their household (their committee, their
    grid's branch, their building's group) or anywhere else in their own community."""
    if household.path.startswith(organisation.place.path):
        return True
    community = community_path_of(household)
    return community is not None and organisation.place.path.startswith(community)


def party_membership_clean(
    *,
    data: PartyMembershipInput,
    today: date,
    birth_date: date | None,
    household: Place | None,
    check_community: bool = True,
) -> dict[str, Any]:
    """Check a membership's fields for a resident born on ``birth_date`` living in ``household``; raise
    ValidationFailed naming every bad field at once. Returns the values to store.

    Without ``check_community`` the organisation is taken to serve the resident's community already (the roster
    import looks organisations up among the community's own, for households it may still be creating).
    """
    errors: dict[str, str] = {}
    organisation = data.organisation
    if organisation is None or not organisation.is_active:
        errors["organisation"] = _("Choose the party organisation.")
    elif check_community:
        if household is None:
            errors["organisation"] = _("The resident is not registered in a household.")
        elif not _serves_residents_household(organisation, household):
            errors["organisation"] = _("Choose a party organisation of the resident's community.")
    if data.joined_on is not None:
        if data.joined_on > today:
            errors["joined_on"] = _("The date is in the future.")
        elif birth_date and data.joined_on < birth_date:
            errors["joined_on"] = _("The date is before the resident's birth date.")
    employer_name = (data.employer_name or "").strip()
    if data.employer is not None:
        if not data.employer.is_active:
            errors["employer"] = _("Choose an organisation from the list.")
        employer_name = data.employer.name
    elif len(employer_name) > TEXT_MAX:
        errors["employer_name"] = _("At most %(max)d characters.") % {"max": TEXT_MAX}
    employer_party = (data.employer_party_organisation or "").strip()
    if len(employer_party) > TEXT_MAX:
        errors["employer_party_organisation"] = _("At most %(max)d characters.") % {"max": TEXT_MAX}
    if errors:
        raise ValidationFailed(fields=errors)
    return {
        "organisation": organisation,
        "joined_on": data.joined_on,
        "is_in_service": bool(data.is_in_service),
        "employer": data.employer,
        "employer_name": employer_name,
        "employer_party_organisation": employer_party,
    }


def _clean_for(resident: Resident, data: PartyMembershipInput, now: datetime) -> dict[str, Any]:
    return party_membership_clean(
        data=data, today=timezone.localdate(now), birth_date=resident.birth_date, household=resident.household
    )


def _require_membership_reach(actor: Actor, resident: Resident, data: PartyMembershipInput | None = None) -> None:
    """The actor enters records over the resident's household (else NotFound) and may choose the organisation and
    the employer given (else a refusal on that field, the same whether it is missing or out of reach)."""
    require_reach(actor, MEMBERSHIP_PERMISSION, household_path(resident) or "\x00")
    if data is None:
        return
    errors: dict[str, str] = {}
    organisation = data.organisation
    if organisation is not None and not reach(actor, MEMBERSHIP_PERMISSION).covers(organisation.place.path):
        errors["organisation"] = _("Choose a party organisation of the resident's community.")
    employer = data.employer
    if employer is not None and not reach(actor, Permission.PLACE_VIEW).covers(employer.place.path):
        errors["employer"] = _("Choose an organisation from the list.")
    if errors:
        raise ValidationFailed(fields=errors)


def membership_audit_values(values: dict[str, Any]) -> dict[str, Any]:
    """A membership's values as the audit log keeps them: ids for the linked records, dates as text."""
    plain = {}
    for name in MEMBERSHIP_FIELDS:
        value = values.get(name)
        if isinstance(value, (PartyOrganisation, Organisation)):
            value = value.pk
        elif isinstance(value, date):
            value = value.isoformat()
        plain[name] = value
    return plain


def membership_values(membership: PartyMembership) -> dict[str, Any]:
    """A stored membership's values in the audit log's terms (``membership_audit_values``)."""
    return {
        "organisation": membership.organisation_id,
        "joined_on": membership.joined_on.isoformat() if membership.joined_on else None,
        "is_in_service": membership.is_in_service,
        "employer": membership.employer_id,
        "employer_name": membership.employer_name,
        "employer_party_organisation": membership.employer_party_organisation,
    }


def party_membership_add_check(
    *, actor: Actor, resident: Resident, data: PartyMembershipInput, now: datetime
) -> dict[str, Any]:
    """Raise what ``party_membership_add`` would refuse, without writing; returns the values it would store."""
    _require_membership_reach(actor, resident, data)
    if PartyMembership.objects.filter(resident=resident, is_active=True).exists():
        raise PeopleError.ALREADY_PARTY_MEMBER()
    return _clean_for(resident, data, now)


@transaction.atomic
def party_membership_add(
    *, actor: Actor, resident: Resident, data: PartyMembershipInput, now: datetime
) -> PartyMembership:
    """Register ``resident`` as a party member of ``data.organisation``. A membership that had ended is reopened
    (with the new details); a resident who is a member already is refused with ``already_party_member``."""
    values = party_membership_add_check(actor=actor, resident=resident, data=data, now=now)
    reopened = PartyMembership.objects.filter(resident=resident, is_active=False).update(
        **values, is_active=True, ended_on=None, end_reason=""
    )
    if reopened:
        membership = PartyMembership.objects.get(resident=resident)
    else:
        try:
            with transaction.atomic():
                membership = PartyMembership.objects.create(resident=resident, **values)
        except IntegrityError:  # a membership in force already (or another person registered it meanwhile)
            raise PeopleError.ALREADY_PARTY_MEMBER() from None
    audit_record(
        actor=actor,
        action="party.membership_add",
        target=membership,
        place_path=household_path(resident),
        changes=diff_fields({}, membership_audit_values(values)) | ({"reopened": [False, True]} if reopened else {}),
    )
    return membership


def party_membership_change_check(
    *, actor: Actor, membership: PartyMembership, data: PartyMembershipInput, now: datetime
) -> dict[str, Any]:
    """Raise what ``party_membership_change`` would refuse, without writing; returns the values it would store."""
    _require_membership_reach(actor, membership.resident, data)
    if not membership.is_active:
        raise PeopleError.PARTY_MEMBERSHIP_ENDED()
    return _clean_for(membership.resident, data, now)


@transaction.atomic
def party_membership_change(
    *, actor: Actor, membership: PartyMembership, data: PartyMembershipInput, now: datetime
) -> PartyMembership:
    """Change a membership in force: move it to another party organisation of the community, correct the date it
    began, in service or retired, the employer and its party organisation. Audited with what changed."""
    resident = membership.resident
    values = party_membership_change_check(actor=actor, membership=membership, data=data, now=now)
    changes = diff_fields(membership_values(membership), membership_audit_values(values))
    if not changes:
        return membership
    if not PartyMembership.objects.filter(pk=membership.pk, is_active=True).update(**values):
        raise PeopleError.PARTY_MEMBERSHIP_ENDED()  # ended by someone else meanwhile
    for name, value in values.items():
        setattr(membership, name, value)
    audit_record(
        actor=actor,
        action="party.membership_change",
        target=membership,
        place_path=household_path(resident),
        changes=changes,
    )
    return membership


def party_membership_end_check(
    *, actor: Actor, membership: PartyMembership, reason: str, now: datetime, ended_on: date | None = None
) -> date:
    """Raise what ``party_membership_end`` would refuse, without writing; returns the day it would end."""
    _require_membership_reach(actor, membership.resident)
    if not membership.is_active:
        raise PeopleError.PARTY_MEMBERSHIP_ENDED(_("This party membership has ended already."))
    today = timezone.localdate(now)
    ended_on = ended_on or today
    errors: dict[str, str] = {}
    if reason not in PartyMembershipEndReason.values:
        errors["reason"] = _("Choose why the membership ends.")
    if ended_on > today:
        errors["ended_on"] = _("The date is in the future.")
    elif membership.joined_on and ended_on < membership.joined_on:
        errors["ended_on"] = _("The date is before the resident joined the party.")
    if errors:
        raise ValidationFailed(fields=errors)
    return ended_on


@transaction.atomic
def party_membership_end(
    *, actor: Actor, membership: PartyMembership, reason: str, now: datetime, ended_on: date | None = None
) -> PartyMembership:
    """End a membership in force (transferred out, deceased, entered by mistake…): kept for history, no longer
    counted. ``ended_on`` is today unless given; it may not lie in the future or before the joining date."""
    resident = membership.resident
    ended_on = party_membership_end_check(actor=actor, membership=membership, reason=reason, now=now, ended_on=ended_on)
    ended = PartyMembership.objects.filter(pk=membership.pk, is_active=True).update(
        is_active=False, ended_on=ended_on, end_reason=reason
    )
    if not ended:
        raise PeopleError.PARTY_MEMBERSHIP_ENDED(_("This party membership has ended already."))
    membership.is_active, membership.ended_on, membership.end_reason = False, ended_on, reason
    audit_record(
        actor=actor,
        action="party.membership_end",
        target=membership,
        place_path=household_path(resident),
        changes={"ended_on": [None, ended_on.isoformat()], "end_reason": [None, reason]},
    )
    return membership


def party_membership_set(
    *,
    actor: Actor,
    resident: Resident,
    organisation: PartyOrganisation,
    is_in_service: bool = False,
    joined_on: date | None = None,
    employer_name: str = "",
    now: datetime | None = None,
) -> PartyMembership:
    """Register ``resident`` with ``organisation``, or move their membership in force there (fixtures, builders).

    ``now`` defaults to the present only because the membership's dates are not derived from it.
    """
    now = now or timezone.now()
    data = PartyMembershipInput(
        organisation=organisation, joined_on=joined_on, is_in_service=is_in_service, employer_name=employer_name
    )
    current = PartyMembership.objects.filter(resident=resident, is_active=True).select_related("resident").first()
    if current is None:
        return party_membership_add(actor=actor, resident=resident, data=data, now=now)
    return party_membership_change(actor=actor, membership=current, data=data, now=now)


def party_membership_home_registration_set(*, membership: PartyMembership, registered_on: date | None) -> None:
    """Keep ``registered_at_home_on`` (the date of the member's dual registration, 报到) in step with the record of
    the registration, which the volunteering app owns (``gongzhi.volunteering.registration``). Called only inside
    that app's services, which check who may register and confirm and write the audit entry in the same
    transaction; ``None`` when the registration ends."""
    PartyMembership.objects.filter(pk=membership.pk).update(registered_at_home_on=registered_on)
    membership.registered_at_home_on = registered_on
