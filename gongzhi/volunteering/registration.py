"""Dual registration (双报到): an in-service party member registers with their home community, their employer's
representative confirms, and they claim posts (认领岗位).

- Party membership itself is the people app's (``gongzhi.people.party``); this module reads it and keeps its
  ``registered_at_home_on`` in step through ``party_membership_home_registration_set``.
- The member registers themselves, or staff who enter party members (``party.manage``) or organisers
  (``volunteering.manage``) over their household register them. Only active, in-service members; one registration
  in force per member; the home community is the community of their household.
- The employer's representative (``Role.ORGANISATION_REPRESENTATIVE`` naming the employer organisation) confirms;
  a member whose employer is not one of the district's organisations is confirmed by staff with ``party.manage``.
- Posts are the community's; a post holds at most ``slots`` members at a time (counted under the post's lock).
"""

from __future__ import annotations

from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import reach, require_authenticated
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.roles import Permission
from gongzhi.people.models import PartyMembership
from gongzhi.people.party import party_membership_home_registration_set
from gongzhi.places.models import Place, PlaceKind

from .access import may_manage, represented_organisation_ids, resident_of
from .errors import VolunteeringError
from .locks import lock_post, lock_registration
from .models import DualRegistration, Post, PostClaim


def home_community(membership: PartyMembership) -> Place | None:
    household = membership.resident.household
    if household is None:
        return None
    return Place.objects.filter(pk__in=household.ancestor_ids, kind=PlaceKind.COMMUNITY).first()


def _is_member(actor: Actor, membership: PartyMembership) -> bool:
    own = resident_of(actor)
    return own is not None and own.pk == membership.resident_id


def _staff_over(actor: Actor, path: str) -> bool:
    return reach(actor, Permission.PARTY_MANAGE).covers(path) or may_manage(actor, path)


def registration_create(
    *, actor: Actor, membership: PartyMembership, registered_on: date | None = None, now: datetime
) -> DualRegistration:
    """Register an in-service party member with their home community on ``registered_on`` (default today)."""
    require_authenticated(actor)
    household = membership.resident.household
    if household is None or not (_is_member(actor, membership) or _staff_over(actor, household.path)):
        raise NotFound()
    if not membership.is_active or not membership.is_in_service:
        raise VolunteeringError.NOT_IN_SERVICE()
    community = home_community(membership)
    registered_on = registered_on or timezone.localdate(now)
    if community is None:
        raise ValidationFailed(fields={"community": _("The member's household lies in no community.")})
    if registered_on > timezone.localdate(now):
        raise ValidationFailed(fields={"registered_on": _("The date is in the future.")})
    if DualRegistration.objects.filter(membership=membership).exclude(state=DualRegistration.State.ENDED).exists():
        raise VolunteeringError.ALREADY_REGISTERED()
    try:
        with transaction.atomic():
            registration = DualRegistration.objects.create(
                membership=membership,
                community=community,
                employer=membership.employer,
                registered_on=registered_on,
                created_by=actor,
                created_at=now,
            )
            party_membership_home_registration_set(membership=membership, registered_on=registered_on)
            audit_record(
                actor=actor,
                action="volunteering.registration_create",
                target=registration,
                place_path=household.path,
                changes={"registered_on": registered_on.isoformat(), "employer": membership.employer_id},
                occurred_at=now,
            )
    except IntegrityError:
        raise VolunteeringError.ALREADY_REGISTERED() from None
    return registration


def may_confirm(actor: Actor, registration: DualRegistration) -> bool:
    if getattr(actor, "is_superuser", False):
        return True
    if registration.employer_id is not None:
        return registration.employer_id in represented_organisation_ids(actor)
    return reach(actor, Permission.PARTY_MANAGE).covers(registration.community.path)


@transaction.atomic
def registration_confirm(*, actor: Actor, registration: DualRegistration, now: datetime) -> DualRegistration:
    """The employer's representative confirms the member's registration."""
    require_authenticated(actor)
    if not may_confirm(actor, registration):
        raise VolunteeringError.NOT_EMPLOYER_REPRESENTATIVE()
    locked = lock_registration(registration.pk)
    if locked.state != DualRegistration.State.PENDING:
        raise VolunteeringError.REGISTRATION_STATE()
    DualRegistration.objects.filter(pk=locked.pk).update(
        state=DualRegistration.State.CONFIRMED, confirmed_by=actor, confirmed_at=now
    )
    audit_record(
        actor=actor,
        action="volunteering.registration_confirm",
        target=locked,
        place_path=registration.community.path,
        occurred_at=now,
    )
    locked.refresh_from_db()
    return locked


@transaction.atomic
def registration_end(*, actor: Actor, registration: DualRegistration, now: datetime) -> DualRegistration:
    """End a registration in force (the member moved, left service…); its posts are released with it."""
    require_authenticated(actor)
    membership = registration.membership
    if not (_is_member(actor, membership) or _staff_over(actor, registration.community.path)):
        raise NotFound()
    locked = lock_registration(registration.pk)
    if locked.state == DualRegistration.State.ENDED:
        raise VolunteeringError.REGISTRATION_STATE()
    today = timezone.localdate(now)
    DualRegistration.objects.filter(pk=locked.pk).update(state=DualRegistration.State.ENDED, ended_on=today)
    PostClaim.objects.filter(registration=locked, released_on__isnull=True).update(released_on=today)
    party_membership_home_registration_set(membership=membership, registered_on=None)
    audit_record(
        actor=actor,
        action="volunteering.registration_end",
        target=locked,
        place_path=registration.community.path,
        occurred_at=now,
    )
    locked.refresh_from_db()
    return locked


@transaction.atomic
def post_create(
    *, actor: Actor, community: Place, title: str, description: str = "", slots: int = 1, now: datetime
) -> Post:
    """A post of the community for registered party members to claim."""
    require_authenticated(actor)
    if community.kind != PlaceKind.COMMUNITY or not may_manage(actor, community.path):
        raise NotFound()
    errors: dict[str, str] = {}
    title = (title or "").strip()
    if not title or len(title) > 100:
        errors["title"] = _("Enter a title (at most 100 characters).")
    if not 1 <= int(slots or 0) <= 1000:
        errors["slots"] = _("Between 1 and 1000 people.")
    if errors:
        raise ValidationFailed(fields=errors)
    post = Post.objects.create(
        community=community, title=title, description=(description or "").strip(), slots=int(slots), created_at=now
    )
    audit_record(
        actor=actor,
        action="volunteering.post_create",
        target=post,
        place_path=community.path,
        changes={"title": title, "slots": post.slots},
        occurred_at=now,
    )
    return post


@transaction.atomic
def post_claim(*, actor: Actor, registration: DualRegistration, post: Post, now: datetime) -> PostClaim:
    """The registered member takes a post of their home community (认领岗位), while it has room."""
    require_authenticated(actor)
    if not (_is_member(actor, registration.membership) or _staff_over(actor, registration.community.path)):
        raise NotFound()
    if registration.state == DualRegistration.State.ENDED:
        raise VolunteeringError.REGISTRATION_STATE()
    if post.community_id != registration.community_id or not post.is_active:
        raise ValidationFailed(fields={"post": _("Choose a post of your home community.")})
    locked = lock_post(post.pk)
    open_claims = PostClaim.objects.filter(post=locked, released_on__isnull=True)
    if open_claims.filter(registration=registration).exists():
        raise VolunteeringError.POST_CLAIMED()
    if open_claims.count() >= locked.slots:
        raise VolunteeringError.POST_FULL()
    claim = PostClaim.objects.create(registration=registration, post=locked, claimed_on=timezone.localdate(now))
    audit_record(
        actor=actor,
        action="volunteering.post_claim",
        target=claim,
        place_path=registration.community.path,
        changes={"post": locked.pk},
        occurred_at=now,
    )
    return claim


@transaction.atomic
def post_release(*, actor: Actor, post_claim: PostClaim, now: datetime) -> PostClaim:
    """Give a post up."""
    require_authenticated(actor)
    registration = post_claim.registration
    if not (_is_member(actor, registration.membership) or _staff_over(actor, registration.community.path)):
        raise NotFound()
    if post_claim.released_on is not None:
        raise VolunteeringError.REGISTRATION_STATE()
    PostClaim.objects.filter(pk=post_claim.pk).update(released_on=timezone.localdate(now))
    audit_record(
        actor=actor,
        action="volunteering.post_release",
        target=post_claim,
        place_path=registration.community.path,
        occurred_at=now,
    )
    post_claim.refresh_from_db()
    return post_claim
