"""Review (审核 / 认定): the committee's decisions on claims, one or many, and the reversal of an approved claim.

What it guarantees:

- a reviewer needs review reach over the claim's community and never decides a claim of an account they hold;
- only a waiting claim is decided: approved, rejected (with a reason) or returned for more information (with a
  reason); a claim whose month is already published can no longer be approved;
- an item needing two reviewers takes a first approval and then a second by someone else;
- an approval posts the award once (issuance → account, counted as earned, idempotency key ``claim:<id>``) through
  ``gongzhi.points.ledger``, in the same transaction as the claim's new state, its decision row and audit entry;
- a batch decides each claim in its own savepoint, so one refusal does not stop the others, and reports both;
- an approved claim's points are taken back only by a reversing transfer (``claim_reverse``).

Every state change is keyword-only with the acting account first, writes in one transaction with its audit entry,
and raises a ``DomainError`` (nothing written) when it refuses.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit_chain
from gongzhi.core.access import require_reach
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_entry, audit_record
from gongzhi.core.errors import DomainError, NotFound, ValidationFailed
from gongzhi.core.models import AuditChainHead, AuditEntry
from gongzhi.core.roles import Permission

from . import ledger
from .claims import _is_holder, _locked_claim, _refresh
from .errors import PointsError
from .ledger import BALANCE, Leg, post_transfer, system_account, transfer_reverse
from .models import Claim, ClaimDecision, ClaimState, Transfer, TransferKind


def _require_reviewer(actor: Actor, claim: Claim) -> None:
    require_reach(actor, Permission.CLAIM_REVIEW, claim.community.path)
    if _is_holder(actor, claim.account):
        raise PointsError.OWN_CLAIM()


def _not_pending(claim: Claim) -> DomainError:
    return PointsError.CLAIM_NOT_PENDING(
        _("This claim is no longer waiting for review (it is %(state)s).") % {"state": claim.get_state_display()},
    )


@transaction.atomic
def claim_approve(*, actor: Actor, claim: Claim, now: datetime | None = None) -> Claim:
    """Approve a claim and post its award (issuance → account, counted as earned; key "claim:<id>").

    Items needing two reviewers take a first approval and then a second by someone else.
    """
    now = now or timezone.now()
    locked = _locked_claim(claim)
    _require_reviewer(actor, locked)
    if locked.state != ClaimState.SUBMITTED:
        raise _not_pending(locked)
    if locked.month_closed:  # type: ignore[attr-defined]  # annotated by _locked_claim
        # A published month never changes (the public list is frozen); the claim has to be rejected or
        # claimed again in an open month.
        raise PointsError.MONTH_CLOSED(
            _("That month's points have already been published; this claim can no longer be approved."),
        )
    if locked.item.two_reviewers:
        if locked.first_approver_id is None:
            Claim.objects.filter(pk=locked.pk).update(first_approver=actor)
            locked.first_approver_id = actor.pk
            ClaimDecision.objects.create(
                claim=locked, decision=ClaimDecision.Decision.FIRST_APPROVAL, actor=actor, decided_at=now
            )
            audit_record(
                actor=actor,
                action="points.claim_first_approval",
                target=locked,
                place_path=locked.community.path,
                occurred_at=now,
            )
            return _refresh(claim, locked)
        if locked.first_approver_id == actor.pk:
            raise PointsError.SECOND_REVIEWER_REQUIRED()
    transfer, _created = post_transfer(
        kind=TransferKind.AWARD,
        idempotency_key=f"claim:{locked.pk}",
        legs=[
            Leg(locked.issuance_id or system_account("issuance").pk, -locked.value),  # type: ignore[attr-defined]
            Leg(locked.account_id, locked.value, BALANCE, True),
        ],
        actor=actor,
        source_type="claim",
        source_id=str(locked.pk),
        memo=locked.item.name[:255],
        effective_date=timezone.localdate(now),
        now=now,
    )
    _record_decision(
        locked,
        actor=actor,
        state=ClaimState.APPROVED,
        decision=ClaimDecision.Decision.APPROVE,
        reason="",
        now=now,
        transfer_id=transfer.pk,
        changes={"value": locked.value, "transfer": transfer.pk},
    )
    return _refresh(claim, locked)


_DECISION_SQL: list[str] = []


def _decision_sql() -> str:
    """Mark the claim, record its decision and audit entry, move the audit chain's head: one statement (PostgreSQL)."""
    if _DECISION_SQL:
        return _DECISION_SQL[0]
    qn = connection.ops.quote_name
    audit_fields = [field for field in AuditEntry._meta.concrete_fields if not field.primary_key]
    audit_columns = ", ".join(qn(field.column) for field in audit_fields)
    audit_values = ", ".join(
        "c.id::varchar" if field.attname == "object_id" else f"%s::{field.cast_db_type(connection)}"  # type: ignore[attr-defined]
        for field in audit_fields
    )
    sql = f"""
        WITH c AS (
            UPDATE {qn(Claim._meta.db_table)}
            SET state = %s::varchar, decided_at = %s::timestamptz, transfer_id = COALESCE(%s::bigint, transfer_id)
            WHERE id = %s::bigint RETURNING id
        ), d AS (
            INSERT INTO {qn(ClaimDecision._meta.db_table)} (claim_id, decision, actor_id, reason, decided_at)
            SELECT c.id, %s::varchar, %s::bigint, %s::text, %s::timestamptz FROM c
        ), h AS (
            UPDATE {qn(AuditChainHead._meta.db_table)} SET seq = %s::bigint, last_hash = %s::varchar
            WHERE chain = %s::varchar
        )
        INSERT INTO {qn(AuditEntry._meta.db_table)} ({audit_columns}) SELECT {audit_values} FROM c
    """
    _DECISION_SQL.append(sql)
    return sql


def _record_decision(
    locked: Claim,
    *,
    actor: Actor,
    state: str,
    decision: str,
    reason: str,
    now: datetime,
    transfer_id: int | None = None,
    changes: dict | None = None,
) -> None:
    """The claim's new state, its decision row and the audit entry: one statement on PostgreSQL."""
    entry = audit_entry(
        actor=actor,
        action=f"points.claim_{decision}",
        target=locked,
        place_path=locked.community.path,
        changes=changes if changes is not None else {"reason": reason},
        occurred_at=now,
    )
    if connection.vendor == "postgresql" and ledger.USE_SINGLE_STATEMENT:
        # The entry joins its district's audit chain: the head is locked here, last, and moved by the statement.
        (move,) = audit_chain.link([entry])
        params: list[Any] = [state, now, transfer_id, locked.pk, decision, actor.pk, reason, now]
        params += [move.seq, move.last_hash, move.chain]
        params += [
            field.get_db_prep_save(getattr(entry, field.attname), connection)
            for field in AuditEntry._meta.concrete_fields
            if not field.primary_key and field.attname != "object_id"
        ]
        ledger.execute_prepared(_decision_sql(), params)
    else:
        fields: dict[str, Any] = {"state": state, "decided_at": now}
        if transfer_id is not None:
            fields["transfer_id"] = transfer_id
        Claim.objects.filter(pk=locked.pk).update(**fields)
        ClaimDecision.objects.create(claim=locked, decision=decision, actor=actor, reason=reason, decided_at=now)
        audit_chain.append([entry])
    locked.state, locked.decided_at = state, now
    if transfer_id is not None:
        locked.transfer_id = transfer_id


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": _("Give a reason.")})
    return reason


def _decide(
    *,
    actor: Actor,
    claim: Claim,
    state: str,
    decision: str,
    reason: str,
    allowed: tuple[str, ...],
    now: datetime | None,
) -> Claim:
    locked = _locked_claim(claim)
    _require_reviewer(actor, locked)
    if locked.state not in allowed:
        raise _not_pending(locked)
    _record_decision(locked, actor=actor, state=state, decision=decision, reason=reason, now=now or timezone.now())
    return _refresh(claim, locked)


@transaction.atomic
def claim_reject(*, actor: Actor, claim: Claim, reason: str, now: datetime | None = None) -> Claim:
    reason = _reason(reason)
    return _decide(
        actor=actor,
        claim=claim,
        state=ClaimState.REJECTED,
        decision=ClaimDecision.Decision.REJECT,
        reason=reason,
        allowed=(ClaimState.SUBMITTED, ClaimState.RETURNED),
        now=now,
    )


@transaction.atomic
def claim_return(*, actor: Actor, claim: Claim, reason: str, now: datetime | None = None) -> Claim:
    """Send a claim back to the claimant for more information."""
    reason = _reason(reason)
    return _decide(
        actor=actor,
        claim=claim,
        state=ClaimState.RETURNED,
        decision=ClaimDecision.Decision.RETURN,
        reason=reason,
        allowed=(ClaimState.SUBMITTED,),
        now=now,
    )


def claims_review_batch(
    *, actor: Actor, claim_ids: Iterable[int], decision: str, reason: str = "", now: datetime | None = None
) -> dict:
    """Approve or reject many claims; each in its own savepoint, so one refusal does not stop the others.

    Returns ``{"succeeded": [ids], "failed": {id: {"code": ..., "message": ...}}}``.
    """
    now = now or timezone.now()
    if decision not in ("approve", "reject"):
        raise ValidationFailed(fields={"decision": _("Choose approve or reject.")})
    if decision == "reject":
        reason = _reason(reason)
    ids = []
    for claim_id in claim_ids:
        try:
            ids.append(int(claim_id))
        except (TypeError, ValueError):
            raise ValidationFailed(fields={"claim_ids": _("Claim ids are numbers.")}) from None
    succeeded: list[int] = []
    failed: dict[int, dict] = {}
    with transaction.atomic():
        for claim_id in dict.fromkeys(ids):
            try:
                with transaction.atomic():
                    claim = Claim(pk=claim_id)
                    if not Claim.objects.filter(pk=claim_id).exists():
                        raise NotFound()
                    if decision == "approve":
                        claim_approve(actor=actor, claim=claim, now=now)
                    else:
                        claim_reject(actor=actor, claim=claim, reason=reason, now=now)
                succeeded.append(claim_id)
            except DomainError as error:
                failed[claim_id] = {"code": error.code, "message": str(error.message)}
    return {"succeeded": succeeded, "failed": failed}


REVIEW_DECISIONS = ("approve", "reject", "return")


def review_decide_many(
    *, actor: Actor, claim_ids: list[int], decision: str, reason: str = "", now: datetime | None = None
) -> dict:
    """Approve / reject (one batch, ``claims_review_batch``) or return (one ``claim_return`` per claim) many claims:
    the review queue's page and the API's batch both decide through this.

    Returns ``{"succeeded": [ids], "failed": {id: {"code", "message"}}}``.
    """
    now = now or timezone.now()
    if decision not in REVIEW_DECISIONS:
        raise ValidationFailed(fields={"decision": _("Choose approve, reject or return.")})
    if not claim_ids:
        raise ValidationFailed(_("Select at least one claim."), fields={"claim_ids": _("Select at least one claim.")})
    if decision in ("approve", "reject"):
        return claims_review_batch(actor=actor, claim_ids=claim_ids, decision=decision, reason=reason, now=now)
    if not (reason or "").strip():
        raise ValidationFailed(fields={"reason": _("Give a reason.")})
    succeeded: list[int] = []
    failed: dict[int, dict] = {}
    for claim_id in dict.fromkeys(claim_ids):
        try:
            claim = Claim.objects.select_related("community", "account").filter(pk=claim_id).first()
            if claim is None:
                raise NotFound()
            claim_return(actor=actor, claim=claim, reason=reason, now=now)
            succeeded.append(claim_id)
        except DomainError as error:
            failed[claim_id] = {"code": error.code, "message": str(error.message)}
    return {"succeeded": succeeded, "failed": failed}


@transaction.atomic
def claim_reverse(*, actor: Actor, claim: Claim, reason: str, now: datetime | None = None) -> Transfer:
    """Take back an approved claim's points with a reversing transfer (an upheld objection, a mistake)."""
    now = now or timezone.now()
    reason = _reason(reason)
    locked = _locked_claim(claim)
    require_reach(actor, Permission.CLAIM_REVIEW, locked.community.path)
    if locked.state != ClaimState.APPROVED or locked.transfer_id is None:
        raise PointsError.CLAIM_NOT_APPROVED()
    reversal = transfer_reverse(
        transfer=locked.transfer,  # type: ignore[arg-type]  # transfer_id is set
        actor=actor,
        reason=reason,
        idempotency_key=f"claim-reverse:{locked.pk}",
        now=now,
    )
    Claim.objects.filter(pk=locked.pk).update(state=ClaimState.REVERSED, decided_at=now)
    locked.state, locked.decided_at = ClaimState.REVERSED, now
    ClaimDecision.objects.create(
        claim=locked, decision=ClaimDecision.Decision.REVERSE, actor=actor, reason=reason, decided_at=now
    )
    audit_record(
        actor=actor,
        action="points.claim_reverse",
        target=locked,
        place_path=locked.community.path,
        changes={"reason": reason, "reversal": reversal.pk},
        occurred_at=now,
    )
    _refresh(claim, locked)
    return reversal
