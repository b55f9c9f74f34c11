"""Every state change of co-building, importable from here. The sub-domains live in their own modules:

- ``lists``: agreements and the three lists (resources, needs, projects) with suggested matches;
- ``projects``: micro-projects' claim, progress, completion, confirmation, ratings and points;
- ``fund``: the community service fund and its spending (budget = spent + committed + left);
- ``network``: points alliances, co-building activities, pairings with commitments, meetings with matters;
- ``assessment``: the quarterly property management assessment (weights, scores, stars, reward);
- here: the yearly report-back of an organisation to its supervising department.

Each is keyword-only with the acting account first, checks access inside, writes in one transaction with its
audit entry, takes ``now``, and raises a ``DomainError`` (nothing written) when it refuses.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.people.models import Organisation

from .access import may_manage
from .assessment import quarter_publish, score_enter, weights_for, weights_set
from .errors import CobuildingError
from .fund import (
    fund_set_budget,
    spending_approve,
    spending_cancel,
    spending_pay,
    spending_refuse,
    spending_request,
)
from .lists import (
    agreement_end,
    agreement_renew,
    agreement_sign,
    agreements_expire,
    match_answer,
    need_create,
    project_create,
    resource_publish,
    resource_withdraw,
)
from .models import ReportBack
from .network import (
    activity_record,
    alliance_create,
    alliance_join,
    commitment_add,
    commitment_mark,
    matter_follow_up,
    matter_raise,
    meeting_record,
    pairing_create,
)
from .projects import (
    project_cancel,
    project_claim,
    project_confirm,
    project_points_request,
    project_progress,
    project_rate,
    project_release,
)
from .selectors import report_back_figures

__all__ = [
    "activity_record",
    "agreement_end",
    "agreement_renew",
    "agreement_sign",
    "agreements_expire",
    "alliance_create",
    "alliance_join",
    "commitment_add",
    "commitment_mark",
    "fund_set_budget",
    "match_answer",
    "matter_follow_up",
    "matter_raise",
    "meeting_record",
    "need_create",
    "pairing_create",
    "project_cancel",
    "project_claim",
    "project_confirm",
    "project_create",
    "project_points_request",
    "project_progress",
    "project_rate",
    "project_release",
    "quarter_publish",
    "report_back_send",
    "resource_publish",
    "resource_withdraw",
    "score_enter",
    "spending_approve",
    "spending_cancel",
    "spending_pay",
    "spending_refuse",
    "spending_request",
    "weights_for",
    "weights_set",
]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value


def report_back_send(*, actor: Actor, organisation: Organisation, year: int, now: datetime | None = None) -> ReportBack:
    """Record that an organisation's year was reported back to its supervising department, with the figures as
    sent (once per organisation and year; staff over the organisation's place)."""
    if not may_manage(actor, organisation.place.path):
        raise NotFound()
    now = now or timezone.now()
    if not isinstance(year, int) or not 2000 <= year <= timezone.localdate(now).year:
        raise ValidationFailed(fields={"year": _("Choose this year or an earlier one.")})
    if not organisation.supervising_department:
        raise ValidationFailed(fields={"department": _("Enter the organisation's supervising department first.")})
    if ReportBack.objects.filter(organisation=organisation, year=year).exists():
        raise CobuildingError.ALREADY_REPORTED()
    figures = report_back_figures(actor, organisation, year)
    figures.pop("reported", None)
    try:
        with transaction.atomic():
            report = ReportBack.objects.create(
                organisation=organisation,
                year=year,
                department=organisation.supervising_department,
                figures={key: _plain(value) for key, value in figures.items()},
                sent_by=actor,
                sent_at=now,
            )
            audit_record(
                actor=actor,
                action="cobuilding.report_back_send",
                target=report,
                place_path=organisation.place.path,
                changes={"year": year},
                occurred_at=now,
            )
    except IntegrityError:
        raise CobuildingError.ALREADY_REPORTED() from None
    return report
