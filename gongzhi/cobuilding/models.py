"""The records of co-building (共驻共建): agreements and the three lists (一书三单), micro-projects (微实事) with the
community service fund, points alliances (红色积分联盟), joint meetings and forums, pairings (结对联建), the
quarterly property management assessment and the yearly report-back of each organisation.

Invariants kept by the database:

- one active agreement per organisation and community;
- one open claim of a project at a time (``projectclaim_one_open``);
- a fund never commits and spends more than its budget (``fund_within_budget``), amounts never negative;
- one score per compound, quarter and party, each 0–100; one published result per compound and quarter;
- assessment weights add up to 100;
- one rating per resident and project, 1–5 stars; one report-back per organisation and year.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.people.models import Organisation
from gongzhi.places.models import Place
from gongzhi.points.models import PointItem

ZERO = Decimal("0")


class ResourceKind(models.TextChoices):
    VENUE = "venue", _("venue")
    FUNDS = "funds", _("funds")
    PEOPLE = "people", _("people")
    SKILLS = "skills", _("skills")
    GOODS = "goods", _("goods")


# ---------------------------------------------------------------- agreements


class Agreement(models.Model):
    """A resident organisation's co-building agreement with a community (共建协议): dates, scope, the signed file."""

    class State(models.TextChoices):
        ACTIVE = "active", _("in force")
        ENDED = "ended", _("ended")

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="cobuilding_agreements"
    )
    community = models.ForeignKey(Place, verbose_name=_("community"), on_delete=models.PROTECT, related_name="+")
    scope = models.TextField(_("scope"))
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    signed_file = models.FileField(_("signed agreement"), upload_to="cobuilding/agreements/", blank=True)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.ACTIVE)
    renewed_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="renewal", verbose_name=_("renews")
    )
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("co-building agreement")
        verbose_name_plural = _("co-building agreements")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "community"], condition=Q(state="active"), name="agreement_one_active"
            ),
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="agreement_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} @ {self.community_id}"


# ---------------------------------------------------------------- the three lists


class Resource(models.Model):
    """An entry of an organisation's resource list (资源清单): a venue with opening times, funds, people, skills…"""

    class State(models.TextChoices):
        PUBLISHED = "published", _("published")
        WITHDRAWN = "withdrawn", _("withdrawn")

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="cobuilding_resources"
    )
    community = models.ForeignKey(Place, verbose_name=_("community"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=ResourceKind.choices)
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    opening_times = models.CharField(_("opening times"), max_length=200, blank=True)
    available_from = models.DateField(_("available from"), null=True, blank=True)
    available_until = models.DateField(_("available until"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PUBLISHED)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(_("published at"), default=timezone.now)

    class Meta:
        verbose_name = _("resource")
        verbose_name_plural = _("resources")
        ordering = ["-published_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(available_until__isnull=True)
                | Q(available_from__isnull=True)
                | Q(available_until__gte=F("available_from")),
                name="resource_available_range",
            )
        ]

    def __str__(self) -> str:
        return self.title


class Need(models.Model):
    """An entry of the community's need list (需求清单), from a case, a visit, a deliberation decision or typed in.

    Its source is recorded generically (``source_kind`` + ``source_reference``) so no other app is imported."""

    class Source(models.TextChoices):
        TYPED = "typed", _("typed in")
        CASE = "case", _("resident request")
        VISIT = "visit", _("household visit")
        DELIBERATION = "deliberation", _("deliberation decision")

    class State(models.TextChoices):
        OPEN = "open", _("open")
        IN_PROJECT = "in_project", _("in a project")
        CLOSED = "closed", _("closed")

    community = models.ForeignKey(Place, verbose_name=_("community"), on_delete=models.PROTECT, related_name="+")
    place = models.ForeignKey(
        Place, verbose_name=_("where"), on_delete=models.PROTECT, related_name="+", help_text=_("Compound, building…")
    )
    kind = models.CharField(_("kind of resource needed"), max_length=10, choices=ResourceKind.choices)
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    needed_from = models.DateField(_("needed from"), null=True, blank=True)
    needed_until = models.DateField(_("needed until"), null=True, blank=True)
    source_kind = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.TYPED)
    source_reference = models.CharField(_("source reference"), max_length=64, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("need")
        verbose_name_plural = _("needs")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class Match(models.Model):
    """A suggested pairing of a need with a resource (by kind, place and time); both sides see it and answer."""

    class State(models.TextChoices):
        SUGGESTED = "suggested", _("suggested")
        ACCEPTED = "accepted", _("accepted")
        DISMISSED = "dismissed", _("dismissed")

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="matches")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="matches")
    score = models.PositiveSmallIntegerField(_("score"))
    reasons = models.JSONField(_("why"), default=list)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.SUGGESTED)
    suggested_at = models.DateTimeField(_("suggested at"), default=timezone.now)

    class Meta:
        verbose_name = _("match")
        verbose_name_plural = _("matches")
        ordering = ["-score", "id"]
        constraints = [models.UniqueConstraint(fields=["need", "resource"], name="match_once_per_pair")]

    def __str__(self) -> str:
        return f"{self.need_id} ~ {self.resource_id}"


class Project(models.Model):
    """An entry of the project list (项目清单): a need paired with resources; a micro-project (微实事) is claimed by
    one organisation at a time, reported done, confirmed by the community, rated by residents, then earns points."""

    class State(models.TextChoices):
        OPEN = "open", _("open to claim")
        CLAIMED = "claimed", _("claimed")
        REPORTED = "reported", _("reported done")
        CONFIRMED = "confirmed", _("confirmed")
        CANCELLED = "cancelled", _("cancelled")

    community = models.ForeignKey(Place, verbose_name=_("community"), on_delete=models.PROTECT, related_name="+")
    place = models.ForeignKey(Place, verbose_name=_("where"), on_delete=models.PROTECT, related_name="+")
    need = models.ForeignKey(
        Need, verbose_name=_("need"), null=True, blank=True, on_delete=models.PROTECT, related_name="projects"
    )
    resources = models.ManyToManyField(Resource, verbose_name=_("resources"), blank=True, related_name="projects")
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    budget = models.DecimalField(_("budget (yuan)"), max_digits=12, decimal_places=2, default=ZERO)
    point_item = models.ForeignKey(
        PointItem,
        verbose_name=_("point item"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The catalogue item the organisation's points are claimed under."),
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    claimer = models.ForeignKey(
        Organisation, verbose_name=_("claimed by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    reported_at = models.DateTimeField(_("reported done at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    points_claim_id = models.PositiveBigIntegerField(_("points claim"), null=True, blank=True)
    rating_count = models.PositiveIntegerField(_("ratings"), default=0)
    rating_total = models.PositiveIntegerField(_("stars in all"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(budget__gte=0), name="project_budget_not_negative"),
            models.CheckConstraint(
                condition=Q(state__in=["open", "cancelled"]) | Q(claimer__isnull=False),
                name="project_claimed_has_claimer",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def rating_average(self) -> Decimal | None:
        if not self.rating_count:
            return None
        return (Decimal(self.rating_total) / self.rating_count).quantize(Decimal("0.1"))


class ProjectClaim(models.Model):
    """One organisation's claim of a project (认领). At most one open at a time: the database refuses a second."""

    class State(models.TextChoices):
        OPEN = "open", _("open")
        RELEASED = "released", _("released")
        DONE = "done", _("done")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="claims")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    claimed_at = models.DateTimeField(_("claimed at"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("project claim")
        verbose_name_plural = _("project claims")
        constraints = [
            models.UniqueConstraint(fields=["project"], condition=Q(state="open"), name="projectclaim_one_open")
        ]

    def __str__(self) -> str:
        return f"{self.project_id} by {self.organisation_id}"


class ProjectProgress(models.Model):
    """A progress report of the claiming organisation, with photos; the last one may report completion."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="progress")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(_("what was done"))
    is_completion = models.BooleanField(_("reports completion"), default=False)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reported_at = models.DateTimeField(_("reported at"))

    class Meta:
        verbose_name = _("progress report")
        verbose_name_plural = _("progress reports")
        ordering = ["reported_at", "id"]

    def __str__(self) -> str:
        return f"{self.project_id} {self.reported_at:%Y-%m-%d}"


class ProgressPhoto(models.Model):
    progress = models.ForeignKey(ProjectProgress, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("photo"), upload_to="cobuilding/progress/")

    class Meta:
        verbose_name = _("progress photo")
        verbose_name_plural = _("progress photos")

    def __str__(self) -> str:
        return self.image.name


class ProjectRating(models.Model):
    """A resident's rating of a confirmed project: 1–5 stars, once per resident."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="ratings")
    rated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    stars = models.PositiveSmallIntegerField(_("stars"))
    comment = models.CharField(_("comment"), max_length=300, blank=True)
    rated_at = models.DateTimeField(_("rated at"))

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [
            models.UniqueConstraint(fields=["project", "rated_by"], name="projectrating_once"),
            models.CheckConstraint(condition=Q(stars__gte=1, stars__lte=5), name="projectrating_stars_range"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}: {self.stars}"


# ---------------------------------------------------------------- community service fund


class Fund(models.Model):
    """A community's service fund for one year. ``budget = spent + committed + left`` always (left is derived);
    the database refuses committing or spending past the budget."""

    community = models.ForeignKey(Place, verbose_name=_("community"), on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    budget = models.DecimalField(_("budget (yuan)"), max_digits=12, decimal_places=2)
    committed = models.DecimalField(_("committed (yuan)"), max_digits=12, decimal_places=2, default=ZERO)
    spent = models.DecimalField(_("spent (yuan)"), max_digits=12, decimal_places=2, default=ZERO)

    class Meta:
        verbose_name = _("community service fund")
        verbose_name_plural = _("community service funds")
        ordering = ["-year", "community_id"]
        constraints = [
            models.UniqueConstraint(fields=["community", "year"], name="fund_one_per_community_year"),
            models.CheckConstraint(
                condition=Q(budget__gte=0, committed__gte=0, spent__gte=0), name="fund_amounts_not_negative"
            ),
            models.CheckConstraint(condition=Q(budget__gte=F("committed") + F("spent")), name="fund_within_budget"),
        ]

    def __str__(self) -> str:
        return f"{self.community_id} {self.year}"

    @property
    def left(self) -> Decimal:
        return self.budget - self.committed - self.spent


class Spending(models.Model):
    """A draw on the fund: requested, approved (committed), paid (spent), refused or cancelled."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("requested")
        APPROVED = "approved", _("approved")
        PAID = "paid", _("paid")
        REFUSED = "refused", _("refused")
        CANCELLED = "cancelled", _("cancelled")

    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="spendings")
    project = models.ForeignKey(
        Project, verbose_name=_("project"), null=True, blank=True, on_delete=models.PROTECT, related_name="spendings"
    )
    purpose = models.CharField(_("purpose"), max_length=200)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=12, decimal_places=2)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("spending")
        verbose_name_plural = _("spendings")
        ordering = ["-requested_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="spending_amount_positive")]

    def __str__(self) -> str:
        return f"{self.purpose} {self.amount}"


# ---------------------------------------------------------------- points alliances and activities


class Alliance(models.Model):
    """A points alliance (红色积分联盟): resident organisations co-running point items and activities."""

    name = models.CharField(_("name"), max_length=100)
    place = models.ForeignKey(Place, verbose_name=_("of"), on_delete=models.PROTECT, related_name="+")
    description = models.TextField(_("description"), blank=True)
    point_items = models.ManyToManyField(PointItem, verbose_name=_("point items run together"), blank=True)
    founded_on = models.DateField(_("founded on"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("points alliance")
        verbose_name_plural = _("points alliances")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["place", "name"], name="alliance_unique_name")]

    def __str__(self) -> str:
        return self.name


class AllianceMember(models.Model):
    alliance = models.ForeignKey(Alliance, on_delete=models.CASCADE, related_name="members")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    joined_on = models.DateField(_("joined on"))

    class Meta:
        verbose_name = _("alliance member")
        verbose_name_plural = _("alliance members")
        constraints = [models.UniqueConstraint(fields=["alliance", "organisation"], name="alliancemember_once")]

    def __str__(self) -> str:
        return f"{self.organisation_id} in {self.alliance_id}"


# ---------------------------------------------------------------- pairings


class Pairing(models.Model):
    """A pairing (结对联建) of a community with an organisation, another community or a village, for a period."""

    class Kind(models.TextChoices):
        ORGANISATION = "organisation", _("organisation with community")
        SOCIAL_ORGANISATION = "social_organisation", _("social organisation with community")
        COMMUNITY = "community", _("community with community")
        VILLAGE = "village", _("community with village")

    community = models.ForeignKey(Place, verbose_name=_("community"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    partner_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("partner")
    )
    partner_place = models.ForeignKey(
        Place, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("partner community")
    )
    partner_name = models.CharField(_("partner (village or outside)"), max_length=120, blank=True)
    started_on = models.DateField(_("from"))
    ended_on = models.DateField(_("until"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("pairing")
        verbose_name_plural = _("pairings")
        ordering = ["-started_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(partner_organisation__isnull=False) & Q(partner_place__isnull=True) & Q(partner_name=""))
                | (Q(partner_organisation__isnull=True) & Q(partner_place__isnull=False) & Q(partner_name=""))
                | (Q(partner_organisation__isnull=True) & Q(partner_place__isnull=True) & ~Q(partner_name="")),
                name="pairing_one_partner",
            )
        ]

    def __str__(self) -> str:
        return f"{self.community_id} ~ {self.partner_label}"

    @property
    def partner_label(self) -> str:
        if self.partner_organisation_id:
            return str(self.partner_organisation)
        if self.partner_place_id:
            return str(self.partner_place)
        return self.partner_name


class Commitment(models.Model):
    """One of a pairing's yearly commitments ("2–3 real things"), and whether it was kept."""

    class State(models.TextChoices):
        PROMISED = "promised", _("promised")
        KEPT = "kept", _("kept")
        NOT_KEPT = "not_kept", _("not kept")

    pairing = models.ForeignKey(Pairing, on_delete=models.CASCADE, related_name="commitments")
    year = models.PositiveSmallIntegerField(_("year"))
    title = models.CharField(_("what"), max_length=160)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PROMISED)
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("commitment")
        verbose_name_plural = _("commitments")
        ordering = ["year", "id"]

    def __str__(self) -> str:
        return self.title


class Activity(models.Model):
    """A co-building activity (共建活动) run with resident organisations, optionally for an alliance or a pairing
    (its joint activity; it may fulfil one of the pairing's commitments). Not a volunteering activity."""

    community = models.ForeignKey(Place, verbose_name=_("community"), on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=120)
    held_on = models.DateField(_("held on"))
    description = models.TextField(_("description"), blank=True)
    organisations = models.ManyToManyField(Organisation, verbose_name=_("organisations"), related_name="+")
    alliance = models.ForeignKey(Alliance, null=True, blank=True, on_delete=models.PROTECT, related_name="activities")
    pairing = models.ForeignKey(Pairing, null=True, blank=True, on_delete=models.PROTECT, related_name="activities")
    commitment = models.ForeignKey(
        Commitment, null=True, blank=True, on_delete=models.PROTECT, related_name="activities"
    )
    participants = models.PositiveIntegerField(_("participants"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("co-building activity")
        verbose_name_plural = _("co-building activities")
        ordering = ["-held_on", "-id"]

    def __str__(self) -> str:
        return self.title


# ---------------------------------------------------------------- joint meetings and forums


class Meeting(models.Model):
    """A joint meeting (联席会议), a secretaries' forum or a round table, with who attended."""

    class Kind(models.TextChoices):
        JOINT_MEETING = "joint_meeting", _("joint meeting")
        FORUM = "forum", _("secretaries' forum")
        ROUND_TABLE = "round_table", _("round table")

    community = models.ForeignKey(Place, verbose_name=_("community"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=120)
    held_on = models.DateField(_("held on"))
    attendees = models.ManyToManyField(Organisation, verbose_name=_("organisations attending"), related_name="+")
    attendance = models.PositiveIntegerField(_("people attending"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["-held_on", "-id"]

    def __str__(self) -> str:
        return self.title


class Matter(models.Model):
    """A matter raised at a meeting, who takes it, and its follow-up until solved (counts as a problem solved)."""

    class State(models.TextChoices):
        OPEN = "open", _("open")
        SOLVED = "solved", _("solved")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="matters")
    title = models.CharField(_("matter"), max_length=200)
    raised_by = models.CharField(_("raised by"), max_length=100, blank=True)
    taken_by = models.ForeignKey(
        Organisation, verbose_name=_("taken by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.OPEN)
    solved_on = models.DateField(_("solved on"), null=True, blank=True)

    class Meta:
        verbose_name = _("matter")
        verbose_name_plural = _("matters")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="open", solved_on__isnull=True) | Q(state="solved", solved_on__isnull=False),
                name="matter_solved_has_date",
            )
        ]

    def __str__(self) -> str:
        return self.title


class FollowUp(models.Model):
    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="follow_ups")
    note = models.CharField(_("follow-up"), max_length=300)
    written_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    written_at = models.DateTimeField(_("written at"))

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["written_at", "id"]

    def __str__(self) -> str:
        return self.note


# ---------------------------------------------------------------- property management assessment


class AssessmentParty(models.TextChoices):
    PARTY_ORGANISATION = "party_organisation", _("party organisation")
    OWNERS_COMMITTEE = "owners_committee", _("owners' committee")
    HOUSING_DEPARTMENT = "housing_department", _("housing department")


class AssessmentWeights(models.Model):
    """The three parties' weights (percent, adding up to 100) for the compounds under a place; the nearest
    ancestor's weights apply, else the default 30 / 30 / 40 (三方权重: the first two together 60 %)."""

    place = models.OneToOneField(Place, on_delete=models.PROTECT, related_name="+")
    party_organisation = models.DecimalField(_("party organisation %"), max_digits=5, decimal_places=2)
    owners_committee = models.DecimalField(_("owners' committee %"), max_digits=5, decimal_places=2)
    housing_department = models.DecimalField(_("housing department %"), max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = _("assessment weights")
        verbose_name_plural = _("assessment weights")
        constraints = [
            models.CheckConstraint(
                condition=Q(party_organisation__gte=0, owners_committee__gte=0, housing_department__gte=0)
                & Q(
                    party_organisation=Decimal("100") - F("owners_committee") - F("housing_department"),
                ),
                name="assessmentweights_sum_100",
            )
        ]

    def __str__(self) -> str:
        return f"{self.place_id}"


class AssessmentScore(models.Model):
    """One party's score (0–100) of a compound's property company for one quarter: once per party and quarter."""

    compound = models.ForeignKey(Place, verbose_name=_("compound"), on_delete=models.PROTECT, related_name="+")
    company = models.ForeignKey(
        Organisation, verbose_name=_("property company"), on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    party = models.CharField(_("party"), max_length=20, choices=AssessmentParty.choices)
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2)
    scored_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    scored_at = models.DateTimeField(_("scored at"))

    class Meta:
        verbose_name = _("assessment score")
        verbose_name_plural = _("assessment scores")
        constraints = [
            models.UniqueConstraint(fields=["compound", "year", "quarter", "party"], name="assessmentscore_once"),
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=100), name="assessmentscore_range"),
            models.CheckConstraint(condition=Q(quarter__gte=1, quarter__lte=4), name="assessmentscore_quarter"),
        ]

    def __str__(self) -> str:
        return f"{self.compound_id} {self.year}Q{self.quarter} {self.party}"


class AssessmentResult(models.Model):
    """A compound's published quarter: the weighted score (exact), its grade, the stars after it and the reward."""

    class Grade(models.TextChoices):
        EXCELLENT = "excellent", _("excellent")
        PASS = "pass", _("pass")
        POOR = "poor", _("poor")

    compound = models.ForeignKey(Place, verbose_name=_("compound"), on_delete=models.PROTECT, related_name="+")
    company = models.ForeignKey(
        Organisation, verbose_name=_("property company"), on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    weighted_score = models.DecimalField(_("weighted score"), max_digits=6, decimal_places=2)
    weights = models.JSONField(_("weights used"))
    grade = models.CharField(_("grade"), max_length=10, choices=Grade.choices)
    stars = models.PositiveSmallIntegerField(_("stars"))
    excellent_streak = models.PositiveSmallIntegerField(_("excellent quarters in a row"))
    reward = models.BooleanField(_("reward"), default=False)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(_("published at"))

    class Meta:
        verbose_name = _("assessment result")
        verbose_name_plural = _("assessment results")
        ordering = ["-year", "-quarter", "compound_id"]
        constraints = [
            models.UniqueConstraint(fields=["compound", "year", "quarter"], name="assessmentresult_once"),
            models.CheckConstraint(condition=Q(stars__lte=5), name="assessmentresult_stars_range"),
        ]

    def __str__(self) -> str:
        return f"{self.compound_id} {self.year}Q{self.quarter}: {self.weighted_score}"


# ---------------------------------------------------------------- report-back


class ReportBack(models.Model):
    """An organisation's year reported back to its supervising department (作为评选的重要依据), with the
    figures as sent."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    department = models.CharField(_("supervising department"), max_length=150)
    figures = models.JSONField(_("figures sent"))
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(_("sent at"))

    class Meta:
        verbose_name = _("report-back")
        verbose_name_plural = _("report-backs")
        ordering = ["-year", "organisation_id"]
        constraints = [models.UniqueConstraint(fields=["organisation", "year"], name="reportback_once")]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.year}"
