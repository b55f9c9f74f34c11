"""Reads scoped by the place path: staff see their reach, a resident their community, everyone the public record."""

from __future__ import annotations

import pytest

from gongzhi.core.errors import NotFound
from gongzhi.deliberation import selectors, services

from .factories import open_vote

pytestmark = pytest.mark.django_db


def test_topics_are_seen_by_staff_in_reach_and_residents_of_the_community(world):
    topic = services.topic_propose(actor=world["zhang"], community=world["community"], title="t", description="d")
    assert selectors.access_topic(world["secretary"], topic.pk) == topic
    assert selectors.access_topic(world["zhao"], topic.pk) == topic
    assert selectors.access_topic(world["admin"], topic.pk) == topic
    for outsider in (world["sun"], world["worker_b"], None):
        with pytest.raises(NotFound):
            selectors.access_topic(outsider, topic.pk)
    with pytest.raises(NotFound):
        selectors.access_topic(world["secretary"], "garbage")
    assert list(selectors.agenda(world["secretary"], selectors.AgendaFilters())) == [topic]
    assert list(selectors.agenda(world["worker_b"], selectors.AgendaFilters())) == []
    assert list(selectors.agenda(world["zhang"], selectors.AgendaFilters())) == []  # residents have no agenda
    assert list(selectors.my_community_topics(world["zhao"])) == [topic]
    assert list(selectors.my_community_topics(world["sun"])) == []


def test_the_public_record_holds_only_topics_past_the_proposal(world):
    proposed = services.topic_propose(actor=world["zhang"], community=world["community"], title="a", description="d")
    declined = services.topic_propose(actor=world["zhang"], community=world["community"], title="b", description="d")
    services.topic_decline(actor=world["secretary"], topic=declined, reason="r")
    assert list(selectors.public_topics(world["community"])) == [declined]
    with pytest.raises(NotFound):
        selectors.access_public_topic(proposed.pk)
    assert selectors.communities_with_public_record() == [world["community"]]


def test_votes_follow_their_topic_and_public_votes_only_once_published(world):
    vote = open_vote(world)
    assert selectors.access_vote(world["zhang"], vote.pk) == vote
    with pytest.raises(NotFound):
        selectors.access_vote(world["sun"], vote.pk)
    with pytest.raises(NotFound):
        selectors.access_public_vote(vote.pk)
    assert selectors.vote_scope_paths(vote) == [world["community"].path]
    assert len(selectors.paper_candidates(vote)) == 3


def test_staff_communities(world):
    assert selectors.managed_communities(world["secretary"]) == [world["community"]]
    assert selectors.managed_communities(world["zhang"]) == []
    with pytest.raises(NotFound):
        selectors.access_community(world["secretary"], world["community_b"].pk)
