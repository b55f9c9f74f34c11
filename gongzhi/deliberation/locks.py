"""Every row lock of deliberation, built on ``core.locks``: own table only, by primary key.

Lock order: topic → vote. A ballot is appended under the vote's lock, so the chain's head is read and moved by one
transaction at a time (no fork, no lost link); co-signatures are counted under the topic's lock.
"""

from __future__ import annotations

from gongzhi.core.locks import lock_row

from .models import Resolution, Topic, Vote


def lock_topic(topic_id: int) -> Topic:
    """The topic, locked (state and counters the latest committed)."""
    return lock_row(Topic.objects.all(), topic_id)


def lock_resolution(resolution_id: int) -> Resolution:
    """The resolution, locked: its steps are appended one at a time."""
    return lock_row(Resolution.objects.all(), resolution_id)


def lock_vote(vote_id: int) -> Vote:
    """The vote, locked: it holds the head of the ballot chain."""
    return lock_row(Vote.objects.all(), vote_id)
