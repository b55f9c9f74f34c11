"""Volunteer teams: creating one, residents asking to join, approval, leaving, the lead.

A team belongs to a community and is run by the community or a resident organisation; organisers
(``volunteering.manage`` over the community) create teams and approve members; a resident asks to join and leaves
by themselves. Each change writes in one transaction with its audit entry.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from gongzhi.core.access import require_authenticated
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.people.models import Organisation, Resident
from gongzhi.places.models import Place, PlaceKind

from .access import may_manage, resident_of
from .errors import VolunteeringError
from .models import Team, TeamMember, TeamPurpose


@transaction.atomic
def team_create(
    *,
    actor: Actor,
    community: Place,
    name: str,
    purpose: str,
    organisation: Organisation | None = None,
    description: str = "",
    now: datetime,
) -> Team:
    """A new team of ``community``; a name is unique among the community's active teams."""
    require_authenticated(actor)
    if community.kind != PlaceKind.COMMUNITY or not may_manage(actor, community.path):
        raise NotFound()
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name or len(name) > 100:
        errors["name"] = _("Enter a name (at most 100 characters).")
    elif Team.objects.filter(community=community, name=name, is_active=True).exists():
        errors["name"] = _("The community has a team of this name already.")
    if purpose not in TeamPurpose.values:
        errors["purpose"] = _("Choose the team's purpose.")
    if organisation is not None and not organisation.place.path.startswith(community.path):
        errors["organisation"] = _("Choose an organisation of this community.")
    if errors:
        raise ValidationFailed(fields=errors)
    team = Team.objects.create(
        community=community,
        name=name,
        purpose=purpose,
        organisation=organisation,
        description=(description or "").strip(),
        created_at=now,
    )
    audit_record(
        actor=actor,
        action="volunteering.team_create",
        target=team,
        place_path=community.path,
        changes={"name": name, "purpose": purpose},
        occurred_at=now,
    )
    return team


def team_join(
    *, actor: Actor, team: Team, resident: Resident | None = None, skills: str = "", now: datetime
) -> TeamMember:
    """Ask to join (a resident for themselves: pending) or add a member (an organiser: active at once)."""
    require_authenticated(actor)
    organiser = may_manage(actor, team.community.path)
    own = resident_of(actor)
    resident = resident or own
    if resident is None:
        raise VolunteeringError.NOT_A_RESIDENT()
    if not organiser and (own is None or resident.pk != own.pk):
        raise NotFound()
    if not team.is_active:
        raise VolunteeringError.TEAM_STATE()
    if len(skills or "") > 200:
        raise ValidationFailed(fields={"skills": _("At most %(max)d characters.") % {"max": 200}})
    state = TeamMember.State.ACTIVE if organiser else TeamMember.State.PENDING
    try:
        with transaction.atomic():
            member = TeamMember.objects.create(
                team=team, resident=resident, skills=(skills or "").strip(), state=state, joined_at=now
            )
            audit_record(
                actor=actor,
                action="volunteering.team_join",
                target=member,
                place_path=team.community.path,
                changes={"state": state},
                occurred_at=now,
            )
    except IntegrityError:
        raise VolunteeringError.ALREADY_IN_TEAM() from None
    return member


@transaction.atomic
def team_member_approve(*, actor: Actor, member: TeamMember, lead: bool = False, now: datetime) -> TeamMember:
    """Approve a pending member (optionally as the lead), or make an active member the lead."""
    require_authenticated(actor)
    if not may_manage(actor, member.team.community.path):
        raise NotFound()
    if member.state == TeamMember.State.LEFT or (member.state == TeamMember.State.ACTIVE and not lead):
        raise VolunteeringError.TEAM_STATE()
    TeamMember.objects.filter(pk=member.pk).update(state=TeamMember.State.ACTIVE, is_lead=lead or member.is_lead)
    audit_record(
        actor=actor,
        action="volunteering.team_member_approve",
        target=member,
        place_path=member.team.community.path,
        changes={"lead": lead},
        occurred_at=now,
    )
    member.refresh_from_db()
    return member


@transaction.atomic
def team_leave(*, actor: Actor, member: TeamMember, now: datetime) -> TeamMember:
    """Leave the team (the member themselves) or remove a member (an organiser)."""
    require_authenticated(actor)
    own = resident_of(actor)
    if not may_manage(actor, member.team.community.path) and (own is None or own.pk != member.resident_id):
        raise NotFound()
    if member.state == TeamMember.State.LEFT:
        raise VolunteeringError.TEAM_STATE()
    TeamMember.objects.filter(pk=member.pk).update(state=TeamMember.State.LEFT, is_lead=False, left_at=now)
    audit_record(
        actor=actor,
        action="volunteering.team_leave",
        target=member,
        place_path=member.team.community.path,
        occurred_at=now,
    )
    member.refresh_from_db()
    return member
