"""The figures, computed from records made through the services, for a place subtree and a period."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gongzhi.core.figures import Period
from gongzhi.deliberation import kpis, services
from gongzhi.deliberation.models import SessionMethod

from .factories import NOW, TODAY, accepted_topic, open_vote

pytestmark = pytest.mark.django_db
MAY = Period.month(2031, 5)
APRIL = Period.month(2031, 4)


def test_figures_of_a_month(world, django_assert_max_num_queries):
    topic = accepted_topic(world)
    session = services.session_schedule(
        actor=world["secretary"],
        topic=topic,
        venue="v",
        starts_at=NOW - timedelta(hours=3),
        matter="m",
        method=SessionMethod.MEETING,
        now=NOW - timedelta(hours=4),
    )
    invited = services.session_invite(actor=world["secretary"], session=session, kind="expert", name="刘工")
    services.session_invite(actor=world["secretary"], session=session, kind="expert", name="陈工")
    services.session_record(actor=world["secretary"], session=session, attended=[invited.pk], summary="s", now=NOW)
    vote = open_vote(world, topic, closes_at=NOW + timedelta(hours=1))
    services.vote_cast(actor=world["zhang"], vote=vote, choice=1, now=NOW)
    services.vote_cast(actor=world["wang"], vote=vote, choice=1, now=NOW)
    services.topic_decide(actor=world["secretary"], topic=topic, decision="d", carried_out_by="x", now=NOW)
    services.liaison_appoint(
        actor=world["secretary"], community=world["community"], resident=world["zhao"].resident, starts_on=TODAY
    )
    with django_assert_max_num_queries(8):
        figures = kpis.all_figures(world["district"], MAY)
    deliberation = figures["deliberation"]
    assert (deliberation.sessions_held, deliberation.matters_settled, deliberation.topics_accepted) == (1, 1, 1)
    assert (deliberation.participation.numerator, deliberation.participation.denominator) == (1, 2)
    catalogue = figures["catalogue"]
    assert (catalogue.communities, catalogue.communities_with_catalogue, catalogue.liaisons) == (2, 1, 1)
    assert str(catalogue.catalogue_coverage.percent) == "50.0"
    votes = figures["votes"]
    assert (votes.votes, votes.ballots, votes.eligible) == (1, 2, 3) and str(votes.turnout.percent) == "66.7"
    assert figures["resolutions"].completed == 0 and figures["resolutions"].publication_rate.percent is None
    assert "—" in str(figures["resolutions"].publication_rate) or "–" in str(figures["resolutions"].publication_rate)
    # another month, another community: nothing
    assert kpis.deliberation_figures(world["district"], APRIL).sessions_held == 0
    assert kpis.vote_figures(world["community_b"], MAY).votes == 0
    assert kpis.all_figures(world["district"], MAY)["deliberation"].as_dict()["participation"]["percent"] == 50.0


def test_resolutions_with_both_publications(world):
    major = accepted_topic(world, major=True, at=NOW - timedelta(days=12))
    day = TODAY - timedelta(days=10)
    secretary = world["secretary"]
    services.resolution_propose(actor=secretary, topic=major, held_on=day, attendees="a", minutes="m", now=NOW)
    services.resolution_discuss(
        actor=secretary,
        topic=major,
        held_on=day,
        attendees="a",
        entitled_count=5,
        present_count=5,
        in_favour=5,
        minutes="m",
        now=NOW,
    )
    services.resolution_review(
        actor=secretary,
        topic=major,
        held_on=day,
        in_favour=3,
        minutes="m",
        now=NOW,
        present_member_ids=[world[name].resident_id for name in ("zhang", "wang", "zhao")],
    )
    services.resolution_decide(
        actor=secretary,
        topic=major,
        held_on=day,
        entitled_count=10,
        present_count=8,
        in_favour=7,
        minutes="m",
        text="t",
        now=NOW,
    )
    assert kpis.resolution_figures(world["district"], MAY).completed == 1
    assert kpis.resolution_figures(world["district"], MAY).with_both_publications == 0
    services.resolution_publish(actor=secretary, topic=major, now=NOW)
    task = services.task_add(actor=secretary, topic=major, title="t", owner="o", due_on=TODAY)
    services.task_progress(actor=secretary, task=task, progress=100, today=TODAY)
    services.topic_complete(actor=secretary, topic=major, result_summary="r", now=NOW)
    services.resolution_result_publish(actor=secretary, topic=major, result_text="r", now=NOW)
    services.topic_rate(actor=world["li"], topic=major, score=5, now=NOW)
    services.topic_rate(actor=world["zhao"], topic=major, score=2, now=NOW)
    figures = kpis.all_figures(world["community"], MAY)
    assert figures["resolutions"].with_both_publications == 1 and figures["resolutions"].publication_rate.percent == 100
    assert (figures["evaluation"].ratings, figures["evaluation"].satisfied) == (2, 1)
