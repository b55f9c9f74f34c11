"""Shared records: the append-only audit log (with its hash chains and their checkpoints) and the ledger of periodic
job runs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(RuntimeError):
    pass


class AuditEntry(models.Model):
    """Who did what, when, from where, to which object. Rows are never updated or deleted.

    Python refuses updates and deletes; the database refuses them too (triggers in migration 0003). Each entry is a
    link of its district's hash chain (core/audit_chain.py; write entries only through core/audit.py).
    """

    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(_("actor name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    place_path = models.CharField(_("place path"), max_length=255, blank=True)
    channel = models.CharField(_("channel"), max_length=16, default="system")
    source_ip = models.GenericIPAddressField(_("source address"), null=True, blank=True)
    user_agent = models.CharField(_("client"), max_length=255, blank=True)
    purpose = models.CharField(_("stated purpose"), max_length=255, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    # The hash chain (core/audit_chain.py): one chain per district (the first id of place_path), "system" for the
    # rest; seq counts from 1 in its chain; hash = HMAC-SHA256 (key named by key_id) over the canonical fields.
    chain = models.CharField(_("chain"), max_length=32, default="", editable=False)
    seq = models.PositiveBigIntegerField(_("sequence"), null=True, editable=False)
    previous_hash = models.CharField(_("previous hash"), max_length=64, blank=True, editable=False)
    key_id = models.CharField(_("key"), max_length=16, blank=True, editable=False)
    hash = models.CharField(_("hash"), max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["place_path", "occurred_at"], name="audit_place_time_idx"),
        ]
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_one_entry_per_chain_seq")]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The audit log is append-only.")


class AuditChainHead(models.Model):
    """The head of one audit chain: how many entries it holds and the last one's hash.

    Locked (``FOR UPDATE``) and moved in the transaction that appends, so concurrent writers queue on it instead of
    forking the chain. Only core/audit_chain.py writes it.
    """

    chain = models.CharField(_("chain"), max_length=32, primary_key=True)
    seq = models.PositiveBigIntegerField(_("sequence"), default=0)
    last_hash = models.CharField(_("last hash"), max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain heads")

    def __str__(self) -> str:
        return f"{self.chain} #{self.seq}"


class AuditCheckpoint(models.Model):
    """A chain's head as recorded by the daily job (core/jobs.py ``core.audit_checkpoint``), also written to the
    log: a history rewritten before a recorded head no longer matches it, which ``gongzhi audit_verify`` checks."""

    chain = models.CharField(_("chain"), max_length=32)
    seq = models.PositiveBigIntegerField(_("sequence"))
    hash = models.CharField(_("hash"), max_length=64)
    recorded_at = models.DateTimeField(_("recorded at"))
    run_key = models.CharField(_("period"), max_length=64)

    class Meta:
        verbose_name = _("audit checkpoint")
        verbose_name_plural = _("audit checkpoints")
        ordering = ["chain", "seq"]
        constraints = [models.UniqueConstraint(fields=["chain", "run_key"], name="audit_checkpoint_once_per_day")]

    def __str__(self) -> str:
        return f"{self.chain} #{self.seq} {self.run_key}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("Audit checkpoints are append-only.")
        super().save(*args, **kwargs)


class JobRun(models.Model):
    """One run of a periodic job for one period. The unique key makes every job run at most once per period."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    job_name = models.CharField(_("job"), max_length=100)
    run_key = models.CharField(_("period"), max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RUNNING)
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    worker = models.CharField(_("worker"), max_length=120, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        ordering = ["-started_at"]
        constraints = [models.UniqueConstraint(fields=["job_name", "run_key"], name="jobrun_once_per_period")]

    def __str__(self) -> str:
        return f"{self.job_name} {self.run_key} {self.status}"


class Progress(models.Model):
    """Progress of a long task (import, export) that a page can poll and a person can leave and come back to."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("finished")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("kind"), max_length=64)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(_("total"), default=0)
    done = models.PositiveIntegerField(_("done"), default=0)
    message = models.CharField(_("message"), max_length=255, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("progress")
        verbose_name_plural = _("progress")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.done}/{self.total}"

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == self.Status.SUCCEEDED else 0
        return min(100, round(100 * self.done / self.total))
