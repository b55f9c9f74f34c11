"""Place browser, resident pages, reveal and export, through the real test client."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
from gongzhi.people.models import PartyMembership, PartyOrganisation, ResidentTag
from gongzhi.people.tests.factories import AccountFactory, ResidentFactory, account_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker_client(client, grid_worker_a1):
    client.force_login(grid_worker_a1)
    return client


def _main(response) -> str:
    """The page's main content (the header carries per-request CSRF tokens and the current path)."""
    content = response.content.decode()
    return content[content.index("<main") : content.index("</main>")]


def _party_member(resident, place):
    branch = PartyOrganisation.objects.create(kind="branch", name="第一网格党支部", place=place)
    return PartyMembership.objects.create(resident=resident, organisation=branch)


# ---------------------------------------------------------------- place index and detail


def test_place_index_lists_the_grid_workers_grid(worker_client, tree, resident_a1):
    response = worker_client.get("/places/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "第一网格" in content
    assert "和平社区" not in content  # above the worker's reach
    assert response.context["roots"][0].resident_count == 1


def test_place_index_search_finds_households_in_reach_only(worker_client, tree):
    response = worker_client.get("/places/", {"q": "101"})
    results = response.context["results"]
    assert [place.pk for place in results] == [tree["household_a1"].pk]  # not grid B's 101


def test_place_index_empty_state_without_roles(client):
    client.force_login(AccountFactory())
    response = client.get("/places/")
    assert response.status_code == 200
    assert 'data-testid="empty-places"' in response.content.decode()


def test_place_detail_shows_visible_breadcrumb_children_and_counts(client, tree, resident_a1, resident_a2):
    secretary = account_with_role(Role.COMMUNITY_SECRETARY, tree["community_a"])
    client.force_login(secretary)
    response = client.get(f"/places/{tree['grid_a1'].pk}/")
    assert response.status_code == 200
    assert [place.pk for place in response.context["breadcrumb"]] == [tree["community_a"].pk]  # not street/district
    children = response.context["children"]
    assert [(child.name, child.child_count, child.resident_count) for child in children] == [("1号楼", 1, 1)]
    assert response.context["resident_total"] == 1
    assert response.context["can_export"] is True


def test_household_page_lists_its_members(worker_client, tree, resident_a1):
    response = worker_client.get(f"/places/{tree['household_a1'].pk}/")
    assert response.status_code == 200
    assert [member.pk for member in response.context["members"]] == [resident_a1.pk]
    content = response.content.decode()
    assert resident_a1.name in content
    assert resident_a1.phone not in content  # masked


def test_place_out_of_reach_is_the_same_404_as_missing(worker_client, tree):
    other = worker_client.get(f"/places/{tree['grid_b1'].pk}/")
    missing = worker_client.get("/places/999999/")
    assert other.status_code == missing.status_code == 404
    assert _main(other) == _main(missing)
    assert 'data-testid="error-page"' in other.content.decode()


def test_place_pages_need_login(client, tree):
    response = client.get(f"/places/{tree['grid_a1'].pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_place_detail_query_count_is_pinned(worker_client, tree, django_assert_num_queries):
    for index in range(5):
        ResidentFactory(household=tree["household_a1"] if index % 2 else tree["household_a1b"])
    # session, account, roles, place, breadcrumb, children with counts, counts by kind, resident total
    with django_assert_num_queries(8):
        response = worker_client.get(f"/places/{tree['building_a1'].pk}/")
    assert response.status_code == 200


# ---------------------------------------------------------------- residents list


def test_residents_list_is_scoped_searchable_and_filterable(worker_client, tree, resident_a1, resident_a2):
    other = ResidentFactory(household=tree["household_a1b"], name="赵六")
    ResidentTag.objects.create(resident=other, code="elderly_alone")
    _party_member(resident_a1, tree["grid_a1"])

    url = f"/places/{tree['grid_a1'].pk}/residents/"
    names = lambda response: [resident.name for resident in response.context["residents"]]  # noqa: E731
    assert sorted(names(worker_client.get(url))) == sorted(["张三", "赵六"])  # 李四 lives in grid A2
    assert names(worker_client.get(url, {"q": "赵"})) == ["赵六"]
    assert names(worker_client.get(url, {"tag": "elderly_alone"})) == ["赵六"]
    assert names(worker_client.get(url, {"party": "1"})) == ["张三"]
    assert names(worker_client.get(url, {"party": "0"})) == ["赵六"]
    assert sorted(names(worker_client.get(url, {"tag": "not-a-tag"}))) == sorted(["张三", "赵六"])

    all_in_reach = worker_client.get("/places/residents/")
    assert sorted(names(all_in_reach)) == sorted(["张三", "赵六"])

    assert "1号楼 1单元 102" in worker_client.get(url).content.decode()  # building and entrance shown

    empty = worker_client.get(url, {"q": "没有这个人"})
    assert 'data-testid="empty-residents"' in empty.content.decode()


def test_residents_list_htmx_returns_only_the_table(worker_client, tree, resident_a1):
    response = worker_client.get(
        f"/places/{tree['grid_a1'].pk}/residents/", {"q": "张"}, headers={"HX-Request": "true"}
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert 'data-testid="residents"' in content


def test_residents_list_paginates(worker_client, tree):
    ResidentFactory.create_batch(55, household=tree["household_a1"])
    url = f"/places/{tree['grid_a1'].pk}/residents/"
    first = worker_client.get(url)
    second = worker_client.get(url, {"page": 2})
    assert len(first.context["residents"]) == 50
    assert len(second.context["residents"]) == 5
    assert first.context["page"].paginator.count == 55


@pytest.mark.parametrize("rows", [3, 30])
def test_residents_list_query_count_is_pinned(worker_client, tree, rows, django_assert_num_queries):
    for resident in ResidentFactory.create_batch(rows, household=tree["household_a1"]):
        ResidentTag.objects.create(resident=resident, code="veteran")
    # session, account, roles, place, count, page, tags (prefetch), address names, breadcrumb
    with django_assert_num_queries(9):
        response = worker_client.get(f"/places/{tree['grid_a1'].pk}/residents/")
    assert response.status_code == 200
    assert len(response.context["residents"]) == rows


def test_residents_list_of_another_grid_is_404(worker_client, tree, resident_b1):
    response = worker_client.get(f"/places/{tree['grid_b1'].pk}/residents/")
    assert response.status_code == 404
    assert resident_b1.name not in response.content.decode()


# ---------------------------------------------------------------- resident page and reveal


def test_resident_page_is_masked(worker_client, tree, resident_a1):
    response = worker_client.get(f"/places/residents/{resident_a1.pk}/")
    assert response.status_code == 200
    content = response.content.decode()
    assert resident_a1.id_card_masked in content
    assert resident_a1.phone[:3] + "****" + resident_a1.phone[-4:] in content
    assert resident_a1.phone not in content
    assert response.context["can_reveal"] is True


def test_resident_of_another_grid_is_404_like_missing(worker_client, tree, resident_b1):
    other = worker_client.get(f"/places/residents/{resident_b1.pk}/")
    missing = worker_client.get("/places/residents/999999/")
    assert other.status_code == missing.status_code == 404
    assert _main(other) == _main(missing)
    assert resident_b1.name not in other.content.decode()


def test_reveal_without_purpose_keeps_input_and_records_nothing(worker_client, tree, resident_a1):
    response = worker_client.post(f"/places/residents/{resident_a1.pk}/", {"purpose": "看"})
    assert response.status_code == 422
    content = response.content.decode()
    assert 'data-testid="reveal-error"' in content
    assert 'value="看"' in content
    assert resident_a1.phone not in content
    assert not AuditEntry.objects.filter(action="resident.reveal").exists()


def test_reveal_with_purpose_shows_full_data_and_is_audited(worker_client, tree, resident_a1, grid_worker_a1):
    response = worker_client.post(f"/places/residents/{resident_a1.pk}/", {"purpose": "办理低保申请"})
    assert response.status_code == 200
    content = response.content.decode()
    assert resident_a1.phone in content
    assert response["Cache-Control"] == "no-store"
    entry = AuditEntry.objects.get(action="resident.reveal")
    assert (entry.actor_id, entry.object_id, entry.purpose) == (grid_worker_a1.pk, str(resident_a1.pk), "办理低保申请")
    assert entry.channel == "web"


def test_reveal_without_permission_is_404_and_records_nothing(client, tree, resident_a1):
    building_head = account_with_role(Role.BUILDING_HEAD, tree["building_a1"])
    client.force_login(building_head)
    page = client.get(f"/places/residents/{resident_a1.pk}/")
    assert page.status_code == 200
    assert page.context["can_reveal"] is False
    assert "id_purpose" not in page.content.decode()
    response = client.post(f"/places/residents/{resident_a1.pk}/", {"purpose": "办理低保申请"})
    assert response.status_code == 404
    assert resident_a1.phone not in response.content.decode()
    assert not AuditEntry.objects.filter(action="resident.reveal").exists()


def test_reveal_of_another_grid_is_404_and_records_nothing(worker_client, tree, resident_b1):
    response = worker_client.post(f"/places/residents/{resident_b1.pk}/", {"purpose": "办理低保申请"})
    assert response.status_code == 404
    assert not AuditEntry.objects.filter(action="resident.reveal").exists()


# ---------------------------------------------------------------- export


def test_export_is_masked_with_a_chinese_header_and_audited(worker_client, tree, resident_a1, grid_worker_a1):
    ResidentTag.objects.create(resident=resident_a1, code="veteran")
    _party_member(resident_a1, tree["grid_a1"])
    response = worker_client.get(f"/places/{tree['grid_a1'].pk}/residents.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("序号", "姓名", "性别", "出生日期", "身份证号", "联系电话")
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["E"].width >= 20
    assert len(rows) == 2
    row = rows[1]
    assert row[1] == "张三"
    assert row[4] == resident_a1.id_card_masked and "*" in row[4]
    assert row[5] == resident_a1.phone[:3] + "****" + resident_a1.phone[-4:]
    assert row[6] == "1号楼 1单元 101"
    assert row[8] == "退役军人" and row[9] == "是" and row[10] == "第一网格党支部"
    flat = "".join(str(value) for value in row)
    assert resident_a1.phone not in flat
    entry = AuditEntry.objects.get(action="resident.export")
    assert (entry.actor_id, entry.object_id, entry.changes) == (grid_worker_a1.pk, str(tree["grid_a1"].pk), {"rows": 1})
    assert entry.place_path == tree["grid_a1"].path


def test_export_of_another_grid_is_404_and_not_audited(worker_client, tree, resident_b1):
    response = worker_client.get(f"/places/{tree['grid_b1'].pk}/residents.xlsx")
    missing = worker_client.get("/places/999999/residents.xlsx")
    assert response.status_code == missing.status_code == 404
    assert _main(response) == _main(missing)
    assert not AuditEntry.objects.filter(action="resident.export").exists()


def test_export_without_permission_is_404(client, tree, resident_a1):
    client.force_login(account_with_role(Role.BUILDING_HEAD, tree["building_a1"]))
    response = client.get(f"/places/{tree['building_a1'].pk}/residents.xlsx")
    assert response.status_code == 404
    assert not AuditEntry.objects.filter(action="resident.export").exists()


def test_export_follows_the_list_filters(worker_client, tree, resident_a1):
    ResidentFactory(household=tree["household_a1b"], name="赵六")
    response = worker_client.get(f"/places/{tree['grid_a1'].pk}/residents.xlsx", {"q": "赵"})
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert [row[1] for row in rows[1:]] == ["赵六"]
