"""The admin's party pages: they open (they answered 403), and adding or changing goes through the party services."""

from __future__ import annotations

import pytest
from django.utils import timezone

from gongzhi.core.models import AuditEntry
from gongzhi.core.testing import assert_refused, changed_tables, snapshot
from gongzhi.people.models import Account, PartyMembership, PartyOrganisation
from gongzhi.people.party import PartyMembershipInput, party_membership_add

pytestmark = pytest.mark.django_db


def _staff(client, account):
    Account.objects.filter(pk=account.pk).update(is_staff=True)
    client.force_login(Account.objects.get(pk=account.pk))
    return client


def membership_post(world, **changes):
    data = {
        "resident": world.zhang.pk,
        "organisation": world.branch.pk,
        "joined_on": "2005-07-01",
        "is_in_service": "on",
        "employer": "",
        "employer_name": "区教育局",
        "employer_party_organisation": "区教育局机关党委",
    }
    return {**data, **changes}


@pytest.mark.parametrize(
    "url",
    [
        "/admin/people/partyorganisation/",
        "/admin/people/partyorganisation/add/",
        "/admin/people/partymembership/",
        "/admin/people/partymembership/add/",
    ],
)
def test_the_party_pages_open_for_the_superuser(client, world, url):
    client.force_login(world.admin)
    assert client.get(url).status_code == 200


def test_adding_a_party_organisation_goes_through_the_service(client, world):
    client.force_login(world.admin)
    response = client.post(
        "/admin/people/partyorganisation/add/",
        {"kind": "group", "name": "2号楼党小组", "place": world.tree["building_a2"].pk, "parent": world.branch.pk},
    )
    assert response.status_code == 200 and "place" in response.context["adminform"].form.errors  # not inside grid A1
    response = client.post(
        "/admin/people/partyorganisation/add/",
        {"kind": "branch", "name": "第二网格党支部", "place": world.tree["grid_a2"].pk, "parent": world.committee.pk},
    )
    assert response.status_code == 302
    node = PartyOrganisation.objects.get(name="第二网格党支部")
    assert node.path == f"{world.committee.path}{node.pk}/"
    assert AuditEntry.objects.filter(action="party.organisation_create", object_id=str(node.pk)).exists()


def test_adding_changing_and_ending_a_membership_go_through_the_services(client, world):
    client.force_login(world.admin)
    response = client.post("/admin/people/partymembership/add/", membership_post(world))
    assert response.status_code == 302, response.context["adminform"].form.errors
    membership = PartyMembership.objects.get(resident=world.zhang)
    assert (membership.organisation, membership.is_in_service, membership.employer_name) == (
        world.branch,
        True,
        "区教育局",
    )
    assert AuditEntry.objects.filter(action="party.membership_add", actor=world.admin).count() == 1

    again = client.post("/admin/people/partymembership/add/", membership_post(world))
    assert again.status_code == 200 and again.context["adminform"].form.errors  # a member already
    assert PartyMembership.objects.count() == 1

    change = f"/admin/people/partymembership/{membership.pk}/change/"
    assert client.get(change).status_code == 200
    data = membership_post(world, organisation=world.group.pk, end_reason="", end_on="")
    del data["resident"]
    assert client.post(change, data).status_code == 302
    membership.refresh_from_db()
    assert membership.organisation == world.group
    assert AuditEntry.objects.get(action="party.membership_change").changes == {
        "organisation": [world.branch.pk, world.group.pk]
    }

    data["end_reason"] = "transferred_out"
    assert client.post(change, data).status_code == 302
    membership.refresh_from_db()
    assert not membership.is_active and membership.end_reason == "transferred_out"
    assert AuditEntry.objects.filter(action="party.membership_end").count() == 1
    # An ended membership is history: it can be looked at, not changed.
    assert client.get(change).status_code == 200
    assert_refused("permission_denied", lambda: client.post(change, data), status=403)


def test_staff_use_the_party_pages_by_their_roles(client, world):
    for resident, organisation in ((world.zhang, world.branch), (world.wang, world.branch_b)):
        data = PartyMembershipInput(organisation=organisation)
        party_membership_add(actor=world.admin, resident=resident, data=data, now=timezone.now())
    _staff(client, world.worker)  # enters records in community A; no Django model permissions at all
    listing = client.get("/admin/people/partymembership/")
    assert listing.status_code == 200
    assert [item.resident_id for item in listing.context["cl"].result_list] == [world.zhang.pk]
    assert client.get("/admin/people/partymembership/add/").status_code == 200

    outside = membership_post(world, resident=world.li.pk, organisation=world.branch_b.pk)
    before = snapshot()
    response = client.post("/admin/people/partymembership/add/", outside)
    assert response.status_code == 200 and "organisation" in response.context["adminform"].form.errors
    assert changed_tables(before, snapshot()) == []

    _staff(client, world.grid_worker)  # sees residents, does not enter records
    assert client.get("/admin/people/partymembership/").status_code == 200
    assert_refused(
        "permission_denied",
        lambda: client.post("/admin/people/partymembership/add/", membership_post(world, resident=world.li.pk)),
        status=403,
    )
