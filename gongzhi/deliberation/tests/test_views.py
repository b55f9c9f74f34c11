"""Pages through the real client: resident (propose with duplicates, co-sign, vote, rate), staff (agenda with
figures and Excel, catalogue, a topic's work, paper ballots, publishing), public record and results."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from gongzhi.core.testing import assert_refused, image_upload
from gongzhi.deliberation import services
from gongzhi.deliberation.errors import DeliberationError
from gongzhi.deliberation.models import Ballot, Participation, Topic, TopicState, Vote, VoteState

from .factories import NOW, accepted_topic, open_vote

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def login(client, account):
    client.force_login(account)
    return client


def test_resident_home_and_propose_with_possible_duplicates(client, world):
    login(client, world["zhang"])
    assert client.get("/deliberation/").status_code == 200
    services.topic_propose(actor=world["wang"], community=world["community"], title="楼道堆物清理", description="d")
    response = client.post("/deliberation/propose/", {"title": "清理楼道堆物", "description": "杂物太多"})
    assert response.status_code == 200 and 'data-testid="similar"' in response.content.decode()
    assert Topic.objects.count() == 1
    response = client.post(
        "/deliberation/propose/", {"title": "清理楼道堆物", "description": "杂物太多", "confirmed": "1"}
    )
    topic = Topic.objects.get(title="清理楼道堆物")
    assert response.status_code == 302 and response["Location"] == f"/deliberation/topics/{topic.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="cosign-progress"' in page and 'data-testid="cosigned"' in page
    assert 'data-testid="cosign-qr"' in page and "<svg" in page


def test_propose_keeps_what_was_typed_on_refusal(client, world):
    login(client, world["zhang"])
    response = client.post("/deliberation/propose/", {"title": "有标题", "description": ""})
    assert response.status_code == 422 and "有标题" in response.content.decode()


def test_cosign_and_cosign_twice(client, world):
    topic = services.topic_propose(actor=world["zhang"], community=world["community"], title="t", description="d")
    login(client, world["wang"])
    assert client.post(f"/deliberation/topics/{topic.pk}/cosign/").status_code == 302
    topic.refresh_from_db()
    assert topic.cosigner_count == 2
    assert_refused(DeliberationError.ALREADY_COSIGNED, lambda: client.post(f"/deliberation/topics/{topic.pk}/cosign/"))


def test_outsider_sees_not_found(client, world):
    topic = services.topic_propose(actor=world["zhang"], community=world["community"], title="t", description="d")
    login(client, world["sun"])
    assert client.get(f"/deliberation/topics/{topic.pk}/").status_code == 404
    assert client.get(f"/deliberation/manage/topics/{topic.pk}/").status_code == 404
    assert client.get("/deliberation/manage/").status_code == 404


def test_vote_on_the_page_then_twice(client, world):
    vote = open_vote(world)
    login(client, world["li"])
    page = client.get(f"/deliberation/topics/{vote.topic_id}/").content.decode()
    assert 'data-testid="cast"' in page and 'data-testid="result"' not in page
    response = client.post(f"/deliberation/votes/{vote.pk}/cast/", {"choice": "1"})
    assert response.status_code == 302
    login(client, world["zhang"])
    assert 'data-testid="voted"' in client.get(f"/deliberation/topics/{vote.topic_id}/").content.decode()
    assert_refused(
        DeliberationError.ALREADY_VOTED, lambda: client.post(f"/deliberation/votes/{vote.pk}/cast/", {"choice": "2"})
    )


def test_staff_agenda_figures_filters_export_and_query_count(client, world, django_assert_max_num_queries):
    for index in range(12):
        services.topic_propose(
            actor=world["zhang"], community=world["community"], title=f"议题{index}", description="d"
        )
    login(client, world["secretary"])
    with django_assert_max_num_queries(25):
        response = client.get("/deliberation/manage/")
    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="figures"' in page and "议题11" in page
    assert "议题3" in client.get("/deliberation/manage/?q=议题3").content.decode()
    assert 'data-testid="agenda"' not in client.get("/deliberation/manage/?state=declined").content.decode()
    export = client.get("/deliberation/manage/?format=xlsx")
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_staff_catalogue_page(client, world):
    login(client, world["secretary"])
    url = f"/deliberation/manage/{world['community'].pk}/catalogue/"
    assert "老旧小区改造" in client.get(url).content.decode()
    assert client.post(url, {"action": "entry_add", "name": "停车管理", "is_major": "1"}).status_code == 302
    response = client.post(url, {"action": "entry_add", "name": "停车管理"})
    assert response.status_code == 422
    response = client.post(
        url,
        {
            "action": "settings",
            "cosign_threshold": "3",
            "cosign_basis": "households",
            "meeting_quorum_numerator": "1",
            "meeting_quorum_denominator": "2",
        },
    )
    assert response.status_code == 302
    assert services.settings_for(world["community"]).cosign_threshold == 3


def test_staff_topic_work_accept_schedule_record_decide(client, world):
    topic = services.topic_propose(actor=world["zhang"], community=world["community"], title="t", description="d")
    services.topic_cosign(actor=world["wang"], topic=topic)
    login(client, world["secretary"])
    base = f"/deliberation/manage/topics/{topic.pk}/"
    assert client.get(base).status_code == 200
    assert client.post(base + "accept/").status_code == 302
    response = client.post(
        base + "session_schedule/",
        {"venue": "议事厅", "starts_at": "2031-05-12T09:00", "matter": "m", "method": "meeting"},
    )
    assert response.status_code == 302
    session = topic.sessions.get()
    assert (
        client.post(base + "session_invite/", {"session": session.pk, "kind": "expert", "name": "刘工"}).status_code
        == 302
    )
    invitation = session.invitations.get()
    assert (
        client.post(
            base + "session_record/", {"session": session.pk, "attended": [invitation.pk], "summary": "s"}
        ).status_code
        == 302
    )
    assert client.post(base + "decide/", {"decision": "做", "carried_out_by": "居委会"}).status_code == 302
    topic.refresh_from_db()
    assert topic.state == TopicState.DECIDED
    response = client.post(base + "task_add/", {"title": "任务", "owner": "王", "due_on": "2031-06-01"})
    assert response.status_code == 302
    assert_refused(DeliberationError.TOPIC_STATE, lambda: client.post(base + "accept/"))


def test_staff_four_steps_on_the_page_refuse_a_skipped_step(client, world):
    major = accepted_topic(world, major=True, at=NOW - timedelta(days=5))
    login(client, world["secretary"])
    base = f"/deliberation/manage/topics/{major.pk}/"
    assert 'data-testid="step-form"' in client.get(base).content.decode()
    assert_refused(
        DeliberationError.STEP_OUT_OF_ORDER,
        lambda: client.post(
            base + "step_2/",
            {"held_on": "2031-05-10", "minutes": "m", "entitled_count": "5", "present_count": "5", "in_favour": "5"},
        ),
    )
    assert (
        client.post(base + "step_1/", {"held_on": "2031-05-09", "minutes": "党委提议", "attendees": "党委"}).status_code
        == 302
    )
    assert_refused(
        DeliberationError.STEP_BACKDATED,
        lambda: client.post(
            base + "step_2/",
            {"held_on": "2031-05-08", "minutes": "m", "entitled_count": "5", "present_count": "5", "in_favour": "5"},
        ),
    )


def test_paper_ballots_and_publishing_on_the_staff_vote_page(client, world):
    vote = open_vote(world, closes_at=NOW + timedelta(hours=1))
    login(client, world["secretary"])
    url = f"/deliberation/manage/votes/{vote.pk}/"
    page = client.get(url).content.decode()
    assert "101" in page and 'data-testid="paper-submit"' in page
    response = client.post(
        url,
        {
            "action": "paper",
            "photo": image_upload("sheet.jpg"),
            f"ballot_{world['household_a1'].pk}": "1",
            f"ballot_{world['household_a1b'].pk}": "1",
        },
    )
    assert response.status_code == 302
    assert Participation.objects.filter(vote=vote, channel="paper").count() == 2
    response = client.post(url, {"action": "paper", f"ballot_{world['household_a2'].pk}": "1"})
    assert response.status_code == 422  # no photo: nothing entered
    assert Ballot.objects.filter(vote=vote).count() == 2
    assert_refused(DeliberationError.VOTE_NOT_CLOSED, lambda: client.post(url, {"action": "publish"}))
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        assert client.post(url, {"action": "publish"}).status_code == 302
    vote.refresh_from_db()
    assert vote.state == VoteState.PUBLISHED and vote.result["paper"] == 2


def test_public_record_topic_and_vote_pages(client, world):
    vote = open_vote(world, closes_at=NOW + timedelta(hours=1))
    services.vote_cast(actor=world["zhang"], vote=vote, choice=1, now=NOW)
    vote = services.vote_result_publish(actor=world["secretary"], vote=vote, now=NOW + timedelta(hours=2))
    declined = services.topic_propose(
        actor=world["zhao"], community=world["community"], title="拆除围墙", description="d"
    )
    services.topic_decline(actor=world["secretary"], topic=declined, reason="不属于社区事务")
    record = client.get(f"/deliberation/public/{world['community'].pk}/").content.decode()
    assert "不属于社区事务" in record and "加装电梯" in record and "data-print" in record
    assert "张三" not in record
    assert "拆除围墙" not in client.get(f"/deliberation/public/{world['community'].pk}/?q=电梯").content.decode()
    assert client.get(f"/deliberation/public/topics/{vote.topic_id}/").status_code == 200
    page = client.get(f"/deliberation/public/votes/{vote.pk}/").content.decode()
    assert 'data-testid="chain-intact"' in page and vote.result["head"] in page
    assert 'data-testid="result-qr"' in page
    assert client.get("/deliberation/public/").status_code == 200
    # a proposed topic is not in the public record; an unpublished vote neither
    proposed = services.topic_propose(
        actor=world["zhao"], community=world["community"], title="新议题", description="d"
    )
    assert client.get(f"/deliberation/public/topics/{proposed.pk}/").status_code == 404
    assert client.get(f"/deliberation/public/votes/{open_vote(world).pk}/").status_code == 404
    assert Vote.objects.count() == 2


def test_home_card_shows_open_votes_and_topics_to_cosign(client, world):
    vote = open_vote(world)
    services.topic_propose(actor=world["wang"], community=world["community"], title="新议题", description="d")
    login(client, world["zhang"])
    card = client.get("/deliberation/home-card/").content.decode()
    assert 'data-testid="home-open-vote"' in card and vote.title in card
    login(client, world["sun"])
    assert client.get("/deliberation/home-card/").content == b""
    login(client, world["secretary"])
    assert "/deliberation/manage/" in client.get("/deliberation/home-card/").content.decode()


def test_staff_proposes_for_a_party_branch_on_the_catalogue_page(client, world):
    login(client, world["secretary"])
    url = f"/deliberation/manage/{world['community'].pk}/catalogue/"
    assert world["branch"].name in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "action": "propose",
            "title": "停车秩序",
            "description": "d",
            "source": "party_branch",
            "party_organisation": str(world["branch"].pk),
        },
    )
    assert response.status_code == 302
    topic = Topic.objects.get(title="停车秩序")
    assert topic.party_organisation == world["branch"] and topic.cosign_threshold == 0


def test_list_pages_keep_their_query_count(client, world, django_assert_max_num_queries):
    for index in range(15):
        topic = services.topic_propose(
            actor=world["zhang"], community=world["community"], title=f"公开议题{index}", description="d"
        )
        services.topic_decline(actor=world["secretary"], topic=topic, reason=f"理由{index}")
    with django_assert_max_num_queries(12):
        record = client.get(f"/deliberation/public/{world['community'].pk}/")
    assert record.content.decode().count("理由") >= 15
    login(client, world["zhao"])
    with django_assert_max_num_queries(14):
        assert client.get("/deliberation/").status_code == 200
