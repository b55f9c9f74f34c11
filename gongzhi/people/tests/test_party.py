"""The party tree shadows the places (committee → branch → building group → household lead); residents' party
membership is added, changed and ended by the party services, audited, within reach."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
from gongzhi.core.testing import assert_refused
from gongzhi.people.errors import PeopleError
from gongzhi.people.models import PartyMembership, PartyOrganisation, PartyOrganisationKind
from gongzhi.people.party import (
    PartyMembershipInput,
    party_membership_add,
    party_membership_change,
    party_membership_end,
    party_membership_set,
    party_organisation_create,
)
from gongzhi.people.selectors import party_counts
from gongzhi.people.tests.factories import account_with_role
from gongzhi.places.tests.factories import superuser

pytestmark = pytest.mark.django_db
Kind = PartyOrganisationKind
NOW = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def test_four_levels_with_paths(world):
    lead = world.lead
    chain = (world.committee, world.branch, world.group, world.lead)
    assert lead.path == "/" + "/".join(str(node.pk) for node in chain) + "/"


def test_branch_must_serve_a_place_inside_its_committee(world):
    before = PartyOrganisation.objects.count()
    with pytest.raises(ValidationFailed) as error:
        party_organisation_create(
            actor=superuser(), kind=Kind.BRANCH, name="错位支部", place=world.tree["grid_b1"], parent=world.committee
        )
    assert "place" in error.value.fields
    with pytest.raises(ValidationFailed) as error:
        party_organisation_create(
            actor=superuser(), kind=Kind.GROUP, name="越级", place=world.tree["building_a1"], parent=world.committee
        )
    assert "parent" in error.value.fields
    assert PartyOrganisation.objects.count() == before


def test_grid_worker_cannot_create_party_organisations(world):
    assert_refused(
        "not_found",
        lambda: party_organisation_create(
            actor=world.grid_worker, kind=Kind.GROUP, name="x", place=world.tree["building_a1"], parent=world.branch
        ),
    )


def test_membership_and_counts(world):
    party_membership_set(
        actor=superuser(), resident=world.zhang, organisation=world.branch, is_in_service=True, now=NOW
    )
    party_membership_set(actor=superuser(), resident=world.zhang, organisation=world.group, now=NOW)
    assert PartyMembership.objects.get(resident=world.zhang).organisation == world.group
    counts = party_counts(superuser(), world.tree["community_a"])
    assert counts == {
        "committee": 1,
        "branch": 1,
        "group": 1,
        "household_lead": 1,
        "members": 1,
        "in_service_members": 0,
    }
    # A grid worker of grid A2 sees none of grid A1's party organisation.
    worker = account_with_role(Role.GRID_WORKER, world.tree["grid_a2"])
    assert party_counts(worker, world.tree["grid_a2"])["branch"] == 0


# ---------------------------------------------------------------- add, change, end


def _input(world, **changes):
    values = {
        "organisation": world.branch,
        "joined_on": date(2005, 7, 1),
        "is_in_service": True,
        "employer": world.employer,
        "employer_party_organisation": "区教育局机关党委",
    }
    return PartyMembershipInput(**{**values, **changes})


def test_a_community_worker_registers_a_party_member_audited(world):
    membership = party_membership_add(actor=world.worker, resident=world.zhang, data=_input(world), now=NOW)

    membership.refresh_from_db()
    assert membership.organisation == world.branch and membership.is_active
    assert (membership.joined_on, membership.is_in_service) == (date(2005, 7, 1), True)
    assert (membership.employer, membership.employer_name) == (world.employer, "和平小学")
    assert membership.employer_party_organisation == "区教育局机关党委"
    entry = AuditEntry.objects.get(action="party.membership_add")
    assert entry.actor == world.worker and entry.object_id == str(membership.pk)
    assert entry.place_path == world.tree["household_a1"].path
    assert entry.changes["organisation"] == [None, world.branch.pk]
    assert entry.changes["joined_on"] == [None, "2005-07-01"]


def test_a_member_already_is_refused_and_nothing_changes(world):
    party_membership_add(actor=world.worker, resident=world.zhang, data=_input(world), now=NOW)
    error = assert_refused(
        PeopleError.ALREADY_PARTY_MEMBER,
        lambda: party_membership_add(
            actor=world.worker, resident=world.zhang, data=_input(world, organisation=world.group), now=NOW
        ),
    )
    assert error.status == 409


def test_every_bad_field_is_reported_at_once(world):
    error = assert_refused(
        "validation_failed",
        lambda: party_membership_add(
            actor=world.worker,
            resident=world.zhang,
            data=_input(world, joined_on=date(2026, 6, 16), employer=None, employer_name="单" * 151),
            now=NOW,
        ),
    )
    assert set(error.fields) == {"joined_on", "employer_name"}

    error = assert_refused(
        "validation_failed",
        lambda: party_membership_add(
            actor=world.worker, resident=world.zhang, data=_input(world, joined_on=date(1979, 12, 31)), now=NOW
        ),
    )
    assert set(error.fields) == {"joined_on"}  # before the birth date


def test_the_organisation_must_serve_the_residents_community(world):
    # A branch of community B, which the actor does not reach: the same refusal as for a branch elsewhere.
    error = assert_refused(
        "validation_failed",
        lambda: party_membership_add(
            actor=world.worker, resident=world.zhang, data=_input(world, organisation=world.branch_b), now=NOW
        ),
    )
    assert set(error.fields) == {"organisation"}
    error = assert_refused(
        "validation_failed",
        lambda: party_membership_add(
            actor=superuser(), resident=world.zhang, data=_input(world, organisation=world.branch_b), now=NOW
        ),
    )
    assert set(error.fields) == {"organisation"}
    # Another branch of the same community is fine: the household lead of building 1 for a resident of building 2.
    membership = party_membership_add(
        actor=world.worker, resident=world.li, data=_input(world, organisation=world.lead), now=NOW
    )
    assert membership.organisation == world.lead


@pytest.mark.parametrize("who", ["grid_worker", "worker_b"])
def test_people_who_do_not_enter_records_here_are_refused(world, who):
    actor = getattr(world, who)
    assert_refused(
        "not_found", lambda: party_membership_add(actor=actor, resident=world.zhang, data=_input(world), now=NOW)
    )
    membership = party_membership_add(actor=world.worker, resident=world.zhang, data=_input(world), now=NOW)
    assert_refused(
        "not_found",
        lambda: party_membership_change(
            actor=actor, membership=membership, data=_input(world, is_in_service=False), now=NOW
        ),
    )
    assert_refused(
        "not_found",
        lambda: party_membership_end(actor=actor, membership=membership, reason="transferred_out", now=NOW),
    )


def test_change_records_what_changed(world):
    membership = party_membership_add(actor=world.worker, resident=world.zhang, data=_input(world), now=NOW)
    party_membership_change(
        actor=world.worker,
        membership=membership,
        data=_input(world, organisation=world.group, is_in_service=False, employer=None, employer_name=""),
        now=NOW,
    )
    membership.refresh_from_db()
    assert (membership.organisation, membership.is_in_service, membership.employer) == (world.group, False, None)
    entry = AuditEntry.objects.get(action="party.membership_change")
    assert entry.changes == {
        "organisation": [world.branch.pk, world.group.pk],
        "is_in_service": [True, False],
        "employer": [world.employer.pk, None],
        "employer_name": ["和平小学", ""],
    }
    # The same values again: no write, no audit entry.
    before = AuditEntry.objects.count()
    party_membership_change(
        actor=world.worker,
        membership=membership,
        data=_input(world, organisation=world.group, is_in_service=False, employer=None, employer_name=""),
        now=NOW,
    )
    assert AuditEntry.objects.count() == before


def test_end_keeps_the_record_and_registering_again_reopens_it(world):
    membership = party_membership_add(actor=world.worker, resident=world.zhang, data=_input(world), now=NOW)
    with pytest.raises(ValidationFailed) as error:
        party_membership_end(actor=world.worker, membership=membership, reason="bored", now=NOW)
    assert set(error.value.fields) == {"reason"}
    with pytest.raises(ValidationFailed) as error:
        party_membership_end(
            actor=world.worker, membership=membership, reason="deceased", ended_on=date(2004, 1, 1), now=NOW
        )
    assert set(error.value.fields) == {"ended_on"}  # before joining

    party_membership_end(actor=world.worker, membership=membership, reason="transferred_out", now=NOW)
    membership.refresh_from_db()
    assert (membership.is_active, membership.ended_on, membership.end_reason) == (
        False,
        date(2026, 6, 15),
        "transferred_out",
    )
    assert party_counts(superuser(), world.tree["community_a"])["members"] == 0
    entry = AuditEntry.objects.get(action="party.membership_end")
    assert entry.changes == {"ended_on": [None, "2026-06-15"], "end_reason": [None, "transferred_out"]}

    assert_refused(
        PeopleError.PARTY_MEMBERSHIP_ENDED,
        lambda: party_membership_end(actor=world.worker, membership=membership, reason="deceased", now=NOW),
    )
    assert_refused(
        PeopleError.PARTY_MEMBERSHIP_ENDED,
        lambda: party_membership_change(actor=world.worker, membership=membership, data=_input(world), now=NOW),
    )

    again = party_membership_add(
        actor=world.worker, resident=world.zhang, data=_input(world, organisation=world.group), now=NOW
    )
    assert again.pk == membership.pk
    again.refresh_from_db()
    assert (again.is_active, again.ended_on, again.end_reason, again.organisation) == (True, None, "", world.group)
    assert AuditEntry.objects.filter(action="party.membership_add").count() == 2


def test_an_ended_membership_is_inactive_in_the_database(world):
    from django.db import IntegrityError, transaction

    membership = party_membership_add(actor=world.worker, resident=world.zhang, data=_input(world), now=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        PartyMembership.objects.filter(pk=membership.pk).update(ended_on=date(2026, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        PartyMembership.objects.filter(pk=membership.pk).update(is_active=False, ended_on=date(2000, 1, 1))


def test_a_resident_without_a_household_cannot_be_registered(world):
    world.zhang.household = None
    with pytest.raises(NotFound):
        party_membership_add(actor=world.worker, resident=world.zhang, data=_input(world), now=NOW)
    with pytest.raises(ValidationFailed) as error:
        party_membership_add(actor=world.admin, resident=world.zhang, data=_input(world), now=NOW)
    assert set(error.value.fields) == {"organisation"}
