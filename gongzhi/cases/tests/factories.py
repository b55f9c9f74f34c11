"""Factories for the cases domain: categories, deadline policies, and a small world of handlers on the ladder."""

from __future__ import annotations

import io
import itertools
from datetime import date, datetime

from django.utils import timezone

from gongzhi.cases.models import CaseCategory, CaseLevel, DeadlinePolicy, TimeUnit
from gongzhi.core.roles import Role
from gongzhi.people.models import Account, Organisation, OrganisationKind, RoleAssignment
from gongzhi.people.tests.factories import AccountFactory, ResidentFactory, account_with_role
from gongzhi.places.tests.factories import make_tree

_serial = itertools.count(1)
# The roles of the test world hold from this day, so a test may act at any fixed moment after it (services judge
# who holds a role on the day of the ``now`` they are given, not on the wall clock's day).
ROLES_FROM = date(2020, 1, 1)


def make_category(name: str | None = None, **extra) -> CaseCategory:
    number = next(_serial)
    return CaseCategory.objects.create(code=extra.pop("code", f"cat-{number}"), name=name or f"类别{number}", **extra)


def make_policy(level: str, accept: int, resolve: int, unit: str = TimeUnit.WORKING_HOURS, category=None):
    return DeadlinePolicy.objects.create(
        category=category, level=level, unit=unit, accept_within=accept, resolve_within=resolve
    )


def make_department(place, name: str = "区住建局") -> Organisation:
    return Organisation.objects.create(kind=OrganisationKind.AGENCY, name=name, place=place)


def resident_account(household, name: str = "张三", **extra):
    """A resident with an account holding the resident role on their household."""
    resident = ResidentFactory(household=household, name=name)
    account = AccountFactory(resident=resident, **extra)
    RoleAssignment.objects.create(account=account, role=Role.RESIDENT, place=household, starts_on=ROLES_FROM)
    return account


def local(text: str) -> datetime:
    """An aware datetime in Asia/Shanghai from 'YYYY-MM-DD HH:MM'."""
    return timezone.make_aware(datetime.strptime(text, "%Y-%m-%d %H:%M"))


def make_world() -> dict:
    """The place tree plus one handler per level, a district department with its representative, a resident."""
    tree = make_tree()
    department = make_department(tree["district"])
    world = dict(tree)
    world.update(
        department=department,
        grid_worker=account_with_role(Role.GRID_WORKER, tree["grid_a1"], username="grid_a1"),
        grid_worker_a2=account_with_role(Role.GRID_WORKER, tree["grid_a2"], username="grid_a2"),
        community_worker=account_with_role(Role.COMMUNITY_WORKER, tree["community_a"], username="community_a"),
        community_worker_b=account_with_role(Role.COMMUNITY_WORKER, tree["community_b"], username="community_b"),
        street_admin=account_with_role(Role.STREET_ADMIN, tree["street"], username="street"),
        district_admin=account_with_role(Role.DISTRICT_ADMIN, tree["district"], username="district"),
        department_rep=account_with_role(
            Role.ORGANISATION_REPRESENTATIVE, tree["district"], username="dept", organisation=department
        ),
        building_head=account_with_role(Role.BUILDING_HEAD, tree["building_a1"], username="building_head"),
        resident=resident_account(tree["household_a1"], name="张三", username="resident_a1", email="a1@example.org"),
        other_resident=resident_account(tree["household_a1b"], name="李四", username="resident_a1b"),
        category=make_category("路灯", code="streetlight", hotline_names="路灯损坏,照明"),
    )
    accounts = [value for value in world.values() if isinstance(value, Account)]
    RoleAssignment.objects.filter(account__in=accounts).update(starts_on=ROLES_FROM)
    # Deadlines used throughout the tests: accept within 2 working hours, resolve within 8, at every level.
    for level in CaseLevel.values:
        make_policy(level, 2, 8)
    return world


def hotline_workbook(rows: list[list], headers: list[str] | None = None) -> io.BytesIO:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers or ["工单号", "来电时间", "诉求类别", "诉求内容", "地址", "联系人", "联系电话"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer
