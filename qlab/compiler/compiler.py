"""The client side: :class:`Compiler`, :class:`CompilationTask` and :class:`CompilationResult`.

A :class:`Compiler` runs compilations on a Dask cluster. Without an address
it starts a local cluster of worker processes on first use (ephemeral ports,
so any number of compilers can run side by side) and shuts it down on
:meth:`Compiler.close` or at the end of a ``with`` block. With an address it
connects to a scheduler started with Dask's own commands::

    dask scheduler --host 127.0.0.1 --port 8786
    dask worker tcp://127.0.0.1:8786 --nthreads 1      # on every node, as often as wanted

Every compilation is a job of family ``compiler`` in the job store, with its
passes, timings and two-qubit gate counts.

>>> from qlab import Circuit
>>> from qlab.compiler import Compiler, Target
>>> Compiler(num_workers=2, store=":memory:")
Compiler(num_workers=2)
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape

import pandas as pd

from ..circuit import Circuit
from ..devices.natives import unroll
from ..exceptions import (
    CompilationCanceledError,
    CompilerError,
    JobNotFoundError,
    JobStateError,
    QlabError,
    QlabTimeoutError,
    QlabTypeError,
)
from ..jobs import JobRecord, JobStatus, JobStore, default_store
from .execution import run_compilation
from .passes import WORK_GATES, VerifyEquivalence, cx_count, optimization_passes
from .runtime import EVENT_TOPIC, client_log_level, forward_record
from .target import Target, as_target

__all__ = ["Compiler", "CompilationTask", "CompilationResult"]

log = logging.getLogger(__name__)

_FINISH_GRACE = 5.0
"""Seconds a finished compilation waits for its last events (logs) to arrive."""


@dataclass(frozen=True)
class CompilationTask:
    """A circuit, the passes to run on it, and the target.

    Args:
        circuit: the program.
        passes: objects with ``run(circuit, data) -> circuit``, run in order.
        target: a :class:`Target`, a qlab device (or its description), a coupling
            map (pairs), or ``None`` for all-to-all on the circuit's qubits.
        seed: seed for randomised passes (routing).

    >>> from qlab import Circuit
    >>> from qlab.compiler.passes import optimization_passes
    >>> CompilationTask(Circuit(2).cx(0, 1), optimization_passes(0)).target
    Target(2, name='all-to-all')
    """

    circuit: Circuit
    passes: tuple
    target: Target | None = None
    seed: int | None = None

    def __post_init__(self):
        if not isinstance(self.circuit, Circuit):
            raise QlabTypeError(f"CompilationTask needs a qlab Circuit, got {type(self.circuit).__name__}.")
        if callable(getattr(self.passes, "run", None)) or not isinstance(self.passes, Iterable):
            raise QlabTypeError(f"CompilationTask: passes must be a list of passes, got {self.passes!r}; "
                                "wrap a single pass in a list.")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0):
            raise QlabTypeError(f"CompilationTask: seed must be None or an int >= 0, got {self.seed!r}.")
        passes = tuple(self.passes)
        for i, p in enumerate(passes):
            if not callable(getattr(p, "run", None)):
                raise QlabTypeError(f"Pass {i} ({p!r}) has no run(circuit, data) method.")
        object.__setattr__(self, "passes", passes)
        object.__setattr__(self, "target", as_target(self.target, self.circuit.num_qubits))
        if self.circuit.num_qubits > self.target.num_qubits:
            raise CompilerError(
                f"Cannot compile a {self.circuit.num_qubits}-qubit circuit for target {self.target.name!r} with "
                f"{self.target.num_qubits} qubits."
            )


@dataclass(frozen=True)
class CompilationResult:
    """What a compilation produced.

    Attributes:
        id: the compilation (and job) id.
        circuit: the compiled circuit, on the target's physical qubits.
        initial_layout: ``initial_layout[i]``: the physical qubit program qubit ``i`` starts on.
        final_layout: where program qubit ``i`` ends (read its measurement there).
        cx_before: two-qubit gates of the input written in ``u3``/``cx``.
        cx_after: two-qubit gates of the output.
        pass_seconds: ``(pass name, seconds)`` per pass.
        data: everything the passes left in the compilation data.
    """

    id: str
    circuit: Circuit
    initial_layout: tuple[int, ...]
    final_layout: tuple[int, ...]
    cx_before: int
    cx_after: int
    pass_seconds: tuple[tuple[str, float], ...]
    data: dict = field(repr=False)

    def __repr__(self) -> str:
        return (f"CompilationResult(id={self.id!r}, cx_before={self.cx_before}, cx_after={self.cx_after}, "
                f"ops={self.circuit.count_ops()})")

    def df(self) -> pd.DataFrame:
        """One row per pass: its name and seconds."""
        return pd.DataFrame(self.pass_seconds, columns=["pass", "seconds"])

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{escape(n)}</td><td>{s * 1e3:.1f} ms</td></tr>" for n, s in self.pass_seconds)
        return (f"<div><b>Compilation {escape(self.id)}</b>: two-qubit gates {self.cx_before} → {self.cx_after}; "
                f"initial layout {list(self.initial_layout)}, final layout {list(self.final_layout)}"
                f"<table><tr><th>pass</th><th>time</th></tr>{rows}</table></div>")


class _Tracked:
    """The client's view of one submitted compilation."""

    def __init__(self, task_id: str, task: CompilationTask, cx_before: int, on_progress=None):
        self.id = task_id
        self.future = None
        self.task = task
        self.cx_before = cx_before
        self.canceled = False
        self.started = threading.Event()
        self.finished = threading.Event()
        self.on_progress = on_progress
        self.result: CompilationResult | None = None
        self.error: BaseException | None = None
        self.status: JobStatus | None = None   # the final one, once settled
        self.lock = threading.Lock()
        self.settled = False


class Compiler:
    """Compilations on a Dask cluster: attached (a local cluster of its own) or detached (an address).

    Args:
        num_workers: worker processes of the attached cluster (default: one per core).
        address: a Dask scheduler address (``tcp://host:port``) to connect to
            instead of starting a cluster.
        store: the job store: a :class:`~qlab.jobs.JobStore`, a path, ``":memory:"``,
            or ``None`` for :func:`qlab.jobs.default_store`.
        dashboard: serve Dask's dashboard on an ephemeral port (attached mode;
            default: when ``bokeh`` is installed).
        connect_timeout: seconds to wait for a detached scheduler.

    Raises:
        CompilerError: both ``num_workers`` and ``address`` given, or a bad value.
    """

    def __init__(self, num_workers: int | None = None, address: str | None = None, *,
                 store: JobStore | str | os.PathLike | None = None, dashboard: bool | None = None,
                 connect_timeout: float = 30.0):
        if num_workers is not None and (isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1):
            raise CompilerError(f"Compiler: num_workers must be a positive int or None, got {num_workers!r}.")
        if address is not None and not isinstance(address, str):
            raise QlabTypeError(f"Compiler: address must be a str like 'tcp://127.0.0.1:8786', got {address!r}.")
        if address is not None and num_workers is not None:
            raise CompilerError(
                "Compiler: give num_workers (attached: start a local cluster) or address (detached: connect to "
                "a running scheduler), not both; a detached cluster's workers are started with `dask worker`."
            )
        self.num_workers = num_workers
        self.address = address
        self._dashboard = dashboard
        self._connect_timeout = connect_timeout
        self._own_store = not isinstance(store, JobStore)
        self._store_arg = store
        self._store: JobStore | None = store if isinstance(store, JobStore) else None
        self._cluster = None
        self._client = None
        self._closed = False
        self._lock = threading.RLock()
        self._tasks: dict[str, _Tracked] = {}
        self._dashboard_shown = False

    def __repr__(self) -> str:
        args = []
        if self.num_workers is not None:
            args.append(f"num_workers={self.num_workers}")
        if self.address is not None:
            args.append(f"address={self.address!r}")
        return f"Compiler({', '.join(args)})"

    def _repr_html_(self) -> str:
        state = "closed" if self._closed else "running" if self._client is not None else "not started"
        link = self.dashboard_link
        dash = f', <a href="{escape(link)}" target="_blank">Dask dashboard</a>' if link else ""
        return f"<div><b>{escape(repr(self))}</b>: {state}, {len(self._tasks)} compilations{dash}</div>"

    # ---------------------------------------------------------- the cluster
    @property
    def store(self) -> JobStore:
        """The job store compilations are recorded in."""
        with self._lock:
            if self._store is None:
                self._store = default_store() if self._store_arg is None else JobStore(self._store_arg)
            return self._store

    @property
    def client(self):
        """The ``distributed.Client`` (the cluster starts or is connected on first use).

        Raises:
            CompilerError: the compiler is closed, or the scheduler cannot be reached.
        """
        with self._lock:
            if self._closed:
                raise CompilerError(f"{self!r} is closed; make a new Compiler.")
            if self._client is None:
                from .service import SubtaskService

                client = self._connect()
                client.register_plugin(SubtaskService())   # subtasks travel worker to worker
                client.subscribe_topic(EVENT_TOPIC, self._on_event)
                client.run(_warm_up, wait=False)
                self._client = client
            return self._client

    def _connect(self):
        from distributed import Client, LocalCluster

        if self.address is not None:
            try:
                return Client(self.address, timeout=self._connect_timeout, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as err:
                raise CompilerError(
                    f"Cannot connect to the Dask scheduler at {self.address!r}: {err}. Start one with "
                    "`dask scheduler` and workers with `dask worker ADDRESS`."
                ) from err
        dashboard = self._dashboard
        if dashboard is None:
            try:
                import bokeh  # noqa: F401
                dashboard = True
            except ImportError:
                dashboard = False
        self._dashboard = dashboard
        try:
            self._cluster = LocalCluster(
                n_workers=self.num_workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                scheduler_port=0, dashboard_address=":0", worker_dashboard_address=None, host="127.0.0.1",
                scheduler_kwargs={"dashboard": dashboard},  # the HTTP server always gets an ephemeral port
                silence_logs=logging.CRITICAL,
            )
        except (RuntimeError, OSError, TimeoutError) as err:
            raise CompilerError(f"Could not start the local Dask cluster: {str(err).rstrip('.')}{_main_guard_hint()}") from err
        return Client(self._cluster, set_as_default=False)

    @property
    def dashboard_link(self) -> str | None:
        """The Dask dashboard's address, or ``None`` (not started, or no dashboard)."""
        if self._client is None or self._dashboard is False:
            return None
        try:
            return self._client.dashboard_link if self._client.scheduler_info().get("services", {}).get("dashboard") else None
        except Exception:  # a scheduler that went away has no dashboard
            return None

    def close(self) -> None:
        """Stop the attached cluster (or disconnect from a detached one); running compilations are dropped."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            client, cluster = self._client, self._cluster
            self._client = self._cluster = None
        try:
            for tracked in self._tasks.values():
                self._settle(tracked, dropped=True)
        finally:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
            if self._own_store and self._store is not None:
                self._store.close()

    def __enter__(self) -> Compiler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------- compilations
    def submit(self, task: CompilationTask) -> str:
        """Start a compilation; returns its id (also its job id in the store)."""
        return self._submit(task, None)

    def _submit(self, task: CompilationTask, on_progress) -> str:
        if not isinstance(task, CompilationTask):
            raise QlabTypeError(f"Compiler.submit needs a CompilationTask, got {type(task).__name__}.")
        client = self.client
        task_id = uuid.uuid4().hex
        record = JobRecord.new(
            "compiler", task.target.name, _program_text(task.circuit), "qasm3",
            {"passes": [repr(p) for p in task.passes], "seed": task.seed, "target_qubits": task.target.num_qubits},
            id=task_id,
        )
        self.store.add(record)
        self.store.set_status(task_id, JobStatus.SUBMITTED)
        tracked = self._tasks[task_id] = _Tracked(task_id, task, _cx_before(task.circuit), on_progress)   # before any event
        try:
            tracked.future = client.submit(
                run_compilation, task_id, task.circuit, task.passes, task.target, task.seed, client_log_level(),
                key=f"qlab-compile-{task_id}", pure=False,
            )
        except Exception as err:
            del self._tasks[task_id]
            self.store.set_status(task_id, JobStatus.FAILED, error=f"{type(err).__name__}: {err}")
            raise CompilerError(f"Cannot send the compilation to the cluster: {type(err).__name__}: {err}") from err
        tracked.future.add_done_callback(lambda _: self._settle(tracked))
        return task_id

    def _get(self, task_id: str) -> _Tracked:
        tracked = self._tasks.get(task_id)
        if tracked is None:
            raise JobNotFoundError(
                f"No compilation {task_id!r} in {self!r}: ids come from Compiler.submit of this compiler "
                f"({len(self._tasks)} known)."
            )
        return tracked

    def status(self, task_id: str) -> JobStatus:
        """``submitted``, ``running``, ``done``, ``failed`` or ``canceled``.

        Raises:
            JobNotFoundError: the id is unknown.
        """
        tracked = self._get(task_id)
        if tracked.status is not None:
            return tracked.status
        if tracked.canceled:
            return JobStatus.CANCELED
        state = tracked.future.status
        if state == "finished":
            return JobStatus.DONE
        if state == "error":
            return JobStatus.FAILED
        if state == "cancelled":
            return JobStatus.CANCELED
        return JobStatus.RUNNING if tracked.started.is_set() else JobStatus.SUBMITTED

    def result(self, task_id: str, timeout: float | None = None) -> CompilationResult:
        """Wait for a compilation and return its result.

        An exception raised in a pass comes back as its original type, with
        the remote traceback.

        Raises:
            JobNotFoundError: the id is unknown.
            CompilationCanceledError: the compilation was cancelled.
            QlabTimeoutError: it did not finish within ``timeout`` seconds.
        """
        tracked = self._get(task_id)
        future = tracked.future
        if not tracked.settled and not tracked.canceled:
            try:
                future.result(timeout=timeout)
            except TimeoutError as err:
                if not future.done():
                    raise QlabTimeoutError(
                        f"Compilation {task_id!r} did not finish within {timeout} s (status {self.status(task_id)}); "
                        "wait longer or cancel it."
                    ) from err
            except Exception:  # noqa: BLE001 - the compilation's own error, raised below once recorded
                pass
            tracked.finished.wait(_FINISH_GRACE)   # its last log records
            self._settle(tracked)
        if tracked.status is JobStatus.DONE:
            return tracked.result
        if tracked.status is JobStatus.FAILED:
            raise tracked.error
        why = "was cancelled" if tracked.canceled else "was dropped when the compiler was closed"
        raise CompilationCanceledError(f"Compilation {task_id!r} {why}; it has no result.")

    def cancel(self, task_id: str) -> bool:
        """Cancel a compilation and its queued subtasks; ``False`` if it had already finished.

        A pass that is running is not interrupted, but its subtasks are
        cancelled and it cannot deliver a result.

        Raises:
            JobNotFoundError: the id is unknown.
        """
        tracked = self._get(task_id)
        with tracked.lock:
            if tracked.settled or tracked.canceled:
                return tracked.canceled
            tracked.canceled = True
        client = self.client
        client.run(_cancel_on_worker, task_id, on_error="ignore")   # no new subtasks; queued ones are dropped
        client.cancel([tracked.future], force=True)
        self._settle(tracked)
        return True

    def compile(
        self,
        circuit: Circuit,
        passes: Sequence | None = None,
        *,
        optimization_level: int | None = None,
        target=None,
        seed: int | None = None,
        verify: bool = False,
        timeout: float | None = None,
        progress: bool = True,
    ) -> CompilationResult:
        """Compile ``circuit`` and wait for it: the common case of submit + result.

        Args:
            circuit: the program.
            passes: the passes to run; or give ``optimization_level`` (default 1).
            optimization_level: 0-3, see :func:`qlab.compiler.passes.optimization_passes`.
            target: a :class:`Target`, a qlab device, a coupling map, or ``None`` (all-to-all).
            seed: seed of randomised passes.
            verify: append :class:`~qlab.compiler.passes.VerifyEquivalence`.
            timeout: seconds to wait at most.
            progress: show a ``tqdm`` bar over the passes and the subtasks they start (and the Dask
                dashboard link once).

        Raises:
            CompilerError: both or neither of ``passes`` and ``optimization_level`` make sense.
        """
        if passes is not None and optimization_level is not None:
            raise CompilerError("Compiler.compile: give passes or optimization_level, not both.")
        passes = list(optimization_passes(1 if optimization_level is None else optimization_level) if passes is None else passes)
        if verify:
            passes.append(VerifyEquivalence())
        task = CompilationTask(circuit, passes, target, seed)
        bar = _ProgressBar(len(passes)) if progress else None
        task_id = self._submit(task, bar.on_event if bar is not None else None)
        link = self.dashboard_link if bar is not None else None
        if link and not self._dashboard_shown:
            self._dashboard_shown = True
            bar.write(f"Dask dashboard: {link}")
        try:
            return self.result(task_id, timeout)
        finally:
            if bar is not None:
                bar.close()

    # --------------------------------------------------------------- events
    def _on_event(self, event) -> None:
        _, msg = event
        tracked = self._tasks.get(msg.get("task")) if isinstance(msg, dict) else None
        if tracked is None:
            return
        kind = msg["kind"]
        if kind == "log":
            forward_record(msg)
        elif kind == "start":
            tracked.started.set()
            tracked.finished.clear()
            self._mark_running(msg["task"])
        if kind in ("start", "pass", "subtasks") and tracked.on_progress is not None:
            tracked.on_progress(msg)
        if kind == "finish":
            tracked.finished.set()

    def _mark_running(self, task_id: str) -> None:
        try:
            self.store.set_status(task_id, JobStatus.RUNNING)
        except (JobStateError, QlabError):
            pass  # already running (a retry after a lost worker) or finished

    def _settle(self, tracked: _Tracked, dropped: bool = False) -> None:
        """Record the outcome of a compilation (here and in the store), once; then let go of its Dask future."""
        with tracked.lock:
            if tracked.settled:
                return
            future = tracked.future
            if tracked.canceled or (dropped and not future.done()):
                status, note = JobStatus.CANCELED, "cancelled" if tracked.canceled else "the compiler was closed"
            elif future.status == "finished":
                status, note = self._read_result(tracked), None
            elif future.status == "error":
                error = tracked.error = future.exception()
                error.with_traceback(future.traceback())
                status, note = JobStatus.FAILED, f"{type(error).__name__}: {error}"
            elif future.status == "cancelled":
                status, note = JobStatus.CANCELED, "cancelled"
            else:
                return
            self._record(tracked, status, note)
            tracked.status, tracked.settled = status, True
            tracked.future = None   # the worker may forget the result: it is kept here

    def _record(self, tracked: _Tracked, status: JobStatus, note: str | None) -> None:
        """Write the outcome to the store; a store that cannot take it (full disk, gone) costs the record, not the result."""
        store = self._store
        if store is None or store.closed:
            return
        try:
            if status is JobStatus.DONE:
                store.finish(tracked.id, _stored_results(tracked.result))
            else:
                store.set_status(tracked.id, status, error=note or f"{type(tracked.error).__name__}: {tracked.error}")
        except QlabError as err:
            log.warning("Compilation %s ended %s, but the job store could not record it: %s", tracked.id, status.value, err)

    @staticmethod
    def _read_result(tracked: _Tracked) -> JobStatus:
        try:
            circuit, data = tracked.future.result()
        except Exception as err:  # noqa: BLE001 - the result did not survive the way back
            tracked.error = CompilerError(
                f"Compilation {tracked.id!r} finished, but its result could not be read back: {type(err).__name__}: {err}"
            )
            return JobStatus.FAILED
        tracked.result = CompilationResult(
            tracked.id, circuit, tuple(data["initial_layout"]), tuple(data["final_layout"]), tracked.cx_before,
            data["cx_after"], tuple(data["pass_seconds"]), data,
        )
        return JobStatus.DONE


def _main_guard_hint() -> str:
    """Advice for scripts: worker processes start by importing the script, which must not start a cluster again."""
    import sys

    main = sys.modules.get("__main__")
    if getattr(main, "__file__", None) is None:
        return ""
    return (f". Worker processes import {os.path.basename(main.__file__)!r} when they start: create the Compiler "
            "under `if __name__ == \"__main__\":` in a script.")


class _ProgressBar:
    """A ``tqdm.auto`` bar over a compilation's passes and subtasks; its total grows as passes start subtasks."""

    def __init__(self, passes: int):
        from tqdm.auto import tqdm

        self._bar = tqdm(total=passes, desc="compiling", unit="step", leave=False)
        self._passes = passes
        self._done_passes = self._submitted = self._finished = 0
        self.write = self._bar.write
        self.close = self._bar.close

    def on_event(self, msg: dict) -> None:
        """Take a ``start``, ``pass`` or ``subtasks`` event of the compilation (a retried one starts over)."""
        kind = msg["kind"]
        if kind == "start":
            self._done_passes = self._submitted = self._finished = 0
        elif kind == "pass":
            self._done_passes = msg["index"] + 1
            self._bar.set_postfix_str(msg["name"], refresh=False)
        else:
            self._submitted += msg.get("submitted", 0)
            self._finished += msg.get("finished", 0)
        total = self._passes + self._submitted
        if total != self._bar.total:
            self._bar.total = total
            widget = getattr(self._bar, "container", None)   # in a notebook: the bar's maximum too
            if widget is not None:
                widget.children[1].max = total
        self._bar.update(self._done_passes + self._finished - self._bar.n)   # redraws at most every 0.1 s


async def _warm_up() -> None:
    """Import what compilations need on a worker (off its event loop), before the first one arrives."""
    import asyncio
    import importlib

    await asyncio.get_running_loop().run_in_executor(None, importlib.import_module, "qlab.compiler.execution")


def _program_text(circuit: Circuit) -> str:
    try:
        return circuit.to_qasm(3)
    except QlabError:
        return repr(circuit)


def _cx_before(circuit: Circuit) -> int:
    try:
        return cx_count(unroll(circuit, WORK_GATES))
    except QlabError:
        return cx_count(circuit)


def _stored_results(result: CompilationResult) -> dict:
    return {
        "circuit": _program_text(result.circuit),
        "cx_before": result.cx_before,
        "cx_after": result.cx_after,
        "initial_layout": list(result.initial_layout),
        "final_layout": list(result.final_layout),
        "passes": [name for name, _ in result.pass_seconds],
        "pass_seconds": [seconds for _, seconds in result.pass_seconds],
    }


def _cancel_on_worker(task_id: str, dask_worker=None) -> None:
    """On a worker: refuse new subtasks of the compilation and drop its queued ones."""
    from .service import local_service_of

    local_service_of(dask_worker).cancel(task_id=task_id)
