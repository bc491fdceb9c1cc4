"""The host's side of a running chain: one inbox for everything the plugins report.

Plugins (their threads, or the reader thread of the process chain) call
:meth:`HostInbox.receive`. Log records go straight to :mod:`logging` under
the plugin's name (and into a short per-plugin history for the lab view),
counters are kept, the first error ends the simulation, and answers of the
frontend wait in a queue for the host call that asked.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from ..exceptions import ChainPluginError, QlabTimeoutError
from . import protocol as P
from .logs import LogLevel
from .runtime import Counters

__all__ = ["HostInbox", "LOG_HISTORY"]

LOG_HISTORY = 500
"""Log lines kept per plugin for :meth:`Simulation.logs`."""


class HostInbox:
    """Collects what the plugins send to the host.

    Args:
        names: the plugins' instance names, in chain order.
        types: their types (for error messages).
    """

    def __init__(self, names: list[str], types: list[str]):
        self.names = names
        self.types = types
        self.cond = threading.Condition()
        self.messages: deque = deque()
        self.ready: set[int] = set()
        self.meta: dict[int, tuple[str, str, str, str]] = {}
        """index -> (type, name, author, version) each plugin reported when it started."""
        self.failure: ChainPluginError | None = None
        self.logs = [deque(maxlen=LOG_HISTORY) for _ in names]
        self.stats = [Counters() for _ in names]
        self.loggers = [logging.getLogger(name) for name in names]
        self.on_failure: Callable[[], None] | None = None
        self.listeners: list[Callable[[int, str, str], None]] = []

    def receive(self, message: tuple) -> None:
        op = message[0]
        if op == P.P_LOG:
            _, index, level, text = message
            self.loggers[index].log(LogLevel(level).python_level, text)
            self.logs[index].append((time.time(), level, text))
            for listener in list(self.listeners):
                listener(index, level, text)
        elif op == P.P_STATS:
            self.stats[message[1]] = Counters(*message[2])
        elif op == P.P_ERROR:
            _, index, plugin, callback, text = message
            self.fail(plugin, callback, text, index)
        elif op == P.P_READY:
            with self.cond:
                self.meta[message[1]] = tuple(message[2:])
                self.types[message[1]] = message[2]
                self.ready.add(message[1])
                self.cond.notify_all()
        else:
            with self.cond:
                self.messages.append(message)
                self.cond.notify_all()

    def fail(self, plugin: str, callback: str | None, text: str, index: int | None = None) -> None:
        """Record the first failure and tear the chain down."""
        where = f" in {callback}" if callback and callback != "runtime" else ""
        kind = f" ({self.types[self.names.index(plugin)]})" if plugin in self.names else ""
        error = ChainPluginError(f"Plugin {plugin!r}{kind} failed{where}: {text}", plugin=plugin)
        with self.cond:
            if self.failure is not None:
                return
            self.failure = error
            self.cond.notify_all()
        if self.on_failure is not None:
            self.on_failure()

    def raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure

    def next(self, timeout: float | None = None) -> tuple:
        """The next answer of the frontend; raises the chain's failure if there is one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.cond:
            while not self.messages:
                self.raise_failure()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise QlabTimeoutError(f"The chain's frontend did not answer within {timeout} s.")
                self.cond.wait(remaining)
            return self.messages.popleft()

    def wait_ready(self, index: int, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.cond:
            while index not in self.ready:
                self.raise_failure()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise QlabTimeoutError(f"Plugin {self.names[index]!r} did not start within {timeout} s.")
                self.cond.wait(remaining)
