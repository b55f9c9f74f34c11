"""Ballots racing on PostgreSQL: real threads, committed transactions. The chain keeps one line (no fork, no lost
link), two members of one household at once count once, co-signatures are counted exactly.

Run on PostgreSQL (``GONGZHI_DATABASE_URL=postgres://…``); SQLite takes one writer at a time, so these skip there.
"""

from __future__ import annotations

import pytest
from django.db import connection

from gongzhi.core.testing import race
from gongzhi.deliberation import services
from gongzhi.deliberation.models import Ballot, Participation, VoteKind
from gongzhi.deliberation.selectors import chain_report
from gongzhi.places.models import PlaceKind
from gongzhi.places.tests.factories import make_place

from .factories import NOW, accepted_topic, open_vote, resident_login

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrency is tested on PostgreSQL only"),
]


def test_many_households_at_once_keep_one_chain(world):
    entrance = world["entrance_a1"]
    voters = [
        resident_login(make_place(PlaceKind.HOUSEHOLD, entrance, name=f"{300 + i}"), f"居民{i}") for i in range(60)
    ]
    vote = open_vote(world, accepted_topic(world))
    results = race(
        [
            lambda login=login: services.vote_cast(actor=login, vote=vote, choice=1 + (login.pk % 2), now=NOW)
            for login in voters
        ]
    )
    assert all(not isinstance(result, str) for result in results), results
    sequences = sorted(Ballot.objects.filter(vote=vote).values_list("sequence", flat=True))
    assert sequences == list(range(1, 61))
    previous = list(Ballot.objects.filter(vote=vote).values_list("previous_hash", flat=True))
    assert len(set(previous)) == 60  # no two ballots hang off the same link: no fork
    report = chain_report(vote)
    assert report.intact and report.ballots == 60
    vote.refresh_from_db()
    assert vote.ballot_count == 60 and vote.head_hash == report.head


def test_two_members_of_one_household_at_once_the_first_counts(world):
    vote = open_vote(world, accepted_topic(world), kind=VoteKind.HOUSEHOLD)
    for _round in range(3):
        results = race(
            [
                lambda: services.vote_cast(actor=world["zhang"], vote=vote, choice=1, now=NOW),
                lambda: services.vote_cast(actor=world["li"], vote=vote, choice=2, now=NOW),
            ]
        )
        if _round == 0:
            assert sorted(r if isinstance(r, str) else "ok" for r in results) == ["already_voted", "ok"]
        else:
            assert results == ["already_voted", "already_voted"]
    assert Participation.objects.filter(vote=vote).count() == 1
    assert chain_report(vote).intact


def test_cosigners_at_once_are_counted_exactly(world):
    entrance = world["entrance_a2"]
    signers = [
        resident_login(make_place(PlaceKind.HOUSEHOLD, entrance, name=f"{400 + i}"), f"签名{i}") for i in range(30)
    ]
    topic = services.topic_propose(
        actor=world["zhang"], community=world["community"], title="增设充电桩", description="电动车充电", now=NOW
    )
    calls = [lambda login=login: services.topic_cosign(actor=login, topic=topic, now=NOW) for login in signers]
    calls += [lambda login=signers[0]: services.topic_cosign(actor=login, topic=topic, now=NOW)]
    results = race(calls)
    assert results.count("already_cosigned") == 1
    topic.refresh_from_db()
    assert topic.cosigner_count == 31 and topic.cosigning_household_count == 31


def test_a_paper_ballot_and_an_online_ballot_for_one_household_at_once(world):
    from gongzhi.core.testing import image_upload
    from gongzhi.deliberation.models import TallySheet

    vote = open_vote(world, accepted_topic(world), kind=VoteKind.HOUSEHOLD)
    photo = image_upload("sheet.jpg")
    results = race(
        [
            lambda: services.vote_cast(actor=world["zhang"], vote=vote, choice=1, now=NOW),
            lambda: services.paper_ballots_enter(
                actor=world["secretary"],
                vote=vote,
                photo=photo,
                entries=[services.PaperEntry(choice=2, household=world["household_a1"])],
                now=NOW,
            ),
        ]
    )
    assert sorted(r if isinstance(r, str) else "ok" for r in results) == ["already_voted", "ok"]
    assert Participation.objects.filter(vote=vote).count() == 1
    # a refused sheet leaves no sheet behind
    assert TallySheet.objects.filter(vote=vote).count() == (0 if results[1] == "already_voted" else 1)
    assert chain_report(vote).intact
