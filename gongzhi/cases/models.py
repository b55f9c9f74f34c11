"""Models of the cases domain: resident requests (民呼我应 / 接诉即办) and their escalation ladder, household
visits, disputes and mediation, agent services, notifications, and the configuration staff maintain (categories,
routing rules, deadline policies, the working calendar).

Every change goes through ``services.py``; the trail of a case (``CaseEvent``) is append-only, refused by the
database on UPDATE (and DELETE on PostgreSQL) as the audit log is.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.core.models import AppendOnlyError
from gongzhi.places.models import Place, PlaceKind

# ---------------------------------------------------------------- vocabularies


class CaseLevel(models.TextChoices):
    """The ladder a case climbs, lowest first (seed 004: grid → community → street → district departments → city)."""

    GRID = "grid", _("grid")
    COMMUNITY = "community", _("community")
    STREET = "street", _("street")
    DISTRICT_DEPARTMENT = "district_department", _("district department")
    CITY = "city", _("city")


LEVEL_ORDER: tuple[str, ...] = tuple(CaseLevel.values)

# The kind of place that handles a case at each level (the city has no place of its own: its cases are held at the
# district, which passes them on).
LEVEL_PLACE_KIND: dict[str, str] = {
    CaseLevel.GRID: PlaceKind.GRID,
    CaseLevel.COMMUNITY: PlaceKind.COMMUNITY,
    CaseLevel.STREET: PlaceKind.STREET,
    CaseLevel.DISTRICT_DEPARTMENT: PlaceKind.DISTRICT,
    CaseLevel.CITY: PlaceKind.DISTRICT,
}


class CaseState(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    ACCEPTED = "accepted", _("accepted")
    IN_PROGRESS = "in_progress", _("in progress")
    RESOLVED = "resolved", _("resolved")
    CLOSED = "closed", _("closed")
    REJECTED = "rejected", _("rejected")
    DUPLICATE = "duplicate", _("duplicate (merged)")
    WITHDRAWN = "withdrawn", _("withdrawn")


OPEN_STATES: tuple[str, ...] = (CaseState.SUBMITTED, CaseState.ACCEPTED, CaseState.IN_PROGRESS)
FINAL_STATES: tuple[str, ...] = (CaseState.CLOSED, CaseState.REJECTED, CaseState.DUPLICATE, CaseState.WITHDRAWN)


class CaseChannel(models.TextChoices):
    RESIDENT_APP = "resident_app", _("resident app")
    VISIT = "visit", _("household visit")
    HOTLINE = "hotline", _("12345 hotline")
    STAFF = "staff", _("entered by staff")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("satisfied")
    BASICALLY_SATISFIED = "basically_satisfied", _("basically satisfied")
    UNSATISFIED = "unsatisfied", _("unsatisfied")


class TimeUnit(models.TextChoices):
    WORKING_HOURS = "working_hours", _("working hours")
    WORKING_DAYS = "working_days", _("working days")


def _choice_check(
    field: str, choices: type[models.TextChoices], name: str, blank: bool = False
) -> models.CheckConstraint:
    values = list(choices.values) + ([""] if blank else [])
    return models.CheckConstraint(condition=Q(**{f"{field}__in": values}), name=name)


# ---------------------------------------------------------------- configuration


class CaseCategory(models.Model):
    """What a request is about (路灯, 噪音, 物业 …). Staff configure the list and where each category goes first."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60, unique=True)
    description = models.CharField(_("description"), max_length=255, blank=True)
    hotline_names = models.CharField(
        _("hotline names"),
        max_length=255,
        blank=True,
        help_text=_("Other names the 12345 hotline uses for this category, separated by commas."),
    )
    target_level = models.CharField(
        _("first level"),
        max_length=24,
        choices=CaseLevel.choices,
        default=CaseLevel.GRID,
        help_text=_("The level a new case of this category goes to when no routing rule says otherwise."),
    )
    target_department = models.ForeignKey(
        "people.Organisation",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("A department or organisation (property management, police station …) that handles it."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("request category")
        verbose_name_plural = _("request categories")
        ordering = ["sort_order", "name"]
        constraints = [_choice_check("target_level", CaseLevel, "casecategory_level_valid")]

    def __str__(self) -> str:
        return self.name


class RoutingRule(models.Model):
    """Where a category goes within a place's subtree, at a level: another level and/or a department.

    The most specific rule wins (the deepest ``scope_place``, then the lowest ``priority``).
    """

    category = models.ForeignKey(
        CaseCategory, verbose_name=_("category"), on_delete=models.CASCADE, related_name="rules"
    )
    scope_place = models.ForeignKey(
        Place,
        verbose_name=_("applies within"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The rule applies to cases at places under this one."),
    )
    from_level = models.CharField(
        _("when the case reaches"),
        max_length=24,
        choices=CaseLevel.choices,
        blank=True,
        help_text=_("Leave empty for new cases; choose a level to route cases escalated to that level."),
    )
    target_level = models.CharField(_("send to level"), max_length=24, choices=CaseLevel.choices)
    target_department = models.ForeignKey(
        "people.Organisation",
        verbose_name=_("send to department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    priority = models.PositiveSmallIntegerField(_("priority"), default=100)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["category", "priority", "id"]
        constraints = [
            _choice_check("target_level", CaseLevel, "routingrule_target_level_valid"),
            _choice_check("from_level", CaseLevel, "routingrule_from_level_valid", blank=True),
        ]

    def __str__(self) -> str:
        return f"{self.category} → {self.get_target_level_display()}"


class DeadlinePolicy(models.Model):
    """Time to accept and to resolve a case at a level, per category (no category = the default for the level)."""

    category = models.ForeignKey(
        CaseCategory,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deadline_policies",
    )
    level = models.CharField(_("level"), max_length=24, choices=CaseLevel.choices)
    unit = models.CharField(_("unit"), max_length=16, choices=TimeUnit.choices, default=TimeUnit.WORKING_HOURS)
    accept_within = models.PositiveIntegerField(_("accept within"))
    resolve_within = models.PositiveIntegerField(_("resolve within"))

    class Meta:
        verbose_name = _("deadline policy")
        verbose_name_plural = _("deadline policies")
        ordering = ["category", "level"]
        constraints = [
            models.UniqueConstraint(
                fields=["category", "level"], condition=Q(category__isnull=False), name="deadline_unique_category"
            ),
            models.UniqueConstraint(
                fields=["level"], condition=Q(category__isnull=True), name="deadline_unique_default"
            ),
            models.CheckConstraint(
                condition=Q(accept_within__gt=0, resolve_within__gte=F("accept_within")), name="deadline_positive_order"
            ),
            _choice_check("level", CaseLevel, "deadline_level_valid"),
            _choice_check("unit", TimeUnit, "deadline_unit_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.category or '*'} @ {self.get_level_display()}"


class CalendarDayKind(models.TextChoices):
    HOLIDAY = "holiday", _("holiday")
    WORKDAY = "workday", _("make-up working day")


class CalendarDay(models.Model):
    """A date that breaks the Monday-to-Friday rule: a public holiday, or a make-up working day (调休上班)."""

    Kind = CalendarDayKind

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("working calendar")
        ordering = ["date"]
        constraints = [_choice_check("kind", CalendarDayKind, "calendarday_kind_valid")]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


# ---------------------------------------------------------------- cases


class Case(models.Model):
    """A resident's request or complaint, handled at a level of the ladder within deadlines."""

    category = models.ForeignKey(CaseCategory, verbose_name=_("category"), on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("what the resident asks"))
    place = models.ForeignKey(
        Place,
        verbose_name=_("place"),
        on_delete=models.PROTECT,
        related_name="cases",
        help_text=_("Household, building, grid … where the matter is."),
    )
    location_text = models.CharField(_("location"), max_length=255, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=CaseChannel.choices)
    external_ref = models.CharField(
        _("external number"), max_length=64, blank=True, help_text=_("The hotline's work order number (工单号).")
    )
    reporter_account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("raised by (account)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reported_cases",
    )
    reporter_resident = models.ForeignKey(
        "people.Resident",
        verbose_name=_("raised by (resident)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    is_anonymous = models.BooleanField(
        _("anonymous"),
        default=False,
        help_text=_("Handlers do not see who raised it; the resident can still follow it."),
    )
    contact_name = models.CharField(_("contact"), max_length=50, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    level = models.CharField(_("level"), max_length=24, choices=CaseLevel.choices, default=CaseLevel.GRID)
    handling_place = models.ForeignKey(
        Place, verbose_name=_("handled at"), on_delete=models.PROTECT, related_name="handled_cases"
    )
    handling_department = models.ForeignKey(
        "people.Organisation",
        verbose_name=_("handling department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handled_cases",
    )
    current_handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handler"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handled_cases",
    )
    state = models.CharField(_("state"), max_length=16, choices=CaseState.choices, default=CaseState.SUBMITTED)

    accept_by = models.DateTimeField(_("accept by"), null=True, blank=True)
    resolve_by = models.DateTimeField(_("resolve by"), null=True, blank=True)
    is_overdue = models.BooleanField(_("was overdue"), default=False, help_text=_("Once set, it stays set."))
    first_overdue_at = models.DateTimeField(_("first overdue at"), null=True, blank=True)
    escalation_count = models.PositiveSmallIntegerField(_("escalations"), default=0)
    reopen_count = models.PositiveSmallIntegerField(_("reopened"), default=0)
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("duplicate of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
    )

    resolution = models.TextField(_("what was done"), blank=True)
    resolved_level = models.CharField(_("resolved at level"), max_length=24, choices=CaseLevel.choices, blank=True)
    resolved_place = models.ForeignKey(
        Place, verbose_name=_("resolved at"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    satisfaction = models.CharField(_("satisfaction"), max_length=24, choices=Satisfaction.choices, blank=True)
    rating_comment = models.CharField(_("rating comment"), max_length=500, blank=True)
    reject_reason = models.CharField(_("reason for rejection"), max_length=500, blank=True)

    reported_at = models.DateTimeField(_("reported at"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("resident request")
        verbose_name_plural = _("resident requests")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["state", "accept_by"], name="case_state_accept_by_idx"),
            models.Index(fields=["state", "resolve_by"], name="case_state_resolve_by_idx"),
            models.Index(fields=["handling_place", "state"], name="case_handling_state_idx"),
            models.Index(fields=["handling_department", "state"], name="case_department_state_idx"),
            models.Index(fields=["category", "submitted_at"], name="case_category_submitted_idx"),
            models.Index(fields=["reporter_account", "submitted_at"], name="case_reporter_idx"),
        ]
        constraints = [
            _choice_check("state", CaseState, "case_state_valid"),
            _choice_check("level", CaseLevel, "case_level_valid"),
            _choice_check("channel", CaseChannel, "case_channel_valid"),
            _choice_check("satisfaction", Satisfaction, "case_satisfaction_valid", blank=True),
            _choice_check("resolved_level", CaseLevel, "case_resolved_level_valid", blank=True),
            models.CheckConstraint(
                condition=Q(state=CaseState.DUPLICATE, duplicate_of__isnull=False)
                | (~Q(state=CaseState.DUPLICATE) & Q(duplicate_of__isnull=True)),
                name="case_duplicate_has_original",
            ),
            models.CheckConstraint(condition=~Q(duplicate_of=F("pk")), name="case_not_duplicate_of_itself"),
            models.CheckConstraint(
                condition=~Q(state=CaseState.REJECTED) | ~Q(reject_reason=""), name="case_rejected_has_reason"
            ),
            models.CheckConstraint(
                condition=~Q(state__in=[CaseState.RESOLVED, CaseState.CLOSED]) | ~Q(resolved_level=""),
                name="case_resolved_has_level",
            ),
            # Unsatisfied reopens a case once; a second unsatisfied sends it up a level instead.
            models.CheckConstraint(condition=Q(reopen_count__lte=1), name="case_reopened_at_most_once"),
            models.CheckConstraint(
                condition=Q(accept_by__isnull=True) | Q(resolve_by__isnull=True) | Q(accept_by__lte=F("resolve_by")),
                name="case_accept_before_resolve",
            ),
            models.CheckConstraint(
                condition=Q(is_overdue=False) | Q(first_overdue_at__isnull=False), name="case_overdue_has_time"
            ),
            models.UniqueConstraint(
                fields=["channel", "external_ref"], condition=~Q(external_ref=""), name="case_unique_external_ref"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.category_id}"

    @property
    def number(self) -> str:
        """The number residents and staff quote: year of submission and id."""
        return f"{timezone.localtime(self.submitted_at):%Y}-{self.pk:06d}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class AppendOnlyModel(models.Model):
    """Rows written once: Python refuses updates and deletes (the migration adds database triggers too)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError(f"{self._meta.verbose_name} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{self._meta.verbose_name} rows are append-only.")


class CaseEventKind(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    ROUTED = "routed", _("routed")
    ACCEPTED = "accepted", _("accepted")
    STARTED = "started", _("started")
    RESOLVED = "resolved", _("resolved")
    REFERRED = "referred", _("referred")
    ESCALATED = "escalated", _("escalated")
    AUTO_ESCALATED = "auto_escalated", _("escalated for being overdue")
    OVERDUE = "overdue", _("overdue")
    SUMMONED = "summoned", _("department summoned")
    SUMMONS_RESPONDED = "summons_responded", _("department responded")
    SUMMONS_OVERDUE = "summons_overdue", _("department response overdue")
    RATED = "rated", _("rated")
    REOPENED = "reopened", _("reopened")
    CLOSED = "closed", _("closed")
    REJECTED = "rejected", _("rejected")
    WITHDRAWN = "withdrawn", _("withdrawn")
    MERGED = "merged", _("merged as a duplicate")
    ABSORBED = "absorbed", _("duplicate merged into this case")


class CaseEvent(AppendOnlyModel):
    """One step in a case's trail: who, what, when, at which level, from where to where."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("what"), max_length=24, choices=CaseEventKind.choices)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(_("who (name)"), max_length=150, blank=True)
    level = models.CharField(_("level"), max_length=24, choices=CaseLevel.choices)
    from_state = models.CharField(_("from state"), max_length=16, choices=CaseState.choices, blank=True)
    to_state = models.CharField(_("to state"), max_length=16, choices=CaseState.choices, blank=True)
    from_level = models.CharField(_("from level"), max_length=24, choices=CaseLevel.choices, blank=True)
    to_level = models.CharField(_("to level"), max_length=24, choices=CaseLevel.choices, blank=True)
    from_place = models.ForeignKey(Place, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_place = models.ForeignKey(Place, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    from_department = models.ForeignKey(
        "people.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_department = models.ForeignKey(
        "people.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case trail")
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["case", "occurred_at"], name="caseevent_case_idx")]
        constraints = [_choice_check("kind", CaseEventKind, "caseevent_kind_valid")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class CasePhoto(models.Model):
    """A photo of the matter (from the resident) or of what was done (from the handler)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="photos")
    event = models.ForeignKey(CaseEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="photos")
    image = models.FileField(_("photo"), upload_to="cases/%Y/%m/")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("case photo")
        verbose_name_plural = _("case photos")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.image.name


class SummonsState(models.TextChoices):
    PENDING = "pending", _("waiting for the department")
    RESPONDED = "responded", _("responded")


class Summons(models.Model):
    """吹哨报到: a higher level summons a department, which must respond by its own deadline."""

    State = SummonsState

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="summonses")
    department = models.ForeignKey("people.Organisation", verbose_name=_("department"), on_delete=models.PROTECT)
    summoned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("summoned by"), on_delete=models.PROTECT, related_name="+"
    )
    summoned_at = models.DateTimeField(_("summoned at"), default=timezone.now)
    level = models.CharField(_("summoned from level"), max_length=24, choices=CaseLevel.choices)
    note = models.TextField(_("what is asked"))
    respond_by = models.DateTimeField(_("respond by"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING)
    is_overdue = models.BooleanField(_("was overdue"), default=False)
    response = models.TextField(_("response"), blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("summons")
        verbose_name_plural = _("summonses")
        ordering = ["summoned_at", "id"]
        indexes = [models.Index(fields=["state", "respond_by"], name="summons_state_respond_by_idx")]
        constraints = [
            _choice_check("state", SummonsState, "summons_state_valid"),
            models.CheckConstraint(
                condition=Q(state="pending", responded_at__isnull=True)
                | Q(state="responded", responded_at__isnull=False),
                name="summons_responded_has_time",
            ),
            models.CheckConstraint(condition=Q(respond_by__gt=F("summoned_at")), name="summons_deadline_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.department_id}"


class Notification(models.Model):
    """An inbox row for a handler or a resident; unread rows are sent once a day as one e-mail digest."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=32)
    text = models.CharField(_("text"), max_length=500)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    in_digest = models.BooleanField(_("send in the e-mail digest"), default=True)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_inbox_idx"),
            models.Index(fields=["in_digest", "emailed_at", "read_at"], name="notification_digest_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id}: {self.text[:30]}"


# ---------------------------------------------------------------- household visits


class VisitOutcome(models.TextChoices):
    NONE = "none", _("no opinion")
    HANDLED_ON_SPOT = "handled_on_spot", _("handled on the spot")
    PENDING = "pending", _("being handled")
    BECAME_CASE = "became_case", _("passed up as a case")
    HANDLED_LATER = "handled_later", _("handled after the visit")


class HouseholdVisit(models.Model):
    """入户走访: a building head or grid worker visits a household; an opinion may be handled or become a case."""

    Outcome = VisitOutcome

    household = models.ForeignKey(Place, verbose_name=_("household"), on_delete=models.PROTECT, related_name="visits")
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("visitor"), on_delete=models.PROTECT, related_name="household_visits"
    )
    visited_on = models.DateField(_("visited on"))
    findings = models.TextField(_("what was found"), blank=True)
    opinion = models.TextField(_("opinion raised"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.NONE)
    became_case = models.OneToOneField(
        Case, verbose_name=_("case"), null=True, blank=True, on_delete=models.PROTECT, related_name="source_visit"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # A pending opinion settled after the visit: handled by someone (handled_later) or passed up as a case.
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("settled by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    settlement_note = models.TextField(_("what was done"), blank=True)

    class Meta:
        verbose_name = _("household visit")
        verbose_name_plural = _("household visits")
        ordering = ["-visited_on", "-id"]
        indexes = [
            models.Index(fields=["visitor", "visited_on"], name="visit_visitor_idx"),
            models.Index(fields=["household", "visited_on"], name="visit_household_idx"),
        ]
        constraints = [
            _choice_check("outcome", VisitOutcome, "visit_outcome_valid"),
            models.CheckConstraint(
                condition=Q(outcome="became_case", became_case__isnull=False)
                | (~Q(outcome="became_case") & Q(became_case__isnull=True)),
                name="visit_case_matches_outcome",
            ),
            models.CheckConstraint(condition=Q(outcome="none") | ~Q(opinion=""), name="visit_outcome_needs_opinion"),
            models.CheckConstraint(
                condition=~Q(outcome="handled_later") | (Q(settled_at__isnull=False) & ~Q(settlement_note="")),
                name="visit_handled_later_has_note",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household_id} {self.visited_on}"


# ---------------------------------------------------------------- disputes


class DisputeKind(models.TextChoices):
    NEIGHBOUR = "neighbour", _("between neighbours")
    FAMILY = "family", _("family")
    PROPERTY_MANAGEMENT = "property_management", _("property management")
    LABOUR = "labour", _("labour")
    LAND_AND_HOUSING = "land_and_housing", _("land and housing")
    OTHER = "other", _("other")


class DisputeState(models.TextChoices):
    OPEN = "open", _("registered")
    MEDIATING = "mediating", _("being mediated")
    AGREEMENT = "agreement", _("agreement reached")
    REFERRED = "referred", _("referred")
    NOT_RESOLVED = "not_resolved", _("not resolved")


class Dispute(models.Model):
    """矛盾纠纷: a conflict between parties, mediated to an agreement, referred, or not resolved."""

    Kind = DisputeKind

    State = DisputeState

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    place = models.ForeignKey(Place, verbose_name=_("place"), on_delete=models.PROTECT, related_name="disputes")
    description = models.TextField(_("what it is about"))
    found_on = models.DateField(_("found on"))
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("registered by"), on_delete=models.PROTECT, related_name="+"
    )
    mediator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("mediator"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="mediated_disputes",
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.OPEN)
    agreement_text = models.TextField(_("agreement"), blank=True)
    referred_to = models.CharField(_("referred to"), max_length=150, blank=True)
    referred_to_organisation = models.ForeignKey(
        "people.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome_note = models.TextField(_("outcome note"), blank=True)
    source_case = models.ForeignKey(
        Case, verbose_name=_("from case"), null=True, blank=True, on_delete=models.PROTECT, related_name="disputes"
    )
    source_visit = models.ForeignKey(
        HouseholdVisit, verbose_name=_("from visit"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-found_on", "-id"]
        indexes = [models.Index(fields=["state", "found_on"], name="dispute_state_idx")]
        constraints = [
            _choice_check("kind", DisputeKind, "dispute_kind_valid"),
            _choice_check("state", DisputeState, "dispute_state_valid"),
            models.CheckConstraint(
                condition=~Q(state="agreement") | ~Q(agreement_text=""), name="dispute_agreement_has_text"
            ),
            models.CheckConstraint(
                condition=~Q(state="referred") | ~Q(referred_to="") | Q(referred_to_organisation__isnull=False),
                name="dispute_referral_has_target",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["open", "mediating"], closed_at__isnull=True)
                | (Q(state__in=["agreement", "referred", "not_resolved"]) & Q(closed_at__isnull=False)),
                name="dispute_closed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.found_on}"


class DisputeSide(models.TextChoices):
    APPLICANT = "applicant", _("applicant")
    RESPONDENT = "respondent", _("respondent")
    OTHER = "other", _("other party")


class DisputeParty(models.Model):
    """A party to a dispute: a registered resident, an organisation, or a person named in free text."""

    Side = DisputeSide

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="parties")
    side = models.CharField(_("side"), max_length=16, choices=Side.choices)
    resident = models.ForeignKey("people.Resident", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(
        "people.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        constraints = [
            _choice_check("side", DisputeSide, "disputeparty_side_valid"),
            models.CheckConstraint(
                condition=Q(resident__isnull=False) | Q(organisation__isnull=False) | ~Q(name=""),
                name="disputeparty_identified",
            ),
        ]

    def __str__(self) -> str:
        return self.name or str(self.resident_id or self.organisation_id)


class MediationSession(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="sessions")
    held_at = models.DateTimeField(_("held at"))
    mediator = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("mediator"), on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(_("notes"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("mediation session")
        verbose_name_plural = _("mediation sessions")
        ordering = ["held_at", "id"]

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.held_at}"


# ---------------------------------------------------------------- agent services


class AgentServiceKind(models.TextChoices):
    PENSION = "pension", _("pension")
    SUBSIDY = "subsidy", _("subsidy")
    CERTIFICATE = "certificate", _("certificate")
    MEDICAL_INSURANCE = "medical_insurance", _("medical insurance")
    HOUSEHOLD_REGISTRATION = "household_registration", _("household registration")
    DISABILITY = "disability", _("disability services")
    OTHER = "other", _("other")


class AgentServiceState(models.TextChoices):
    RECEIVED = "received", _("received")
    IN_PROGRESS = "in_progress", _("in progress")
    COMPLETED = "completed", _("completed")
    CANCELLED = "cancelled", _("cancelled")


class AgentService(models.Model):
    """民生代办: a service agent handles paperwork for a resident (pension, subsidy, certificate …)."""

    Kind = AgentServiceKind

    State = AgentServiceState

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    title = models.CharField(_("matter"), max_length=150)
    resident = models.ForeignKey(
        "people.Resident", verbose_name=_("resident"), on_delete=models.PROTECT, related_name="agent_services"
    )
    place = models.ForeignKey(Place, verbose_name=_("place"), on_delete=models.PROTECT, related_name="+")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("service agent"),
        on_delete=models.PROTECT,
        related_name="agent_services",
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.RECEIVED)
    note = models.TextField(_("note"), blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    due_by = models.DateTimeField(_("due by"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    source_case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("agent service")
        verbose_name_plural = _("agent services")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["agent", "state"], name="agentservice_agent_idx")]
        constraints = [
            _choice_check("kind", AgentServiceKind, "agentservice_kind_valid"),
            _choice_check("state", AgentServiceState, "agentservice_state_valid"),
            models.CheckConstraint(
                condition=~Q(state="completed") | Q(completed_at__isnull=False), name="agentservice_completed_has_time"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class AgentServiceStep(models.Model):
    service = models.ForeignKey(AgentService, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("order"))
    title = models.CharField(_("step"), max_length=150)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("agent service step")
        verbose_name_plural = _("agent service steps")
        ordering = ["service", "position"]
        constraints = [
            models.UniqueConstraint(fields=["service", "position"], name="agentservicestep_unique_position"),
            models.CheckConstraint(
                condition=Q(done_at__isnull=True) | Q(done_by__isnull=False), name="agentservicestep_done_has_who"
            ),
        ]

    def __str__(self) -> str:
        return self.title


# ---------------------------------------------------------------- Open311 (outside systems)


class Open311Key(models.Model):
    """An API key issued to an outside system (the 12345 hotline, a city platform) for Open311 GeoReport v2.

    Only a SHA-256 digest of the key is stored; the key itself is shown once, when it is issued. Requests the
    system files are recorded by ``account`` (which must hold ``case.intake`` on ``place``) at a place under
    ``place``; reads with the key also see the description of the requests under ``place``.
    """

    name = models.CharField(_("system"), max_length=100)
    place = models.ForeignKey(
        Place,
        verbose_name=_("files requests under"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Requests from this system are filed at this place or a place under it."),
    )
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("records as"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("A service account holding a role with case.intake on the place above."),
    )
    digest = models.CharField(_("key digest"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("key begins with"), max_length=8, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("issued at"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("Open311 API key")
        verbose_name_plural = _("Open311 API keys")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
