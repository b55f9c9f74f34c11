"""State changes of agreements and the three lists (一书三单): resources, needs, projects, and suggested matches.

- An agreement is signed by community staff (cobuilding.manage over the community) with a resident organisation,
  one in force per organisation and community (also a database constraint); it is renewed (the old one ends the
  day before the new one starts) or ended. The signed file is checked by ``core.uploads`` (PDF, JPEG, PNG).
- An organisation's representative publishes resources to a community it has an agreement in force with.
- Community staff publish needs, typed or from a case, a visit or a deliberation decision (source kind +
  reference, no import of those apps).
- Publishing a need or a resource suggests matches (``match_score``): same kind required; the same community
  scores more than a neighbouring one in the same street; overlapping dates score more. Both sides see the
  suggestions on their pages (the match list is their notification) and staff accept or dismiss them.
- A project pairs a need with resources (or stands alone); creating it moves the need to ``in_project``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import ValidationFailed
from gongzhi.core.uploads import DOCUMENTS, MB, clean_upload
from gongzhi.people.models import Organisation
from gongzhi.places.models import Place, PlaceKind
from gongzhi.points.models import PointItem

from .access import represents, require_community, require_manage, require_representative
from .errors import CobuildingError
from .locks import lock_match
from .models import Agreement, Match, Need, Project, Resource, ResourceKind

MAX_AGREEMENT_BYTES = 10 * MB
SAME_COMMUNITY_SCORE = 60
SAME_STREET_SCORE = 30
KIND_SCORE = 20
TIME_SCORE = 20


def _today(now: datetime | None) -> date:
    return timezone.localdate(now or timezone.now())


def clean_text(value: Any, field: str, limit: int, errors: dict, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        errors[field] = _("This field is required.")
    elif len(text) > limit:
        errors[field] = _("At most %(count)d characters.") % {"count": limit}
    return text


def money(value: Any, field: str = "amount", *, positive: bool = True) -> Decimal:
    """A yuan amount as an exact Decimal with two places; refuses floats' surprises, negatives and garbage."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(fields={field: _("Enter an amount in yuan, e.g. 1200.50.")}) from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2 or amount >= Decimal("10000000000"):  # type: ignore[operator]
        raise ValidationFailed(fields={field: _("Enter an amount in yuan with at most two decimals.")})
    if amount < 0 or (positive and amount == 0):
        raise ValidationFailed(fields={field: _("Enter an amount above zero.")})
    return amount.quantize(Decimal("0.01"))


def agreement_in_force(organisation_id: int, community_id: int) -> bool:
    return Agreement.objects.filter(
        organisation_id=organisation_id, community_id=community_id, state=Agreement.State.ACTIVE
    ).exists()


# ---------------------------------------------------------------- agreements


def agreement_sign(
    *,
    actor: Actor,
    organisation: Organisation,
    community: Place,
    scope: str,
    starts_on: date,
    ends_on: date,
    signed_file: Any = None,
    now: datetime | None = None,
) -> Agreement:
    """Record a co-building agreement in force between an organisation and a community. Refused for a community
    out of the actor's reach (not_found), a second agreement in force (agreement_exists) or bad dates."""
    require_manage(actor, community)
    require_community(community)
    now = now or timezone.now()
    errors: dict[str, Any] = {}
    scope = clean_text(scope, "scope", 2000, errors)
    if not isinstance(starts_on, date) or not isinstance(ends_on, date):
        errors["starts_on"] = _("Enter the dates of the agreement.")
    elif ends_on < starts_on:
        errors["ends_on"] = _("The agreement ends before it starts.")
    if not organisation.is_active:
        errors["organisation"] = _("Choose an active organisation.")
    if errors:
        raise ValidationFailed(fields=errors)
    if signed_file:
        signed_file = clean_upload(signed_file, field="signed_file", kinds=DOCUMENTS, max_bytes=MAX_AGREEMENT_BYTES)
    if agreement_in_force(organisation.pk, community.pk):
        raise CobuildingError.AGREEMENT_EXISTS()
    with transaction.atomic():
        agreement = Agreement(
            organisation=organisation,
            community=community,
            scope=scope,
            starts_on=starts_on,
            ends_on=ends_on,
            created_by=actor,
            created_at=now,
        )
        if signed_file:
            agreement.signed_file.save(signed_file.name, signed_file, save=False)
        agreement.save()
        audit_record(
            actor=actor,
            action="cobuilding.agreement_sign",
            target=agreement,
            place_path=community.path,
            changes={"organisation": organisation.pk, "from": starts_on.isoformat(), "until": ends_on.isoformat()},
            occurred_at=now,
        )
    return agreement


def agreement_end(*, actor: Actor, agreement: Agreement, ended_on: date, now: datetime | None = None) -> Agreement:
    """End an agreement in force on ``ended_on`` (not before it started)."""
    require_manage(actor, agreement.community)
    now = now or timezone.now()
    if agreement.state != Agreement.State.ACTIVE:
        raise CobuildingError.AGREEMENT_ENDED()
    if not isinstance(ended_on, date) or ended_on < agreement.starts_on:
        raise ValidationFailed(fields={"ended_on": _("Choose a day on or after the start of the agreement.")})
    with transaction.atomic():
        updated = Agreement.objects.filter(pk=agreement.pk, state=Agreement.State.ACTIVE).update(
            state=Agreement.State.ENDED, ended_on=ended_on
        )
        if not updated:
            raise CobuildingError.AGREEMENT_ENDED()
        audit_record(
            actor=actor,
            action="cobuilding.agreement_end",
            target=agreement,
            place_path=agreement.community.path,
            changes={"ended_on": ended_on.isoformat()},
            occurred_at=now,
        )
    agreement.refresh_from_db()
    return agreement


def agreement_renew(
    *,
    actor: Actor,
    agreement: Agreement,
    ends_on: date,
    scope: str | None = None,
    signed_file: Any = None,
    now: datetime | None = None,
) -> Agreement:
    """Renew an agreement: it ends the day before the renewal starts (the day after its own end, or today if it
    is past), and a new agreement in force takes its place, linked to it."""
    require_manage(actor, agreement.community)
    now = now or timezone.now()
    if agreement.state != Agreement.State.ACTIVE:
        raise CobuildingError.AGREEMENT_ENDED()
    starts_on = max(agreement.ends_on + (date.resolution), _today(now))
    if not isinstance(ends_on, date) or ends_on < starts_on:
        raise ValidationFailed(fields={"ends_on": _("The renewal must end after %(day)s.") % {"day": starts_on}})
    errors: dict[str, Any] = {}
    new_scope = clean_text(scope if scope is not None else agreement.scope, "scope", 2000, errors)
    if errors:
        raise ValidationFailed(fields=errors)
    if signed_file:
        signed_file = clean_upload(signed_file, field="signed_file", kinds=DOCUMENTS, max_bytes=MAX_AGREEMENT_BYTES)
    with transaction.atomic():
        updated = Agreement.objects.filter(pk=agreement.pk, state=Agreement.State.ACTIVE).update(
            state=Agreement.State.ENDED, ended_on=starts_on - date.resolution
        )
        if not updated:
            raise CobuildingError.AGREEMENT_ENDED()
        renewal = Agreement(
            organisation_id=agreement.organisation_id,
            community_id=agreement.community_id,
            scope=new_scope,
            starts_on=starts_on,
            ends_on=ends_on,
            renewed_from=agreement,
            created_by=actor,
            created_at=now,
        )
        if signed_file:
            renewal.signed_file.save(signed_file.name, signed_file, save=False)
        elif agreement.signed_file:
            renewal.signed_file = agreement.signed_file.name
        renewal.save()
        audit_record(
            actor=actor,
            action="cobuilding.agreement_renew",
            target=renewal,
            place_path=agreement.community.path,
            changes={"renews": agreement.pk, "until": ends_on.isoformat()},
            occurred_at=now,
        )
    return renewal


def agreements_expire(*, now: datetime | None = None) -> int:
    """End every agreement in force whose end date has passed (ended on its end date), each with its audit entry.
    Idempotent: a second run finds nothing. Returns how many ended."""
    now = now or timezone.now()
    today = _today(now)
    ended = 0
    for agreement in Agreement.objects.filter(state=Agreement.State.ACTIVE, ends_on__lt=today).select_related(
        "community"
    ):
        with transaction.atomic():
            updated = Agreement.objects.filter(pk=agreement.pk, state=Agreement.State.ACTIVE).update(
                state=Agreement.State.ENDED, ended_on=agreement.ends_on
            )
            if updated:
                audit_record(
                    actor=None,
                    action="cobuilding.agreement_expire",
                    target=agreement,
                    place_path=agreement.community.path,
                    changes={"ended_on": agreement.ends_on.isoformat()},
                    actor_label="system",
                    occurred_at=now,
                )
                ended += 1
    return ended


# ---------------------------------------------------------------- resources and needs


def _check_kind(kind: str, errors: dict) -> None:
    if kind not in ResourceKind.values:
        errors["kind"] = _("Choose venue, funds, people, skills or goods.")


def _check_range(first: date | None, last: date | None, field: str, errors: dict) -> None:
    if first is not None and last is not None and last < first:
        errors[field] = _("The end comes before the start.")


def resource_publish(
    *,
    actor: Actor,
    organisation: Organisation,
    community: Place,
    kind: str,
    title: str,
    description: str = "",
    opening_times: str = "",
    available_from: date | None = None,
    available_until: date | None = None,
    now: datetime | None = None,
) -> Resource:
    """An organisation's representative publishes a resource to a community it has an agreement in force with;
    matching needs of the community and its street are suggested at once."""
    require_representative(actor, organisation.pk)
    require_community(community)
    now = now or timezone.now()
    errors: dict[str, Any] = {}
    _check_kind(kind, errors)
    title = clean_text(title, "title", 120, errors)
    description = clean_text(description, "description", 2000, errors, required=False)
    opening_times = clean_text(opening_times, "opening_times", 200, errors, required=kind == ResourceKind.VENUE)
    _check_range(available_from, available_until, "available_until", errors)
    if errors:
        raise ValidationFailed(fields=errors)
    if not agreement_in_force(organisation.pk, community.pk):
        raise CobuildingError.NO_AGREEMENT()
    with transaction.atomic():
        resource = Resource.objects.create(
            organisation=organisation,
            community=community,
            kind=kind,
            title=title,
            description=description,
            opening_times=opening_times,
            available_from=available_from,
            available_until=available_until,
            published_by=actor,
            published_at=now,
        )
        suggested = _suggest(needs=_candidate_needs(resource), resources=[resource], now=now)
        audit_record(
            actor=actor,
            action="cobuilding.resource_publish",
            target=resource,
            place_path=community.path,
            changes={"kind": kind, "matches": suggested},
            occurred_at=now,
        )
    return resource


def resource_withdraw(*, actor: Actor, resource: Resource, now: datetime | None = None) -> Resource:
    """Take a resource off the list (its representative or community staff); open suggestions go with it."""
    if not represents(actor, resource.organisation_id):
        require_manage(actor, resource.community)
    now = now or timezone.now()
    with transaction.atomic():
        Resource.objects.filter(pk=resource.pk).update(state=Resource.State.WITHDRAWN)
        Match.objects.filter(resource=resource, state=Match.State.SUGGESTED).update(state=Match.State.DISMISSED)
        audit_record(
            actor=actor,
            action="cobuilding.resource_withdraw",
            target=resource,
            place_path=resource.community.path,
            occurred_at=now,
        )
    resource.refresh_from_db()
    return resource


def need_create(
    *,
    actor: Actor,
    place: Place,
    kind: str,
    title: str,
    description: str = "",
    needed_from: date | None = None,
    needed_until: date | None = None,
    source_kind: str = Need.Source.TYPED,
    source_reference: str = "",
    now: datetime | None = None,
) -> Need:
    """Community staff put a need on the community's list, at the community or a place under it; published
    resources that fit are suggested at once."""
    require_manage(actor, place)
    now = now or timezone.now()
    community = place if place.kind == PlaceKind.COMMUNITY else _community_above(place)
    errors: dict[str, Any] = {}
    _check_kind(kind, errors)
    title = clean_text(title, "title", 120, errors)
    description = clean_text(description, "description", 2000, errors, required=False)
    _check_range(needed_from, needed_until, "needed_until", errors)
    if source_kind not in Need.Source.values:
        errors["source_kind"] = _("Choose where the need comes from.")
    source_reference = clean_text(
        source_reference, "source_reference", 64, errors, required=source_kind != Need.Source.TYPED
    )
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        need = Need.objects.create(
            community=community,
            place=place,
            kind=kind,
            title=title,
            description=description,
            needed_from=needed_from,
            needed_until=needed_until,
            source_kind=source_kind,
            source_reference=source_reference,
            created_by=actor,
            created_at=now,
        )
        suggested = _suggest(needs=[need], resources=_candidate_resources(need), now=now)
        audit_record(
            actor=actor,
            action="cobuilding.need_create",
            target=need,
            place_path=place.path,
            changes={"kind": kind, "source": f"{source_kind}:{source_reference}", "matches": suggested},
            occurred_at=now,
        )
    return need


def _community_above(place: Place) -> Place:
    community = Place.objects.filter(pk__in=place.ancestor_ids, kind=PlaceKind.COMMUNITY).first()
    if community is None:
        raise ValidationFailed(fields={"place": _("Choose a community or a place in one.")})
    return community


# ---------------------------------------------------------------- matching


def match_score(need: Need, resource: Resource) -> tuple[int, list[str]]:
    """How well a resource fits a need, and why (0: no match). Kind must agree; place and time add to it:

    same community 60, another community of the same street 30; kind 20; dates overlapping (or open) 20.
    """
    if need.kind != resource.kind:
        return 0, []
    reasons = ["kind"]
    score = KIND_SCORE
    if resource.community_id == need.community_id:
        score += SAME_COMMUNITY_SCORE
        reasons.append("same_community")
    elif resource.community.parent_id == need.community.parent_id:
        score += SAME_STREET_SCORE
        reasons.append("same_street")
    else:
        return 0, []
    first = max(d for d in (need.needed_from, resource.available_from, date.min) if d is not None)
    last = min(d for d in (need.needed_until, resource.available_until, date.max) if d is not None)
    if first > last:
        return 0, []
    score += TIME_SCORE
    reasons.append("time")
    return score, reasons


def _street_communities(community: Place) -> list[int]:
    return list(
        Place.objects.filter(parent_id=community.parent_id, kind=PlaceKind.COMMUNITY).values_list("pk", flat=True)
    )


def _candidate_needs(resource: Resource) -> list[Need]:
    return list(
        Need.objects.filter(
            community_id__in=_street_communities(resource.community), kind=resource.kind, state=Need.State.OPEN
        ).select_related("community")
    )


def _candidate_resources(need: Need) -> list[Resource]:
    return list(
        Resource.objects.filter(
            community_id__in=_street_communities(need.community), kind=need.kind, state=Resource.State.PUBLISHED
        ).select_related("community")
    )


def _suggest(*, needs: Iterable[Need], resources: Iterable[Resource], now: datetime) -> int:
    rows = []
    for need in needs:
        for resource in resources:
            score, reasons = match_score(need, resource)
            if score:
                rows.append(Match(need=need, resource=resource, score=score, reasons=reasons, suggested_at=now))
    Match.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def match_answer(*, actor: Actor, match: Match, accept: bool, now: datetime | None = None) -> Match:
    """Community staff accept or dismiss a suggested match (once)."""
    require_manage(actor, match.need.community)
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_match(match.pk)
        if locked.state != Match.State.SUGGESTED:
            raise CobuildingError.MATCH_DECIDED()
        locked.state = Match.State.ACCEPTED if accept else Match.State.DISMISSED
        locked.save(update_fields=["state"])
        audit_record(
            actor=actor,
            action="cobuilding.match_answer",
            target=locked,
            place_path=match.need.community.path,
            changes={"state": locked.state},
            occurred_at=now,
        )
    return locked


# ---------------------------------------------------------------- projects


def project_create(
    *,
    actor: Actor,
    place: Place,
    title: str,
    description: str = "",
    need: Need | None = None,
    resources: Iterable[Resource] = (),
    budget: Any = "0",
    point_item: PointItem | None = None,
    now: datetime | None = None,
) -> Project:
    """Put a project on the community's project list, open to claim: for a need (which moves to in_project)
    with the resources that serve it, a budget drawn from the fund through spending, and the point item under
    which the claiming organisation earns points."""
    require_manage(actor, place)
    now = now or timezone.now()
    community = place if place.kind == PlaceKind.COMMUNITY else _community_above(place)
    errors: dict[str, Any] = {}
    title = clean_text(title, "title", 120, errors)
    description = clean_text(description, "description", 2000, errors, required=False)
    try:
        amount = money(budget, "budget", positive=False)
    except ValidationFailed as error:
        errors.update(error.fields)
        amount = Decimal("0")
    resources = list(resources)
    if need is not None and (need.community_id != community.pk or need.state == Need.State.CLOSED):
        errors["need"] = _("Choose an open need of this community.")
    if any(resource.state != Resource.State.PUBLISHED for resource in resources):
        errors["resources"] = _("Choose published resources.")
    if point_item is not None and (not point_item.is_active or "organisation" not in point_item.account_kinds):
        errors["point_item"] = _("Choose an active point item organisations may earn.")
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        project = Project.objects.create(
            community=community,
            place=place,
            need=need,
            title=title,
            description=description,
            budget=amount,
            point_item=point_item,
            created_by=actor,
            created_at=now,
        )
        if resources:
            project.resources.set(resources)
        if need is not None:
            Need.objects.filter(pk=need.pk).update(state=Need.State.IN_PROJECT)
        audit_record(
            actor=actor,
            action="cobuilding.project_create",
            target=project,
            place_path=place.path,
            changes={"need": need.pk if need else None, "resources": [r.pk for r in resources], "budget": str(amount)},
            occurred_at=now,
        )
    return project
