"""Agent services (民生代办): a matter with its own steps, done in order, completed or cancelled; refusals change
nothing; counts per agent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from gongzhi.cases.agents import (
    access_agent_service,
    agent_service_cancel,
    agent_service_complete,
    agent_service_open,
    agent_service_step_add,
    agent_service_step_done,
)
from gongzhi.cases.errors import CasesError
from gongzhi.cases.kpis import agent_counts, agent_figures
from gongzhi.cases.models import AgentService, AgentServiceStep
from gongzhi.core.errors import CoreError
from gongzhi.core.figures import Period
from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
from gongzhi.core.testing import assert_refused
from gongzhi.people.tests.factories import ResidentFactory, account_with_role


@pytest.fixture
def people(world):
    return {
        "agent": account_with_role(Role.SERVICE_AGENT, world["community_a"], username="agent_a"),
        "agent_b": account_with_role(Role.SERVICE_AGENT, world["community_b"], username="agent_b"),
        "elder": ResidentFactory(household=world["household_a1"], name="王奶奶"),
        "elder_b": ResidentFactory(household=world["household_b1"], name="刘爷爷"),
    }


def snapshot() -> tuple:
    return (
        AgentService.objects.count(),
        AuditEntry.objects.count(),
        list(AgentService.objects.order_by("pk").values_list("state", "agent_id", "completed_at", "note")),
        list(AgentServiceStep.objects.order_by("pk").values_list("position", "title", "done_at", "done_by_id")),
    )


def test_lifecycle_with_default_steps(world, people):
    agent = people["agent"]
    service = agent_service_open(actor=agent, resident=people["elder"], kind="pension", title="养老金资格认证")
    assert service.agent == agent and service.state == "received" and service.place == world["household_a1"]
    steps = list(service.steps.order_by("position"))
    assert len(steps) == 4 and [step.position for step in steps] == [1, 2, 3, 4]
    agent_service_step_done(actor=agent, service=service, position=1, note="身份证、户口本")
    service.refresh_from_db()
    assert service.state == "in_progress"
    extra = agent_service_step_add(actor=agent, service=service, title="补交照片")
    assert extra.position == 5
    for position in (2, 3, 4, 5):
        agent_service_step_done(actor=agent, service=service, position=position)
    service = agent_service_complete(actor=agent, service=service, note="已认证")
    service.refresh_from_db()
    assert service.state == "completed" and service.completed_at is not None and "已认证" in service.note
    actions = list(
        AuditEntry.objects.filter(object_type="cases.agentservice", object_id=str(service.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions.count("agent_service.step_done") == 5 and actions[-1] == "agent_service.complete"


def test_own_steps_another_agent_and_cancel(world, people):
    service = agent_service_open(
        actor=world["community_worker"],
        resident=people["elder"],
        kind="certificate",
        title="开具居住证明",
        agent=people["agent"],
        steps=["收材料", "盖章"],
        due_by=timezone.now() + timedelta(days=3),
    )
    assert service.agent == people["agent"]
    assert list(service.steps.values_list("title", flat=True)) == ["收材料", "盖章"]
    service = agent_service_cancel(actor=people["agent"], service=service, reason="居民已自行办理")
    assert AgentService.objects.get(pk=service.pk).state == "cancelled"


def test_refusals_change_nothing(world, people):
    agent = people["agent"]
    service = agent_service_open(
        actor=agent, resident=people["elder"], kind="subsidy", title="高龄补贴", steps=["a", "b"]
    )
    before = snapshot()
    # another community's agent
    assert_refused(
        CoreError.NOT_FOUND, lambda: agent_service_step_done(actor=people["agent_b"], service=service, position=1)
    )
    assert_refused(CoreError.NOT_FOUND, lambda: access_agent_service(people["agent_b"], service.pk))
    # a resident out of reach
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: agent_service_open(actor=agent, resident=people["elder_b"], kind="pension", title="x"),
    )
    # a grid worker does not handle agent services
    assert_refused(
        CoreError.NOT_FOUND,
        lambda: agent_service_open(actor=world["grid_worker"], resident=people["elder"], kind="pension", title="x"),
    )
    # the agent must serve the resident's household
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: agent_service_open(
            actor=agent, resident=people["elder"], kind="pension", title="x", agent=people["agent_b"]
        ),
    )
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: agent_service_open(actor=agent, resident=people["elder"], kind="lottery", title="x"),
    )
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: agent_service_open(actor=agent, resident=people["elder"], kind="pension", title="x", steps=[]),
    )
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: agent_service_open(actor=agent, resident=people["elder"], kind="pension", title="  "),
    )
    assert_refused(
        CoreError.VALIDATION_FAILED,
        lambda: agent_service_open(
            actor=agent, resident=people["elder"], kind="pension", title="x", due_by=timezone.now() - timedelta(hours=1)
        ),
    )
    # out of order
    assert_refused(
        CasesError.INVALID_TRANSITION, lambda: agent_service_step_done(actor=agent, service=service, position=2)
    )
    assert_refused(
        CoreError.VALIDATION_FAILED, lambda: agent_service_step_done(actor=agent, service=service, position=9)
    )
    assert_refused(CasesError.STEPS_OPEN, lambda: agent_service_complete(actor=agent, service=service))  # steps open
    assert snapshot() == before
    agent_service_step_done(actor=agent, service=service, position=1)
    before = snapshot()
    assert_refused(
        CasesError.INVALID_TRANSITION, lambda: agent_service_step_done(actor=agent, service=service, position=1)
    )
    assert snapshot() == before
    agent_service_cancel(actor=agent, service=service, reason="不需要了")
    before = snapshot()
    assert_refused(
        CasesError.INVALID_TRANSITION, lambda: agent_service_step_done(actor=agent, service=service, position=2)
    )
    assert_refused(CasesError.INVALID_TRANSITION, lambda: agent_service_complete(actor=agent, service=service))
    assert_refused(
        CasesError.INVALID_TRANSITION, lambda: agent_service_step_add(actor=agent, service=service, title="c")
    )
    assert snapshot() == before


def test_counts_per_agent(world, people):
    agent, other = people["agent"], account_with_role(Role.SERVICE_AGENT, world["community_a"], username="agent_a2")
    for index in range(3):
        service = agent_service_open(
            actor=agent, resident=people["elder"], kind="other", title=f"事项{index}", steps=["办"]
        )
        if index < 2:
            agent_service_step_done(actor=agent, service=service, position=1)
            agent_service_complete(actor=agent, service=service)
    agent_service_open(actor=other, resident=people["elder"], kind="other", title="事项", steps=["办"])
    period = Period.week(timezone.localdate())
    rows = agent_counts(world["community_a"], period)
    assert [(row["agent_id"], row["received"], row["completed"], row["open"]) for row in rows] == [
        (agent.pk, 3, 2, 1),
        (other.pk, 1, 0, 1),
    ]
    figures = agent_figures(world["community_a"], period)
    assert (figures.agents, figures.received, figures.completed, figures.open) == (2, 4, 2, 2)
    assert agent_figures(world["community_b"], period).received == 0


def test_agent_service_api(world, people, api_client_for):
    client = api_client_for(people["agent"])
    response = client.post(
        "/api/v1/cases/agent-services",
        {"resident_id": people["elder"].pk, "kind": "pension", "title": "养老金认证", "steps": ["收材料", "提交"]},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    service_id = body["id"]
    assert body["resident"] == "王**" and [step["title"] for step in body["steps"]] == ["收材料", "提交"]
    skipped = client.post(f"/api/v1/cases/agent-services/{service_id}/steps/2/done", {})
    assert skipped.status_code == 409
    for position in (1, 2):
        response = client.post(f"/api/v1/cases/agent-services/{service_id}/steps/{position}/done", {"note": "ok"})
        assert response.status_code == 200
    assert response.json()["state"] == "in_progress"
    response = client.post(f"/api/v1/cases/agent-services/{service_id}/complete", {})
    assert response.json()["state"] == "completed"
    mine = client.get("/api/v1/cases/agent-services", {"mine": "true"}).json()
    assert [item["id"] for item in mine["results"]] == [service_id]
    outsider = api_client_for(people["agent_b"])
    assert outsider.get(f"/api/v1/cases/agent-services/{service_id}").status_code == 404
    denied = outsider.post(f"/api/v1/cases/agent-services/{service_id}/cancel", {"reason": "x"})
    assert denied.status_code == 404
    counts = client.get(
        "/api/v1/cases/agent-services/counts",
        {"place_id": world["community_a"].pk, "period": Period.week(timezone.localdate()).key},
    )
    assert counts.status_code == 200 and counts.json()[0]["completed"] == 1
