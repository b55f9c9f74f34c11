"""Factories for volunteering, built through the services (so locks, audit and points claims are real).

Every moment is explicit: ``NOW`` is a fixed Wednesday in 2031; activities are placed around it.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from gongzhi.core.roles import Role
from gongzhi.people.models import Organisation, OrganisationKind, PartyOrganisationKind
from gongzhi.people.party import PartyMembershipInput, party_membership_add, party_organisation_create
from gongzhi.people.tests.factories import account_with_role
from gongzhi.places.tests.factories import make_tree, superuser
from gongzhi.points.tests.factories import make_item, resident_with_login, reviewer, worker
from gongzhi.volunteering.models import Activity
from gongzhi.volunteering.services import ActivityInput, activity_create

NOW = datetime(2031, 3, 12, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
_serial = itertools.count(1)


def make_activity(
    world, *, starts_at: datetime | None = None, hours: float = 2, capacity: int = 5, now=None, **extra
) -> Activity:
    starts_at = starts_at or NOW + timedelta(days=2)
    data = ActivityInput(
        title=extra.pop("title", f"社区清扫{next(_serial)}"),
        location=extra.pop("location", "和平社区广场"),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        capacity=capacity,
        point_item=extra.pop("point_item", world.item),
        **extra,
    )
    return activity_create(actor=world.organiser, community=world.community, data=data, now=now or NOW)


def volunteer(world, name: str | None = None, household=None):
    login, _account = resident_with_login(household or world.tree["household_a1"], name=name)
    return login


def party_member(world, household=None, *, in_service: bool = True, employer=None, name: str | None = None):
    """A resident with a login and an active party membership in community A's branch."""
    login = volunteer(world, name=name, household=household)
    party_membership_add(
        actor=superuser(),
        resident=login.resident,
        data=PartyMembershipInput(
            organisation=world.branch,
            joined_on=date(2010, 7, 1),
            is_in_service=in_service,
            employer=employer if employer is not None else (world.employer if in_service else None),
        ),
        now=NOW,
    )
    login.resident.refresh_from_db()
    return login


def make_world() -> SimpleNamespace:
    """Community A with an organiser (a community worker), a reviewer, a point item worth 5, community A's party
    committee and branch, a school employing party members and its representative; community B's worker."""
    tree = make_tree()
    community = tree["community_a"]
    admin = superuser()
    committee = party_organisation_create(
        actor=admin, kind=PartyOrganisationKind.COMMITTEE, name="和平社区党委", place=community
    )
    branch = party_organisation_create(
        actor=admin, kind=PartyOrganisationKind.BRANCH, name="第一网格党支部", place=tree["grid_a1"], parent=committee
    )
    employer = Organisation.objects.create(kind=OrganisationKind.SCHOOL, name="和平小学", place=community)
    other_employer = Organisation.objects.create(kind=OrganisationKind.ENTERPRISE, name="东方公司", place=community)
    return SimpleNamespace(
        tree=tree,
        community=community,
        community_b=tree["community_b"],
        admin=admin,
        organiser=worker(community, "organiser_a"),
        organiser_b=worker(tree["community_b"], "organiser_b"),
        reviewer=reviewer(community, "reviewer_a"),
        item=make_item(community, value=5, name="志愿服务"),
        committee=committee,
        branch=branch,
        employer=employer,
        other_employer=other_employer,
        representative=account_with_role(
            Role.ORGANISATION_REPRESENTATIVE, community, username="school_rep", organisation=employer
        ),
        other_representative=account_with_role(
            Role.ORGANISATION_REPRESENTATIVE, community, username="company_rep", organisation=other_employer
        ),
    )
