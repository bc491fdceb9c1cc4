"""What a pass sees while it runs: :func:`get_runtime` and the :class:`RuntimeHandle`.

A compilation runs as one Dask task on a worker. Inside it (and inside every
subtask it starts), :func:`get_runtime` returns a handle that starts
subtasks: ``submit`` for one call, ``map`` for many (cut into chunks, so
thousands of tiny calls cost a few messages), ``wait`` for results, ``next``
for the results that finished since the last call, and ``cancel``. Subtasks
go straight from worker to worker over Dask's connections
(:mod:`qlab.compiler.dispatch`, :mod:`qlab.compiler.service`): a round trip
costs about a millisecond, where one through the scheduler costs ten or
more. A pass or subtask that waits lends its slot out meanwhile (a
compilation leaves Dask's thread pool with ``secede`` when it starts, so
its worker's slots alone decide what computes), so subtasks may start
subtasks at any depth without running out of threads; the handle may also
be used from threads the pass starts itself.

Log records made in a pass or subtask on any worker travel to the client
process (through Dask's event stream) and reach its ``logging`` with the
compilation id and subtask name appended.

>>> get_runtime()
Traceback (most recent call last):
...
qlab.exceptions.CompilerError: get_runtime() was called outside a running compilation: only passes (and the subtasks they start) run inside one; start one with Compiler.compile or Compiler.submit. (A thread a pass starts itself does not inherit it: hand that thread the pass's get_runtime() handle.)
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import InvalidStateError
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..exceptions import CompilationCanceledError, CompilerError, QlabTimeoutError, QlabTypeError

__all__ = ["get_runtime", "RuntimeHandle", "SubtaskFuture", "EVENT_TOPIC"]

EVENT_TOPIC = "qlab-compiler"
"""The Dask event topic that carries progress and log records to the client."""

_local = threading.local()


@dataclass(frozen=True)
class TaskContext:
    """Which compilation (and which subtask of it) the current thread works for."""

    task_id: str
    log_level: int
    subtask: str | None = None
    log_context: tuple[tuple[str, str], ...] = ()
    depth: int = 0
    """Subtask levels below the compilation (its passes: 0)."""


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
    from .service import local_service

    local_service().worker.log_event(EVENT_TOPIC, event)


def get_runtime() -> RuntimeHandle:
    """The runtime handle of the compilation this pass or subtask belongs to.

    Raises:
        CompilerError: called outside a running compilation.
    """
    context = current_context()
    if context is None:
        raise CompilerError(
            "get_runtime() was called outside a running compilation: only passes (and the subtasks they start) "
            "run inside one; start one with Compiler.compile or Compiler.submit. (A thread a pass starts itself "
            "does not inherit it: hand that thread the pass's get_runtime() handle.)"
        )
    return RuntimeHandle(context)


class SubtaskFuture:
    """The pending result of :meth:`RuntimeHandle.submit` or :meth:`RuntimeHandle.map`.

    Holds the batches of calls sent to workers (one for ``submit``, one per
    chunk for ``map``). Pass it to the handle's ``wait``, ``next`` or
    ``cancel``; it cannot leave the task that made it.
    """

    def __init__(self, calls: list, single: bool):
        self._calls = calls
        self._single = single
        self._starts = list(itertools.accumulate([0] + [c.size for c in calls[:-1]]))
        self._reported: set[int] = set()

    def __len__(self) -> int:
        return sum(c.size for c in self._calls)

    def __repr__(self) -> str:
        kind = "submit" if self._single else f"map of {len(self)} calls in {len(self._calls)} chunks"
        return f"<SubtaskFuture {kind}, {sum(c.future.done() for c in self._calls)}/{len(self._calls)} done>"

    def done(self) -> bool:
        """Whether every call has finished."""
        return all(c.future.done() for c in self._calls)

    def __reduce__(self):
        raise CompilerError("A SubtaskFuture cannot be sent to another task: wait for it where it was made.")


class RuntimeHandle:
    """Submit, map, wait for and cancel subtasks of the running compilation.

    Obtain it with :func:`get_runtime` inside a pass or subtask. Subtask
    functions and arguments must be picklable (functions defined at module
    level, or anything cloudpickle can send). Calls go straight to a worker
    (see :mod:`qlab.compiler.dispatch`), not through the Dask scheduler.
    """

    def __init__(self, context: TaskContext):
        from .dispatch import dispatcher_for
        from .service import local_service

        from .service import holds_slot

        self.context = context
        self._service = local_service()
        self._dispatch = dispatcher_for(self._service)
        self._owner_holds_slot = holds_slot()
        self._borrowers = 0
        self._borrow_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<RuntimeHandle of compilation {self.context.task_id!r}>"

    def _check_not_cancelled(self) -> None:
        if self.context.task_id in self._service.cancelled_tasks:
            raise CompilationCanceledError(f"Compilation {self.context.task_id!r} was cancelled: no new subtasks.")

    def get_cache(self) -> dict:
        """A dictionary private to this worker process, kept between tasks and compilations.

        Passes and subtasks keep what is costly to build and the same every time
        (tables, compiled kernels) in it; each worker process has its own.
        """
        return self._service.cache

    def _send(self, fn: Callable, chunks: list[list[tuple]], kwargs: dict, task_name: str | None,
              log_context: Mapping[str, str] | None, single: bool) -> SubtaskFuture:
        from distributed.protocol import pickle

        self._check_not_cancelled()
        name = task_name or getattr(fn, "__qualname__", repr(fn))
        context = TaskContext(self.context.task_id, self.context.log_level, name, _merged(self.context, log_context),
                              self.context.depth + 1)
        try:
            payloads = [pickle.dumps((context, fn, chunk, kwargs)) for chunk in chunks]
        except Exception as err:
            raise CompilerError(
                f"Cannot send subtask {name!r} to a worker: its function or arguments cannot be pickled ({err})."
            ) from err
        calls = [self._dispatch.send(payload, len(chunk), context.task_id, context.depth)
                 for payload, chunk in zip(payloads, chunks)]
        return SubtaskFuture(calls, single)

    def submit(self, fn: Callable, *args: Any, task_name: str | None = None,
               log_context: Mapping[str, str] | None = None, **kwargs: Any) -> SubtaskFuture:
        """Run ``fn(*args, **kwargs)`` as a subtask; returns its future at once.

        ``task_name`` names it in log records (default: the function's name);
        ``log_context`` pairs are appended to every record it logs (and its own
        subtasks inherit them).
        """
        if not callable(fn):
            raise QlabTypeError(f"RuntimeHandle.submit needs a callable, got {type(fn).__name__} {fn!r}.")
        return self._send(fn, [[args]], kwargs, task_name, log_context, single=True)

    def map(
        self,
        fn: Callable,
        *iterables: Iterable,
        chunksize: int | None = None,
        task_name: str | None = None,
        log_context: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> SubtaskFuture:
        """Run ``fn`` on the zipped items of ``iterables`` (``kwargs`` go to every call) as subtasks.

        Calls are grouped into chunks of ``chunksize`` (default: about four
        chunks per worker thread of the cluster), each sent to a worker as one
        message; results keep the order of the inputs.

        Raises:
            CompilerError: there is nothing to map.
        """
        if not callable(fn):
            raise QlabTypeError(f"RuntimeHandle.map needs a callable, got {type(fn).__name__} {fn!r}.")
        calls = list(zip(*iterables))
        if not calls:
            raise CompilerError(f"RuntimeHandle.map got no items to map {getattr(fn, '__name__', fn)!r} over.")
        if chunksize is None:
            chunksize = max(1, math.ceil(len(calls) / (4 * self._dispatch.threads())))
        elif isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1:
            raise CompilerError(f"RuntimeHandle.map: chunksize must be a positive int, got {chunksize!r}.")
        chunks = [calls[i : i + chunksize] for i in range(0, len(calls), chunksize)]
        return self._send(fn, chunks, kwargs, task_name, log_context, single=False)

    def wait(self, future: SubtaskFuture, timeout: float | None = None) -> Any:
        """The result of a ``submit`` (one value) or a ``map`` (a list), lending the thread out while it waits.

        A subtask's exception is raised here as its original type, with the
        remote traceback, so a pass can catch it.

        Raises:
            QlabTimeoutError: the results did not come within ``timeout`` seconds.
            CompilationCanceledError: the calls were cancelled.
        """
        from .dispatch import decode

        _check_future(future)
        self._block([c.future for c in future._calls], timeout, "ALL_COMPLETED", future)
        results = []
        for i, call in enumerate(future._calls):
            future._reported.add(i)   # reported even when it raises: next() goes on after it
            results.extend(decode(call.future.result()))
        return results[0] if future._single else results

    def next(self, future: SubtaskFuture, timeout: float | None = None) -> list[tuple[int, Any]]:
        """``(index, result)`` of the calls that finished since the last ``next`` (waits for at least one).

        Returns an empty list once every result has been reported.
        """
        from .dispatch import decode

        _check_future(future)
        pending = [c.future for i, c in enumerate(future._calls) if i not in future._reported]
        if not pending:
            return []
        self._block(pending, timeout, "FIRST_COMPLETED", future)
        out = []
        for i, call in enumerate(future._calls):
            if i not in future._reported and call.future.done():
                if out and call.future.exception() is None and call.future.result().get("status") != "OK":
                    break   # an error: report what came before it first, and raise it on the next call
                future._reported.add(i)
                out.extend(zip(range(future._starts[i], future._starts[i] + call.size), decode(call.future.result())))
        return out

    def cancel(self, future: SubtaskFuture) -> None:
        """Cancel the calls of ``future`` that have not finished (running Python code is not interrupted).

        Waiting for them afterwards raises :class:`~qlab.exceptions.CompilationCanceledError`.
        """
        _check_future(future)
        pending = [c for c in future._calls if not c.future.done()]
        self._dispatch.cancel(pending)
        for call in pending:
            try:
                call.future.set_exception(CompilationCanceledError("The subtask was cancelled."))
            except InvalidStateError:
                pass  # it finished meanwhile: its result stands

    @contextmanager
    def _lent(self):
        """While this thread waits, others may compute on its slot; it takes the slot back as soon as it may go on.

        A thread the pass started itself holds no slot: while any such thread waits, the pass's slot is lent
        out (once), since the pass is most likely waiting for that thread.
        """
        from .service import holds_slot

        slots = self._service.slots
        if holds_slot():
            slots.give_back()
            try:
                yield
            finally:
                slots.take_back()
            return
        with self._borrow_lock:
            self._borrowers += 1
            if self._borrowers == 1 and self._owner_holds_slot:
                slots.give_back()
        try:
            yield
        finally:
            with self._borrow_lock:
                self._borrowers -= 1
                if self._borrowers == 0 and self._owner_holds_slot:
                    slots.take_back()

    def _block(self, futures: list, timeout: float | None, when: str, future: SubtaskFuture) -> None:
        """Wait until ``futures`` are ready (``when``: ALL_COMPLETED or FIRST_COMPLETED), lending the thread out."""
        from concurrent.futures import wait as wait_for

        ready = all if when == "ALL_COMPLETED" else any
        if ready(f.done() for f in futures):
            return
        with self._lent():
            done, _ = wait_for(futures, timeout=timeout, return_when=when)
        if not ready(f in done for f in futures):
            raise QlabTimeoutError(f"No result of {future!r} within {timeout} s; wait longer or cancel it.")


def _merged(parent: TaskContext, log_context: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    """The parent's log context with ``log_context`` added (its keys win).

    Raises:
        QlabTypeError: ``log_context`` is not a mapping of str to str.
    """
    if log_context is None:
        return parent.log_context
    if not isinstance(log_context, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in log_context.items()):
        raise QlabTypeError(f"log_context must map str to str, got {log_context!r}.")
    return tuple({**dict(parent.log_context), **log_context}.items())


def _check_future(future: object) -> None:
    if not isinstance(future, SubtaskFuture):
        raise QlabTypeError(
            f"Expected a SubtaskFuture from RuntimeHandle.submit or map, got {type(future).__name__} {future!r}."
        )


# -------------------------------------------------------------- log forwarding
class _ForwardToClient(logging.Handler):
    """Sends records made inside a compilation (on a worker thread) to the client as events."""

    def emit(self, record: logging.LogRecord) -> None:
        context = current_context()
        if context is None or record.levelno < context.log_level or record.name.startswith("distributed"):
            return
        try:
            where = f"compilation={context.task_id}" + (f", subtask={context.subtask}" if context.subtask else "")
            where += "".join(f", {key}={value}" for key, value in context.log_context)
            payload = {
                "kind": "log",
                "task": context.task_id,
                "name": record.name,
                "levelno": record.levelno,
                "levelname": record.levelname,
                "msg": f"{record.getMessage()} [{where}]",   # already formatted: the client record has no args
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
