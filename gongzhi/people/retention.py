"""Retention of personal data: what is kept how long (``settings.GONGZHI_RETENTION``), enforced by a daily job.

- residents who left (``left_on``) more than ``moved_out_residents_days`` ago are anonymised through
  ``people.anonymise.resident_anonymise`` as the system (so exactly what staff would do, audited with the reason);
- API tokens that expired or were revoked more than ``api_tokens_days`` ago are deleted (only digests, but they
  tie a login to times and addresses);
- expired Django sessions are deleted;
- inbox notifications read more than ``notifications_days`` ago (unread ones after twice that) are deleted through
  ``cases.services.notifications_purge``.

Never deleted here: audit entries (their own retention, at least six months, belongs to the audit log) and ledger
rows. Every step is idempotent: a second run on the same ``now`` finds nothing left to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from gongzhi.core.errors import DomainError

from .anonymise import resident_anonymise
from .errors import PeopleError
from .models import ApiToken, Resident

RETENTION_REASON = "retention: left more than %(days)d days ago"
DEFAULT_RETENTION = {"moved_out_residents_days": 730, "api_tokens_days": 90, "notifications_days": 180}


@dataclass(frozen=True)
class RetentionPeriods:
    moved_out_residents_days: int
    api_tokens_days: int
    notifications_days: int


def retention_periods() -> RetentionPeriods:
    """The configured periods, the defaults for any not set. A period of 0 or less switches that step off."""
    configured = {**DEFAULT_RETENTION, **getattr(settings, "GONGZHI_RETENTION", {})}
    return RetentionPeriods(**{key: int(configured[key]) for key in DEFAULT_RETENTION})


def residents_due_for_anonymising(*, now: datetime, days: int) -> list[int]:
    """Ids of residents who left on or before ``days`` days before ``now``'s day and are not anonymised yet."""
    last_day = timezone.localdate(now) - timedelta(days=days)
    return list(
        Resident.objects.filter(is_active=False, anonymised_at__isnull=True, left_on__lte=last_day)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def retention_enforce(*, now: datetime) -> dict[str, Any]:
    """Apply every retention period at ``now``; returns what was done, by step (the job's result)."""
    periods = retention_periods()
    done: dict[str, Any] = {"residents_anonymised": 0, "api_tokens_deleted": 0, "sessions_deleted": 0}
    done["notifications_deleted"] = 0
    if periods.moved_out_residents_days > 0:
        reason = RETENTION_REASON % {"days": periods.moved_out_residents_days}
        for resident_id in residents_due_for_anonymising(now=now, days=periods.moved_out_residents_days):
            resident = Resident.objects.select_related("household").get(pk=resident_id)
            try:
                # One transaction per person: one bad row does not hold back the others.
                resident_anonymise(actor=None, resident=resident, reason=reason, now=now)
            except DomainError as error:
                if error.code != PeopleError.ALREADY_ANONYMISED.code:
                    raise
                continue  # anonymised by staff meanwhile
            done["residents_anonymised"] += 1
    if periods.api_tokens_days > 0:
        cutoff = now - timedelta(days=periods.api_tokens_days)
        with transaction.atomic():
            done["api_tokens_deleted"] = ApiToken.objects.filter(
                Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff)
            ).delete()[0]
    if apps.is_installed("django.contrib.sessions"):
        from django.contrib.sessions.models import Session

        done["sessions_deleted"] = Session.objects.filter(expire_date__lt=now).delete()[0]
    if periods.notifications_days > 0 and apps.is_installed("gongzhi.cases"):
        from gongzhi.cases.services import notifications_purge

        read_before = now - timedelta(days=periods.notifications_days)
        unread_before = now - timedelta(days=2 * periods.notifications_days)
        with transaction.atomic():
            done["notifications_deleted"] = notifications_purge(read_before=read_before, unread_before=unread_before)
    return done
