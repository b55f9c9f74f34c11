"""Models of the cases domain, one module per sub-domain; every name is re-exported here, so code keeps importing
``from gongzhi.cases.models import Case``.

- ``requests``: resident requests (民呼我应 / 接诉即办), their vocabularies and escalation ladder, categories, the
  trail (``CaseEvent``, append-only), photos and summonses of departments (吹哨报到)
- ``routing``: the configuration staff maintain: routing rules, deadline policies, the working calendar
- ``open311``: Open311 GeoReport v2 category questions and API keys
- ``notifications``: the inbox and the e-mail digest
- ``visits``: household visits (入户走访)
- ``disputes``: disputes and mediation (矛盾纠纷 / 调解)
- ``agent_services``: agent services (民生代办)

Every change goes through the services; ``base`` holds the choice constraint helper and ``AppendOnlyModel``.
The hotline import has no model of its own: it files cases and reports through ``core.Progress``.
"""

from .agent_services import AgentService, AgentServiceKind, AgentServiceState, AgentServiceStep
from .base import AppendOnlyModel
from .disputes import Dispute, DisputeKind, DisputeParty, DisputeSide, DisputeState, MediationSession
from .notifications import Notification
from .open311 import LIST_DATATYPES, AttributeDatatype, CategoryAttribute, Open311Key
from .requests import (
    FINAL_STATES,
    LEVEL_ORDER,
    LEVEL_PLACE_KIND,
    OPEN_STATES,
    UNFINISHED_STATES,
    Case,
    CaseCategory,
    CaseChannel,
    CaseEvent,
    CaseEventKind,
    CaseLevel,
    CasePhoto,
    CaseState,
    Satisfaction,
    Summons,
    SummonsState,
)
from .routing import CalendarDay, CalendarDayKind, DeadlinePolicy, RoutingRule, TimeUnit
from .visits import HouseholdVisit, VisitOutcome

__all__ = [
    "FINAL_STATES",
    "LEVEL_ORDER",
    "LEVEL_PLACE_KIND",
    "LIST_DATATYPES",
    "OPEN_STATES",
    "UNFINISHED_STATES",
    "AgentService",
    "AgentServiceKind",
    "AgentServiceState",
    "AgentServiceStep",
    "AppendOnlyModel",
    "AttributeDatatype",
    "CalendarDay",
    "CalendarDayKind",
    "Case",
    "CaseCategory",
    "CaseChannel",
    "CaseEvent",
    "CaseEventKind",
    "CaseLevel",
    "CasePhoto",
    "CaseState",
    "CategoryAttribute",
    "DeadlinePolicy",
    "Dispute",
    "DisputeKind",
    "DisputeParty",
    "DisputeSide",
    "DisputeState",
    "HouseholdVisit",
    "MediationSession",
    "Notification",
    "Open311Key",
    "RoutingRule",
    "Satisfaction",
    "Summons",
    "SummonsState",
    "TimeUnit",
    "VisitOutcome",
]
