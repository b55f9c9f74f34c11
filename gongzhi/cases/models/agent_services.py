"""Agent services (民生代办): paperwork a service agent handles for a resident, step by step."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.places.models import Place

from .base import choice_check
from .requests import Case


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
            choice_check("kind", AgentServiceKind, "agentservice_kind_valid"),
            choice_check("state", AgentServiceState, "agentservice_state_valid"),
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
