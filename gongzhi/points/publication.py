"""The monthly publication (一月一公示), objections to it, and the annual selection (一年一评选).

A month's list is published after the month is over: each account's approved points from claims with a service
date in that month in that community, frozen into ``PublicationLine`` rows with masked names. Residents of the
community raise objections during the window (``GONGZHI_OBJECTION_DAYS``, 5 days by default); the committee
upholds one (the claim is reversed by a new transfer dated that day) or dismisses it; once the window is over and
no objection is open, the month locks. A published month never changes: corrections are reversals dated later.

Every function here is keyword-only with the actor first, checks reach, writes in one transaction with its audit
entry, and on refusal raises a DomainError having written nothing. The jobs in ``jobs.py`` call the same steps
with no actor (recorded as the job).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import reach, require_authenticated, require_reach
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.roles import Permission
from gongzhi.places.models import Place, PlaceKind

from . import locks
from .errors import PointsError
from .models import (
    Claim,
    ClaimState,
    Entry,
    Objection,
    PointsAccount,
    Publication,
    PublicationLine,
    Selection,
    SelectionCandidate,
    Transfer,
)
from .rankings import PERSON_KINDS, public_name, ranking

DEFAULT_OBJECTION_DAYS = 5


def objection_days() -> int:
    return int(getattr(settings, "GONGZHI_OBJECTION_DAYS", DEFAULT_OBJECTION_DAYS))


# ---------------------------------------------------------------- months


def month_start(month: date | str) -> date:
    """The first day of ``month`` (a date in it, or "2026-11")."""
    if isinstance(month, str):
        try:
            year, number = (int(part) for part in month.split("-"))
            return date(year, number, 1)
        except ValueError:
            raise ValidationFailed(fields={"month": _('Write the month as "2026-11".')}) from None
    return month.replace(day=1)


def month_end(month: date) -> date:
    """The first day of the month after ``month``."""
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def _require_community(place: Place) -> None:
    if place.kind != PlaceKind.COMMUNITY:
        raise PointsError.NOT_A_COMMUNITY(fields={"community": _("Choose a community.")})


def _system_label(job: str) -> str:
    return f"job:{job}"


# ---------------------------------------------------------------- publishing


def month_lines(*, community: Place, month: date, as_of: datetime) -> list[dict]:
    """Each account's approved points in ``month``: award entries of the claims with a service date in the month in
    ``community``, minus the reversals of those awards posted before ``as_of``. Accounts netting to nothing are
    left out."""
    claims = list(
        Claim.objects.filter(
            community=community,
            service_date__gte=month,
            service_date__lt=month_end(month),
            transfer__isnull=False,
        ).values_list("pk", "account_id", "transfer_id")
    )
    owner = {transfer_id: account_id for _pk, account_id, transfer_id in claims}
    reversals = dict(
        Transfer.objects.filter(reverses_id__in=owner, created_at__lt=as_of).values_list("pk", "reverses_id")
    )
    points: dict[int, int] = defaultdict(int)
    for transfer_id, account_id, amount in Entry.objects.filter(
        transfer_id__in=[*owner, *reversals], counts_as_earned=True
    ).values_list("transfer_id", "account_id", "amount"):
        holder = owner.get(transfer_id) or owner[reversals[transfer_id]]
        if account_id == holder:
            points[account_id] += amount
    reversed_awards = set(reversals.values())
    claim_counts: dict[int, int] = defaultdict(int)
    for _pk, account_id, transfer_id in claims:
        if transfer_id not in reversed_awards:
            claim_counts[account_id] += 1
    accounts = PointsAccount.objects.in_bulk([pk for pk, total in points.items() if total])
    lines = [
        {
            "account": accounts[pk],
            "masked_name": public_name(accounts[pk].display_name, accounts[pk].kind),
            "account_kind": accounts[pk].kind,
            "points": points[pk],
            "claims": claim_counts[pk],
        }
        for pk in accounts
    ]
    lines.sort(key=lambda line: (-line["points"], line["account"].pk))
    return lines


def _publish(
    *, actor: Actor | None, community: Place, month: date, now: datetime, actor_label: str = ""
) -> Publication:
    if _local_midnight(month_end(month)) > now:
        raise PointsError.MONTH_NOT_OVER()
    with transaction.atomic():
        publication, _created = locks.lock_or_create_publication(community=community, month=month)
        if publication.state != Publication.State.OPEN:
            raise PointsError.ALREADY_PUBLISHED()
        lines = month_lines(community=community, month=month, as_of=now)
        PublicationLine.objects.bulk_create(
            [PublicationLine(publication=publication, **line) for line in lines], batch_size=1000
        )
        publication.state = Publication.State.PUBLISHED
        publication.published_at = now
        publication.objections_until = now + timedelta(days=objection_days())
        publication.published_by = actor if getattr(actor, "is_authenticated", False) else None
        publication.save(update_fields=["state", "published_at", "objections_until", "published_by"])
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action="points.publication_publish",
            target=publication,
            place_path=community.path,
            changes={
                "month": f"{month:%Y-%m}",
                "lines": len(lines),
                "points": sum(line["points"] for line in lines),
                "objections_until": publication.objections_until.isoformat(),
                # Claims of the month still waiting for review are not in the list (their approval comes later).
                "pending_claims": Claim.objects.filter(
                    community=community,
                    service_date__gte=month,
                    service_date__lt=month_end(month),
                    state__in=[ClaimState.SUBMITTED, ClaimState.RETURNED],
                ).count(),
            },
        )
    return publication


def publication_publish(
    *, actor: Actor, community: Place, month: date | str, now: datetime | None = None
) -> Publication:
    """Publish ``community``'s approved points of ``month`` (after the month is over) and open the objection window.

    Codes: not_found (out of reach), not_a_community, month_not_over, already_published.
    """
    require_reach(actor, Permission.PUBLICATION_MANAGE, community.path)
    _require_community(community)
    return _publish(actor=actor, community=community, month=month_start(month), now=now or timezone.now())


def _lock(*, actor: Actor | None, publication: Publication, now: datetime, actor_label: str = "") -> Publication:
    with transaction.atomic():
        publication = locks.lock_publication(publication.pk)
        if publication.state == Publication.State.LOCKED:
            raise PointsError.ALREADY_LOCKED()
        if publication.state != Publication.State.PUBLISHED:
            raise PointsError.NOT_PUBLISHED()
        if now < publication.objections_until:
            raise PointsError.WINDOW_OPEN()
        if publication.objections.filter(state=Objection.State.OPEN).exists():
            raise PointsError.OBJECTIONS_OPEN()
        publication.state = Publication.State.LOCKED
        publication.locked_at = now
        publication.save(update_fields=["state", "locked_at"])
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action="points.publication_lock",
            target=publication,
            place_path=publication.community.path,
            changes={"month": f"{publication.month:%Y-%m}"},
        )
    return publication


def publication_lock(*, actor: Actor, publication: Publication, now: datetime | None = None) -> Publication:
    """Lock a published month once its objection window is over and no objection is open.

    Codes: not_found, not_published, already_locked, window_open, objections_open.
    """
    require_reach(actor, Permission.PUBLICATION_MANAGE, publication.community.path)
    return _lock(actor=actor, publication=publication, now=now or timezone.now())


def month_is_published(*, community_id: int, service_date: date) -> bool:
    """True when the month of ``service_date`` is published or locked in the community (no claims into it)."""
    return (
        Publication.objects.filter(community_id=community_id, month=service_date.replace(day=1))
        .exclude(state=Publication.State.OPEN)
        .exists()
    )


# ---------------------------------------------------------------- objections


def _require_resident_of(actor: Actor, community: Place) -> None:
    require_authenticated(actor)
    allowed = reach(actor, Permission.OBJECTION_RAISE)
    if not (allowed.everything or any(path.startswith(community.path) for path in allowed.paths)):
        raise PointsError.NOT_A_RESIDENT()


def objection_raise(
    *,
    actor: Actor,
    publication: Publication,
    text: str,
    line: PublicationLine | None = None,
    claim: Claim | None = None,
    now: datetime | None = None,
) -> Objection:
    """A resident of the community objects to the published month (a line, a claim, or the list as a whole).

    Codes: not_a_resident, validation_failed (text, line, claim), window_closed.
    """
    now = now or timezone.now()
    community = publication.community
    _require_resident_of(actor, community)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(fields={"text": _("Say what is wrong with the list.")})
    if line is not None and line.publication_id != publication.pk:
        raise ValidationFailed(fields={"line": _("This line is not in this month's list.")})
    if claim is not None:
        in_month = (
            claim.community_id == community.pk
            and publication.month <= claim.service_date < month_end(publication.month)
            and claim.transfer_id is not None
        )
        if not in_month:
            raise ValidationFailed(fields={"claim": _("This claim is not in this month's list.")})
        if line is not None and line.account_id != claim.account_id:
            raise ValidationFailed(fields={"claim": _("This claim is not on this line.")})
    with transaction.atomic():
        locked = locks.lock_publication(publication.pk)
        if locked.state != Publication.State.PUBLISHED or now >= locked.objections_until:
            raise PointsError.WINDOW_CLOSED()
        if line is None and claim is not None:
            line = PublicationLine.objects.filter(publication=locked, account_id=claim.account_id).first()
        objection = Objection.objects.create(
            publication=locked, line=line, claim=claim, raised_by=actor, text=text, raised_at=now
        )
        audit_record(
            actor=actor,
            action="points.objection_raise",
            target=objection,
            place_path=community.path,
            changes={"publication": locked.pk, "line": getattr(line, "pk", None), "claim": getattr(claim, "pk", None)},
        )
    return objection


def _open_objection(objection: Objection) -> Objection:
    locked = locks.lock_objection(objection.pk)
    if locked.state != Objection.State.OPEN:
        raise PointsError.OBJECTION_NOT_OPEN()
    return locked


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": _("Give the reason for the decision.")})
    return reason


def objection_uphold(
    *, actor: Actor, objection: Objection, reason: str, claim: Claim | None = None, now: datetime | None = None
) -> Objection:
    """The committee upholds the objection: the claim it names (or ``claim``) is reversed by a transfer dated now.

    Codes: not_found, validation_failed (reason, claim), claim_required, objection_not_open, and the refusals of
    ``review.claim_reverse`` (e.g. insufficient_points when the points were already spent).
    """
    from .review import claim_reverse

    now = now or timezone.now()
    community = objection.publication.community
    require_reach(actor, Permission.OBJECTION_DECIDE, community.path)
    reason = _reason(reason)
    with transaction.atomic():
        locked = _open_objection(objection)
        target = claim or locked.claim
        if target is None:
            raise PointsError.CLAIM_REQUIRED(fields={"claim": _("Name the claim to reverse.")})
        publication = locked.publication
        belongs = (
            target.community_id == community.pk
            and publication.month <= target.service_date < month_end(publication.month)
            and (locked.line is None or locked.line.account_id == target.account_id)
        )
        if not belongs:
            raise ValidationFailed(fields={"claim": _("This claim is not in this month's list.")})
        reversal = claim_reverse(actor=actor, claim=target, reason=reason, now=now)
        locked.state = Objection.State.UPHELD
        locked.claim = target
        locked.decided_by = actor
        locked.decided_at = now
        locked.decision_reason = reason
        locked.reversal = reversal
        locked.save(update_fields=["state", "claim", "decided_by", "decided_at", "decision_reason", "reversal"])
        audit_record(
            actor=actor,
            action="points.objection_uphold",
            target=locked,
            place_path=community.path,
            changes={"claim": target.pk, "reversal": reversal.pk, "reason": reason},
        )
    return locked


def objection_dismiss(*, actor: Actor, objection: Objection, reason: str, now: datetime | None = None) -> Objection:
    """The committee dismisses the objection, with its reason. Codes: not_found, validation_failed,
    objection_not_open."""
    now = now or timezone.now()
    community = objection.publication.community
    require_reach(actor, Permission.OBJECTION_DECIDE, community.path)
    reason = _reason(reason)
    with transaction.atomic():
        locked = _open_objection(objection)
        locked.state = Objection.State.DISMISSED
        locked.decided_by = actor
        locked.decided_at = now
        locked.decision_reason = reason
        locked.save(update_fields=["state", "decided_by", "decided_at", "decision_reason"])
        audit_record(
            actor=actor,
            action="points.objection_dismiss",
            target=locked,
            place_path=community.path,
            changes={"reason": reason},
        )
    return locked


# ---------------------------------------------------------------- the public list


def access_publication(publication_id: Any) -> Publication:
    """A published (or locked) month, for the public page; NotFound for an unpublished one."""
    publication = (
        Publication.objects.select_related("community")
        .exclude(state=Publication.State.OPEN)
        .filter(pk=publication_id)
        .first()
    )
    if publication is None:
        raise NotFound()
    return publication


def publication_public_lines(publication: Publication) -> list[dict]:
    """The frozen lines as the public sees them: masked name, kind, points, claims."""
    return list(
        publication.lines.order_by("-points", "id").values("id", "masked_name", "account_kind", "points", "claims")
    )


# ---------------------------------------------------------------- annual selection

SELECTION_KINDS = {
    Selection.Kind.POINTS_STAR: None,  # every kind of holder account
    Selection.Kind.GOOD_NEIGHBOUR: PERSON_KINDS,  # people: residents and party members
}
CANDIDATES_PER_PLACE = 2


def selection_propose(
    *, actor: Actor, community: Place, year: int, kind: str, places_available: int, now: datetime | None = None
) -> Selection:
    """Propose candidates from ``year``'s ranking of ``community``: the accounts ranked within twice the places
    available (ties at the cut included). Proposing again refreshes a draft.

    Codes: not_found, not_a_community, validation_failed (kind, year, places_available), already_confirmed.
    """
    require_reach(actor, Permission.SELECTION_MANAGE, community.path)
    _require_community(community)
    today = timezone.localdate(now) if now else timezone.localdate()
    if kind not in SELECTION_KINDS:
        raise ValidationFailed(fields={"kind": _("Unknown kind of selection.")})
    if not isinstance(year, int) or year > today.year or year < 2000:
        raise ValidationFailed(fields={"year": _("Choose this year or a past year.")})
    if not isinstance(places_available, int) or not 1 <= places_available <= 1000:
        raise ValidationFailed(fields={"places_available": _("Choose how many are selected (1 to 1000).")})
    cut = places_available * CANDIDATES_PER_PLACE
    rows = _ranked_within(community, SELECTION_KINDS[kind], year, cut)
    with transaction.atomic():
        selection, _created = locks.lock_or_create_selection(
            community=community, year=year, kind=kind, defaults={"places_available": places_available}
        )
        if selection.state != Selection.State.DRAFT:
            raise PointsError.ALREADY_CONFIRMED()
        selection.places_available = places_available
        selection.save(update_fields=["places_available"])
        selection.candidates.all().delete()
        SelectionCandidate.objects.bulk_create(
            [
                SelectionCandidate(selection=selection, account_id=row.account_id, rank=row.rank, points=row.points)
                for row in rows
            ]
        )
        audit_record(
            actor=actor,
            action="points.selection_propose",
            target=selection,
            place_path=community.path,
            changes={"year": year, "kind": kind, "places": places_available, "candidates": len(rows)},
        )
    return selection


def _ranked_within(community: Place, kinds: Any, year: int, cut: int) -> list:
    """The year's ranking of the community down to rank ``cut``, every account tied at the cut included."""
    rows: list = []
    while True:
        page = ranking(place=community, kind=kinds, period=str(year), limit=200, offset=len(rows))
        rows += [row for row in page if row.rank <= cut]
        if len(page) < 200 or page[-1].rank > cut:
            return rows


def selection_confirm(*, actor: Actor, selection: Selection, selected_account_ids: list[int]) -> Selection:
    """The committee chooses among the candidates. Codes: not_found, not_draft, validation_failed
    (not a candidate, none or too many chosen)."""
    community = selection.community
    require_reach(actor, Permission.SELECTION_MANAGE, community.path)
    chosen = {int(pk) for pk in selected_account_ids}
    with transaction.atomic():
        locked = locks.lock_selection(selection.pk)
        if locked.state != Selection.State.DRAFT:
            raise PointsError.NOT_DRAFT()
        candidates = set(locked.candidates.values_list("account_id", flat=True))
        if not chosen:
            raise ValidationFailed(fields={"selected": _("Choose at least one candidate.")})
        if chosen - candidates:
            raise PointsError.NOT_A_CANDIDATE(fields={"selected": _("Only candidates can be selected.")})
        if len(chosen) > locked.places_available:
            raise PointsError.TOO_MANY_SELECTED(fields={"selected": _("More people are chosen than there are places.")})
        locked.candidates.update(selected=False)
        locked.candidates.filter(account_id__in=chosen).update(selected=True)
        locked.state = Selection.State.CONFIRMED
        locked.confirmed_by = actor
        locked.save(update_fields=["state", "confirmed_by"])
        audit_record(
            actor=actor,
            action="points.selection_confirm",
            target=locked,
            place_path=community.path,
            changes={"selected": sorted(chosen)},
        )
    return locked


def selection_publish(*, actor: Actor, selection: Selection, now: datetime | None = None) -> Selection:
    """Publish a confirmed selection. Codes: not_found, not_confirmed."""
    community = selection.community
    require_reach(actor, Permission.SELECTION_MANAGE, community.path)
    with transaction.atomic():
        locked = locks.lock_selection(selection.pk)
        if locked.state != Selection.State.CONFIRMED:
            raise PointsError.NOT_CONFIRMED()
        locked.state = Selection.State.PUBLISHED
        locked.published_at = now or timezone.now()
        locked.save(update_fields=["state", "published_at"])
        audit_record(
            actor=actor,
            action="points.selection_publish",
            target=locked,
            place_path=community.path,
            changes={"selected": locked.candidates.filter(selected=True).count()},
        )
    return locked


def selection_public(selection_id: Any) -> tuple[Selection, list[dict]]:
    """A published selection and the people selected, names masked, for anyone; NotFound before publication."""
    selection = (
        Selection.objects.select_related("community").filter(pk=selection_id, state=Selection.State.PUBLISHED).first()
    )
    if selection is None:
        raise NotFound()
    rows = [
        {"rank": rank, "masked_name": public_name(name, account_kind), "kind": account_kind, "points": points}
        for rank, name, account_kind, points in selection.candidates.filter(selected=True)
        .order_by("rank", "account_id")
        .values_list("rank", "account__display_name", "account__kind", "points")
    ]
    return selection, rows


__all__ = [
    "access_publication",
    "month_is_published",
    "month_lines",
    "objection_dismiss",
    "objection_raise",
    "objection_uphold",
    "publication_lock",
    "publication_public_lines",
    "publication_publish",
    "selection_confirm",
    "selection_propose",
    "selection_public",
    "selection_publish",
]
