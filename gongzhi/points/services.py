"""Every state change of the red points' catalogue, claims, review and manual adjustments.

Each function is keyword-only with the acting account first, checks reach with ``gongzhi.core.access``, writes in
one transaction, records the audit log in it, and raises a ``DomainError`` (nothing written) when it refuses.
Postings go through ``gongzhi.points.ledger``. Publication, objections and the annual selection live in
``gongzhi.points.publication``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import DateField, Exists, OuterRef, Subquery
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import grants, reach, require_authenticated, require_reach
from gongzhi.core.audit import audit_entry, audit_record
from gongzhi.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from gongzhi.core.jobs import run_key_for
from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Permission, Role
from gongzhi.places.models import Place, PlaceKind

from . import ledger
from .ledger import BALANCE, Leg, post_transfer, system_account, transfer_reverse
from .models import (
    HOLDER_KINDS,
    OPEN_CLAIM_STATES,
    AccountKind,
    Adjustment,
    Claim,
    ClaimDecision,
    ClaimPhoto,
    ClaimState,
    CommunityItemSetting,
    PointCategory,
    PointItem,
    PointItemVersion,
    PointsAccount,
    Publication,
    Transfer,
    TransferKind,
)

MAX_PHOTOS = 9
CODE_PATTERN = re.compile(r"^[-a-zA-Z0-9_]+$")


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _month_start(day: date) -> date:
    return day.replace(day=1)


# ---------------------------------------------------------------- catalogue


def _require_district_catalogue(actor: Any) -> None:
    """Categories are shared by the whole district: only a catalogue manager at district level (or above)."""
    require_authenticated(actor)
    granted = reach(actor, Permission.CATALOGUE_MANAGE)
    if granted.everything:
        return
    districts = Place.objects.filter(kind=PlaceKind.DISTRICT).values_list("path", flat=True)
    if not any(path in granted.paths for path in districts):
        raise PermissionDenied()


@transaction.atomic
def category_create(*, actor: Any, code: str, name: str, sort_order: int = 0) -> PointCategory:
    _require_district_catalogue(actor)
    code, name = (code or "").strip(), (name or "").strip()
    errors = {}
    if not code or not CODE_PATTERN.match(code) or len(code) > 40:
        errors["code"] = _("Use letters, digits, - and _ (at most 40).")
    if not name or len(name) > 60:
        errors["name"] = _("Enter a name of at most 60 characters.")
    if errors:
        raise ValidationFailed(fields=errors)
    if PointCategory.objects.filter(code=code).exists():
        raise ValidationFailed(code="duplicate_code", fields={"code": _("This code is already used.")})
    category = PointCategory.objects.create(code=code, name=name, sort_order=sort_order)
    audit_record(actor=actor, action="points.category_create", target=category, changes={"code": [None, code]})
    return category


def _item_errors(
    *,
    value: Any,
    account_kinds: Iterable[str],
    cap_per_day: Any,
    cap_per_month: Any,
) -> dict[str, str]:
    errors = {}
    if not _positive_int(value):
        errors["value"] = _("Enter a whole number of points greater than zero.")
    kinds = list(account_kinds or ())
    if not kinds or any(kind not in HOLDER_KINDS for kind in kinds):
        errors["account_kinds"] = _("Choose who may earn it: residents, party members, organisations, teams.")
    for name, cap in (("cap_per_day", cap_per_day), ("cap_per_month", cap_per_month)):
        if cap is not None and not _positive_int(cap):
            errors[name] = _("A cap is a whole number greater than zero, or empty for none.")
    if "cap_per_day" not in errors and cap_per_day is not None and cap_per_day > 1:
        # A second claim for the same item and service date is a duplicate (the database refuses it), so a daily
        # cap above one could never apply; say so rather than store a rule that silently means "once".
        errors["cap_per_day"] = _(
            "A second claim for the same item on the same day is a duplicate, so the daily cap can only be 1 "
            "(or empty)."
        )
    return errors


@transaction.atomic
def item_create(
    *,
    actor: Any,
    owner: Place,
    category: PointCategory,
    code: str,
    name: str,
    value: int,
    effective_from: date,
    account_kinds: Iterable[str],
    evidence_required: bool = False,
    cap_per_day: int | None = None,
    cap_per_month: int | None = None,
    two_reviewers: bool = False,
    description: str = "",
) -> PointItem:
    """A catalogue item of the district (``owner`` a district) or a community's own (``owner`` a community)."""
    require_reach(actor, Permission.CATALOGUE_MANAGE, owner.path)
    code, name = (code or "").strip(), (name or "").strip()
    errors = _item_errors(
        value=value, account_kinds=account_kinds, cap_per_day=cap_per_day, cap_per_month=cap_per_month
    )
    if owner.kind not in (PlaceKind.DISTRICT, PlaceKind.COMMUNITY):
        errors["owner"] = _("Items belong to the district's catalogue or to a community's own.")
    if not code or not CODE_PATTERN.match(code) or len(code) > 60:
        errors["code"] = _("Use letters, digits, - and _ (at most 60).")
    if not name or len(name) > 120:
        errors["name"] = _("Enter a name of at most 120 characters.")
    if not category.is_active:
        errors["category"] = _("This category is no longer in use.")
    if errors:
        raise ValidationFailed(fields=errors)
    if PointItem.objects.filter(owner=owner, code=code).exists():
        raise ValidationFailed(code="duplicate_code", fields={"code": _("This code is already used here.")})
    item = PointItem.objects.create(
        category=category,
        code=code,
        name=name,
        description=description,
        owner=owner,
        account_kinds=[str(kind) for kind in account_kinds],
        evidence_required=bool(evidence_required),
        cap_per_day=cap_per_day,
        cap_per_month=cap_per_month,
        two_reviewers=bool(two_reviewers),
    )
    PointItemVersion.objects.create(
        item=item, value=value, effective_from=effective_from, reason=_("created"), changed_by=actor
    )
    audit_record(
        actor=actor,
        action="points.item_create",
        target=item,
        place_path=owner.path,
        changes={"code": [None, code], "value": [None, value], "effective_from": [None, effective_from.isoformat()]},
    )
    return item


@transaction.atomic
def item_value_change(
    *, actor: Any, item: PointItem, value: int, effective_from: date, reason: str
) -> PointItemVersion:
    """A new value from ``effective_from`` on (the monthly adjustment). Claims already made keep their value;
    a value can only change from today on, never for days already past."""
    require_reach(actor, Permission.CATALOGUE_MANAGE, item.owner.path)
    reason = (reason or "").strip()
    errors = {}
    if not _positive_int(value):
        errors["value"] = _("Enter a whole number of points greater than zero.")
    if not reason:
        errors["reason"] = _("Say why the value changes.")
    if effective_from < timezone.localdate():
        errors["effective_from"] = _("A value cannot change for days already past.")
    if errors:
        raise ValidationFailed(fields=errors)
    if PointItemVersion.objects.filter(item=item, effective_from=effective_from).exists():
        raise Conflict(
            _("A value already starts on that day."),
            code="version_exists",
            fields={"effective_from": _("Choose another day.")},
        )
    before = item_value_on(item, effective_from, required=False)
    version = PointItemVersion.objects.create(
        item=item, value=value, effective_from=effective_from, reason=reason[:255], changed_by=actor
    )
    audit_record(
        actor=actor,
        action="points.item_value_change",
        target=item,
        place_path=item.owner.path,
        changes={"value": [before.value if before else None, value], "effective_from": effective_from.isoformat()},
    )
    return version


@transaction.atomic
def item_set_enabled(*, actor: Any, community: Place, item: PointItem, enabled: bool) -> CommunityItemSetting:
    """A community switches an item of its catalogue (the district's or its own) off or back on for itself."""
    require_reach(actor, Permission.CATALOGUE_MANAGE, community.path)
    if community.kind != PlaceKind.COMMUNITY:
        raise ValidationFailed(fields={"community": _("Choose a community.")})
    if not community.path.startswith(item.owner.path):
        raise NotFound()
    setting, _created = CommunityItemSetting.objects.update_or_create(
        community=community,
        item=item,
        defaults={"enabled": bool(enabled), "changed_by": actor, "changed_at": timezone.now()},
    )
    audit_record(
        actor=actor,
        action="points.item_enable" if enabled else "points.item_disable",
        target=item,
        place_path=community.path,
    )
    return setting


def item_value_on(item: PointItem, day: date, *, required: bool = True) -> PointItemVersion | None:
    """The version of ``item`` in force on ``day``; refuses (item_not_in_force) when none is, unless not required."""
    version = PointItemVersion.objects.filter(item=item, effective_from__lte=day).order_by("-effective_from").first()
    if version is None and required:
        raise ValidationFailed(
            _("This item has no value on that day."),
            code="item_not_in_force",
            fields={"service_date": _("The item was not in the catalogue on that day.")},
        )
    return version


def _catalogue_owners(community: Place) -> list[int]:
    """The district (and street) above the community, and the community itself."""
    return [*community.ancestor_ids, community.pk]


def items_available(community: Place, account_kind: str, day: date) -> list[PointItem]:
    """Items an account of ``account_kind`` in ``community`` may claim for ``day``: the district's items the
    community has not switched off, and the community's own; each with ``.version`` (the value in force)."""
    disabled = CommunityItemSetting.objects.filter(community=community, enabled=False).values("item_id")
    items = list(
        PointItem.objects.filter(owner_id__in=_catalogue_owners(community), is_active=True, category__is_active=True)
        .exclude(pk__in=disabled)
        .select_related("category")
    )
    versions: dict[int, PointItemVersion] = {}
    for version in PointItemVersion.objects.filter(item__in=items, effective_from__lte=day).order_by(
        "item_id", "effective_from"
    ):
        versions[version.item_id] = version  # the last one per item is in force
    available = []
    for item in items:
        if account_kind in item.account_kinds and item.pk in versions:
            item.version = versions[item.pk]
            available.append(item)
    return available


def _item_available_for(item: PointItem, community: Place) -> bool:
    if not item.is_active or item.owner_id not in _catalogue_owners(community):
        return False
    return not CommunityItemSetting.objects.filter(community=community, item=item, enabled=False).exists()


# ---------------------------------------------------------------- claims


def _is_holder(actor: Any, account: PointsAccount) -> bool:
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


def _require_claimant(actor: Any, account: PointsAccount) -> bool:
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
    return account.community


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
        raise ValidationFailed(
            _("This item needs a photo as evidence."),
            code="evidence_required",
            fields={"photos": _("Add at least one photo.")},
        )


def _same_claim(claim: Claim, account: PointsAccount, item: PointItem, service_date: date) -> Claim:
    if claim.account_id != account.pk or claim.item_id != item.pk or claim.service_date != service_date:
        raise Conflict(_("This idempotency key was already used for another claim."), code="idempotency_conflict")
    return claim


def _duplicate() -> Conflict:
    return Conflict(
        _("This service has already been claimed for that day."),
        code="duplicate_claim",
        fields={"service_date": _("One claim per item and day.")},
    )


def claim_submit(
    *,
    actor: Any,
    account: PointsAccount,
    item: PointItem,
    service_date: date,
    description: str = "",
    photos: Iterable[Any] = (),
    source_type: str = "",
    source_id: str = "",
    idempotency_key: str | None = None,
) -> Claim:
    """Claim points for one piece of service. The value is fixed from the item's version in force on the service
    date. The same ``idempotency_key`` again returns the claim already made."""
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
    actor: Any,
    account: PointsAccount,
    item: PointItem,
    service_date: date,
    description: str,
    photos: list[Any],
    source_type: str,
    source_id: str,
    key: str,
    on_behalf: bool,
) -> Claim:
    # One claim at a time per account, so the caps and the duplicate check see every earlier claim.
    account = PointsAccount.objects.select_for_update(of=("self",)).select_related("community").get(pk=account.pk)
    community = _community_place(account)
    if account.kind == AccountKind.SYSTEM or not account.is_active:
        raise ValidationFailed(fields={"account": _("Points cannot be claimed for this account.")})
    if not _item_available_for(item, community):
        raise ValidationFailed(
            _("This item is not available in this community."),
            code="item_unavailable",
            fields={"item": _("Choose an item from the community's catalogue.")},
        )
    if account.kind not in item.account_kinds:
        raise ValidationFailed(
            _("This kind of account cannot earn this item."),
            code="account_kind_not_allowed",
            fields={"item": _("Choose an item for this kind of account.")},
        )
    if not isinstance(service_date, date) or service_date > timezone.localdate():
        raise ValidationFailed(
            _("The service date cannot be in the future."),
            code="service_date_future",
            fields={"service_date": _("Choose today or a day before.")},
        )
    if _month_closed(community.pk, service_date):
        raise ValidationFailed(
            _("That month's points have already been published."),
            code="month_closed",
            fields={"service_date": _("Choose a day in a month not yet published.")},
        )
    version = item_value_on(item, service_date)
    _check_evidence(item, len(photos))
    if Claim.objects.filter(
        account=account, item=item, service_date=service_date, state__in=OPEN_CLAIM_STATES
    ).exists():
        raise _duplicate()
    _check_caps(account, item, service_date)
    now = timezone.now()
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
        ClaimPhoto.objects.create(claim=claim, image=photo)
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
    )
    return claim


def _check_caps(account: PointsAccount, item: PointItem, service_date: date) -> None:
    """Caps count the account's open and approved claims of the item (per day, per calendar month)."""
    open_claims = Claim.objects.filter(account=account, item=item, state__in=OPEN_CLAIM_STATES)
    if item.cap_per_day is not None and open_claims.filter(service_date=service_date).count() >= item.cap_per_day:
        raise ValidationFailed(
            _("The daily limit for this item is reached."),
            code="cap_per_day_exceeded",
            fields={"service_date": _("At most %(count)d per day.") % {"count": item.cap_per_day}},
        )
    if item.cap_per_month is not None:
        start = _month_start(service_date)
        end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        if open_claims.filter(service_date__gte=start, service_date__lt=end).count() >= item.cap_per_month:
            raise ValidationFailed(
                _("The monthly limit for this item is reached."),
                code="cap_per_month_exceeded",
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
        locked = (
            Claim.objects.select_for_update(of=("self",))
            .select_related("item", "community", "account")
            .annotate(
                issuance_id=Subquery(PointsAccount.objects.filter(system_code="issuance").values("pk")[:1]),
                service_month=TruncMonth("service_date", output_field=DateField()),
                month_closed=Exists(
                    Publication.objects.filter(
                        community_id=OuterRef("community_id"),
                        month=OuterRef("service_month"),
                        state__in=CLOSED_MONTH_STATES,
                    )
                ),
            )
            .get(pk=claim.pk)
        )
        return locked
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
    locked.issuance_id, locked.month_closed = row[start], row[start + 1]
    return locked


def _require_reviewer(actor: Any, claim: Claim) -> None:
    require_reach(actor, Permission.CLAIM_REVIEW, claim.community.path)
    if _is_holder(actor, claim.account):
        raise PermissionDenied(_("Nobody reviews their own claim."), code="own_claim")


def _not_pending(claim: Claim) -> Conflict:
    return Conflict(
        _("This claim is no longer waiting for review (it is %(state)s).") % {"state": claim.get_state_display()},
        code="claim_not_pending",
    )


def _refresh(target: Claim, source: Claim) -> Claim:
    for field in ("state", "decided_at", "first_approver_id", "transfer_id", "review_week", "description"):
        setattr(target, field, getattr(source, field))
    return target


@transaction.atomic
def claim_approve(*, actor: Any, claim: Claim) -> Claim:
    """Approve a claim and post its award (issuance → account, counted as earned; key "claim:<id>").

    Items needing two reviewers take a first approval and then a second by someone else.
    """
    locked = _locked_claim(claim)
    _require_reviewer(actor, locked)
    if locked.state != ClaimState.SUBMITTED:
        raise _not_pending(locked)
    if locked.month_closed:
        # A published month never changes (the public list is frozen); the claim has to be rejected or
        # claimed again in an open month.
        raise Conflict(
            _("That month's points have already been published; this claim can no longer be approved."),
            code="month_closed",
        )
    now = timezone.now()
    if locked.item.two_reviewers:
        if locked.first_approver_id is None:
            Claim.objects.filter(pk=locked.pk).update(first_approver=actor)
            locked.first_approver_id = actor.pk
            ClaimDecision.objects.create(
                claim=locked, decision=ClaimDecision.Decision.FIRST_APPROVAL, actor=actor, decided_at=now
            )
            audit_record(
                actor=actor, action="points.claim_first_approval", target=locked, place_path=locked.community.path
            )
            return _refresh(claim, locked)
        if locked.first_approver_id == actor.pk:
            raise Conflict(
                _("This item needs a second reviewer other than the first."), code="second_reviewer_required"
            )
    transfer, _created = post_transfer(
        kind=TransferKind.AWARD,
        idempotency_key=f"claim:{locked.pk}",
        legs=[
            Leg(locked.issuance_id or system_account("issuance").pk, -locked.value),
            Leg(locked.account_id, locked.value, BALANCE, True),
        ],
        actor=actor,
        source_type="claim",
        source_id=str(locked.pk),
        memo=locked.item.name[:255],
        effective_date=timezone.localdate(now),
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
    """Mark the claim, record the decision and the audit entry in one statement (PostgreSQL)."""
    if _DECISION_SQL:
        return _DECISION_SQL[0]
    qn = connection.ops.quote_name
    audit_fields = [field for field in AuditEntry._meta.concrete_fields if not field.primary_key]
    audit_columns = ", ".join(qn(field.column) for field in audit_fields)
    audit_values = ", ".join(
        "c.id::varchar" if field.attname == "object_id" else f"%s::{field.cast_db_type(connection)}"
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
        )
        INSERT INTO {qn(AuditEntry._meta.db_table)} ({audit_columns}) SELECT {audit_values} FROM c
    """
    _DECISION_SQL.append(sql)
    return sql


def _record_decision(
    locked: Claim,
    *,
    actor: Any,
    state: str,
    decision: str,
    reason: str,
    now: Any,
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
    )
    if connection.vendor == "postgresql" and ledger.USE_SINGLE_STATEMENT:
        params: list[Any] = [state, now, transfer_id, locked.pk, decision, actor.pk, reason, now]
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
        entry.save()
    locked.state, locked.decided_at = state, now
    if transfer_id is not None:
        locked.transfer_id = transfer_id


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": _("Give a reason.")})
    return reason


def _decide(*, actor: Any, claim: Claim, state: str, decision: str, reason: str, allowed: tuple[str, ...]) -> Claim:
    locked = _locked_claim(claim)
    _require_reviewer(actor, locked)
    if locked.state not in allowed:
        raise _not_pending(locked)
    _record_decision(locked, actor=actor, state=state, decision=decision, reason=reason, now=timezone.now())
    return _refresh(claim, locked)


@transaction.atomic
def claim_reject(*, actor: Any, claim: Claim, reason: str) -> Claim:
    reason = _reason(reason)
    return _decide(
        actor=actor,
        claim=claim,
        state=ClaimState.REJECTED,
        decision=ClaimDecision.Decision.REJECT,
        reason=reason,
        allowed=(ClaimState.SUBMITTED, ClaimState.RETURNED),
    )


@transaction.atomic
def claim_return(*, actor: Any, claim: Claim, reason: str) -> Claim:
    """Send a claim back to the claimant for more information."""
    reason = _reason(reason)
    return _decide(
        actor=actor,
        claim=claim,
        state=ClaimState.RETURNED,
        decision=ClaimDecision.Decision.RETURN,
        reason=reason,
        allowed=(ClaimState.SUBMITTED,),
    )


@transaction.atomic
def claim_resubmit(*, actor: Any, claim: Claim, description: str | None = None, photos: Iterable[Any] = ()) -> Claim:
    """The claimant (or the staff who recorded it) answers a return; the claim joins this week's queue."""
    locked = _locked_claim(claim)
    _require_claimant(actor, locked.account)
    if locked.state != ClaimState.RETURNED:
        raise Conflict(_("Only a claim returned for more information can be resubmitted."), code="claim_not_returned")
    photos = list(photos or ())
    _check_evidence(locked.item, locked.photos.count() + len(photos))
    now = timezone.now()
    changes: dict[str, Any] = {
        "state": ClaimState.SUBMITTED,
        "review_week": run_key_for("week", now),
        "first_approver": None,
    }
    if description is not None:
        changes["description"] = description.strip()
    Claim.objects.filter(pk=locked.pk).update(**changes)
    for photo in photos:
        ClaimPhoto.objects.create(claim=locked, image=photo)
    ClaimDecision.objects.create(claim=locked, decision=ClaimDecision.Decision.RESUBMIT, actor=actor, decided_at=now)
    audit_record(actor=actor, action="points.claim_resubmit", target=locked, place_path=locked.account.place_path)
    locked.refresh_from_db()
    return _refresh(claim, locked)


@transaction.atomic
def claim_withdraw(*, actor: Any, claim: Claim) -> Claim:
    locked = _locked_claim(claim)
    _require_claimant(actor, locked.account)
    if locked.state not in (ClaimState.SUBMITTED, ClaimState.RETURNED):
        raise Conflict(_("Only a claim still waiting can be withdrawn."), code="claim_not_pending")
    now = timezone.now()
    Claim.objects.filter(pk=locked.pk).update(state=ClaimState.WITHDRAWN, decided_at=now)
    locked.state, locked.decided_at = ClaimState.WITHDRAWN, now
    ClaimDecision.objects.create(claim=locked, decision=ClaimDecision.Decision.WITHDRAW, actor=actor, decided_at=now)
    audit_record(actor=actor, action="points.claim_withdraw", target=locked, place_path=locked.account.place_path)
    return _refresh(claim, locked)


def claims_review_batch(*, actor: Any, claim_ids: Iterable[int], decision: str, reason: str = "") -> dict:
    """Approve or reject many claims; each in its own savepoint, so one refusal does not stop the others.

    Returns ``{"succeeded": [ids], "failed": {id: {"code": ..., "message": ...}}}``.
    """
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
                        claim_approve(actor=actor, claim=claim)
                    else:
                        claim_reject(actor=actor, claim=claim, reason=reason)
                succeeded.append(claim_id)
            except DomainError as error:
                failed[claim_id] = {"code": error.code, "message": str(error.message)}
    return {"succeeded": succeeded, "failed": failed}


@transaction.atomic
def claim_reverse(*, actor: Any, claim: Claim, reason: str) -> Transfer:
    """Take back an approved claim's points with a reversing transfer (an upheld objection, a mistake)."""
    reason = _reason(reason)
    locked = _locked_claim(claim)
    require_reach(actor, Permission.CLAIM_REVIEW, locked.community.path)
    if locked.state != ClaimState.APPROVED or locked.transfer_id is None:
        raise Conflict(_("Only an approved claim can be reversed."), code="claim_not_approved")
    reversal = transfer_reverse(
        transfer=locked.transfer, actor=actor, reason=reason, idempotency_key=f"claim-reverse:{locked.pk}"
    )
    now = timezone.now()
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
    )
    _refresh(claim, locked)
    return reversal


# ---------------------------------------------------------------- manual adjustments


def _require_adjuster(actor: Any, account: PointsAccount) -> None:
    require_reach(actor, Permission.POINTS_ADJUST, account.place_path or "/-/")


@transaction.atomic
def adjustment_propose(*, actor: Any, account: PointsAccount, amount: int, reason: str) -> Adjustment:
    """Propose a manual correction; it is posted only when a second person approves it."""
    _require_adjuster(actor, account)
    errors = {}
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
        errors["amount"] = _("Enter a whole number of points other than zero.")
    if not (reason or "").strip():
        errors["reason"] = _("Give a reason.")
    if account.kind == AccountKind.SYSTEM:
        errors["account"] = _("System accounts are not adjusted by hand.")
    if errors:
        raise ValidationFailed(fields=errors)
    adjustment = Adjustment.objects.create(
        account=account, amount=amount, reason=reason.strip()[:255], proposed_by=actor
    )
    audit_record(
        actor=actor,
        action="points.adjustment_propose",
        target=adjustment,
        place_path=account.place_path,
        changes={"amount": amount, "reason": adjustment.reason},
    )
    return adjustment


def _locked_adjustment(actor: Any, adjustment: Adjustment) -> Adjustment:
    locked = Adjustment.objects.select_for_update(of=("self",)).select_related("account").get(pk=adjustment.pk)
    _require_adjuster(actor, locked.account)
    if locked.state != Adjustment.State.PROPOSED:
        raise Conflict(_("This adjustment has already been decided."), code="adjustment_decided")
    if locked.proposed_by_id == actor.pk:
        raise PermissionDenied(_("A second person must decide an adjustment."), code="second_person_required")
    return locked


@transaction.atomic
def adjustment_approve(*, actor: Any, adjustment: Adjustment) -> Adjustment:
    """A second person approves; the adjustment is posted (issuance ↔ account; not counted as earned)."""
    locked = _locked_adjustment(actor, adjustment)
    issuance = system_account("issuance").pk
    transfer, _created = post_transfer(
        kind=TransferKind.ADJUSTMENT,
        idempotency_key=f"adjustment:{locked.pk}",
        legs=[Leg(issuance, -locked.amount), Leg(locked.account_id, locked.amount)],
        actor=actor,
        source_type="adjustment",
        source_id=str(locked.pk),
        memo=locked.reason,
    )
    now = timezone.now()
    Adjustment.objects.filter(pk=locked.pk).update(
        state=Adjustment.State.APPROVED, decided_by=actor, decided_at=now, transfer=transfer
    )
    audit_record(
        actor=actor,
        action="points.adjustment_approve",
        target=locked,
        place_path=locked.account.place_path,
        changes={"amount": locked.amount, "transfer": transfer.pk},
    )
    adjustment.state, adjustment.decided_by, adjustment.decided_at = Adjustment.State.APPROVED, actor, now
    adjustment.transfer = transfer
    return adjustment


@transaction.atomic
def adjustment_refuse(*, actor: Any, adjustment: Adjustment, reason: str = "") -> Adjustment:
    locked = _locked_adjustment(actor, adjustment)
    now = timezone.now()
    Adjustment.objects.filter(pk=locked.pk).update(state=Adjustment.State.REFUSED, decided_by=actor, decided_at=now)
    audit_record(
        actor=actor,
        action="points.adjustment_refuse",
        target=locked,
        place_path=locked.account.place_path,
        changes={"reason": (reason or "").strip()},
    )
    adjustment.state, adjustment.decided_by, adjustment.decided_at = Adjustment.State.REFUSED, actor, now
    return adjustment


__all__ = [
    "adjustment_approve",
    "adjustment_propose",
    "adjustment_refuse",
    "category_create",
    "claim_approve",
    "claim_reject",
    "claim_resubmit",
    "claim_return",
    "claim_reverse",
    "claim_submit",
    "claim_withdraw",
    "claims_review_batch",
    "item_create",
    "item_set_enabled",
    "item_value_change",
    "item_value_on",
    "items_available",
]
