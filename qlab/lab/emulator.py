"""A lab view of an emulator: its pipeline with live metrics, and the per-shot results.

``EmulatorView(emulator)`` shows the program -> runtime -> error model ->
simulator pipeline (each plugin's name and parameters), a status line and the
per-shot results table. ``view.show(result)`` fills in a finished run (the
mean of every metric goes into its plugin's box); ``view.watch(job)`` follows
a job of :meth:`qlab.emulator.Emulator.submit` from the kernel's event loop,
updating the shot count as it runs and the metrics when it is done. Every
part is a line of Python away: ``qlab.emulator.result.pipeline_html``,
``result.metrics_summary()``, ``result.df()``.

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
        self._task: asyncio.Task | None = None
        super().__init__([self.diagram, self.status, self.table])
        if result is not None:
            self.show(result)

    def show(self, result) -> None:
        """Show a finished :class:`~qlab.emulator.result.EmulatorResult`."""
        self.diagram.value = pipeline_html(self.emulator, result.metrics_summary())
        self.status.value = html.escape(repr(result))
        self.table.value = result.df().head(self.rows).to_html(index=False)

    def _progress(self, job) -> None:
        shots = job.record.parameters["shots"]
        self.status.value = f"job {html.escape(job.id[:8])}: {job.status().value}, {job.shots_done} of {shots} shots"

    def watch(self, job, interval: float = 0.25):
        """Follow a running job on the kernel's event loop; outside one, wait for it and print a summary."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            job.wait()
            self._finish(job)
            print(self.status.value)
            return None
        self._task = loop.create_task(self._follow(job, interval))
        return self._task

    async def _follow(self, job, interval: float) -> None:
        while not job.status().finished:
            self._progress(job)
            await asyncio.sleep(interval)
        self._finish(job)

    def _finish(self, job) -> None:
        record = job.store.get(job.id)
        if record.status.value == "done":
            self.show(job.result(timeout=5))
        else:
            self.status.value = f"job {html.escape(job.id[:8])}: {record.status.value} ({html.escape(record.error or '')})"

    def close(self) -> None:
        """Stop following a job and close the widgets."""
        if self._task is not None:
            self._task.cancel()
        super().close()
