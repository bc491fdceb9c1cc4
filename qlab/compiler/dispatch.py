"""The sending side of subtasks: which worker gets a call, and what happens when a worker is lost.

A :class:`Dispatcher` lives in each worker process. It sends a call (the
function, its argument tuples and the compilation's context, pickled once) to
the worker with the fewest of this process's calls in flight per thread,
preferring its own worker on a tie, and returns a
:class:`concurrent.futures.Future` of the worker's answer. The list of workers
comes from the scheduler (asked again every few seconds and whenever a worker
cannot be reached). A worker lost while it holds a call (killed, crashed, its
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
from .service import CANCEL_HANDLER, RUN_HANDLER, Service

__all__ = ["Dispatcher", "Call", "dispatcher_for", "decode", "ATTEMPTS"]

ATTEMPTS = 5
"""Workers a call is sent to before it is given up as unreachable."""

_PEERS_TTL = 5.0
"""Seconds the list of workers is trusted before the scheduler is asked again."""

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

    def send(self, payload: bytes, size: int, task_id: str) -> Call:
        """Send ``size`` calls pickled in ``payload``; returns at once (thread-safe)."""
        call = Call(uuid.uuid4().hex, size, Future())
        running = asyncio.run_coroutine_threadsafe(self._deliver(call, payload, task_id), self.loop)
        running.add_done_callback(lambda done: _settle(call, done))
        return call

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

    async def _deliver(self, call: Call, payload: bytes, task_id: str) -> dict:
        last_error: BaseException | None = None
        for _ in range(ATTEMPTS):
            if call.future.done():   # cancelled by the caller before it left
                return {"status": "cancelled"}
            address = await self._pick(call.size)
            call.address = address
            self._in_flight[address] += call.size
            try:
                return await getattr(self.worker.rpc(address), RUN_HANDLER)(payload=payload, call_id=call.id, task_id=task_id)
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
        """Ask the scheduler for its workers when the list is older than :data:`_PEERS_TTL`."""
        now = time.monotonic()
        if now - self._peers_at > _PEERS_TTL:
            info = await self.worker.scheduler.identity()
            self._peers = {address: w.get("nthreads", 1) for address, w in info.get("workers", {}).items()}
            self._peers_at = now

    async def _pick(self, size: int) -> str:
        """The worker with the least of this process's work in flight per thread (its own on a tie)."""
        await self._refresh()
        now = time.monotonic()
        self._shunned = {a: t for a, t in self._shunned.items() if now - t < _SHUNNED_FOR}
        candidates = [a for a in self._peers if a not in self._shunned] or [self.worker.address]
        return min(candidates, key=lambda a: ((self._in_flight[a] + size) / max(self._peers.get(a, 1), 1),
                                              a != self.worker.address))


def decode(answer: dict) -> list:
    """The results in a worker's answer; a subtask's exception is raised as itself, with its remote traceback."""
    from distributed.core import clean_exception
    from distributed.protocol import pickle

    status = answer.get("status")
    if status == "OK":
        return pickle.loads(answer["result"])
    if status == "cancelled":
        raise CompilationCanceledError("The subtask was cancelled before it ran.")
    _, error, traceback = clean_exception(**answer)
    raise error.with_traceback(traceback)


def _settle(call: Call, done) -> None:
    """Hand the worker's answer (or the failure to deliver) to the call's future."""
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


_dispatchers: dict[Service, Dispatcher] = {}


def dispatcher_for(service: Service) -> Dispatcher:
    """The dispatcher that sends the subtasks started on ``service``'s worker."""
    if service not in _dispatchers:
        _dispatchers[service] = Dispatcher(service)
    return _dispatchers[service]
