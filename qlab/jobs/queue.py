"""Job queues: run stored jobs first-in first-out on threads or on a Dask cluster.

A submitted job is a future: :meth:`JobQueue.submit` returns at once, and
:meth:`~JobQueue.wait`, :meth:`~JobQueue.cancel` and the store follow it by
id. Workers are started once, with the queue, and sleep on a condition
variable while there is nothing to do.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from qlab.exceptions import QlabTimeoutError, QlabTypeError

from . import dask_executor
from ..exceptions import JobQueueError, JobStoreError
from .record import JobRecord, JobStatus
from .store import JobStore

__all__ = ["JobQueue"]

_log = logging.getLogger(__name__)

SHUT_DOWN = "queue shut down"
RETRY = 1.0
"""Seconds between attempts to write a finished job the store could not take."""


class JobQueue:
    """Runs jobs from a :class:`~qlab.jobs.JobStore` in submission order.

    Args:
        runner: ``runner(record) -> results dict``; it gets the record as
            stored when the job starts. An exception it raises fails the job
            with ``"<ExceptionType>: <message>"``; the queue keeps going.
        store: where the jobs live.
        workers: how many jobs run at once. Default: 1 on threads; the
            cluster's thread count on a Dask cluster.
        executor: ``None`` to run jobs on the queue's own daemon threads, or
            a ``distributed.Client`` (or any executor whose ``submit(fn,
            arg)`` returns a future) to run the runner there; the runner must
            then be picklable. Status bookkeeping stays in this process.
        name: a label for threads and messages.

    Raises:
        JobQueueError: ``workers`` is less than 1.

    Call :meth:`shutdown` (or use the queue as a context manager) when done:
    the worker threads live until then.

    Each job takes three writes: ``submitted`` and ``queued`` together,
    ``running``, then ``done`` with its results (or ``failed``/``canceled``).
    A job canceled while running on a thread runs to its end, and its result
    is discarded; on Dask its task is canceled too.

    When the store cannot take a finished job (a full disk), the job still
    finishes: the queue keeps its final record, results included, in memory
    (:meth:`unsaved`, with a note in ``error`` that says so), :meth:`wait`
    returns it, and a background thread writes it every :data:`RETRY`
    seconds until the store takes it.

    >>> store = JobStore(":memory:")
    >>> queue = JobQueue(lambda record: {"echo": record.program}, store, name="demo")
    >>> record = JobRecord.new("qdmi", "ideal", "x = 1", "text")
    >>> queue.submit(record)
    >>> done = queue.wait(record.id, timeout=10)
    >>> done.status, done.results
    (<JobStatus.DONE: 'done'>, {'echo': 'x = 1'})
    >>> queue.shutdown()
    """

    def __init__(
        self,
        runner: Callable[[JobRecord], dict],
        store: JobStore,
        *,
        workers: int | None = None,
        executor: Any = None,
        name: str = "",
    ):
        if not callable(runner):
            raise QlabTypeError(f"JobQueue needs a callable runner, got {type(runner).__name__}.")
        if not isinstance(store, JobStore):
            raise QlabTypeError(f"JobQueue needs a JobStore, got {type(store).__name__}.")
        if workers is None:
            workers = 1 if executor is None else dask_executor.default_workers(executor)
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise JobQueueError(f"Cannot start JobQueue {name!r} with workers={workers!r}; use an int >= 1.")
        self.runner = runner
        self.store = store
        self.executor = executor
        self.name = name
        self._cond = threading.Condition(threading.Lock())
        self._pending: collections.deque[str] = collections.deque()
        self._running: set[str] = set()
        self._canceled: set[str] = set()
        self._futures: dict[str, Any] = {}
        self._events: dict[str, threading.Event] = {}
        self._unsaved: dict[str, tuple[JobRecord, str | None]] = {}
        self._retrier: threading.Thread | None = None
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._work, name=f"qlab-jobs-{name or id(self)}-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def __repr__(self) -> str:
        return f"JobQueue({self.runner!r}, {self.store!r}, workers={len(self._threads)}, name={self.name!r})"

    def __enter__(self) -> JobQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def submit(self, record: JobRecord) -> None:
        """Queue a ``created`` job and return at once.

        The job is added to the store first if it is not there yet; if it
        is, the stored copy is what runs. It moves to ``submitted`` and
        ``queued`` (one write) and runs after every job submitted before it.
        The ``record`` object itself is not changed: the store holds the live
        status.

        Raises:
            JobStateError: the stored job is not ``created``.
            JobQueueError: the queue was shut down.
        """
        if not isinstance(record, JobRecord):
            raise QlabTypeError(f"JobQueue.submit expects a JobRecord, got {type(record).__name__}.")
        if self._stopping:
            raise JobQueueError(f"Cannot submit job {record.id!r}: JobQueue {self.name!r} is shut down.")
        self.store._enqueue(record)
        event = threading.Event()
        with self._cond:
            stopping = self._stopping
            if not stopping:
                self._events[record.id] = event
                self._pending.append(record.id)
                self._cond.notify()
        if stopping:
            self.store._move(record.id, (JobStatus.CANCELED,), error=SHUT_DOWN, strict=False)

    def cancel(self, job_id: str) -> bool:
        """Cancel a job that has not finished.

        A queued job is canceled at once. A running job is marked canceled
        at once and its eventual result is discarded (its Dask task is
        canceled). Works on any active job of the store, including ones
        another queue or process runs: that queue discards the result.

        Returns:
            True if the job was canceled, False if it had already finished.

        Raises:
            JobNotFoundError: no such job.
        """
        with self._cond:
            if job_id in self._pending:
                self._pending.remove(job_id)
        if self.store._move(job_id, (JobStatus.CANCELED,), strict=False) is None:
            self._settle(job_id)
            return False
        with self._cond:
            future = self._futures.get(job_id)
            if job_id in self._running:
                self._canceled.add(job_id)
        if future is not None:
            future.cancel()
        self._settle(job_id)
        return True

    def wait(self, job_id: str, timeout: float | None = None) -> JobRecord:
        """Block until the job finishes; return its stored record with results.

        Args:
            job_id: a job submitted to this queue (or already finished).
            timeout: seconds to wait at most; ``None`` waits forever.

        Raises:
            QlabTimeoutError: the job did not finish within ``timeout``.
            JobNotFoundError: no such job.
            JobQueueError: the job is active but not in this queue.
        """
        with self._cond:
            event = self._events.get(job_id)
            held = self._unsaved.get(job_id)
        if held is not None:
            return held[0]
        if event is None:
            record = self.store.get(job_id)
            if record.status.finished:
                return record
            raise JobQueueError(
                f"Cannot wait for job {job_id!r}: it is {record.status.value} but not in JobQueue {self.name!r}; "
                "wait on the queue it was submitted to."
            )
        if not event.wait(None if timeout is None else min(timeout, threading.TIMEOUT_MAX)):
            status = self.store.get(job_id).status.value
            raise QlabTimeoutError(
                f"Job {job_id!r} did not finish within {timeout} s (it is {status}); "
                "wait longer or cancel it with queue.cancel(job_id)."
            )
        return self.unsaved(job_id) or self.store.get(job_id)

    def unsaved(self, job_id: str) -> JobRecord | None:
        """The finished record of a job the store could not take yet (None when it is stored)."""
        with self._cond:
            held = self._unsaved.get(job_id)
        return None if held is None else held[0]

    def position(self, job_id: str) -> int | None:
        """The job's 0-based place among the jobs waiting in this queue; None if it is not waiting."""
        with self._cond:
            try:
                return self._pending.index(job_id)
            except ValueError:
                return None

    @property
    def waiting(self) -> int:
        """How many jobs wait in this queue (running ones not counted)."""
        with self._cond:
            return len(self._pending)

    def __len__(self) -> int:
        with self._cond:
            return len(self._pending) + len(self._running)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the workers; jobs still waiting become ``canceled`` with the error ``"queue shut down"``.

        Args:
            wait: block until the running jobs have finished.
        """
        with self._cond:
            self._stopping = True
            left = list(self._pending)
            self._pending.clear()
            self._cond.notify_all()
        for job_id in left:
            self.store._move(job_id, (JobStatus.CANCELED,), error=SHUT_DOWN, strict=False)
            self._settle(job_id)
        if wait:
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join()

    def _settle(self, job_id: str) -> None:
        with self._cond:
            event = self._events.pop(job_id, None)
        if event is not None:
            event.set()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if not self._pending:
                    return
                job_id = self._pending.popleft()
                self._running.add(job_id)
            try:
                self._run(job_id)
            except Exception as err:
                _log.exception("JobQueue %r failed while running job %s", self.name, job_id)
                self._end(job_id, JobStatus.FAILED, error=f"{type(err).__name__}: {err}")
            finally:
                with self._cond:
                    self._running.discard(job_id)
                    self._canceled.discard(job_id)
                self._settle(job_id)

    def _run(self, job_id: str) -> None:
        record = self.store._move(job_id, (JobStatus.RUNNING,), strict=False)
        if record is None:
            return
        try:
            results = self._call(record)
        except BaseException as err:
            self._end(job_id, JobStatus.FAILED, error=f"{type(err).__name__}: {err}", record=record)
            return
        self._end(job_id, JobStatus.DONE, results=results, record=record)

    def _end(self, job_id: str, status: JobStatus, *, results: dict | None = None, error: str | None = None,
             record: JobRecord | None = None) -> None:
        """Write a job's final status (and results); keep it in memory if the store cannot take it."""
        try:
            self._write_final(job_id, status, results, error)
        except QlabTypeError:
            pass
        except JobStoreError as err:
            _log.error("JobQueue %r could not store the end of job %s: %s", self.name, job_id, err)
            self._hold(job_id, status, results, error, record, err)

    def _write_final(self, job_id: str, status: JobStatus, results: dict | None, error: str | None) -> None:
        if status is JobStatus.DONE:
            self.store._finish(job_id, results, strict=False)
        else:
            self.store._move(job_id, (status,), error=error, strict=False)

    def _hold(self, job_id: str, status: JobStatus, results, error, record: JobRecord | None, cause: Exception) -> None:
        if record is None:
            try:
                record = self.store.get(job_id)
            except JobStoreError:
                record = JobRecord(job_id, "", "", "", "", {}, JobStatus.RUNNING)
        note = f"not saved yet: the job store could not take this job's end ({cause}); it is kept in memory and retried"
        held = JobRecord(
            record.id, record.family, record.device, record.program, record.program_format, dict(record.parameters),
            status, {**record.timestamps, status.value: time.time()},
            note if error is None else f"{error} ({note})", results if status is JobStatus.DONE else None,
        )
        with self._cond:
            self._unsaved[job_id] = (held, error)
            if self._retrier is None or not self._retrier.is_alive():
                self._retrier = threading.Thread(target=self._retry, name=f"qlab-jobs-{self.name}-retry", daemon=True)
                self._retrier.start()

    def _retry(self) -> None:
        """Write held jobs until the store takes them all (or the store is closed)."""
        while True:
            time.sleep(RETRY)
            with self._cond:
                held = list(self._unsaved.values())
            if not held or self.store.closed:
                return
            for record, error in held:
                try:
                    self._write_final(record.id, record.status, record.results, error)
                except QlabTypeError:
                    pass
                except JobStoreError:
                    break
                with self._cond:
                    self._unsaved.pop(record.id, None)

    def _call(self, record: JobRecord) -> dict:
        if self.executor is None:
            return self.runner(record)
        future = dask_executor.submit(self.executor, self.runner, record)
        with self._cond:
            self._futures[record.id] = future
            canceled = record.id in self._canceled
        if canceled:
            future.cancel()
        try:
            return future.result()
        finally:
            with self._cond:
                del self._futures[record.id]
