"""The records of volunteering: teams, activities with sign-ups (and their waiting list), attendance and hours,
the dual registration of in-service party members with the posts they claim, and micro-wishes.

Invariants the database keeps:

- an activity never has more places taken than its capacity (``taken`` is moved with ``F()`` under the
  activity's lock, and a check constraint refuses ``taken > capacity``);
- one sign-up in force per resident and activity; one waiting position per activity;
- a check-out never lies before its check-in; honour hours are positive and always carry who added them and why;
- one dual registration in force per party membership; one open claim of a post per registration;
- a wish's claimer is named exactly when the wish is claimed or past it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gongzhi.people.models import Organisation, PartyMembership, Resident
from gongzhi.places.models import Place
from gongzhi.points.models import Claim, PointItem


class TeamPurpose(models.TextChoices):
    POLICY_PUBLICITY = "policy_publicity", _("policy publicity")
    CIVILISATION_SUPERVISION = "civilisation_supervision", _("civilisation supervision")
    SANITATION = "sanitation", _("sanitation")
    PATROL = "patrol", _("patrol")
    ELDERLY_CARE = "elderly_care", _("elderly care")
    CHILD_CARE = "child_care", _("children and youth")
    MEDIATION = "mediation", _("mediation")
    SKILLS = "skills", _("skilled services")
    OTHER = "other", _("other")


class Team(models.Model):
    """A volunteer team (志愿服务队) of a community, run by the community or by a resident organisation."""

    community = models.ForeignKey(Place, verbose_name=_("community"), on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    purpose = models.CharField(_("purpose"), max_length=32, choices=TeamPurpose.choices)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("run by organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="volunteer_teams",
    )
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("volunteer team")
        verbose_name_plural = _("volunteer teams")
        ordering = ["community_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "name"], condition=Q(is_active=True), name="team_unique_active_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    """A resident's membership of a team: asked for (pending), approved (active), or left."""

    class State(models.TextChoices):
        PENDING = "pending", _("waiting for approval")
        ACTIVE = "active", _("member")
        LEFT = "left", _("left")

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="members")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="volunteer_teams")
    skills = models.CharField(_("skills"), max_length=200, blank=True)
    is_lead = models.BooleanField(_("team lead"), default=False)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.PENDING)
    joined_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team members")
        constraints = [
            models.UniqueConstraint(
                fields=["team", "resident"], condition=~Q(state="left"), name="teammember_one_in_force"
            ),
            models.CheckConstraint(condition=~Q(is_lead=True, state="left"), name="teammember_lead_in_force"),
        ]

    def __str__(self) -> str:
        return f"{self.team_id}:{self.resident_id}"


class Eligibility(models.TextChoices):
    EVERYONE = "everyone", _("everyone")
    PARTY_MEMBERS = "party_members", _("party members")
    TEAM = "team", _("members of the team")
    SKILL = "skill", _("volunteers with the skill")


class Activity(models.Model):
    """A volunteer activity (志愿招募): when and where, how many, what it earns, who may join."""

    class State(models.TextChoices):
        OPEN = "open", pgettext_lazy("activity", "open")
        CLOSED = "closed", pgettext_lazy("activity", "closed")
        CANCELLED = "cancelled", pgettext_lazy("activity", "cancelled")

    community = models.ForeignKey(Place, verbose_name=_("community"), on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    location = models.CharField(_("where"), max_length=150)
    organiser = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("organiser"), on_delete=models.PROTECT, related_name="+"
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.PROTECT, related_name="activities"
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    capacity = models.PositiveIntegerField(_("places"))
    point_item = models.ForeignKey(
        PointItem, verbose_name=_("point item"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    eligibility = models.CharField(
        _("who may join"), max_length=16, choices=Eligibility.choices, default=Eligibility.EVERYONE
    )
    skill = models.CharField(_("skill asked for"), max_length=50, blank=True)
    signup_closes_at = models.DateTimeField(_("sign-up closes"))
    cancel_deadline = models.DateTimeField(_("cancel without note until"))
    waiting_limit = models.PositiveIntegerField(
        _("at most this many on the waiting list"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    confirm_hours = models.PositiveIntegerField(_("hours to confirm a place offered from the waiting list"), default=12)
    check_margin_minutes = models.PositiveIntegerField(_("check-in margin (minutes)"), default=30)
    attendance_share = models.PositiveIntegerField(_("share of the activity to attend for hours (%)"), default=60)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN, db_index=True)
    # Places held by confirmed sign-ups and by offers from the waiting list; moved only with F() under the lock.
    taken = models.PositiveIntegerField(default=0)
    waiting_serial = models.PositiveIntegerField(default=0)
    token_secret = models.CharField(max_length=32)
    beneficiary_person_times = models.PositiveIntegerField(_("people served (person-times)"), default=0)
    beneficiary_households = models.PositiveIntegerField(_("households served"), default=0)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="activity_ends_after_start"),
            models.CheckConstraint(condition=Q(capacity__gt=0), name="activity_capacity_positive"),
            models.CheckConstraint(condition=Q(taken__lte=F("capacity")), name="activity_never_overbooked"),
            models.CheckConstraint(
                condition=Q(attendance_share__gte=1, attendance_share__lte=100), name="activity_share_percent"
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(state="closed"), name="activity_closed_at_only_closed"
            ),
        ]
        indexes = [models.Index(fields=["community", "starts_at"], name="activity_community_start_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


class SignUp(models.Model):
    """A resident's sign-up for an activity, its place on the waiting list, and their attendance."""

    class State(models.TextChoices):
        CONFIRMED = "confirmed", _("has a place")
        WAITING = "waiting", _("on the waiting list")
        OFFERED = "offered", _("place offered, to confirm")
        CANCELLED = "cancelled", pgettext_lazy("sign-up", "cancelled")
        EXPIRED = "expired", _("offer not confirmed in time")

    class Method(models.TextChoices):
        SCAN = "scan", _("scanned the code")
        CODE = "code", _("typed the code")
        ROSTER = "roster", _("ticked by the organiser")

    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="signups")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="volunteer_signups")
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(_("state"), max_length=10, choices=State.choices, db_index=True)
    position = models.PositiveIntegerField(_("waiting position"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(_("confirm by"), null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    late_cancellation = models.BooleanField(_("cancelled late"), default=False)
    checked_in_at = models.DateTimeField(_("checked in"), null=True, blank=True)
    check_in_method = models.CharField(max_length=8, choices=Method.choices, blank=True)
    checked_out_at = models.DateTimeField(_("checked out"), null=True, blank=True)
    check_out_method = models.CharField(max_length=8, choices=Method.choices, blank=True)
    # Set when the activity is closed.
    no_show = models.BooleanField(_("did not come"), default=False)
    credit_minutes = models.PositiveIntegerField(_("credit minutes"), default=0)
    claim = models.ForeignKey(Claim, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    claim_refusal = models.CharField(_("why no claim"), max_length=64, blank=True)
    # The activity's start, copied when the sign-up is made (an activity's start never changes once people can
    # sign up): the figures that ask "did this resident serve between these moments" read one index range of the
    # resident's credited sign-ups (``signup_credited_idx``) instead of joining every sign-up to its activity.
    activity_starts_at = models.DateTimeField(_("activity starts"), editable=False)

    class Meta:
        verbose_name = _("sign-up")
        verbose_name_plural = _("sign-ups")
        ordering = ["activity_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "resident"],
                condition=Q(state__in=["confirmed", "waiting", "offered"]),
                name="signup_one_in_force",
            ),
            models.UniqueConstraint(
                fields=["activity", "position"], condition=Q(position__isnull=False), name="signup_unique_position"
            ),
            models.CheckConstraint(
                condition=Q(checked_out_at__isnull=True)
                | Q(checked_in_at__isnull=False, checked_out_at__gte=F("checked_in_at")),
                name="signup_out_after_in",
            ),
        ]
        indexes = [
            models.Index(fields=["activity", "state", "position"], name="signup_waiting_idx"),
            models.Index(fields=["state", "offer_expires_at"], name="signup_offer_expiry_idx"),
            models.Index(
                fields=["resident", "activity_starts_at"],
                condition=Q(state="confirmed", credit_minutes__gt=0),
                name="signup_credited_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.activity_id}:{self.resident_id} {self.state}"

    def save(self, *args, **kwargs) -> None:
        if self.activity_starts_at is None:
            self.activity_starts_at = self.activity.starts_at
        super().save(*args, **kwargs)


class HonourHours(models.Model):
    """Hours added by hand ("honour hours"): never mixed with credit hours, always with who added them and why."""

    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="honour_hours")
    community = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="+")
    activity = models.ForeignKey(Activity, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    minutes = models.PositiveIntegerField(_("minutes"))
    served_on = models.DateField(_("served on"))
    reason = models.CharField(_("why"), max_length=255)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("honour hours")
        verbose_name_plural = _("honour hours")
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gt=0), name="honourhours_positive"),
            models.CheckConstraint(condition=~Q(reason=""), name="honourhours_reason_given"),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.minutes}"


class DualRegistration(models.Model):
    """An in-service party member's registration with their home community (双报到 / 报到), confirmed by their
    employer's representative."""

    class State(models.TextChoices):
        PENDING = "pending", _("waiting for the employer's confirmation")
        CONFIRMED = "confirmed", _("confirmed")
        ENDED = "ended", pgettext_lazy("registration", "ended")

    membership = models.ForeignKey(PartyMembership, on_delete=models.PROTECT, related_name="home_registrations")
    community = models.ForeignKey(Place, verbose_name=_("home community"), on_delete=models.PROTECT, related_name="+")
    employer = models.ForeignKey(
        Organisation, verbose_name=_("employer"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    registered_on = models.DateField(_("registered on"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("dual registration")
        verbose_name_plural = _("dual registrations")
        constraints = [
            models.UniqueConstraint(
                fields=["membership"], condition=~Q(state="ended"), name="dualregistration_one_in_force"
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(state="ended"), name="dualregistration_ended_state"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.membership_id} @ {self.community_id}"


class Post(models.Model):
    """A post (岗位) of a community that registered party members claim (认领岗位): building liaison, patrol …"""

    community = models.ForeignKey(Place, verbose_name=_("community"), on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    slots = models.PositiveIntegerField(_("people wanted"), default=1)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["community_id", "title"]
        constraints = [models.CheckConstraint(condition=Q(slots__gt=0), name="post_slots_positive")]

    def __str__(self) -> str:
        return self.title


class PostClaim(models.Model):
    """A registered member holding a post, from a day, until released."""

    registration = models.ForeignKey(DualRegistration, on_delete=models.PROTECT, related_name="post_claims")
    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="claims")
    claimed_on = models.DateField(_("claimed on"))
    released_on = models.DateField(_("released on"), null=True, blank=True)

    class Meta:
        verbose_name = _("post claim")
        verbose_name_plural = _("post claims")
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "post"], condition=Q(released_on__isnull=True), name="postclaim_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.registration_id}:{self.post_id}"


class ClaimerKind(models.TextChoices):
    PARTY_MEMBER = "party_member", _("party member")
    TEAM = "team", _("volunteer team")
    ORGANISATION = "organisation", _("organisation")


class Wish(models.Model):
    """A micro-wish (微心愿): a small need a resident posts (or a worker for them), approved for the wish wall,
    claimed, fulfilled with a photo and confirmed by the resident (or the worker)."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", _("waiting for approval")
        REFUSED = "refused", pgettext_lazy("wish", "refused")
        OPEN = "open", _("on the wish wall")
        CLAIMED = "claimed", pgettext_lazy("wish", "claimed")
        FULFILLED = "fulfilled", _("fulfilled, to confirm")
        CONFIRMED = "confirmed", pgettext_lazy("wish", "confirmed")

    community = models.ForeignKey(Place, verbose_name=_("community"), on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey(Place, verbose_name=_("household"), on_delete=models.PROTECT, related_name="+")
    resident = models.ForeignKey(Resident, verbose_name=_("for"), on_delete=models.PROTECT, related_name="wishes")
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    on_behalf = models.BooleanField(default=False)
    title = models.CharField(_("wish"), max_length=60)
    public_text = models.TextField(_("what is wished for (shown on the wall)"), max_length=500)
    due_on = models.DateField(_("wished for by"))
    point_item = models.ForeignKey(
        PointItem, verbose_name=_("point item"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.SUBMITTED, db_index=True)
    posted_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    refusal_reason = models.CharField(max_length=255, blank=True)
    claimer_kind = models.CharField(max_length=16, choices=ClaimerKind.choices, blank=True)
    claimer_resident = models.ForeignKey(
        Resident, null=True, blank=True, on_delete=models.PROTECT, related_name="wishes_claimed"
    )
    claimer_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    claimer_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    fulfilment_note = models.CharField(max_length=255, blank=True)
    fulfilment_photo = models.FileField(upload_to="wishes/", blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    claim = models.ForeignKey(Claim, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    claim_refusal = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("micro-wish")
        verbose_name_plural = _("micro-wishes")
        ordering = ["-posted_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["submitted", "refused", "open"], claimed_by__isnull=True)
                | Q(state__in=["claimed", "fulfilled", "confirmed"], claimed_by__isnull=False),
                name="wish_claimer_when_claimed",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class WishEvent(models.Model):
    """The wish's trail: claims and withdrawn claims (with why), fulfilment, confirmation."""

    class Action(models.TextChoices):
        CLAIM = "claim", _("claimed")
        WITHDRAW = "withdraw", _("claim withdrawn")
        FULFIL = "fulfil", _("fulfilled")
        CONFIRM = "confirm", _("confirmed")

    wish = models.ForeignKey(Wish, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=10, choices=Action.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    claimer_kind = models.CharField(max_length=16, blank=True)
    note = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("wish event")
        verbose_name_plural = _("wish events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.wish_id} {self.action}"


class ActivityChange(models.Model):
    """One change of an activity or of its sign-ups that the figures read (a new sign-up, a sign-up's state, credit
    minutes, no-show or late cancellation; the activity's state or beneficiaries), written by the service in the
    same transaction. The change record of the roll-ups (``gongzhi.volunteering.kpi_rollups``): its pk grows with
    time, so the roll-ups find the activities changed since their last run; never updated."""

    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("activity change")
        verbose_name_plural = _("activity changes")

    def __str__(self) -> str:
        return f"{self.activity_id} {self.at}"

    @classmethod
    def record(cls, activity_id: int, now) -> None:
        """Note that the activity (or one of its sign-ups) changed."""
        cls.objects.create(activity_id=activity_id, at=now)
