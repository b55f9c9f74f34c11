"""Every state change of deliberation: the catalogue, topics and co-signing, the five steps, carrying out and
evaluation. The four-step resolution is in ``resolutions.py`` and votes in ``voting.py``; both are re-exported here,
so callers (pages, API, admin, demo) import from this module.

Each service is keyword-only, takes the acting account and ``now``, checks reach itself, writes in one transaction
and records one audit entry in it. A refusal raises a ``DeliberationError`` (or ``ValidationFailed``) before
anything is written.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import require_authenticated
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import ValidationFailed
from gongzhi.people.models import PartyOrganisation, Resident
from gongzhi.places.models import Place, PlaceKind

from .access import may_manage, require_manage, require_resident_of
from .errors import DeliberationError
from .locks import lock_topic
from .models import (
    CatalogueEntry,
    CoSignature,
    CosignBasis,
    DeliberationSettings,
    Invitation,
    Liaison,
    ParticipantKind,
    Rating,
    Session,
    SessionMethod,
    Task,
    Topic,
    TopicSource,
    TopicState,
)
from .resolutions import (
    resolution_decide,
    resolution_discuss,
    resolution_edit,
    resolution_propose,
    resolution_publish,
    resolution_result_publish,
    resolution_review,
)
from .voting import PaperEntry, paper_ballots_enter, vote_cast, vote_create, vote_result_publish

__all__ = [
    "PaperEntry",
    "catalogue_entry_add",
    "catalogue_entry_retire",
    "liaison_appoint",
    "liaison_end",
    "paper_ballots_enter",
    "resolution_decide",
    "resolution_discuss",
    "resolution_edit",
    "resolution_propose",
    "resolution_publish",
    "resolution_result_publish",
    "resolution_review",
    "session_invite",
    "session_record",
    "session_schedule",
    "settings_for",
    "settings_update",
    "task_add",
    "task_progress",
    "topic_accept",
    "topic_complete",
    "topic_cosign",
    "topic_decide",
    "topic_decline",
    "topic_propose",
    "topic_rate",
    "vote_cast",
    "vote_create",
    "vote_result_publish",
]


def _audit(actor: Any, action: str, target: Any, place: Place, changes: dict | None = None) -> None:
    audit_record(
        actor=actor, action=f"deliberation.{action}", target=target, place_path=place.path, changes=changes or {}
    )


def _required(**values: str) -> None:
    missing = {name: _("This field is required.") for name, value in values.items() if not (value or "").strip()}
    if missing:
        raise ValidationFailed(fields=missing)


def _require_community(place: Place) -> None:
    if place.kind != PlaceKind.COMMUNITY:
        raise ValidationFailed(fields={"community": _("Choose a community.")})


def _require_state(topic: Topic, *states: str) -> None:
    if topic.state not in states:
        raise DeliberationError.TOPIC_STATE()


# ---------------------------------------------------------------- catalogue, liaisons, rules


def settings_for(community: Place) -> DeliberationSettings:
    """The community's rules (unsaved defaults if it never changed them)."""
    found = DeliberationSettings.objects.filter(community=community).first()
    return found or DeliberationSettings(community=community)


def settings_update(
    *,
    actor: Actor,
    community: Place,
    cosign_threshold: int,
    cosign_basis: str,
    meeting_quorum_numerator: int = 2,
    meeting_quorum_denominator: int = 3,
    now: datetime | None = None,
) -> DeliberationSettings:
    """Set the community's co-signing threshold (persons or households) and the residents' meeting quorum."""
    require_manage(actor, community)
    _require_community(community)
    fields: dict[str, str] = {}
    if cosign_threshold < 1:
        fields["cosign_threshold"] = _("At least one co-signature.")
    if cosign_basis not in CosignBasis.values:
        fields["cosign_basis"] = _("Persons or households.")
    if not 0 < meeting_quorum_numerator <= meeting_quorum_denominator:
        fields["meeting_quorum_numerator"] = _("A fraction between 0 and 1, such as 2/3.")
    if fields:
        raise ValidationFailed(fields=fields)
    with transaction.atomic():
        settings, _created = DeliberationSettings.objects.update_or_create(
            community=community,
            defaults={
                "cosign_threshold": cosign_threshold,
                "cosign_basis": cosign_basis,
                "meeting_quorum_numerator": meeting_quorum_numerator,
                "meeting_quorum_denominator": meeting_quorum_denominator,
                "updated_at": now or timezone.now(),
            },
        )
        _audit(
            actor,
            "settings_update",
            settings,
            community,
            {"cosign_threshold": cosign_threshold, "cosign_basis": cosign_basis},
        )
    return settings


def catalogue_entry_add(
    *, actor: Actor, community: Place, name: str, description: str = "", is_major: bool = False
) -> CatalogueEntry:
    """Add a kind of matter to the community's consultation catalogue (unique name among its active entries)."""
    require_manage(actor, community)
    _require_community(community)
    _required(name=name)
    try:
        with transaction.atomic():
            entry = CatalogueEntry.objects.create(
                community=community, name=name.strip(), description=description.strip(), is_major=is_major
            )
            _audit(actor, "catalogue_add", entry, community, {"name": entry.name, "is_major": is_major})
    except IntegrityError:
        raise ValidationFailed(fields={"name": _("The catalogue has this matter already.")}) from None
    return entry


def catalogue_entry_retire(*, actor: Actor, entry: CatalogueEntry) -> CatalogueEntry:
    """Take a matter out of the catalogue (topics that named it keep it)."""
    require_manage(actor, entry.community)
    with transaction.atomic():
        CatalogueEntry.objects.filter(pk=entry.pk).update(is_active=False)
        entry.is_active = False
        _audit(actor, "catalogue_retire", entry, entry.community)
    return entry


def liaison_appoint(
    *, actor: Actor, community: Place, resident: Resident, starts_on: date, serves: Place | None = None
) -> Liaison:
    """Appoint a resident of the community as a consultation liaison (once while in office)."""
    require_manage(actor, community)
    _require_community(community)
    if resident.household is None or not resident.household.path.startswith(community.path):
        raise DeliberationError.NOT_A_RESIDENT_HERE()
    if serves is not None and not serves.path.startswith(community.path):
        raise ValidationFailed(fields={"serves": _("Choose a place in this community.")})
    try:
        with transaction.atomic():
            liaison = Liaison.objects.create(community=community, resident=resident, serves=serves, starts_on=starts_on)
            _audit(actor, "liaison_appoint", liaison, community, {"resident": resident.pk})
    except IntegrityError:
        raise ValidationFailed(fields={"resident": _("This resident is a liaison already.")}) from None
    return liaison


def liaison_end(*, actor: Actor, liaison: Liaison, ends_on: date) -> Liaison:
    require_manage(actor, liaison.community)
    if liaison.ends_on is not None or ends_on < liaison.starts_on:
        raise ValidationFailed(fields={"ends_on": _("Choose a day after the start.")})
    with transaction.atomic():
        Liaison.objects.filter(pk=liaison.pk).update(ends_on=ends_on)
        liaison.ends_on = ends_on
        _audit(actor, "liaison_end", liaison, liaison.community)
    return liaison


# ---------------------------------------------------------------- topics


def topic_propose(
    *,
    actor: Actor,
    community: Place,
    title: str,
    description: str,
    catalogue_entry: CatalogueEntry | None = None,
    source: str = TopicSource.RESIDENT,
    party_organisation: PartyOrganisation | None = None,
    now: datetime | None = None,
) -> Topic:
    """Propose a topic.

    A resident's topic (``source=resident``) needs the community's co-signing threshold, counted by persons or
    households as its rule says (fixed on the topic now); the proposer's own signature is the first. A party
    branch's or staff's topic (by staff holding ``deliberation.manage``) needs no co-signatures. A topic whose
    catalogue entry is major takes the four-step resolution.
    """
    now = now or timezone.now()
    require_authenticated(actor)
    _require_community(community)
    _required(title=title, description=description)
    if catalogue_entry is not None and (catalogue_entry.community_id != community.pk or not catalogue_entry.is_active):
        raise ValidationFailed(fields={"catalogue_entry": _("Choose a matter of this community's catalogue.")})
    resident = None
    if source == TopicSource.RESIDENT:
        resident = require_resident_of(actor, community)
        rule = settings_for(community)
        threshold, basis = rule.cosign_threshold, rule.cosign_basis
    elif source in (TopicSource.PARTY_BRANCH, TopicSource.STAFF):
        require_manage(actor, community)
        threshold, basis = 0, CosignBasis.PERSONS
        if source == TopicSource.PARTY_BRANCH and (
            party_organisation is None or not party_organisation.place.path.startswith(community.path)
        ):
            raise ValidationFailed(fields={"party_organisation": _("Choose a party branch of this community.")})
    else:
        raise ValidationFailed(fields={"source": _("Unknown source.")})
    with transaction.atomic():
        topic = Topic.objects.create(
            community=community,
            catalogue_entry=catalogue_entry,
            title=title.strip(),
            description=description.strip(),
            source=source,
            proposer=actor,
            proposer_resident=resident,
            party_organisation=party_organisation if source == TopicSource.PARTY_BRANCH else None,
            is_major=bool(catalogue_entry and catalogue_entry.is_major),
            cosign_threshold=threshold,
            cosign_basis=basis,
            cosigner_count=1 if resident else 0,
            cosigning_household_count=1 if resident else 0,
            proposed_at=now,
        )
        if resident is not None:
            assert resident.household is not None
            CoSignature.objects.create(topic=topic, resident=resident, household=resident.household, signed_at=now)
        _audit(actor, "topic_propose", topic, community, {"title": topic.title, "source": source})
    return topic


def topic_cosign(*, actor: Actor, topic: Topic, now: datetime | None = None) -> Topic:
    """Co-sign a proposed topic, once per resident of its community; the counts move with ``F()`` under the
    topic's lock, and the household count only for the household's first signature."""
    now = now or timezone.now()
    resident = require_resident_of(actor, topic.community)
    assert resident.household is not None
    with transaction.atomic():
        locked = lock_topic(topic.pk)
        _require_state(locked, TopicState.PROPOSED)
        if CoSignature.objects.filter(topic=locked, resident=resident).exists():
            raise DeliberationError.ALREADY_COSIGNED()
        new_household = not CoSignature.objects.filter(topic=locked, household=resident.household).exists()
        try:
            with transaction.atomic():
                CoSignature.objects.create(topic=locked, resident=resident, household=resident.household, signed_at=now)
        except IntegrityError:
            raise DeliberationError.ALREADY_COSIGNED() from None
        Topic.objects.filter(pk=locked.pk).update(
            cosigner_count=F("cosigner_count") + 1,
            cosigning_household_count=F("cosigning_household_count") + (1 if new_household else 0),
        )
        _audit(actor, "topic_cosign", locked, topic.community)
    locked.refresh_from_db()
    return locked


def topic_accept(*, actor: Actor, topic: Topic, now: datetime | None = None) -> Topic:
    """Put a proposed topic on the agenda, once it has reached its co-signing threshold."""
    now = now or timezone.now()
    require_manage(actor, topic.community)
    with transaction.atomic():
        locked = lock_topic(topic.pk)
        _require_state(locked, TopicState.PROPOSED)
        if locked.cosign_progress < locked.cosign_threshold:
            raise DeliberationError.TOPIC_STATE(
                _("This topic has %(have)d of the %(need)d co-signatures it needs.")
                % {"have": locked.cosign_progress, "need": locked.cosign_threshold}
            )
        Topic.objects.filter(pk=locked.pk).update(state=TopicState.ACCEPTED, accepted_at=now)
        _audit(actor, "topic_accept", locked, topic.community)
    locked.refresh_from_db()
    return locked


def topic_decline(*, actor: Actor, topic: Topic, reason: str, now: datetime | None = None) -> Topic:
    """Decline a proposed topic with a reason, which the public record shows."""
    now = now or timezone.now()
    require_manage(actor, topic.community)
    _required(reason=reason)
    with transaction.atomic():
        locked = lock_topic(topic.pk)
        _require_state(locked, TopicState.PROPOSED)
        Topic.objects.filter(pk=locked.pk).update(
            state=TopicState.DECLINED, decline_reason=reason.strip(), declined_at=now
        )
        _audit(actor, "topic_decline", locked, topic.community, {"reason": reason.strip()})
    locked.refresh_from_db()
    return locked


# ---------------------------------------------------------------- the five steps


def session_schedule(
    *,
    actor: Actor,
    topic: Topic,
    venue: str,
    starts_at: datetime,
    matter: str,
    method: str,
    now: datetime | None = None,
) -> Session:
    """Steps one, two and four of the five: where and when, the matter, and how (meeting, online, hearing)."""
    require_manage(actor, topic.community)
    _required(venue=venue, matter=matter)
    if method not in SessionMethod.values:
        raise ValidationFailed(fields={"method": _("Choose a meeting, an online discussion or a hearing.")})
    with transaction.atomic():
        locked = lock_topic(topic.pk)
        _require_state(locked, TopicState.ACCEPTED)
        session = Session.objects.create(
            topic=locked, venue=venue.strip(), starts_at=starts_at, matter=matter.strip(), method=method
        )
        _audit(actor, "session_schedule", session, topic.community, {"starts_at": starts_at.isoformat()})
    return session


def session_invite(
    *, actor: Actor, session: Session, kind: str, resident: Resident | None = None, name: str = ""
) -> Invitation:
    """Step three: invite a participant (a resident, a representative, an organisation, an expert)."""
    community = session.topic.community
    require_manage(actor, community)
    if kind not in ParticipantKind.values:
        raise ValidationFailed(fields={"kind": _("Unknown kind of participant.")})
    if resident is not None:
        if resident.household is None or not resident.household.path.startswith(community.path):
            raise DeliberationError.NOT_A_RESIDENT_HERE()
        name = resident.name
    _required(name=name)
    if session.held_at is not None:
        raise DeliberationError.TOPIC_STATE(_("This session has been held already."))
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(session=session, kind=kind, resident=resident, name=name.strip())
            _audit(actor, "session_invite", invitation, community, {"kind": kind})
    except IntegrityError:
        raise ValidationFailed(fields={"resident": _("This resident is invited already.")}) from None
    return invitation


def session_record(
    *, actor: Actor, session: Session, attended: list[int], summary: str, now: datetime | None = None
) -> Session:
    """Record that the session was held: who of the invited attended (invitation ids) and a summary."""
    now = now or timezone.now()
    community = session.topic.community
    require_manage(actor, community)
    _required(summary=summary)
    if session.held_at is not None:
        raise DeliberationError.TOPIC_STATE(_("This session has been recorded already."))
    if session.starts_at > now:
        raise DeliberationError.STEP_BACKDATED(_("A session cannot be recorded before it starts."))
    invited = set(session.invitations.values_list("pk", flat=True))
    if not set(attended) <= invited:
        raise ValidationFailed(fields={"attended": _("Only invited participants can be marked present.")})
    with transaction.atomic():
        Invitation.objects.filter(session=session, pk__in=attended).update(attended=True)
        Session.objects.filter(pk=session.pk).update(held_at=now, summary=summary.strip())
        _audit(actor, "session_record", session, community, {"attended": len(attended)})
    session.refresh_from_db()
    return session


def topic_decide(
    *, actor: Actor, topic: Topic, decision: str, carried_out_by: str, now: datetime | None = None
) -> Topic:
    """Step five: the decision and who carries it out, after at least one session was held. A major matter is
    decided by the four-step resolution instead (``resolution_decide``)."""
    now = now or timezone.now()
    require_manage(actor, topic.community)
    _required(decision=decision, carried_out_by=carried_out_by)
    with transaction.atomic():
        locked = lock_topic(topic.pk)
        _require_state(locked, TopicState.ACCEPTED)
        if locked.is_major:
            raise DeliberationError.MAJOR_NEEDS_RESOLUTION()
        if not Session.objects.filter(topic=locked, held_at__isnull=False).exists():
            raise DeliberationError.TOPIC_STATE(_("Hold and record a session before deciding."))
        Topic.objects.filter(pk=locked.pk).update(
            state=TopicState.DECIDED, decision=decision.strip(), carried_out_by=carried_out_by.strip(), decided_at=now
        )
        _audit(actor, "topic_decide", locked, topic.community)
    locked.refresh_from_db()
    return locked


# ---------------------------------------------------------------- carrying out and evaluation


def task_add(*, actor: Actor, topic: Topic, title: str, owner: str, due_on: date) -> Task:
    """A task of carrying out a decided topic: owner and deadline."""
    require_manage(actor, topic.community)
    _required(title=title, owner=owner)
    with transaction.atomic():
        locked = lock_topic(topic.pk)
        _require_state(locked, TopicState.DECIDED)
        task = Task.objects.create(topic=locked, title=title.strip(), owner=owner.strip(), due_on=due_on)
        _audit(actor, "task_add", task, topic.community, {"due_on": due_on.isoformat()})
    return task


def task_progress(*, actor: Actor, task: Task, progress: int, note: str = "", today: date | None = None) -> Task:
    """Report a task's progress (0–100, never backwards); 100 marks it done on ``today``."""
    today = today or timezone.localdate()
    require_manage(actor, task.topic.community)
    if not 0 <= progress <= 100:
        raise ValidationFailed(fields={"progress": _("Between 0 and 100.")})
    task.refresh_from_db()
    if Topic.objects.get(pk=task.topic_id).state != TopicState.DECIDED or task.done_on is not None:
        raise DeliberationError.TOPIC_STATE()
    if progress < task.progress:
        raise ValidationFailed(fields={"progress": _("Progress does not go backwards.")})
    with transaction.atomic():
        Task.objects.filter(pk=task.pk).update(
            progress=progress, note=note.strip(), done_on=today if progress == 100 else None
        )
        _audit(actor, "task_progress", task, task.topic.community, {"progress": progress})
    task.refresh_from_db()
    return task


def topic_complete(*, actor: Actor, topic: Topic, result_summary: str, now: datetime | None = None) -> Topic:
    """Mark a decided topic carried out, once it has tasks and all of them are done; residents may rate it."""
    now = now or timezone.now()
    require_manage(actor, topic.community)
    _required(result_summary=result_summary)
    with transaction.atomic():
        locked = lock_topic(topic.pk)
        _require_state(locked, TopicState.DECIDED)
        tasks = Task.objects.filter(topic=locked)
        if not tasks.exists() or tasks.filter(done_on__isnull=True).exists():
            raise DeliberationError.TASKS_OPEN()
        Topic.objects.filter(pk=locked.pk).update(
            state=TopicState.CARRIED_OUT, result_summary=result_summary.strip(), carried_out_at=now
        )
        _audit(actor, "topic_complete", locked, topic.community)
    locked.refresh_from_db()
    return locked


def topic_rate(*, actor: Actor, topic: Topic, score: int, comment: str = "", now: datetime | None = None) -> Rating:
    """A resident of the community rates a carried-out topic (1–5), once."""
    now = now or timezone.now()
    resident = require_resident_of(actor, topic.community)
    if not 1 <= score <= 5:
        raise ValidationFailed(fields={"score": _("From 1 to 5.")})
    _require_state(Topic.objects.get(pk=topic.pk), TopicState.CARRIED_OUT)
    if Rating.objects.filter(topic=topic, resident=resident).exists():
        raise DeliberationError.ALREADY_RATED()
    try:
        with transaction.atomic():
            rating = Rating.objects.create(
                topic=topic, resident=resident, score=score, comment=comment.strip(), rated_at=now
            )
            _audit(actor, "topic_rate", rating, topic.community, {"score": score})
    except IntegrityError:
        raise DeliberationError.ALREADY_RATED() from None
    return rating


def chain_broken_record(*, vote: Any, problems: list[str], now: datetime) -> None:
    """The system's record that a vote's ballot chain does not verify (the nightly job): one audit entry."""
    with transaction.atomic():
        audit_record(
            actor=None,
            action="deliberation.chain_broken",
            target=vote,
            place_path=vote.community.path,
            changes={"problems": problems[:50], "checked_at": now.isoformat()},
            actor_label="deliberation.verify_chains",
        )


def can_manage(actor: Any, community: Place) -> bool:
    return may_manage(actor, community)
