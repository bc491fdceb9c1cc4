"""``JobQueue``: every job in the store as a live table, for every family.

The table reads the job store (:mod:`qlab.jobs`), so it shows the jobs of
every family (the store's ``family`` column) and of every process writing to
the same store file. Refreshing happens on the kernel's own event loop: an
``asyncio`` task sleeps :attr:`JobQueue.interval` seconds (1 s by default)
between two reads of the store, never blocks the kernel, and ends when the
widget is closed. Outside a running event loop (a script, a test) the table
is refreshed by calling :meth:`JobQueue.refresh`, and printing it gives a
plain-text table.

Cancelling a row and opening its result need a live handle on the job: give
the objects that can retrieve jobs by id as ``sources`` (a QDMI ``Session``,
a device with ``retrieve_job``, or any family's object with
``device(id).retrieve_job(job_id)``). Results are read from the store alone.

>>> from qlab.jobs import JobRecord, JobStore
>>> store = JobStore(":memory:")
>>> store.add(JobRecord.new("qdmi", "training5", "OPENQASM 2.0;", "qasm2", {"shots": 100}, id="job-a"))
>>> table = JobQueue(store)
>>> table.rows()[["id", "family", "device", "status", "shots"]].to_dict("records")
[{'id': 'job-a', 'family': 'qdmi', 'device': 'training5', 'status': 'created', 'shots': 100}]
>>> table.close()
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import ipywidgets as widgets
import pandas as pd

from ..exceptions import QlabError
from ..jobs import JobRecord, JobStatus, default_store
from .refresh import Refresher
from .views import Png, counts_of_record, error_html, format_time, histogram_png, result_html

__all__ = ["JobQueue", "DEFAULT_INTERVAL", "COLUMNS"]

DEFAULT_INTERVAL = 1.0
"""Seconds between two reads of the store while the table is shown."""

COLUMNS = ["id", "family", "device", "status", "shots", "program", "submitted", "queued_s", "running_s"]
"""The table's columns; times are UTC, ``queued_s`` and ``running_s`` are seconds spent in each state."""

_ALL = "all"
_WIDTHS = ["6.5em", "5.5em", "7em", "6.5em", "4.5em", "15em", "6em", "6em", "6em"]


class JobQueue(widgets.VBox):
    """A live table of the jobs in a store, with filters, a cancel button per row and a result view.

    Args:
        store: the :class:`qlab.jobs.JobStore` (default: the user's store).
        sources: objects that retrieve live jobs by id, for cancelling (see the module doc).
        device: show only this device's jobs (the filter starts there).
        family: show only this family's jobs.
        status: show only jobs in this status.
        interval: seconds between refreshes while shown.
        max_rows: the newest rows shown (older jobs stay in the store and in :meth:`rows`).
    """

    refresher: Refresher | None = None
    _closed = False

    def __init__(self, store=None, *, sources: Iterable = (), device: str | None = None, family: str | None = None,
                 status: str | None = None, interval: float = DEFAULT_INTERVAL, max_rows: int = 50):
        self._rows: dict[str, tuple[widgets.HBox, list[widgets.HTML], widgets.Button]] = {}
        if not interval > 0:
            raise QlabError(f"JobQueue: interval must be a positive number of seconds, got {interval!r}.")
        self.store = default_store() if store is None else store
        self.sources = list(sources)
        self.interval = float(interval)
        self.max_rows = max_rows
        self.device_filter = widgets.Dropdown(description="device", options=[_ALL], value=_ALL)
        self.family_filter = widgets.Dropdown(description="family", options=[_ALL], value=_ALL)
        self.status_filter = widgets.Dropdown(description="status", options=[_ALL, *[s.value for s in JobStatus]],
                                              value=status or _ALL)
        for box in (self.device_filter, self.family_filter, self.status_filter):
            box.layout.width = "14em"
            box.style.description_width = "4em"
        self.message = widgets.HTML()
        self.summary = widgets.HTML()
        self.body = widgets.VBox()
        self.result_title = widgets.HTML()
        self.result_image = Png()
        self.result_table = widgets.HTML()
        self.selected: str | None = None
        self.refresher = Refresher(self.refresh, self.interval)
        """Calls :meth:`refresh` every :attr:`interval` seconds while the kernel's event loop runs."""
        self._closed = False
        header = widgets.HBox([_cell(f"<b>{name}</b>", w) for name, w in zip(COLUMNS, _WIDTHS)])
        super().__init__([
            widgets.HBox([self.device_filter, self.family_filter, self.status_filter]),
            self.summary, header, self.body, self.message,
            widgets.VBox([self.result_title, self.result_image, self.result_table]),
        ])
        for box, value in ((self.device_filter, device), (self.family_filter, family)):
            if value is not None:
                box.options, box.value = [_ALL, value], value
        for box in (self.device_filter, self.family_filter, self.status_filter):
            box.observe(lambda _change: self.refresh(), names="value")
        self.add_class("qlab-job-queue")
        self.refresh()
        self.refresher.start()

    # ------------------------------------------------------------ data
    def rows(self) -> pd.DataFrame:
        """The jobs the filters select, newest last, with :data:`COLUMNS` (all of them, not only ``max_rows``)."""
        def chosen(box):
            return None if box.value == _ALL else box.value

        records = self.store.list(device=chosen(self.device_filter), family=chosen(self.family_filter),
                                  status=chosen(self.status_filter))
        return pd.DataFrame([_row(r) for r in records], columns=COLUMNS)

    def refresh(self) -> None:
        """Read the store again and update filters, rows, and the open result."""
        if self._closed:
            return
        try:
            everything = self.store.df()
        except QlabError as err:
            self.message.value = error_html("Reading the job store failed", err)
            return
        for box, column in ((self.device_filter, "device"), (self.family_filter, "family")):
            options = [_ALL, *sorted(set(everything[column]) | ({box.value} - {_ALL}))]
            if list(box.options) != options:
                box.options = options
        table = self.rows()
        shown = table.tail(self.max_rows)
        counts = table["status"].value_counts()
        self.summary.value = (f"{len(table)} job(s) shown of {len(everything)} in the store; "
                              + ", ".join(f"{k}: {v}" for k, v in counts.items()) + " · times UTC")
        keep = set(shown["id"])
        for job_id in [j for j in self._rows if j not in keep]:
            box, _, _ = self._rows.pop(job_id)
            box.close()
        for values in shown.to_dict("records"):
            self._update_row(values)
        self.body.children = [self._rows[j][0] for j in shown["id"]]
        if self.selected is not None and not self.result_image.value and self.selected in keep:
            self.show(self.selected)

    def _update_row(self, values: dict) -> None:
        job_id = values["id"]
        if job_id not in self._rows:
            cells = [_cell("", w) for w in _WIDTHS]
            cancel = widgets.Button(description="cancel", layout=widgets.Layout(width="5.5em"),
                                    tooltip=f"cancel job {job_id}")
            view = widgets.Button(description="view", layout=widgets.Layout(width="4.5em"),
                                  tooltip=f"show the result of job {job_id}")
            cancel.on_click(lambda _b, j=job_id: self.cancel(j))
            view.on_click(lambda _b, j=job_id: self.show(j))
            row = widgets.HBox([*cells, cancel, view])
            row.add_class("qlab-job-row")
            self._rows[job_id] = (row, cells, cancel)
        _, cells, cancel = self._rows[job_id]
        for cell, name in zip(cells, COLUMNS):
            text = _one_line(_format(name, values[name]))
            if cell.value != text:
                cell.value = text
        cancel.disabled = JobStatus(values["status"]).finished

    # ------------------------------------------------------------ actions
    def cancel(self, job_id: str) -> None:
        """Cancel a job through its live handle; a failure is shown in the widget."""
        try:
            self._handle(job_id).cancel()
            self.message.value = f"<p>Canceled job {html.escape(job_id)}.</p>"
        except QlabError as err:
            self.message.value = error_html(f"Cancelling job {job_id}", err)
        self.refresh()

    def show(self, job_id: str) -> None:
        """Show a job's result (histogram and table), or why it has none."""
        self.selected = job_id
        self.result_image.value = b""
        try:
            record = self.store.get(job_id)
        except QlabError as err:
            self.result_title.value = error_html(f"Job {job_id}", err)
            return
        self.result_title.value = f"<b>job {html.escape(job_id)}</b> on {html.escape(record.device)}: {record.status.value}"
        if record.status is JobStatus.FAILED:
            self.result_table.value = error_html(f"Job {job_id} failed", QlabError(record.error or "no reason recorded"))
            return
        if record.status is not JobStatus.DONE:
            self.result_table.value = "<p>No result yet: it opens here when the job is done.</p>"
            return
        try:
            counts = counts_of_record(record)
            self.result_image.value = histogram_png(counts, title=f"{record.device} · {job_id[:8]}")
            self.result_table.value = result_html(counts)
        except QlabError as err:
            self.result_table.value = error_html(f"Reading the result of job {job_id}", err)

    def _handle(self, job_id: str):
        record = self.store.get(job_id)
        for source in self.sources:
            if callable(getattr(source, "retrieve_job", None)) and getattr(source, "id", None) == record.device:
                return source.retrieve_job(job_id)
            if callable(getattr(source, "device", None)):
                try:
                    return source.device(record.device).retrieve_job(job_id)
                except QlabError:
                    continue
        raise QlabError(
            f"No live handle on job {job_id!r} ({record.family} on {record.device!r}) here: "
            "pass the session or device that runs it as JobQueue(sources=[...])."
        )

    # ------------------------------------------------------------ life cycle
    @property
    def running(self) -> bool:
        """Whether the table refreshes itself."""
        return self.refresher.running

    def close(self) -> None:
        """Stop refreshing and close the widget and its rows."""
        self._closed = True
        if self.refresher is not None:
            self.refresher.stop()
        for box, _, _ in self._rows.values():
            box.close()
        self._rows.clear()
        super().close()

    def __repr__(self) -> str:
        table = self.rows()
        if table.empty:
            return "JobQueue: no jobs"
        return "JobQueue (times UTC)\n" + table.assign(program=table["program"].map(_short)).to_string(index=False)


def _row(record: JobRecord) -> dict:
    t = record.timestamps
    queued, running = t.get("queued"), t.get("running")
    end = next((t[s] for s in ("done", "canceled", "failed") if s in t), None)
    return {
        "id": record.id, "family": record.family, "device": record.device, "status": record.status.value,
        "shots": record.parameters.get("shots"), "program": record.program, "submitted": t.get("submitted"),
        "queued_s": _span(queued, running or end), "running_s": _span(running, end),
    }


def _span(start: float | None, stop: float | None) -> float | None:
    return None if start is None or stop is None else stop - start


def _short(program: str) -> str:
    lines = [line.strip() for line in program.splitlines() if line.strip() and not line.strip().startswith(("OPENQASM", "include"))]
    text = " ".join(lines)
    return text if len(text) <= 32 else text[:31] + "…"


def _format(name: str, value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if name == "submitted":
        return format_time(value)
    if name.endswith("_s"):
        return f"{value:.2f}"
    if name == "id":
        return f"<code title='{html.escape(value)}'>{html.escape(value[:8])}</code>"
    if name == "program":
        return f"<span title='{html.escape(value)}'>{html.escape(_short(value))}</span>"
    if name == "status":
        colour = {"done": "#2b8a3e", "failed": "#a4161a", "canceled": "#868e96", "running": "#1c7ed6"}.get(value, "#e67700")
        return f"<span style='color:{colour};font-weight:bold'>{html.escape(value.upper())}</span>"
    return html.escape(str(value))


def _cell(text: str, width: str) -> widgets.HTML:
    return widgets.HTML(_one_line(text), layout=widgets.Layout(width=width, overflow="hidden"))


def _one_line(text: str) -> str:
    return f"<div style='white-space:nowrap;overflow:hidden;text-overflow:ellipsis'>{text}</div>"
