"""The worker side of subtasks: a Dask worker plugin that runs calls sent straight from other workers.

Subtasks do not pass through the Dask scheduler. A pass (or a subtask) on one
worker sends its calls to another worker's ``qlab_subtasks_run`` handler over
Dask's own connections and gets the result back on the same connection
(:mod:`qlab.compiler.dispatch` is the sending side): one round trip between two
processes instead of the scheduler's two hops, batching delays and a gather.
The scheduler still places and retries the compilations themselves, and keeps
the list of workers the calls go to.

Each worker computes as many calls at once as it has threads (its *slots*); a
call that waits for subtasks of its own gives its slot back while it waits, so
subtasks may start subtasks at any depth. Calls still waiting for a slot are
dropped when their compilation, or the call itself, is cancelled; running
Python code is not interrupted.

>>> SubtaskService()
SubtaskService()
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from distributed.diagnostics.plugin import WorkerPlugin

from ..exceptions import CompilerError
from .runtime import enter

__all__ = ["SubtaskService", "local_service", "local_service_of", "holds_slot", "RUN_HANDLER", "CANCEL_HANDLER"]

RUN_HANDLER = "qlab_subtasks_run"
CANCEL_HANDLER = "qlab_subtasks_cancel"

_MAX_THREADS = 4096
"""Threads a worker may hold for calls: computing ones (at most its slots) plus those waiting for subtasks."""

_REMEMBERED_CANCELS = 100_000
"""Cancelled call (and compilation) ids a worker remembers (a cancel may arrive before its call, or after it ran)."""

_services: dict[str, Service] = {}
_thread = threading.local()


class Slots:
    """At most ``n`` calls compute at once on a worker; others queue, the most deeply nested first.

    ``acquire``/``release`` run on the worker's event loop; threads use
    ``take``/``give_back``. A thread that waits for its subtasks gives its slot back
    meanwhile and takes it back at once when they are done (``take_back``), so a
    wait ends when its results are in, not when the worker has a free slot. Deeper
    calls (``depth``: how many subtask levels below the compilation) go first, so a
    started subtree finishes before new siblings start: the threads that wait stay
    few (about the nesting depth per slot), as with BQSKit's last-in-first-out queue.
    """

    def __init__(self, n: int, loop: asyncio.AbstractEventLoop):
        self.limit = n
        self._free = n
        self._waiters: list[tuple[int, int, asyncio.Future]] = []
        self._arrivals = itertools.count()
        self._loop = loop

    @property
    def free(self) -> int:
        """Slots free now (negative while waits that ended run over the limit)."""
        return self._free

    async def acquire(self, depth: int = 0) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        waiter = self._loop.create_future()
        heapq.heappush(self._waiters, (-depth, next(self._arrivals), waiter))
        await waiter   # the slot is counted as taken when it is handed over

    def release(self) -> None:
        self._free += 1
        while self._free > 0 and self._waiters:
            waiter = heapq.heappop(self._waiters)[2]
            if not waiter.done():
                self._free -= 1
                waiter.set_result(None)

    def take(self) -> None:
        """From a thread: wait in line for a slot."""
        asyncio.run_coroutine_threadsafe(self.acquire(), self._loop).result()

    def give_back(self) -> None:
        """From a thread: return the slot it holds."""
        self._loop.call_soon_threadsafe(self.release)

    def take_back(self) -> None:
        """From a thread whose wait is over: count its slot as taken again, without queueing.

        Its subtasks' results are in, so it goes on at once (the worker may briefly compute
        more calls than it has threads); new calls wait until the count is below the limit.
        """
        self._loop.call_soon_threadsafe(self._reclaim)

    def _reclaim(self) -> None:
        self._free -= 1

    @contextmanager
    def held(self):
        """From a thread: hold a slot for the ``with`` block."""
        self.take()
        _thread.holds_slot = True
        try:
            yield
        finally:
            _thread.holds_slot = False
            self.give_back()


class Service:
    """Runs the calls sent to one worker and remembers which compilations were cancelled."""

    def __init__(self, worker):
        self.worker = worker
        self.loop = worker.loop.asyncio_loop
        self.slots = Slots(worker.state.nthreads, self.loop)
        self.pool = ThreadPoolExecutor(_MAX_THREADS, thread_name_prefix="qlab-subtask")
        self.cancelled_tasks: OrderedDict[str, None] = OrderedDict()
        self.cache: dict = {}
        self._queued: dict[str, str] = {}
        self._cancelled_calls: OrderedDict[str, None] = OrderedDict()

    async def run(self, comm, payload: bytes, call_id: str, task_id: str, depth: int = 1) -> dict:
        """The ``qlab_subtasks_run`` handler: queue for a slot, run the calls on a thread, answer.

        ``comm`` is the caller's connection (``None`` for a call from this process); a call whose
        caller went away while it queued (its worker died) is dropped.
        """
        if self._dropped(task_id, call_id):
            return {"status": "cancelled"}
        self._queued[call_id] = task_id
        try:
            await self.slots.acquire(depth)
        finally:
            del self._queued[call_id]
        try:
            if self._dropped(task_id, call_id) or (comm is not None and comm.closed()):
                return {"status": "cancelled"}
            return await self.loop.run_in_executor(self.pool, self._execute, payload)
        finally:
            self.slots.release()

    def _dropped(self, task_id: str, call_id: str) -> bool:
        return task_id in self.cancelled_tasks or self._cancelled_calls.pop(call_id, False) is None

    def _execute(self, payload: bytes) -> dict:
        from distributed.core import error_message
        from distributed.protocol import pickle

        _thread.service, _thread.holds_slot = self, True
        name = "?"
        try:
            context, fn, calls, kwargs = pickle.loads(payload)
            name = context.subtask
            with enter(context):
                results = [fn(*args, **kwargs) for args in calls]
            try:
                return {"status": "OK", "result": pickle.dumps(results)}
            except Exception as err:
                raise CompilerError(
                    f"Subtask {name!r} returned a value that cannot be sent back to its caller ({err}); "
                    "subtasks must return picklable values."
                ) from err
        except Exception as err:  # the caller re-raises it as itself, with this traceback
            return error_message(err)
        except BaseException as err:  # SystemExit, KeyboardInterrupt: they must not stop the worker
            try:
                raise CompilerError(f"Subtask {name!r} raised {type(err).__name__}{err.args!r}; "
                                    "subtasks may raise exceptions, not stop their worker.") from err
            except CompilerError as wrapped:
                return error_message(wrapped)
        finally:
            _thread.service, _thread.holds_slot = None, False

    def cancel(self, call_ids: list[str] | None = None, task_id: str | None = None) -> None:
        """The ``qlab_subtasks_cancel`` handler: drop queued calls (by id, or all of a compilation).

        A call may be cancelled before it arrives (the two messages travel on different connections);
        the most recent :data:`_REMEMBERED_CANCELS` ids are kept for that.
        """
        if task_id is not None:
            self.cancelled_tasks[task_id] = None
        for call_id in call_ids or ():
            self._cancelled_calls[call_id] = None
        for remembered in (self.cancelled_tasks, self._cancelled_calls):
            while len(remembered) > _REMEMBERED_CANCELS:
                remembered.popitem(last=False)

    def queued(self) -> int:
        """Calls waiting for a slot."""
        return len(self._queued)


class SubtaskService(WorkerPlugin):
    """Installs the subtask handlers on every worker of a cluster (also on workers that join later).

    The compiler registers it when it connects; registering it again is a no-op.
    """

    name = "qlab-subtasks"
    idempotent = True

    def setup(self, worker) -> None:
        service = _services.get(worker.address)
        if service is None or service.worker is not worker:
            service = _services[worker.address] = Service(worker)
        worker.handlers[RUN_HANDLER] = service.run
        worker.handlers[CANCEL_HANDLER] = service.cancel

    def __repr__(self) -> str:
        return "SubtaskService()"


def holds_slot() -> bool:
    """Whether this thread holds one of its worker's slots (a subtask's or a compilation's thread)."""
    return getattr(_thread, "holds_slot", False)


def local_service() -> Service:
    """The service of the worker this thread works for (a subtask's thread or a Dask task's).

    Raises:
        CompilerError: not on a worker with the service installed.
    """
    service = getattr(_thread, "service", None)
    if service is not None:
        return service
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError as err:
        raise CompilerError("Subtasks need a Dask worker: this thread does not run on one.") from err
    return local_service_of(worker)


def local_service_of(worker) -> Service:
    """The service installed on ``worker`` (a ``distributed.Worker`` of this process).

    Raises:
        CompilerError: the worker has no service.
    """
    service = _services.get(worker.address)
    if service is None:
        raise CompilerError(
            f"The worker {worker.address} has no {SubtaskService.name!r} plugin: compilations must be started "
            "through qlab.compiler.Compiler, which installs it."
        )
    return service


