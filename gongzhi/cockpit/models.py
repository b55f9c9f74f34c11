"""The records of the cockpit: a work report asked for and generated in the background."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReportFormat(models.TextChoices):
    DOCX = "docx", _("Word document (.docx)")
    PDF = "pdf", _("PDF")


class ReportState(models.TextChoices):
    QUEUED = "queued", _("waiting")
    RUNNING = "running", _("being written")
    DONE = "done", _("ready")
    FAILED = "failed", _("failed")


ACTIVE_STATES = (ReportState.QUEUED, ReportState.RUNNING)


class ReportRun(models.Model):
    """One work report of a place and period in one format, asked for by someone and written by a background job.

    The file is served to anyone whose ``cockpit.report_generate`` reaches the place (the same NotFound
    otherwise). While a run is waiting or being written, asking again for the same place, period and format returns
    it (a partial unique constraint keeps one active run per person, place, period and format)."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("asked for by"), on_delete=models.PROTECT, related_name="+"
    )
    place = models.ForeignKey("places.Place", verbose_name=_("place"), on_delete=models.PROTECT, related_name="+")
    period_key = models.CharField(_("period"), max_length=32)
    period_first = models.DateField(_("first day"))
    period_last = models.DateField(_("last day"))
    format = models.CharField(_("format"), max_length=8, choices=ReportFormat.choices)
    state = models.CharField(_("state"), max_length=16, choices=ReportState.choices, default=ReportState.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    file = models.FileField(_("file"), upload_to="reports/%Y/%m/", blank=True)
    filename = models.CharField(_("file name"), max_length=120, blank=True)
    error = models.TextField(_("error"), blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    requested_at = models.DateTimeField(_("asked for at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("work report")
        verbose_name_plural = _("work reports")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="cockpit_reportrun_progress_0_100"),
            models.CheckConstraint(
                condition=Q(state__in=[state.value for state in ReportState]), name="cockpit_reportrun_state_known"
            ),
            models.CheckConstraint(
                condition=~Q(state=ReportState.DONE) | ~Q(file=""), name="cockpit_reportrun_done_has_file"
            ),
            models.UniqueConstraint(
                fields=["requested_by", "place", "period_key", "format"],
                condition=Q(state__in=[state.value for state in ACTIVE_STATES]),
                name="cockpit_reportrun_one_active",
            ),
        ]
        indexes = [models.Index(fields=["place", "requested_at"], name="cockpit_reportrun_place_idx")]

    def __str__(self) -> str:
        return f"{self.place_id} {self.period_key} {self.format} {self.state}"

    @property
    def finished(self) -> bool:
        return self.state in (ReportState.DONE, ReportState.FAILED)
