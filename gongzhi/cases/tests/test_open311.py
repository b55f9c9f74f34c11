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
from gongzhi.cases.open311 import REQUEST_FIELDS, issue_key, key_digest
from gongzhi.core.roles import Role
from gongzhi.people.tests.factories import account_with_role

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
    root = xml(Client().get(f"{BASE}/services.xml", {"jurisdiction_id": "ignored.example"}))
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
            "jurisdiction_id": "city.example",
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
