"""Factories for deliberation, built through the services (audit, counters and chains are real).

Time: everything is relative to ``NOW``, a fixed moment in 2031 (no test reads the wall clock).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gongzhi.core.roles import Role
from gongzhi.deliberation import services
from gongzhi.deliberation.models import CosignBasis, Topic, TopicSource, Vote, VoteKind
from gongzhi.people.models import Account, PartyOrganisationKind
from gongzhi.people.party import PartyMembershipInput, party_membership_add, party_organisation_create
from gongzhi.people.tests.factories import AccountFactory, ResidentFactory, account_with_role
from gongzhi.places.tests.factories import make_tree, superuser

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2031, 5, 12, 10, 0, tzinfo=SHANGHAI)
TODAY = NOW.date()


def resident_login(household, name: str, *, relation: str = "householder", birth: date | None = date(1980, 1, 1)):
    """A registered resident with a login and the resident role on their household."""
    from gongzhi.people.models import RoleAssignment

    resident = ResidentFactory(household=household, name=name, relation=relation, birth_date=birth)
    login = AccountFactory(resident=resident)
    RoleAssignment.objects.create(account=login, role=Role.RESIDENT, place=household, starts_on=date(2020, 1, 1))
    return login


def make_world() -> dict:
    """Community A (和平社区) with a secretary and a ballot officer; residents: 张三 (householder of 101) and his
    spouse 李梅 and child 张小 (born 2020) in 101, 王五 householder of 102, 赵六 of 201; 孙七 in community B. Three
    party members of A (张三, 王五, 赵六) in its branch. A's rule: 2 co-signatures by persons."""
    tree = make_tree()
    admin = superuser()
    secretary = account_with_role(Role.COMMUNITY_SECRETARY, tree["community_a"], username="dsec_a")
    worker_b = account_with_role(Role.COMMUNITY_WORKER, tree["community_b"], username="dwork_b")
    zhang = resident_login(tree["household_a1"], "张三")
    li = resident_login(tree["household_a1"], "李梅", relation="spouse")
    child = resident_login(tree["household_a1"], "张小", relation="child", birth=date(2020, 3, 1))
    wang = resident_login(tree["household_a1b"], "王五")
    zhao = resident_login(tree["household_a2"], "赵六")
    sun = resident_login(tree["household_b1"], "孙七")
    committee = party_organisation_create(
        actor=admin, kind=PartyOrganisationKind.COMMITTEE, name="和平社区党委", place=tree["community_a"]
    )
    branch = party_organisation_create(
        actor=admin, kind=PartyOrganisationKind.BRANCH, name="第一网格党支部", place=tree["grid_a1"], parent=committee
    )
    for login in (zhang, wang, zhao):
        party_membership_add(
            actor=admin, resident=login.resident, data=PartyMembershipInput(organisation=branch), now=NOW
        )
    services.settings_update(
        actor=admin, community=tree["community_a"], cosign_threshold=2, cosign_basis=CosignBasis.PERSONS, now=NOW
    )
    major = services.catalogue_entry_add(actor=admin, community=tree["community_a"], name="老旧小区改造", is_major=True)
    ordinary = services.catalogue_entry_add(actor=admin, community=tree["community_a"], name="楼道环境")
    return {
        **tree,
        "community": tree["community_a"],
        "admin": admin,
        "secretary": secretary,
        "worker_b": worker_b,
        "zhang": zhang,
        "li": li,
        "child": child,
        "wang": wang,
        "zhao": zhao,
        "sun": sun,
        "committee": committee,
        "branch": branch,
        "major_entry": major,
        "ordinary_entry": ordinary,
    }


def accepted_topic(world: dict, *, major: bool = False, title: str = "加装电梯", at: datetime = NOW) -> Topic:
    """A resident topic co-signed to its threshold and accepted, a day before ``at``."""
    before = at - timedelta(days=1)
    topic = services.topic_propose(
        actor=world["zhang"],
        community=world["community"],
        title=title,
        description="1号楼居民希望加装电梯",
        catalogue_entry=world["major_entry"] if major else world["ordinary_entry"],
        source=TopicSource.RESIDENT,
        now=before - timedelta(hours=2),
    )
    services.topic_cosign(actor=world["wang"], topic=topic, now=before - timedelta(hours=1))
    return services.topic_accept(actor=world["secretary"], topic=topic, now=before)


def open_vote(world: dict, topic: Topic | None = None, **options) -> Vote:
    topic = topic or accepted_topic(world)
    defaults = {
        "title": "是否同意加装电梯",
        "kind": VoteKind.HOUSEHOLD,
        "choices": ["同意", "不同意"],
        "opens_at": NOW - timedelta(hours=1),
        "closes_at": NOW + timedelta(days=3),
    }
    defaults.update(options)
    return services.vote_create(actor=world["secretary"], topic=topic, now=NOW - timedelta(hours=2), **defaults)


def staff(world: dict) -> Account:
    return world["secretary"]
