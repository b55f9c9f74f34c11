"""The roster's party columns: registering, updating and reopening party memberships, with every bad cell named."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from gongzhi.core.models import AuditEntry
from gongzhi.people.models import PartyMembership, Resident
from gongzhi.people.party import PartyMembershipInput, party_membership_add, party_membership_end
from gongzhi.people.roster import roster_import
from gongzhi.people.roster_template import roster_template_workbook
from gongzhi.people.tests.roster_data import id_number, roster_file

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)
ADDRESS = {"grid": "第一网格", "building": "1号楼", "entrance": "1单元", "household": "101"}


def run(world, rows, *, actor=None, now=NOW):
    return roster_import(
        actor=actor or world.worker,
        community=world.tree["community_a"],
        file_obj=roster_file(rows),
        filename="roster.xlsx",
        now=now,
    )


def member_rows():
    return [
        {
            **ADDRESS,
            "name": "赵一",
            "id_card_number": id_number(1),
            "party_organisation": "第一网格党支部",
            "joined_party_on": "2005-07-01",
            "in_service": "在职",
            "employer": "和平小学",  # a resident organisation of the community: linked
            "employer_party_organisation": "区教育局机关党委",
        },
        {
            **ADDRESS,
            "household": "102",
            "name": "钱二",
            "id_card_number": id_number(2),
            "party_organisation": "和平社区党委/第一网格党支部/1号楼党小组",  # a path works as well as a name
            "in_service": "退休",
        },
        {**ADDRESS, "household": "102", "name": "孙三", "id_card_number": id_number(3)},  # not a party member
    ]


def test_party_columns_register_members_with_the_residents(world):
    report = run(world, member_rows())

    assert report.ok, report.errors
    assert report.created["resident"] == 3
    assert report.party == {"added": 2, "changed": 0}
    zhao = PartyMembership.objects.get(resident__name="赵一")
    assert (zhao.organisation, zhao.joined_on, zhao.is_in_service) == (world.branch, date(2005, 7, 1), True)
    assert (zhao.employer, zhao.employer_name, zhao.employer_party_organisation) == (
        world.employer,
        "和平小学",
        "区教育局机关党委",
    )
    qian = PartyMembership.objects.get(resident__name="钱二")
    assert (qian.organisation, qian.is_in_service, qian.joined_on) == (world.group, False, None)
    assert not PartyMembership.objects.filter(resident__name="孙三").exists()
    entries = AuditEntry.objects.filter(action="party.membership_add", purpose="roster.import")
    assert entries.count() == 2 and {entry.actor for entry in entries} == {world.worker}
    assert AuditEntry.objects.get(action="roster.import").changes["party"] == {"added": 2, "changed": 0}


def test_reimporting_changes_nothing_and_a_changed_cell_updates_only_that(world):
    rows = member_rows()
    run(world, rows)
    before = AuditEntry.objects.count()

    again = run(world, rows)
    assert again.ok and again.party == {"added": 0, "changed": 0}
    assert (again.updated, again.unchanged) == (0, 3)
    assert AuditEntry.objects.count() == before

    rows[0].update(party_organisation="1号楼党小组", joined_party_on=None, employer=None)  # empty cells keep values
    changed = run(world, rows)
    assert changed.party == {"added": 0, "changed": 1}
    assert (changed.updated, changed.unchanged) == (1, 2)
    zhao = PartyMembership.objects.get(resident__name="赵一")
    assert (zhao.organisation, zhao.joined_on, zhao.employer) == (world.group, date(2005, 7, 1), world.employer)
    entry = AuditEntry.objects.get(action="party.membership_change")
    assert entry.changes == {"organisation": [world.branch.pk, world.group.pk]}


def test_an_existing_resident_is_registered_and_an_ended_membership_reopened(world):
    data = PartyMembershipInput(organisation=world.branch, joined_on=date(1999, 7, 1))
    membership = party_membership_add(actor=world.admin, resident=world.zhang, data=data, now=NOW)
    party_membership_end(actor=world.admin, membership=membership, reason="transferred_out", now=NOW)
    rows = [
        {**ADDRESS, "name": "张三", "party_organisation": "101党员中心户", "in_service": "退休"},
        {**ADDRESS, "household": "102", "name": "新党员", "party_organisation": "第一网格党支部"},
    ]

    report = run(world, rows)

    assert report.ok, report.errors
    assert report.party == {"added": 2, "changed": 0}
    assert report.updated == 1  # Zhang's only change is the membership
    membership.refresh_from_db()
    assert (membership.is_active, membership.ended_on, membership.end_reason) == (True, None, "")
    assert (membership.organisation, membership.joined_on) == (world.lead, None)
    entry = AuditEntry.objects.filter(action="party.membership_add", object_id=str(membership.pk)).last()
    assert entry.changes["reopened"] == [False, True]


def test_bad_party_cells_are_all_reported_and_nothing_is_written(world):
    rows = [
        {**ADDRESS, "name": "甲", "party_organisation": "不存在的支部"},  # row 2
        {**ADDRESS, "name": "乙", "party_organisation": "幸福社区第一支部"},  # row 3: another community's
        {**ADDRESS, "name": "丙", "party_organisation": "第一网格党支部", "joined_party_on": "2005年"},  # row 4
        {**ADDRESS, "name": "丁", "party_organisation": "第一网格党支部", "in_service": "离休"},  # row 5
        {**ADDRESS, "name": "戊", "in_service": "在职", "employer": "区教育局"},  # row 6: no party organisation
        {**ADDRESS, "name": "", "party_organisation": "第一网格党支部"},  # row 7: no resident
        {  # row 8: joined in the future
            **ADDRESS,
            "name": "己",
            "birth_date": "1990-01-01",
            "party_organisation": "第一网格党支部",
            "joined_party_on": "2027-01-01",
        },
        {  # row 9: joined before the birth date
            **ADDRESS,
            "name": "庚",
            "birth_date": "1990-01-01",
            "party_organisation": "第一网格党支部",
            "joined_party_on": "1989-12-31",
        },
        {**ADDRESS, "name": "辛", "party_organisation": "第一网格党支部", "employer_party_organisation": "党" * 151},
        # row 11: the resident's and the party's bad cells, both reported
        {**ADDRESS, "name": "壬", "gender": "未知", "party_organisation": "无此支部"},
    ]
    before = (Resident.objects.count(), PartyMembership.objects.count(), AuditEntry.objects.count())

    report = run(world, rows)

    assert not report.ok
    found = [(error.row, error.column) for error in report.errors]
    assert found == [
        (2, "所在党组织"),
        (3, "所在党组织"),
        (4, "入党日期"),
        (5, "在职/退休"),
        (6, "所在党组织"),
        (7, "姓名"),
        (8, "入党日期"),
        (9, "入党日期"),
        (10, "单位党组织"),
        (11, "性别"),
        (11, "所在党组织"),
    ]
    assert all(error.message for error in report.errors)
    by_row = {error.row: error.message for error in report.errors}
    assert "不存在的支部" in by_row[2]
    assert (Resident.objects.count(), PartyMembership.objects.count(), AuditEntry.objects.count()) == before


def test_an_ambiguous_organisation_name_asks_for_the_path(world):
    from gongzhi.people.models import PartyOrganisationKind
    from gongzhi.people.party import party_organisation_create

    party_organisation_create(
        actor=world.admin,
        kind=PartyOrganisationKind.GROUP,
        name="1号楼党小组",
        place=world.tree["grid_a1"],
        parent=world.branch,
    )
    report = run(world, [{**ADDRESS, "name": "甲", "party_organisation": "1号楼党小组"}])
    assert [(error.row, error.column) for error in report.errors] == [(2, "所在党组织")]
    assert "/" in report.errors[0].message


def test_the_template_has_the_party_columns(world):
    workbook = load_workbook(io.BytesIO(roster_template_workbook()))
    sheet = workbook["花名册"]
    headers = [cell.value for cell in sheet[1]]
    assert headers[-5:] == ["所在党组织", "入党日期", "在职/退休", "工作单位", "单位党组织"]
    lists = {validation.formula1 for validation in sheet.data_validations.dataValidation}
    assert '"在职,退休"' in lists
    notes = " ".join(str(cell.value) for row in workbook["填写说明"].iter_rows() for cell in row if cell.value)
    assert "所在党组织" in notes and "党员管理" in notes
