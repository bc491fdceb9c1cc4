"""Calling a function every few seconds on the kernel's event loop, until stopped.

ipykernel runs cells inside its asyncio loop, so a task created there runs
between cells and while the kernel waits, without a thread and without
blocking anything. Where no loop is running (a script, a plain test) nothing
is scheduled and the owner refreshes by hand.

>>> calls = []
>>> refresher = Refresher(lambda: calls.append(1), interval=0.01)
>>> refresher.start()  # no running event loop here
False
"""

from __future__ import annotations

import asyncio
from typing import Callable

__all__ = ["Refresher"]


class Refresher:
    """Runs ``callback()`` every ``interval`` seconds on the running asyncio loop."""

    def __init__(self, callback: Callable[[], None], interval: float):
        self.callback = callback
        self.interval = interval
        self._task: asyncio.Task | None = None

    def start(self) -> bool:
        """Schedule the calls on the running loop; ``False`` when no loop is running."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        self._task = loop.create_task(self._run())
        return True

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.callback()

    @property
    def running(self) -> bool:
        """Whether the calls are scheduled."""
        return self._task is not None and not self._task.done()

    def stop(self) -> None:
        """Stop calling (idempotent)."""
        if self._task is not None:
            self._task.cancel()
