"""The one world the authorisation matrices (API and pages) and the fuzzing run share.

A district with two streets; street A holds community A, street B community B; each community a grid, a building,
an entrance and households. One account per role (``Role``) placed in community A (the resident on household A, the
merchant clerk and the organisation representative with their organisation of community A), each with an API token.
Objects of each kind the API's paths name, one in community A (``inside``) and one in community B (``outside``),
built through the apps' services and test factories. Kinds not built here are listed in ``UNBUILT_KINDS``: their
paths are filled with an id that exists nowhere, so every role must get the same not-found answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from gongzhi.core.roles import Role
from gongzhi.people.models import Account, Organisation, OrganisationKind, RoleAssignment

# An id no row of any table has: the out-of-scope and in-scope object of a kind the world does not build.
MISSING_ID = 987_654_321

# Path-parameter kinds the world does not build (yet): both sides get MISSING_ID.
UNBUILT_KINDS = frozenset(
    {
        "summons",
        "dispute",
        "agent_service",
        "order",
        "signup",
        "registration",
        "team_member",
        "vote",
        "resource",
        "match",
        "fund",
        "spending",
        "alliance",
        "commitment",
        "pairing",
        "matter",
        "report_run",
        "progress",
        "photo",
        "attribute",
        "notification",
        "key",
        "category",
        "adjustment",
        "publication",
    }
)

ROLES_FROM = date(2000, 1, 1)


@dataclass
class MatrixWorld:
    now: datetime
    places: dict[str, Any]
    accounts: dict[str, Account]  # role value -> account placed in community A
    tokens: dict[str, str]  # role value -> bearer token
    inside: dict[str, Any] = field(default_factory=dict)  # kind -> object in community A
    outside: dict[str, Any] = field(default_factory=dict)  # kind -> object in community B

    def object_id(self, kind: str, *, in_scope: bool) -> int:
        if kind in UNBUILT_KINDS:
            return MISSING_ID
        objects = self.inside if in_scope else self.outside
        return objects[kind].pk


def _tree() -> dict[str, Any]:
    from gongzhi.places.models import PlaceKind
    from gongzhi.places.tests.factories import make_place

    district = make_place(PlaceKind.DISTRICT, name="矩阵区")
    places: dict[str, Any] = {"district": district}
    for side in ("a", "b"):
        street = make_place(PlaceKind.STREET, district, name=f"街道{side.upper()}")
        community = make_place(PlaceKind.COMMUNITY, street, name=f"社区{side.upper()}")
        grid = make_place(PlaceKind.GRID, community, name=f"网格{side.upper()}")
        building = make_place(PlaceKind.BUILDING, grid, name=f"{side.upper()}1号楼")
        entrance = make_place(PlaceKind.ENTRANCE, building, name="1单元")
        places.update(
            {
                f"street_{side}": street,
                f"community_{side}": community,
                f"grid_{side}": grid,
                f"building_{side}": building,
                f"entrance_{side}": entrance,
                f"household_{side}": make_place(PlaceKind.HOUSEHOLD, entrance, name="101"),
                f"household_{side}2": make_place(PlaceKind.HOUSEHOLD, entrance, name="102"),
            }
        )
    return places


def _resident_login(household, username: str):
    from gongzhi.people.tests.factories import AccountFactory, ResidentFactory
    from gongzhi.points.ledger import account_for_resident

    resident = ResidentFactory(household=household, birth_date=date(1980, 1, 1))
    login = AccountFactory(resident=resident, username=username)
    RoleAssignment.objects.create(account=login, role=Role.RESIDENT, place=household, starts_on=ROLES_FROM)
    account_for_resident(resident)
    return login


def build_matrix_world() -> MatrixWorld:
    """Build the world (about a second on SQLite). Every object through the services the apps use."""
    from gongzhi.people.services import api_token_issue
    from gongzhi.people.tests.factories import account_with_role
    from gongzhi.places.tests.factories import superuser
    from gongzhi.shop.tests.factories import make_merchant

    now = timezone.now()
    places = _tree()
    admin = superuser()
    merchants = {side: make_merchant(places[f"community_{side}"], name=f"商家{side.upper()}") for side in "ab"}
    organisations = {
        side: Organisation.objects.create(
            kind=OrganisationKind.SCHOOL,
            name=f"学校{side.upper()}",
            place=places[f"community_{side}"],
            supervising_department="区教委",
        )
        for side in "ab"
    }
    accounts: dict[str, Account] = {}
    for role in Role:
        username = f"matrix_{role.value}"
        if role == Role.RESIDENT:
            accounts[role] = _resident_login(places["household_a"], username)
        elif role == Role.MERCHANT_CLERK:
            accounts[role] = account_with_role(role, places["community_a"], username, organisation=merchants["a"])
        elif role == Role.ORGANISATION_REPRESENTATIVE:
            accounts[role] = account_with_role(role, places["community_a"], username, organisation=organisations["a"])
        else:
            accounts[role] = account_with_role(role, places["community_a"], username)
    RoleAssignment.objects.filter(account__in=accounts.values()).update(starts_on=ROLES_FROM)
    residents_b = _resident_login(places["household_b"], "matrix_resident_b")
    logins = {"a": accounts[Role.RESIDENT], "b": residents_b}
    world = MatrixWorld(
        now=now,
        places=places,
        accounts=accounts,
        tokens={role: api_token_issue(account=account, now=now) for role, account in accounts.items()},
    )
    for side, objects in (("a", world.inside), ("b", world.outside)):
        community = places[f"community_{side}"]
        objects.update(
            place=community,
            community=community,
            household=places[f"household_{side}"],
            resident=logins[side].resident,
            merchant=merchants[side],
            organisation=organisations[side],
        )
        _build_side(objects, admin=admin, community=community, login=logins[side], places=places, side=side, now=now)
    return world


def _build_side(objects: dict, *, admin, community, login, places, side: str, now: datetime) -> None:
    """The objects of one community: each kind the API's paths name (see UNBUILT_KINDS for the rest)."""
    from gongzhi.cases.services import case_submit
    from gongzhi.cases.tests.factories import make_category as make_case_category
    from gongzhi.cases.visits import visit_log
    from gongzhi.cobuilding.lists import agreement_sign, project_create
    from gongzhi.deliberation.services import topic_propose
    from gongzhi.people.models import PartyOrganisationKind
    from gongzhi.people.party import PartyMembershipInput, party_membership_add, party_organisation_create
    from gongzhi.points.ledger import account_for_resident
    from gongzhi.points.services import claim_submit
    from gongzhi.points.tests.factories import make_item
    from gongzhi.shop.tests.factories import make_offer
    from gongzhi.volunteering.activities import ActivityInput, activity_create
    from gongzhi.volunteering.teams import team_create
    from gongzhi.volunteering.wishes import wish_post

    today = timezone.localdate(now)
    resident = login.resident
    item = make_item(community, value=5, name=f"志愿服务{side}")
    objects["item"] = item
    objects["claim"] = claim_submit(
        actor=login,
        account=account_for_resident(resident),
        item=item,
        service_date=today - timedelta(days=1),
        description="打扫楼道",
        now=now,
    )
    objects["offer"] = make_offer(community, objects["merchant"])
    category = make_case_category(f"矩阵类别{side}", code=f"matrix-{side}")
    objects["case_category"] = category
    objects["case"] = case_submit(
        actor=login, category=category, text="路灯不亮", place=places[f"household_{side}"], now=now
    )
    objects["visit"] = visit_log(
        actor=admin, household=places[f"household_{side}"], visited_on=today, findings="一切正常", now=now
    )
    committee = party_organisation_create(
        actor=admin, kind=PartyOrganisationKind.COMMITTEE, name=f"社区{side}党委", place=community
    )
    branch = party_organisation_create(
        actor=admin,
        kind=PartyOrganisationKind.BRANCH,
        name=f"网格{side}支部",
        place=places[f"grid_{side}"],
        parent=committee,
    )
    objects["party_organisation"] = branch
    objects["membership"] = party_membership_add(
        actor=admin, resident=resident, data=PartyMembershipInput(organisation=branch), now=now
    )
    starts = now + timedelta(days=2)
    objects["activity"] = activity_create(
        actor=admin,
        community=community,
        data=ActivityInput(
            title=f"清扫{side}",
            location="广场",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            capacity=5,
            point_item=item,
        ),
        now=now,
    )
    objects["team"] = team_create(actor=admin, community=community, name=f"志愿队{side}", purpose="sanitation", now=now)
    objects["wish"] = wish_post(
        actor=login,
        resident=resident,
        title="想要一本书",
        public_text="一本书",
        due_on=today + timedelta(days=20),
        now=now,
    )
    objects["topic"] = topic_propose(
        actor=login, community=community, title="加装电梯", description="居民希望加装电梯", now=now
    )
    objects["agreement"] = agreement_sign(
        actor=admin,
        organisation=objects["organisation"],
        community=community,
        scope="场地共享",
        starts_on=today - timedelta(days=30),
        ends_on=today + timedelta(days=300),
        now=now,
    )
    objects["project"] = project_create(actor=admin, place=community, title=f"微实事{side}", now=now)
