"""Where a request goes and by when: routing rules, deadline policies and the working calendar (holidays and
make-up working days) that staff maintain."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.places.models import Place

from .base import choice_check
from .requests import CaseCategory, CaseLevel


class TimeUnit(models.TextChoices):
    WORKING_HOURS = "working_hours", _("working hours")
    WORKING_DAYS = "working_days", _("working days")


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
            choice_check("target_level", CaseLevel, "routingrule_target_level_valid"),
            choice_check("from_level", CaseLevel, "routingrule_from_level_valid", blank=True),
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
            choice_check("level", CaseLevel, "deadline_level_valid"),
            choice_check("unit", TimeUnit, "deadline_unit_valid"),
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
        constraints = [choice_check("kind", CalendarDayKind, "calendarday_kind_valid")]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"
