"""The in-app inbox of the cases domain: who hears about a case, the rows written in each recipient's language,
marking them read, and the daily e-mail digest of what is still unread."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from gongzhi.core.access import require_authenticated
from gongzhi.core.actors import Actor
from gongzhi.core.roles import ROLE_PERMISSIONS, Permission
from gongzhi.people.models import Account, RoleAssignment
from gongzhi.places.models import Place

from .models import Case, Notification
from .transitions import current_time

logger = logging.getLogger(__name__)


def _handler_role_names() -> list[str]:
    return [role for role, permissions in ROLE_PERMISSIONS.items() if Permission.CASE_HANDLE in permissions]


def handler_accounts(case: Case, *, now: datetime | None = None) -> list[Any]:
    """Who should hear about a case now: its assigned handler, else everyone who may handle it where it sits."""
    if case.current_handler_id:
        return [case.current_handler]
    return department_accounts(case.handling_department_id, place=case.handling_place, now=now)


def department_accounts(
    organisation_id: int | None, *, place: Place | None = None, now: datetime | None = None
) -> list[Any]:
    """The accounts holding a handling role, on the day of ``now``, for the organisation or at the place."""
    condition = Q(pk__in=[])
    if place is not None:
        condition |= Q(place=place, organisation__isnull=True)
    if organisation_id is not None:
        condition |= Q(organisation_id=organisation_id)
    account_ids = (
        RoleAssignment.objects.current(on=timezone.localdate(now))
        .filter(condition, role__in=_handler_role_names())
        .values_list("account_id", flat=True)
    )
    return list(Account.objects.filter(pk__in=account_ids, is_active=True).order_by("pk")[:50])


def notify(recipients: Iterable[Any], *, case: Case | None, kind: str, message: Any, now: datetime) -> None:
    """Inbox rows, one per distinct recipient, each in the recipient's language. ``message(case)`` builds the text
    (called under the recipient's language), or pass a plain string."""
    seen: set[int] = set()
    rows = []
    for recipient in recipients:
        if recipient is None or recipient.pk in seen:
            continue
        seen.add(recipient.pk)
        language = getattr(recipient, "preferred_language", "") or settings.LANGUAGE_CODE
        with translation.override(language):
            text = str(message(case) if callable(message) else message)
        rows.append(Notification(recipient=recipient, case=case, kind=kind, text=text[:500], created_at=now))
    Notification.objects.bulk_create(rows)


def _reporter(case: Case) -> list[Any]:
    return [case.reporter_account] if case.reporter_account_id else []


def tell_reporter(case: Case, kind: str, message: Any, now: datetime) -> None:
    notify(_reporter(case), case=case, kind=kind, message=message, now=now)


def tell_handlers(case: Case, kind: str, message: Any, now: datetime, exclude: Any = None) -> None:
    recipients = [account for account in handler_accounts(case, now=now) if exclude is None or account.pk != exclude.pk]
    notify(recipients, case=case, kind=kind, message=message, now=now)


def notification_mark_read(
    *, actor: Actor, notification_ids: Iterable[int] | None = None, now: datetime | None = None
) -> int:
    """Mark the actor's own notifications read (all unread ones when no ids are given)."""
    require_authenticated(actor)
    queryset = Notification.objects.filter(recipient_id=actor.pk, read_at__isnull=True)
    if notification_ids is not None:
        queryset = queryset.filter(pk__in=list(notification_ids))
    return queryset.update(read_at=current_time(now))


def send_notification_digests(*, now: datetime | None = None) -> dict:
    """One e-mail per person with the unread notifications not yet e-mailed, instead of a mail per change.
    Rows are claimed before sending (a conditional UPDATE), so two runs never send the same rows twice."""
    now = current_time(now)
    pending = Notification.objects.filter(in_digest=True, emailed_at__isnull=True, read_at__isnull=True)
    recipient_ids = sorted(set(pending.values_list("recipient_id", flat=True)))
    sent = 0
    for account in Account.objects.filter(pk__in=recipient_ids, is_active=True).exclude(email="").order_by("pk"):
        mine = pending.filter(recipient=account).select_related("case__category")
        rows = list(mine.order_by("created_at", "id")[:100])
        if not rows:
            continue
        claimed = Notification.objects.filter(pk__in=[row.pk for row in rows], emailed_at__isnull=True).update(
            emailed_at=now
        )
        if not claimed:
            continue
        with translation.override(account.preferred_language or settings.LANGUAGE_CODE):
            subject = _("%(count)d updates on resident requests") % {"count": len(rows)}
            body = "\n".join(
                f"- {timezone.localtime(row.created_at):%m-%d %H:%M} "
                f"{f'[{row.case.title}] ' if row.case is not None else ''}{row.text}"
                for row in rows
            )
        try:
            send_mail(subject, body, None, [account.email])
        except Exception:
            logger.exception("Could not send the notification digest to account %s", account.pk)
            Notification.objects.filter(pk__in=[row.pk for row in rows], emailed_at=now).update(emailed_at=None)
            continue
        sent += 1
    return {"sent": sent}
