"""Emulator runs as background jobs in the job store (family ``emulator``).

The record (program name or text, plugins, shots, seed, status, times,
counts per tag) lives in the store, so ``qlab.jobs.df()`` and the lab's job
table list it; the program itself is a Python function and stays in this
process, where one worker thread per store runs the jobs in order.

>>> from qlab.emulator import Emulator
>>> from qlab.jobs import JobStore
>>> def flip(ctx):
...     q = ctx.qalloc(); ctx.x(q); ctx.result("m", ctx.measure(q))
>>> store = JobStore(":memory:")
>>> job = Emulator(1).submit(flip, shots=10, seed=1, store=store)
>>> job.result(timeout=60).counts("m")
{'1': 10}
>>> store.get(job.id).results["counts"]
{'m': {'1': 10}}
"""

from __future__ import annotations

import inspect
import threading
import time
import weakref
from typing import Any

import numpy as np

from ..exceptions import JobStateError, QlabTimeoutError
from ..jobs import JobQueue, JobRecord, JobStatus, JobStore, default_store
from .live import LiveMetrics, MetricsSnapshot

__all__ = ["EmulatorJob", "submit", "FAMILY"]

FAMILY = "emulator"
"""The family name of emulator jobs in the store."""

_QUEUES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_WORK: dict[str, EmulatorJob] = {}
_LOCK = threading.Lock()


def _queue(store: JobStore) -> JobQueue:
    with _LOCK:
        queue = _QUEUES.get(store)
        if queue is None:
            queue = _QUEUES[store] = JobQueue(_run, store, name="emulator")
        return queue


def _run(record: JobRecord) -> dict:
    job = _WORK[record.id]
    try:
        result = job.emulator.run(job.program, record.parameters["shots"], record.parameters["seed"],
                                  progress=False, stop=job._stop, on_shots=job._count, live=job.live,
                                 **job.options)
    finally:
        _WORK.pop(record.id, None)
    job._result = result
    return {
        "shots_completed": len(result),
        "sampled_from_one_simulation": result.sampled,
        "time_taken": result.time_taken,
        "counts": {tag: result.counts(tag) for tag in result.tags()},
    }


def _describe(program) -> tuple[str, str]:
    source = getattr(program, "__qasm__", None)
    if source is not None:
        return source, "qasm"
    try:
        return inspect.getsource(program), "python"
    except (OSError, TypeError):
        return getattr(program, "__qualname__", repr(program)), "python"


class EmulatorJob:
    """A background emulator run: ``status()``, ``wait()``, ``result()``, ``cancel()``, ``shots_done``, ``metrics()``.

    While the job runs, :meth:`metrics` gives the aggregated metrics of the shots
    completed so far, republished every 1000 shots or half second by default (see
    :class:`~qlab.emulator.live.LiveMetrics`); once it is done, those of every shot.
    """

    def __init__(self, emulator, program, record: JobRecord, store: JobStore, options: dict,
                 live: LiveMetrics | None = None):
        self.emulator = emulator
        self.program = program
        self.record = record
        self.store = store
        self.options = options
        self.shots_done = 0
        self._stop = threading.Event()
        self.live = LiveMetrics() if live is None else live
        self._result = None

    @property
    def id(self) -> str:
        return self.record.id

    def _count(self, done: int) -> None:
        self.shots_done = done

    def metrics(self) -> MetricsSnapshot:
        """The latest :class:`~qlab.emulator.live.MetricsSnapshot` (``.shots``, ``.summary()``); cheap, any thread."""
        return self.live.snapshot

    def status(self) -> JobStatus:
        """The job's status as stored."""
        return self.store.get(self.id).status

    def cancel(self) -> bool:
        """Cancel the job: a waiting job never starts, a running one stops between operations."""
        self._stop.set()
        return _queue(self.store).cancel(self.id)

    def wait(self, timeout: float | None = None, progress: bool = False) -> JobRecord:
        """Wait until the job finishes (``progress``: a ``tqdm.auto`` bar over shots); return its record."""
        queue = _queue(self.store)
        if not progress:
            return queue.wait(self.id, timeout)
        from tqdm.auto import tqdm

        shots = self.record.parameters["shots"]
        deadline = None if timeout is None else time.monotonic() + timeout
        with tqdm(total=shots, unit="shot") as bar:
            while True:
                try:
                    record = queue.wait(self.id, 0.2)
                except QlabTimeoutError:
                    if deadline is not None and time.monotonic() > deadline:
                        raise
                    bar.update(self.shots_done - bar.n)
                    continue
                bar.update(max(self.shots_done, bar.n) - bar.n)
                return record

    def result(self, timeout: float | None = None):
        """The :class:`~qlab.emulator.result.EmulatorResult`, once done (raises if the job failed or was canceled)."""
        record = self.wait(timeout)
        if record.status is not JobStatus.DONE or self._result is None:
            raise JobStateError(f"Emulator job {self.id} ended {record.status.value}: {record.error or 'no result'}.")
        return self._result

    def __repr__(self) -> str:
        return f"EmulatorJob(<{self.id[:8]}, {self.status().value}, {self.shots_done} shot(s) done>)"


def submit(emulator, program, shots: int = 1, seed: int | None = None, *, store: JobStore | None = None,
           live: LiveMetrics | None = None, **options: Any) -> EmulatorJob:
    """Record and queue an emulator run; see :meth:`qlab.emulator.Emulator.submit`.

    ``live`` sets how often the running job publishes its metrics (default ``LiveMetrics()``).
    """
    from ..circuit import Circuit
    from .emulator import _check_int

    store = default_store() if store is None else store
    if isinstance(program, Circuit):
        from .qasm import circuit_program

        program = circuit_program(program)
    shots = _check_int(shots, "shots", 1, 10**8)
    seed = int(np.random.SeedSequence().entropy) if seed is None else _check_int(seed, "seed", 0, None)
    text, form = _describe(program)
    parameters = {"shots": shots, "seed": seed, "n_qubits": emulator.n_qubits,
                  **{role: repr(plugin) for role, plugin in emulator.plugins().items()},
                  **{k: v for k, v in options.items() if isinstance(v, (int, float, bool, str, type(None)))}}
    record = JobRecord.new(FAMILY, type(emulator.simulator).__name__, text, form, parameters)
    job = EmulatorJob(emulator, program, record, store, options, live)
    _WORK[record.id] = job
    _queue(store).submit(record)
    return job
