"""What must be audited is audited: logins, unmasked reads, exports, role changes, point adjustments, approvals,
redemptions, and every state change of cases and votes.

Two checks. The list below names the action of each such event and the module that must write it (removing the
audit call from that module fails the test). And every function of the cases and deliberation services that
changes a state (``apply_change`` / ``.update(state=...)``) writes an audit entry, itself or through a helper of
its module, so a new state change without one fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # gongzhi/

REQUIRED: dict[str, list[tuple[str, str]]] = {
    "logins": [
        ("auth.login", "people"),
        ("auth.login_failed", "people"),
        ("auth.login_locked", "people"),
        ("auth.token_issued", "people"),
        ("auth.two_factor_on", "people"),
        ("auth.two_factor_off", "people"),
    ],
    "unmasked reads": [("resident.reveal", "people"), ("shop.card_lookup", "shop")],
    "exports": [
        ("resident.export", "people"),
        ("points.evaluation_export", "points"),
        ("shop.settlement_export", "shop"),
        ("audit.export", "core/audit_search.py"),
    ],
    "role changes": [("role.assign", "people"), ("role.end", "people")],
    "point adjustments": [
        ("points.adjustment_propose", "points"),
        ("points.adjustment_approve", "points"),
        ("points.adjustment_refuse", "points"),
    ],
    "approvals": [
        ("points.claim_{decision}", "points/review.py"),
        ("points.claim_first_approval", "points"),
        ("points.claim_reverse", "points"),
        ("shop.offer_approve", "shop"),
        ("volunteering.wish_approve", "volunteering"),
    ],
    "redemptions": [
        ("shop.redemption_place", "shop"),
        ("shop.redemption_cancel", "shop"),
        ("shop.redemption_expire", "shop"),
    ],
    "cases": [("case.submit", "cases"), ("case.unmerge", "cases")],
    "votes": [
        ("deliberation.vote_create", "deliberation"),
        ("deliberation.vote_cast", "deliberation"),
        ("deliberation.paper_ballots_enter", "deliberation"),
        ("deliberation.vote_result_publish", "deliberation"),
    ],
}

AUDIT_CALLS = {"audit_record", "audit_bulk", "audit_case", "_audit", "audit_entry", "_record_decision"}


def _sources(where: str) -> str:
    target = ROOT / where
    files = [target] if target.suffix == ".py" else [p for p in target.rglob("*.py") if "tests" not in p.parts]
    return "\n".join(path.read_text() for path in files)


@pytest.mark.parametrize(
    ("group", "action", "where"),
    [(group, action, where) for group, items in REQUIRED.items() for action, where in items],
)
def test_the_event_is_audited(group, action, where):
    pattern = re.compile(r"""action\s*=\s*f?["']""" + re.escape(action) + r"""["']""")
    assert pattern.search(_sources(where)) or f'"{action}"' in _sources(where), (
        f"{group}: no audit entry {action!r} is written in gongzhi/{where}"
    )


def _called_names(node: ast.AST) -> set[str]:
    names = set()
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            func = call.func
            names.add(func.id if isinstance(func, ast.Name) else getattr(func, "attr", ""))
    return names


def _changes_state(node: ast.AST) -> bool:
    for call in ast.walk(node):
        if not isinstance(call, ast.Call):
            continue
        name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")
        if name == "apply_change":
            return True
        if name == "update" and any(keyword.arg == "state" for keyword in call.keywords):
            return True
    return False


STATE_MODULES = [
    "cases/services.py",
    "cases/jobs.py",
    "cases/merging.py",
    "cases/summonses.py",
    "cases/visits.py",
    "cases/disputes.py",
    "cases/agents.py",
    "deliberation/services.py",
    "deliberation/voting.py",
    "deliberation/resolutions.py",
]


@pytest.mark.parametrize("module", STATE_MODULES)
def test_every_state_change_of_cases_and_votes_is_audited(module):
    path = ROOT / module
    if not path.exists():
        pytest.skip(f"{module} is not in this tree")
    tree = ast.parse(path.read_text())
    functions = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    calls = {name: _called_names(node) for name, node in functions.items()}
    auditing = {name for name, names in calls.items() if names & AUDIT_CALLS}
    changing = {name for name, node in functions.items() if _changes_state(node)}
    grew = True
    while grew:  # calling a helper of the module that audits (or changes a state) counts as doing it
        before = len(auditing) + len(changing)
        auditing |= {name for name, names in calls.items() if names & auditing}
        changing |= {name for name, names in calls.items() if names & changing}
        grew = len(auditing) + len(changing) > before
    missing = [name for name in changing if name not in auditing and not name.startswith("_")]
    assert not missing, f"{module}: state changes without an audit entry in {', '.join(sorted(missing))}"
