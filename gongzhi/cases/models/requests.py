"""Resident requests (民呼我应 / 接诉即办): the vocabularies of the ladder, the categories, the case itself, its
trail and photos, and the summonses of departments (吹哨报到).

The trail of a case (``CaseEvent``) is append-only, refused by the database on UPDATE (and DELETE on PostgreSQL)
as the audit log is.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.places.models import Place, PlaceKind

from .base import AppendOnlyModel, choice_check

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
UNFINISHED_STATES: tuple[str, ...] = tuple(state for state in CaseState.values if state not in FINAL_STATES)


class CaseChannel(models.TextChoices):
    RESIDENT_APP = "resident_app", _("resident app")
    VISIT = "visit", _("household visit")
    HOTLINE = "hotline", _("12345 hotline")
    STAFF = "staff", _("entered by staff")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("satisfied")
    BASICALLY_SATISFIED = "basically_satisfied", _("basically satisfied")
    UNSATISFIED = "unsatisfied", _("unsatisfied")


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
        constraints = [choice_check("target_level", CaseLevel, "casecategory_level_valid")]

    def __str__(self) -> str:
        return self.name


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

    # Where the matter is, as an outside system gave it (Open311 ``lat``/``long``, WGS84); empty otherwise.
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    # Answers to the category's questions (``CategoryAttribute``): {code: value, or a list of keys}.
    attributes = models.JSONField(_("answers to the category's questions"), default=dict, blank=True)

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
            # The roll-ups count the days they do not hold (dirty days, today) from the cases by submission and
            # closing moment ranges (gongzhi.cases.kpis ROLLUP_SOURCES, their ``days``): one range scan each.
            models.Index(fields=["submitted_at"], name="case_submitted_idx"),
            models.Index(fields=["closed_at"], name="case_closed_idx"),
        ]
        constraints = [
            choice_check("state", CaseState, "case_state_valid"),
            choice_check("level", CaseLevel, "case_level_valid"),
            choice_check("channel", CaseChannel, "case_channel_valid"),
            choice_check("satisfaction", Satisfaction, "case_satisfaction_valid", blank=True),
            choice_check("resolved_level", CaseLevel, "case_resolved_level_valid", blank=True),
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
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="case_coordinates_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.category_id}"

    @property
    def number(self) -> str:
        """The number residents and staff quote: year of submission and id."""
        return f"{timezone.localtime(self.submitted_at):%Y}-{self.pk:06d}"

    @property
    def title(self) -> str:
        """How notices and lists name the request: its number, its category and the start of what was asked."""
        text = " ".join(self.text.split())
        snippet = text[:24] + ("…" if len(text) > 24 else "")
        return f"{self.number} · {self.category.name} · {snippet}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


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
    UNMERGED = "unmerged", _("merge undone")
    SEPARATED = "separated", _("merged duplicate separated again")


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
        constraints = [choice_check("kind", CaseEventKind, "caseevent_kind_valid")]

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
            choice_check("state", SummonsState, "summons_state_valid"),
            models.CheckConstraint(
                condition=Q(state="pending", responded_at__isnull=True)
                | Q(state="responded", responded_at__isnull=False),
                name="summons_responded_has_time",
            ),
            models.CheckConstraint(condition=Q(respond_by__gt=F("summoned_at")), name="summons_deadline_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.department_id}"
