"""Anonymising a person who left: identity gone, every record and figure kept; refused twice; audited."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from gongzhi.core.figures import Period
from gongzhi.core.kpi_catalogue import compute
from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
from gongzhi.core.testing import assert_refused
from gongzhi.people.anonymise import ANONYMISED_NAME, resident_anonymise, resident_record_leaving
from gongzhi.people.errors import PeopleError
from gongzhi.people.models import Account, ApiToken, Resident, ResidentTag, RoleAssignment
from gongzhi.people.services import api_token_authenticate, api_token_issue
from gongzhi.people.tests.factories import AccountFactory, ResidentFactory, account_with_role, make_id_card_number

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2031, 4, 2, 10, tzinfo=SHANGHAI)


@pytest.fixture
def leaver(tree):
    number = make_id_card_number(birth="19500607")
    resident = ResidentFactory(
        household=tree["household_a1"],
        name="赵离开",
        phone="13612345678",
        id_card_number=number,
        birth_date=date(1950, 6, 7),
    )
    ResidentTag.objects.create(resident=resident, code="elderly_alone")
    login = AccountFactory(resident=resident, username="zhao_leaves", email="zhao@example.com")
    RoleAssignment.objects.create(
        account=login, role=Role.RESIDENT, place=tree["household_a1"], starts_on=date(2030, 1, 1)
    )
    token = api_token_issue(account=login, now=NOW - timedelta(days=1))
    secretary = account_with_role(Role.COMMUNITY_SECRETARY, tree["community_a"], username="sec_a")
    return {"resident": resident, "number": number, "login": login, "token": token, "secretary": secretary}


def test_identity_removed_login_ended(leaver):
    resident = resident_anonymise(
        actor=leaver["secretary"], resident=leaver["resident"], reason="已搬离本社区，户主确认", now=NOW
    )
    assert resident.name == ANONYMISED_NAME
    assert (resident.phone, resident.id_card_ciphertext, resident.id_card_masked) == ("", "", "")
    assert resident.id_card_digest is None and resident.birth_date is None
    assert resident.is_active is False and resident.left_on == NOW.date() and resident.anonymised_at == NOW
    assert not ResidentTag.objects.filter(resident=resident).exists()
    login = Account.objects.get(pk=leaver["login"].pk)
    assert not login.is_active and not login.has_usable_password()
    assert login.username == f"anonymised-{login.pk}" and login.email == ""
    assert not RoleAssignment.objects.current(on=NOW.date(), active_accounts=False).filter(account=login).exists()
    assert ApiToken.objects.filter(account=login, revoked_at__isnull=True).count() == 0
    assert api_token_authenticate(leaver["token"], now=NOW) is None
    # The same ID card number can be registered again (a person coming back is a new registration).
    assert not Resident.objects.exclude(id_card_digest=None).filter(pk=resident.pk).exists()


def test_audit_entry_has_reason_but_not_the_removed_data(leaver):
    resident_anonymise(actor=leaver["secretary"], resident=leaver["resident"], reason="已搬离本社区，户主确认", now=NOW)
    entry = AuditEntry.objects.get(action="resident.anonymise")
    assert entry.purpose == "已搬离本社区，户主确认" and entry.actor_id == leaver["secretary"].pk
    written = json.dumps(
        {"changes": entry.changes, "purpose": entry.purpose, "label": entry.actor_label}, ensure_ascii=False
    )
    for removed in ("赵离开", "13612345678", leaver["number"], "1950-06-07", "zhao_leaves", "zhao@example.com"):
        assert removed not in written


def test_refused_the_second_time_without_change(leaver):
    resident_anonymise(actor=leaver["secretary"], resident=leaver["resident"], reason="已搬离本社区", now=NOW)
    again = Resident.objects.get(pk=leaver["resident"].pk)
    assert_refused(
        PeopleError.ALREADY_ANONYMISED,
        lambda: resident_anonymise(actor=leaver["secretary"], resident=again, reason="再来一次", now=NOW),
    )


def test_reason_required(leaver):
    assert_refused(
        PeopleError.REASON_REQUIRED,
        lambda: resident_anonymise(actor=leaver["secretary"], resident=leaver["resident"], reason=" ", now=NOW),
    )


@pytest.mark.parametrize("role", [Role.COMMUNITY_WORKER, Role.GRID_WORKER, Role.RESIDENT])
def test_needs_the_permission(tree, leaver, role):
    place = tree["household_a1"] if role == Role.RESIDENT else tree["community_a"]
    other = account_with_role(role, place)
    assert_refused(
        "not_found",
        lambda: resident_anonymise(actor=other, resident=leaver["resident"], reason="已搬离本社区", now=NOW),
    )


def test_out_of_reach_is_not_found(tree, leaver):
    secretary_b = account_with_role(Role.COMMUNITY_SECRETARY, tree["community_b"])
    assert_refused(
        "not_found",
        lambda: resident_anonymise(actor=secretary_b, resident=leaver["resident"], reason="已搬离本社区", now=NOW),
    )


def test_every_figure_and_the_ledger_are_the_same_after(db):
    """KPI catalogue (every figure, district and community, two periods) and points_check, before == after."""
    from django.core.management import call_command

    from gongzhi.cases.models import Case, CaseChannel
    from gongzhi.cockpit.tests.conftest import build_world
    from gongzhi.points.ledger import ledger_check
    from gongzhi.points.models import Entry, PointsAccount

    world = build_world()
    resident = world.r1.resident
    Case.objects.create(
        category=world["category"],
        text="楼道灯坏了",
        place=world["grid_a1"],
        channel=CaseChannel.RESIDENT_APP,
        reporter_resident=resident,
        contact_name=resident.name,
        contact_phone=resident.phone,
        handling_place=world["grid_a1"],
        state="closed",
        submitted_at=datetime(2031, 3, 8, 9, tzinfo=SHANGHAI),
        reported_at=datetime(2031, 3, 8, 9, tzinfo=SHANGHAI),
        closed_at=datetime(2031, 3, 9, 9, tzinfo=SHANGHAI),
        resolved_level="grid",
        satisfaction="satisfied",
    )
    secretary = account_with_role(Role.COMMUNITY_SECRETARY, world["community_a"], username="sec_kpi")
    resident_record_leaving(actor=secretary, resident=resident, left_on=date(2031, 3, 31), now=NOW)
    periods = [Period.month(2031, 3), Period.month(2031, 2), Period.year(2031)]
    places = [world["district"], world["community_a"]]

    def figures():
        return [
            {key: value.as_dict() for key, value in compute(place, period).values.items()}
            for place in places
            for period in periods
        ]

    def ledger():
        return (
            list(PointsAccount.objects.order_by("pk").values_list("pk", "balance", "held", "earned_total")),
            list(Entry.objects.order_by("pk").values_list("pk", "account_id", "amount", "bucket")),
        )

    before, ledger_before = figures(), ledger()
    assert ledger_check() == []
    resident_anonymise(actor=secretary, resident=resident, reason="已搬离，户籍迁出", now=NOW)
    assert figures() == before
    assert ledger() == ledger_before
    assert ledger_check() == []
    call_command("points_check")
    case = Case.objects.get(text="楼道灯坏了")
    assert (case.contact_name, case.contact_phone) == ("", "")
    assert case.reporter_resident_id == resident.pk and case.state == "closed"
    assert PointsAccount.objects.get(pk=world.r1.pk).display_name == ""


def test_staff_page_confirms_then_anonymises(client, tree, leaver):
    client.force_login(leaver["secretary"])
    url = reverse("resident_anonymise", args=[leaver["resident"].pk])
    page = client.get(url)
    assert page.status_code == 200 and "赵离开" in page.content.decode()
    unconfirmed = client.post(url, {"reason": "已搬离本社区"})
    assert unconfirmed.status_code == 422
    assert Resident.objects.get(pk=leaver["resident"].pk).anonymised_at is None
    done = client.post(url, {"reason": "已搬离本社区", "confirm": "yes"})
    assert done.status_code == 302
    assert Resident.objects.get(pk=leaver["resident"].pk).name == ANONYMISED_NAME
    assert 'data-testid="anonymised"' in client.get(url).content.decode()


def test_staff_page_out_of_reach_is_404(client, tree, leaver):
    client.force_login(account_with_role(Role.COMMUNITY_WORKER, tree["community_a"]))
    assert client.get(reverse("resident_anonymise", args=[leaver["resident"].pk])).status_code == 404


def test_resident_page_shows_the_button_only_with_the_permission(client, tree, leaver):
    url = reverse("resident_detail", args=[leaver["resident"].pk])
    client.force_login(leaver["secretary"])
    assert 'data-testid="anonymise-link"' in client.get(url).content.decode()
    client.force_login(account_with_role(Role.GRID_WORKER, tree["grid_a1"]))
    assert 'data-testid="anonymise-link"' not in client.get(url).content.decode()


def test_admin_action_leads_to_the_same_page(client, tree, leaver):
    from gongzhi.places.tests.factories import superuser

    admin = superuser()
    client.force_login(admin)
    response = client.post(
        reverse("admin:people_resident_changelist"),
        {"action": "anonymise_selected", "_selected_action": [leaver["resident"].pk]},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("resident_anonymise", args=[leaver["resident"].pk])


def test_api_endpoint(api_client_for, leaver):
    api = api_client_for(leaver["secretary"])
    url = f"/api/v1/residents/{leaver['resident'].pk}/anonymise"
    response = api.post(url, {"reason": "已搬离本社区"})
    assert response.status_code == 200 and response.json()["id"] == leaver["resident"].pk
    assert api.post(url, {"reason": "已搬离本社区"}).json()["code"] == "already_anonymised"


def test_record_leaving(leaver):
    resident = resident_record_leaving(
        actor=leaver["secretary"], resident=leaver["resident"], left_on=date(2031, 3, 1), now=NOW
    )
    assert resident.is_active is False and resident.left_on == date(2031, 3, 1)
    assert resident.name == "赵离开"
    assert_refused(
        "validation_failed",
        lambda: resident_record_leaving(
            actor=leaver["secretary"], resident=resident, left_on=NOW.date() + timedelta(days=1), now=NOW
        ),
    )
