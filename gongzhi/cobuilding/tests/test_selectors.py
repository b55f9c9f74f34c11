"""Reads are scoped: staff by place, representatives by their organisations and agreements, residents by their
community; ``access_*`` answers the same NotFound for missing and out of reach."""

from __future__ import annotations

import pytest

from gongzhi.core.errors import NotFound

from .. import selectors
from ..services import need_create, project_claim, resource_publish
from .factories import NOW, make_project, sign


def test_projects_by_who_is_looking(world):
    mine = make_project(world.community, title="和平社区项目")
    elsewhere = make_project(world.other_community, title="幸福社区项目")
    assert set(selectors.projects_visible(world.secretary)) == {mine}
    assert set(selectors.projects_visible(world.rep)) == {mine}  # the school's agreement is with community A
    assert set(selectors.projects_visible(world.outsider_rep)) == set()
    sign(world.outsider_org, world.other_community)
    assert set(selectors.projects_visible(world.outsider_rep)) == {elsewhere}
    with pytest.raises(NotFound):
        selectors.access_project(world.secretary_b, mine.pk)
    with pytest.raises(NotFound):
        selectors.access_project(world.secretary_b, 999_999)
    with pytest.raises(NotFound):
        selectors.access_project(world.secretary_b, "garbage")


def test_a_claimed_project_stays_visible_to_its_claimer(world):
    project = make_project(world.community)
    project_claim(actor=world.rep, project=project, organisation=world.school, now=NOW)
    assert project in selectors.project_list(world.rep, state="claimed")
    assert list(selectors.project_list(world.agency_rep, state="open")) == []


def test_matches_are_seen_by_both_sides_only(world):
    need_create(actor=world.worker, place=world.compound, kind="venue", title="场地", now=NOW)
    resource_publish(
        actor=world.rep,
        organisation=world.school,
        community=world.community,
        kind="venue",
        title="操场",
        opening_times="周末",
        now=NOW,
    )
    assert selectors.matches_visible(world.worker).count() == 1
    assert selectors.matches_visible(world.rep).count() == 1
    assert selectors.matches_visible(world.agency_rep).count() == 0
    assert selectors.matches_visible(world.secretary_b).count() == 0


def test_residents_see_their_own_community(world):
    assert selectors.home_community(world.resident, today=NOW.date()) == world.community
    assert selectors.home_community(world.resident_b, today=NOW.date()) == world.other_community
    assert selectors.home_community(world.secretary, today=NOW.date()) is None


def test_report_back_is_for_staff_over_the_place_and_the_representative(world):
    assert selectors.access_organisation(world.secretary, world.school.pk) == world.school
    assert selectors.access_organisation(world.rep, world.school.pk) == world.school
    with pytest.raises(NotFound):
        selectors.access_organisation(world.agency_rep, world.school.pk)
    with pytest.raises(NotFound):
        selectors.access_organisation(world.secretary_b, world.school.pk)
