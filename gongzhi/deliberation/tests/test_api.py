"""The API through the real client: topics, co-signing, ballots with receipts, hidden results, the public record
and a published chain; refusals in the one error shape, changing nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from gongzhi.core.errors import CoreError
from gongzhi.core.testing import assert_refused
from gongzhi.deliberation import services
from gongzhi.deliberation.errors import DeliberationError

from .factories import NOW, open_vote

pytestmark = pytest.mark.django_db
API = "/api/v1/deliberation"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_propose_list_similar_and_cosign(client, world):
    client.force_login(world["zhang"])
    response = client.post(
        f"{API}/topics", {"title": "增设充电桩", "description": "电动车"}, content_type="application/json"
    )
    assert response.status_code == 201
    topic = response.json()
    assert topic["state"] == "proposed" and topic["cosign_progress"] == 1
    assert client.get(f"{API}/topics").json()["count"] == 1
    assert [t["title"] for t in client.get(f"{API}/topics/similar", {"title": "充电桩增设"}).json()] == ["增设充电桩"]
    assert_refused(DeliberationError.ALREADY_COSIGNED, lambda: client.post(f"{API}/topics/{topic['id']}/cosign"))
    client.force_login(world["wang"])
    assert client.post(f"{API}/topics/{topic['id']}/cosign").json()["cosign_progress"] == 2
    client.force_login(world["sun"])
    assert_refused(CoreError.NOT_FOUND, lambda: client.get(f"{API}/topics/{topic['id']}"))
    assert_refused(CoreError.NOT_FOUND, lambda: client.post(f"{API}/topics/{topic['id']}/accept"))
    client.force_login(world["secretary"])
    assert client.post(f"{API}/topics/{topic['id']}/accept").json()["state"] == "accepted"


def test_staff_decline_needs_a_reason(client, world):
    topic = services.topic_propose(actor=world["zhang"], community=world["community"], title="t", description="d")
    client.force_login(world["secretary"])
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: client.post(f"{API}/topics/{topic.pk}/decline", {"reason": ""}, content_type="application/json"),
    )
    response = client.post(f"{API}/topics/{topic.pk}/decline", {"reason": "重复"}, content_type="application/json")
    assert response.json()["decline_reason"] == "重复"


def test_ballots_receipts_hidden_results_and_the_public_chain(client, world):
    vote = open_vote(world, closes_at=NOW + timedelta(hours=1))
    client.force_login(world["zhang"])
    response = client.post(f"{API}/votes/{vote.pk}/ballots", {"choice": 1}, content_type="application/json")
    assert response.status_code == 201 and response.json()["sequence"] == 1
    client.force_login(world["li"])
    assert_refused(
        DeliberationError.ALREADY_VOTED,
        lambda: client.post(f"{API}/votes/{vote.pk}/ballots", {"choice": 2}, content_type="application/json"),
    )
    assert_refused(DeliberationError.RESULTS_HIDDEN, lambda: client.get(f"{API}/votes/{vote.pk}/result"))
    client.logout()
    assert client.get(f"{API}/public/votes/{vote.pk}").status_code == 404
    services.vote_result_publish(actor=world["secretary"], vote=vote, now=NOW + timedelta(hours=2))
    result = client.get(f"{API}/public/votes/{vote.pk}").json()
    assert result["ballots"] == 1 and result["state"] == "published"
    chain = client.get(f"{API}/public/votes/{vote.pk}/chain").json()
    assert chain["intact"] and chain["head"] == chain["published_head"] == result["head"]
    record = client.get(f"{API}/public/communities/{world['community'].pk}/topics").json()
    assert record["count"] == 1


def test_voting_outside_the_window_in_the_api(client, world):
    vote = open_vote(world, opens_at=NOW + timedelta(hours=1), closes_at=NOW + timedelta(hours=2))
    client.force_login(world["zhang"])
    assert_refused(
        DeliberationError.VOTE_NOT_OPEN,
        lambda: client.post(f"{API}/votes/{vote.pk}/ballots", {"choice": 1}, content_type="application/json"),
    )


def test_staff_four_steps_publications_and_votes_in_the_api(client, world):
    from gongzhi.deliberation.tests.factories import TODAY, accepted_topic

    major = accepted_topic(world, major=True, at=NOW - timedelta(days=12))
    client.force_login(world["secretary"])
    url = f"{API}/topics/{major.pk}/resolution/steps"

    def post(body):
        return client.post(url, body, content_type="application/json")

    day = str(TODAY - timedelta(days=10))
    assert_refused(DeliberationError.STEP_OUT_OF_ORDER, lambda: post({"step": 2, "held_on": day, "minutes": "m"}))
    assert post({"step": 1, "held_on": day, "minutes": "m", "attendees": "党委"}).status_code == 201
    assert_refused(DeliberationError.STEP_OUT_OF_ORDER, lambda: post({"step": 1, "held_on": day, "minutes": "m"}))
    body = {"step": 2, "held_on": day, "minutes": "m", "entitled_count": 9, "present_count": 9, "in_favour": 9}
    assert post(body).status_code == 201
    members = [world[name].resident_id for name in ("zhang", "wang")]
    assert_refused(
        DeliberationError.QUORUM_NOT_MET,
        lambda: post({"step": 3, "held_on": day, "minutes": "m", "present_member_ids": members[:1], "in_favour": 1}),
    )
    assert (
        post({"step": 3, "held_on": day, "minutes": "m", "present_member_ids": members, "in_favour": 2}).status_code
        == 201
    )
    assert_refused(
        DeliberationError.PUBLISH_TOO_EARLY, lambda: client.post(f"{API}/topics/{major.pk}/resolution/publish")
    )
    body = {
        "step": 4,
        "held_on": day,
        "minutes": "m",
        "entitled_count": 30,
        "present_count": 25,
        "in_favour": 20,
        "text": "决议",
    }
    assert post(body).status_code == 201
    published = client.post(f"{API}/topics/{major.pk}/resolution/publish").json()
    assert published["steps_done"] == 4 and published["published_at"] and len(published["steps"]) == 4
    assert_refused(
        DeliberationError.PUBLISH_TOO_EARLY,
        lambda: client.post(
            f"{API}/topics/{major.pk}/resolution/result", {"result_text": "r"}, content_type="application/json"
        ),
    )
    other = accepted_topic(world, title="投票议题")
    response = client.post(
        f"{API}/topics/{other.pk}/votes",
        {
            "title": "是否同意",
            "kind": "person",
            "choices": ["同意", "不同意"],
            "opens_at": (NOW - timedelta(hours=1)).isoformat(),
            "closes_at": (NOW + timedelta(hours=1)).isoformat(),
            "secrecy": "secret",
            "building_ids": [world["building_a1"].pk],
        },
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["eligible_count"] == 3
    vote_id = response.json()["id"]
    assert_refused(DeliberationError.VOTE_NOT_CLOSED, lambda: client.post(f"{API}/votes/{vote_id}/publish"))
    client.force_login(world["zhang"])
    assert_refused(CoreError.NOT_FOUND, lambda: client.post(f"{API}/votes/{vote_id}/publish"))
