"""Household visits: logging one (``visit_log``), settling an opinion left pending, and the weekly
summary each building head reports upward (seed 004: "小组长或楼栋长每周汇总上报入户调查数、意见收集办理数").

An opinion raised on a visit ends in one of three ways:
- handled on the spot (``visit_log(handled_on_spot=True)``), or handled after the visit (``visit_opinion_handle``);
- passed up as a case, during the visit (``visit_log(create_case=True)``) or later (``visit_opinion_to_case``);
- still pending ("being handled").

The weekly summary is generated from the visits, never typed: visits, households, opinions collected, handled
(on the spot or later), passed up as cases, still pending. ``send_weekly_visit_summaries`` (the weekly job
``cases.weekly_visit_summaries``) puts it in the inbox of each visitor and of the grid workers above them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import reach, require_authenticated, require_reach
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.figures import Period
from gongzhi.core.roles import Permission, Role
from gongzhi.core.tree import subtree_q
from gongzhi.people.models import Account, Resident, RoleAssignment
from gongzhi.places.models import Place, PlaceKind

from .errors import CasesError
from .locks import lock_visit
from .models import CaseCategory, CaseChannel, HouseholdVisit, Notification, VisitOutcome
from .notifications import notify
from .services import case_submit
from .transitions import REASON_MAX, TEXT_MAX, clean_text, current_time

SUMMARY_KIND_PREFIX = "visit.week."
# Roles whose holders report a weekly summary even in a week without visits.
SUMMARY_ROLES = (Role.BUILDING_HEAD, Role.ENTRANCE_HEAD)


# ---------------------------------------------------------------- reads


def visit_queryset(actor: Actor) -> QuerySet[HouseholdVisit]:
    """Visits the actor logged, and visits to households in their ``visit.log`` or ``case.view`` reach."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return HouseholdVisit.objects.none()
    log_reach = reach(actor, Permission.VISIT_LOG)
    view_reach = reach(actor, Permission.CASE_VIEW)
    if log_reach.everything or view_reach.everything:
        return HouseholdVisit.objects.all()
    condition = Q(visitor_id=actor.pk)
    if log_reach.paths:
        condition |= log_reach.q("household__path")
    if view_reach.paths:
        condition |= view_reach.q("household__path")
    return HouseholdVisit.objects.filter(condition)


def access_visit(actor: Actor, visit_id: Any) -> HouseholdVisit:
    """The visit, or NotFound whether it is missing or out of the actor's sight."""
    require_authenticated(actor)
    try:
        visit_id = int(visit_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    visit = (
        visit_queryset(actor)
        .select_related("household", "visitor", "became_case", "settled_by")
        .filter(pk=visit_id)
        .first()
    )
    if visit is None:
        raise NotFound()
    return visit


def _may_settle(actor: Actor, visit: HouseholdVisit) -> bool:
    return visit.visitor_id == actor.pk or reach(actor, Permission.VISIT_LOG).covers(visit.household.path)


# ---------------------------------------------------------------- logging a visit


def visit_log(
    *,
    actor: Actor,
    household: Place,
    visited_on: date,
    findings: str = "",
    opinion: str = "",
    handled_on_spot: bool = False,
    create_case: bool = False,
    category: CaseCategory | None = None,
    reporter_resident: Resident | None = None,
    now: datetime | None = None,
) -> HouseholdVisit:
    """Log a household visit; an opinion raised is handled on the spot, left pending, or becomes a case in the
    same step (``create_case`` with a ``category``)."""
    require_authenticated(actor)
    now = current_time(now)
    if household is None or household.kind != PlaceKind.HOUSEHOLD or not household.is_active:
        raise NotFound()
    require_reach(actor, Permission.VISIT_LOG, household.path)
    if visited_on > timezone.localtime(now).date():
        raise ValidationFailed(fields={"visited_on": _("The visit date cannot be in the future.")})
    findings = clean_text(findings, "findings", required=False)
    opinion = clean_text(opinion, "opinion", required=create_case or handled_on_spot)
    if create_case and handled_on_spot:
        raise ValidationFailed(fields={"create_case": _("An opinion handled on the spot does not become a case.")})
    if create_case and category is None:
        raise ValidationFailed(fields={"category": _("Choose a category for the case.")})
    with transaction.atomic():
        case = None
        if create_case:
            assert category is not None  # refused above
            case = case_submit(
                actor=actor,
                category=category,
                text=opinion,
                place=household,
                channel=CaseChannel.VISIT,
                reporter_resident=reporter_resident,
                now=now,
            )
            outcome = VisitOutcome.BECAME_CASE
        elif not opinion:
            outcome = VisitOutcome.NONE
        else:
            outcome = VisitOutcome.HANDLED_ON_SPOT if handled_on_spot else VisitOutcome.PENDING
        visit = HouseholdVisit.objects.create(
            household=household,
            visitor=actor,
            visited_on=visited_on,
            findings=findings,
            opinion=opinion,
            outcome=outcome,
            became_case=case,
            created_at=now,
        )
        audit_record(
            actor=actor,
            action="visit.log",
            target=visit,
            place_path=household.path,
            changes={"outcome": outcome, "case": case.pk if case else None},
        )
    return visit


# ---------------------------------------------------------------- settling a pending opinion


def _lock_pending(actor: Actor, visit: HouseholdVisit) -> HouseholdVisit:
    require_authenticated(actor)
    visit = lock_visit(getattr(visit, "pk", None))
    if not _may_settle(actor, visit):
        raise NotFound()
    if visit.outcome != VisitOutcome.PENDING:
        raise CasesError.INVALID_TRANSITION(
            _("This opinion is %(outcome)s; only a pending opinion can be settled.")
            % {"outcome": VisitOutcome(visit.outcome).label}
        )
    return visit


def visit_opinion_handle(
    *, actor: Actor, visit: HouseholdVisit, note: str, now: datetime | None = None
) -> HouseholdVisit:
    """A pending opinion was handled after the visit (by the visitor or someone who logs visits there)."""
    now = current_time(now)
    note = clean_text(note, "note", limit=TEXT_MAX)
    with transaction.atomic():
        visit = _lock_pending(actor, visit)
        HouseholdVisit.objects.filter(pk=visit.pk, outcome=VisitOutcome.PENDING).update(
            outcome=VisitOutcome.HANDLED_LATER, settled_at=now, settled_by=actor, settlement_note=note
        )
        audit_record(
            actor=actor,
            action="visit.opinion_handle",
            target=visit,
            place_path=visit.household.path,
            changes={"outcome": [VisitOutcome.PENDING, VisitOutcome.HANDLED_LATER]},
        )
    visit.refresh_from_db()
    return visit


def visit_opinion_to_case(
    *,
    actor: Actor,
    visit: HouseholdVisit,
    category: CaseCategory,
    note: str = "",
    reporter_resident: Resident | None = None,
    now: datetime | None = None,
) -> HouseholdVisit:
    """A pending opinion the visitor could not settle is passed up as a case (one step): the case is raised at the
    visited household through ``case_submit`` (channel ``visit``) and linked to the visit."""
    now = current_time(now)
    note = clean_text(note, "note", required=False, limit=REASON_MAX)
    with transaction.atomic():
        visit = _lock_pending(actor, visit)
        case = case_submit(
            actor=actor,
            category=category,
            text=visit.opinion,
            place=visit.household,
            channel=CaseChannel.VISIT,
            reporter_resident=reporter_resident,
            now=now,
        )
        HouseholdVisit.objects.filter(pk=visit.pk, outcome=VisitOutcome.PENDING).update(
            outcome=VisitOutcome.BECAME_CASE, became_case=case, settled_at=now, settled_by=actor, settlement_note=note
        )
        audit_record(
            actor=actor,
            action="visit.opinion_to_case",
            target=visit,
            place_path=visit.household.path,
            changes={"outcome": [VisitOutcome.PENDING, VisitOutcome.BECAME_CASE], "case": case.pk},
        )
    visit.refresh_from_db()
    return visit


# ---------------------------------------------------------------- the weekly summary


@dataclass(frozen=True)
class VisitSummary:
    visitor_id: int
    visitor_label: str
    period: Period
    visits: int = 0
    households: int = 0
    opinions: int = 0
    handled_on_spot: int = 0
    handled_later: int = 0
    passed_up: int = 0
    pending: int = 0

    @property
    def handled(self) -> int:
        return self.handled_on_spot + self.handled_later

    def as_dict(self) -> dict:
        return {
            "visitor_id": self.visitor_id,
            "visitor": self.visitor_label,
            "period": self.period.as_dict(),
            "visits": self.visits,
            "households": self.households,
            "opinions": self.opinions,
            "handled": self.handled,
            "handled_on_spot": self.handled_on_spot,
            "handled_later": self.handled_later,
            "passed_up": self.passed_up,
            "pending": self.pending,
        }


def _summary_counts() -> dict:
    return {
        "visits": Count("pk"),
        "households": Count("household_id", distinct=True),
        "opinions": Count("pk", filter=~Q(outcome=VisitOutcome.NONE)),
        "handled_on_spot": Count("pk", filter=Q(outcome=VisitOutcome.HANDLED_ON_SPOT)),
        "handled_later": Count("pk", filter=Q(outcome=VisitOutcome.HANDLED_LATER)),
        "passed_up": Count("pk", filter=Q(outcome=VisitOutcome.BECAME_CASE)),
        "pending": Count("pk", filter=Q(outcome=VisitOutcome.PENDING)),
    }


def _head_ids(place: Place | None, today: date) -> set[int]:
    queryset = RoleAssignment.objects.current(on=today).filter(role__in=SUMMARY_ROLES, place__is_active=True)
    if place is not None:
        queryset = queryset.filter(subtree_q(place.path, "place__path"))
    return set(queryset.values_list("account_id", flat=True))


def visit_summaries(
    *,
    period: Period,
    place: Place | None = None,
    visitor_ids: set[int] | None = None,
    now: datetime | None = None,
) -> list:
    """One ``VisitSummary`` per visitor for the period (visits to households under ``place`` when given): every
    building or entrance head (on the day of ``now``) under the place, also with no visits, and everyone who
    logged a visit there.
    Three queries whatever the number of visits."""
    visits = HouseholdVisit.objects.filter(visited_on__gte=period.first, visited_on__lte=period.last)
    if place is not None:
        visits = visits.filter(subtree_q(place.path, "household__path"))
    if visitor_ids is not None:
        visits = visits.filter(visitor_id__in=visitor_ids)
    rows = {row.pop("visitor_id"): row for row in visits.values("visitor_id").annotate(**_summary_counts())}
    ids = set(rows)
    heads = _head_ids(place, timezone.localdate(now))
    ids |= heads if visitor_ids is None else heads & visitor_ids
    labels = {account.pk: account.label for account in Account.objects.filter(pk__in=ids)}
    summaries = [
        VisitSummary(visitor_id=pk, visitor_label=labels.get(pk, ""), period=period, **rows.get(pk, {}))
        for pk in ids
        if pk in labels
    ]
    return sorted(summaries, key=lambda item: (item.visitor_label, item.visitor_id))


def my_visit_summary(actor: Actor, period: Period) -> VisitSummary:
    require_authenticated(actor)
    found = visit_summaries(period=period, visitor_ids={actor.pk})
    if found:
        return found[0]
    return VisitSummary(visitor_id=actor.pk, visitor_label=actor.label, period=period)


def _summary_text(summary: VisitSummary) -> str:
    return _(
        "Visits of %(visitor)s in week %(week)s: %(visits)d visits to %(households)d households, %(opinions)d "
        "opinions collected, %(handled)d handled, %(passed_up)d passed up as cases, %(pending)d being handled."
    ) % {
        "visitor": summary.visitor_label,
        "week": summary.period.key,
        "visits": summary.visits,
        "households": summary.households,
        "opinions": summary.opinions,
        "handled": summary.handled,
        "passed_up": summary.passed_up,
        "pending": summary.pending,
    }


def _grid_workers_above(visitor_ids: set[int], today: date) -> dict[int, set[int]]:
    """visitor id → accounts holding the grid worker role on ``today`` on a grid above a place where the visitor
    holds a role (three queries in all)."""
    visitor_places = (
        RoleAssignment.objects.current(on=today, active_accounts=False)
        .filter(place__is_active=True, account_id__in=visitor_ids)
        .values_list("account_id", "place__path")
    )
    grid_ids_by_visitor: dict[int, set[int]] = defaultdict(set)
    all_ancestor_ids: set[int] = set()
    for account_id, path in visitor_places:
        ids = {int(part) for part in path.strip("/").split("/") if part}
        grid_ids_by_visitor[account_id] |= ids
        all_ancestor_ids |= ids
    grids = set(Place.objects.filter(pk__in=all_ancestor_ids, kind=PlaceKind.GRID).values_list("pk", flat=True))
    workers: dict[int, set[int]] = defaultdict(set)
    for account_id, place_id in (
        RoleAssignment.objects.current(on=today)
        .filter(role=Role.GRID_WORKER, place__is_active=True, place_id__in=grids)
        .values_list("account_id", "place_id")
    ):
        workers[place_id].add(account_id)
    return {
        visitor: {worker for grid in ids & grids for worker in workers[grid]}
        for visitor, ids in grid_ids_by_visitor.items()
    }


def summary_kind(period: Period, visitor_id: int) -> str:
    """The notification kind of one visitor's summary for one week ("visit.week.2026-W10.42")."""
    return f"{SUMMARY_KIND_PREFIX}{period.key}.{visitor_id}"


def send_weekly_visit_summaries(*, period: Period | None = None, now: datetime | None = None) -> dict:
    """Put each visitor's summary of the week (by default the week before ``now``) in their inbox and in the inbox
    of the grid workers above them. Idempotent: the notification kind names the week and the visitor, and a
    recipient who already has that summary does not get it again."""
    now = current_time(now)
    period = period or Period.week(timezone.localtime(now).date()).previous()
    summaries = visit_summaries(period=period, now=now)
    if not summaries:
        return {"summaries": 0, "notified": 0}
    supervisors = _grid_workers_above({summary.visitor_id for summary in summaries}, timezone.localdate(now))
    already = set(
        Notification.objects.filter(kind__startswith=f"{SUMMARY_KIND_PREFIX}{period.key}.").values_list(
            "recipient_id", "kind"
        )
    )
    recipient_ids = {summary.visitor_id for summary in summaries}
    for ids in supervisors.values():
        recipient_ids |= ids
    accounts = {account.pk: account for account in Account.objects.filter(pk__in=recipient_ids, is_active=True)}
    notified = 0
    with transaction.atomic():
        for summary in summaries:
            kind = summary_kind(period, summary.visitor_id)
            recipients = [
                accounts[pk]
                for pk in sorted({summary.visitor_id, *supervisors.get(summary.visitor_id, set())})
                if pk in accounts and (pk, kind) not in already
            ]
            notify(recipients, case=None, kind=kind, message=lambda _case, s=summary: _summary_text(s), now=now)
            notified += len(recipients)
    return {"summaries": len(summaries), "notified": notified}
