"""Deliberation's services: a topic from proposal to evaluation, co-signing, the five steps, carrying out, and
every refusal of the issue's "Bad input" (each with assert_refused: the code, and no row of any table changed)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gongzhi.core.errors import CoreError
from gongzhi.core.models import AuditEntry
from gongzhi.core.testing import assert_refused
from gongzhi.deliberation import services
from gongzhi.deliberation.errors import DeliberationError
from gongzhi.deliberation.models import (
    CoSignature,
    CosignBasis,
    ParticipantKind,
    SessionMethod,
    TopicSource,
    TopicState,
)
from gongzhi.deliberation.selectors import public_topics, search_public_record, similar_topics

from .factories import NOW, TODAY, accepted_topic

pytestmark = pytest.mark.django_db


def propose(world, actor="zhang", title="楼道堆物清理", **extra):
    return services.topic_propose(
        actor=world[actor],
        community=world["community"],
        title=title,
        description="楼道里堆了很多杂物",
        catalogue_entry=world["ordinary_entry"],
        now=NOW - timedelta(days=3),
        **extra,
    )


def test_topic_from_proposal_to_evaluation(world):
    topic = propose(world)
    assert topic.state == TopicState.PROPOSED
    assert (topic.cosign_progress, topic.cosign_threshold) == (1, 2)  # the proposer's own signature counts
    topic = services.topic_cosign(actor=world["wang"], topic=topic, now=NOW - timedelta(days=3))
    assert topic.cosign_progress == 2 and topic.cosign_percent == 100
    topic = services.topic_accept(actor=world["secretary"], topic=topic, now=NOW - timedelta(days=2))
    assert topic.state == TopicState.ACCEPTED

    session = services.session_schedule(
        actor=world["secretary"],
        topic=topic,
        venue="社区议事厅",
        starts_at=NOW - timedelta(days=1),
        matter="楼道杂物如何清理、由谁清理",
        method=SessionMethod.MEETING,
        now=NOW - timedelta(days=2),
    )
    invited = services.session_invite(
        actor=world["secretary"], session=session, kind=ParticipantKind.RESIDENT, resident=world["zhao"].resident
    )
    services.session_invite(actor=world["secretary"], session=session, kind=ParticipantKind.EXPERT, name="消防专家刘工")
    session = services.session_record(
        actor=world["secretary"], session=session, attended=[invited.pk], summary="一致同意周末集中清理", now=NOW
    )
    assert session.held_at == NOW and session.invitations.filter(attended=True).count() == 1

    topic = services.topic_decide(
        actor=world["secretary"], topic=topic, decision="本周六集中清理", carried_out_by="楼栋长和志愿者", now=NOW
    )
    assert topic.state == TopicState.DECIDED
    task = services.task_add(actor=world["secretary"], topic=topic, title="清理1号楼", owner="楼栋长", due_on=TODAY)
    assert_refused(
        DeliberationError.TASKS_OPEN,
        lambda: services.topic_complete(actor=world["secretary"], topic=topic, result_summary="已清理", now=NOW),
    )
    services.task_progress(actor=world["secretary"], task=task, progress=50, note="清理了一半", today=TODAY)
    task = services.task_progress(actor=world["secretary"], task=task, progress=100, today=TODAY)
    assert task.done_on == TODAY
    topic = services.topic_complete(actor=world["secretary"], topic=topic, result_summary="楼道已清空", now=NOW)
    assert topic.state == TopicState.CARRIED_OUT

    rating = services.topic_rate(actor=world["zhao"], topic=topic, score=5, comment="很好", now=NOW)
    assert rating.score == 5
    assert_refused(
        DeliberationError.ALREADY_RATED, lambda: services.topic_rate(actor=world["zhao"], topic=topic, score=4, now=NOW)
    )
    assert list(search_public_record(world["community"], "周六")) == [topic]
    assert AuditEntry.objects.filter(action__startswith="deliberation.").count() >= 10


def test_cosigning_twice_is_refused(world):
    topic = propose(world)
    services.topic_cosign(actor=world["wang"], topic=topic, now=NOW)
    assert_refused(
        DeliberationError.ALREADY_COSIGNED, lambda: services.topic_cosign(actor=world["wang"], topic=topic, now=NOW)
    )
    assert_refused(
        DeliberationError.ALREADY_COSIGNED, lambda: services.topic_cosign(actor=world["zhang"], topic=topic, now=NOW)
    )


def test_cosigning_counted_by_households(world):
    services.settings_update(
        actor=world["secretary"], community=world["community"], cosign_threshold=2, cosign_basis=CosignBasis.HOUSEHOLDS
    )
    topic = propose(world)
    topic = services.topic_cosign(actor=world["li"], topic=topic, now=NOW)  # same household as the proposer
    assert (topic.cosigner_count, topic.cosign_progress) == (2, 1)
    assert_refused(DeliberationError.TOPIC_STATE, lambda: services.topic_accept(actor=world["secretary"], topic=topic))
    topic = services.topic_cosign(actor=world["zhao"], topic=topic, now=NOW)
    assert topic.cosign_progress == 2
    assert services.topic_accept(actor=world["secretary"], topic=topic, now=NOW).state == TopicState.ACCEPTED


def test_outsiders_cannot_propose_or_cosign(world):
    topic = propose(world)
    assert_refused(
        DeliberationError.NOT_A_RESIDENT_HERE, lambda: services.topic_cosign(actor=world["sun"], topic=topic)
    )
    assert_refused(DeliberationError.NOT_A_RESIDENT_HERE, lambda: propose(world, actor="sun"))
    assert_refused(CoreError.NOT_AUTHENTICATED, lambda: services.topic_cosign(actor=None, topic=topic))
    # staff of another community: the topic is out of reach
    assert_refused(CoreError.NOT_FOUND, lambda: services.topic_accept(actor=world["worker_b"], topic=topic))


def test_declined_with_a_published_reason(world):
    topic = propose(world)
    assert_refused(
        CoreError.VALIDATION_FAILED, lambda: services.topic_decline(actor=world["secretary"], topic=topic, reason=" ")
    )
    topic = services.topic_decline(
        actor=world["secretary"], topic=topic, reason="属于物业合同范围，已转物业处理", now=NOW
    )
    assert topic.state == TopicState.DECLINED
    assert public_topics(world["community"]).get() == topic
    assert_refused(DeliberationError.TOPIC_STATE, lambda: services.topic_cosign(actor=world["li"], topic=topic))
    assert_refused(DeliberationError.TOPIC_STATE, lambda: services.topic_accept(actor=world["secretary"], topic=topic))


def test_staff_and_branch_topics_need_no_cosignatures(world):
    topic = services.topic_propose(
        actor=world["secretary"],
        community=world["community"],
        title="社区停车秩序",
        description="党支部提出",
        source=TopicSource.PARTY_BRANCH,
        party_organisation=world["branch"],
        now=NOW,
    )
    assert services.topic_accept(actor=world["secretary"], topic=topic, now=NOW).state == TopicState.ACCEPTED
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: services.topic_propose(
            actor=world["zhang"], community=world["community"], title="x", description="y", source=TopicSource.STAFF
        ),
    )


def test_possible_duplicates_are_shown(world):
    propose(world, title="楼道堆物清理")
    assert [t.title for t in similar_topics(world["community"], "清理楼道堆物问题")] == ["楼道堆物清理"]
    assert similar_topics(world["community"], "加装电梯") == []


def test_deciding_needs_a_held_session_and_an_ordinary_matter(world):
    topic = accepted_topic(world)
    assert_refused(
        DeliberationError.TOPIC_STATE,
        lambda: services.topic_decide(actor=world["secretary"], topic=topic, decision="d", carried_out_by="x", now=NOW),
    )
    major = accepted_topic(world, major=True, title="小区改造")
    assert_refused(
        DeliberationError.MAJOR_NEEDS_RESOLUTION,
        lambda: services.topic_decide(actor=world["secretary"], topic=major, decision="d", carried_out_by="x", now=NOW),
    )


def test_a_session_cannot_be_recorded_before_it_starts(world):
    topic = accepted_topic(world)
    session = services.session_schedule(
        actor=world["secretary"],
        topic=topic,
        venue="议事厅",
        starts_at=NOW + timedelta(days=1),
        matter="m",
        method=SessionMethod.HEARING,
        now=NOW,
    )
    assert_refused(
        DeliberationError.STEP_BACKDATED,
        lambda: services.session_record(actor=world["secretary"], session=session, attended=[], summary="s", now=NOW),
    )


def test_catalogue_and_liaisons(world):
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: services.catalogue_entry_add(actor=world["secretary"], community=world["community"], name="楼道环境"),
    )
    liaison = services.liaison_appoint(
        actor=world["secretary"], community=world["community"], resident=world["zhao"].resident, starts_on=TODAY
    )
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: services.liaison_appoint(
            actor=world["secretary"], community=world["community"], resident=world["zhao"].resident, starts_on=TODAY
        ),
    )
    assert_refused(
        DeliberationError.NOT_A_RESIDENT_HERE,
        lambda: services.liaison_appoint(
            actor=world["secretary"], community=world["community"], resident=world["sun"].resident, starts_on=TODAY
        ),
    )
    services.liaison_end(actor=world["secretary"], liaison=liaison, ends_on=TODAY)
    assert CoSignature.objects.count() == 0
