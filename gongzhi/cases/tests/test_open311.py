"""Open311 GeoReport v2 as a conforming client uses it: form-encoded POST with an api_key, JSON parsed with json,
XML parsed with xml.etree; errors as the spec's array of {code, description} with the right HTTP status."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.test import Client
from django.utils import timezone

from gongzhi.cases import services
from gongzhi.cases.models import Case, CaseChannel, CaseState, Open311Key
from gongzhi.cases.open311 import REQUEST_FIELDS
from gongzhi.cases.open311_keys import issue_key, key_digest
from gongzhi.core.roles import Role
from gongzhi.people.tests.factories import account_with_role

from .factories import make_category

BASE = "/open311/v2"


@pytest.fixture
def hotline(world):
    """An outside system: a service account with case.intake on the street, and its key."""
    account = account_with_role(Role.COMMUNITY_WORKER, world["street"], username="hotline-12345")
    key, raw = issue_key(name="12345热线", place=world["street"], account=account)
    return {"key": key, "raw": raw, "account": account}


def xml(response) -> ElementTree.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ElementTree.fromstring(response.content)


def json_body(response):
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return response.json()


def post(data: dict, fmt: str = "json"):
    # Client.post with a dict sends multipart; a conforming client sends application/x-www-form-urlencoded.
    from urllib.parse import urlencode

    return Client().post(f"{BASE}/requests.{fmt}", urlencode(data), content_type="application/x-www-form-urlencoded")


def test_service_list_and_definition_in_json_and_xml(world):
    services_json = json_body(Client().get(f"{BASE}/services.json"))
    assert services_json == [
        {
            "service_code": "streetlight",
            "service_name": "路灯",
            "description": "",
            "metadata": False,
            "type": "realtime",
            "keywords": "路灯损坏, 照明",
            "group": services_json[0]["group"],
        }
    ]
    root = xml(Client().get(f"{BASE}/services.xml", {"jurisdiction_id": "gongzhi"}))
    assert root.tag == "services"
    service = root.find("service")
    assert service.findtext("service_code") == "streetlight" and service.findtext("metadata") == "false"
    assert service.findtext("type") == "realtime" and service.findtext("service_name") == "路灯"

    definition = json_body(Client().get(f"{BASE}/services/streetlight.json"))
    assert definition == {"service_code": "streetlight", "attributes": []}
    root = xml(Client().get(f"{BASE}/services/streetlight.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "streetlight"
    assert root.find("attributes") is not None and list(root.find("attributes")) == []

    missing = Client().get(f"{BASE}/services/nothing.json")
    assert missing.status_code == 404
    assert [set(error) for error in json_body(missing)] == [{"code", "description"}]
    assert json_body(missing)[0]["code"] == 404
    root = xml(Client().get(f"{BASE}/services/nothing.xml"))
    assert root.tag == "errors" and root.find("error").findtext("code") == "404"
    unknown_format = Client().get(f"{BASE}/services.csv")
    assert unknown_format.status_code == 400 and xml(unknown_format).tag == "errors"


def test_post_a_request_with_an_api_key_in_json_and_xml(world, hotline):
    response = post(
        {
            "api_key": hotline["raw"],
            "jurisdiction_id": "gongzhi",
            "service_code": "streetlight",
            "address_string": "东街道和平社区1号楼门口",
            "description": "路灯整夜不亮",
            "first_name": "先生",
            "last_name": "王",
            "phone": "13812345678",
            "email": "wang@example.org",
            "device_id": "abc",
            "attribute[nothing]": "1",
        }
    )
    assert response.status_code == 200
    body = json_body(response)
    assert len(body) == 1 and set(body[0]) == {"service_request_id", "service_notice", "account_id"}
    assert "token" not in body[0] and body[0]["account_id"] is None
    case = Case.objects.get(pk=int(body[0]["service_request_id"]))
    assert case.channel == CaseChannel.HOTLINE and case.place == world["building_a1"]
    assert case.contact_name == "王先生" and case.recorded_by == hotline["account"]
    assert case.handling_place == world["grid_a1"]
    assert Open311Key.objects.get(pk=hotline["key"].pk).last_used_at is not None

    response = post(
        {
            "api_key": hotline["raw"],
            "service_code": "streetlight",
            "address_id": str(world["household_a2"].pk),
            "description": "二号楼灯坏",
        },
        fmt="xml",
    )
    root = xml(response)
    assert response.status_code == 200 and root.tag == "service_requests"
    request = root.find("request")
    created = Case.objects.get(pk=int(request.findtext("service_request_id")))
    assert created.place == world["household_a2"] and request.find("account_id") is not None

    response = post({"api_key": hotline["raw"], "service_code": "streetlight", "lat": "39.9", "long": "116.4"})
    assert response.status_code == 200
    assert Case.objects.get(pk=int(json_body(response)[0]["service_request_id"])).place == world["street"]


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"service_code": "streetlight", "address_string": "和平社区"}, 403),
        ({"api_key": "wrong", "service_code": "streetlight", "address_string": "和平社区"}, 403),
        ({"api_key": "RAW", "address_string": "和平社区"}, 400),
        ({"api_key": "RAW", "service_code": "nothing", "address_string": "和平社区"}, 404),
        ({"api_key": "RAW", "service_code": "streetlight"}, 400),
        ({"api_key": "RAW", "service_code": "streetlight", "lat": "39.9"}, 400),
        ({"api_key": "RAW", "service_code": "streetlight", "address_id": "999999"}, 400),
        ({"api_key": "RAW", "service_code": "streetlight", "address_string": "x", "media_url": "javascript:x"}, 400),
    ],
)
def test_refused_posts_answer_the_spec_error_and_create_nothing(world, hotline, data, status):
    data = {name: hotline["raw"] if value == "RAW" else value for name, value in data.items()}
    response = post(data)
    assert response.status_code == status
    errors = json_body(response)
    assert isinstance(errors, list) and errors[0]["code"] == status and errors[0]["description"]
    root = xml(post(data, fmt="xml"))
    assert root.tag == "errors" and root.find("error").findtext("code") == str(status)
    assert not Case.objects.exists()


def test_a_key_outside_its_place_or_deactivated_is_refused(world, hotline):
    outside = world["household_b1"]
    narrow_account = account_with_role(Role.COMMUNITY_WORKER, world["community_b"], username="narrow")
    _key, raw = issue_key(name="社区系统", place=world["community_a"], account=narrow_account)
    response = post({"api_key": raw, "service_code": "streetlight", "address_string": "和平社区"})
    assert response.status_code == 403  # its account may not record at community A
    response = post({"api_key": hotline["raw"], "service_code": "streetlight", "address_id": str(world["district"].pk)})
    assert response.status_code == 400  # above the key's place
    Open311Key.objects.filter(pk=hotline["key"].pk).update(is_active=False)
    response = post({"api_key": hotline["raw"], "service_code": "streetlight", "address_id": str(outside.pk)})
    assert response.status_code == 403
    assert not Case.objects.exists()
    assert Open311Key.objects.filter(digest=key_digest(hotline["raw"])).exists()
    assert not Open311Key.objects.filter(digest=hotline["raw"]).exists()


def _cases(world):
    open_case = services.case_submit(
        actor=world["resident"], category=world["category"], text="张三家门口路灯坏了，电话13812345678"
    )
    closed = services.case_submit(actor=world["resident"], category=world["category"], text="另一盏灯")
    services.case_accept(actor=world["grid_worker"], case=closed)
    services.case_resolve(actor=world["grid_worker"], case=closed, resolution="已修好")
    services.case_rate(actor=world["resident"], case=closed, rating="satisfied")
    hotline_case = services.case_submit(
        actor=world["community_worker"],
        category=world["category"],
        text="热线来电",
        place=world["household_a1b"],
        channel=CaseChannel.HOTLINE,
        contact_name="李四",
        contact_phone="13900001111",
    )
    return open_case, closed, hotline_case


def test_anonymous_reads_carry_no_personal_data_and_every_field_of_the_spec(world):
    open_case, closed, hotline_case = _cases(world)
    response = Client().get(f"{BASE}/requests.json")
    rows = json_body(response)
    assert [row["service_request_id"] for row in rows] == [str(hotline_case.pk), str(closed.pk), str(open_case.pk)]
    for row in rows:
        assert tuple(row) == REQUEST_FIELDS
        assert row["description"] is None
        assert row["address"].startswith("1号楼") and "101" not in row["address"] and "102" not in row["address"]
        assert row["address_id"] == str(world["building_a1"].pk)
        assert row["requested_datetime"].endswith("+08:00")
    text = response.content.decode()
    for secret in ("张三", "13812345678", "李四", "13900001111", "已修好"):
        assert secret not in text
    by_id = {row["service_request_id"]: row for row in rows}
    assert by_id[str(open_case.pk)]["status"] == "open" and by_id[str(closed.pk)]["status"] == "closed"
    assert by_id[str(open_case.pk)]["expected_datetime"] and by_id[str(closed.pk)]["expected_datetime"] is None
    assert by_id[str(closed.pk)]["updated_datetime"] == timezone.localtime(
        Case.objects.get(pk=closed.pk).closed_at
    ).isoformat(timespec="seconds")

    root = xml(Client().get(f"{BASE}/requests.xml"))
    assert root.tag == "service_requests" and len(root.findall("request")) == 3
    first = root.find("request")
    assert [child.tag for child in first] == list(REQUEST_FIELDS)
    assert first.findtext("description") == "" and first.findtext("status") == "open"


def test_request_filters_and_one_request(world, hotline):
    open_case, closed, _hotline_case = _cases(world)
    client = Client()
    ids = f"{open_case.pk},{closed.pk},999999"
    rows = json_body(client.get(f"{BASE}/requests.json", {"service_request_id": ids, "status": "closed"}))
    assert {row["service_request_id"] for row in rows} == {str(open_case.pk), str(closed.pk)}  # the list overrides
    rows = json_body(client.get(f"{BASE}/requests.json", {"status": "closed"}))
    assert [row["service_request_id"] for row in rows] == [str(closed.pk)]
    rows = json_body(client.get(f"{BASE}/requests.json", {"status": "open,closed", "service_code": "streetlight,x"}))
    assert len(rows) == 3
    assert json_body(client.get(f"{BASE}/requests.json", {"service_code": "other"})) == []
    now = timezone.now()
    start = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now + timedelta(days=1)).isoformat(timespec="seconds")
    assert len(json_body(client.get(f"{BASE}/requests.json", {"start_date": start, "end_date": end}))) == 3
    old = (now - timedelta(days=200)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert json_body(client.get(f"{BASE}/requests.json", {"end_date": old})) == []
    for params in ({"start_date": old, "end_date": end}, {"start_date": "2025-01-01"}, {"status": "pending"}):
        response = client.get(f"{BASE}/requests.json", params)
        assert response.status_code == 400 and json_body(response)[0]["code"] == 400
        assert xml(client.get(f"{BASE}/requests.xml", params)).tag == "errors"

    one = json_body(client.get(f"{BASE}/requests/{closed.pk}.json"))
    assert len(one) == 1 and one[0]["service_request_id"] == str(closed.pk) and one[0]["status"] == "closed"
    root = xml(client.get(f"{BASE}/requests/{closed.pk}.xml"))
    assert root.find("request").findtext("service_request_id") == str(closed.pk)
    assert client.get(f"{BASE}/requests/999999.json").status_code == 404
    assert xml(client.get(f"{BASE}/requests/abc.xml")).find("error").findtext("code") == "404"

    # With the system's key the requests under its place show their description and the handler's notes.
    keyed = json_body(client.get(f"{BASE}/requests/{closed.pk}.json", {"api_key": hotline["raw"]}))[0]
    assert keyed["description"] == "另一盏灯" and "已修好" in keyed["status_notes"]
    # Tokens are never issued (requests are created in real time).
    assert client.get(f"{BASE}/tokens/123.json").status_code == 404
    # A withdrawn request is closed too.
    services.case_withdraw(actor=world["resident"], case=open_case)
    assert json_body(client.get(f"{BASE}/requests/{open_case.pk}.json"))[0]["status"] == "closed"
    assert Case.objects.get(pk=open_case.pk).state == CaseState.WITHDRAWN


def test_listing_is_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    _cases(world)
    with django_assert_max_num_queries(3):
        Client().get(f"{BASE}/requests.json")
    for number in range(5):
        services.case_submit(actor=world["resident"], category=world["category"], text=f"灯{number}")
    with django_assert_max_num_queries(3):
        assert len(Client().get(f"{BASE}/requests.json").json()) == 8


# ---------------------------------------------------------------- keys: the staff page and the command


def _client(account) -> Client:
    client = Client()
    client.force_login(account)
    return client


def _unchanged(call):
    """Call, and assert no row of the platform changed (Open311 errors are a list, not the /api/v1/ shape)."""
    from gongzhi.core.testing import changed_tables, snapshot

    before = snapshot()
    outcome = call()
    assert changed_tables(before, snapshot()) == []
    return outcome


def test_staff_issue_a_key_shown_once_list_it_masked_and_revoke_it(world):
    from gongzhi.core.models import AuditEntry

    system = account_with_role(Role.COMMUNITY_WORKER, world["street"], username="hotline-12345")
    staff = _client(world["street_admin"])
    queue = staff.get("/cases/queue/").content.decode()
    assert 'href="/cases/manage/open311/"' in queue
    page = staff.get("/cases/manage/open311/")
    assert page.status_code == 200 and b'data-testid="no-keys"' in page.content
    response = staff.post(
        "/cases/manage/open311/", {"name": "12345热线", "place": world["street"].pk, "account": "hotline-12345"}
    )
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    key = Open311Key.objects.get()
    raw = response.context["issued"]["raw"]
    assert key.digest == key_digest(raw) and raw in response.content.decode() and raw not in key.digest
    assert key.account == system and key.place == world["street"] and key.is_active
    assert AuditEntry.objects.filter(action="open311.key_issue", object_id=str(key.pk)).exists()
    # Shown once: the list afterwards shows its first characters only.
    listing = staff.get("/cases/manage/open311/").content.decode()
    assert raw not in listing and f"{key.prefix}…" in listing and "12345热线" in listing
    # The key works, until it is revoked.
    data = {"api_key": raw, "service_code": "streetlight", "address_string": "和平社区1号楼"}
    assert post(data).status_code == 200
    assert staff.post(f"/cases/manage/open311/{key.pk}/revoke/").status_code == 302
    key.refresh_from_db()
    assert not key.is_active and key.revoked_at is not None
    assert AuditEntry.objects.filter(action="open311.key_revoke", object_id=str(key.pk)).exists()
    assert _unchanged(lambda: post(data)).status_code == 403
    assert 'data-testid="revoke-key"' not in staff.get("/cases/manage/open311/").content.decode()


def test_the_key_page_refuses_outsiders_and_reports_every_problem_at_once(world):
    grid = _client(world["grid_worker"])
    assert "manage/open311" not in grid.get("/cases/queue/").content.decode()
    assert _unchanged(lambda: grid.get("/cases/manage/open311/")).status_code == 404
    assert _unchanged(lambda: grid.post("/cases/manage/open311/", {"name": "x"})).status_code == 404
    staff = _client(world["street_admin"])
    response = _unchanged(lambda: staff.post("/cases/manage/open311/", {"name": "", "place": "", "account": "nobody"}))
    assert response.status_code == 422
    assert set(response.context["errors"]) == {"name", "place", "account"}
    # An account that may not record requests at the place is refused with the reason.
    plain = account_with_role(Role.BUILDING_HEAD, world["building_a1"], username="plain")
    response = _unchanged(
        lambda: staff.post(
            "/cases/manage/open311/", {"name": "城市平台", "place": world["street"].pk, "account": "plain"}
        )
    )
    assert response.status_code == 422 and list(response.context["errors"]) == ["account"]
    assert plain.pk and not Open311Key.objects.exists()
    # A place out of the staff's reach cannot be chosen; another place's keys cannot be revoked.
    other = account_with_role(Role.COMMUNITY_SECRETARY, world["community_b"], username="secretary_b")
    _key, _raw = issue_key(name="区级平台", place=world["street"], account=world["community_worker"])
    response = _unchanged(
        lambda: _client(other).post(
            "/cases/manage/open311/", {"name": "x", "place": world["community_a"].pk, "account": "community_a"}
        )
    )
    assert response.status_code == 422 and "place" in response.context["errors"]
    assert _unchanged(lambda: _client(other).post(f"/cases/manage/open311/{_key.pk}/revoke/")).status_code == 404
    assert "区级平台" not in _client(other).get("/cases/manage/open311/").content.decode()


def test_the_command_issues_a_key_once_lists_and_revokes_it(world):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from gongzhi.core.models import AuditEntry

    account_with_role(Role.COMMUNITY_WORKER, world["street"], username="hotline-12345")
    out = StringIO()
    call_command(
        "open311_key",
        "issue",
        "--name",
        "12345热线",
        "--place",
        str(world["street"].pk),
        "--account",
        "hotline-12345",
        stdout=out,
    )
    raw = out.getvalue().strip().splitlines()[-1]
    key = Open311Key.objects.get()
    assert key.digest == key_digest(raw) and key.name == "12345热线"
    entry = AuditEntry.objects.get(action="open311.key_issue")
    assert entry.actor_id is None and entry.actor_label == "command:open311_key"
    listing = StringIO()
    call_command("open311_key", "list", stdout=listing)
    assert f"{key.prefix}…" in listing.getvalue() and raw not in listing.getvalue()
    call_command("open311_key", "revoke", str(key.pk), stdout=StringIO())
    assert not Open311Key.objects.get().is_active
    with pytest.raises(CommandError):
        call_command("open311_key", "revoke", str(key.pk), stdout=StringIO())
    with pytest.raises(CommandError):
        call_command(
            "open311_key", "issue", "--name", "x", "--place", "999999", "--account", "nobody", stdout=StringIO()
        )
    assert Open311Key.objects.count() == 1


# ---------------------------------------------------------------- services with attributes (the categories' questions)


@pytest.fixture
def questions(world):
    from gongzhi.cases.attributes import attribute_add

    category = world["category"]
    admin = world["district_admin"]
    attribute_add(
        actor=admin,
        category=category,
        data={
            "code": "kind",
            "description": "哪种问题？",
            "datatype": "singlevaluelist",
            "required": True,
            "order": 1,
            "values": "dark=整夜不亮\nflicker=闪烁",
        },
    )
    attribute_add(
        actor=admin,
        category=category,
        data={
            "code": "lamps",
            "description": "几盏灯？",
            "datatype": "number",
            "order": 2,
            "datatype_description": "盏",
        },
    )
    attribute_add(
        actor=admin,
        category=category,
        data={"code": "since", "description": "从什么时候开始？", "datatype": "datetime", "order": 3},
    )
    attribute_add(
        actor=admin,
        category=category,
        data={
            "code": "nearby",
            "description": "附近有什么？",
            "datatype": "multivaluelist",
            "order": 4,
            "values": "gate=大门\nshop=商店\nbus=公交站",
        },
    )
    attribute_add(
        actor=admin,
        category=category,
        data={"code": "note", "description": "请勿填写个人信息", "datatype": "text", "order": 5, "variable": False},
    )
    return category


def test_a_service_with_questions_has_metadata_and_its_definition(world, questions):
    other = make_category("噪音", code="noise")
    rows = {row["service_code"]: row for row in json_body(Client().get(f"{BASE}/services.json"))}
    assert rows["streetlight"]["metadata"] is True and rows[other.code]["metadata"] is False
    root = xml(Client().get(f"{BASE}/services.xml"))
    metadata = {service.findtext("service_code"): service.findtext("metadata") for service in root.findall("service")}
    assert metadata == {"streetlight": "true", "noise": "false"}

    definition = json_body(Client().get(f"{BASE}/services/streetlight.json"))
    assert definition["service_code"] == "streetlight"
    first, second, *_rest, last = definition["attributes"]
    assert first == {
        "variable": True,
        "code": "kind",
        "datatype": "singlevaluelist",
        "required": True,
        "datatype_description": None,
        "order": 1,
        "description": "哪种问题？",
        "values": [{"key": "dark", "name": "整夜不亮"}, {"key": "flicker", "name": "闪烁"}],
    }
    assert second["datatype"] == "number" and second["datatype_description"] == "盏" and second["values"] == []
    assert [attribute["code"] for attribute in definition["attributes"]] == ["kind", "lamps", "since", "nearby", "note"]
    assert last["variable"] is False and last["required"] is False
    root = xml(Client().get(f"{BASE}/services/streetlight.xml"))
    attribute = root.find("attributes").find("attribute")
    assert [child.tag for child in attribute] == list(first)
    assert attribute.findtext("required") == "true" and attribute.findtext("datatype_description") == ""
    values = attribute.find("values").findall("value")
    assert [(value.findtext("key"), value.findtext("name")) for value in values] == [
        ("dark", "整夜不亮"),
        ("flicker", "闪烁"),
    ]
    assert json_body(Client().get(f"{BASE}/services/noise.json")) == {"service_code": "noise", "attributes": []}


def test_answers_are_checked_stored_on_the_case_and_shown_on_its_page(world, hotline, questions):
    from urllib.parse import urlencode

    data = [
        ("api_key", hotline["raw"]),
        ("service_code", "streetlight"),
        ("address_id", str(world["household_a1"].pk)),
        ("description", "门口的灯"),
        ("attribute[kind]", "dark"),
        ("attribute[lamps]", "3"),
        ("attribute[since]", "2026-01-05T20:00:00+08:00"),
        ("attribute[nearby][]", "gate"),
        ("attribute[nearby][]", "bus"),
        ("attribute[note]", "ignored"),
        ("attribute[unknown]", "ignored too"),
    ]
    response = Client().post(f"{BASE}/requests.json", urlencode(data), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    case = Case.objects.get(pk=int(json_body(response)[0]["service_request_id"]))
    assert case.attributes == {
        "kind": "dark",
        "lamps": 3,
        "since": "2026-01-05T20:00:00+08:00",
        "nearby": ["gate", "bus"],
    }
    page = _client(world["grid_worker"]).get(f"/cases/{case.pk}/").content.decode()
    for shown in ("哪种问题？", "整夜不亮", "几盏灯？", "3", "2026-01-05 20:00", "大门、公交站"):
        assert shown in page
    # An answer whose question is archived later keeps its words on the page.
    from gongzhi.cases.attributes import attribute_archive
    from gongzhi.cases.models import CategoryAttribute

    attribute_archive(actor=world["district_admin"], attribute=CategoryAttribute.objects.get(code="kind"))
    assert "整夜不亮" in _client(world["grid_worker"]).get(f"/cases/{case.pk}/").content.decode()
    assert json_body(Client().get(f"{BASE}/services/streetlight.json"))["attributes"][0]["code"] == "lamps"


@pytest.mark.parametrize(
    ("answers", "wrong"),
    [
        ({}, ["attribute[kind]"]),
        ({"attribute[kind]": "purple"}, ["attribute[kind]"]),
        ({"attribute[kind]": "dark", "attribute[lamps]": "three"}, ["attribute[lamps]"]),
        ({"attribute[kind]": "dark", "attribute[since]": "yesterday"}, ["attribute[since]"]),
        ({"attribute[kind]": "dark", "attribute[nearby][]": "moon"}, ["attribute[nearby]"]),
        (
            {"attribute[lamps]": "x", "attribute[since]": "2026-01-05"},
            ["attribute[kind]", "attribute[lamps]", "attribute[since]"],
        ),
    ],
)
def test_bad_answers_answer_the_spec_error_and_write_nothing(world, hotline, questions, answers, wrong):
    data = {"api_key": hotline["raw"], "service_code": "streetlight", "address_string": "和平社区", **answers}
    response = _unchanged(lambda: post(data))
    assert response.status_code == 400
    errors = json_body(response)
    assert [error["code"] for error in errors] == [400] * len(wrong)
    assert [error["description"].split(":")[0] for error in errors] == wrong
    root = xml(_unchanged(lambda: post(data, fmt="xml")))
    assert root.tag == "errors" and len(root.findall("error")) == len(wrong)
    assert not Case.objects.exists()


def test_staff_define_a_categorys_questions_on_their_page(world):
    from gongzhi.cases.models import CategoryAttribute

    admin = _client(world["district_admin"])
    assert 'href="/cases/manage/categories/"' in admin.get("/cases/queue/").content.decode()
    assert "路灯" in admin.get("/cases/manage/categories/").content.decode()
    url = f"/cases/manage/categories/{world['category'].pk}/"
    assert admin.get(url).status_code == 200
    # Every problem at once, nothing written.
    response = _unchanged(
        lambda: admin.post(url, {"code": "bad code", "description": "", "datatype": "singlevaluelist"})
    )
    assert response.status_code == 422 and set(response.context["errors"]) == {"code", "description", "values"}
    response = admin.post(
        url,
        {
            "code": "kind",
            "description": "哪种问题？",
            "datatype": "singlevaluelist",
            "required": "1",
            "variable": "1",
            "order": "1",
            "values": "dark=整夜不亮\nflicker=闪烁",
        },
    )
    assert response.status_code == 302
    attribute = CategoryAttribute.objects.get()
    assert attribute.values == [{"key": "dark", "name": "整夜不亮"}, {"key": "flicker", "name": "闪烁"}]
    assert attribute.required and attribute.variable
    assert (
        _unchanged(lambda: admin.post(url, {"code": "kind", "description": "again", "datatype": "string"})).status_code
        == 422
    )
    edit = f"/cases/manage/questions/{attribute.pk}/"
    edit_page = admin.get(edit).content.decode()
    assert "dark=整夜不亮\nflicker=闪烁</textarea>" in edit_page and "dict_values" not in edit_page
    response = admin.post(
        edit, {"code": "kind", "description": "什么问题？", "datatype": "string", "order": "2", "variable": "1"}
    )
    assert response.status_code == 302
    attribute.refresh_from_db()
    assert attribute.description == "什么问题？" and attribute.values == [] and not attribute.required
    assert admin.post(f"/cases/manage/questions/{attribute.pk}/archive/").status_code == 302
    assert not CategoryAttribute.objects.get().is_active
    assert json_body(Client().get(f"{BASE}/services.json"))[0]["metadata"] is False
    # Only those who configure the district's categories: a street admin or grid worker gets not found.
    for account in (world["street_admin"], world["grid_worker"]):
        client = _client(account)
        assert "manage/categories" not in client.get("/cases/queue/").content.decode()
        assert _unchanged(lambda client=client: client.get(url)).status_code == 404
        assert (
            _unchanged(
                lambda client=client: client.post(url, {"code": "x", "description": "x", "datatype": "string"})
            ).status_code
            == 404
        )


# ---------------------------------------------------------------- lat / long


def test_lat_and_long_are_stored_and_returned(world, hotline):
    response = post(
        {"api_key": hotline["raw"], "service_code": "streetlight", "lat": "39.9087654", "long": "116.3974321"}
    )
    case = Case.objects.get(pk=int(json_body(response)[0]["service_request_id"]))
    assert (str(case.latitude), str(case.longitude)) == ("39.908765", "116.397432")
    with_address = post(
        {
            "api_key": hotline["raw"],
            "service_code": "streetlight",
            "address_id": str(world["household_a1"].pk),
            "lat": "39.91",
            "long": "116.40",
        }
    )
    second = Case.objects.get(pk=int(json_body(with_address)[0]["service_request_id"]))
    assert second.place == world["household_a1"] and float(second.latitude) == 39.91
    # Without a key: about 100 m (three decimals); with the key of the place: in full.
    row = json_body(Client().get(f"{BASE}/requests/{case.pk}.json"))[0]
    assert (row["lat"], row["long"]) == (39.909, 116.397)
    row = json_body(Client().get(f"{BASE}/requests/{case.pk}.json", {"api_key": hotline["raw"]}))[0]
    assert (row["lat"], row["long"]) == (39.908765, 116.397432)
    listed = {row["service_request_id"]: row for row in json_body(Client().get(f"{BASE}/requests.json"))}
    assert listed[str(second.pk)]["lat"] == 39.91 and listed[str(second.pk)]["long"] == 116.4
    request = xml(Client().get(f"{BASE}/requests/{case.pk}.xml")).find("request")
    assert request.findtext("lat") == "39.909" and request.findtext("long") == "116.397"
    # A request filed without coordinates has none.
    plain = services.case_submit(actor=world["resident"], category=world["category"], text="灯")
    row = json_body(Client().get(f"{BASE}/requests/{plain.pk}.json"))[0]
    assert row["lat"] is None and row["long"] is None
    page = _client(world["grid_worker"]).get(f"/cases/{second.pk}/").content.decode()
    assert 'data-testid="case-coordinates"' in page and "39.910000, 116.400000" in page


# ---------------------------------------------------------------- jurisdiction_id


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "services.json"),
        ("get", "services/streetlight.json"),
        ("get", "requests.json"),
        ("get", "requests/1.json"),
        ("post", "requests.json"),
    ],
)
def test_an_unknown_jurisdiction_is_refused(world, hotline, settings, method, path):
    settings.GONGZHI_OPEN311_JURISDICTION_ID = "dongcheng.example.gov.cn"
    data = {"api_key": hotline["raw"], "service_code": "streetlight", "address_string": "和平社区"}
    if method == "get":
        response = _unchanged(lambda: Client().get(f"{BASE}/{path}", {"jurisdiction_id": "city.example"}))
    else:
        response = _unchanged(lambda: post({**data, "jurisdiction_id": "city.example"}))
    assert response.status_code == 404
    errors = json_body(response)
    assert errors[0]["code"] == 404 and "jurisdiction_id" in errors[0]["description"]
    assert not Case.objects.exists()
    # This deployment's id, or none at all, is accepted.
    if method == "post":
        assert post({**data, "jurisdiction_id": "dongcheng.example.gov.cn"}).status_code == 200
        assert post(data).status_code == 200
        assert Case.objects.count() == 2
    else:
        ok = Client().get(f"{BASE}/{path}", {"jurisdiction_id": "dongcheng.example.gov.cn"})
        assert ok.status_code in (200, 404) and Client().get(f"{BASE}/services.json").status_code == 200
        if path != "requests/1.json":
            assert ok.status_code == 200


def test_the_default_jurisdiction_is_gongzhi(world):
    assert Client().get(f"{BASE}/services.json", {"jurisdiction_id": "gongzhi"}).status_code == 200
    assert (
        xml(Client().get(f"{BASE}/services.xml", {"jurisdiction_id": "other"})).find("error").findtext("code") == "404"
    )
