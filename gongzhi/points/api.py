"""The red points in the API (mounted at /api/v1/points/).

Claims (submit, list mine, detail, resubmit, withdraw), the review queue and its decisions (one or many), the
account's balance, history and rank, the catalogue available today, and the public reads (publication lists,
rankings, the annual selection; no login) and objections. Endpoints are thin: parse → access helper → one service
call. Every refusal is a DomainError and leaves in the one error shape ``{"code", "message", "fields"}``.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from gongzhi.core.api_support import ERRORS, PAGE_SIZE_MAX, Page, PageQuery, paginate
from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.ratelimit import rate_limit_request
from gongzhi.core.uploads import clean_photos
from gongzhi.people.models import Account
from gongzhi.places.models import Place, PlaceKind

from . import publication as pub
from .catalogue import items_available
from .claims import MAX_PHOTOS, claim_submit
from .claims import claim_resubmit as resubmit_claim  # the views claim_resubmit, claim_withdraw use these names
from .claims import claim_withdraw as withdraw_claim
from .errors import PointsError
from .models import HOLDER_KINDS, Claim, ClaimState, PointItem, PointsAccount, Publication, PublicationLine, Selection
from .rankings import RANKING_KINDS, my_rank, ranking
from .review import claim_approve, claim_reject, claim_return, review_decide_many
from .selectors import (
    access_account,
    access_claim,
    account_history,
    claim_queue,
    claims_of,
    history_lines,
    own_accounts,
    saved_account,
)

router = Router(tags=["points"])


# ---------------------------------------------------------------- schemas


class AccountOut(Schema):
    id: int | None
    kind: str
    display_name: str
    community_id: int | None
    balance: int
    held: int
    earned_total: int


class ItemOut(Schema):
    id: int
    code: str
    name: str
    category: str
    value: int
    evidence_required: bool
    two_reviewers: bool


class DecisionOut(Schema):
    decision: str
    reason: str
    decided_at: datetime


class ClaimOut(Schema):
    id: int
    account_id: int
    account_name: str
    item_id: int
    item_name: str
    value: int
    community_id: int
    service_date: date
    description: str
    state: str
    state_label: str
    on_behalf: bool
    review_week: str
    submitted_at: datetime
    decided_at: datetime | None
    waiting_for_second_reviewer: bool
    photo_count: int

    @staticmethod
    def resolve_account_name(claim: Claim) -> str:
        return claim.account.display_name

    @staticmethod
    def resolve_item_name(claim: Claim) -> str:
        return claim.item.name

    @staticmethod
    def resolve_state_label(claim: Claim) -> str:
        return str(claim.get_state_display())

    @staticmethod
    def resolve_waiting_for_second_reviewer(claim: Claim) -> bool:
        return claim.state == ClaimState.SUBMITTED and claim.first_approver_id is not None

    @staticmethod
    def resolve_photo_count(claim: Claim) -> int:
        counted = getattr(claim, "photo_count", None)
        return counted if counted is not None else claim.photos.count()


class ClaimDetailOut(ClaimOut):
    decisions: list[DecisionOut]

    @staticmethod
    def resolve_decisions(claim: Claim) -> list[dict]:
        return [
            {"decision": item.decision, "reason": item.reason, "decided_at": item.decided_at}
            for item in claim.decisions.all()
        ]


class ClaimIn(Schema):
    item_id: int
    service_date: date
    account_id: int | None = None
    description: str = Field("", max_length=2000)
    idempotency_key: str | None = Field(None, max_length=120)


class ResubmitIn(Schema):
    description: str | None = Field(None, max_length=2000)


class ReasonIn(Schema):
    reason: str = Field(..., max_length=500)


class BatchIn(Schema):
    claim_ids: list[int] = Field(..., max_length=500)
    decision: str = Field(..., max_length=10)
    reason: str = Field("", max_length=500)


class BatchOut(Schema):
    succeeded: list[int]
    failed: dict[int, dict[str, str]]


class HistoryLineOut(Schema):
    text: str
    amount: int
    date: date
    kind: str
    bucket: str


class HistoryPage(Page[HistoryLineOut]):
    account: AccountOut


class MyRankOut(Schema):
    account_id: int
    place_id: int
    period: str
    rank: int
    total_accounts: int
    points: int


class MyClaimsQuery(PageQuery):
    state: str | None = Field(None, max_length=12)


class AccountQuery(Schema):
    account: int | None = None


class RankQuery(AccountQuery):
    place: int | None = None
    kind: str | None = Field(None, max_length=16)
    period: str = Field("all", max_length=10)


class QueueQuery(PageQuery):
    community: int | None = None
    week: str | None = Field(None, max_length=10)
    item: int | None = None
    category: int | None = None
    account_kind: str | None = Field(None, max_length=16)


# ---------------------------------------------------------------- helpers


def _account_out(account: PointsAccount) -> dict:
    return {
        "id": account.pk,
        "kind": account.kind,
        "display_name": account.display_name,
        "community_id": account.community_id,
        "balance": account.balance,
        "held": account.held,
        "earned_total": account.earned_total,
    }


def _own_account(actor: Account, account_id: int | None) -> PointsAccount:
    accounts = own_accounts(actor)
    for account in accounts:
        if account_id is None or account.pk == account_id:
            return account
    if account_id is not None:
        return access_account(actor, account_id)  # staff reading an account in reach
    raise NotFound(_("You have no points account yet."))


def _claim(actor: Account, claim_id: int) -> Claim:
    return access_claim(actor, claim_id)


def _submit(request, payload: ClaimIn, photos: list) -> Claim:
    account = _own_account(request.user, payload.account_id)
    item = PointItem.objects.filter(pk=payload.item_id).first()
    if item is None:
        raise PointsError.ITEM_UNAVAILABLE(fields={"item_id": _("Choose an item from the community's catalogue.")})
    photos = clean_photos(photos, max_count=MAX_PHOTOS)
    rate_limit_request(request, "claim", now=timezone.now())
    claim = claim_submit(
        actor=request.user,
        account=saved_account(account),
        item=item,
        service_date=payload.service_date,
        description=payload.description,
        photos=photos,
        idempotency_key=payload.idempotency_key,
    )
    return _claim(request.user, claim.pk)


# ---------------------------------------------------------------- accounts, balance, history, rank


@router.get("/accounts/mine", response={200: list[AccountOut], **ERRORS}, summary="My points accounts")
def accounts_mine(request):
    return [_account_out(account) for account in own_accounts(request.user)]


@router.get("/balance", response={200: AccountOut, **ERRORS}, summary="Balance, held and earned total of an account")
def balance(request, query: Query[AccountQuery]):
    return _account_out(_own_account(request.user, query.account))


@router.get("/history", response={200: HistoryPage, **ERRORS}, summary="An account's ledger entries in plain words")
def history(request, query: Query[AccountQuery], paging: Query[PageQuery]):
    account = _own_account(request.user, query.account)
    if not account.pk:
        return {"account": _account_out(account), "count": 0, "page": 1, "page_size": paging.page_size, "results": []}
    page = paginate(account_history(request.user, account), paging)
    return {**page, "account": _account_out(account), "results": history_lines(page["results"])}


@router.get("/my-rank", response={200: MyRankOut, **ERRORS}, summary="My rank in my community (or a place above it)")
def rank_mine(request, query: Query[RankQuery]):
    account = _own_account(request.user, query.account)
    if not account.pk or account.community_id is None:
        raise NotFound(_("You have no points account yet."))
    place = account.community
    if query.place is not None:
        place = Place.objects.filter(pk=query.place, kind__in=RANKING_KINDS, is_active=True).first()
        if place is None:
            raise NotFound()
    result = my_rank(account=account, place=place, kind=query.kind or None, period=query.period)
    return {
        "account_id": account.pk,
        "place_id": place.pk,
        "period": query.period,
        "rank": result.rank,
        "total_accounts": result.total_accounts,
        "points": result.points,
    }


@router.get("/catalogue", response={200: list[ItemOut], **ERRORS}, summary="Items my account can claim today")
def catalogue(request, query: Query[AccountQuery]):
    account = _own_account(request.user, query.account)
    if account.community_id is None:
        return []
    items = items_available(account.community, account.kind, timezone.localdate())
    return [
        {
            "id": item.pk,
            "code": item.code,
            "name": item.name,
            "category": item.category.name,
            "value": item.version.value,
            "evidence_required": item.evidence_required,
            "two_reviewers": item.two_reviewers,
        }
        for item in items
    ]


# ---------------------------------------------------------------- claims


@router.post("/claims", response={201: ClaimDetailOut, **ERRORS}, summary="Claim points for one piece of service")
def claim_create(request, payload: ClaimIn):
    return Status(201, _submit(request, payload, []))


@router.post(
    "/claims/form",
    response={201: ClaimDetailOut, **ERRORS},
    summary="Claim points with photos (multipart form: the same fields, plus files in `photos`)",
)
def claim_create_form(request, payload: Form[ClaimIn], photos: File[list[UploadedFile]] = None):
    return Status(201, _submit(request, payload, list(photos or [])))


@router.get("/claims", response={200: Page[ClaimOut], **ERRORS}, summary="My claims, newest first")
def claims_mine(request, query: Query[MyClaimsQuery]):
    state = query.state if query.state in ClaimState.values else None
    if query.state and state is None:
        raise ValidationFailed(fields={"state": _("Unknown state.")})
    claims = claims_of(request.user, own_accounts(request.user), state=state).annotate(photo_count=Count("photos"))
    return paginate(claims, query)


@router.get("/claims/{claim_id}", response={200: ClaimDetailOut, **ERRORS}, summary="One claim and its decisions")
def claim_detail(request, claim_id: int):
    return _claim(request.user, claim_id)


@router.post("/claims/{claim_id}/resubmit", response={200: ClaimDetailOut, **ERRORS}, summary="Answer a returned claim")
def claim_resubmit(request, claim_id: int, payload: ResubmitIn):
    claim = _claim(request.user, claim_id)
    resubmit_claim(actor=request.user, claim=claim, description=payload.description)
    return _claim(request.user, claim_id)


@router.post("/claims/{claim_id}/withdraw", response={200: ClaimDetailOut, **ERRORS}, summary="Withdraw a claim")
def claim_withdraw(request, claim_id: int):
    claim = _claim(request.user, claim_id)
    withdraw_claim(actor=request.user, claim=claim)
    return _claim(request.user, claim_id)


# ---------------------------------------------------------------- review


@router.get(
    "/review/queue", response={200: Page[ClaimOut], **ERRORS}, summary="Claims waiting for review, oldest first"
)
def review_queue(request, query: Query[QueueQuery]):
    if query.account_kind and query.account_kind not in HOLDER_KINDS:
        raise ValidationFailed(fields={"account_kind": _("Unknown kind of account.")})
    claims = claim_queue(
        request.user,
        community_id=query.community,
        week=query.week or None,
        item_id=query.item,
        account_kind=query.account_kind,
    )
    if query.category is not None:
        claims = claims.filter(item__category_id=query.category)
    return paginate(claims, query)


def _review(request, claim_id: int, decision: str, reason: str = ""):
    claim = _claim(request.user, claim_id)
    if decision == "approve":
        claim_approve(actor=request.user, claim=claim)
    elif decision == "reject":
        claim_reject(actor=request.user, claim=claim, reason=reason)
    else:
        claim_return(actor=request.user, claim=claim, reason=reason)
    return _claim(request.user, claim_id)


@router.post("/review/claims/{claim_id}/approve", response={200: ClaimDetailOut, **ERRORS}, summary="Approve")
def review_approve(request, claim_id: int):
    return _review(request, claim_id, "approve")


@router.post("/review/claims/{claim_id}/reject", response={200: ClaimDetailOut, **ERRORS}, summary="Reject")
def review_reject(request, claim_id: int, payload: ReasonIn):
    return _review(request, claim_id, "reject", payload.reason)


@router.post(
    "/review/claims/{claim_id}/return", response={200: ClaimDetailOut, **ERRORS}, summary="Return for more information"
)
def review_return(request, claim_id: int, payload: ReasonIn):
    return _review(request, claim_id, "return", payload.reason)


@router.post(
    "/review/batch",
    response={200: BatchOut, **ERRORS},
    summary="Approve, reject or return many claims; each decided on its own",
)
def review_batch(request, payload: BatchIn):
    return review_decide_many(
        actor=request.user, claim_ids=payload.claim_ids, decision=payload.decision, reason=payload.reason
    )


# ---------------------------------------------------------------- public reads (no login) and objections


class PublicationOut(Schema):
    id: int
    community_id: int
    month: str
    state: str
    published_at: datetime | None
    objections_until: datetime | None


class PublicationLineOut(Schema):
    id: int
    masked_name: str
    account_kind: str
    points: int
    claims: int


class PublicationDetailOut(PublicationOut):
    lines: list[PublicationLineOut]


class RankRowOut(Schema):
    rank: int
    masked_name: str
    kind: str
    points: int


class RankingQuery(Schema):
    place: int
    kind: str | None = Field(None, max_length=16)
    period: str = Field("all", max_length=10)
    limit: int = Field(50, ge=1, le=PAGE_SIZE_MAX)
    offset: int = Field(0, ge=0, le=1_000_000)


class SelectionRowOut(Schema):
    rank: int
    masked_name: str
    kind: str
    points: int


class SelectionOut(Schema):
    id: int
    community_id: int
    year: int
    kind: str
    selected: list[SelectionRowOut]


class ObjectionIn(Schema):
    community_id: int
    month: str = Field(..., max_length=7, description='"2026-11"')
    text: str = Field(..., max_length=2000)
    line_id: int | None = None


class ObjectionOut(Schema):
    id: int
    publication_id: int
    line_id: int | None
    state: str
    raised_at: datetime


def _publication_out(publication: Publication) -> dict:
    return {
        "id": publication.pk,
        "community_id": publication.community_id,
        "month": f"{publication.month:%Y-%m}",
        "state": publication.state,
        "published_at": publication.published_at,
        "objections_until": publication.objections_until,
    }


def _community(community_id: int) -> Place:
    community = Place.objects.filter(pk=community_id, kind=PlaceKind.COMMUNITY, is_active=True).first()
    if community is None:
        raise NotFound()
    return community


def _published(community: Place, month: str) -> Publication:
    first = pub.month_start(month)
    publication = (
        Publication.objects.filter(community=community, month=first)
        .exclude(state=Publication.State.OPEN)
        .select_related("community")
        .first()
    )
    if publication is None:
        raise NotFound()
    return publication


@router.get(
    "/public/publications",
    auth=None,
    response={200: list[PublicationOut], **ERRORS},
    summary="A community's published months (public)",
)
def public_publications(request, community: int):
    place = _community(community)
    rows = Publication.objects.filter(community=place).exclude(state=Publication.State.OPEN).order_by("-month")
    return [_publication_out(row) for row in rows]


@router.get(
    "/public/publications/{community_id}/{month}",
    auth=None,
    response={200: PublicationDetailOut, **ERRORS},
    summary="A published month's list, names masked (public)",
)
def public_publication(request, community_id: int, month: str):
    publication = _published(_community(community_id), month)
    return {**_publication_out(publication), "lines": pub.publication_public_lines(publication)}


@router.get("/public/rankings", auth=None, response={200: list[RankRowOut], **ERRORS}, summary="Rankings, names masked")
def public_rankings(request, query: Query[RankingQuery]):
    place = Place.objects.filter(pk=query.place, kind__in=RANKING_KINDS, is_active=True).first()
    if place is None:
        raise NotFound()
    rows = ranking(place=place, kind=query.kind or None, period=query.period, limit=query.limit, offset=query.offset)
    return [{"rank": row.rank, "masked_name": row.masked_name, "kind": row.kind, "points": row.points} for row in rows]


@router.get(
    "/public/selections",
    auth=None,
    response={200: list[SelectionOut], **ERRORS},
    summary="A community's published annual selections (public)",
)
def public_selections(request, community: int, year: int | None = None):
    place = _community(community)
    selections = Selection.objects.filter(community=place, state=Selection.State.PUBLISHED).order_by("-year", "kind")
    if year is not None:
        selections = selections.filter(year=year)
    result = []
    for selection in selections:
        _selection, rows = pub.selection_public(selection.pk)
        result.append(
            {
                "id": selection.pk,
                "community_id": place.pk,
                "year": selection.year,
                "kind": selection.kind,
                "selected": rows,
            }
        )
    return result


@router.post("/objections", response={201: ObjectionOut, **ERRORS}, summary="Object to a published month")
def objection_create(request, payload: ObjectionIn):
    publication = _published(_community(payload.community_id), payload.month)
    line = None
    if payload.line_id is not None:
        line = PublicationLine.objects.filter(pk=payload.line_id, publication=publication).first()
        if line is None:
            raise ValidationFailed(fields={"line_id": _("This line is not in this month's list.")})
    objection = pub.objection_raise(actor=request.user, publication=publication, text=payload.text, line=line)
    return Status(
        201,
        {
            "id": objection.pk,
            "publication_id": publication.pk,
            "line_id": objection.line_id,
            "state": objection.state,
            "raised_at": objection.raised_at,
        },
    )
