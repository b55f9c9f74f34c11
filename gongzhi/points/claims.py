"""Claims (积分申报): submitting one for a piece of service, answering a return, withdrawing, and the claim lock.

What it guarantees:

- a claim is made by the account's holder (the resident, an organisation's representative) or by staff allowed to
  record on their behalf, for an item of the community's catalogue open to the account's kind, for today or a day
  before in a month not yet published, with the photos the item asks for (at most ``MAX_PHOTOS``);
- its value is fixed from the item's version in force on the service date and never changes afterwards;
- one open claim per account, item and day (also refused by the database), within the item's daily and monthly
  caps; claims of one account are made one at a time (the account row is locked), so the checks see every earlier
  claim; the same ``idempotency_key`` again returns the claim already made;
- only a returned claim can be resubmitted (it joins this week's review queue) and only a waiting one withdrawn.

``_locked_claim`` is the one lock of a claim, shared with ``gongzhi.points.review``. Every state change is
keyword-only with the acting account first, writes in one transaction with its audit entry, and raises a
``DomainError`` (nothing written) when it refuses.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import DateField, Exists, OuterRef, Subquery
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import grants, require_authenticated, require_reach
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import DomainError, ValidationFailed
from gongzhi.core.jobs import run_key_for
from gongzhi.core.roles import Permission, Role
from gongzhi.places.models import Place

from . import ledger, locks
from .catalogue import _item_available_for, item_value_on
from .errors import PointsError
from .models import (
    OPEN_CLAIM_STATES,
    AccountKind,
    Claim,
    ClaimDecision,
    ClaimPhoto,
    ClaimState,
    PointItem,
    PointsAccount,
    Publication,
)

MAX_PHOTOS = 9


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _is_holder(actor: Actor, account: PointsAccount) -> bool:
    """Whether ``actor`` is the account's own holder: the resident, or a representative of the organisation."""
    if not getattr(actor, "is_authenticated", False):
        return False
    if account.resident_id is not None:
        return actor.resident_id is not None and actor.resident_id == account.resident_id
    if account.organisation_id is not None:
        return any(
            role == Role.ORGANISATION_REPRESENTATIVE and organisation_id == account.organisation_id
            for role, _path, organisation_id in grants(actor)
        )
    return False


def _require_claimant(actor: Actor, account: PointsAccount) -> bool:
    """The holder themselves (returns False) or staff who may record on their behalf (returns True)."""
    require_authenticated(actor)
    if _is_holder(actor, account):
        return False
    require_reach(actor, Permission.CLAIM_SUBMIT_ON_BEHALF, account.place_path or "/-/")
    return True


def _community_place(account: PointsAccount) -> Place:
    if account.community_id is None:
        raise ValidationFailed(
            _("This account does not belong to a community."), fields={"account": _("No community.")}
        )
    return account.community  # type: ignore[return-value]  # community_id is set


# A month in these states is published: its points never change except by later reversals.
CLOSED_MONTH_STATES = (Publication.State.PUBLISHED, Publication.State.LOCKED)


def _month_closed(community_id: int, day: date) -> bool:
    return Publication.objects.filter(
        community_id=community_id, month=_month_start(day), state__in=CLOSED_MONTH_STATES
    ).exists()


def _check_evidence(item: PointItem, photos_count: int) -> None:
    if photos_count > MAX_PHOTOS:
        raise ValidationFailed(fields={"photos": _("At most %(count)d photos.") % {"count": MAX_PHOTOS}})
    if item.evidence_required and photos_count == 0:
        raise PointsError.EVIDENCE_REQUIRED(
            fields={"photos": _("Add at least one photo.")},
        )


def _same_claim(claim: Claim, account: PointsAccount, item: PointItem, service_date: date) -> Claim:
    if claim.account_id != account.pk or claim.item_id != item.pk or claim.service_date != service_date:
        raise PointsError.IDEMPOTENCY_CONFLICT(_("This idempotency key was already used for another claim."))
    return claim


def _duplicate() -> DomainError:
    return PointsError.DUPLICATE_CLAIM(
        fields={"service_date": _("One claim per item and day.")},
    )


def claim_submit(
    *,
    actor: Actor,
    account: PointsAccount,
    item: PointItem,
    service_date: date,
    description: str = "",
    photos: Iterable[Any] = (),
    source_type: str = "",
    source_id: str = "",
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Claim:
    """Claim points for one piece of service. The value is fixed from the item's version in force on the service
    date. The same ``idempotency_key`` again returns the claim already made."""
    now = now or timezone.now()
    on_behalf = _require_claimant(actor, account)
    key = (idempotency_key or "").strip() or f"claim-{uuid.uuid4().hex}"
    if len(key) > 120:
        raise ValidationFailed(fields={"idempotency_key": _("At most 120 characters.")})
    existing = Claim.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return _same_claim(existing, account, item, service_date)
    photos = list(photos or ())
    try:
        with transaction.atomic():
            claim = _claim_submit(
                actor=actor,
                account=account,
                item=item,
                service_date=service_date,
                description=description,
                photos=photos,
                source_type=source_type,
                source_id=source_id,
                key=key,
                on_behalf=on_behalf,
                now=now,
            )
    except IntegrityError as error:
        existing = Claim.objects.filter(idempotency_key=key).first()
        if existing is not None:  # the same submission raced itself
            return _same_claim(existing, account, item, service_date)
        if "claim_no_duplicate_open" in str(error) or "UNIQUE" in str(error):
            raise _duplicate() from None
        raise
    return claim


def _claim_submit(
    *,
    actor: Actor,
    account: PointsAccount,
    item: PointItem,
    service_date: date,
    description: str,
    photos: list[Any],
    source_type: str,
    source_id: str,
    key: str,
    on_behalf: bool,
    now: datetime,
) -> Claim:
    # One claim at a time per account, so the caps and the duplicate check see every earlier claim.
    account = locks.lock_account(account.pk)
    community = _community_place(account)
    if account.kind == AccountKind.SYSTEM or not account.is_active:
        raise ValidationFailed(fields={"account": _("Points cannot be claimed for this account.")})
    if not _item_available_for(item, community):
        raise PointsError.ITEM_UNAVAILABLE(
            fields={"item": _("Choose an item from the community's catalogue.")},
        )
    if account.kind not in item.account_kinds:
        raise PointsError.ACCOUNT_KIND_NOT_ALLOWED(
            fields={"item": _("Choose an item for this kind of account.")},
        )
    if not isinstance(service_date, date) or service_date > timezone.localdate(now):
        raise PointsError.SERVICE_DATE_FUTURE(
            fields={"service_date": _("Choose today or a day before.")},
        )
    if _month_closed(community.pk, service_date):
        raise PointsError.MONTH_CLOSED(
            fields={"service_date": _("Choose a day in a month not yet published.")},
        )
    version = item_value_on(item, service_date)
    assert version is not None  # required: item_value_on refuses instead
    _check_evidence(item, len(photos))
    if Claim.objects.filter(
        account=account, item=item, service_date=service_date, state__in=OPEN_CLAIM_STATES
    ).exists():
        raise _duplicate()
    _check_caps(account, item, service_date)
    claim = Claim.objects.create(
        account=account,
        item=item,
        item_version=version,
        value=version.value,
        community=community,
        service_date=service_date,
        description=(description or "").strip(),
        submitted_by=actor,
        on_behalf=on_behalf,
        source_type=source_type[:40],
        source_id=str(source_id)[:64],
        idempotency_key=key,
        review_week=run_key_for("week", now),
        submitted_at=now,
    )
    for photo in photos:
        ClaimPhoto.objects.create(claim=claim, image=photo, uploaded_at=now)
    ClaimDecision.objects.create(claim=claim, decision=ClaimDecision.Decision.SUBMIT, actor=actor, decided_at=now)
    audit_record(
        actor=actor,
        action="points.claim_submit",
        target=claim,
        place_path=account.place_path,
        changes={
            "item": item.code,
            "value": version.value,
            "service_date": service_date.isoformat(),
            "on_behalf": on_behalf,
            "source": f"{source_type}:{source_id}" if source_type else "",
        },
        occurred_at=now,
    )
    return claim


def _check_caps(account: PointsAccount, item: PointItem, service_date: date) -> None:
    """Caps count the account's open and approved claims of the item (per day, per calendar month)."""
    open_claims = Claim.objects.filter(account=account, item=item, state__in=OPEN_CLAIM_STATES)
    if item.cap_per_day is not None and open_claims.filter(service_date=service_date).count() >= item.cap_per_day:
        raise PointsError.CAP_PER_DAY_EXCEEDED(
            fields={"service_date": _("At most %(count)d per day.") % {"count": item.cap_per_day}},
        )
    if item.cap_per_month is not None:
        start = _month_start(service_date)
        end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        if open_claims.filter(service_date__gte=start, service_date__lt=end).count() >= item.cap_per_month:
            raise PointsError.CAP_PER_MONTH_EXCEEDED(
                fields={"service_date": _("At most %(count)d per month.") % {"count": item.cap_per_month}},
            )


_LOCK_READS = {  # what the review steps read of the claim's relations (others stay deferred)
    "item": {"id", "two_reviewers", "evidence_required", "name", "owner_id", "is_active"},
    "community": {"id", "path"},
    "account": {"id", "kind", "resident_id", "organisation_id", "community_id", "place_path", "is_active"},
}


_CLAIM_LOCK_SQL: list[str] = []


def _read_fields(model: Any, names: set[str] | None = None) -> list:
    """Concrete fields of ``model`` (those in ``names`` by attname), in the order ``from_db`` expects."""
    return [field for field in model._meta.concrete_fields if names is None or field.attname in names]


_LOCK_MODELS = (("item", PointItem), ("community", Place), ("account", PointsAccount))


def _claim_lock_sql() -> str:
    if _CLAIM_LOCK_SQL:
        return _CLAIM_LOCK_SQL[0]
    qn = connection.ops.quote_name
    columns = [f"c.{qn(field.column)}" for field in _read_fields(Claim)]
    for (relation, model), alias in zip(_LOCK_MODELS, ("i", "p", "a"), strict=True):
        columns += [f"{alias}.{qn(field.column)}" for field in _read_fields(model, _LOCK_READS[relation])]
    accounts = qn(PointsAccount._meta.db_table)
    closed = ", ".join(f"'{state}'" for state in CLOSED_MONTH_STATES)
    sql = f"""
        SELECT {", ".join(columns)},
               (SELECT s.id FROM {accounts} s WHERE s.system_code = 'issuance'),
               EXISTS (SELECT 1 FROM {qn(Publication._meta.db_table)} m
                       WHERE m.community_id = c.community_id AND m.month = date_trunc('month', c.service_date)::date
                         AND m.state IN ({closed}))
        FROM {qn(Claim._meta.db_table)} c
        JOIN {qn(PointItem._meta.db_table)} i ON i.id = c.item_id
        JOIN {qn(Place._meta.db_table)} p ON p.id = c.community_id
        JOIN {accounts} a ON a.id = c.account_id
        WHERE c.id = %s FOR UPDATE OF c
    """
    _CLAIM_LOCK_SQL.append(sql)
    return sql


def _locked_claim(claim: Claim) -> Claim:
    """The claim, locked for the rest of the transaction, with its item, community and account, the id of the
    issuance account (``issuance_id``) and whether its month is published (``month_closed``) — one round trip.
    On PostgreSQL a prepared statement built once and instances made with ``from_db`` (fields not read are
    deferred, so they still load if ever touched): compiling the equivalent queryset cost more than everything
    else an approval does (benchmarks/points_bench.py)."""
    if connection.vendor != "postgresql":
        return locks.lock_claim(
            Claim.objects.select_related("item", "community", "account").annotate(
                issuance_id=Subquery(PointsAccount.objects.filter(system_code="issuance").values("pk")[:1]),
                service_month=TruncMonth("service_date", output_field=DateField()),
                month_closed=Exists(
                    Publication.objects.filter(
                        community_id=OuterRef("community_id"),
                        month=OuterRef("service_month"),
                        state__in=CLOSED_MONTH_STATES,
                    )
                ),
            ),
            claim.pk,
        )
    row = ledger.execute_prepared(_claim_lock_sql(), [claim.pk])
    if row is None:
        raise Claim.DoesNotExist()
    db = connection.alias
    names = [field.attname for field in _read_fields(Claim)]
    locked = Claim.from_db(db, names, row[: len(names)])
    start = len(names)
    for relation, model in _LOCK_MODELS:
        names = [field.attname for field in _read_fields(model, _LOCK_READS[relation])]
        setattr(locked, relation, model.from_db(db, names, row[start : start + len(names)]))
        start += len(names)
    locked.issuance_id, locked.month_closed = row[start], row[start + 1]  # type: ignore[attr-defined]
    return locked


def _refresh(target: Claim, source: Claim) -> Claim:
    for field in ("state", "decided_at", "first_approver_id", "transfer_id", "review_week", "description"):
        setattr(target, field, getattr(source, field))
    return target


@transaction.atomic
def claim_resubmit(
    *,
    actor: Actor,
    claim: Claim,
    description: str | None = None,
    photos: Iterable[Any] = (),
    now: datetime | None = None,
) -> Claim:
    """The claimant (or the staff who recorded it) answers a return; the claim joins this week's queue."""
    now = now or timezone.now()
    locked = _locked_claim(claim)
    _require_claimant(actor, locked.account)
    if locked.state != ClaimState.RETURNED:
        raise PointsError.CLAIM_NOT_RETURNED()
    photos = list(photos or ())
    _check_evidence(locked.item, locked.photos.count() + len(photos))
    changes: dict[str, Any] = {
        "state": ClaimState.SUBMITTED,
        "review_week": run_key_for("week", now),
        "first_approver": None,
    }
    if description is not None:
        changes["description"] = description.strip()
    Claim.objects.filter(pk=locked.pk).update(**changes)
    for photo in photos:
        ClaimPhoto.objects.create(claim=locked, image=photo, uploaded_at=now)
    ClaimDecision.objects.create(claim=locked, decision=ClaimDecision.Decision.RESUBMIT, actor=actor, decided_at=now)
    audit_record(
        actor=actor,
        action="points.claim_resubmit",
        target=locked,
        place_path=locked.account.place_path,
        occurred_at=now,
    )
    locked.refresh_from_db()
    return _refresh(claim, locked)


@transaction.atomic
def claim_withdraw(*, actor: Actor, claim: Claim, now: datetime | None = None) -> Claim:
    now = now or timezone.now()
    locked = _locked_claim(claim)
    _require_claimant(actor, locked.account)
    if locked.state not in (ClaimState.SUBMITTED, ClaimState.RETURNED):
        raise PointsError.CLAIM_NOT_PENDING(_("Only a claim still waiting can be withdrawn."))
    Claim.objects.filter(pk=locked.pk).update(state=ClaimState.WITHDRAWN, decided_at=now)
    locked.state, locked.decided_at = ClaimState.WITHDRAWN, now
    ClaimDecision.objects.create(claim=locked, decision=ClaimDecision.Decision.WITHDRAW, actor=actor, decided_at=now)
    audit_record(
        actor=actor,
        action="points.claim_withdraw",
        target=locked,
        place_path=locked.account.place_path,
        occurred_at=now,
    )
    return _refresh(claim, locked)
