"""Plugins in threads of the host process: mailboxes guarded by condition variables.

Each plugin thread has one :class:`Mailbox` with three queues (requests from
upstream, responses from downstream, messages from the host) and waits only
on its own condition variable. A sender wakes the receiver's condition; a
receiver that frees room in a full request queue wakes the sender's. The
request queue holds at most :data:`~qlab.chain.protocol.WINDOW` batches.
"""

from __future__ import annotations

import threading
from collections import deque

from . import protocol as P
from .runtime import Aborted, PluginRuntime

__all__ = ["Mailbox", "ThreadPort", "ThreadChain"]


class Mailbox:
    """One plugin thread's inbox."""

    __slots__ = ("cond", "requests", "responses", "host", "aborted")

    def __init__(self):
        self.cond = threading.Condition(threading.Lock())
        self.requests: deque = deque()
        self.responses: deque = deque()
        self.host: deque = deque()
        self.aborted = False

    def put(self, queue: deque, item) -> None:
        with self.cond:
            queue.append(item)
            self.cond.notify()

    def abort(self) -> None:
        with self.cond:
            self.aborted = True
            self.cond.notify_all()


class ThreadPort:
    """A plugin thread's connections: its own mailbox and its neighbours'."""

    __slots__ = ("box", "up", "down", "host")

    def __init__(self, box: Mailbox, up: Mailbox | None, down: Mailbox | None, host):
        self.box, self.up, self.down, self.host = box, up, down, host

    def has_credit(self) -> bool:
        return len(self.down.requests) < P.WINDOW

    def has_responses(self) -> bool:
        return bool(self.box.responses)

    def has_requests(self) -> bool:
        return bool(self.box.requests)

    def wait(self, requests: bool, responses: bool, host: bool, credit: bool) -> None:
        box = self.box
        with box.cond:
            while True:
                if box.aborted:
                    raise Aborted
                if (requests and box.requests) or (responses and box.responses) or (host and box.host):
                    return
                if credit and len(self.down.requests) < P.WINDOW:
                    return
                box.cond.wait()

    def pop_requests(self):
        queue = self.box.requests
        if not queue:
            return None
        batch = queue.popleft()
        if len(queue) == P.WINDOW - 1 and self.up is not None:
            with self.up.cond:
                self.up.cond.notify()
        return batch

    def pop_responses(self):
        queue = self.box.responses
        return queue.popleft() if queue else None

    def pop_host(self):
        queue = self.box.host
        return queue.popleft() if queue else None

    def send_down(self, batch: list) -> None:
        self.down.put(self.down.requests, batch)

    def send_up(self, batch: list) -> None:
        self.up.put(self.up.responses, batch)

    def to_host(self, message: tuple) -> None:
        self.host.receive(message)

    def stats(self, index, counters) -> None:
        """Counters are read directly from the runtimes in thread mode."""


class ThreadChain:
    """Starts the plugins of a simulation as threads and connects them.

    Args:
        runtimes_args: per plugin, the keyword arguments of :class:`PluginRuntime` except ``port``.
        host: the simulation's host inbox (``receive(message)``).
    """

    def __init__(self, runtimes_args: list[dict], host):
        n = len(runtimes_args)
        self.host = host
        self.boxes = [Mailbox() for _ in range(n)]
        self.runtimes = []
        for i, kwargs in enumerate(runtimes_args):
            port = ThreadPort(self.boxes[i], self.boxes[i - 1] if i > 0 else None, self.boxes[i + 1] if i + 1 < n else None, host)
            self.runtimes.append(PluginRuntime(port=port, **kwargs))
        self.threads = [
            threading.Thread(target=rt.serve, name=f"qlab-chain-{rt.name}", daemon=True) for rt in self.runtimes
        ]

    def start(self) -> None:
        """Start the backend first, then upstream plugins, each after the one below is initialised."""
        for i in reversed(range(len(self.threads))):
            self.threads[i].start()
            self.host.wait_ready(i)

    def to_frontend(self, message: tuple) -> None:
        box = self.boxes[0]
        box.put(box.host, message)

    def counters(self, index: int):
        return self.runtimes[index].counters

    def abort(self) -> None:
        for box in self.boxes:
            box.abort()

    def join(self, timeout: float) -> None:
        for t in self.threads:
            if t.is_alive() and t is not threading.current_thread():
                t.join(timeout)
