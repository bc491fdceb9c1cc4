"""The sending side of subtasks: which worker gets a call, and what happens when a worker is lost.

A :class:`Dispatcher` lives in each worker process. It sends a call (the
function, its argument tuples and the compilation's context, pickled once) to
the worker with the fewest of this process's calls in flight per thread,
preferring its own worker on a tie, and returns a
:class:`concurrent.futures.Future` of the worker's answer. The list of workers
comes from the scheduler (asked again every few seconds and whenever a worker
cannot be reached). Calls for its own worker skip the connection. It also
counts the calls each compilation started and finished, and sends the counts
to the client as progress events a few times a second. A worker lost while it holds a call (killed, crashed, its
machine gone) breaks the connection; the call is then sent to another worker,
up to :data:`ATTEMPTS` times.

:mod:`qlab.compiler.service` is the receiving side.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass

from ..exceptions import CompilationCanceledError, CompilerError
from .runtime import EVENT_TOPIC
from .service import CANCEL_HANDLER, RUN_HANDLER, Service

__all__ = ["Dispatcher", "Call", "dispatcher_for", "decode", "ATTEMPTS"]

ATTEMPTS = 5
"""Workers a call is sent to before it is given up as unreachable."""

_PEERS_TTL = 5.0
"""Seconds the list of workers is trusted before the scheduler is asked again."""

_PROGRESS_EVERY = 0.1
"""Seconds between two progress events of a process (started and finished subtasks per compilation)."""

_SHUNNED_FOR = 10.0
"""Seconds a worker that could not be reached gets no calls (the scheduler may not know yet that it is gone)."""


@dataclass
class Call:
    """One batch of calls sent to a worker: its id, how many calls, and the future of the answer."""

    id: str
    size: int
    future: Future
    address: str | None = None


class Dispatcher:
    """Sends subtask calls from this worker process to the workers of its cluster."""

    def __init__(self, service: Service):
        self.service = service
        self.worker = service.worker
        self.loop = service.loop
        self._peers: dict[str, int] = {}
        self._peers_at = -math.inf
        self._shunned: dict[str, float] = {}
        self._in_flight: Counter[str] = Counter()
        self._asking: asyncio.Future | None = None
        self._progress: dict[str, list[int]] = {}

    def send(self, payload: bytes, size: int, task_id: str, depth: int) -> Call:
        """Send ``size`` calls pickled in ``payload`` (``depth``: their nesting level); returns at once (thread-safe)."""
        call = Call(uuid.uuid4().hex, size, Future())
        running = asyncio.run_coroutine_threadsafe(self._deliver(call, payload, task_id, depth), self.loop)
        running.add_done_callback(lambda done: self.loop.call_soon_threadsafe(self._settle, call, done, task_id))
        return call

    def _count(self, task_id: str, submitted: int = 0, finished: int = 0) -> None:
        """Add to the compilation's progress; sent to the client at most every :data:`_PROGRESS_EVERY` s (on the loop)."""
        if not self._progress:
            self.loop.call_later(_PROGRESS_EVERY, self._flush)
        counts = self._progress.setdefault(task_id, [0, 0])
        counts[0] += submitted
        counts[1] += finished

    def _flush(self) -> None:
        progress, self._progress = self._progress, {}
        for task_id, (submitted, finished) in progress.items():
            self.worker.log_event(EVENT_TOPIC, {"kind": "subtasks", "task": task_id, "submitted": submitted, "finished": finished})

    def _settle(self, call: Call, done, task_id: str) -> None:
        """Hand the worker's answer (or the failure to deliver) to the call's future (on the loop)."""
        self._count(task_id, finished=call.size)
        if call.future.done():   # cancelled by the caller meanwhile
            return
        if done.cancelled():
            call.future.set_exception(CompilationCanceledError("The subtask was cancelled."))
            return
        error = done.exception()
        if error is not None:
            call.future.set_exception(error)
        else:
            call.future.set_result(done.result())

    def cancel(self, calls: list[Call]) -> None:
        """Ask the workers holding ``calls`` to drop those still queued (fire and forget)."""
        by_worker: dict[str, list[str]] = {}
        for call in calls:
            if call.address is not None:
                by_worker.setdefault(call.address, []).append(call.id)
        for address, ids in by_worker.items():
            asyncio.run_coroutine_threadsafe(self._cancel_on(address, ids), self.loop)

    async def _cancel_on(self, address: str, ids: list[str]) -> None:
        try:
            await getattr(self.worker.rpc(address), CANCEL_HANDLER)(call_ids=ids)
        except OSError:
            pass  # the worker is gone, and its queue with it

    async def _deliver(self, call: Call, payload: bytes, task_id: str, depth: int) -> dict:
        self._count(task_id, submitted=call.size)
        last_error: BaseException | None = None
        for _ in range(ATTEMPTS):
            if call.future.done():   # cancelled by the caller before it left
                return {"status": "cancelled"}
            address = await self._pick(call.size)
            call.address = address
            self._in_flight[address] += call.size
            try:
                if address == self.worker.address:   # its own worker: no connection, no copy of the message
                    return await self.service.run(None, payload, call.id, task_id, depth)
                return await getattr(self.worker.rpc(address), RUN_HANDLER)(
                    payload=payload, call_id=call.id, task_id=task_id, depth=depth)
            except OSError as err:   # Dask's CommClosedError too: the worker went away with the call
                last_error = err
                self._shunned[address] = time.monotonic()
                self._peers_at = -math.inf
            finally:
                self._in_flight[address] -= call.size
        raise CompilerError(f"A subtask could not be delivered to any worker ({ATTEMPTS} attempts); last error: {last_error!r}")

    def threads(self) -> int:
        """Worker threads in the cluster, as the scheduler last said (thread-safe)."""
        asyncio.run_coroutine_threadsafe(self._refresh(), self.loop).result()
        return max(1, sum(self._peers.values()))

    async def _refresh(self) -> None:
        """Ask the scheduler for its workers when the list is older than :data:`_PEERS_TTL` (one question at a time)."""
        if time.monotonic() - self._peers_at <= _PEERS_TTL:
            return
        if self._asking is None:
            self._asking = asyncio.ensure_future(self._ask_scheduler())
        await asyncio.shield(self._asking)

    async def _ask_scheduler(self) -> None:
        try:
            info = await self.worker.scheduler.identity()
            self._peers = {address: w.get("nthreads", 1) for address, w in info.get("workers", {}).items()}
            self._peers_at = time.monotonic()
        finally:
            self._asking = None

    async def _pick(self, size: int) -> str:
        """The worker with the least of this process's work in flight per thread (its own on a tie, counting its busy slots)."""
        await self._refresh()
        now = time.monotonic()
        self._shunned = {a: t for a, t in self._shunned.items() if now - t < _SHUNNED_FOR}
        candidates = [a for a in self._peers if a not in self._shunned] or [self.worker.address]
        here = self.worker.address
        busy_here = max(0, self.service.slots.limit - self.service.slots.free)   # its own worker's slots in use

        def load(address: str) -> tuple[float, bool]:
            work = self._in_flight[address] + size + (busy_here if address == here else 0)
            return work / max(self._peers.get(address, 1), 1), address != here

        return min(candidates, key=load)


def decode(answer: dict) -> list:
    """The results in a worker's answer; a subtask's exception is raised as itself, with its remote traceback."""
    from distributed.core import clean_exception
    from distributed.protocol import Serialize, pickle

    answer = {key: value.data if isinstance(value, Serialize) else value for key, value in answer.items()}   # answered in-process
    status = answer.get("status")
    if status == "OK":
        return pickle.loads(answer["result"])
    if status == "cancelled":
        raise CompilationCanceledError("The subtask was cancelled before it ran.")
    _, error, traceback = clean_exception(**answer)
    raise error.with_traceback(traceback)


_dispatchers: dict[Service, Dispatcher] = {}


def dispatcher_for(service: Service) -> Dispatcher:
    """The dispatcher that sends the subtasks started on ``service``'s worker."""
    if service not in _dispatchers:
        _dispatchers[service] = Dispatcher(service)
    return _dispatchers[service]
