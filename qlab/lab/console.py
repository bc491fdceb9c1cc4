"""``DeviceConsole``: one device in five tabs (Overview, Calibration, Topology, Submit, Jobs).

The console reads the device through :func:`qlab.lab.device_specs`, so it
works for a QDMI device, a description, a catalog id, or any family's object
with ``get_specs()``, a QPU of :mod:`qlab.qpu` included (local or remote).
The Submit tab sends the program through a *submit target*: a device that
creates jobs QDMI-style (``create_job()``, ``set_parameter``, ``submit``), or
a QPU, whose ``submit(Job(circuit, nbshots=shots))`` runs on a worker thread
so the kernel stays free. The Jobs tab needs a job store (a device's
``session.store``, a :class:`~qlab.qpu.DeviceQPU`'s store); for a static
description those tabs say so.

Errors (a QASM syntax error with its line, zero or too many shots, a bad
seed, a job that fails, a closed session) appear inside the Submit tab next
to the form; nothing is raised into the cell.

>>> console = DeviceConsole("training5")
>>> [console.tabs.get_title(i) for i in range(len(console.tabs.children))]
['Overview', 'Calibration', 'Topology', 'Submit', 'Jobs']
>>> console.close()
"""

from __future__ import annotations

import html
import itertools
from concurrent.futures import Future, ThreadPoolExecutor

import ipywidgets as widgets

from .._html import frame_table, key_value_table
from ..exceptions import QlabError
from ..jobs import JobStatus
from .plots import SITE_PROPERTIES, plot_calibration, plot_coupling_map
from .queue import DEFAULT_INTERVAL, JobQueue
from .refresh import Refresher
from .specs import device_specs
from .views import Png, error_html, figure_png, histogram_png, result_html

__all__ = ["DeviceConsole", "EXAMPLES", "TABS"]

TABS = ("Overview", "Calibration", "Topology", "Submit", "Jobs")

EXAMPLES = {
    "Bell pair": 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n',
    "GHZ, 3 qubits": (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\nh q[0];\ncx q[0], q[1];\ncx q[1], q[2];\n'
        "measure q -> c;\n"
    ),
    "X on qubit 1": 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\nx q[1];\nc = measure q;\n',
    "superposition": 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit q;\nbit c;\nh q;\nc = measure q;\n',
}
"""Ready programs for the Submit tab: name -> OpenQASM text."""

_BADGE = {"unknown": "#868e96", "idle": "#2b8a3e", "busy": "#1c7ed6", "offline": "#868e96", "maintenance": "#e67700",
          "calibration": "#e67700", "error": "#a4161a"}


class DeviceConsole(widgets.VBox):
    """A device's overview, calibration, coupling map, a QASM submit form and its jobs.

    Args:
        device: a QDMI device, a description, a catalog id, or an object with ``get_specs()``.
        interval: seconds between refreshes of the status badge, the job table and a pending result.
    """

    def __init__(self, device, interval: float = DEFAULT_INTERVAL):
        self.device = device
        self.specs = device_specs(device)
        self.target = _submit_target(device)
        """How the Submit tab submits (``None``: it cannot)."""
        self.pending = None
        """The last job submitted from the Submit tab, until its result is shown."""
        self.header = widgets.HTML()
        self.overview = widgets.HTML()
        self.tabs = widgets.Tab(children=[
            self.overview, self._calibration_tab(), self._topology_tab(), self._submit_tab(), self._jobs_tab(interval),
        ])
        for i, title in enumerate(TABS):
            self.tabs.set_title(i, title)
        super().__init__([self.header, self.tabs])
        self.add_class("qlab-console")
        self.result_image.add_class("qlab-result-image")
        self.refresh()
        self.refresher = Refresher(self.refresh, interval)
        self.refresher.start()

    # ------------------------------------------------------------ tabs
    def _calibration_tab(self) -> widgets.Widget:
        s = self.specs
        sites = s.sites.assign(t1_us=s.sites["t1"] * 1e6, t2_us=s.sites["t2"] * 1e6, x_um=s.sites["x"] * 1e6,
                               y_um=s.sites["y"] * 1e6)[["site", "t1_us", "t2_us", "readout_fidelity", "x_um", "y_um"]]
        gates = s.gates.assign(duration_ns=s.gates["duration"] * 1e9)[["gate", "sites", "duration_ns", "fidelity"]]
        tables = widgets.HTML(
            "<div style='display:flex;gap:2em;flex-wrap:wrap'><div>"
            + frame_table(sites.round(4), caption="sites (µs, µm)") + "</div><div style='max-height:24em;overflow:auto'>"
            + frame_table(gates.round(6), caption="operations (ns)") + "</div></div>"
        )
        images = []
        for what in ("coherence", "readout", "gates"):
            try:
                images.append(Png(figure_png(lambda ax, w=what: plot_calibration(s, w, ax=ax), (7, 3))))
            except QlabError as err:
                images.append(widgets.HTML(f"<p>{html.escape(str(err))}</p>"))
        return widgets.VBox([tables, *images])

    def _topology_tab(self) -> widgets.Widget:
        self.color_by = widgets.Dropdown(options=list(SITE_PROPERTIES), value="t1", description="colour sites by")
        self.color_by.style.description_width = "8em"
        self.topology = Png()
        self.color_by.observe(lambda _c: self._draw_topology(), names="value")
        self._draw_topology()
        return widgets.VBox([self.color_by, self.topology])

    def _draw_topology(self) -> None:
        self.topology.value = figure_png(lambda ax: plot_coupling_map(self.specs, ax=ax, color_by=self.color_by.value),
                                         (7, 5))

    def _submit_tab(self) -> widgets.Widget:
        self.example = widgets.Dropdown(options=list(EXAMPLES), value="Bell pair", description="example")
        self.program = widgets.Textarea(value=EXAMPLES["Bell pair"], layout=widgets.Layout(width="40em", height="14em"))
        self.shots = widgets.IntText(value=1000, description="shots")
        self.seed = widgets.Text(value="", placeholder="random", description="seed")
        self.submit_button = widgets.Button(description="Submit", button_style="primary", icon="play")
        self.submit_message = widgets.HTML()
        self.result_image = Png()
        self.result_table = widgets.HTML()
        self.example.observe(lambda c: setattr(self.program, "value", EXAMPLES[c["new"]]), names="value")
        self.submit_button.on_click(lambda _b: self.submit())
        if isinstance(self.target, _QPUTarget):
            self.seed.disabled, self.seed.placeholder = True, "set on the QPU"
        if self.target is None:
            self.submit_button.disabled = True
            self.submit_message.value = ("<p>This is a description, not a running device: open it in a session "
                                         "(<code>Session().device(id)</code>) to submit jobs.</p>")
        form = widgets.VBox([self.example, self.program, widgets.HBox([self.shots, self.seed]), self.submit_button])
        return widgets.VBox([form, self.submit_message, self.result_image, self.result_table])

    def _jobs_tab(self, interval: float) -> widgets.Widget:
        source = self.target.job_source() if self.target is not None else None
        if source is None:
            self.jobs = None
            return widgets.HTML("<p>No job store: this device is not open in a session.</p>")
        store, device = source
        self.jobs = JobQueue(store, sources=[device], device=self.specs.id, interval=interval)
        return self.jobs

    # ------------------------------------------------------------ actions
    def submit(self):
        """Submit the form's program; return the job, or ``None`` after showing why it was refused.

        On a device the job is its QDMI job; on a QPU it is a handle whose ``result()`` is the
        :class:`~qlab.qpu.Result` (``shots`` 0 asks a QPU for exact probabilities).
        """
        self.result_image.value, self.result_table.value = b"", ""
        try:
            job = self.target.submit(self.program.value, self.shots.value, self.seed.value)
        except QlabError as err:
            self.submit_message.value = error_html("The job was not submitted", err)
            return None
        self.pending = job
        self.submit_message.value = f"<p>Submitted job <code>{html.escape(job.id)}</code>; its result opens here.</p>"
        if self.jobs is not None:
            self.jobs.refresh()
        return job

    def refresh(self) -> None:
        """Update the status badge and the overview, and show the pending job's result once it finished."""
        status, _ = self.specs.now()
        colour = _BADGE.get(status, "#a4161a")
        self.header.value = (f"<h3 style='margin:0'>{html.escape(self.specs.name)} <code>{html.escape(self.specs.id)}</code> "
                             f"<span style='background:{colour};color:white;border-radius:4px;padding:1px 6px;"
                             f"font-size:0.8em'>{html.escape(status.upper())}</span></h3>")
        self.overview.value = key_value_table(self.specs.overview(), caption="device")
        job = self.pending
        if job is None:
            return
        try:
            state = job.check()
        except QlabError as err:
            self.submit_message.value = error_html(f"Job {job.id}", err)
            self.pending = None
            return
        if state.name not in ("DONE", "FAILED", "CANCELED"):
            return
        self.pending = None
        if state.name == "DONE":
            counts = job.counts()
            self.result_image.value = histogram_png(counts, title=f"{self.specs.id} · job {job.id[:8]}")
            self.result_table.value = result_html(counts)
            self.submit_message.value = f"<p>Job <code>{html.escape(job.id)}</code> is DONE.</p>"
        else:
            self.submit_message.value = error_html(f"Job {job.id} {state.name}", self.target.failure(job))

    def close(self) -> None:
        """Stop refreshing and close the console (and its job table and submit thread)."""
        self.refresher.stop()
        if self.jobs is not None:
            self.jobs.close()
        if self.target is not None:
            self.target.close()
        super().close()


# ------------------------------------------------------------ submit targets
# A submit target turns the form into a job handle the console polls: the handle has ``id``,
# ``check()`` (a status named DONE, FAILED, CANCELED, or anything else while it runs) and
# ``counts()`` once DONE; ``failure(handle)`` says why one failed, ``job_source()`` names the
# job store and the device whose jobs the Jobs tab lists.


def _submit_target(device):
    """The submit target for ``device``: a QDMI-style device, a QPU, or ``None`` (nothing to submit to)."""
    from ..qpu import QPUHandler

    if isinstance(device, QPUHandler):
        return _QPUTarget(device)
    if callable(getattr(device, "create_job", None)):
        return _QDMITarget(device)
    return None


class _QDMITarget:
    """Jobs created, parametrised and queued on a QDMI-style device; the handles are its jobs."""

    def __init__(self, device):
        self.device = device

    def submit(self, program: str, shots: int, seed_text: str):
        from ..qdmi import JobParameter

        seed = _seed(seed_text)
        job = self.device.create_job()
        job.set_parameter(JobParameter.PROGRAMFORMAT, "qasm3" if program.lstrip().startswith("OPENQASM 3") else "qasm2")
        job.set_parameter(JobParameter.PROGRAM, program)
        job.set_parameter(JobParameter.SHOTSNUM, shots)
        if seed is not None:
            job.set_parameter(JobParameter.SEED, seed)
        job.submit()
        return job

    def failure(self, job) -> QlabError:
        record = job.record
        return QlabError((record.error if record is not None else None) or "no reason recorded")

    def job_source(self):
        store = getattr(getattr(self.device, "session", None), "store", None)
        return None if store is None else (store, self.device)

    def close(self) -> None:
        """Nothing to release: the device's session owns its queue."""


class _QPUTarget:
    """``qpu.submit(Job(circuit, nbshots=shots))`` on one worker thread, so the kernel never waits on it."""

    def __init__(self, qpu):
        self.qpu = qpu
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qlab-console-qpu")
        self._numbers = itertools.count(1)

    def submit(self, program: str, shots: int, seed_text: str) -> _QPUSubmission:
        from ..circuit import load_qasm
        from ..qpu import Job

        job = Job(load_qasm(program), nbshots=shots)
        return _QPUSubmission(f"qpu-{next(self._numbers)}", self._pool.submit(self.qpu.submit, job))

    def failure(self, job: _QPUSubmission) -> BaseException:
        return job.future.exception()

    def job_source(self):
        from ..qpu import DeviceQPU, PluginStack

        base = self.qpu.qpu if isinstance(self.qpu, PluginStack) else self.qpu
        return (base.store, base.device) if isinstance(base, DeviceQPU) else None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class _QPUSubmission:
    """A QPU job submitted from the console: its :class:`~qlab.qpu.Result` once the worker thread is done."""

    def __init__(self, id: str, future: Future):
        self.id = id
        """The console's number for the job."""
        self.future = future
        """The running ``qpu.submit`` call."""

    def check(self) -> JobStatus:
        """RUNNING, DONE, FAILED (the QPU raised) or CANCELED (the console closed first)."""
        if not self.future.done():
            return JobStatus.RUNNING
        if self.future.cancelled():
            return JobStatus.CANCELED
        return JobStatus.FAILED if self.future.exception() is not None else JobStatus.DONE

    def result(self):
        """The QPU's :class:`~qlab.qpu.Result` (waits for it)."""
        return self.future.result()

    def counts(self):
        """The result's outcomes as a :class:`~qlab.sim.plotting.Distribution` (exact when ``shots`` is 0)."""
        from ..sim.plotting import as_distribution

        return as_distribution(self.result())

    def __repr__(self) -> str:
        return f"<_QPUSubmission {self.id} {self.check().name}>"


def _seed(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise QlabError(f"The seed must be a whole number >= 0 or empty (random), got {text!r}.") from None
    if value < 0:
        raise QlabError(f"The seed must be a whole number >= 0 or empty (random), got {value}.")
    return value
