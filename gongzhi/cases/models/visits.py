"""Household visits (入户走访) by building heads and grid workers; an opinion raised may be handled on the spot,
later, or passed up as a case."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.places.models import Place

from .base import choice_check
from .requests import Case


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
            choice_check("outcome", VisitOutcome, "visit_outcome_valid"),
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
