"""The records of deliberation (协商议事).

- ``CatalogueEntry`` / ``Liaison`` / ``DeliberationSettings``: each community's consultation catalogue (协商目录),
  which kinds of matter are major (they must take the four-step path), its liaisons, and its rules (co-signing
  threshold by persons or households, the residents' meeting quorum).
- ``Topic`` (议题) with ``CoSignature``: proposed by a resident, a party branch or staff; accepted onto the agenda
  or declined with a published reason; decided; carried out (``Task``); rated by residents (``Rating``).
- ``Session`` + ``Invitation``: the five steps of one deliberation (where and when, the matter, who takes part,
  how, and — on the topic — the decision and who carries it out).
- ``Resolution`` + ``ResolutionStep`` + ``StepAttendance``: the four-step resolution with two publications
  (四议两公开) for major matters.
- ``Vote`` + ``VoteChoice`` + ``Participation`` (who voted) + ``Ballot`` (how: the hash chain) + ``TallySheet``
  (paper ballots' photo).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.people.models import PartyOrganisation, Resident
from gongzhi.places.models import Place


class CosignBasis(models.TextChoices):
    PERSONS = "persons", _("persons")
    HOUSEHOLDS = "households", _("households")


class DeliberationSettings(models.Model):
    """A community's rules of deliberation (created on first change; the defaults apply until then)."""

    community = models.OneToOneField(Place, on_delete=models.PROTECT, related_name="+")
    cosign_threshold = models.PositiveIntegerField(_("co-signatures needed"), default=5)
    cosign_basis = models.CharField(
        _("co-signatures counted by"), max_length=16, choices=CosignBasis.choices, default=CosignBasis.PERSONS
    )
    # The residents' (representatives') meeting decides with at least numerator/denominator of those entitled
    # present (default two thirds), by more than half of those present.
    meeting_quorum_numerator = models.PositiveSmallIntegerField(_("meeting quorum (numerator)"), default=2)
    meeting_quorum_denominator = models.PositiveSmallIntegerField(_("meeting quorum (denominator)"), default=3)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="deliberation_settings_quorum_fraction",
                condition=Q(meeting_quorum_denominator__gt=0)
                & Q(meeting_quorum_numerator__gt=0)
                & Q(meeting_quorum_numerator__lte=F("meeting_quorum_denominator")),
            ),
            models.CheckConstraint(
                name="deliberation_settings_threshold_positive", condition=Q(cosign_threshold__gt=0)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.community_id}: {self.cosign_threshold} {self.cosign_basis}"


class CatalogueEntry(models.Model):
    """A kind of matter the community commits to consult on; ``is_major`` matters take the four-step path."""

    community = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("matter"), max_length=150)
    description = models.TextField(_("description"), blank=True)
    is_major = models.BooleanField(_("major matter (four-step resolution)"), default=False)
    is_active = models.BooleanField(_("in the catalogue"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("consultation catalogue entry")
        ordering = ["community_id", "-is_major", "name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "name"], condition=Q(is_active=True), name="deliberation_catalogue_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Liaison(models.Model):
    """A consultation liaison (议事联络员) of a community, optionally for one part of it (a grid, a building)."""

    community = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="+")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+")
    serves = models.ForeignKey(Place, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["community", "resident"], condition=Q(ends_on__isnull=True), name="deliberation_liaison_once"
            )
        ]

    def __str__(self) -> str:
        return f"liaison {self.resident_id} of {self.community_id}"


class TopicSource(models.TextChoices):
    RESIDENT = "resident", _("resident")
    PARTY_BRANCH = "party_branch", _("party branch")
    STAFF = "staff", _("community staff")


class TopicState(models.TextChoices):
    PROPOSED = "proposed", _("collecting co-signatures")
    ACCEPTED = "accepted", _("on the agenda")
    DECLINED = "declined", _("declined")
    DECIDED = "decided", _("decided")
    CARRIED_OUT = "carried_out", _("carried out")


class Topic(models.Model):
    """A matter put to deliberation. States: proposed → accepted | declined; accepted → decided → carried out."""

    community = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="+")
    catalogue_entry = models.ForeignKey(CatalogueEntry, null=True, blank=True, on_delete=models.PROTECT)
    title = models.CharField(_("title"), max_length=150)
    description = models.TextField(_("description"))
    source = models.CharField(_("proposed by"), max_length=16, choices=TopicSource.choices)
    proposer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposer_resident = models.ForeignKey(Resident, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    party_organisation = models.ForeignKey(
        PartyOrganisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_major = models.BooleanField(_("major matter"), default=False)
    state = models.CharField(_("state"), max_length=16, choices=TopicState.choices, default=TopicState.PROPOSED)
    # The threshold in force when it was proposed (a later change of the community's rule does not move it).
    cosign_threshold = models.PositiveIntegerField(default=0)
    cosign_basis = models.CharField(max_length=16, choices=CosignBasis.choices, default=CosignBasis.PERSONS)
    cosigner_count = models.PositiveIntegerField(default=0)
    cosigning_household_count = models.PositiveIntegerField(default=0)
    decline_reason = models.TextField(_("reason for declining"), blank=True)
    decision = models.TextField(_("decision"), blank=True)
    carried_out_by = models.CharField(_("carried out by"), max_length=200, blank=True)
    result_summary = models.TextField(_("result"), blank=True)
    proposed_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    carried_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("topic")
        ordering = ["-proposed_at", "-pk"]
        indexes = [models.Index(fields=["community", "state"])]
        constraints = [
            models.CheckConstraint(
                name="deliberation_topic_declined_has_reason",
                condition=~Q(state="declined") | ~Q(decline_reason=""),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def cosign_progress(self) -> int:
        """Co-signatures counted by the topic's basis."""
        return self.cosigning_household_count if self.cosign_basis == CosignBasis.HOUSEHOLDS else self.cosigner_count

    @property
    def cosign_percent(self) -> int:
        if not self.cosign_threshold:
            return 100
        return min(100, self.cosign_progress * 100 // self.cosign_threshold)


class CoSignature(models.Model):
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="cosignatures")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["topic", "resident"], name="deliberation_cosign_once")]

    def __str__(self) -> str:
        return f"{self.resident_id} co-signed {self.topic_id}"


class SessionMethod(models.TextChoices):
    MEETING = "meeting", _("meeting")
    ONLINE = "online", _("online discussion")
    HEARING = "hearing", _("hearing")


class Session(models.Model):
    """One deliberation of a topic: where and when, the matter, the method; ``held_at`` once it took place."""

    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="sessions")
    venue = models.CharField(_("place"), max_length=200)
    starts_at = models.DateTimeField(_("time"))
    matter = models.TextField(_("the matter"))
    method = models.CharField(_("method"), max_length=16, choices=SessionMethod.choices)
    summary = models.TextField(_("summary"), blank=True)
    held_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at", "pk"]

    def __str__(self) -> str:
        return f"{self.topic_id} @ {self.starts_at:%Y-%m-%d %H:%M}"


class ParticipantKind(models.TextChoices):
    RESIDENT = "resident", _("resident")
    REPRESENTATIVE = "representative", _("residents' representative")
    ORGANISATION = "organisation", _("organisation")
    EXPERT = "expert", _("expert")


class Invitation(models.Model):
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="invitations")
    kind = models.CharField(max_length=16, choices=ParticipantKind.choices)
    resident = models.ForeignKey(Resident, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=150)
    attended = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "resident"], condition=Q(resident__isnull=False), name="deliberation_invite_once"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    """A piece of carrying out a decision (民办): an owner, a deadline, progress 0–100."""

    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="tasks")
    title = models.CharField(_("task"), max_length=200)
    owner = models.CharField(_("owner"), max_length=150)
    due_on = models.DateField(_("deadline"))
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    note = models.TextField(_("latest progress"), blank=True)
    done_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_on", "pk"]
        constraints = [
            models.CheckConstraint(name="deliberation_task_progress_range", condition=Q(progress__lte=100)),
        ]

    def __str__(self) -> str:
        return self.title


class Rating(models.Model):
    """A resident's rating of a carried-out topic (民评), once each."""

    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="ratings")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    rated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["topic", "resident"], name="deliberation_rating_once"),
            models.CheckConstraint(name="deliberation_rating_range", condition=Q(score__gte=1) & Q(score__lte=5)),
        ]

    def __str__(self) -> str:
        return f"{self.topic_id}: {self.score}"


# ---------------------------------------------------------------- four-step resolution


class ResolutionStepKind(models.IntegerChoices):
    PROPOSAL = 1, _("proposal by the party organisation")
    COMMITTEES = 2, _("discussion by the two committees")
    PARTY_MEETING = 3, _("review by the party members' meeting")
    RESIDENTS_MEETING = 4, _("resolution by the residents' (representatives') meeting")


class Resolution(models.Model):
    """The four-step resolution of a major topic and its two publications."""

    topic = models.OneToOneField(Topic, on_delete=models.PROTECT, related_name="resolution")
    steps_done = models.PositiveSmallIntegerField(default=0)
    text = models.TextField(_("resolution"), blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    result_text = models.TextField(_("result of carrying it out"), blank=True)
    result_published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(name="deliberation_resolution_steps_range", condition=Q(steps_done__lte=4)),
            models.CheckConstraint(
                name="deliberation_resolution_published_after_step_four",
                condition=Q(published_at__isnull=True) | Q(steps_done=4),
            ),
            models.CheckConstraint(
                name="deliberation_resolution_result_after_publication",
                condition=Q(result_published_at__isnull=True) | Q(published_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"resolution of topic {self.topic_id} ({self.steps_done}/4)"


class ResolutionStep(models.Model):
    resolution = models.ForeignKey(Resolution, on_delete=models.PROTECT, related_name="steps")
    kind = models.PositiveSmallIntegerField(choices=ResolutionStepKind.choices)
    held_on = models.DateField(_("date"))
    attendees = models.TextField(_("attendees"), blank=True)
    entitled_count = models.PositiveIntegerField(_("entitled to attend"), default=0)
    present_count = models.PositiveIntegerField(_("present"), default=0)
    in_favour = models.PositiveIntegerField(_("in favour"), default=0)
    against = models.PositiveIntegerField(_("against"), default=0)
    abstaining = models.PositiveIntegerField(_("abstaining"), default=0)
    minutes = models.TextField(_("minutes"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["kind"]
        constraints = [
            models.UniqueConstraint(fields=["resolution", "kind"], name="deliberation_step_once"),
            models.CheckConstraint(name="deliberation_step_kind_range", condition=Q(kind__gte=1) & Q(kind__lte=4)),
            models.CheckConstraint(
                name="deliberation_step_votes_within_present",
                condition=Q(present_count__gte=F("in_favour") + F("against") + F("abstaining")),
            ),
            models.CheckConstraint(
                name="deliberation_step_present_within_entitled",
                condition=Q(entitled_count=0) | Q(present_count__lte=F("entitled_count")),
            ),
        ]

    def __str__(self) -> str:
        return f"step {self.kind} of {self.resolution_id}"


class StepAttendance(models.Model):
    """A party member recorded present at the party members' meeting (step 3): quorum counts these rows."""

    step = models.ForeignKey(ResolutionStep, on_delete=models.PROTECT, related_name="attendance")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["step", "resident"], name="deliberation_attendance_once")]

    def __str__(self) -> str:
        return f"{self.resident_id} at {self.step_id}"


# ---------------------------------------------------------------- votes


class VoteKind(models.TextChoices):
    PERSON = "person", _("one person, one vote")
    HOUSEHOLD = "household", _("one household, one vote")


class HouseholdVoters(models.TextChoices):
    ADULTS = "adults", _("any adult registered member")
    HOUSEHOLDER = "householder", _("the householder only")


class Secrecy(models.TextChoices):
    OPEN = "open", _("open ballot")
    SECRET = "secret", _("secret ballot")


class Majority(models.TextChoices):
    SIMPLE = "simple", _("more than half of the ballots")
    TWO_THIRDS = "two_thirds", _("at least two thirds of the ballots")


class VoteState(models.TextChoices):
    OPEN = "open", _("open")
    PUBLISHED = "published", _("result published")


class VoteOutcome(models.TextChoices):
    CARRIED = "carried", _("carried")
    NOT_CARRIED = "not_carried", _("not carried")
    NO_QUORUM = "no_quorum", _("quorum not reached")


class Vote(models.Model):
    """A vote on a topic. Ballots are accepted between ``opens_at`` and ``closes_at``; the tally is hidden until
    the close; the result (with the chain head) is published once, after the close.

    ``ballot_count`` and ``head_hash`` are the head of the ballot chain, moved in the transaction that appends a
    ballot under this row's lock; ``eligible_count`` is fixed when the vote is created.
    """

    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="votes")
    community = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("question"), max_length=200)
    kind = models.CharField(_("who votes"), max_length=16, choices=VoteKind.choices)
    household_voters = models.CharField(
        _("who may cast a household's vote"),
        max_length=16,
        choices=HouseholdVoters.choices,
        default=HouseholdVoters.ADULTS,
    )
    buildings = models.ManyToManyField(Place, blank=True, related_name="+")
    secrecy = models.CharField(_("ballot"), max_length=8, choices=Secrecy.choices, default=Secrecy.OPEN)
    majority = models.CharField(_("majority"), max_length=16, choices=Majority.choices, default=Majority.SIMPLE)
    quorum_numerator = models.PositiveSmallIntegerField(default=1)
    quorum_denominator = models.PositiveSmallIntegerField(default=2)
    opens_at = models.DateTimeField(_("opens"))
    closes_at = models.DateTimeField(_("closes"))
    eligible_count = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=16, choices=VoteState.choices, default=VoteState.OPEN)
    ballot_count = models.PositiveIntegerField(default=0)
    head_hash = models.CharField(max_length=64, default="")
    outcome = models.CharField(max_length=16, choices=VoteOutcome.choices, blank=True)
    result = models.JSONField(default=dict, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-opens_at", "-pk"]
        constraints = [
            models.CheckConstraint(name="deliberation_vote_window", condition=Q(closes_at__gt=F("opens_at"))),
            models.CheckConstraint(
                name="deliberation_vote_quorum_fraction",
                condition=Q(quorum_denominator__gt=0) & Q(quorum_numerator__lte=F("quorum_denominator")),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class VoteChoice(models.Model):
    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="choices")
    position = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=100)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["vote", "position"], name="deliberation_choice_position")]

    def __str__(self) -> str:
        return self.label


class Channel(models.TextChoices):
    ONLINE = "online", _("online")
    PAPER = "paper", _("paper ballot")


class TallySheet(models.Model):
    """A paper tally sheet an officer entered, with its photo."""

    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="tally_sheets")
    photo = models.FileField(upload_to="deliberation/tally/%Y/%m/")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"tally sheet {self.pk} of vote {self.vote_id}"


class Participation(models.Model):
    """Who voted (append-only). A household vote fills ``household`` (and ``cast_by`` for an online ballot), a
    person vote ``resident``; the unique constraints make the second try of one household or person fail.

    For a secret ballot this row carries only the day (``recorded_on``), never the minute, and the ballot row
    carries no voter and no time: the two tables cannot be joined by time.
    """

    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="participations")
    household = models.ForeignKey(Place, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resident = models.ForeignKey(Resident, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    cast_by = models.ForeignKey(Resident, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    tally_sheet = models.ForeignKey(TallySheet, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_on = models.DateField()
    recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vote", "household"], name="deliberation_one_vote_per_household"),
            models.UniqueConstraint(fields=["vote", "resident"], name="deliberation_one_vote_per_person"),
            models.CheckConstraint(
                name="deliberation_participation_one_voter",
                condition=Q(household__isnull=True, resident__isnull=False)
                | Q(household__isnull=False, resident__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"participation {self.pk} in vote {self.vote_id}"


class Ballot(models.Model):
    """How one voted: a link of the vote's hash chain (append-only by trigger).

    ``hash`` = SHA-256 over the canonical serialisation (``chain.canonical``) of sequence, vote, choice, voter
    (the voter's reference on an open ballot, a random pseudonym on a secret one), channel, tally sheet, time
    (open ballots only) and ``previous_hash``. ``(vote, sequence)`` is unique, so the chain cannot fork.
    """

    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="ballots")
    sequence = models.PositiveIntegerField()
    choice = models.PositiveSmallIntegerField()
    voter = models.CharField(max_length=64)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    tally_sheet = models.ForeignKey(TallySheet, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    cast_at = models.DateTimeField(null=True, blank=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["vote_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["vote", "sequence"], name="deliberation_ballot_sequence"),
            models.CheckConstraint(name="deliberation_ballot_sequence_positive", condition=Q(sequence__gte=1)),
        ]

    def __str__(self) -> str:
        return f"ballot {self.sequence} of vote {self.vote_id}"
