"""Deliberation in the API (mounted at /api/v1/deliberation/). Thin: parse → access → one service call → answer.

Residents: their community's topics, propose, co-sign, cast a ballot (the receipt comes back), a vote's result
(``results_hidden`` until the close). Staff: accept, decline. Everyone (no login): the public record of a
community, a published result and its chain recomputed. Errors: ``{"code", "message", "fields"}``; the codes are
``deliberation.errors.DeliberationError`` (docs/errors.md).
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from gongzhi.core.api_support import ERRORS, Page, PageQuery, paginate
from gongzhi.core.errors import NotFound
from gongzhi.core.ratelimit import rate_limit_request
from gongzhi.places.models import Place, PlaceKind

from . import selectors, services
from .models import Topic

router = Router(tags=["deliberation"])


class TopicOut(Schema):
    id: int
    community_id: int
    title: str
    description: str
    state: str
    source: str
    is_major: bool
    cosign_threshold: int
    cosign_basis: str
    cosign_progress: int
    decline_reason: str
    decision: str
    result_summary: str
    proposed_at: datetime


class TopicIn(Schema):
    title: str = Field(..., min_length=1, max_length=150)
    description: str = Field(..., min_length=1, max_length=5000)
    catalogue_entry_id: int | None = None


class DeclineIn(Schema):
    reason: str = Field(..., max_length=2000)


class BallotIn(Schema):
    choice: int


class ReceiptOut(Schema):
    vote_id: int
    sequence: int
    receipt: str
    hash: str


class ChoiceResult(Schema):
    position: int
    label: str
    ballots: int


class ResultOut(Schema):
    vote_id: int
    state: str
    ballots: int
    eligible: int
    online: int
    paper: int
    quorum_met: bool
    outcome: str
    winner: int | None
    choices: list[ChoiceResult]
    head: str | None = None


class ChainOut(Schema):
    vote_id: int
    ballots: int
    head: str
    published_head: str | None
    intact: bool
    problems: list[str]


class SimilarQuery(Schema):
    title: str = Field(..., min_length=1, max_length=150)


def _community_of(request) -> Place:
    from .access import resident_community_id

    community_id = resident_community_id(request.user)
    community = Place.objects.filter(pk=community_id).first() if community_id else None
    if community is None:
        raise NotFound()
    return community


def _result(vote, result: dict) -> dict:
    return {"vote_id": vote.pk, "state": vote.state, **result}


@router.get("/topics", response={200: Page[TopicOut], **ERRORS}, summary="My community's topics, newest first")
def topic_list(request, query: Query[PageQuery]):
    return paginate(selectors.my_community_topics(request.user), query)


@router.post("/topics", response={201: TopicOut, **ERRORS}, summary="Propose a topic in my community")
def topic_propose(request, payload: TopicIn):
    community = _community_of(request)
    entry = None
    if payload.catalogue_entry_id is not None:
        entry = selectors.catalogue(community).filter(pk=payload.catalogue_entry_id).first()
        if entry is None:
            raise NotFound()
    topic = services.topic_propose(
        actor=request.user,
        community=community,
        title=payload.title,
        description=payload.description,
        catalogue_entry=entry,
    )
    return Status(201, topic)


@router.get(
    "/topics/similar",
    response={200: list[TopicOut], **ERRORS},
    summary="Possible duplicates of a title in my community",
)
def topic_similar(request, query: Query[SimilarQuery]):
    return selectors.similar_topics(_community_of(request), query.title)


@router.get("/topics/{topic_id}", response={200: TopicOut, **ERRORS}, summary="One topic")
def topic_detail(request, topic_id: int):
    return selectors.access_topic(request.user, topic_id)


@router.post("/topics/{topic_id}/cosign", response={200: TopicOut, **ERRORS}, summary="Co-sign a proposed topic")
def topic_cosign(request, topic_id: int):
    topic = selectors.access_topic(request.user, topic_id)
    return services.topic_cosign(actor=request.user, topic=topic)


@router.post("/topics/{topic_id}/accept", response={200: TopicOut, **ERRORS}, summary="Staff: put on the agenda")
def topic_accept(request, topic_id: int):
    topic = selectors.access_topic(request.user, topic_id)
    return services.topic_accept(actor=request.user, topic=topic)


@router.post("/topics/{topic_id}/decline", response={200: TopicOut, **ERRORS}, summary="Staff: decline with a reason")
def topic_decline(request, topic_id: int, payload: DeclineIn):
    topic = selectors.access_topic(request.user, topic_id)
    return services.topic_decline(actor=request.user, topic=topic, reason=payload.reason)


@router.post(
    "/votes/{vote_id}/ballots",
    response={201: ReceiptOut, **ERRORS},
    summary="Cast my (or my household's) ballot; the receipt finds it in the published chain",
)
def vote_cast(request, vote_id: int, payload: BallotIn):
    vote = selectors.access_vote(request.user, vote_id)
    rate_limit_request(request, "vote", now=timezone.now())
    receipt = services.vote_cast(actor=request.user, vote=vote, choice=payload.choice)
    return Status(
        201,
        {
            "vote_id": vote.pk,
            "sequence": receipt.ballot.sequence,
            "receipt": receipt.receipt,
            "hash": receipt.ballot.hash,
        },
    )


@router.get("/votes/{vote_id}/result", response={200: ResultOut, **ERRORS}, summary="A vote's result (after the close)")
def vote_result(request, vote_id: int):
    vote = selectors.access_vote(request.user, vote_id)
    return _result(vote, selectors.vote_result(vote, now=timezone.now()))


@router.get(
    "/public/communities/{community_id}/topics",
    response={200: Page[TopicOut], **ERRORS},
    auth=None,
    summary="A community's public record (topics past the proposal), searchable",
)
def public_record(request, community_id: int, query: Query[PageQuery], q: str = ""):
    community = Place.objects.filter(pk=community_id, kind=PlaceKind.COMMUNITY, is_active=True).first()
    if community is None:
        raise NotFound()
    return paginate(selectors.search_public_record(community, q), query)


@router.get(
    "/public/votes/{vote_id}", response={200: ResultOut, **ERRORS}, auth=None, summary="A published vote result"
)
def public_vote(request, vote_id: int):
    vote = selectors.access_public_vote(vote_id)
    return _result(vote, vote.result)


@router.get(
    "/public/votes/{vote_id}/chain",
    response={200: ChainOut, **ERRORS},
    auth=None,
    summary="A published vote's ballot chain, recomputed now against the published head",
)
def public_chain(request, vote_id: int):
    vote = selectors.access_public_vote(vote_id)
    report = selectors.chain_report(vote)
    published = vote.result.get("head")
    return {
        "vote_id": vote.pk,
        "ballots": report.ballots,
        "head": report.head,
        "published_head": published,
        "intact": report.intact and report.head == published,
        "problems": report.problems,
    }


# ---------------------------------------------------------------- staff: the four steps, publications, votes


class StepIn(Schema):
    """One step of the four-step resolution. Step 1: attendees, minutes. Steps 2 and 4: the counts; step 4 the
    resolution's text. Step 3: ``present_member_ids`` (residents who are party members), in favour / against."""

    step: int = Field(..., ge=1, le=4)
    held_on: date
    minutes: str = Field(..., max_length=20000)
    attendees: str = ""
    entitled_count: int = Field(0, ge=0)
    present_count: int = Field(0, ge=0)
    in_favour: int = Field(0, ge=0)
    against: int = Field(0, ge=0)
    abstaining: int = Field(0, ge=0)
    present_member_ids: list[int] = []
    text: str = ""
    carried_out_by: str = ""


class StepOut(Schema):
    id: int
    kind: int
    held_on: date
    entitled_count: int
    present_count: int
    in_favour: int
    against: int
    abstaining: int
    minutes: str


class ResolutionOut(Schema):
    topic_id: int
    steps_done: int
    text: str
    published_at: datetime | None
    result_text: str
    result_published_at: datetime | None
    steps: list[StepOut]

    @staticmethod
    def resolve_steps(resolution) -> list:
        return list(resolution.steps.all())


class ResultTextIn(Schema):
    result_text: str = Field(..., max_length=20000)


class VoteIn(Schema):
    title: str = Field(..., max_length=200)
    kind: str
    choices: list[str]
    opens_at: datetime
    closes_at: datetime
    secrecy: str = "open"
    majority: str = "simple"
    quorum_numerator: int = 1
    quorum_denominator: int = 2
    household_voters: str = "adults"
    building_ids: list[int] = []


class VoteOut(Schema):
    id: int
    topic_id: int
    title: str
    kind: str
    household_voters: str
    secrecy: str
    majority: str
    opens_at: datetime
    closes_at: datetime
    eligible_count: int
    ballot_count: int
    state: str
    head_hash: str


def _managed_topic(request, topic_id: int) -> Topic:
    topic = selectors.access_topic(request.user, topic_id)
    if not services.can_manage(request.user, topic.community):
        raise NotFound()
    return topic


@router.post(
    "/topics/{topic_id}/resolution/steps",
    response={201: StepOut, **ERRORS},
    summary="Staff: record the next step of the four-step resolution (in order, dated in order, with its quorum)",
)
def resolution_step(request, topic_id: int, payload: StepIn):
    topic = _managed_topic(request, topic_id)
    common = {"actor": request.user, "topic": topic, "held_on": payload.held_on, "minutes": payload.minutes}
    counts = {"in_favour": payload.in_favour, "against": payload.against, "abstaining": payload.abstaining}
    if payload.step == 1:
        step = services.resolution_propose(**common, attendees=payload.attendees)
    elif payload.step == 2:
        step = services.resolution_discuss(
            **common,
            **counts,
            attendees=payload.attendees,
            entitled_count=payload.entitled_count,
            present_count=payload.present_count,
        )
    elif payload.step == 3:
        step = services.resolution_review(**common, **counts, present_member_ids=payload.present_member_ids)
    else:
        step = services.resolution_decide(
            **common,
            **counts,
            attendees=payload.attendees,
            entitled_count=payload.entitled_count,
            present_count=payload.present_count,
            text=payload.text,
            carried_out_by=payload.carried_out_by,
        )
    return Status(201, step)


@router.get("/topics/{topic_id}/resolution", response={200: ResolutionOut, **ERRORS}, summary="The resolution")
def resolution_detail(request, topic_id: int):
    topic = selectors.access_topic(request.user, topic_id)
    resolution = selectors.resolution_of(topic)
    if resolution is None:
        raise NotFound()
    return resolution


@router.post(
    "/topics/{topic_id}/resolution/publish",
    response={200: ResolutionOut, **ERRORS},
    summary="Staff: publish the resolution (after step 4; once)",
)
def resolution_publish(request, topic_id: int):
    return services.resolution_publish(actor=request.user, topic=_managed_topic(request, topic_id))


@router.post(
    "/topics/{topic_id}/resolution/result",
    response={200: ResolutionOut, **ERRORS},
    summary="Staff: publish the result of carrying it out (after the resolution's publication and the carrying out)",
)
def resolution_result(request, topic_id: int, payload: ResultTextIn):
    topic = _managed_topic(request, topic_id)
    return services.resolution_result_publish(actor=request.user, topic=topic, result_text=payload.result_text)


@router.post("/topics/{topic_id}/votes", response={201: VoteOut, **ERRORS}, summary="Staff: put a question to the vote")
def vote_create(request, topic_id: int, payload: VoteIn):
    topic = _managed_topic(request, topic_id)
    buildings = list(
        Place.objects.filter(
            pk__in=payload.building_ids, kind=PlaceKind.BUILDING, path__startswith=topic.community.path
        )
    )
    if len(buildings) != len(set(payload.building_ids)):
        raise NotFound()
    vote = services.vote_create(
        actor=request.user,
        topic=topic,
        title=payload.title,
        kind=payload.kind,
        choices=payload.choices,
        opens_at=payload.opens_at,
        closes_at=payload.closes_at,
        secrecy=payload.secrecy,
        majority=payload.majority,
        quorum_numerator=payload.quorum_numerator,
        quorum_denominator=payload.quorum_denominator,
        household_voters=payload.household_voters,
        buildings=buildings,
    )
    return Status(201, vote)


@router.post(
    "/votes/{vote_id}/publish",
    response={200: ResultOut, **ERRORS},
    summary="Staff: publish the result after the close (the chain is verified first)",
)
def vote_publish(request, vote_id: int):
    vote = selectors.access_vote(request.user, vote_id)
    if not services.can_manage(request.user, vote.community):
        raise NotFound()
    vote = services.vote_result_publish(actor=request.user, vote=vote)
    return _result(vote, vote.result)


__all__ = ["Topic", "router"]
