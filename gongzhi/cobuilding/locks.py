"""Every row lock of co-building, built on ``core.locks``: own table only (``FOR UPDATE OF``), by primary key.

Lock order, everywhere: project → spending → fund, so two services never wait on each other in a cycle. The
fund row is the one that serialises approvals and payments of one community's year.
"""

from __future__ import annotations

from gongzhi.core.locks import lock_row

from .models import Commitment, Fund, Match, Matter, Project, Spending


def lock_project(project_id: int) -> Project:
    """The project, locked: its state and claimer are the latest committed."""
    return lock_row(Project.objects.all(), project_id)


def lock_spending(spending_id: int) -> Spending:
    return lock_row(Spending.objects.all(), spending_id)


def lock_fund(fund_id: int) -> Fund:
    """The fund row, locked: approvals and payments of one community's year queue here."""
    return lock_row(Fund.objects.all(), fund_id)


def lock_matter(matter_id: int) -> Matter:
    return lock_row(Matter.objects.all(), matter_id)


def lock_commitment(commitment_id: int) -> Commitment:
    return lock_row(Commitment.objects.all(), commitment_id)


def lock_match(match_id: int) -> Match:
    return lock_row(Match.objects.all(), match_id)
