"""Handing a job's runner to a Dask cluster (or any ``concurrent.futures``-style executor).

Only the runner call leaves the process; the queue that submitted it keeps
all status bookkeeping. ``distributed`` is imported by the caller, never here.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from .record import JobRecord

__all__ = ["default_workers", "is_dask_client", "submit"]


def is_dask_client(executor: object) -> bool:
    """Whether ``executor`` is a ``distributed.Client``."""
    return type(executor).__module__.split(".")[0] == "distributed" and hasattr(executor, "nthreads")


def default_workers(executor: Any) -> int:
    """How many jobs to keep in flight: the cluster's thread count for Dask, else 1."""
    if is_dask_client(executor):
        return max(1, sum(executor.nthreads().values()))
    return 1


def submit(executor: Any, runner: Callable[[JobRecord], dict], record: JobRecord) -> Future:
    """Start ``runner(record)`` on ``executor``; the future has ``result()`` and ``cancel()``.

    On Dask the task key is ``qlab-job-<id>`` (shown on the dashboard) and
    the call is never cached (``pure=False``).
    """
    if is_dask_client(executor):
        return executor.submit(runner, record, key=f"qlab-job-{record.id}", pure=False)
    return executor.submit(runner, record)
