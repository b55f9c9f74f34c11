"""Grid worker performance (用积分记录网格员表现): from the cases of their grids and their own visits.

For each account holding the grid worker role on a grid under the chosen place, over a period:
- cases of their grids (the place of the matter lies under a grid they hold): received, closed, open, and the
  on-time, satisfaction, resolved-in-grid and resolved-in-community rates, defined as in ``kpis.py``;
- visits they logged, and opinions collected on them.

Shown to the community: staff who see the place's cases get the full table; residents of a household under the
place see the same figures with the workers' names masked (a public list). Queries: one for the workers, one per
60 workers for the case figures (a district's list stays a handful), one for visits.

Points: ``case_points_claim`` files a red points claim (``gongzhi.points.services.claim_submit``) for the handler
who resolved a closed, well-rated case; the committee reviews it like any other claim.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import reach, require_authenticated
from gongzhi.core.actors import Actor
from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.figures import Period
from gongzhi.core.masking import mask_name
from gongzhi.core.roles import Permission, Role
from gongzhi.core.tree import subtree_q
from gongzhi.people.models import Account, RoleAssignment
from gongzhi.places.models import Place

from .errors import CasesError
from .kpis import CaseFigures, case_counts, case_figures_from
from .models import Case, CaseEvent, CaseEventKind, CaseState, HouseholdVisit, VisitOutcome
from .selectors import case_queryset, resident_households

CHUNK = 60


@dataclass(frozen=True)
class WorkerPerformance:
    account_id: int
    name: str
    grids: tuple[str, ...]
    cases: CaseFigures
    visits: int
    opinions: int

    def as_dict(self) -> dict:
        return {
            "account_id": self.account_id,
            "name": self.name,
            "grids": list(self.grids),
            "cases": self.cases.as_dict(),
            "visits": self.visits,
            "opinions": self.opinions,
        }


def _grid_roles(place: Place, today: date) -> dict[int, list[tuple[str, str]]]:
    """account id → [(grid path, grid name)] of the grid worker roles under the place on ``today``."""
    rows = (
        RoleAssignment.objects.current(on=today)
        .filter(subtree_q(place.path, "place__path"), role=Role.GRID_WORKER, place__is_active=True)
        .values_list("account_id", "place__path", "place__name")
        .order_by("account_id", "place__path")
    )
    grids: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for account_id, path, name in rows:
        grids[account_id].append((path, name))
    return grids


def grid_worker_performance(
    *, place: Place, period: Period, mask_names: bool = False, now: datetime | None = None
) -> list[WorkerPerformance]:
    """The table for a place and period, best resolved-in-grid rate first (no access check: see
    ``performance_for``); the grid workers are those holding the role on the day of ``now``."""
    roles = _grid_roles(place, timezone.localdate(now))
    if not roles:
        return []
    ids = sorted(roles)
    names = {account.pk: account.label for account in Account.objects.filter(pk__in=ids)}
    rows: dict[str, int] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        expressions: dict = {}
        any_grid = Q(pk__in=[])
        for account_id in chunk:
            condition = Q(pk__in=[])
            for path, _name in roles[account_id]:
                condition |= subtree_q(path, "place__path")
            any_grid |= condition
            expressions.update(case_counts(period, condition, prefix=f"w{account_id}_"))
        cases = Case.objects.filter(any_grid).filter(
            Q(submitted_at__gte=period.start, submitted_at__lt=period.end)
            | Q(closed_at__gte=period.start, closed_at__lt=period.end)
        )
        rows.update(cases.aggregate(**expressions))
    visits = {
        row["visitor_id"]: row
        for row in HouseholdVisit.objects.filter(
            visitor_id__in=ids, visited_on__gte=period.first, visited_on__lte=period.last
        )
        .values("visitor_id")
        .annotate(visits=Count("pk"), opinions=Count("pk", filter=~Q(outcome=VisitOutcome.NONE)))
    }
    table = []
    for account_id in ids:
        name = names.get(account_id, "")
        prefix = f"w{account_id}_"
        table.append(
            WorkerPerformance(
                account_id=account_id,
                name=mask_name(name) if mask_names else name,
                grids=tuple(grid_name for _path, grid_name in roles[account_id]),
                cases=case_figures_from({k: v for k, v in rows.items() if k.startswith(prefix)}, prefix),
                visits=visits.get(account_id, {}).get("visits", 0),
                opinions=visits.get(account_id, {}).get("opinions", 0),
            )
        )

    def order(item: WorkerPerformance):
        percent = item.cases.resolved_in_grid.percent
        return (percent is None, -(percent or 0), -item.cases.closed, item.account_id)

    return sorted(table, key=order)


def performance_for(
    *, actor: Actor, place: Place, period: Period, now: datetime | None = None
) -> list[WorkerPerformance]:
    """The table as the actor may see it: staff with ``case.view`` over the place see names; a resident whose
    household lies under the place sees them masked; anyone else gets NotFound."""
    require_authenticated(actor)
    if place is None:
        raise NotFound()
    if reach(actor, Permission.CASE_VIEW).covers(place.path):
        return grid_worker_performance(place=place, period=period, now=now)
    if any(household.path.startswith(place.path) for household in resident_households(actor)):
        return grid_worker_performance(place=place, period=period, mask_names=True, now=now)
    raise NotFound()


# ---------------------------------------------------------------- points for handlers


def case_resolver(case: Case) -> Account | None:
    """The account that last resolved the case."""
    event = (
        CaseEvent.objects.filter(case=case, kind=CaseEventKind.RESOLVED, actor__isnull=False)
        .select_related("actor")
        .order_by("-occurred_at", "-id")
        .first()
    )
    return event.actor if event else None


def case_points_claim(*, actor: Actor, case: Case, item: Any, account: Any = None):
    """File a red points claim for the handler who resolved a closed case the resident rated satisfied or basically
    satisfied. The claim goes to the review committee like any other; the same case never yields two claims
    (idempotency key ``case-<id>-resolver``). ``actor`` is the handler themselves or staff recording on their
    behalf (``points.claim_on_behalf``); ``account`` defaults to the handler's own points account."""
    require_authenticated(actor)
    if case is None or not case_queryset(actor).filter(pk=case.pk).exists():
        raise NotFound()
    case = Case.objects.get(pk=case.pk)
    if case.state != CaseState.CLOSED or case.satisfaction not in ("satisfied", "basically_satisfied"):
        raise CasesError.NOT_ELIGIBLE(_("Points are claimed for a closed request the resident was satisfied with."))
    resolver = case_resolver(case)
    if resolver is None:
        raise CasesError.NOT_ELIGIBLE(_("Nobody resolved this request."))
    with transaction.atomic():  # a refused claim leaves no new points account behind
        return _claim_for(actor=actor, case=case, item=item, account=account, resolver=resolver)


def _claim_for(*, actor: Actor, case: Case, item: Any, account: Any, resolver: Account):
    from gongzhi.points.ledger import account_for_resident
    from gongzhi.points.selectors import resident_first_account
    from gongzhi.points.services import claim_submit

    if account is None:
        if resolver.resident_id is None:
            raise ValidationFailed(fields={"account": _("The handler has no points account.")})
        account = resident_first_account(resolver.resident_id) or account_for_resident(resolver.resident)
    elif account.resident_id is None or account.resident_id != resolver.resident_id:
        raise ValidationFailed(fields={"account": _("This is not the handler's points account.")})
    service_date = timezone.localtime(case.closed_at).date()
    return claim_submit(
        actor=actor,
        account=account,
        item=item,
        service_date=service_date,
        description=_("Resolved request %(number)s: %(what)s") % {"number": case.number, "what": case.resolution[:200]},
        source_type="case",
        source_id=str(case.pk),
        idempotency_key=f"case-{case.pk}-resolver",
    )
