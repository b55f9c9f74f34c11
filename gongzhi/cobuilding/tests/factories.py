"""Factories for co-building, built through the services (so audit, matches and locks are real)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from gongzhi.core.roles import Role
from gongzhi.people.models import Account, Organisation, OrganisationKind
from gongzhi.people.tests.factories import account_with_role
from gongzhi.places.models import Place, PlaceKind
from gongzhi.places.tests.factories import make_place, make_tree, superuser
from gongzhi.points.models import PointItem
from gongzhi.points.tests.factories import make_item, resident_with_login

from ..models import Agreement, Project
from ..services import agreement_sign, project_create

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Every test passes this moment (or one derived from it): no test reads the clock.
NOW = datetime(2031, 5, 12, 10, 0, tzinfo=SHANGHAI)
TODAY = NOW.date()

_serial = itertools.count(1)


def make_organisation(
    place: Place, name: str | None = None, kind: str = OrganisationKind.AGENCY, **extra
) -> Organisation:
    return Organisation.objects.create(
        kind=kind,
        name=name or f"单位{next(_serial)}",
        place=place,
        supervising_department=extra.pop("supervising_department", "区机关工委"),
        **extra,
    )


def representative_of(organisation: Organisation, username: str | None = None) -> Account:
    return account_with_role(
        Role.ORGANISATION_REPRESENTATIVE, organisation.place, username=username, organisation=organisation
    )


def sign(organisation: Organisation, community: Place, *, actor=None) -> Agreement:
    return agreement_sign(
        actor=actor or superuser(),
        organisation=organisation,
        community=community,
        scope="共驻共建：场地共享、志愿服务",
        starts_on=date(2031, 1, 1),
        ends_on=date(2031, 12, 31),
        now=NOW,
    )


def make_project(community: Place, *, actor=None, point_item: PointItem | None = None, **fields) -> Project:
    return project_create(
        actor=actor or superuser(),
        place=fields.pop("place", community),
        title=fields.pop("title", f"微实事{next(_serial)}"),
        point_item=point_item,
        now=fields.pop("now", NOW),
        **fields,
    )


@dataclass
class World:
    tree: dict[str, Place]
    community: Place
    other_community: Place
    compound: Place
    secretary: Account
    worker: Account
    secretary_b: Account
    school: Organisation
    rep: Account
    agency: Organisation
    agency_rep: Account
    outsider_org: Organisation
    outsider_rep: Account
    resident: Account
    resident_b: Account
    item: PointItem


def make_world() -> World:
    """Community A (和平社区) with its secretary and a worker; a school and an agency of A, each with a
    representative and an agreement in force with A; an enterprise of community B without one; a resident in A
    and one in B; compound 阳光小区 in A; a district point item (30 points) organisations may earn."""
    tree = make_tree()
    community, other = tree["community_a"], tree["community_b"]
    school = make_organisation(community, "实验小学", OrganisationKind.SCHOOL, supervising_department="区教育局")
    agency = make_organisation(community, "区税务局", OrganisationKind.AGENCY, supervising_department="区机关工委")
    outsider = make_organisation(other, "幸福物业", OrganisationKind.ENTERPRISE)
    sign(school, community)
    sign(agency, community)
    resident, _account = resident_with_login(tree["household_a1"], name="张三")
    resident_b, _other = resident_with_login(tree["household_b1"], name="李四")
    return World(
        tree=tree,
        community=community,
        other_community=other,
        compound=make_place(PlaceKind.COMPOUND, community, name="阳光小区"),
        secretary=account_with_role(Role.COMMUNITY_SECRETARY, community, username="secretary_a"),
        worker=account_with_role(Role.COMMUNITY_WORKER, community, username="worker_a"),
        secretary_b=account_with_role(Role.COMMUNITY_SECRETARY, other, username="secretary_b"),
        school=school,
        rep=representative_of(school, "rep_school"),
        agency=agency,
        agency_rep=representative_of(agency, "rep_agency"),
        outsider_org=outsider,
        outsider_rep=representative_of(outsider, "rep_outsider"),
        resident=resident,
        resident_b=resident_b,
        item=make_item(tree["district"], value=30, name="微实事认领完成", account_kinds=["organisation"]),
    )
