"""The annual evaluation of party members and resident organisations, and its audited .xlsx export."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from gongzhi.core.errors import DomainError
from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
from gongzhi.people.models import Organisation
from gongzhi.people.services import party_membership_set, party_organisation_create
from gongzhi.people.tests.factories import account_with_role
from gongzhi.places.tests.factories import superuser
from gongzhi.points.evaluation import (
    evaluation_export,
    organisation_evaluation,
    party_member_evaluation,
)
from gongzhi.points.ledger import account_for_organisation
from gongzhi.points.models import AccountKind
from gongzhi.points.services import claim_reverse, claim_submit
from gongzhi.points.tests.factories import secretary

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(world, tree):
    """On the points world: party member 张三 (in service): two approved claims (one from an activity), one
    reversed, one pending; party member 李四: nothing; resident 王五 (not a member): points; a school 8 points, a
    merchant without an account (left out), a social organisation without points."""
    admin = superuser()
    committee = party_organisation_create(actor=admin, kind="committee", name="和平社区党委", place=world.community)
    branch = party_organisation_create(
        actor=admin, kind="branch", name="第一网格党支部", place=tree["grid_a1"], parent=committee
    )
    today = timezone.localdate()
    _login, world.zhang = world.resident(name="张三", kind=AccountKind.PARTY_MEMBER)
    party_membership_set(
        actor=admin, resident=world.zhang.resident, organisation=branch, is_in_service=True, employer_name="区教育局"
    )
    _l, world.li = world.resident("household_a1b", name="李四", kind=AccountKind.PARTY_MEMBER)
    party_membership_set(actor=admin, resident=world.li.resident, organisation=branch)
    _l, world.wang = world.resident("household_a2", name="王五")
    world.award(world.zhang, 8, today, source_type="activity")
    world.award(world.zhang, 5, today - timedelta(days=1))
    reversed_claim = world.award(world.zhang, 3, today - timedelta(days=2))
    claim_reverse(actor=world.reviewer, claim=reversed_claim, reason="重复")
    claim_submit(actor=world.worker, account=world.zhang, item=world.items[3], service_date=today - timedelta(days=3))
    world.award(world.wang, 5, today)
    school = Organisation.objects.create(
        kind="school", name="实验小学", place=tree["grid_a1"], supervising_department="区教育局"
    )
    world.school = account_for_organisation(school)
    world.award(world.school, 8, today, source_type="activity")
    Organisation.objects.create(kind="merchant", name="便民超市", place=tree["grid_a1"])
    Organisation.objects.create(
        kind="social_organisation", name="邻里互助会", place=tree["grid_a2"], supervising_department="区民政局"
    )
    return world


def test_party_member_rows(world, tree):
    year = timezone.localdate().year
    rows = party_member_evaluation(actor=secretary(world.community), place=world.community, year=year)
    assert [(r.name, r.points, r.claims, r.approved, r.activities) for r in rows] == [
        ("张三", 13, 4, 2, 1),
        ("李四", 0, 0, 0, 0),
    ]
    assert rows[0].group == "第一网格党支部" and "区教育局" in rows[0].detail
    assert (
        party_member_evaluation(actor=secretary(world.community), place=world.community, year=year - 1)[0].points == 0
    )


def test_organisation_rows(world):
    year = timezone.localdate().year
    rows = organisation_evaluation(actor=secretary(world.community), place=world.community, year=year)
    assert [(r.name, r.group, r.points, r.approved, r.activities) for r in rows] == [
        ("实验小学", "区教育局", 8, 1, 1),
        ("邻里互助会", "区民政局", 0, 0, 0),
    ]


def test_export_is_audited_with_chinese_headers_and_no_personal_numbers(world):
    year = timezone.localdate().year
    actor = account_with_role(Role.COMMUNITY_WORKER, world.community)
    content, rows = evaluation_export(actor=actor, place=world.community, year=year)
    assert rows == 2
    sheet = load_workbook(io.BytesIO(content)).active
    values = list(sheet.iter_rows(values_only=True))
    with translation.override("zh-hans"):
        assert values[1][:2] == (_("No."), _("Name")) == ("序号", "姓名")
    assert values[2][:2] == (1, "张三") and values[2][4:] == (13, 4, 2, 1)
    text = str(values)
    assert world.zhang.resident.phone not in text and world.zhang.resident.id_card_masked not in text
    entry = AuditEntry.objects.get(action="points.evaluation_export")
    assert entry.actor_id == actor.pk and entry.changes == {"subject": "party_members", "year": year, "rows": 2}

    content, rows = evaluation_export(actor=actor, place=world.community, year=year, subject="organisations")
    assert rows == 2
    sheet = load_workbook(io.BytesIO(content)).active
    assert [row[1] for row in sheet.iter_rows(min_row=3, values_only=True)] == ["实验小学", "邻里互助会"]


def test_refusals_change_nothing(world, tree):
    year = timezone.localdate().year
    before = AuditEntry.objects.count()
    for actor, kwargs, code in [
        (secretary(tree["community_b"]), {}, "not_found"),
        (world.reviewer, {}, "not_found"),  # the committee reviews; exporting is the secretary's and workers'
        (secretary(world.community), {"year": year + 1}, "validation_failed"),
        (secretary(world.community), {"subject": "everyone"}, "validation_failed"),
    ]:
        with pytest.raises(DomainError) as caught:
            evaluation_export(actor=actor, place=world.community, **{"year": year, **kwargs})
        assert caught.value.code == code
    assert AuditEntry.objects.count() == before
