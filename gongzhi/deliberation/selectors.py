"""Every read of deliberation. Each takes the actor and scopes by the place path: staff see the communities in
their ``deliberation.manage`` reach, a resident the topics of their own community, everyone the public record
(topics past the proposal, their decisions, published resolutions and results) with masked names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from gongzhi.core.access import parse_id, reach
from gongzhi.core.actors import MaybeAnonymousActor
from gongzhi.core.errors import NotFound
from gongzhi.core.roles import Permission
from gongzhi.places.models import Place, PlaceKind

from .access import actor_resident, resident_community_id
from .chain import ChainReport, verify_rows
from .errors import DeliberationError
from .models import (
    Ballot,
    CatalogueEntry,
    Liaison,
    Participation,
    Resolution,
    Session,
    Task,
    Topic,
    TopicState,
    Vote,
    VoteState,
)

PUBLIC_STATES = (TopicState.ACCEPTED, TopicState.DECLINED, TopicState.DECIDED, TopicState.CARRIED_OUT)


def _to_int(value: Any) -> int:
    parsed = parse_id(value)
    if parsed is None:
        raise NotFound()
    return parsed


def topic_queryset(actor: MaybeAnonymousActor) -> QuerySet[Topic]:
    """Topics the actor may see in full: staff's reach, or the actor's own community."""
    condition = reach(actor, Permission.DELIBERATION_MANAGE).q("community__path")
    if reach(actor, Permission.DELIBERATION_MANAGE).is_empty:
        condition = Q(pk__in=[])
    community_id = resident_community_id(actor)
    if community_id is not None:
        condition |= Q(community_id=community_id)
    return Topic.objects.filter(condition)


def public_topics(community: Place | None = None) -> QuerySet[Topic]:
    """The public record: topics past the proposal (accepted, declined with reason, decided, carried out)."""
    queryset = Topic.objects.filter(state__in=PUBLIC_STATES)
    if community is not None:
        queryset = queryset.filter(community=community)
    return queryset


def access_topic(actor: MaybeAnonymousActor, topic_id: Any) -> Topic:
    """The topic if the actor may see it (staff, resident of its community); NotFound otherwise."""
    topic = topic_queryset(actor).select_related("community", "catalogue_entry").filter(pk=_to_int(topic_id)).first()
    if topic is None:
        raise NotFound()
    return topic


def access_public_topic(topic_id: Any) -> Topic:
    topic = public_topics().select_related("community").filter(pk=_to_int(topic_id)).first()
    if topic is None:
        raise NotFound()
    return topic


def access_vote(actor: MaybeAnonymousActor, vote_id: Any) -> Vote:
    vote = Vote.objects.select_related("topic", "community").filter(pk=_to_int(vote_id)).first()
    if vote is None:
        raise NotFound()
    access_topic(actor, vote.topic_id)
    return vote


def access_public_vote(vote_id: Any) -> Vote:
    """A vote whose result is published (anyone may read it and its chain)."""
    vote = (
        Vote.objects.select_related("topic", "community").filter(pk=_to_int(vote_id), state=VoteState.PUBLISHED).first()
    )
    if vote is None:
        raise NotFound()
    return vote


def access_session(actor: MaybeAnonymousActor, session_id: Any) -> Session:
    session = Session.objects.select_related("topic__community").filter(pk=_to_int(session_id)).first()
    if session is None or not reach(actor, Permission.DELIBERATION_MANAGE).covers(session.topic.community.path):
        raise NotFound()
    return session


def access_task(actor: MaybeAnonymousActor, task_id: Any) -> Task:
    task = Task.objects.select_related("topic__community").filter(pk=_to_int(task_id)).first()
    if task is None or not reach(actor, Permission.DELIBERATION_MANAGE).covers(task.topic.community.path):
        raise NotFound()
    return task


def managed_communities(actor: MaybeAnonymousActor) -> list[Place]:
    """Communities in the actor's deliberation reach."""
    scope = reach(actor, Permission.DELIBERATION_MANAGE)
    if scope.is_empty:
        return []
    return list(Place.objects.filter(scope.q(), kind=PlaceKind.COMMUNITY, is_active=True).order_by("path"))


def access_community(actor: MaybeAnonymousActor, community_id: Any) -> Place:
    for community in managed_communities(actor):
        if community.pk == _to_int(community_id):
            return community
    raise NotFound()


@dataclass(frozen=True)
class AgendaFilters:
    community: Place | None = None
    state: str = ""
    search: str = ""


def agenda(actor: MaybeAnonymousActor, filters: AgendaFilters) -> QuerySet[Topic]:
    """Staff's table of topics in reach, newest first, filtered by community, state and text."""
    scope = reach(actor, Permission.DELIBERATION_MANAGE)
    if scope.is_empty:
        return Topic.objects.none()
    queryset = Topic.objects.filter(scope.q("community__path")).select_related("community", "catalogue_entry")
    if filters.community is not None:
        queryset = queryset.filter(community=filters.community)
    if filters.state:
        queryset = queryset.filter(state=filters.state)
    if filters.search.strip():
        text = filters.search.strip()
        queryset = queryset.filter(Q(title__icontains=text) | Q(description__icontains=text))
    return queryset.order_by("-proposed_at", "-pk")


def search_public_record(community: Place | None, text: str = "") -> QuerySet[Topic]:
    """The community's public record searched in titles, descriptions, decisions, reasons and results."""
    queryset = public_topics(community).select_related("community")
    text = text.strip()
    if text:
        queryset = queryset.filter(
            Q(title__icontains=text)
            | Q(description__icontains=text)
            | Q(decision__icontains=text)
            | Q(decline_reason__icontains=text)
            | Q(result_summary__icontains=text)
        )
    return queryset.order_by("-proposed_at", "-pk")


def my_community_topics(actor: MaybeAnonymousActor) -> QuerySet[Topic]:
    """A resident's community's topics, newest first (empty for anyone else)."""
    community_id = resident_community_id(actor)
    if community_id is None:
        return Topic.objects.none()
    return Topic.objects.filter(community_id=community_id).select_related("community").order_by("-proposed_at", "-pk")


def open_votes_of_community(actor: MaybeAnonymousActor, *, now: datetime) -> list[Vote]:
    """Votes of the actor's community open at ``now`` (for the resident's home card)."""
    community_id = resident_community_id(actor)
    if community_id is None:
        return []
    return list(
        Vote.objects.filter(community_id=community_id, state=VoteState.OPEN, opens_at__lte=now, closes_at__gt=now)
        .select_related("topic")
        .order_by("closes_at")[:5]
    )


def _bigrams(text: str) -> set[str]:
    cleaned = "".join(ch for ch in text.lower() if ch.isalnum())
    return {cleaned[i : i + 2] for i in range(len(cleaned) - 1)}


def similar_topics(community: Place, title: str, *, exclude_id: int | None = None, limit: int = 5) -> list[Topic]:
    """Possible duplicates: the community's topics whose titles share at least half of the character pairs."""
    wanted = _bigrams(title)
    if not wanted:
        return []
    found: list[tuple[float, Topic]] = []
    candidates = Topic.objects.filter(community=community).exclude(pk=exclude_id or 0).order_by("-proposed_at")[:300]
    for topic in candidates:
        other = _bigrams(topic.title)
        if not other:
            continue
        score = len(wanted & other) / min(len(wanted), len(other))
        if score >= 0.5:
            found.append((score, topic))
    found.sort(key=lambda item: -item[0])
    return [topic for _score, topic in found[:limit]]


def catalogue(community: Place) -> QuerySet[CatalogueEntry]:
    """The community's consultation catalogue in force (a public commitment: anyone may read it)."""
    return CatalogueEntry.objects.filter(community=community, is_active=True).order_by("-is_major", "name", "pk")


def liaisons(community: Place) -> QuerySet[Liaison]:
    """The community's liaisons in office, with their residents (names are masked where shown)."""
    return (
        Liaison.objects.filter(community=community, ends_on__isnull=True)
        .select_related("resident", "serves")
        .order_by("pk")
    )


def has_cosigned(actor: MaybeAnonymousActor, topic: Topic) -> bool:
    resident = actor_resident(actor)
    return resident is not None and topic.cosignatures.filter(resident=resident).exists()


def resolution_of(topic: Topic) -> Resolution | None:
    return Resolution.objects.filter(topic=topic).prefetch_related("steps").first()


def vote_scope_paths(vote: Vote) -> list[str]:
    """The place paths whose residents (or households) vote: the named buildings, else the community."""
    cached = getattr(vote, "_scope_paths", None)
    if cached is None:
        cached = list(vote.buildings.values_list("path", flat=True)) or [vote.community.path]
        vote._scope_paths = cached  # type: ignore[attr-defined]
    return cached


def my_participation(actor: MaybeAnonymousActor, vote: Vote) -> Participation | None:
    """The participation that already speaks for the actor (their household's or their own), if any."""
    resident = actor_resident(actor)
    if resident is None:
        return None
    return (
        Participation.objects.filter(vote=vote).filter(Q(household=resident.household) | Q(resident=resident)).first()
    )


def vote_result(vote: Vote, *, now: datetime) -> dict[str, Any]:
    """The published result; before the close, ``results_hidden``; after the close but unpublished, the count."""
    if vote.state == VoteState.PUBLISHED:
        return vote.result
    if now < vote.closes_at:
        raise DeliberationError.RESULTS_HIDDEN()
    from .voting import tally

    return tally(vote)


def chain_report(vote: Vote) -> ChainReport:
    """Recompute the vote's ballot chain from the stored rows and compare it with the head the vote keeps."""
    head = Vote.objects.filter(pk=vote.pk).values_list("ballot_count", "head_hash").get()
    rows = (
        Ballot.objects.filter(vote_id=vote.pk)
        .order_by("sequence", "pk")
        .values_list("sequence", "choice", "voter", "channel", "tally_sheet_id", "cast_at", "previous_hash", "hash")
        .iterator(chunk_size=5000)
    )
    return verify_rows(vote.pk, rows, expected_count=head[0], expected_head=head[1])


def votes_with_ballots() -> QuerySet[Vote]:
    """Every vote with at least one ballot (for the nightly verification), by id; a system read, no actor."""
    return Vote.objects.filter(ballot_count__gt=0).select_related("community").order_by("pk")


def votes_of_topic(topic: Topic) -> QuerySet[Vote]:
    return Vote.objects.filter(topic=topic).prefetch_related("choices").order_by("opens_at", "pk")


def published_votes(community: Place | None = None) -> QuerySet[Vote]:
    queryset = Vote.objects.filter(state=VoteState.PUBLISHED).select_related("topic", "community")
    if community is not None:
        queryset = queryset.filter(community=community)
    return queryset.order_by("-published_at", "-pk")


def published_resolutions(community: Place | None = None) -> QuerySet[Resolution]:
    queryset = Resolution.objects.filter(published_at__isnull=False).select_related("topic__community")
    if community is not None:
        queryset = queryset.filter(topic__community=community)
    return queryset.order_by("-published_at", "-pk")


def communities_with_public_record() -> list[Place]:
    ids = Topic.objects.filter(state__in=PUBLIC_STATES).values("community_id").distinct()
    return list(Place.objects.filter(pk__in=ids).order_by("path"))


def paper_candidates(vote: Vote, *, limit: int = 300) -> list[Any]:
    """Who has not voted yet (households, or residents for a person vote) in the vote's scope, for the paper
    ballot form: at most ``limit``, by place path."""
    from gongzhi.core.tree import subtrees_q
    from gongzhi.people.models import Resident

    paths = vote_scope_paths(vote)
    if vote.kind == "household":
        voted_households = Participation.objects.filter(vote=vote, household__isnull=False).values("household_id")
        return list(
            Place.objects.filter(subtrees_q(paths), kind=PlaceKind.HOUSEHOLD, is_active=True, residents__is_active=True)
            .exclude(pk__in=voted_households)
            .distinct()
            .order_by("path")[:limit]
        )
    voted = Participation.objects.filter(vote=vote, resident__isnull=False).values("resident_id")
    return list(
        Resident.objects.filter(subtrees_q(paths, "household__path"), is_active=True)
        .exclude(pk__in=voted)
        .select_related("household")
        .order_by("household__path", "pk")[:limit]
    )


# ---------------------------------------------------------------- the cockpit's ledger (工作台账)


def topics_ledger(actor: MaybeAnonymousActor, place: Place, period: Any) -> QuerySet[Topic]:
    """Topics of communities in ``place``'s subtree proposed in ``period``, oldest first (the cockpit's
    deliberation ledger). NotFound unless ``cockpit.report_generate`` reaches the place."""
    from gongzhi.core.access import require_reach
    from gongzhi.core.tree import subtree_q

    require_reach(actor, Permission.REPORT_GENERATE, place.path)
    return (
        Topic.objects.filter(subtree_q(place.path, "community__path"))
        .filter(proposed_at__gte=period.start, proposed_at__lt=period.end)
        .select_related("community", "proposer_resident")
        .order_by("proposed_at", "pk")
    )


def votes_ledger(actor: MaybeAnonymousActor, place: Place, period: Any) -> QuerySet[Vote]:
    """Votes of communities in ``place``'s subtree closing in ``period`` (counts and outcome, no ballot)."""
    from gongzhi.core.access import require_reach
    from gongzhi.core.tree import subtree_q

    require_reach(actor, Permission.REPORT_GENERATE, place.path)
    return (
        Vote.objects.filter(subtree_q(place.path, "community__path"))
        .filter(closes_at__gte=period.start, closes_at__lt=period.end)
        .select_related("community", "topic")
        .order_by("closes_at", "pk")
    )


def resolutions_ledger(actor: MaybeAnonymousActor, place: Place, period: Any) -> QuerySet[Resolution]:
    """Resolutions of topics in ``place``'s subtree started, published or with a result published in ``period``."""
    from gongzhi.core.access import require_reach
    from gongzhi.core.tree import subtree_q

    require_reach(actor, Permission.REPORT_GENERATE, place.path)
    return (
        Resolution.objects.filter(subtree_q(place.path, "topic__community__path"))
        .filter(
            Q(created_at__gte=period.start, created_at__lt=period.end)
            | Q(published_at__gte=period.start, published_at__lt=period.end)
            | Q(result_published_at__gte=period.start, result_published_at__lt=period.end)
        )
        .select_related("topic__community")
        .order_by("created_at", "pk")
    )


# ---------------------------------------------------------------- personal data (collected by people.personal_data)


def personal_data_of(resident: Any, account: Any) -> list[dict[str, Any]]:
    """What deliberation holds about ``resident``: topics they proposed, co-signatures, ratings, votes they took part
    in (their household's or their own) and, on an open ballot, the choice recorded. A secret ballot's choice is not
    linked to anyone, the voter included, so it cannot be shown. Read-only plain rows."""
    from django.utils.translation import gettext as gettext_now

    from .models import CoSignature, Rating, Secrecy, VoteChoice

    if resident is None:
        return []
    proposer_q = Q(proposer_resident=resident) | (Q(proposer=account) if account is not None else Q(pk__in=[]))
    topics = Topic.objects.filter(proposer_q).order_by("pk")
    cosigned = CoSignature.objects.filter(resident=resident).select_related("topic").order_by("signed_at", "pk")
    ratings = Rating.objects.filter(resident=resident).select_related("topic").order_by("rated_at", "pk")
    voter_q = Q(resident=resident) | Q(cast_by=resident)
    if resident.household_id:
        voter_q |= Q(household_id=resident.household_id)
    participations = list(Participation.objects.filter(voter_q).select_related("vote").order_by("recorded_on", "pk"))
    open_refs = {
        (item.vote_id, f"household:{item.household_id}" if item.household_id else f"resident:{item.resident_id}")
        for item in participations
        if item.vote.secrecy == Secrecy.OPEN
    }
    choices: dict[int, str] = {}
    if open_refs:
        ballots = Ballot.objects.filter(
            vote_id__in={vote_id for vote_id, _ref in open_refs}, voter__in={ref for _vote, ref in open_refs}
        )
        labels = {
            (row.vote_id, row.position): row.label
            for row in VoteChoice.objects.filter(vote_id__in={vote_id for vote_id, _ref in open_refs})
        }
        for ballot in ballots:
            if (ballot.vote_id, ballot.voter) in open_refs:
                choices[ballot.vote_id] = labels.get((ballot.vote_id, ballot.choice), str(ballot.choice))
    secret_note = gettext_now("secret ballot: your choice is not linked to you, not even here")
    return [
        {
            "key": "deliberation.topics",
            "title": gettext_now("Topics proposed"),
            "columns": [("title", gettext_now("title")), ("description", gettext_now("description"))],
            "rows": [{"title": topic.title, "description": topic.description} for topic in topics],
        },
        {
            "key": "deliberation.cosignatures",
            "title": gettext_now("Co-signatures"),
            "columns": [("topic", gettext_now("topic")), ("signed_at", gettext_now("signed at"))],
            "rows": [{"topic": row.topic.title, "signed_at": row.signed_at} for row in cosigned],
        },
        {
            "key": "deliberation.ratings",
            "title": gettext_now("Ratings of carried-out topics"),
            "columns": [
                ("topic", gettext_now("topic")),
                ("score", gettext_now("score")),
                ("comment", gettext_now("comment")),
            ],
            "rows": [{"topic": row.topic.title, "score": row.score, "comment": row.comment} for row in ratings],
        },
        {
            "key": "deliberation.votes",
            "title": gettext_now("Votes taken part in"),
            "columns": [
                ("vote", gettext_now("question")),
                ("recorded_on", gettext_now("voted on")),
                ("channel", gettext_now("channel")),
                ("choice", gettext_now("choice")),
            ],
            "rows": [
                {
                    "vote": item.vote.title,
                    "recorded_on": item.recorded_on,
                    "channel": item.get_channel_display(),
                    "choice": secret_note if item.vote.secrecy == Secrecy.SECRET else choices.get(item.vote_id, ""),
                }
                for item in participations
            ],
        },
    ]
