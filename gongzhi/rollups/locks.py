"""Every row lock of the roll-ups, built on ``core.locks``: own table only, by primary key.

One lock: a source's state row. Two runs of the roll-up job (two workers, or the job and ``kpi_check --build``)
queue on it, so a source's totals are brought up to date by one transaction at a time.
"""

from __future__ import annotations

from gongzhi.core.locks import lock_row

from .models import RollupState


def lock_state(source_key: str) -> RollupState:
    """The source's state row (created if missing), locked."""
    state, _created = RollupState.objects.get_or_create(source=source_key)
    return lock_row(RollupState.objects.all(), state.pk)
