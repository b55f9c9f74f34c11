"""The party members' pages through the real client: list, search, pages, empty states, register, change, end."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from gongzhi.core.models import AuditEntry
from gongzhi.core.testing import assert_refused
from gongzhi.people.models import PartyMembership, PartyOrganisation
from gongzhi.people.party import PartyMembershipInput, party_membership_add
from gongzhi.people.tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _member(world, resident, organisation=None, **extra):
    data = PartyMembershipInput(organisation=organisation or world.branch, **extra)
    return party_membership_add(actor=world.admin, resident=resident, data=data, now=NOW)


def _as(client, account):
    client.force_login(account)
    client.get("/")  # the login itself is recorded before any refusal is measured
    return client


def test_index_goes_straight_to_the_only_community_and_home_links_to_it(client, world):
    _as(client, world.worker)
    response = client.get("/party/")
    assert response.status_code == 302 and response["Location"] == f"/party/{world.tree['community_a'].pk}/"
    assert 'href="/party/"' in client.get("/").content.decode()


def test_list_is_masked_searchable_and_paged(client, world):
    _member(world, world.zhang, joined_on=date(2005, 7, 1), is_in_service=True, employer=world.employer)
    _member(world, world.li, world.lead, employer_party_organisation="区教育局机关党委")
    _member(world, world.wang, world.branch_b)
    _as(client, world.worker)
    url = f"/party/{world.tree['community_a'].pk}/"

    body = client.get(url).content.decode()
    assert body.count('data-testid="party-member"') == 2
    assert "张三" in body and "李四" in body and "王五" not in body
    assert world.zhang.phone not in body and world.zhang.phone[:3] + "****" in body
    assert world.zhang.id_card_masked in body
    assert "和平小学" in body and "区教育局机关党委" in body and "2005-07-01" in body

    found = client.get(url, {"q": "李"}, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in found and "李四" in found and "张三" not in found
    retired = client.get(url, {"service": "retired"}).content.decode()
    assert "李四" in retired and "张三" not in retired

    for index in range(35):
        _member(world, ResidentFactory(household=world.tree["household_a1b"], name=f"党员{index:02d}"))
    first = client.get(url).content.decode()
    assert first.count('data-testid="party-member"') == 30 and "?page=2" in first
    second = client.get(url, {"page": 2}).content.decode()
    assert second.count('data-testid="party-member"') == 7


def test_list_query_count_does_not_grow_with_rows(client, world, django_assert_max_num_queries):
    _as(client, world.worker)
    url = f"/party/{world.tree['community_a'].pk}/"
    _member(world, world.zhang)
    with django_assert_max_num_queries(12) as few:
        client.get(url)
    for index in range(20):
        _member(world, ResidentFactory(household=world.tree["household_a1b"], name=f"党员{index:02d}"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


def test_empty_states_say_what_to_do(client, world):
    _as(client, world.worker)
    body = client.get(f"/party/{world.tree['community_a'].pk}/").content.decode()
    assert 'data-testid="party-empty"' in body
    assert f'href="/party/{world.tree["community_a"].pk}/add/"' in body and 'href="/roster/"' in body
    assert "名册" in body  # in Chinese by default: register here, or import the roster's party columns

    PartyOrganisation.objects.filter(pk__in=[world.branch_b.pk, world.branch_b.parent_id]).update(is_active=False)
    _as(client, world.worker_b)
    body = client.get(f"/party/{world.tree['community_b'].pk}/").content.decode()
    assert 'data-testid="party-empty"' in body and 'data-testid="party-add"' not in body
    assert "党组织" in body  # none is set up yet: who sets them up

    _as(client, world.worker)
    body = client.get(f"/party/{world.tree['community_a'].pk}/", {"q": "无此人"}).content.decode()
    empty = body.split('data-testid="party-empty"')[1]
    assert f'href="/party/{world.tree["community_a"].pk}/"' in empty  # clear the filters


def test_register_a_party_member_from_the_page(client, world):
    _as(client, world.worker)
    add = f"/party/{world.tree['community_a'].pk}/add/"
    found = client.get(add, {"q": "张"}).content.decode()
    assert f'href="?resident={world.zhang.pk}"' in found and "王五" not in found
    assert 'data-testid="party-member-form"' in client.get(add, {"resident": world.zhang.pk}).content.decode()

    response = client.post(
        add,
        {
            "resident": world.zhang.pk,
            "organisation": world.group.pk,
            "joined_on": "2005-07-01",
            "service": "in_service",
            "employer": world.employer.pk,
            "employer_party_organisation": "区教育局机关党委",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    membership = PartyMembership.objects.get(resident=world.zhang)
    assert (membership.organisation, membership.is_in_service, membership.employer) == (
        world.group,
        True,
        world.employer,
    )
    assert AuditEntry.objects.filter(action="party.membership_add", actor=world.worker, channel="web").count() == 1
    assert "张三" in client.get(response["Location"]).content.decode()
    # Already a member: no longer offered.
    assert f'href="?resident={world.zhang.pk}"' not in client.get(add, {"q": "张"}).content.decode()


def test_a_bad_form_keeps_what_was_typed_and_names_each_field(client, world):
    _as(client, world.worker)
    add = f"/party/{world.tree['community_a'].pk}/add/"
    response = assert_refused(
        "validation_failed",
        lambda: client.post(
            add,
            {
                "resident": world.zhang.pk,
                "organisation": world.branch.pk,
                "joined_on": "2027-01-01",
                "service": "in_service",
                "employer_name": "区教育局",
            },
        ),
        status=422,
    )
    body = response.content.decode()
    assert 'data-testid="field-error-joined_on"' in body
    assert 'value="区教育局"' in body and 'value="2027-01-01"' in body
    response = client.post(add, {"resident": world.zhang.pk, "service": "retired"})
    assert response.status_code == 422 and 'data-testid="field-error-organisation"' in response.content.decode()
    assert not PartyMembership.objects.exists()


def test_change_and_end_from_the_page(client, world):
    membership = _member(world, world.zhang, joined_on=date(2005, 7, 1))
    _as(client, world.worker)
    edit = f"/party/members/{membership.pk}/"
    page = client.get(edit).content.decode()
    assert f'value="{world.branch.pk}" selected' in page and 'value="2005-07-01"' in page

    response = client.post(
        edit, {"organisation": world.lead.pk, "joined_on": "2005-07-01", "service": "retired", "employer_name": ""}
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.organisation == world.lead
    assert AuditEntry.objects.get(action="party.membership_change").changes == {
        "organisation": [world.branch.pk, world.lead.pk]
    }

    end = f"/party/members/{membership.pk}/end/"
    assert 'data-testid="party-member-end-form"' in client.get(end).content.decode()
    refused = assert_refused(
        "validation_failed", lambda: client.post(end, {"reason": "deceased", "ended_on": "2004-01-01"})
    )
    assert 'data-testid="field-error-ended_on"' in refused.content.decode()
    assert client.post(end, {"reason": "transferred_out"}).status_code == 302
    membership.refresh_from_db()
    assert (membership.is_active, membership.ended_on) == (False, date(2026, 6, 15))

    ended_list = client.get(f"/party/{world.tree['community_a'].pk}/", {"status": "ended"}).content.decode()
    assert "张三" in ended_list
    assert 'data-testid="party-member-ended"' in client.get(edit).content.decode()
    assert_refused("party_membership_ended", lambda: client.post(end, {"reason": "deceased"}), status=409)


@pytest.mark.parametrize("who", ["grid_worker", "worker_b"])
def test_people_who_do_not_enter_records_here_get_not_found(client, world, who):
    membership = _member(world, world.zhang)
    _as(client, getattr(world, who))
    community = world.tree["community_a"].pk
    for url in (f"/party/{community}/", f"/party/{community}/add/?resident={world.zhang.pk}"):
        assert client.get(url).status_code == 404
    assert_refused(
        "not_found",
        lambda: client.post(f"/party/{community}/add/", {"resident": world.li.pk, "organisation": world.branch.pk}),
        status=404,
    )
    assert_refused(
        "not_found",
        lambda: client.post(
            f"/party/members/{membership.pk}/", {"organisation": world.group.pk, "service": "retired"}
        ),
        status=404,
    )
    assert_refused(
        "not_found", lambda: client.post(f"/party/members/{membership.pk}/end/", {"reason": "deceased"}), status=404
    )


def test_a_resident_of_another_community_cannot_be_registered_through_this_one(client, world):
    _as(client, world.admin)
    assert_refused(
        "not_found",
        lambda: client.post(
            f"/party/{world.tree['community_a'].pk}/add/",
            {"resident": world.wang.pk, "organisation": world.branch.pk, "service": "retired"},
        ),
        status=404,
    )


def test_the_pages_need_a_login(client, world):
    response = client.get("/party/")
    assert response.status_code == 302 and "/login/" in response["Location"]
