"""The cases domain in the API (mounted at /api/v1/cases/): one router per part of the domain.

- ``requests``: residents' requests (cases): reading, intake, the hotline import, every step of the ladder;
- ``notifications``: the inbox;
- ``visits``, ``disputes``, ``agent_services``: household visits, disputes and agent services;
- ``figures``: KPIs, grid workers' performance and the red points claim.

Operation ids stay ``gongzhi_cases_api_<function>`` (as before the routers were split): clients generated from
the schema name their methods after them.
"""

from __future__ import annotations

from . import agent_services, disputes, figures, notifications, requests, visits

# The requests router is the root: its ``POST ""`` (raise a request) stays at /api/v1/cases, without a slash.
router = requests.router

for _part in (requests, notifications, visits, disputes, agent_services, figures):
    for _path_view in _part.router.path_operations.values():
        for _operation in _path_view.operations:
            _operation.operation_id = _operation.operation_id or f"gongzhi_cases_api_{_operation.view_func.__name__}"
    if _part is not requests:
        router.add_router("", _part.router)

__all__ = ["router"]
