"""A lab view of an emulator: its pipeline with live metrics, and the per-shot results.

``EmulatorView(emulator)`` shows the program -> runtime -> error model ->
simulator pipeline (each plugin's name and parameters), a status line and the
per-shot results table. ``view.show(result)`` fills in a finished run (the
mean of every metric goes into its plugin's box); ``view.watch(job)`` follows
a job of :meth:`qlab.emulator.Emulator.submit` from the kernel's event loop:
each :meth:`~EmulatorView.refresh` shows the shot count and the metrics the
running job last published (``job.metrics()``, every 1000 shots or half
second), and the results table once it is done. Every part is a line of
Python away: ``qlab.emulator.result.pipeline_html``, ``result.metrics_summary()``,
``result.df()``.

>>> from qlab.emulator import Emulator
>>> def flip(ctx):
...     q = ctx.qalloc(); ctx.x(q); ctx.result("m", ctx.measure(q))
>>> emulator = Emulator(1)
>>> view = EmulatorView(emulator, emulator.run(flip, shots=5, seed=1))
>>> "rxy_count" in view.diagram.value and "<table" in view.table.value
True
"""

from __future__ import annotations

import asyncio
import html

import ipywidgets as widgets

from ..emulator.result import pipeline_html

__all__ = ["EmulatorView"]


class EmulatorView(widgets.VBox):
    """The pipeline diagram, a status line and the results table of an emulator.

    Args:
        emulator: the :class:`qlab.emulator.Emulator` to show.
        result: a finished run to show at once (optional).
        rows: how many shots the table lists.
    """

    def __init__(self, emulator, result=None, *, rows: int = 20):
        self.emulator = emulator
        self.rows = rows
        self.diagram = widgets.HTML(pipeline_html(emulator))
        self.status = widgets.HTML("<i>no run yet</i>")
        self.table = widgets.HTML("")
        self.metrics = None
        """The metrics summary the diagram shows (a DataFrame), or ``None``."""
        self.job = None
        """The job :meth:`watch` follows."""
        self._shown = 0
        self._task: asyncio.Task | None = None
        super().__init__([self.diagram, self.status, self.table])
        if result is not None:
            self.show(result)

    def show(self, result) -> None:
        """Show a finished :class:`~qlab.emulator.result.EmulatorResult`."""
        self.metrics = result.metrics_summary()
        self.diagram.value = pipeline_html(self.emulator, self.metrics)
        self.status.value = html.escape(repr(result))
        self.table.value = result.df().head(self.rows).to_html(index=False)

    def refresh(self) -> bool:
        """Show the watched job's progress and latest metrics; ``True`` once it finished (its result shown).

        Cheap and non-blocking: it reads the job's status and its published snapshot.
        """
        job = self.job
        if job is None:
            return True
        record = job.store.get(job.id)
        if record.status.finished:
            self._finish(job, record)
            return True
        snapshot = job.metrics()
        if snapshot.shots != self._shown:
            self.metrics, self._shown = snapshot.summary(), snapshot.shots
            self.diagram.value = pipeline_html(self.emulator, self.metrics)
        shots = job.record.parameters["shots"]
        self.status.value = (f"job {html.escape(job.id[:8])}: {record.status.value}, {job.shots_done} of {shots} shots"
                             f" (metrics of {snapshot.shots})")
        return False

    def watch(self, job, interval: float = 0.25):
        """Follow a running job on the kernel's event loop; outside one, wait for it and print a summary."""
        self.job, self.metrics, self._shown = job, None, 0
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            job.wait()
            self.refresh()
            print(self.status.value)
            return None
        self._task = loop.create_task(self._follow(interval))
        return self._task

    async def _follow(self, interval: float) -> None:
        while not self.refresh():
            await asyncio.sleep(interval)

    def _finish(self, job, record) -> None:
        if record.status.value == "done":
            self.show(job.result(timeout=5))
        else:
            self.status.value = f"job {html.escape(job.id[:8])}: {record.status.value} ({html.escape(record.error or '')})"

    def close(self) -> None:
        """Stop following a job and close the widgets."""
        if self._task is not None:
            self._task.cancel()
        super().close()
