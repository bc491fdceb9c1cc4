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
import threading
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from distributed.diagnostics.plugin import WorkerPlugin

from ..exceptions import CompilerError
from .runtime import enter

__all__ = ["SubtaskService", "local_service", "local_service_of", "in_subtask_thread", "RUN_HANDLER", "CANCEL_HANDLER"]

RUN_HANDLER = "qlab_subtasks_run"
CANCEL_HANDLER = "qlab_subtasks_cancel"

_MAX_THREADS = 4096
"""Threads a worker may hold for calls: computing ones (at most its slots) plus those waiting for subtasks."""

_REMEMBERED_CANCELS = 100_000
"""Cancelled call ids a worker remembers (a cancel may arrive before its call, or after it ran)."""

_services: dict[str, Service] = {}
_thread = threading.local()


class Slots:
    """At most ``n`` calls compute at once on a worker; others queue in order of arrival.

    ``acquire``/``release`` run on the worker's event loop; threads use
    ``take``/``give_back`` (a thread that waits for its subtasks gives its slot
    back meanwhile).
    """

    def __init__(self, n: int, loop: asyncio.AbstractEventLoop):
        self._free = n
        self._waiters: deque[asyncio.Future] = deque()
        self._loop = loop

    async def acquire(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        waiter = self._loop.create_future()
        self._waiters.append(waiter)
        await waiter

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)   # the slot passes straight to the next in line
                return
        self._free += 1

    def take(self) -> None:
        """From a thread: wait in line for a slot."""
        asyncio.run_coroutine_threadsafe(self.acquire(), self._loop).result()

    def give_back(self) -> None:
        """From a thread: return the slot it holds."""
        self._loop.call_soon_threadsafe(self.release)

    @contextmanager
    def held(self):
        """From a thread: hold a slot for the ``with`` block."""
        self.take()
        try:
            yield
        finally:
            self.give_back()


class Service:
    """Runs the calls sent to one worker and remembers which compilations were cancelled."""

    def __init__(self, worker):
        self.worker = worker
        self.loop = worker.loop.asyncio_loop
        self.slots = Slots(worker.state.nthreads, self.loop)
        self.pool = ThreadPoolExecutor(_MAX_THREADS, thread_name_prefix="qlab-subtask")
        self.cancelled_tasks: set[str] = set()
        self.cache: dict = {}
        self._queued: dict[str, str] = {}
        self._cancelled_calls: OrderedDict[str, None] = OrderedDict()

    async def run(self, payload: bytes, call_id: str, task_id: str) -> dict:
        """The ``qlab_subtasks_run`` handler: queue for a slot, run the calls on a thread, answer."""
        if task_id in self.cancelled_tasks or self._cancelled_calls.pop(call_id, False) is None:
            return {"status": "cancelled"}
        self._queued[call_id] = task_id
        try:
            await self.slots.acquire()
        finally:
            del self._queued[call_id]
        try:
            if task_id in self.cancelled_tasks or self._cancelled_calls.pop(call_id, False) is None:
                return {"status": "cancelled"}
            return await self.loop.run_in_executor(self.pool, self._execute, payload)
        finally:
            self.slots.release()

    def _execute(self, payload: bytes) -> dict:
        from distributed.core import error_message
        from distributed.protocol import pickle

        _thread.service = self
        try:
            context, fn, calls, kwargs = pickle.loads(payload)
            with enter(context):
                results = [fn(*args, **kwargs) for args in calls]
            return {"status": "OK", "result": pickle.dumps(results)}
        except Exception as err:  # the caller re-raises it as itself, with this traceback
            return error_message(err)
        finally:
            _thread.service = None

    def cancel(self, call_ids: list[str] | None = None, task_id: str | None = None) -> None:
        """The ``qlab_subtasks_cancel`` handler: drop queued calls (by id, or all of a compilation).

        A call may be cancelled before it arrives (the two messages travel on different connections);
        the most recent :data:`_REMEMBERED_CANCELS` ids are kept for that.
        """
        if task_id is not None:
            self.cancelled_tasks.add(task_id)
        for call_id in call_ids or ():
            self._cancelled_calls[call_id] = None
        while len(self._cancelled_calls) > _REMEMBERED_CANCELS:
            self._cancelled_calls.popitem(last=False)

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


def in_subtask_thread() -> bool:
    """Whether this thread runs a subtask call (rather than a Dask task)."""
    return getattr(_thread, "service", None) is not None
