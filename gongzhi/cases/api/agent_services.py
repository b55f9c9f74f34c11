"""Agent services (代办) in the API: matters taken on for residents, their steps, counts per agent (agents.py)."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Query, Router, Schema, Status

from gongzhi.core.access import reach
from gongzhi.core.api_support import ERRORS, Page, PageQuery, paginate
from gongzhi.core.errors import NotFound
from gongzhi.core.masking import mask_name
from gongzhi.core.roles import Permission
from gongzhi.people.models import Resident

from .. import agents as _agents
from .. import kpis as _kpis
from ..models import AgentService, AgentServiceState
from .common import FiguresQuery, NoteIn, ReasonIn, active_account, active_place, period_of

router = Router()


class AgentServiceIn(Schema):
    resident_id: int
    kind: str
    title: str = Field(..., max_length=150)
    agent_id: int | None = None
    steps: list[str] | None = Field(None, description="Step titles; the usual steps for the kind when omitted")
    note: str = Field("", max_length=2000)
    due_by: datetime | None = None


class StepOut(Schema):
    position: int
    title: str
    done_at: datetime | None
    done_by: str
    note: str


class AgentServiceOut(Schema):
    id: int
    kind: str
    kind_label: str
    title: str
    resident: str
    place_id: int
    agent_id: int
    agent: str
    state: str
    state_label: str
    note: str
    received_at: datetime
    due_by: datetime | None
    completed_at: datetime | None


class AgentServiceDetailOut(AgentServiceOut):
    steps: list[StepOut]


class AgentServiceListQuery(PageQuery):
    state: str | None = None
    mine: bool = False


class StepIn(Schema):
    title: str = Field(..., max_length=150)


class AgentCountOut(Schema):
    agent_id: int
    agent: str
    received: int
    completed: int
    open: int


def agent_service_out(service: AgentService) -> dict:
    return {
        "id": service.pk,
        "kind": service.kind,
        "kind_label": str(service.get_kind_display()),
        "title": service.title,
        "resident": mask_name(service.resident.name),
        "place_id": service.place_id,
        "agent_id": service.agent_id,
        "agent": service.agent.label,
        "state": service.state,
        "state_label": str(AgentServiceState(service.state).label),
        "note": service.note,
        "received_at": service.received_at,
        "due_by": service.due_by,
        "completed_at": service.completed_at,
    }


def agent_service_detail_out(service: AgentService) -> dict:
    data = agent_service_out(service)
    data["steps"] = [
        {
            "position": step.position,
            "title": step.title,
            "done_at": step.done_at,
            "done_by": step.done_by.label if step.done_by_id else "",
            "note": step.note,
        }
        for step in _agents.agent_service_steps(service)
    ]
    return data


def _agent_service_reload(request, service: AgentService) -> dict:
    return agent_service_detail_out(_agents.access_agent_service(request.user, service.pk))


@router.get(
    "/agent-services", response={200: Page[AgentServiceOut], **ERRORS}, summary="Agent service matters in my reach"
)
def agent_service_list(request, query: Query[AgentServiceListQuery]):
    queryset = _agents.agent_service_queryset(request.user).select_related("resident", "agent")
    if query.state:
        queryset = queryset.filter(state=query.state)
    if query.mine:
        queryset = queryset.filter(agent_id=request.user.pk)
    queryset = queryset.order_by("-received_at", "-id")
    return paginate(queryset, query, render=agent_service_out)


@router.get(
    "/agent-services/counts",
    response={200: list[AgentCountOut], **ERRORS},
    summary="Matters per agent for a place and period",
)
def agent_service_counts(request, query: Query[FiguresQuery]):
    place = active_place(query.place_id)
    if not reach(request.user, Permission.AGENT_SERVICE).covers(place.path):
        _kpis.require_figures_reach(request.user, place)
    return _kpis.agent_counts(place, period_of(query.period))


@router.post(
    "/agent-services", response={201: AgentServiceDetailOut, **ERRORS}, summary="Take on a matter for a resident"
)
def agent_service_create(request, payload: AgentServiceIn):
    resident = Resident.objects.select_related("household").filter(pk=payload.resident_id).first()
    if resident is None:
        raise NotFound()
    service = _agents.agent_service_open(
        actor=request.user,
        resident=resident,
        kind=payload.kind,
        title=payload.title,
        agent=active_account(payload.agent_id, "agent"),
        steps=payload.steps,
        note=payload.note,
        due_by=payload.due_by,
    )
    return Status(201, _agent_service_reload(request, service))


@router.get(
    "/agent-services/{int:service_id}",
    response={200: AgentServiceDetailOut, **ERRORS},
    summary="One matter with its steps",
)
def agent_service_detail(request, service_id: int):
    return agent_service_detail_out(_agents.access_agent_service(request.user, service_id))


@router.post(
    "/agent-services/{int:service_id}/steps", response={200: AgentServiceDetailOut, **ERRORS}, summary="Add a step"
)
def agent_service_step_add(request, service_id: int, payload: StepIn):
    service = _agents.access_agent_service(request.user, service_id)
    _agents.agent_service_step_add(actor=request.user, service=service, title=payload.title)
    return _agent_service_reload(request, service)


@router.post(
    "/agent-services/{int:service_id}/steps/{int:position}/done",
    response={200: AgentServiceDetailOut, **ERRORS},
    summary="Mark a step done (in order)",
)
def agent_service_step_done(request, service_id: int, position: int, payload: NoteIn):
    service = _agents.access_agent_service(request.user, service_id)
    _agents.agent_service_step_done(actor=request.user, service=service, position=position, note=payload.note)
    return _agent_service_reload(request, service)


@router.post(
    "/agent-services/{int:service_id}/complete",
    response={200: AgentServiceDetailOut, **ERRORS},
    summary="Complete the matter",
)
def agent_service_complete(request, service_id: int, payload: NoteIn):
    service = _agents.agent_service_complete(
        actor=request.user, service=_agents.access_agent_service(request.user, service_id), note=payload.note
    )
    return _agent_service_reload(request, service)


@router.post(
    "/agent-services/{int:service_id}/cancel",
    response={200: AgentServiceDetailOut, **ERRORS},
    summary="Cancel the matter",
)
def agent_service_cancel(request, service_id: int, payload: ReasonIn):
    service = _agents.agent_service_cancel(
        actor=request.user, service=_agents.access_agent_service(request.user, service_id), reason=payload.reason
    )
    return _agent_service_reload(request, service)
