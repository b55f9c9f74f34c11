"""Disputes: register with parties, mediator, sessions, and the three outcomes; refusals change nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from gongzhi.cases.disputes import (
    PartyIn,
    access_dispute,
    dispute_assign_mediator,
    dispute_close_unresolved,
    dispute_refer,
    dispute_register,
    dispute_resolve,
    dispute_session_add,
)
from gongzhi.cases.errors import CasesError
from gongzhi.cases.models import Dispute, DisputeParty, MediationSession
from gongzhi.core.errors import CoreError, ValidationFailed
from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
from gongzhi.core.testing import assert_refused
from gongzhi.people.tests.factories import ResidentFactory, account_with_role

from .factories import local, make_department


@pytest.fixture
def people(world):
    return {
        "mediator": account_with_role(Role.MEDIATOR, world["community_a"], username="mediator_a"),
        "mediator_b": account_with_role(Role.MEDIATOR, world["community_b"], username="mediator_b"),
        "applicant": ResidentFactory(household=world["household_a1"], name="张三"),
        "respondent": ResidentFactory(household=world["household_a1b"], name="李四"),
        "outsider": ResidentFactory(household=world["household_b1"], name="王五"),
    }


# The registrations below happen at a fixed moment, so "found in the future" means the same on any day.
NOW = local("2026-11-18 10:00")


def _register(world, people, actor=None, **extra):
    arguments = {
        "actor": actor or world["community_worker"],
        "place": world["building_a1"],
        "kind": "neighbour",
        "description": "楼上漏水",
        "found_on": NOW.date(),
        "parties": [
            PartyIn(side="applicant", resident=people["applicant"]),
            PartyIn(side="respondent", resident=people["respondent"], phone="13812345678"),
        ],
        "now": NOW,
    }
    arguments.update(extra)
    return dispute_register(**arguments)


def snapshot() -> tuple:
    return (
        Dispute.objects.count(),
        DisputeParty.objects.count(),
        MediationSession.objects.count(),
        AuditEntry.objects.count(),
        list(Dispute.objects.order_by("pk").values_list("state", "mediator_id", "closed_at", "agreement_text")),
    )


def test_lifecycle_to_agreement(world, people):
    dispute = _register(world, people)
    assert dispute.state == "open" and dispute.parties.count() == 2
    assert AuditEntry.objects.filter(action="dispute.register", object_id=str(dispute.pk)).exists()
    dispute_assign_mediator(actor=world["community_worker"], dispute=dispute, mediator=people["mediator"])
    now = timezone.now()
    session = dispute_session_add(
        actor=people["mediator"], dispute=dispute, held_at=now - timedelta(hours=1), notes="双方到场"
    )
    assert session.mediator == people["mediator"]
    dispute_session_add(actor=people["mediator"], dispute=dispute, held_at=now, notes="再次调解")
    dispute.refresh_from_db()
    assert dispute.state == "mediating" and dispute.sessions.count() == 2
    dispute = dispute_resolve(actor=people["mediator"], dispute=dispute, agreement="楼上修管道，赔偿200元")
    dispute.refresh_from_db()
    assert dispute.state == "agreement" and dispute.closed_at is not None
    assert dispute.agreement_text == "楼上修管道，赔偿200元"
    actions = list(
        AuditEntry.objects.filter(object_id=str(dispute.pk), object_type="cases.dispute")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        "dispute.register",
        "dispute.assign_mediator",
        "dispute.session_add",
        "dispute.session_add",
        "dispute.resolve",
    ]


def test_referred_and_not_resolved(world, people):
    police = make_department(world["street"], "东街派出所")
    first = _register(world, people, mediator=people["mediator"])
    first = dispute_refer(actor=people["mediator"], dispute=first, reason="涉及治安", to_organisation=police)
    assert first.state == "referred" and first.referred_to == "东街派出所" and first.closed_at
    second = _register(world, people)
    second = dispute_refer(actor=world["community_worker"], dispute=second, reason="诉讼", to="区人民法院")
    assert Dispute.objects.get(pk=second.pk).referred_to == "区人民法院"
    third = _register(world, people)
    dispute_session_add(actor=world["community_worker"], dispute=third, held_at=timezone.now(), notes="一方拒绝")
    third = dispute_close_unresolved(actor=world["community_worker"], dispute=third, reason="一方拒绝调解")
    third.refresh_from_db()
    assert third.state == "not_resolved" and third.outcome_note == "一方拒绝调解"
    assert third.mediator == world["community_worker"]  # the one who held the first session


def test_parties_can_be_organisations_or_named_people(world, people):
    company = make_department(world["community_a"], "物业公司")
    dispute = _register(
        world,
        people,
        kind="property_management",
        parties=[
            PartyIn(side="applicant", name="赵六", phone="13900000000"),
            PartyIn(side="respondent", organisation=company),
        ],
    )
    parties = list(dispute.parties.order_by("pk").values_list("side", "name", "organisation_id"))
    assert parties == [("applicant", "赵六", None), ("respondent", "", company.pk)]


@pytest.mark.parametrize(
    "change, error",
    [
        ({"kind": "war"}, ValidationFailed),
        ({"description": "  "}, ValidationFailed),
        ({"found_on": date(2026, 11, 21)}, ValidationFailed),
        ({"parties": [PartyIn(side="applicant", name="一人")]}, ValidationFailed),
        ({"parties": [PartyIn(side="respondent", name="甲"), PartyIn(side="respondent", name="乙")]}, ValidationFailed),
        ({"parties": [PartyIn(side="judge", name="甲"), PartyIn(side="applicant", name="乙")]}, ValidationFailed),
        ({"parties": [PartyIn(side="applicant"), PartyIn(side="respondent", name="乙")]}, ValidationFailed),
    ],
)
def test_bad_registrations_write_nothing(world, people, change, error):
    before = snapshot()
    with pytest.raises(error):
        _register(world, people, **change)
    assert snapshot() == before


def test_refusals_change_nothing(world, people):
    dispute = _register(world, people, mediator=people["mediator"])
    before = snapshot()
    # out of reach: a community B mediator, a grid worker (no dispute.mediate), a resident from outside as a party
    assert_refused(
        CoreError.NOT_FOUND, lambda: dispute_resolve(actor=people["mediator_b"], dispute=dispute, agreement="x")
    )
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: dispute_session_add(actor=world["grid_worker"], dispute=dispute, held_at=timezone.now(), notes="x"),
    )
    assert_refused(
        CoreError.NOT_FOUND, lambda: _register(world, people, actor=people["mediator_b"], place=world["building_a1"])
    )
    assert_refused(CoreError.NOT_FOUND, lambda: access_dispute(people["mediator_b"], dispute.pk))
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: _register(
            world,
            people,
            parties=[
                PartyIn(side="applicant", resident=people["applicant"]),
                PartyIn("respondent", people["outsider"]),
            ],
        ),
    )
    # bad input
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: dispute_assign_mediator(
            actor=world["community_worker"], dispute=dispute, mediator=people["mediator_b"]
        ),
    )
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: dispute_assign_mediator(actor=world["community_worker"], dispute=dispute, mediator=people["mediator"]),
    )
    assert_refused(
        CoreError.VALIDATION_FAILED, lambda: dispute_resolve(actor=people["mediator"], dispute=dispute, agreement="")
    )
    assert_refused(
        CoreError.VALIDATION_FAILED, lambda: dispute_refer(actor=people["mediator"], dispute=dispute, reason="x")
    )
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: dispute_session_add(
            actor=people["mediator"], dispute=dispute, held_at=timezone.now() + timedelta(hours=2), notes="x"
        ),
    )
    assert_refused(CoreError.VALIDATION_FAILED, lambda: _register(world, people, mediator=people["mediator_b"]))
    assert snapshot() == before
    # a finished dispute cannot change any more
    dispute_close_unresolved(actor=people["mediator"], dispute=dispute, reason="放弃")
    before = snapshot()
    assert_refused(
        CasesError.INVALID_TRANSITION, lambda: dispute_resolve(actor=people["mediator"], dispute=dispute, agreement="x")
    )
    assert_refused(
        CasesError.INVALID_TRANSITION,
        lambda: dispute_session_add(actor=people["mediator"], dispute=dispute, held_at=timezone.now(), notes="x"),
    )
    assert_refused(
        CasesError.INVALID_TRANSITION,
        lambda: dispute_refer(actor=people["mediator"], dispute=dispute, reason="x", to="法院"),
    )
    assert_refused(
        CasesError.INVALID_TRANSITION,
        lambda: dispute_assign_mediator(
            actor=world["community_worker"], dispute=dispute, mediator=world["community_worker"]
        ),
    )
    assert snapshot() == before


def test_dispute_api(world, people, api_client_for):
    worker = api_client_for(world["community_worker"])
    response = worker.post(
        "/api/v1/cases/disputes",
        {
            "place_id": world["building_a1"].pk,
            "kind": "neighbour",
            "description": "噪音扰民",
            "found_on": timezone.localdate().isoformat(),
            "parties": [
                {"side": "applicant", "resident_id": people["applicant"].pk, "phone": "13812345678"},
                {"side": "respondent", "name": "赵六"},
            ],
            "mediator_id": people["mediator"].pk,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    dispute_id = body["id"]
    assert body["state"] == "open" and body["mediator_id"] == people["mediator"].pk
    assert [party["name"] for party in body["parties"]] == ["张*", "赵*"]
    assert body["parties"][0]["phone"] == "138****5678"
    mediator = api_client_for(people["mediator"])
    response = mediator.post(
        f"/api/v1/cases/disputes/{dispute_id}/sessions", {"held_at": timezone.now().isoformat(), "notes": "调解一次"}
    )
    assert response.status_code == 200 and response.json()["state"] == "mediating"
    assert len(response.json()["sessions"]) == 1
    response = mediator.post(f"/api/v1/cases/disputes/{dispute_id}/resolve", {"agreement": "晚十点后不再施工"})
    assert response.json()["state"] == "agreement"
    again = mediator.post(f"/api/v1/cases/disputes/{dispute_id}/close-unresolved", {"reason": "x"})
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    listing = mediator.get("/api/v1/cases/disputes", {"state": "agreement"}).json()
    assert [item["id"] for item in listing["results"]] == [dispute_id]
    outsider = api_client_for(people["mediator_b"])
    assert outsider.get(f"/api/v1/cases/disputes/{dispute_id}").status_code == 404
    assert outsider.get("/api/v1/cases/disputes").json()["count"] == 0
    bad = worker.post(
        "/api/v1/cases/disputes",
        {
            "place_id": world["building_a1"].pk,
            "kind": "neighbour",
            "description": "x",
            "found_on": timezone.localdate().isoformat(),
            "parties": [{"side": "applicant", "name": "甲"}],
        },
    )
    assert bad.status_code == 422 and "parties" in bad.json()["fields"]
