"""The inbox: notices to handlers and residents, sent once a day as an e-mail digest while unread."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .requests import Case


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
