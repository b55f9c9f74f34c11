"""Factories for people: accounts with roles, residents with valid (encrypted) ID card numbers."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date
from typing import Any

import factory

from gongzhi.core.crypto import blind_index, encrypt_text
from gongzhi.core.masking import mask_id_card
from gongzhi.core.roles import Role
from gongzhi.people.models import (
    Account,
    Organisation,
    OrganisationKind,
    PartyOrganisation,
    PartyOrganisationKind,
    Resident,
    RoleAssignment,
)
from gongzhi.people.services import id_card_check_character
from gongzhi.places.models import Place

PASSWORD = "correct-horse-battery"
_serial = itertools.count(1)


def make_id_card_number(birth: str = "19800101", region: str = "110101", serial: int | None = None) -> str:
    serial = next(_serial) if serial is None else serial
    first17 = f"{region}{birth}{serial % 1000:03d}"
    return first17 + id_card_check_character(first17)


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class ResidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resident

    name = factory.Sequence(lambda n: random.Random(n).choice("王李张刘陈杨赵黄周吴") + "某" + str(n))
    gender = "female"
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    household = None
    relation = "householder"

    id_card_ciphertext = factory.LazyAttribute(lambda resident: encrypt_text(resident.id_card_number))
    id_card_digest = factory.LazyAttribute(lambda resident: blind_index(resident.id_card_number))
    id_card_masked = factory.LazyAttribute(lambda resident: mask_id_card(resident.id_card_number))

    class Params:
        id_card_number = factory.LazyFunction(make_id_card_number)


def account_with_role(role: str, place, username: str | None = None, organisation=None, **extra) -> Account:
    account = AccountFactory(username=username, **extra) if username else AccountFactory(**extra)
    RoleAssignment.objects.create(account=account, role=role, place=place, organisation=organisation)
    return account


@dataclass
class World:
    """The place tree with the people the people tests need: who enters records, who only looks, who is outside;
    three residents; community A's party tree and a resident organisation that employs party members."""

    tree: dict[str, Place]
    admin: Account
    secretary: Account
    worker: Account
    worker_b: Account
    grid_worker: Account
    zhang: Resident
    li: Resident
    wang: Resident
    committee: PartyOrganisation
    branch: PartyOrganisation
    group: PartyOrganisation
    lead: PartyOrganisation
    branch_b: PartyOrganisation
    employer: Organisation


def make_world() -> World:
    from gongzhi.people.party import party_organisation_create
    from gongzhi.places.tests.factories import make_tree, superuser

    tree = make_tree()
    admin = superuser()
    zhang = ResidentFactory(household=tree["household_a1"], name="张三", birth_date=date(1980, 1, 1))
    Kind = PartyOrganisationKind

    def node(kind: str, name: str, place: Place, parent: PartyOrganisation | None = None, **extra: Any):
        return party_organisation_create(actor=admin, kind=kind, name=name, place=place, parent=parent, **extra)

    committee = node(Kind.COMMITTEE, "和平社区党委", tree["community_a"])
    branch = node(Kind.BRANCH, "第一网格党支部", tree["grid_a1"], committee)
    group = node(Kind.GROUP, "1号楼党小组", tree["building_a1"], branch)
    lead = node(Kind.HOUSEHOLD_LEAD, "101党员中心户", tree["household_a1"], group, leader=zhang)
    committee_b = node(Kind.COMMITTEE, "幸福社区党委", tree["community_b"])
    return World(
        tree=tree,
        admin=admin,
        secretary=account_with_role(Role.COMMUNITY_SECRETARY, tree["community_a"], username="secretary_a"),
        worker=account_with_role(Role.COMMUNITY_WORKER, tree["community_a"], username="worker_a"),
        worker_b=account_with_role(Role.COMMUNITY_WORKER, tree["community_b"], username="worker_b"),
        grid_worker=account_with_role(Role.GRID_WORKER, tree["grid_a1"], username="grid_a1"),
        zhang=zhang,
        li=ResidentFactory(household=tree["household_a2"], name="李四", birth_date=date(1975, 5, 1)),
        wang=ResidentFactory(household=tree["household_b1"], name="王五"),
        committee=committee,
        branch=branch,
        group=group,
        lead=lead,
        branch_b=node(Kind.BRANCH, "幸福社区第一支部", tree["grid_b1"], committee_b),
        employer=Organisation.objects.create(
            kind=OrganisationKind.SCHOOL, name="和平小学", place=tree["community_a"]
        ),
    )
