"""The four-step resolution with two publications (四议两公开) for major matters.

One service per step, in order: ``resolution_propose`` (1, the party organisation's proposal) →
``resolution_discuss`` (2, the two committees) → ``resolution_review`` (3, the party members' meeting) →
``resolution_decide`` (4, the residents' or representatives' meeting); then ``resolution_publish`` (the resolution)
and, once the topic is carried out, ``resolution_result_publish`` (the result).

Guarantees: a step is recorded only as the next one (``steps_done == kind - 1`` under the resolution's lock, a
guarded update and a unique (resolution, step) constraint), so none is skipped, repeated or taken out of order; its
date is neither before the previous step's (for step 1: the day the topic was accepted) nor after ``now``'s day.
Steps 2–4 pass only with more than half of those present in favour; step 3 needs at least two thirds of the
community's party members present, counted from the attendance recorded (each an active party member of the
community); step 4 needs the community's meeting quorum of those entitled. A published resolution cannot be
edited; the result is published only after the resolution and after the topic is carried out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import ValidationFailed
from gongzhi.core.roles import Permission
from gongzhi.people.selectors import PartyMembershipFilters, party_membership_list

from .access import require_manage
from .errors import DeliberationError
from .locks import lock_resolution, lock_topic
from .models import Resolution, ResolutionStep, ResolutionStepKind, StepAttendance, Topic, TopicState


def _audit(actor: Any, action: str, target: Any, topic: Topic, changes: dict | None = None) -> None:
    audit_record(
        actor=actor,
        action=f"deliberation.{action}",
        target=target,
        place_path=topic.community.path,
        changes=changes or {},
    )


def party_member_ids(actor: Any, topic: Topic) -> set[int]:
    """Resident ids of the community's active party members (the party members' meeting's membership)."""
    memberships = party_membership_list(
        actor, PartyMembershipFilters(place=topic.community), permission=Permission.DELIBERATION_MANAGE
    )
    return set(memberships.values_list("resident_id", flat=True))


def _counts(present: int, in_favour: int, against: int, abstaining: int) -> None:
    if min(present, in_favour, against, abstaining) < 0:
        raise ValidationFailed(fields={"present_count": _("Counts cannot be negative.")})
    if in_favour + against + abstaining > present:
        raise ValidationFailed(fields={"in_favour": _("More votes than people present.")})


def _passes(present: int, in_favour: int) -> None:
    if present == 0 or in_favour * 2 <= present:
        raise DeliberationError.QUORUM_NOT_MET(_("More than half of those present must be in favour."))


def _record_step(
    *,
    actor: Actor,
    topic: Topic,
    kind: int,
    held_on: date,
    minutes: str,
    now: datetime,
    attendees: str = "",
    entitled_count: int = 0,
    present_count: int = 0,
    in_favour: int = 0,
    against: int = 0,
    abstaining: int = 0,
    check: Callable[[Resolution], None] | None = None,
) -> ResolutionStep:
    """Append step ``kind`` if it is the next, dated in order; ``check(resolution)`` runs under the lock."""
    require_manage(actor, topic.community)
    if not (minutes or "").strip():
        raise ValidationFailed(fields={"minutes": _("This field is required.")})
    _counts(present_count, in_favour, against, abstaining)
    with transaction.atomic():
        locked_topic = lock_topic(topic.pk)
        if not locked_topic.is_major:
            raise DeliberationError.NOT_MAJOR()
        if locked_topic.state != TopicState.ACCEPTED:
            raise DeliberationError.TOPIC_STATE()
        resolution = Resolution.objects.filter(topic=locked_topic).first()
        if resolution is None:
            if kind != ResolutionStepKind.PROPOSAL:
                raise DeliberationError.STEP_OUT_OF_ORDER()
            resolution = Resolution.objects.create(topic=locked_topic, created_at=now)
        resolution = lock_resolution(resolution.pk)
        if resolution.steps_done != kind - 1:
            raise DeliberationError.STEP_OUT_OF_ORDER(
                _("Step %(next)d is next; this is step %(kind)d.")
                % {"next": min(resolution.steps_done + 1, 4), "kind": kind}
            )
        previous = ResolutionStep.objects.filter(resolution=resolution, kind=kind - 1).first()
        earliest = previous.held_on if previous else timezone.localdate(locked_topic.accepted_at or now)
        if held_on < earliest or held_on > timezone.localdate(now):
            raise DeliberationError.STEP_BACKDATED(
                fields={"held_on": _("Between %(day)s and today.") % {"day": earliest}}
            )
        if check is not None:
            check(resolution)
        try:
            with transaction.atomic():
                step = ResolutionStep.objects.create(
                    resolution=resolution,
                    kind=kind,
                    held_on=held_on,
                    attendees=attendees.strip(),
                    entitled_count=entitled_count,
                    present_count=present_count,
                    in_favour=in_favour,
                    against=against,
                    abstaining=abstaining,
                    minutes=minutes.strip(),
                    recorded_by=actor,
                    recorded_at=now,
                )
        except IntegrityError:
            raise DeliberationError.STEP_OUT_OF_ORDER() from None
        moved = Resolution.objects.filter(pk=resolution.pk, steps_done=kind - 1).update(steps_done=F("steps_done") + 1)
        if moved != 1:  # pragma: no cover - the lock makes this unreachable
            raise DeliberationError.STEP_OUT_OF_ORDER()
        _audit(actor, f"resolution_step_{kind}", step, locked_topic, {"held_on": held_on.isoformat()})
    return step


def resolution_propose(
    *, actor: Actor, topic: Topic, held_on: date, attendees: str, minutes: str, now: datetime | None = None
) -> ResolutionStep:
    """Step 1: the party organisation's proposal (who proposed, minutes)."""
    return _record_step(
        actor=actor,
        topic=topic,
        kind=ResolutionStepKind.PROPOSAL,
        held_on=held_on,
        attendees=attendees,
        minutes=minutes,
        now=now or timezone.now(),
    )


def resolution_discuss(
    *,
    actor: Actor,
    topic: Topic,
    held_on: date,
    attendees: str,
    entitled_count: int,
    present_count: int,
    in_favour: int,
    against: int = 0,
    abstaining: int = 0,
    minutes: str,
    now: datetime | None = None,
) -> ResolutionStep:
    """Step 2: the two committees' joint discussion; more than half of those present in favour."""
    if entitled_count and present_count > entitled_count:
        raise ValidationFailed(fields={"present_count": _("More present than entitled.")})
    return _record_step(
        actor=actor,
        topic=topic,
        kind=ResolutionStepKind.COMMITTEES,
        held_on=held_on,
        attendees=attendees,
        entitled_count=entitled_count,
        present_count=present_count,
        in_favour=in_favour,
        against=against,
        abstaining=abstaining,
        minutes=minutes,
        now=now or timezone.now(),
        check=lambda _resolution: _passes(present_count, in_favour),
    )


def resolution_review(
    *,
    actor: Actor,
    topic: Topic,
    held_on: date,
    present_member_ids: list[int],
    in_favour: int,
    against: int = 0,
    abstaining: int = 0,
    minutes: str,
    now: datetime | None = None,
) -> ResolutionStep:
    """Step 3: the party members' meeting. The attendance is the list of party members present (resident ids);
    at least two thirds of the community's active party members present, more than half of those present in
    favour. The attendance rows are written with the step."""
    members = party_member_ids(actor, topic)
    present = set(present_member_ids)
    if not present <= members:
        raise ValidationFailed(fields={"present_member_ids": _("Only the community's party members can be present.")})
    total = len(members)
    _counts(len(present), in_favour, against, abstaining)

    def quorum(_resolution: Resolution) -> None:
        if total == 0 or len(present) * 3 < total * 2:
            raise DeliberationError.QUORUM_NOT_MET(
                _("Two thirds of the %(total)d party members must be present; %(present)d were.")
                % {"total": total, "present": len(present)}
            )
        _passes(len(present), in_favour)

    now = now or timezone.now()
    with transaction.atomic():
        step = _record_step(
            actor=actor,
            topic=topic,
            kind=ResolutionStepKind.PARTY_MEETING,
            held_on=held_on,
            entitled_count=total,
            present_count=len(present),
            in_favour=in_favour,
            against=against,
            abstaining=abstaining,
            minutes=minutes,
            now=now,
            check=quorum,
        )
        StepAttendance.objects.bulk_create([StepAttendance(step=step, resident_id=pk) for pk in sorted(present)])
    return step


def resolution_decide(
    *,
    actor: Actor,
    topic: Topic,
    held_on: date,
    entitled_count: int,
    present_count: int,
    in_favour: int,
    against: int = 0,
    abstaining: int = 0,
    minutes: str,
    text: str,
    attendees: str = "",
    carried_out_by: str = "",
    now: datetime | None = None,
) -> ResolutionStep:
    """Step 4: the residents' (representatives') meeting resolves: the community's quorum of those entitled
    present (default two thirds) and more than half of those present in favour. The topic is decided with the
    resolution's text."""
    from .services import settings_for

    if not (text or "").strip():
        raise ValidationFailed(fields={"text": _("This field is required.")})
    if entitled_count < 1 or present_count > entitled_count:
        raise ValidationFailed(fields={"entitled_count": _("Give how many are entitled, at least those present.")})
    rule = settings_for(topic.community)

    def quorum(_resolution: Resolution) -> None:
        if present_count * rule.meeting_quorum_denominator < entitled_count * rule.meeting_quorum_numerator:
            raise DeliberationError.QUORUM_NOT_MET(
                _("At least %(num)d/%(den)d of the %(total)d entitled must be present; %(present)d were.")
                % {
                    "num": rule.meeting_quorum_numerator,
                    "den": rule.meeting_quorum_denominator,
                    "total": entitled_count,
                    "present": present_count,
                }
            )
        _passes(present_count, in_favour)

    now = now or timezone.now()
    with transaction.atomic():
        step = _record_step(
            actor=actor,
            topic=topic,
            kind=ResolutionStepKind.RESIDENTS_MEETING,
            held_on=held_on,
            attendees=attendees,
            entitled_count=entitled_count,
            present_count=present_count,
            in_favour=in_favour,
            against=against,
            abstaining=abstaining,
            minutes=minutes,
            now=now,
            check=quorum,
        )
        Resolution.objects.filter(topic=topic).update(text=text.strip())
        Topic.objects.filter(pk=topic.pk).update(
            state=TopicState.DECIDED, decision=text.strip(), decided_at=now, carried_out_by=carried_out_by.strip()
        )
    return step


def _resolution_of(topic: Topic) -> Resolution:
    resolution = Resolution.objects.filter(topic=topic).first()
    if resolution is None:
        raise DeliberationError.PUBLISH_TOO_EARLY()
    return lock_resolution(resolution.pk)


def resolution_publish(*, actor: Actor, topic: Topic, now: datetime | None = None) -> Resolution:
    """First publication: the resolution, once step 4 is done; once only."""
    now = now or timezone.now()
    require_manage(actor, topic.community)
    with transaction.atomic():
        resolution = _resolution_of(topic)
        if resolution.published_at is not None:
            raise DeliberationError.ALREADY_PUBLISHED()
        if resolution.steps_done < ResolutionStepKind.RESIDENTS_MEETING:
            raise DeliberationError.PUBLISH_TOO_EARLY()
        Resolution.objects.filter(pk=resolution.pk).update(published_at=now)
        _audit(actor, "resolution_publish", resolution, topic)
    resolution.refresh_from_db()
    return resolution


def resolution_edit(*, actor: Actor, topic: Topic, text: str) -> Resolution:
    """Correct the resolution's wording before it is published; a published resolution cannot be edited."""
    require_manage(actor, topic.community)
    if not (text or "").strip():
        raise ValidationFailed(fields={"text": _("This field is required.")})
    with transaction.atomic():
        resolution = _resolution_of(topic)
        if resolution.published_at is not None:
            raise DeliberationError.ALREADY_PUBLISHED()
        if resolution.steps_done < ResolutionStepKind.RESIDENTS_MEETING:
            raise DeliberationError.STEP_OUT_OF_ORDER()
        Resolution.objects.filter(pk=resolution.pk).update(text=text.strip())
        Topic.objects.filter(pk=topic.pk).update(decision=text.strip())
        _audit(actor, "resolution_edit", resolution, topic, {"text": [resolution.text, text.strip()]})
    resolution.refresh_from_db()
    return resolution


def resolution_result_publish(
    *, actor: Actor, topic: Topic, result_text: str, now: datetime | None = None
) -> Resolution:
    """Second publication: the result of carrying it out, after the resolution's publication and after the
    topic is carried out; once only."""
    now = now or timezone.now()
    require_manage(actor, topic.community)
    if not (result_text or "").strip():
        raise ValidationFailed(fields={"result_text": _("This field is required.")})
    with transaction.atomic():
        resolution = _resolution_of(topic)
        if resolution.result_published_at is not None:
            raise DeliberationError.ALREADY_PUBLISHED()
        current = Topic.objects.get(pk=topic.pk)
        if resolution.published_at is None or current.state != TopicState.CARRIED_OUT:
            raise DeliberationError.PUBLISH_TOO_EARLY()
        Resolution.objects.filter(pk=resolution.pk).update(result_text=result_text.strip(), result_published_at=now)
        _audit(actor, "resolution_result_publish", resolution, topic)
    resolution.refresh_from_db()
    return resolution
