"""Every read of the red points: accounts and balances, history, the review queue, the catalogue's adjustments.

Each selector takes the actor and scopes by the place path (shared/design.md rule 3). ``access_<thing>`` returns
the object or raises the same NotFound whether it is missing or out of reach. A resident always reaches their own
accounts (and a representative their organisation's).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from gongzhi.core.access import grants, reach, require_authenticated
from gongzhi.core.actors import Actor
from gongzhi.core.errors import NotFound
from gongzhi.core.roles import Permission, Role

from .ledger import account_for_resident, community_of
from .models import (
    AccountKind,
    Adjustment,
    Claim,
    ClaimState,
    CommunityItemSetting,
    Entry,
    PointItem,
    PointItemVersion,
    PointsAccount,
    TransferKind,
)


def _own_accounts_q(actor: Actor, prefix: str = "") -> Q:
    """Rows of the actor's own accounts: as a resident, or as representative of an organisation."""
    query = Q(pk__in=[])
    if getattr(actor, "resident_id", None):
        query |= Q(**{f"{prefix}resident_id": actor.resident_id})
    organisations = [
        organisation_id
        for role, _path, organisation_id in grants(actor)
        if role == Role.ORGANISATION_REPRESENTATIVE and organisation_id
    ]
    if organisations:
        query |= Q(**{f"{prefix}organisation_id__in": organisations})
    return query


def accounts_visible(actor: Actor) -> QuerySet[PointsAccount]:
    """Holder accounts the actor may see: their own, and those in reach of ``points.view``."""
    require_authenticated(actor)
    scope = reach(actor, Permission.POINTS_VIEW)
    accounts = PointsAccount.objects.exclude(kind=AccountKind.SYSTEM)
    if scope.everything:
        return accounts
    return accounts.filter(scope.q("place_path") | _own_accounts_q(actor))


def my_accounts(actor: Actor) -> QuerySet[PointsAccount]:
    require_authenticated(actor)
    return PointsAccount.objects.filter(_own_accounts_q(actor)).order_by("kind", "pk")


def access_account(actor: Actor, account_id: Any) -> PointsAccount:
    try:
        return accounts_visible(actor).select_related("community").get(pk=int(account_id))
    except (PointsAccount.DoesNotExist, TypeError, ValueError):
        raise NotFound() from None


def account_history(actor: Actor, account: PointsAccount) -> QuerySet[Entry]:
    """The account's ledger entries, newest first, each with its transfer (kind, source, memo, date)."""
    access_account(actor, account.pk)
    return Entry.objects.filter(account=account).select_related("transfer").order_by("-transfer_id", "-id")


def claims_visible(actor: Actor) -> QuerySet[Claim]:
    """Claims the actor may read: their own accounts', those in ``points.view`` reach, and the review queue's."""
    require_authenticated(actor)
    viewing = reach(actor, Permission.POINTS_VIEW)
    reviewing = reach(actor, Permission.CLAIM_REVIEW)
    if viewing.everything or reviewing.everything:
        return Claim.objects.all()
    return Claim.objects.filter(
        viewing.q("account__place_path") | reviewing.q("community__path") | _own_accounts_q(actor, "account__")
    )


def access_claim(actor: Actor, claim_id: Any) -> Claim:
    try:
        return (
            claims_visible(actor).select_related("account", "item", "community", "item_version").get(pk=int(claim_id))
        )
    except (Claim.DoesNotExist, TypeError, ValueError):
        raise NotFound() from None


def claim_queue(
    actor: Actor,
    *,
    community_id: int | None = None,
    week: str | None = None,
    state: str = ClaimState.SUBMITTED,
    item_id: int | None = None,
    account_kind: str | None = None,
    waiting_first_approval: bool | None = None,
    text: str | None = None,
) -> QuerySet[Claim]:
    """The review queue: claims in communities the actor reviews, oldest first, with what the page shows.
    ``text`` finds claims by part of the claimant's name or of the item's name."""
    scope = reach(actor, Permission.CLAIM_REVIEW)
    claims = Claim.objects.filter(scope.q("community__path"))
    if state:
        claims = claims.filter(state=state)
    if community_id is not None:
        claims = claims.filter(community_id=community_id)
    if week:
        claims = claims.filter(review_week=week)
    if item_id is not None:
        claims = claims.filter(item_id=item_id)
    if account_kind:
        claims = claims.filter(account__kind=account_kind)
    if waiting_first_approval is not None:
        claims = claims.filter(first_approver__isnull=not waiting_first_approval)
    text = (text or "").strip()
    if text:
        claims = claims.filter(Q(account__display_name__icontains=text) | Q(item__name__icontains=text))
    return (
        claims.select_related("account", "item", "item__category", "community")
        .annotate(photo_count=Count("photos"))
        .order_by("submitted_at", "pk")
    )


def catalogue_adjustments(year: int, *, owner_ids: list[int] | None = None) -> dict:
    """The year's adjustments of the catalogue: how many items changed value, and how many changes were made
    (a version taking effect in the year that is not the item's first)."""
    firsts = PointItemVersion.objects.order_by("item_id", "effective_from")
    first_ids: dict[int, int] = {}
    for version_id, item_id in firsts.values_list("pk", "item_id"):
        first_ids.setdefault(item_id, version_id)
    changes = PointItemVersion.objects.filter(
        effective_from__gte=date(year, 1, 1), effective_from__lt=date(year + 1, 1, 1)
    ).exclude(pk__in=list(first_ids.values()))
    if owner_ids is not None:
        changes = changes.filter(item__owner_id__in=owner_ids)
    return {
        "year": year,
        "items_changed": changes.values("item_id").distinct().count(),
        "changes": changes.count(),
    }


# ---------------------------------------------------------------- pages and API (views.py, api.py)


def communities_in_reach(actor: Actor, permission: str) -> list:
    """The active communities where ``actor`` holds ``permission`` (a role above a community reaches all under it;
    a role below one, on a grid, reaches that grid's community too for filtering, never more than the grant)."""
    from gongzhi.places.models import Place, PlaceKind

    scope = reach(actor, permission)
    if scope.is_empty:
        return []
    communities = Place.objects.filter(kind=PlaceKind.COMMUNITY, is_active=True)
    if not scope.everything:
        communities = communities.filter(scope.q("path"))
    return list(communities.order_by("path"))


def residents_for_claims(actor: Actor, text: str, *, limit: int = 30) -> list:
    """Residents the actor may record claims for (``points.claim_on_behalf``), by name or room number."""
    from gongzhi.people.models import Resident

    scope = reach(actor, Permission.CLAIM_SUBMIT_ON_BEHALF)
    text = (text or "").strip()
    if scope.is_empty or not text:
        return []
    residents = Resident.objects.filter(is_active=True, household__isnull=False).filter(
        Q(name__icontains=text) | Q(household__name=text)
    )
    if not scope.everything:
        residents = residents.filter(scope.q("household__path"))
    return list(residents.select_related("household").order_by("name", "pk")[:limit])


def access_resident_for_claims(actor: Actor, resident_id: Any):
    from gongzhi.people.models import Resident

    scope = reach(actor, Permission.CLAIM_SUBMIT_ON_BEHALF)
    residents = Resident.objects.filter(is_active=True, household__isnull=False).select_related("household")
    if not scope.everything:
        residents = residents.filter(scope.q("household__path"))
    try:
        return residents.get(pk=int(resident_id))
    except (Resident.DoesNotExist, TypeError, ValueError):
        raise NotFound() from None


def claim_state_counts(accounts: list[PointsAccount]) -> dict[int, dict[str, int]]:
    """{account id: {state: number of claims}} for the accounts, in one query."""
    counts: dict[int, dict[str, int]] = {account.pk: {} for account in accounts if account.pk}
    rows = (
        Claim.objects.filter(account_id__in=list(counts), state__in=[ClaimState.SUBMITTED, ClaimState.RETURNED])
        .values_list("account_id", "state")
        .annotate(number=Count("pk"))
    )
    for account_id, state, number in rows:
        counts[account_id][state] = number
    return counts


def claims_of(actor: Actor, accounts: list[PointsAccount], *, state: str | None = None) -> QuerySet[Claim]:
    """Claims of the actor's own accounts, newest first."""
    claims = Claim.objects.filter(account_id__in=[account.pk for account in accounts if account.pk])
    if state:
        claims = claims.filter(state=state)
    return claims.select_related("item", "account").order_by("-submitted_at", "-pk")


def queue_count(actor: Actor) -> int:
    """How many claims wait for review in the communities the actor reviews."""
    scope = reach(actor, Permission.CLAIM_REVIEW)
    if scope.is_empty:
        return 0
    return Claim.objects.filter(scope.q("community__path"), state=ClaimState.SUBMITTED).count()


def adjustments_waiting_for(actor: Actor) -> QuerySet[Adjustment]:
    """Proposed adjustments the actor may decide: in reach of ``points.adjust`` and proposed by someone else
    (the second person approves), oldest first."""
    scope = reach(actor, Permission.POINTS_ADJUST)
    if scope.is_empty:
        return Adjustment.objects.none()
    return (
        Adjustment.objects.filter(scope.q("account__place_path"), state=Adjustment.State.PROPOSED)
        .exclude(proposed_by=actor)
        .order_by("proposed_at", "pk")
    )


def catalogue_rows(community: Any, *, day: date) -> list[dict]:
    """The catalogue a community sees: the district's (and street's) items and its own, with the value in force on
    ``day`` and whether the community has it on. Three queries whatever the size."""
    owners = [*community.ancestor_ids, community.pk] if community.kind == "community" else [community.pk]
    items = list(
        PointItem.objects.filter(owner_id__in=owners)
        .select_related("category")
        .order_by("category__sort_order", "category__code", "code")
    )
    values: dict[int, int] = {}
    for item_id, value in (
        PointItemVersion.objects.filter(item__in=items, effective_from__lte=day)
        .order_by("item_id", "effective_from")
        .values_list("item_id", "value")
    ):
        values[item_id] = value
    disabled: set[int] = set()
    if community.kind == "community":
        disabled = set(
            CommunityItemSetting.objects.filter(community=community, enabled=False).values_list("item_id", flat=True)
        )
    return [
        {
            "item": item,
            "value": values.get(item.pk),
            "enabled": item.is_active and item.pk not in disabled,
        }
        for item in items
    ]


# ---------------------------------------------------------------- one's own accounts, as pages and API show them


def account_kind_for(resident: Any) -> str:
    """A resident with an active party membership earns as a party member, everyone else as a resident."""
    from gongzhi.people.models import PartyMembership

    active = PartyMembership.objects.filter(resident=resident, is_active=True).exists()
    return AccountKind.PARTY_MEMBER if active else AccountKind.RESIDENT


def unsaved_account(resident: Any) -> PointsAccount:
    """What a resident's account will look like before their first claim creates it (nothing written on a GET)."""
    household = resident.household
    return PointsAccount(
        kind=account_kind_for(resident),
        resident=resident,
        community=community_of(household),
        place_path=household.path,
        display_name=resident.name,
    )


def own_accounts(actor: Actor) -> list[PointsAccount]:
    """The person's own accounts; a resident without one yet gets the unsaved account their first claim makes."""
    accounts = list(my_accounts(actor).select_related("community"))
    if accounts:
        return accounts
    resident = getattr(actor, "resident", None)
    if resident is not None and resident.household_id and resident.is_active:
        return [unsaved_account(resident)]
    return []


def resident_account(resident: Any) -> PointsAccount:
    """The account a resident earns in (of the kind they earn as), or the unsaved one their first claim makes."""
    account = (
        PointsAccount.objects.filter(resident=resident, kind=account_kind_for(resident))
        .select_related("community")
        .first()
    )
    return account or unsaved_account(resident)


def saved_account(account: PointsAccount) -> PointsAccount:
    """The account itself, or for an unsaved one (``own_accounts``) the resident's account, made on first use."""
    if account.pk:
        return account
    return account_for_resident(account.resident, kind=account.kind)


def history_lines(entries: Any) -> list[dict]:
    """Ledger entries in plain words. Moves between an account's balance and its held points are shown once."""
    words = {
        TransferKind.AWARD: _("Approved: %(memo)s"),
        TransferKind.ADJUSTMENT: _("Adjustment: %(memo)s"),
        TransferKind.REVERSAL: _("Taken back: %(memo)s"),
        TransferKind.HOLD: _("Held for an exchange in the points shop"),
        TransferKind.RELEASE: _("Exchange cancelled: points back"),
        TransferKind.CAPTURE: _("Exchanged in the points shop"),
        TransferKind.EXPIRY: _("Points expired"),
    }
    lines = []
    for entry in entries:
        transfer = entry.transfer
        if transfer.kind in (TransferKind.HOLD, TransferKind.RELEASE) and entry.bucket != "balance":
            continue
        text = words.get(transfer.kind, transfer.get_kind_display())
        lines.append(
            {
                "text": str(text) % {"memo": transfer.memo or "—"} if "%(memo)s" in str(text) else str(text),
                "amount": entry.amount,
                "date": transfer.effective_date,
                "kind": transfer.kind,
                "bucket": entry.bucket,
            }
        )
    return lines


# ---------------------------------------------------------------- what other apps read of the points


def active_item(item_id: Any) -> PointItem | None:
    """An active point item by id, or None. Unscoped: ``services.claim_submit`` checks where it may be claimed."""
    try:
        return PointItem.objects.filter(pk=int(item_id), is_active=True).first()
    except (TypeError, ValueError):
        return None


def active_account(account_id: Any) -> PointsAccount | None:
    """An active points account by id, or None. Unscoped: the service that uses it checks the actor's rights."""
    try:
        return PointsAccount.objects.filter(pk=int(account_id), is_active=True).first()
    except (TypeError, ValueError):
        return None


def resident_first_account(resident_id: int) -> PointsAccount | None:
    """The resident's oldest active points account, or None."""
    return PointsAccount.objects.filter(resident_id=resident_id, is_active=True).order_by("pk").first()


# ---------------------------------------------------------------- what the points shop reads


def holder_kinds() -> list[str]:
    """The kinds of account that hold points (and spend them in the shop): every kind but the system's."""
    from .models import HOLDER_KINDS

    return [str(kind) for kind in HOLDER_KINDS]


def holder_kind_choices() -> list[tuple[str, Any]]:
    """``holder_kinds`` with their (lazily translated) names, for pickers ("who may redeem")."""
    return [(kind, AccountKind(kind).label) for kind in holder_kinds()]


# ---------------------------------------------------------------- personal data (collected by people.personal_data)


def personal_data_of(resident: Any, account: Any) -> list[dict[str, Any]]:
    """What the points app holds about ``resident`` (and their login ``account``): their points accounts, every
    ledger entry of those accounts and their claims, as plain rows. Read-only; the caller has checked who asks."""
    accounts = list(PointsAccount.objects.filter(resident=resident).order_by("pk")) if resident is not None else []
    entries = (
        Entry.objects.filter(account_id__in=[item.pk for item in accounts])
        .select_related("transfer")
        .order_by("transfer__created_at", "pk")
    )
    claims = Claim.objects.filter(account__in=accounts).select_related("item").order_by("submitted_at", "pk")
    return [
        {
            "key": "points.accounts",
            "title": _("Points accounts"),
            "columns": [("kind", _("kind")), ("balance", _("balance")), ("held", _("held")), ("earned", _("earned"))],
            "rows": [
                {
                    "kind": item.get_kind_display(),
                    "balance": item.balance,
                    "held": item.held,
                    "earned": item.earned_total,
                }
                for item in accounts
            ],
        },
        {
            "key": "points.entries",
            "title": _("Points history"),
            "columns": [("date", _("date")), ("text", _("what")), ("amount", _("points")), ("bucket", _("bucket"))],
            "rows": [
                {key: line[key] for key in ("date", "text", "amount", "bucket")} for line in history_lines(entries)
            ],
        },
        {
            "key": "points.claims",
            "title": _("Points claims"),
            "columns": [
                ("submitted_at", _("submitted at")),
                ("item", _("item")),
                ("service_date", _("service date")),
                ("description", _("what was done")),
                ("points", _("points")),
                ("state", _("state")),
            ],
            "rows": [
                {
                    "submitted_at": claim.submitted_at,
                    "item": claim.item.name,
                    "service_date": claim.service_date,
                    "description": claim.description,
                    "points": claim.value,
                    "state": claim.get_state_display(),
                }
                for claim in claims
            ],
        },
    ]


# ---------------------------------------------------------------- the cockpit's ledger (工作台账)


def claims_ledger(actor: Actor, place: Any, period: Any) -> QuerySet[Claim]:
    """Claims on accounts in ``place``'s subtree with a service date in ``period``, oldest first (the cockpit's
    points ledger; read-only, unmasked rows: the caller masks). NotFound unless ``cockpit.report_generate``
    reaches the place."""
    from gongzhi.core.access import require_reach
    from gongzhi.core.tree import subtree_q

    require_reach(actor, Permission.REPORT_GENERATE, place.path)
    return (
        Claim.objects.filter(subtree_q(place.path, "account__place_path"))
        .filter(service_date__gte=period.first, service_date__lte=period.last)
        .select_related("account__resident", "account__organisation", "item", "community")
        .order_by("service_date", "pk")
    )
