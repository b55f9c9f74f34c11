"""The annual selection: candidates from the year's ranking, the committee's choice, the public (masked) result."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from gongzhi.core.errors import NotFound
from gongzhi.core.models import AuditEntry
from gongzhi.core.testing import assert_refused
from gongzhi.people.models import Organisation
from gongzhi.points.ledger import account_for_organisation
from gongzhi.points.models import AccountKind, Selection
from gongzhi.points.publication import (
    selection_confirm,
    selection_propose,
    selection_public,
    selection_publish,
)
from gongzhi.points.tests.factories import secretary

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(world, tree):
    """On the points world, community A this year: 张三 16, 李四 8, 王五 (party member) 8, 赵六 3, a school 13;
    community B: 钱七 20."""
    today = timezone.localdate()
    _l, world.zhang = world.resident(name="张三")
    _l, world.li = world.resident("household_a2", name="李四")
    _l, world.wang = world.resident("household_a1b", name="王五", kind=AccountKind.PARTY_MEMBER)
    _l, world.zhao = world.resident("household_a2", name="赵六")
    world.school = account_for_organisation(
        Organisation.objects.create(kind="school", name="实验小学", place=tree["grid_a1"])
    )
    for account, values in (
        (world.zhang, (8, 8)),
        (world.li, (8,)),
        (world.wang, (5, 3)),
        (world.zhao, (3,)),
        (world.school, (8, 5)),
    ):
        for days_ago, value in enumerate(values):
            world.award(account, value, today - timedelta(days=days_ago))
    return world


def test_propose_confirm_publish(world, tree):
    year = timezone.localdate().year
    committee = world.reviewer
    stars = selection_propose(
        actor=committee, community=world.community, year=year, kind=Selection.Kind.POINTS_STAR, places_available=2
    )
    candidates = list(stars.candidates.values_list("account_id", "rank", "points"))
    # Twice the places, ties at the cut included: 16, 13, 8, 8.
    assert candidates == [
        (world.zhang.pk, 1, 16),
        (world.school.pk, 2, 13),
        (world.li.pk, 3, 8),
        (world.wang.pk, 3, 8),
    ]
    neighbours = selection_propose(
        actor=committee, community=world.community, year=year, kind=Selection.Kind.GOOD_NEIGHBOUR, places_available=1
    )
    assert list(neighbours.candidates.values_list("account_id", "rank")) == [
        (world.zhang.pk, 1),
        (world.li.pk, 2),
        (world.wang.pk, 2),
    ]
    assert_refused(
        "not_a_candidate",
        lambda: selection_confirm(actor=committee, selection=stars, selected_account_ids=[world.zhao.pk]),
    )
    assert_refused(
        "too_many_selected",
        lambda: selection_confirm(
            actor=committee, selection=stars, selected_account_ids=[world.zhang.pk, world.li.pk, world.wang.pk]
        ),
    )
    assert_refused(
        "validation_failed", lambda: selection_confirm(actor=committee, selection=stars, selected_account_ids=[])
    )
    assert_refused("not_confirmed", lambda: selection_publish(actor=committee, selection=stars))
    with pytest.raises(NotFound):
        selection_public(stars.pk)

    confirmed = selection_confirm(actor=committee, selection=stars, selected_account_ids=[world.zhang.pk, world.li.pk])
    assert confirmed.state == Selection.State.CONFIRMED
    assert_refused(
        "already_confirmed",
        lambda: selection_propose(
            actor=committee, community=world.community, year=year, kind=Selection.Kind.POINTS_STAR, places_available=3
        ),
    )
    assert_refused(
        "not_draft", lambda: selection_confirm(actor=committee, selection=stars, selected_account_ids=[world.zhang.pk])
    )
    published = selection_publish(actor=committee, selection=confirmed)
    assert published.state == Selection.State.PUBLISHED and published.published_at is not None
    _selection, rows = selection_public(stars.pk)
    assert rows == [
        {"rank": 1, "masked_name": "张*", "kind": AccountKind.RESIDENT, "points": 16},
        {"rank": 3, "masked_name": "李*", "kind": AccountKind.RESIDENT, "points": 8},
    ]
    assert "张三" not in str(rows)
    actions = list(AuditEntry.objects.filter(action__startswith="points.selection").values_list("action", flat=True))
    assert sorted(set(actions)) == ["points.selection_confirm", "points.selection_propose", "points.selection_publish"]


def test_proposing_again_refreshes_a_draft(world):
    year = timezone.localdate().year
    first = selection_propose(
        actor=world.reviewer, community=world.community, year=year, kind=Selection.Kind.POINTS_STAR, places_available=1
    )
    assert first.candidates.count() == 2
    again = selection_propose(
        actor=world.reviewer, community=world.community, year=year, kind=Selection.Kind.POINTS_STAR, places_available=3
    )
    assert again.pk == first.pk and again.candidates.count() == 5


def test_refusals(world, tree):
    year = timezone.localdate().year
    outsider = secretary(tree["community_b"])
    kind = Selection.Kind.POINTS_STAR
    assert_refused(
        "not_found",
        lambda: selection_propose(actor=outsider, community=world.community, year=year, kind=kind, places_available=1),
    )
    assert_refused(
        "not_found",
        lambda: selection_propose(
            actor=world.worker, community=world.community, year=year, kind=kind, places_available=1
        ),
    )
    assert_refused(
        "not_a_community",
        lambda: selection_propose(
            actor=world.reviewer, community=tree["grid_a1"], year=year, kind=kind, places_available=1
        ),
    )
    assert_refused(
        "validation_failed",
        lambda: selection_propose(
            actor=world.reviewer, community=world.community, year=year + 1, kind=kind, places_available=1
        ),
    )
    assert_refused(
        "validation_failed",
        lambda: selection_propose(
            actor=world.reviewer, community=world.community, year=year, kind="best", places_available=1
        ),
    )
    assert_refused(
        "validation_failed",
        lambda: selection_propose(
            actor=world.reviewer, community=world.community, year=year, kind=kind, places_available=0
        ),
    )
    draft = selection_propose(actor=world.reviewer, community=world.community, year=year, kind=kind, places_available=1)
    assert_refused(
        "not_found", lambda: selection_confirm(actor=outsider, selection=draft, selected_account_ids=[world.zhang.pk])
    )


def test_last_year_has_no_candidates(world):
    empty = selection_propose(
        actor=world.reviewer,
        community=world.community,
        year=timezone.localdate().year - 1,
        kind=Selection.Kind.POINTS_STAR,
        places_available=3,
    )
    assert empty.candidates.count() == 0
