"""The roster import service: matching, all-or-nothing, idempotence, access, and a bounded number of queries."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from gongzhi.core.errors import NotFound
from gongzhi.core.models import AuditEntry
from gongzhi.core.testing import assert_refused
from gongzhi.people import roster_format
from gongzhi.people.errors import RosterFileRefused
from gongzhi.people.models import Resident, ResidentTag
from gongzhi.people.roster import roster_import
from gongzhi.people.roster_template import roster_template_workbook
from gongzhi.people.tests.factories import ResidentFactory
from gongzhi.people.tests.roster_data import generated_rows, id_number, roster_bytes, roster_file
from gongzhi.places.models import Place, PlaceChange, PlaceKind
from gongzhi.places.tests.factories import make_place

pytestmark = pytest.mark.django_db


def run(actor, community, rows=None, *, data=None, filename="roster.xlsx", **kwargs):
    file_obj = io.BytesIO(data) if data is not None else roster_file(rows)
    return roster_import(actor=actor, community=community, file_obj=file_obj, filename=filename, **kwargs)


def counts():
    return (
        Place.objects.count(),
        Resident.objects.count(),
        ResidentTag.objects.count(),
        AuditEntry.objects.count(),
        PlaceChange.objects.count(),
    )


def good_rows():
    return [
        # An existing household under an existing grid/building/entrance.
        {
            "grid": "第一网格",
            "building": "1号楼",
            "entrance": "1单元",
            "household": 101,
            "name": "赵一",
            "gender": "男",
            "phone": "13900000001",
            "id_card_number": id_number(1),
            "relation": "户主",
            "tags": "独居老人、低保",
        },
        # New compound, building, entrance and household under grid A2; date cell; gender left to the ID.
        {
            "grid": "第二网格",
            "compound": "阳光小区",
            "building": "5号楼",
            "entrance": "2单元",
            "household": "0302",
            "name": "钱二",
            "birth_date": date(1985, 6, 1),
            "id_card_number": id_number(2),
            "relation": "配偶",
            "tags": "退役军人,流动人口",
        },
        # Same new household, a child without an ID number, text date.
        {
            "grid": "第二网格",
            "compound": "阳光小区",
            "building": "5号楼",
            "entrance": "2单元",
            "household": "0302",
            "name": "钱小三",
            "gender": "女",
            "birth_date": "2015-09-01",
            "relation": "子女",
        },
        # A household registered without residents (empty name), directly under the community.
        {"building": "8号楼", "entrance": "1单元", "household": "101"},
    ]


def test_good_file_imports_places_and_residents_with_encrypted_ids(tree, worker):
    before_places = Place.objects.count()
    report = run(worker, tree["community_a"], good_rows())

    assert report.ok, report.errors
    assert report.created == {"compound": 1, "building": 2, "entrance": 2, "household": 2, "resident": 3}
    assert (report.updated, report.unchanged, report.rows) == (0, 0, 4)
    assert Place.objects.count() == before_places + 7

    zhao = Resident.objects.get(name="赵一")
    assert zhao.household == tree["household_a1"]
    assert (zhao.gender, zhao.phone, zhao.relation) == ("male", "13900000001", "householder")
    assert sorted(zhao.tags.values_list("code", flat=True)) == ["elderly_alone", "low_income"]
    number = id_number(1)
    assert zhao.id_card_masked == number[:3] + "*" * 11 + number[-4:]
    assert zhao.id_card_ciphertext and number not in zhao.id_card_ciphertext
    assert number[6:14] not in zhao.id_card_ciphertext
    assert zhao.id_card_digest and number not in zhao.id_card_digest

    qian = Resident.objects.select_related("household__parent__parent__parent").get(name="钱二")
    household = qian.household
    assert household.name == "0302" and household.kind == PlaceKind.HOUSEHOLD
    entrance, building, compound = household.parent, household.parent.parent, household.parent.parent.parent
    assert (entrance.kind, building.kind, compound.kind) == ("entrance", "building", "compound")
    assert compound.parent_id == tree["grid_a2"].pk
    assert household.path == f"{entrance.path}{household.pk}/"
    assert household.path.startswith(tree["grid_a2"].path)
    assert household.depth == tree["grid_a2"].depth + 4
    assert qian.birth_date == date(1985, 6, 1)
    assert qian.gender in ("male", "female")  # taken from the ID number
    assert sorted(qian.tags.values_list("code", flat=True)) == ["floating", "veteran"]

    child = Resident.objects.get(name="钱小三")
    assert child.household_id == household.pk
    assert (child.id_card_digest, child.id_card_ciphertext, child.birth_date) == (None, "", date(2015, 9, 1))

    lone = Place.objects.get(parent=tree["community_a"], name="8号楼")
    assert lone.children.get().children.get().name == "101"
    assert PlaceChange.objects.filter(place__parent=tree["grid_a2"], action="create").count() == 1

    entry = AuditEntry.objects.get(action="roster.import")
    assert entry.actor == worker
    assert entry.object_id == str(tree["community_a"].pk) and entry.place_path == tree["community_a"].path
    assert entry.changes["created"]["resident"] == 3
    assert entry.changes["updated"] == 0 and entry.changes["file"] == "roster.xlsx"


def test_bad_rows_are_all_reported_and_nothing_changes(tree, worker):
    outsider = ResidentFactory(household=tree["household_b1"], id_card_number=id_number(900))
    rows = [
        {"grid": "第九网格", "building": "1号楼", "entrance": "1单元", "household": "101", "name": "甲"},  # row 2
        {"building": "1号楼", "entrance": "1单元", "household": "101", "name": "乙", "gender": "未知"},  # row 3
        {"building": "1号楼", "entrance": "1单元", "household": "101", "name": "丙", "id_card_number": "12345"},
        {"building": "", "entrance": "1单元", "household": "101", "name": "丁"},  # row 5: building missing
        {"building": "1号楼", "entrance": "1单元", "household": "102", "name": "戊", "id_card_number": id_number(5)},
        {"building": "1号楼", "entrance": "1单元", "household": "103", "name": "己", "id_card_number": id_number(5)},
        {"building": "1号楼", "entrance": "1单元", "household": "104", "name": "庚", "id_card_number": id_number(900)},
        {"building": "2号楼", "entrance": "1", "household": "1", "name": "辛", "birth_date": "1990年1月"},  # row 9
        {"building": "2号楼", "entrance": "1", "household": "1", "name": "壬", "tags": "低保、富豪"},  # row 10
        {"building": "2号楼", "entrance": "1", "household": "1", "name": "癸", "relation": "邻居"},  # row 11
        {"building": "2号楼", "entrance": "1", "household": "1", "name": "", "phone": "13900000000"},  # row 12
        {"building": "第二网格", "entrance": "1", "household": "1", "name": "子"},  # row 13: a grid, not a building
        {"building": "3号楼", "entrance": "1", "household": "1", "name": "丑", "phone": "12345"},  # row 14
        {"building": "3号楼", "entrance": "1", "household": "1", "name": "寅", "id_card_number": 110101199001011234},
        # A good row among the bad ones is not imported either.
        {"building": "3号楼", "entrance": "1", "household": "2", "name": "卯", "id_card_number": id_number(7)},
    ]
    before = counts()

    report = run(worker, tree["community_a"], rows)

    assert not report.ok
    found = {(error.row, error.column) for error in report.errors}
    assert found == {
        (2, "网格"),
        (3, "性别"),
        (4, "身份证号"),
        (5, "楼栋"),
        (7, "身份证号"),
        (8, "身份证号"),
        (9, "出生日期"),
        (10, "标签"),
        (11, "与户主关系"),
        (12, "姓名"),
        (13, "楼栋"),
        (14, "联系电话"),
        (15, "身份证号"),
    }
    assert all(error.message for error in report.errors)
    assert [error.row for error in report.errors] == sorted(error.row for error in report.errors)
    by_row = {error.row: error.message for error in report.errors}
    assert "6" in by_row[7]  # points at the first row with the same ID number
    assert "幸福社区" not in by_row[8] and str(tree["community_b"].pk) not in by_row[8]
    assert counts() == before
    assert Resident.objects.get(pk=outsider.pk).household_id == tree["household_b1"].pk


def test_reimporting_the_same_file_changes_nothing(tree, worker):
    data = roster_bytes(good_rows())
    first = run(worker, tree["community_a"], data=data)
    assert first.ok and first.created["resident"] == 3
    before = counts()
    stamps = dict(Resident.objects.values_list("pk", "updated_at"))

    again = run(worker, tree["community_a"], data=data)

    assert again.ok, again.errors
    assert again.created_total == 0 and again.updated == 0
    assert again.unchanged == 3
    assert counts() == before  # no new rows, not even an audit entry for a no-op
    assert dict(Resident.objects.values_list("pk", "updated_at")) == stamps


def test_changed_phone_updates_only_that_resident_and_is_audited(tree, worker):
    rows = good_rows()
    run(worker, tree["community_a"], rows)
    stamps = dict(Resident.objects.values_list("name", "updated_at"))
    rows[0]["phone"] = "13700000009"

    report = run(worker, tree["community_a"], rows)

    assert report.ok
    assert (report.created_total, report.updated, report.unchanged) == (0, 1, 2)
    zhao = Resident.objects.get(name="赵一")
    assert zhao.phone == "13700000009"
    assert zhao.updated_at > stamps["赵一"]
    assert Resident.objects.get(name="钱二").updated_at == stamps["钱二"]
    entry = AuditEntry.objects.get(action="resident.update")
    assert entry.object_id == str(zhao.pk) and entry.actor == worker
    assert entry.changes == {"phone": ["139****0001", "137****0009"]}
    summary = AuditEntry.objects.filter(action="roster.import").first()
    assert summary.changes["updated"] == 1


def test_tags_and_household_changes_and_empty_cells_keep_values(tree, worker):
    rows = good_rows()
    run(worker, tree["community_a"], rows)
    rows[0].update(tags="残疾人", household="102", phone=None)  # moves within the community, phone cell left empty

    report = run(worker, tree["community_a"], rows)

    assert report.updated == 1
    zhao = Resident.objects.get(name="赵一")
    assert zhao.household_id == tree["household_a1b"].pk
    assert zhao.phone == "13900000001"
    assert list(zhao.tags.values_list("code", flat=True)) == ["disabled"]
    changes = AuditEntry.objects.get(action="resident.update").changes
    assert changes["household"] == [tree["household_a1"].pk, tree["household_a1b"].pk]
    assert changes["tags"] == [["elderly_alone", "low_income"], ["disabled"]]


def test_residents_without_id_are_matched_by_household_and_name(tree, worker):
    existing = ResidentFactory(household=tree["household_a1"], name="老王", id_card_digest=None, phone="13800000001")
    Resident.objects.filter(pk=existing.pk).update(id_card_digest=None, id_card_ciphertext="", id_card_masked="")
    rows = [{"grid": "第一网格", "building": "1号楼", "entrance": "1单元", "household": "101", "name": "老王"}]

    report = run(worker, tree["community_a"], rows)
    assert (report.created["resident"], report.unchanged) == (0, 1)

    rows[0]["id_card_number"] = id_number(42)  # the ID number is given later: the same person gets it
    report = run(worker, tree["community_a"], rows)
    assert (report.created["resident"], report.updated) == (0, 1)
    existing.refresh_from_db()
    assert existing.id_card_masked.endswith(id_number(42)[-4:])
    assert "id_card_digest" not in AuditEntry.objects.get(action="resident.update").changes


def test_same_person_twice_without_id_is_a_bad_row(tree, worker):
    row = {"building": "9号楼", "entrance": "1单元", "household": "101", "name": "重名"}
    report = run(worker, tree["community_a"], [row, dict(row)])
    assert [(error.row, error.column) for error in report.errors] == [(3, "姓名")]


def test_nested_grid_path_and_ambiguous_grid_name(tree, worker):
    inner = make_place(PlaceKind.GRID, tree["grid_a1"], name="第三网格")
    make_place(PlaceKind.GRID, tree["grid_a2"], name="第三网格")
    rows = [
        {"grid": "第一网格/第三网格", "building": "7号楼", "entrance": "1单元", "household": "101", "name": "甲"},
        {"grid": "第三网格", "building": "7号楼", "entrance": "1单元", "household": "102", "name": "乙"},
    ]
    report = run(worker, tree["community_a"], rows)
    assert [(error.row, error.column) for error in report.errors] == [(3, "网格")]

    report = run(worker, tree["community_a"], rows[:1])
    assert report.ok
    assert Resident.objects.get(name="甲").household.path.startswith(inner.path)


def test_permission_and_reach(tree, worker, grid_worker_a1):
    before = counts()
    assert_refused("not_found", lambda: run(grid_worker_a1, tree["community_a"], good_rows()))
    assert_refused("not_found", lambda: run(worker, tree["community_b"], good_rows()))
    # A grid is not a community, even inside reach.
    error = assert_refused("not_found", lambda: run(worker, tree["grid_a1"], good_rows()))
    assert isinstance(error, NotFound)
    assert counts() == before


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"name,phone\n", "roster.csv"),
        (b"not a workbook at all", "roster.xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old excel", "roster.xlsx"),
        (b"PK\x03\x04broken zip", "roster.xlsx"),
        (roster_bytes([], headers=["Name", "Phone"]), "roster.xlsx"),
        (roster_bytes([]), "roster.xlsx"),
    ],
    ids=["csv", "garbage", "xls", "broken-zip", "wrong-headers", "no-rows"],
)
def test_unusable_files_are_refused(tree, worker, data, filename):
    before = counts()
    with pytest.raises(RosterFileRefused) as caught:
        run(worker, tree["community_a"], data=data, filename=filename)
    assert str(caught.value.message)
    assert counts() == before


def test_too_many_rows_is_refused(tree, worker, monkeypatch):
    monkeypatch.setattr(roster_format, "MAX_ROWS", 5)
    with pytest.raises(RosterFileRefused):
        run(worker, tree["community_a"], generated_rows(6))
    assert run(worker, tree["community_a"], generated_rows(5)).ok


def test_template_is_a_valid_roster_and_its_example_row_is_skipped(tree, worker):
    data = roster_template_workbook()
    workbook = load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["花名册", "填写说明"]
    with pytest.raises(RosterFileRefused):  # only the example row: nothing to import
        run(worker, tree["community_a"], data=data)

    sheet = workbook["花名册"]
    sheet.append(["第一网格", "", "1号楼", "1单元", "102", "孙七", "女", "", "", id_number(77), "户主", ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = run(worker, tree["community_a"], data=buffer.getvalue())
    assert report.ok, report.errors
    assert report.created["resident"] == 1
    assert not Resident.objects.filter(name="张三").exists()


def test_progress_is_reported_while_checking(tree, worker):
    calls = []
    run(worker, tree["community_a"], generated_rows(450), progress=lambda *args: calls.append(args))
    assert calls[0] == ("checking", 0, 450)
    assert ("checking", 200, 450) in calls and ("checking", 400, 450) in calls
    assert calls[-1] == ("writing", 450, 450)


def test_two_thousand_rows_take_a_bounded_number_of_queries(tree, worker, django_assert_max_num_queries):
    data = roster_bytes(generated_rows(2000))
    with django_assert_max_num_queries(80):
        report = run(worker, tree["community_a"], data=data)
    assert report.ok, report.errors[:5]
    assert report.created["resident"] == 2000
    assert Resident.objects.filter(household__path__startswith=tree["grid_a1"].path).count() == 2000

    with django_assert_max_num_queries(12):
        again = run(worker, tree["community_a"], data=data)
    assert again.created_total == 0 and again.updated == 0 and again.unchanged == 2000
