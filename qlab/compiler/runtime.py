"""What a pass sees while it runs: :func:`get_runtime` and the :class:`RuntimeHandle`.

A compilation runs as one Dask task on a worker. Inside it (and inside every
subtask it starts), :func:`get_runtime` returns a handle that submits more
Dask tasks: ``submit`` for one call, ``map`` for many (cut into chunks, so
thousands of tiny calls cost a few Dask tasks), ``wait`` for results,
``next`` for the results that finished since the last call, and ``cancel``.
A task that waits leaves its worker thread while it waits (Dask's
``secede``/``rejoin``), so subtasks may start subtasks at any depth without
running out of threads.

Log records made in a pass or subtask on any worker travel to the client
process (through Dask's event stream) and reach its ``logging`` with the
compilation id and subtask name appended.

>>> get_runtime()
Traceback (most recent call last):
...
qlab.exceptions.CompilerError: get_runtime() was called outside a running compilation: only passes (and the subtasks they start) run inside one; start one with Compiler.compile or Compiler.submit.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..exceptions import CompilationCanceledError, CompilerError, QlabTimeoutError, QlabTypeError

__all__ = ["get_runtime", "RuntimeHandle", "SubtaskFuture", "EVENT_TOPIC"]

EVENT_TOPIC = "qlab-compiler"
"""The Dask event topic that carries progress and log records to the client."""

_local = threading.local()
_CANCEL_POLL = 0.1
"""Seconds between two questions to the scheduler whether a compilation was cancelled (each is a round trip)."""


@dataclass(frozen=True)
class TaskContext:
    """Which compilation (and which subtask of it) the current thread works for."""

    task_id: str
    log_level: int
    subtask: str | None = None


def cancel_event_name(task_id: str) -> str:
    """The Dask ``Event`` the client sets when it cancels a compilation."""
    return f"qlab-cancel-{task_id}"


def current_context() -> TaskContext | None:
    """The context of the compilation running in this thread, or ``None``."""
    return getattr(_local, "context", None)


class _Entered:
    """Sets the thread's task context for the duration of a ``with`` block."""

    def __init__(self, context: TaskContext):
        self.context = context

    def __enter__(self) -> TaskContext:
        self.previous = current_context()
        _local.context = self.context
        _install_log_forwarding(self.context.log_level)
        return self.context

    def __exit__(self, *exc: object) -> None:
        _local.context = self.previous


def enter(context: TaskContext) -> _Entered:
    """``with enter(context):`` runs its block as part of a compilation."""
    return _Entered(context)


def emit(event: dict) -> None:
    """Send an event (msgpack-able dict) of the current compilation to its client."""
    from distributed import get_worker

    get_worker().log_event(EVENT_TOPIC, event)


def get_runtime() -> RuntimeHandle:
    """The runtime handle of the compilation this pass or subtask belongs to.

    Raises:
        CompilerError: called outside a running compilation.
    """
    context = current_context()
    if context is None:
        raise CompilerError(
            "get_runtime() was called outside a running compilation: only passes (and the subtasks they start) "
            "run inside one; start one with Compiler.compile or Compiler.submit."
        )
    return RuntimeHandle(context)


class SubtaskFuture:
    """The pending result of :meth:`RuntimeHandle.submit` or :meth:`RuntimeHandle.map`.

    Wraps the Dask futures of the call (one per chunk for ``map``). Pass it to
    the handle's ``wait``, ``next`` or ``cancel``; it cannot leave the task
    that made it.
    """

    def __init__(self, futures: list, sizes: list[int], single: bool):
        self._futures = futures
        self._sizes = sizes
        self._single = single
        self._starts = list(itertools.accumulate([0] + sizes[:-1]))
        self._reported: set[int] = set()

    def __len__(self) -> int:
        return sum(self._sizes)

    def __repr__(self) -> str:
        kind = "submit" if self._single else f"map of {len(self)} calls in {len(self._futures)} chunks"
        return f"<SubtaskFuture {kind}, {sum(f.done() for f in self._futures)}/{len(self._futures)} done>"

    def done(self) -> bool:
        """Whether every call has finished."""
        return all(f.done() for f in self._futures)

    def __reduce__(self):
        raise CompilerError("A SubtaskFuture cannot be sent to another task: wait for it where it was made.")


def _run_calls(context: TaskContext, fn: Callable, calls: list[tuple], kwargs: dict) -> list:
    """One chunk of subtask calls, run in order in the compilation's context."""
    with enter(context):
        return [fn(*args, **kwargs) for args in calls]


class RuntimeHandle:
    """Submit, map, wait for and cancel subtasks of the running compilation.

    Obtain it with :func:`get_runtime` inside a pass or subtask. Subtask
    functions and arguments must be picklable (functions defined at module
    level, or anything cloudpickle can send).
    """

    def __init__(self, context: TaskContext):
        from distributed import get_client

        self.context = context
        self._client = get_client()
        self._cancel_checked_at = -math.inf

    def __repr__(self) -> str:
        return f"<RuntimeHandle of compilation {self.context.task_id!r}>"

    def _check_not_cancelled(self) -> None:
        """Refuse new subtasks once the compilation is cancelled (asks the scheduler at most every ``_CANCEL_POLL`` s)."""
        from distributed import Event

        now = time.monotonic()
        if now - self._cancel_checked_at < _CANCEL_POLL:
            return
        self._cancel_checked_at = now
        if Event(cancel_event_name(self.context.task_id), client=self._client).is_set():
            raise CompilationCanceledError(f"Compilation {self.context.task_id!r} was cancelled: no new subtasks.")

    def _key(self, fn: Callable) -> str:
        name = getattr(fn, "__name__", type(fn).__name__)
        return f"qlab-sub-{name}-{self.context.task_id}-{uuid.uuid4().hex}"

    def _child(self, fn: Callable, task_name: str | None) -> TaskContext:
        name = task_name or getattr(fn, "__qualname__", repr(fn))
        return TaskContext(self.context.task_id, self.context.log_level, name)

    def submit(self, fn: Callable, *args: Any, task_name: str | None = None, **kwargs: Any) -> SubtaskFuture:
        """Run ``fn(*args, **kwargs)`` as a subtask; returns its future at once."""
        if not callable(fn):
            raise QlabTypeError(f"RuntimeHandle.submit needs a callable, got {type(fn).__name__} {fn!r}.")
        self._check_not_cancelled()
        future = self._client.submit(
            _run_calls, self._child(fn, task_name), fn, [args], kwargs, key=self._key(fn), pure=False
        )
        return SubtaskFuture([future], [1], single=True)

    def map(
        self,
        fn: Callable,
        *iterables: Iterable,
        chunksize: int | None = None,
        task_name: str | None = None,
        **kwargs: Any,
    ) -> SubtaskFuture:
        """Run ``fn`` on the zipped items of ``iterables`` (``kwargs`` go to every call) as subtasks.

        Calls are grouped into chunks of ``chunksize`` (default: about four
        chunks per worker thread of the cluster), one Dask task each; results
        keep the order of the inputs.

        Raises:
            CompilerError: there is nothing to map.
        """
        if not callable(fn):
            raise QlabTypeError(f"RuntimeHandle.map needs a callable, got {type(fn).__name__} {fn!r}.")
        calls = list(zip(*iterables))
        if not calls:
            raise CompilerError(f"RuntimeHandle.map got no items to map {getattr(fn, '__name__', fn)!r} over.")
        if chunksize is None:
            chunksize = max(1, math.ceil(len(calls) / (4 * _cluster_threads(self._client))))
        elif isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1:
            raise CompilerError(f"RuntimeHandle.map: chunksize must be a positive int, got {chunksize!r}.")
        chunks = [calls[i : i + chunksize] for i in range(0, len(calls), chunksize)]
        context = self._child(fn, task_name)
        self._check_not_cancelled()
        futures = self._client.map(
            _run_calls, [context] * len(chunks), [fn] * len(chunks), chunks, [kwargs] * len(chunks),
            key=[self._key(fn) for _ in chunks], pure=False,
        )
        return SubtaskFuture(futures, [len(c) for c in chunks], single=False)

    def wait(self, future: SubtaskFuture, timeout: float | None = None) -> Any:
        """The result of a ``submit`` (one value) or a ``map`` (a list), waiting while the thread is lent out.

        A subtask's exception is raised here as its original type, with the
        remote traceback, so a pass can catch it.

        Raises:
            QlabTimeoutError: the results did not come within ``timeout`` seconds.
        """
        _check_future(future)
        chunks = self._blocking(lambda: self._client.gather(future._futures), future, timeout, "ALL_COMPLETED")
        future._reported.update(range(len(future._futures)))
        results = [r for chunk in chunks for r in chunk]
        return results[0] if future._single else results

    def next(self, future: SubtaskFuture, timeout: float | None = None) -> list[tuple[int, Any]]:
        """``(index, result)`` of the calls that finished since the last ``next`` (waits for at least one).

        Returns an empty list once every result has been reported.
        """
        _check_future(future)
        if len(future._reported) == len(future._futures):
            return []
        self._blocking(lambda: None, _Pending(future), timeout, "FIRST_COMPLETED")
        out = []
        for i, f in enumerate(future._futures):
            if i not in future._reported and f.done():
                future._reported.add(i)
                out.extend(zip(range(future._starts[i], future._starts[i] + future._sizes[i]), f.result()))
        return out

    def cancel(self, future: SubtaskFuture) -> None:
        """Cancel the calls of ``future`` that have not finished (running Python code is not interrupted)."""
        _check_future(future)
        self._client.cancel(future._futures)

    def _blocking(self, call: Callable[[], Any], future: SubtaskFuture, timeout: float | None, when: str) -> Any:
        """Run ``call`` once ``future`` is ready (``when``: Dask's return_when), off the worker's thread pool."""
        from distributed import rejoin, secede
        from distributed import wait as dask_wait

        if future.done():
            return call()
        secede()
        try:
            if timeout is not None or when != "ALL_COMPLETED":
                try:
                    dask_wait(future._futures, timeout=timeout, return_when=when)
                except TimeoutError as err:
                    raise QlabTimeoutError(f"No result of {future!r} within {timeout} s; wait longer or cancel it.") from err
            return call()
        finally:
            rejoin()


class _Pending:
    """The calls of a future that ``next`` has not reported yet."""

    def __init__(self, future: SubtaskFuture):
        self._futures = [f for i, f in enumerate(future._futures) if i not in future._reported]

    def done(self) -> bool:
        return any(f.done() for f in self._futures)

    def __repr__(self) -> str:
        return f"<{len(self._futures)} unreported chunks>"


def _check_future(future: object) -> None:
    if not isinstance(future, SubtaskFuture):
        raise QlabTypeError(
            f"Expected a SubtaskFuture from RuntimeHandle.submit or map, got {type(future).__name__} {future!r}."
        )


_threads_cache: dict[str, Any] = {"at": -math.inf, "threads": 1}


def _cluster_threads(client) -> int:
    """Worker threads in the cluster (asked at most every 5 s)."""
    now = time.monotonic()
    if now - _threads_cache["at"] > 5.0:
        _threads_cache["threads"] = max(1, sum(client.nthreads().values()))
        _threads_cache["at"] = now
    return _threads_cache["threads"]


# -------------------------------------------------------------- log forwarding
class _ForwardToClient(logging.Handler):
    """Sends records made inside a compilation (on a worker thread) to the client as events."""

    def emit(self, record: logging.LogRecord) -> None:
        context = current_context()
        if context is None or record.levelno < context.log_level or record.name.startswith("distributed"):
            return
        try:
            where = f"compilation={context.task_id}" + (f", subtask={context.subtask}" if context.subtask else "")
            payload = {
                "kind": "log",
                "task": context.task_id,
                "name": record.name,
                "levelno": record.levelno,
                "levelname": record.levelname,
                "msg": f"{record.getMessage()} [{where}]".replace("%", "%%"),
                "pathname": record.pathname,
                "filename": record.filename,
                "module": record.module,
                "lineno": record.lineno,
                "funcName": record.funcName,
                "created": record.created,
                "process": record.process,
                "processName": record.processName,
                "threadName": record.threadName,
                "exc_text": "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else None,
                "compilation": context.task_id,
                "subtask": context.subtask,
            }
            emit(payload)
        except Exception:  # a log record must never break the task that made it
            self.handleError(record)


_handler_lock = threading.Lock()
_handler: _ForwardToClient | None = None


def _install_log_forwarding(level: int) -> None:
    """Add the forwarding handler to this worker's root logger (once) and lower its level to ``level``."""
    global _handler
    with _handler_lock:
        root = logging.getLogger()
        if _handler is None:
            _handler = _ForwardToClient()
            root.addHandler(_handler)
        if root.level > level:
            root.setLevel(level)


def client_log_level() -> int:
    """The lowest level any logger of this (client) process lets through: what workers should forward."""
    levels = [logging.getLogger().getEffectiveLevel()]
    levels += [lg.level for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger) and lg.level]
    return min(levels)


def forward_record(payload: dict) -> None:
    """Hand a record sent by :class:`_ForwardToClient` to this process's logging."""
    record = logging.makeLogRecord({k: v for k, v in payload.items() if k not in ("kind", "task")})
    logger = logging.getLogger(record.name)
    if logger.isEnabledFor(record.levelno):
        logger.handle(record)
