"""Votes: household and person votes, who may cast a household's vote, the window, hidden results, quorum and
majority, paper ballots with the tally sheet, secret ballots kept apart from the voters, and the verify command
finding a ballot altered, deleted or inserted with raw SQL."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from gongzhi.core.errors import CoreError
from gongzhi.core.testing import assert_refused, image_upload
from gongzhi.deliberation import services
from gongzhi.deliberation.chain import GENESIS
from gongzhi.deliberation.errors import DeliberationError
from gongzhi.deliberation.models import (
    Ballot,
    Channel,
    HouseholdVoters,
    Majority,
    Participation,
    Secrecy,
    VoteKind,
    VoteOutcome,
    VoteState,
)
from gongzhi.deliberation.selectors import chain_report, vote_result

from .factories import NOW, open_vote

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)
AFTER = NOW + timedelta(days=4)


def cast(world, who, vote, choice=1, now=NOW):
    return services.vote_cast(actor=world[who], vote=vote, choice=choice, now=now)


def test_household_vote_with_quorum_including_paper_ballots(world):
    vote = open_vote(world)
    assert vote.eligible_count == 3  # 101, 102, 201 of community A
    receipt = cast(world, "zhang", vote)
    assert receipt.ballot.sequence == 1 and receipt.ballot.previous_hash == GENESIS
    assert_refused(DeliberationError.RESULTS_HIDDEN, lambda: vote_result(vote, now=NOW))
    sheet = services.paper_ballots_enter(
        actor=world["secretary"],
        vote=vote,
        photo=image_upload("tally.jpg"),
        entries=[services.PaperEntry(choice=2, household=world["household_a1b"])],
        note="1号楼纸质票",
        now=NOW + HOUR,
    )
    assert sheet.photo.name
    vote = services.vote_result_publish(actor=world["secretary"], vote=vote, now=AFTER)
    assert vote.state == VoteState.PUBLISHED
    assert vote.result["ballots"] == 2 and (vote.result["online"], vote.result["paper"]) == (1, 1)
    assert vote.result["quorum_met"] is True  # 2 of 3 ≥ half
    assert vote.outcome == VoteOutcome.NOT_CARRIED  # 1 : 1 is not more than half
    assert vote.result["head"] == vote.head_hash == Ballot.objects.get(vote=vote, sequence=2).hash
    assert Ballot.objects.get(vote=vote, sequence=2).channel == Channel.PAPER
    assert_refused(
        DeliberationError.ALREADY_PUBLISHED,
        lambda: services.vote_result_publish(actor=world["secretary"], vote=vote, now=AFTER),
    )


def test_quorum_not_reached_and_majority_carried(world):
    vote = open_vote(world)
    cast(world, "zhang", vote)
    assert services.vote_result_publish(actor=world["secretary"], vote=vote, now=AFTER).outcome == VoteOutcome.NO_QUORUM
    vote = open_vote(world, majority=Majority.TWO_THIRDS, title="第二次表决")
    cast(world, "zhang", vote)
    cast(world, "wang", vote)
    cast(world, "zhao", vote, choice=2)
    result = services.vote_result_publish(actor=world["secretary"], vote=vote, now=AFTER)
    assert result.outcome == VoteOutcome.CARRIED and result.result["winner"] == 1


def test_one_vote_per_household_the_second_member_is_refused(world):
    vote = open_vote(world)
    cast(world, "li", vote)  # the spouse casts the household's vote
    assert_refused(DeliberationError.ALREADY_VOTED, lambda: cast(world, "zhang", vote))
    assert_refused(DeliberationError.ALREADY_VOTED, lambda: cast(world, "li", vote))
    assert Participation.objects.filter(vote=vote).count() == 1


def test_who_may_cast_the_households_vote(world):
    vote = open_vote(world)
    assert_refused(DeliberationError.NOT_ELIGIBLE, lambda: cast(world, "child", vote))  # not adult
    assert_refused(DeliberationError.NOT_ELIGIBLE, lambda: cast(world, "sun", vote))  # other community
    householder_only = open_vote(world, household_voters=HouseholdVoters.HOUSEHOLDER, title="仅户主")
    assert_refused(DeliberationError.NOT_ELIGIBLE, lambda: cast(world, "li", householder_only))
    cast(world, "zhang", householder_only)


def test_person_vote_for_named_buildings(world):
    vote = open_vote(world, kind=VoteKind.PERSON, buildings=[world["building_a1"]], title="1号楼加装电梯")
    assert vote.eligible_count == 3  # 张三, 李梅, 王五 (张小 is a child; 赵六 lives in building 2)
    cast(world, "zhang", vote)
    cast(world, "li", vote)
    assert_refused(DeliberationError.ALREADY_VOTED, lambda: cast(world, "li", vote))
    assert_refused(DeliberationError.NOT_ELIGIBLE, lambda: cast(world, "zhao", vote))


def test_voting_outside_the_window(world):
    vote = open_vote(world, opens_at=NOW + HOUR, closes_at=NOW + 2 * HOUR)
    assert_refused(DeliberationError.VOTE_NOT_OPEN, lambda: cast(world, "zhang", vote))
    assert_refused(DeliberationError.VOTE_NOT_OPEN, lambda: cast(world, "zhang", vote, now=NOW + 2 * HOUR))
    assert_refused(
        DeliberationError.VOTE_NOT_CLOSED,
        lambda: services.vote_result_publish(actor=world["secretary"], vote=vote, now=NOW + HOUR),
    )


def test_bad_choice_and_bad_vote_setup(world):
    vote = open_vote(world)
    assert_refused(CoreError.VALIDATION_FAILED, lambda: cast(world, "zhang", vote, choice=7))
    topic = vote.topic
    assert_refused(CoreError.VALIDATION_FAILED, lambda: open_vote(world, topic, choices=["同意", "同意"]))
    assert_refused(CoreError.VALIDATION_FAILED, lambda: open_vote(world, topic, closes_at=NOW - 2 * HOUR))
    assert_refused(CoreError.VALIDATION_FAILED, lambda: open_vote(world, topic, buildings=[world["building_b1"]]))


def test_paper_ballots_need_the_right_and_the_photo_and_are_all_or_nothing(world):
    vote = open_vote(world)
    entries = [services.PaperEntry(choice=1, household=world["household_a1b"])]
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: services.paper_ballots_enter(
            actor=world["zhang"], vote=vote, photo=image_upload(), entries=entries, now=NOW
        ),
    )
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: services.paper_ballots_enter(actor=world["secretary"], vote=vote, photo=None, entries=entries, now=NOW),
    )
    cast(world, "zhao", vote)
    both = [*entries, services.PaperEntry(choice=2, household=world["household_a2"])]  # 201 voted online
    assert_refused(
        DeliberationError.ALREADY_VOTED,
        lambda: services.paper_ballots_enter(
            actor=world["secretary"], vote=vote, photo=image_upload(), entries=both, now=NOW
        ),
    )
    assert_refused(
        DeliberationError.NOT_ELIGIBLE,
        lambda: services.paper_ballots_enter(
            actor=world["secretary"],
            vote=vote,
            photo=image_upload(),
            entries=[services.PaperEntry(choice=1, household=world["household_b1"])],
            now=NOW,
        ),
    )


def test_secret_ballot_keeps_who_apart_from_how(world):
    vote = open_vote(world, secrecy=Secrecy.SECRET)
    receipt = cast(world, "zhang", vote, choice=2)
    participation = Participation.objects.get(vote=vote)
    ballot = Ballot.objects.get(vote=vote)
    assert participation.recorded_at is None and participation.recorded_on == NOW.date()
    assert ballot.cast_at is None and ballot.voter == receipt.receipt
    assert not ballot.voter.startswith(("household:", "resident:")) and len(ballot.voter) == 16
    from gongzhi.core.models import AuditEntry

    entry = AuditEntry.objects.get(action="deliberation.vote_cast")
    assert "choice" not in entry.changes


def test_open_ballot_names_the_household(world):
    vote = open_vote(world)
    cast(world, "zhang", vote)
    assert Ballot.objects.get(vote=vote).voter == f"household:{world['household_a1'].pk}"


def _three_ballots(world):
    vote = open_vote(world)
    for who in ("zhang", "wang", "zhao"):
        cast(world, who, vote)
    assert chain_report(vote).intact
    return vote


def _raw(sql: str, params: list) -> None:
    """Change the ballot table behind the platform's back, as someone with the database's keys could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE deliberation_ballot DISABLE TRIGGER USER")
            cursor.execute(sql, params)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE deliberation_ballot ENABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER deliberation_ballot_no_update")
            cursor.execute(sql, params)
            cursor.execute(
                "CREATE TRIGGER deliberation_ballot_no_update BEFORE UPDATE ON deliberation_ballot "
                "BEGIN SELECT RAISE(ABORT, 'the ballot box is append-only'); END;"
            )


def test_the_ballot_box_refuses_updates(world):
    from django.db import DatabaseError, transaction

    vote = open_vote(world)
    cast(world, "zhang", vote)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE deliberation_ballot SET choice = 2")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE deliberation_participation SET channel = 'paper'")


def test_verify_finds_a_ballot_altered_with_raw_sql(world):
    vote = _three_ballots(world)
    _raw("UPDATE deliberation_ballot SET choice = 2 WHERE vote_id = %s AND sequence = 2", [vote.pk])
    report = chain_report(vote)
    assert not report.intact and any("ballot 2" in p and "altered" in p for p in report.problems)
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("deliberation_verify", stdout=out)
    assert "altered" in out.getvalue()
    assert_refused(
        DeliberationError.CHAIN_BROKEN,
        lambda: services.vote_result_publish(actor=world["secretary"], vote=vote, now=AFTER),
    )


def test_verify_finds_a_deleted_ballot(world):
    vote = _three_ballots(world)
    _raw("DELETE FROM deliberation_ballot WHERE vote_id = %s AND sequence = 2", [vote.pk])
    problems = chain_report(vote).problems
    assert any("missing" in p for p in problems)
    vote = _three_ballots(world)
    _raw("DELETE FROM deliberation_ballot WHERE vote_id = %s AND sequence = 3", [vote.pk])  # the last one
    assert not chain_report(vote).intact


def test_verify_finds_an_inserted_ballot(world):
    vote = _three_ballots(world)
    last = Ballot.objects.get(vote=vote, sequence=3)
    _raw(
        "INSERT INTO deliberation_ballot (vote_id, sequence, choice, voter, channel, cast_at, previous_hash, hash) "
        "VALUES (%s, 4, 1, 'household:999', 'paper', NULL, %s, %s)",
        [vote.pk, last.hash, "f" * 64],
    )
    report = chain_report(vote)
    assert not report.intact
    out = StringIO()
    call_command("deliberation_verify", "--vote", str(open_vote(world, title="另一个").pk), stdout=out)
    assert "intact" in out.getvalue()


def test_the_nightly_job_records_a_broken_chain_in_the_audit_log(world):
    from gongzhi.core.models import AuditEntry
    from gongzhi.deliberation.jobs import verify_chains

    vote = _three_ballots(world)
    assert verify_chains(run_key="d1", now=NOW) == {"checked": 1, "broken": 0}
    _raw("UPDATE deliberation_ballot SET voter = 'household:1' WHERE vote_id = %s AND sequence = 1", [vote.pk])
    assert verify_chains(run_key="d2", now=NOW) == {"checked": 1, "broken": 1}
    entry = AuditEntry.objects.get(action="deliberation.chain_broken")
    assert entry.object_id == str(vote.pk) and "altered" in entry.changes["problems"][0]


def test_a_household_twice_on_one_sheet_is_refused(world):
    vote = open_vote(world)
    twice = [services.PaperEntry(choice=1, household=world["household_a1"])] * 2
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: services.paper_ballots_enter(
            actor=world["secretary"], vote=vote, photo=image_upload(), entries=twice, now=NOW
        ),
    )
