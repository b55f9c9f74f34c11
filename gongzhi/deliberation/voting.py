"""Votes: person or household votes, online and paper ballots, the ballot box's hash chain, the result.

Guarantees:

- One vote per household (household votes) or per person (person votes): ``Participation`` has unique
  (vote, household) and (vote, resident); when two members of a household try at once, the first to commit
  counts and the second is refused ``already_voted``.
- The chain never forks and never loses a link: a ballot is appended in one transaction that locks the vote row
  (``locks.lock_vote``), reads the head from it (count, last hash), inserts the participation and the ballot and
  moves the head; ``(vote, sequence)`` is unique besides. Ballots and participations are append-only by trigger.
- Secret ballots keep who voted apart from how: the participation row has the voter and only the day; the ballot
  row has the choice, a random pseudonym (given to the voter as a receipt to find the ballot in the published
  chain) and no time. The audit entry of a secret ballot names the participation, never the choice.
- Ballots are accepted only inside [opens_at, closes_at); paper ballots (an officer holding
  ``deliberation.ballot_enter``, with the tally sheet's photo) from the opening until the result is published,
  all of one sheet or none. The result is published once, after the close, with the chain verified and its head.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import require_authenticated
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import ValidationFailed
from gongzhi.core.tree import subtrees_q
from gongzhi.core.uploads import clean_upload
from gongzhi.people.models import Relation, Resident
from gongzhi.places.models import Place, PlaceKind

from .access import actor_resident, require_ballot_enter, require_manage
from .chain import GENESIS, ballot_hash
from .errors import DeliberationError
from .locks import lock_topic, lock_vote
from .models import (
    Ballot,
    Channel,
    HouseholdVoters,
    Majority,
    Participation,
    Secrecy,
    TallySheet,
    Topic,
    TopicState,
    Vote,
    VoteChoice,
    VoteKind,
    VoteOutcome,
    VoteState,
)
from .selectors import chain_report, vote_scope_paths

ADULT_AGE = 18


@dataclass(frozen=True)
class CastReceipt:
    """What a voter gets back: the participation, the ballot's sequence and the receipt (secret: pseudonym)."""

    participation: Participation
    ballot: Ballot
    receipt: str


@dataclass(frozen=True)
class PaperEntry:
    """One paper ballot of a tally sheet: the household (household vote) or resident (person vote), the choice."""

    choice: int
    household: Place | None = None
    resident: Resident | None = None


def adult_cutoff(today: date) -> date:
    """Born on or before this day: 18 or older on ``today``."""
    try:
        return today.replace(year=today.year - ADULT_AGE)
    except ValueError:  # 29 February
        return today.replace(year=today.year - ADULT_AGE, day=28)


def _is_adult(resident: Resident, today: date) -> bool:
    """Adults, and residents whose birth date is not recorded (the roster is the authority; documented)."""
    return resident.birth_date is None or resident.birth_date <= adult_cutoff(today)


def _in_scope(paths: list[str], place: Place | None) -> bool:
    return place is not None and any(place.path.startswith(path) for path in paths)


def eligible_count(vote: Vote, paths: list[str], today: date) -> int:
    """Households (with a registered member) or adult registered residents under the vote's scope."""
    if vote.kind == VoteKind.HOUSEHOLD:
        return (
            Place.objects.filter(subtrees_q(paths), kind=PlaceKind.HOUSEHOLD, is_active=True, residents__is_active=True)
            .distinct()
            .count()
        )
    return (
        Resident.objects.filter(subtrees_q(paths, "household__path"), is_active=True)
        .filter(Q(birth_date__isnull=True) | Q(birth_date__lte=adult_cutoff(today)))
        .count()
    )


def vote_create(
    *,
    actor: Actor,
    topic: Topic,
    title: str,
    kind: str,
    choices: list[str],
    opens_at: datetime,
    closes_at: datetime,
    secrecy: str = Secrecy.OPEN,
    majority: str = Majority.SIMPLE,
    quorum_numerator: int = 1,
    quorum_denominator: int = 2,
    household_voters: str = HouseholdVoters.ADULTS,
    buildings: list[Place] | None = None,
    now: datetime | None = None,
) -> Vote:
    """Put a question of an accepted topic to the vote. Eligibility comes from the place tree (the community, or
    the named buildings); the number eligible is fixed now. Quorum: ballots ≥ numerator/denominator of those
    eligible; majority: the leading choice has more than half (or at least two thirds) of the ballots."""
    now = now or timezone.now()
    require_manage(actor, topic.community)
    labels = [label.strip() for label in choices if label and label.strip()]
    fields: dict[str, Any] = {}
    if not (title or "").strip():
        fields["title"] = _("This field is required.")
    if kind not in VoteKind.values:
        fields["kind"] = _("Per person or per household.")
    if len(labels) < 2 or len(set(labels)) != len(labels):
        fields["choices"] = _("Give at least two different choices.")
    if closes_at <= opens_at:
        fields["closes_at"] = _("The vote must close after it opens.")
    if (
        secrecy not in Secrecy.values
        or majority not in Majority.values
        or household_voters not in HouseholdVoters.values
    ):
        fields["secrecy"] = _("Unknown rule.")
    if not 0 <= quorum_numerator <= quorum_denominator or quorum_denominator < 1:
        fields["quorum_numerator"] = _("A fraction between 0 and 1, such as 1/2.")
    buildings = buildings or []
    if any(b.kind != PlaceKind.BUILDING or not b.path.startswith(topic.community.path) for b in buildings):
        fields["buildings"] = _("Choose buildings of this community.")
    if fields:
        raise ValidationFailed(fields=fields)
    with transaction.atomic():
        locked = lock_topic(topic.pk)
        if locked.state != TopicState.ACCEPTED:
            raise DeliberationError.TOPIC_STATE()
        vote = Vote(
            topic=locked,
            community=topic.community,
            title=title.strip(),
            kind=kind,
            household_voters=household_voters,
            secrecy=secrecy,
            majority=majority,
            quorum_numerator=quorum_numerator,
            quorum_denominator=quorum_denominator,
            opens_at=opens_at,
            closes_at=closes_at,
            head_hash=GENESIS,
            created_by=actor,
            created_at=now,
        )
        paths = [b.path for b in buildings] or [topic.community.path]
        vote.eligible_count = eligible_count(vote, paths, timezone.localdate(now))
        vote.save()
        vote.buildings.set(buildings)
        VoteChoice.objects.bulk_create(
            [VoteChoice(vote=vote, position=index, label=label) for index, label in enumerate(labels, start=1)]
        )
        audit_record(
            actor=actor,
            action="deliberation.vote_create",
            target=vote,
            place_path=topic.community.path,
            changes={"kind": kind, "secrecy": secrecy, "eligible": vote.eligible_count},
        )
    return vote


def _check_choice(vote: Vote, choice: int) -> None:
    """The choice is one of the vote's positions (read once per vote object: a vote's choices never change)."""
    positions = getattr(vote, "_choice_positions", None)
    if positions is None:
        positions = set(VoteChoice.objects.filter(vote=vote).values_list("position", flat=True))
        vote._choice_positions = positions  # type: ignore[attr-defined]
    if choice not in positions:
        raise ValidationFailed(fields={"choice": _("Choose one of the choices.")})


def _voter_of(vote: Vote, resident: Resident, today: date, paths: list[str]) -> tuple[Place | None, Resident | None]:
    """(household, resident) the participation names, if ``resident`` may vote; else ``not_eligible``."""
    if not resident.is_active or not _in_scope(paths, resident.household):
        raise DeliberationError.NOT_ELIGIBLE()
    if vote.kind == VoteKind.HOUSEHOLD:
        if vote.household_voters == HouseholdVoters.HOUSEHOLDER:
            if resident.relation != Relation.HOUSEHOLDER:
                raise DeliberationError.NOT_ELIGIBLE(_("Only the householder casts this household's vote."))
        elif not _is_adult(resident, today):
            raise DeliberationError.NOT_ELIGIBLE(_("Only adult members cast the household's vote."))
        return resident.household, None
    if not _is_adult(resident, today):
        raise DeliberationError.NOT_ELIGIBLE(_("Only adults vote."))
    return None, resident


_APPEND_SQL = """
WITH participation AS (
    INSERT INTO deliberation_participation
        (vote_id, household_id, resident_id, cast_by_id, channel, tally_sheet_id, recorded_on, recorded_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id
), ballot AS (
    INSERT INTO deliberation_ballot
        (vote_id, sequence, choice, voter, channel, tally_sheet_id, cast_at, previous_hash, hash)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id
), head AS (
    UPDATE deliberation_vote SET ballot_count = ballot_count + 1, head_hash = %s WHERE id = %s RETURNING id
)
SELECT participation.id, ballot.id FROM participation, ballot, head
"""


def _append(
    vote: Vote,
    *,
    choice: int,
    household: Place | None,
    resident: Resident | None,
    cast_by: Resident | None,
    channel: str,
    sheet: TallySheet | None,
    now: datetime,
) -> tuple[Participation, Ballot]:
    """Write who voted and how, and move the chain's head. Call inside ``atomic`` with ``vote`` locked.

    On PostgreSQL the three writes (participation, ballot, head) are one statement (a CTE): one round trip instead
    of three, and none of them can happen without the others. Elsewhere (SQLite, one writer) three ORM statements.
    A second participation of the household (or person) fails the unique constraint: ``already_voted``.
    """
    secret = vote.secrecy == Secrecy.SECRET
    if secret:
        voter = secrets.token_hex(8)
    elif household is not None:
        voter = f"household:{household.pk}"
    else:
        assert resident is not None
        voter = f"resident:{resident.pk}"
    sequence = vote.ballot_count + 1
    previous = vote.head_hash or GENESIS
    cast_at = None if secret else now
    sheet_id = sheet.pk if sheet else None
    digest = ballot_hash(
        sequence=sequence,
        vote_id=vote.pk,
        choice=choice,
        voter=voter,
        channel=channel,
        tally_sheet_id=sheet_id,
        cast_at=cast_at,
        previous_hash=previous,
    )
    participation = Participation(
        vote=vote,
        household=household,
        resident=resident,
        cast_by=cast_by,
        channel=channel,
        tally_sheet=sheet,
        recorded_on=timezone.localdate(now),
        recorded_at=None if secret else now,
    )
    ballot = Ballot(
        vote=vote,
        sequence=sequence,
        choice=choice,
        voter=voter,
        channel=channel,
        tally_sheet=sheet,
        cast_at=cast_at,
        previous_hash=previous,
        hash=digest,
    )
    try:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    _APPEND_SQL,
                    [
                        vote.pk,
                        household.pk if household else None,
                        resident.pk if resident else None,
                        cast_by.pk if cast_by else None,
                        channel,
                        sheet_id,
                        participation.recorded_on,
                        participation.recorded_at,
                        vote.pk,
                        sequence,
                        choice,
                        voter,
                        channel,
                        sheet_id,
                        cast_at,
                        previous,
                        digest,
                        digest,
                        vote.pk,
                    ],
                )
                participation.pk, ballot.pk = cursor.fetchone()
            for row in (participation, ballot):
                row._state.adding, row._state.db = False, connection.alias
        else:
            participation.save(force_insert=True)
            ballot.save(force_insert=True)
            Vote.objects.filter(pk=vote.pk).update(ballot_count=F("ballot_count") + 1, head_hash=digest)
    except IntegrityError:
        raise DeliberationError.ALREADY_VOTED() from None
    vote.ballot_count, vote.head_hash = sequence, digest
    return participation, ballot


def _require_open(vote: Vote, now: datetime) -> None:
    if vote.state != VoteState.OPEN or not vote.opens_at <= now < vote.closes_at:
        raise DeliberationError.VOTE_NOT_OPEN()


def vote_cast(*, actor: Actor, vote: Vote, choice: int, now: datetime | None = None) -> CastReceipt:
    """Cast the actor's ballot (online): for their household or themselves, inside the window, once."""
    now = now or timezone.now()
    require_authenticated(actor)
    resident = actor_resident(actor)
    if resident is None:
        raise DeliberationError.NOT_ELIGIBLE()
    _require_open(vote, now)
    household, person = _voter_of(vote, resident, timezone.localdate(now), vote_scope_paths(vote))
    _check_choice(vote, choice)
    with transaction.atomic():
        locked = lock_vote(vote.pk)
        _require_open(locked, now)
        participation, ballot = _append(
            locked,
            choice=choice,
            household=household,
            resident=person,
            cast_by=resident if household is not None else None,
            channel=Channel.ONLINE,
            sheet=None,
            now=now,
        )
        changes: dict[str, Any] = {"channel": Channel.ONLINE}
        if vote.secrecy == Secrecy.OPEN:
            changes["choice"] = choice
        audit_record(
            actor=actor,
            action="deliberation.vote_cast",
            target=participation,
            place_path=vote.community.path,
            changes=changes,
        )
    return CastReceipt(participation=participation, ballot=ballot, receipt=ballot.voter)


def paper_ballots_enter(
    *, actor: Actor, vote: Vote, photo: Any, entries: list[PaperEntry], note: str = "", now: datetime | None = None
) -> TallySheet:
    """Enter a tally sheet's paper ballots, with its photo: each one chained like an online ballot and counted
    in the participants and the totals. All of the sheet or nothing: a household (or person) that voted already,
    or an ineligible one, refuses the whole sheet. Allowed from the opening until the result is published."""
    now = now or timezone.now()
    require_ballot_enter(actor, vote.community)
    if not entries:
        raise ValidationFailed(fields={"entries": _("Enter at least one ballot.")})
    cleaned = clean_upload(photo, field="photo") if photo else None
    if cleaned is None:
        raise ValidationFailed(fields={"photo": _("Attach the photo of the tally sheet.")})
    if vote.state != VoteState.OPEN or now < vote.opens_at:
        raise DeliberationError.VOTE_NOT_OPEN()
    today = timezone.localdate(now)
    paths = vote_scope_paths(vote)
    voters: list[tuple[PaperEntry, Place | None, Resident | None]] = []
    for entry in entries:
        _check_choice(vote, entry.choice)
        if vote.kind == VoteKind.HOUSEHOLD:
            if (
                entry.household is None
                or entry.household.kind != PlaceKind.HOUSEHOLD
                or not _in_scope(paths, entry.household)
            ):
                raise DeliberationError.NOT_ELIGIBLE(fields={"household": _("Not a household of this vote.")})
            voters.append((entry, entry.household, None))
        else:
            if entry.resident is None:
                raise DeliberationError.NOT_ELIGIBLE()
            household, person = _voter_of(vote, entry.resident, today, paths)
            voters.append((entry, household, person))
    households = [household.pk for _entry, household, _person in voters if household is not None]
    persons = [person.pk for _entry, _household, person in voters if person is not None]
    if len(set(households)) != len(households) or len(set(persons)) != len(persons):
        raise ValidationFailed(fields={"entries": _("A household or person appears twice on this sheet.")})
    with transaction.atomic():
        locked = lock_vote(vote.pk)
        if locked.state != VoteState.OPEN:
            raise DeliberationError.VOTE_NOT_OPEN()
        # Checked under the lock before the photo is stored, so a refused sheet leaves no file behind.
        if (
            Participation.objects.filter(vote=locked)
            .filter(Q(household_id__in=households) | Q(resident_id__in=persons))
            .exists()
        ):
            raise DeliberationError.ALREADY_VOTED()
        sheet = TallySheet.objects.create(vote=locked, photo=cleaned, entered_by=actor, entered_at=now, note=note[:200])
        for entry, household, person in voters:
            _append(
                locked,
                choice=entry.choice,
                household=household,
                resident=person,
                cast_by=None,
                channel=Channel.PAPER,
                sheet=sheet,
                now=now,
            )
        audit_record(
            actor=actor,
            action="deliberation.paper_ballots_enter",
            target=sheet,
            place_path=vote.community.path,
            changes={"ballots": len(voters)},
        )
    return sheet


def tally(vote: Vote) -> dict[str, Any]:
    """Counts per choice, participants by channel, and the outcome under the vote's quorum and majority."""
    counts = dict(
        Ballot.objects.filter(vote=vote).values_list("choice").annotate(n=Count("pk")).values_list("choice", "n")
    )
    channels = dict(
        Participation.objects.filter(vote=vote)
        .values_list("channel")
        .annotate(n=Count("pk"))
        .values_list("channel", "n")
    )
    total = sum(counts.values())
    choices = list(VoteChoice.objects.filter(vote=vote).values_list("position", "label"))
    quorum = total * vote.quorum_denominator >= vote.eligible_count * vote.quorum_numerator and total > 0
    leader = max(choices, key=lambda item: (counts.get(item[0], 0), -item[0])) if choices else None
    leading = counts.get(leader[0], 0) if leader else 0
    carried = leading * 3 >= total * 2 and total > 0 if vote.majority == Majority.TWO_THIRDS else leading * 2 > total
    if not quorum:
        outcome = VoteOutcome.NO_QUORUM
    elif carried:
        outcome = VoteOutcome.CARRIED
    else:
        outcome = VoteOutcome.NOT_CARRIED
    return {
        "choices": [{"position": p, "label": label, "ballots": counts.get(p, 0)} for p, label in choices],
        "ballots": total,
        "online": channels.get(Channel.ONLINE, 0),
        "paper": channels.get(Channel.PAPER, 0),
        "eligible": vote.eligible_count,
        "quorum_met": quorum,
        "winner": leader[0] if leader and outcome == VoteOutcome.CARRIED else None,
        "outcome": str(outcome),
    }


def vote_result_publish(*, actor: Actor, vote: Vote, now: datetime | None = None) -> Vote:
    """Publish the result once, after the close: the chain is verified first (refused if it does not), and the
    result keeps its head (count and last hash)."""
    now = now or timezone.now()
    require_manage(actor, vote.community)
    if now < vote.closes_at:
        raise DeliberationError.VOTE_NOT_CLOSED()
    with transaction.atomic():
        locked = lock_vote(vote.pk)
        if locked.state != VoteState.OPEN:
            raise DeliberationError.ALREADY_PUBLISHED()
        report = chain_report(locked)
        if not report.intact:
            raise DeliberationError.CHAIN_BROKEN()
        result = tally(locked)
        result["head"] = locked.head_hash
        Vote.objects.filter(pk=locked.pk).update(
            state=VoteState.PUBLISHED, result=result, outcome=result["outcome"], published_at=now
        )
        audit_record(
            actor=actor,
            action="deliberation.vote_result_publish",
            target=locked,
            place_path=vote.community.path,
            changes={"outcome": result["outcome"], "head": locked.head_hash},
        )
    locked.refresh_from_db()
    return locked
