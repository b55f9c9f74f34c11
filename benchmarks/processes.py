"""Running one benchmark case in several processes at once (the benchmarks' shared harness).

``run_in_processes(work, shares)`` forks one process per share. Each calls ``work(share, prepare=True)`` first
(untimed: make what the timed part needs), waits at a barrier with the others, then runs
``work(share, prepared=...)``, which returns how many operations it did (or None: one per item of the share).
The rate is all operations over the time from the first start to the last end, so a slow process counts fully.
A failing process is reported instead of leaving the others waiting at the barrier.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import time
from collections.abc import Callable


def _child(work: Callable, share: list, barrier, results) -> None:
    from django.db import connections

    connections.close_all()
    try:
        prepared = work(share, prepare=True)
        barrier.wait()
        start = time.perf_counter()
        done = work(share, prepared=prepared)
        results.put((start, time.perf_counter(), len(share) if done is None else done, ""))
    except BaseException as error:  # report, do not hang the parent
        results.put((0.0, 0.0, 0, repr(error)))
        with contextlib.suppress(Exception):
            barrier.abort()
    finally:
        connections.close_all()


def run_in_processes(work: Callable, shares: list[list], *, timeout: float = 1200) -> tuple[float, float]:
    """(operations per second, seconds) of ``work``, one process per share, all started together."""
    from django.db import connections

    connections.close_all()
    context = mp.get_context("fork")
    barrier, results = context.Barrier(len(shares)), context.Queue()
    children = [context.Process(target=_child, args=(work, share, barrier, results)) for share in shares]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=timeout) for _ in children]
    for child in children:
        child.join()
    errors = [error for *_rest, error in outcomes if error]
    if errors:
        raise SystemExit(f"a benchmark process failed: {errors[0]}")
    start, end = min(o[0] for o in outcomes), max(o[1] for o in outcomes)
    return sum(o[2] for o in outcomes) / (end - start), end - start
