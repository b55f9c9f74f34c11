"""Rankings: ties, scopes, kinds, periods, "my rank", and the histogram that answers it in large scopes."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from django.utils import timezone

from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.jobs import run_job
from gongzhi.people.models import Organisation
from gongzhi.people.tests.factories import ResidentFactory
from gongzhi.points.ledger import Leg, account_for_organisation, account_for_resident, post_transfer, system_account
from gongzhi.points.ledger import transfer_reverse as reverse
from gongzhi.points.models import AccountKind, PointsAccount, RankBucket, TransferKind
from gongzhi.points.rankings import (
    SNAPSHOT_MARGIN,
    my_rank,
    parse_period,
    rank_buckets_refresh,
    ranking,
)

pytestmark = pytest.mark.django_db
_keys = itertools.count(1)


def award(account, amount, day: date | None = None):
    transfer, _created = post_transfer(
        kind=TransferKind.AWARD,
        idempotency_key=f"test-award-{next(_keys)}",
        legs=[Leg(system_account("issuance").pk, -amount), Leg(account.pk, amount, "balance", True)],
        actor=None,
        effective_date=day,
    )
    return transfer


@pytest.fixture
def people(tree):
    """D 20 (community B), A 10 and B 10 (grid A1), E 8 (party member, grid A2), C 5 (grid A2), F 0 (grid A1),
    and an organisation O 10 in community A."""

    def person(key, name, kind=AccountKind.RESIDENT):
        return account_for_resident(ResidentFactory(household=tree[key], name=name), kind=kind)

    accounts = {
        "A": person("household_a1", "安一"),
        "B": person("household_a1b", "白二"),
        "C": person("household_a2", "陈三"),
        "D": person("household_b1", "丁四"),
        "E": person("household_a2", "鄂五", AccountKind.PARTY_MEMBER),
        "F": person("household_a1", "范六"),
        "O": account_for_organisation(
            Organisation.objects.create(kind="school", name="实验小学", place=tree["grid_a1"])
        ),
    }
    for key, amount in {"A": 10, "B": 10, "C": 5, "D": 20, "E": 8, "O": 10}.items():
        award(accounts[key], amount)
    return accounts


def names(rows):
    return [(row.masked_name, row.rank, row.points) for row in rows]


def test_ties_share_a_rank_and_names_are_masked(tree, people):
    rows = ranking(place=tree["district"], kind=AccountKind.RESIDENT)
    assert names(rows) == [("丁*", 1, 20), ("安*", 2, 10), ("白*", 2, 10), ("陈*", 4, 5)]
    everyone = ranking(place=tree["district"])
    assert [(row.rank, row.points) for row in everyone] == [(1, 20), (2, 10), (2, 10), (2, 10), (5, 8), (6, 5)]
    # A tie across a page boundary keeps its rank.
    assert [(r.rank, r.points) for r in ranking(place=tree["district"], limit=2, offset=3)] == [(2, 10), (5, 8)]
    assert ranking(place=tree["district"], offset=50) == []


def test_scopes_community_grid_street(tree, people):
    assert names(ranking(place=tree["community_a"], kind=AccountKind.RESIDENT)) == [
        ("安*", 1, 10),
        ("白*", 1, 10),
        ("陈*", 3, 5),
    ]
    assert names(ranking(place=tree["grid_a2"])) == [("鄂*", 1, 8), ("陈*", 2, 5)]
    assert names(ranking(place=tree["community_b"])) == [("丁*", 1, 20)]
    assert [row.points for row in ranking(place=tree["street"])] == [20, 10, 10, 10, 8, 5]
    # People are masked, organisations are not (issue #15): the school is named in full.
    assert names(ranking(place=tree["district"], kind=AccountKind.ORGANISATION)) == [("实验小学", 1, 10)]
    assert names(ranking(place=tree["district"], kind=AccountKind.PARTY_MEMBER)) == [("鄂*", 1, 8)]


def test_my_rank(tree, people):
    assert tuple(my_rank(account=people["A"], place=tree["district"])) == (2, 7, 10)
    assert tuple(my_rank(account=people["A"], place=tree["community_a"], kind=AccountKind.RESIDENT)) == (1, 4, 10)
    assert tuple(my_rank(account=people["C"], place=tree["grid_a2"])) == (2, 2, 5)
    assert tuple(my_rank(account=people["F"], place=tree["district"])) == (7, 7, 0)
    with pytest.raises(NotFound):
        my_rank(account=people["D"], place=tree["community_a"])
    with pytest.raises(NotFound):
        my_rank(account=people["E"], place=tree["district"], kind=AccountKind.RESIDENT)
    with pytest.raises(NotFound):
        my_rank(account=system_account("issuance"), place=tree["district"])


def test_reversals_lower_the_rank_and_only_earned_entries_count(tree, people):
    transfer = award(people["C"], 30)
    assert my_rank(account=people["C"], place=tree["district"]).rank == 1
    reverse(transfer=transfer, actor=None, reason="撤销")
    assert tuple(my_rank(account=people["C"], place=tree["district"])) == (6, 7, 5)
    # Spending does not lower the earned total.
    post_transfer(
        kind=TransferKind.ADJUSTMENT,
        idempotency_key="spend-1",
        legs=[Leg(people["D"].pk, -15), Leg(system_account("spent").pk, 15)],
        actor=None,
    )
    assert my_rank(account=people["D"], place=tree["district"]).rank == 1


def test_periods(tree, people):
    today = timezone.localdate()
    month, year = f"{today:%Y-%m}", f"{today:%Y}"
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    old = date(today.year - 1, 6, 15)
    award(people["C"], 100, day=old)  # last year: counts all time and in that year only
    assert [r.points for r in ranking(place=tree["district"], period=month)] == [20, 10, 10, 10, 8, 5]
    assert [r.points for r in ranking(place=tree["district"], period=quarter)] == [20, 10, 10, 10, 8, 5]
    assert names(ranking(place=tree["district"], period=str(today.year - 1))) == [("陈*", 1, 100)]
    assert names(ranking(place=tree["district"], period=f"{today.year - 1}-06")) == [("陈*", 1, 100)]
    assert ranking(place=tree["district"], period=f"{today.year - 1}-07") == []
    assert ranking(place=tree["district"])[0].points == 105
    assert tuple(my_rank(account=people["C"], place=tree["district"], period=year)) == (6, 7, 5)
    assert tuple(my_rank(account=people["F"], place=tree["district"], period=month)) == (7, 7, 0)
    assert tuple(my_rank(account=people["A"], place=tree["district"], period=str(today.year - 1))) == (2, 7, 0)
    # A reversal dated in a later period counts there, net: the old year keeps its 100.
    last = PointsAccount.objects.get(pk=people["C"].pk).entries.filter(amount=100).get().transfer
    reverse(transfer=last, actor=None, reason="更正")
    assert names(ranking(place=tree["district"], period=str(today.year - 1))) == [("陈*", 1, 100)]
    assert tuple(my_rank(account=people["C"], place=tree["district"], period=year)) == (7, 7, -95)
    assert [r.points for r in ranking(place=tree["district"], period=year)] == [20, 10, 10, 10, 8]


@pytest.mark.parametrize("text", ["2026-Q5", "2026-13", "26", "last week", "2026-W03"])
def test_bad_periods_and_kinds(tree, text):
    with pytest.raises(ValidationFailed):
        parse_period(text)
    with pytest.raises(ValidationFailed):
        ranking(place=tree["district"], kind="merchant")


def _reference(account, place, kinds):
    scores = [
        a.earned_total
        for a in PointsAccount.objects.filter(kind__in=kinds, is_active=True)
        if a.place_path.startswith(place.path)
    ]
    return 1 + sum(score > account.earned_total for score in scores), len(scores)


def test_histogram_answers_exactly_after_postings_reversals_and_new_accounts(tree, people):
    district, street = tree["district"], tree["street"]
    # Taken "now": every posting so far is in the histogram; everything after it is corrected live.
    result = rank_buckets_refresh(now=timezone.now() + SNAPSHOT_MARGIN)
    assert result["scopes"] == 4  # the district, the street, both communities
    assert RankBucket.objects.filter(scope=district, kind="").count() == 5  # scores 20, 10, 8, 5, 0
    assert tuple(my_rank(account=people["A"], place=district)) == (2, 7, 10)

    late = award(people["C"], 12)  # C 5 → 17, passes A, B, O and E
    reverse(transfer=PointsAccount.objects.get(pk=people["D"].pk).entries.get().transfer, actor=None, reason="x")
    newcomer = account_for_resident(ResidentFactory(household=tree["household_a1b"], name="新人"))
    award(newcomer, 9)
    assert late.created_at > RankBucket.objects.first().taken_at

    for account in PointsAccount.objects.exclude(kind=AccountKind.SYSTEM):
        for place in (district, street, tree["community_a"], tree["community_b"], tree["grid_a1"]):
            if not account.place_path.startswith(place.path):
                continue
            for kinds in ([account.kind], [str(k) for k in AccountKind.values if k != AccountKind.SYSTEM]):
                kind = kinds[0] if len(kinds) == 1 else None
                got = my_rank(account=account, place=place, kind=kind)
                assert (got.rank, got.total_accounts) == _reference(account, place, kinds), (account, place, kind)
    # The histogram is used in the district: one bucket lookup, the moved accounts, the new ones, the account.
    assert tuple(my_rank(account=newcomer, place=district)) == (5, 8, 9)


def test_refresh_job_runs_once_per_hour(tree, people):
    now = timezone.now()
    key = f"{timezone.localtime(now):%Y-%m-%dT%H}"
    run = run_job("points.refresh_rankings", key, now=now)
    assert run.result["scopes"] == 4
    count = RankBucket.objects.count()
    assert run_job("points.refresh_rankings", key, now=now) is None
    rank_buckets_refresh(now=now)  # rebuilding again gives the same histogram
    assert RankBucket.objects.count() == count


def test_my_rank_in_a_district_is_a_few_queries(tree, people, django_assert_max_num_queries):
    rank_buckets_refresh(now=timezone.now() + timedelta(minutes=20))
    with django_assert_max_num_queries(2):
        my_rank(account=people["A"], place=tree["district"])
