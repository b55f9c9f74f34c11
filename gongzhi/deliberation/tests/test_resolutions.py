"""The four-step resolution: the enforced order, quorum against the recorded attendance, dates, both
publications, and a published resolution that cannot be edited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gongzhi.core.testing import assert_refused
from gongzhi.deliberation import services
from gongzhi.deliberation.errors import DeliberationError
from gongzhi.deliberation.models import Resolution, TopicState

from .factories import NOW, TODAY, accepted_topic

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def step1(world, topic, day=TODAY - 10 * DAY):
    return services.resolution_propose(
        actor=world["secretary"], topic=topic, held_on=day, attendees="社区党委", minutes="党委提议", now=NOW
    )


def step2(world, topic, day=TODAY - 8 * DAY, present=7, in_favour=6):
    return services.resolution_discuss(
        actor=world["secretary"],
        topic=topic,
        held_on=day,
        attendees="两委成员",
        entitled_count=9,
        present_count=present,
        in_favour=in_favour,
        minutes="两委商议",
        now=NOW,
    )


def step3(world, topic, day=TODAY - 6 * DAY, present=None, in_favour=2):
    members = present if present is not None else [world["zhang"].resident_id, world["wang"].resident_id]
    return services.resolution_review(
        actor=world["secretary"],
        topic=topic,
        held_on=day,
        present_member_ids=members,
        in_favour=in_favour,
        minutes="党员大会审议",
        now=NOW,
    )


def step4(world, topic, day=TODAY - 4 * DAY, present=30, in_favour=25):
    return services.resolution_decide(
        actor=world["secretary"],
        topic=topic,
        held_on=day,
        entitled_count=40,
        present_count=present,
        in_favour=in_favour,
        against=3,
        minutes="居民代表会议决议",
        text="同意实施1号楼加装电梯，费用按楼层分摊",
        carried_out_by="居委会",
        now=NOW,
    )


@pytest.fixture
def major(world):
    return accepted_topic(world, major=True, at=NOW - 12 * DAY)


def test_the_four_steps_in_order_with_both_publications(world, major):
    step1(world, major)
    step2(world, major)
    step = step3(world, major)
    assert (step.entitled_count, step.present_count) == (3, 2)
    assert step.attendance.count() == 2
    assert_refused(
        DeliberationError.PUBLISH_TOO_EARLY, lambda: services.resolution_publish(actor=world["secretary"], topic=major)
    )
    step4(world, major)
    major.refresh_from_db()
    assert major.state == TopicState.DECIDED and major.carried_out_by == "居委会"
    services.resolution_edit(actor=world["secretary"], topic=major, text="同意实施1号楼加装电梯，费用按楼层比例分摊")
    assert_refused(
        DeliberationError.PUBLISH_TOO_EARLY,
        lambda: services.resolution_result_publish(actor=world["secretary"], topic=major, result_text="r", now=NOW),
    )
    resolution = services.resolution_publish(actor=world["secretary"], topic=major, now=NOW)
    assert resolution.published_at == NOW and "比例" in resolution.text
    assert_refused(
        DeliberationError.ALREADY_PUBLISHED,
        lambda: services.resolution_edit(actor=world["secretary"], topic=major, text="改过的决议"),
    )
    assert_refused(
        DeliberationError.ALREADY_PUBLISHED, lambda: services.resolution_publish(actor=world["secretary"], topic=major)
    )
    # the result only after carrying it out
    assert_refused(
        DeliberationError.PUBLISH_TOO_EARLY,
        lambda: services.resolution_result_publish(actor=world["secretary"], topic=major, result_text="r", now=NOW),
    )
    task = services.task_add(actor=world["secretary"], topic=major, title="施工", owner="施工方", due_on=TODAY)
    services.task_progress(actor=world["secretary"], task=task, progress=100, today=TODAY)
    services.topic_complete(actor=world["secretary"], topic=major, result_summary="电梯已投入使用", now=NOW)
    resolution = services.resolution_result_publish(
        actor=world["secretary"], topic=major, result_text="电梯已于5月投入使用", now=NOW
    )
    assert resolution.result_published_at == NOW
    assert_refused(
        DeliberationError.ALREADY_PUBLISHED,
        lambda: services.resolution_result_publish(actor=world["secretary"], topic=major, result_text="x", now=NOW),
    )


def test_no_step_can_be_skipped(world, major):
    assert_refused(DeliberationError.STEP_OUT_OF_ORDER, lambda: step2(world, major))
    step1(world, major)
    assert_refused(DeliberationError.STEP_OUT_OF_ORDER, lambda: step3(world, major))
    assert_refused(DeliberationError.STEP_OUT_OF_ORDER, lambda: step4(world, major))


def test_no_step_can_be_repeated(world, major):
    step1(world, major)
    assert_refused(DeliberationError.STEP_OUT_OF_ORDER, lambda: step1(world, major))
    step2(world, major)
    assert_refused(DeliberationError.STEP_OUT_OF_ORDER, lambda: step2(world, major))
    assert_refused(DeliberationError.STEP_OUT_OF_ORDER, lambda: step1(world, major))


def test_no_step_can_be_backdated_or_in_the_future(world, major):
    step1(world, major)
    assert_refused(DeliberationError.STEP_BACKDATED, lambda: step2(world, major, day=TODAY - 11 * DAY))
    assert_refused(DeliberationError.STEP_BACKDATED, lambda: step2(world, major, day=TODAY + DAY))
    # step 1 cannot be dated before the topic was accepted either
    other = accepted_topic(world, major=True, title="小区改造二期", at=NOW - 2 * DAY)
    assert_refused(DeliberationError.STEP_BACKDATED, lambda: step1(world, other, day=TODAY - 10 * DAY))


def test_party_members_meeting_needs_two_thirds_present_and_half_in_favour(world, major):
    step1(world, major)
    step2(world, major)
    assert_refused(
        DeliberationError.QUORUM_NOT_MET, lambda: step3(world, major, present=[world["zhang"].resident_id], in_favour=1)
    )
    assert_refused(
        DeliberationError.QUORUM_NOT_MET, lambda: step3(world, major, in_favour=1)
    )  # 1 of 2 is not more than half
    # someone who is not a party member cannot be counted present
    assert_refused(
        "validation_failed",
        lambda: step3(world, major, present=[world["zhang"].resident_id, world["li"].resident_id]),
    )
    step3(world, major)


def test_residents_meeting_quorum_is_the_communitys(world, major):
    step1(world, major)
    step2(world, major)
    step3(world, major)
    assert_refused(
        DeliberationError.QUORUM_NOT_MET, lambda: step4(world, major, present=26, in_favour=20)
    )  # < 2/3 of 40
    assert_refused(DeliberationError.QUORUM_NOT_MET, lambda: step4(world, major, present=30, in_favour=15))
    services.settings_update(
        actor=world["secretary"],
        community=world["community"],
        cosign_threshold=2,
        cosign_basis="persons",
        meeting_quorum_numerator=1,
        meeting_quorum_denominator=2,
    )
    step4(world, major, present=21, in_favour=15)
    assert Resolution.objects.get(topic=major).steps_done == 4


def test_committees_below_majority_is_not_recorded_as_deciding(world, major):
    step1(world, major)
    assert_refused(DeliberationError.QUORUM_NOT_MET, lambda: step2(world, major, present=6, in_favour=3))


def test_only_major_matters_take_the_four_steps(world):
    ordinary = accepted_topic(world)
    assert_refused(DeliberationError.NOT_MAJOR, lambda: step1(world, ordinary))
