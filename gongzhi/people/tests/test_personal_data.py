"""我的信息: everything held about a person, by domain, on the page, in the API and in the download."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.conf import settings
from django.urls import reverse
from openpyxl import load_workbook

from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
from gongzhi.people.models import Account, Resident, RoleAssignment
from gongzhi.people.personal_data import (
    HOLDS_NO_PERSONAL_DATA,
    personal_data_export,
    personal_data_of,
    providers,
)
from gongzhi.people.services import api_token_issue
from gongzhi.people.tests.factories import AccountFactory, ResidentFactory, make_id_card_number

NOW = datetime(2031, 3, 15, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


def _references_a_person(model) -> bool:
    person_models = {Resident, Account, apps.get_model("points", "PointsAccount")}
    return any(
        getattr(field, "related_model", None) in person_models
        for field in model._meta.get_fields()
        if field.concrete and field.is_relation
    )


def test_every_app_holding_personal_data_has_an_exporter_or_says_why_not():
    """A new app whose models name a resident, an account or a points account must answer for them."""
    provided = {label for label, _provider in providers()}
    for model in apps.get_models():
        config = apps.get_app_config(model._meta.app_label)
        if not config.name.startswith("gongzhi.") or not _references_a_person(model):
            continue
        assert config.label in provided or config.label in HOLDS_NO_PERSONAL_DATA, (
            f"{model._meta.label} references a person but {config.label} has no selectors.personal_data_of "
            "and is not in HOLDS_NO_PERSONAL_DATA"
        )
    for label in ("points", "shop", "cases", "volunteering", "deliberation", "cobuilding"):
        assert label in provided


@pytest.fixture
def family(tree):
    number = make_id_card_number(birth="19580301")
    me = ResidentFactory(
        household=tree["household_a1"],
        name="张秀英",
        phone="13912345678",
        id_card_number=number,
        birth_date=date(1958, 3, 1),
    )
    spouse = ResidentFactory(household=tree["household_a1"], name="王建国", phone="13800001111", relation="spouse")
    neighbour = ResidentFactory(household=tree["household_a2"], name="李邻居", phone="13700002222")
    login = AccountFactory(resident=me, username="zhang_xiuying")
    RoleAssignment.objects.create(account=login, role=Role.RESIDENT, place=tree["household_a1"])
    return {"me": me, "number": number, "spouse": spouse, "neighbour": neighbour, "login": login}


def _section(report, key):
    return next(section for section in report.sections if section["key"] == key)


def test_own_data_unmasked_household_masked_nobody_else(family):
    report = personal_data_of(family["login"], now=NOW)
    profile = _section(report, "people.profile")["rows"][0]
    assert profile["name"] == "张秀英"
    assert profile["phone"] == "13912345678"
    assert profile["id_card_number"] == family["number"]
    assert profile["birth_date"] == "1958-03-01"
    members = _section(report, "people.household")["rows"]
    assert members == [
        {
            "name": "王**",
            "relation": family["spouse"].get_relation_display(),
            "phone": "138****1111",
            "id_card_number": family["spouse"].id_card_masked,
        }
    ]
    text = json.dumps([section["rows"] for section in report.sections], ensure_ascii=False)
    assert "王建国" not in text and "13800001111" not in text
    assert "李邻居" not in text and "13700002222" not in text
    keys = [section["key"] for section in report.sections]
    for key in ("points.entries", "points.claims", "shop.orders", "cases.requests", "cases.trail"):
        assert key in keys
    for key in ("volunteering.signups", "deliberation.votes", "cobuilding.ratings", "people.logins", "people.audit"):
        assert key in keys


def test_domains_report_their_rows(family, tree):
    from gongzhi.cases.models import Case, CaseCategory, CaseChannel
    from gongzhi.points.ledger import account_for_resident

    account_for_resident(family["me"])
    category = CaseCategory.objects.create(name="路灯")
    Case.objects.create(
        category=category,
        text="楼下路灯不亮",
        place=tree["household_a1"],
        channel=CaseChannel.RESIDENT_APP,
        reporter_account=family["login"],
        reporter_resident=family["me"],
        contact_name="张秀英",
        contact_phone="13912345678",
        handling_place=tree["grid_a1"],
        state="submitted",
        submitted_at=NOW,
        reported_at=NOW,
    )
    api_token_issue(account=family["login"], now=NOW)
    report = personal_data_of(family["login"], now=NOW)
    assert len(_section(report, "points.accounts")["rows"]) == 1
    (case_row,) = _section(report, "cases.requests")["rows"]
    assert case_row["text"] == "楼下路灯不亮" and case_row["contact_phone"] == "13912345678"
    assert [row["action"] for row in _section(report, "people.logins")["rows"]] == ["auth.token_issued"]


def test_open_ballot_choice_shown_secret_ballot_choice_never_linked(db):
    from gongzhi.deliberation.models import Secrecy
    from gongzhi.deliberation.services import vote_cast
    from gongzhi.deliberation.tests.factories import NOW as VOTE_NOW
    from gongzhi.deliberation.tests.factories import make_world as deliberation_world
    from gongzhi.deliberation.tests.factories import open_vote

    world = deliberation_world()
    public = open_vote(world, title="公开表决")
    secret = open_vote(world, title="无记名表决", secrecy=Secrecy.SECRET)
    vote_cast(actor=world["zhang"], vote=public, choice=1, now=VOTE_NOW)
    vote_cast(actor=world["zhang"], vote=secret, choice=2, now=VOTE_NOW)
    report = personal_data_of(world["zhang"], now=VOTE_NOW)
    rows = {row["vote"]: row for row in _section(report, "deliberation.votes")["rows"]}
    assert rows["公开表决"]["choice"] == "同意"
    assert rows["无记名表决"]["choice"] not in ("同意", "不同意", "", "2")
    # The spouse in the same household sees the household's open vote too, and still no secret choice.
    spouse_rows = {
        row["vote"]: row for row in _section(personal_data_of(world["li"], now=VOTE_NOW), "deliberation.votes")["rows"]
    }
    assert spouse_rows["无记名表决"]["choice"] == rows["无记名表决"]["choice"]


def test_page_is_big_phone_first_and_audited(client, family):
    client.force_login(family["login"])
    before = AuditEntry.objects.count()
    response = client.get(reverse("my_personal_data"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "张秀英" in body and family["number"] in body
    assert "王**" in body and "王建国" not in body
    assert response["Cache-Control"] == "no-store"
    assert AuditEntry.objects.count() == before + 1
    entry = AuditEntry.objects.order_by("-pk").first()
    assert entry.action == "personal_data.view" and family["number"] not in json.dumps(entry.changes)


def test_page_needs_login(client):
    response = client.get(reverse("my_personal_data"))
    assert response.status_code == 302 and settings.LOGIN_URL in response["Location"]


def test_download_zip_has_json_and_a_sheet_per_section(client, family):
    client.force_login(family["login"])
    response = client.post(reverse("my_personal_data_download"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["personal-data.json", "personal-data.xlsx"]
    data = json.loads(archive.read("personal-data.json"))
    profile = next(section for section in data["sections"] if section["key"] == "people.profile")
    assert profile["rows"][0]["id_card_number"] == family["number"]
    workbook = load_workbook(io.BytesIO(archive.read("personal-data.xlsx")))
    assert len(workbook.sheetnames) == len(data["sections"])
    entry = AuditEntry.objects.filter(action="personal_data.export").get()
    assert entry.object_id == str(family["me"].pk)
    assert family["number"] not in json.dumps(entry.changes) and "张秀英" not in entry.purpose


def test_download_is_post_only(client, family):
    client.force_login(family["login"])
    assert client.get(reverse("my_personal_data_download")).status_code == 405


def test_api_json_and_download(family, api_client_for):
    api = api_client_for(family["login"])
    response = api.get("/api/v1/me/personal-data")
    assert response.status_code == 200
    sections = {section["key"]: section for section in response.json()["sections"]}
    assert sections["people.profile"]["rows"][0]["phone"] == "13912345678"
    assert sections["people.household"]["rows"][0]["phone"] == "138****1111"
    download = api.get("/api/v1/me/personal-data/download")
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert AuditEntry.objects.filter(action="personal_data.export", actor=family["login"]).count() == 1


def test_api_needs_authentication(client):
    assert client.get("/api/v1/me/personal-data").status_code == 401


def test_account_without_resident_gets_its_login_part_only(tree):
    staff = AccountFactory(username="staff_only")
    exported = personal_data_export(actor=staff, now=NOW)
    data = json.loads(zipfile.ZipFile(io.BytesIO(exported.content)).read("personal-data.json"))
    keys = {section["key"] for section in data["sections"]}
    assert "people.account" in keys and "people.profile" not in keys
