"""The host API: build a chain, start it, talk to its frontend, stop it.

>>> from qlab.chain import Simulation, plugins
>>> from qlab import Circuit
>>> sim = Simulation(plugins.circuit_frontend(Circuit(1).x(0).measure_all()),
...                  backend=plugins.density_matrix_backend(), seed=1, store=False)
>>> sim.run().json["counts"]
{'1': 1}
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..exceptions import ChainDefinitionError, ChainError, ChainPluginError, QlabTypeError
from . import protocol as P
from .data import ArbCmd, ArbData, as_arb_data
from .definition import PluginDefinition, PluginSpec, PluginType
from .host import HostInbox
from .logs import LogLevel
from .reproduction import PluginRecord, Reproduction
from .runtime import Counters

__all__ = ["Simulation"]

START_TIMEOUT = 120.0
"""Seconds a plugin may take to start (import, connect, initialize)."""


def _plugin_record(plugin, position: str) -> PluginRecord:
    """A plugin argument (definition, script path or spec) as a record with the definition when known."""
    if isinstance(plugin, PluginDefinition):
        plugin.validate()
        return PluginRecord(plugin.name, plugin.type, spec=plugin.spec, definition=plugin)
    if isinstance(plugin, PluginSpec):
        definition = plugin.build().validate()
        return PluginRecord(definition.name, definition.type, spec=plugin, definition=definition)
    if isinstance(plugin, (str, os.PathLike)):
        path = Path(plugin)
        if not path.is_file():
            raise ChainDefinitionError(f"The {position} plugin script {str(path)!r} does not exist.")
        return PluginRecord(path.stem, None, script=str(path.resolve()))
    raise QlabTypeError(
        f"The {position} must be a PluginDefinition, a PluginSpec or the path of a plugin script, got {type(plugin).__name__}."
    )


def _release(chain) -> None:
    chain.abort()
    chain.join(1.0)


def _seed(seed) -> int:
    if seed is None:
        return secrets.randbits(63)
    if isinstance(seed, str):
        return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "little")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
        raise ChainDefinitionError(f"Simulation seed must be an int in [0, 2**64) or a str, got {seed!r}.")
    return int(seed)


class Simulation:
    """A chain of plugins (frontend, operators, backend) and the host calls that drive it.

    Args:
        frontend: the frontend (a :class:`PluginDefinition`, a :class:`PluginSpec`
            or the path of a plugin script).
        *operators: operators, upstream first.
        backend: the backend.
        seed: seeds every plugin's random numbers (an int, or a str hashed to one;
            default: a fresh random seed, kept in :attr:`seed` and the reproduction record).
        log_level: plugin messages below it are dropped (``"trace"`` ... ``"fatal"``, ``"off"``).
        process: run each plugin in its own process (default: only when a plugin is a script).
        init_cmds: ArbCmds for each plugin's ``initialize``, by plugin name.
        store: a :class:`~qlab.jobs.JobStore` (or its path) that records each run as a job of family
            ``"chain"``; ``None`` uses the default store, ``False`` records nothing.
        timeout: seconds a plugin may take to start.

    The plugins start on the first host call (or ``with``); :meth:`stop` ends them.
    """

    def __init__(self, frontend, *operators, backend, seed=None, log_level: LogLevel | str | int = "info",
                 process: bool | None = None, init_cmds: Mapping[str, Sequence[ArbCmd]] | None = None,
                 store=None, timeout: float = START_TIMEOUT):
        positions = ["frontend", *(f"operator {i + 1}" for i in range(len(operators))), "backend"]
        self._records = [_plugin_record(p, pos) for p, pos in zip((frontend, *operators, backend), positions)]
        expected = [PluginType.FRONTEND, *[PluginType.OPERATOR] * len(operators), PluginType.BACKEND]
        for record, want, pos in zip(self._records, expected, positions):
            if record.type is not None and record.type is not want:
                raise ChainDefinitionError(f"The {pos} of a chain must be a {want.value} plugin; {record.name!r} is a {record.type.value}.")
        self._dedupe_names()
        scripts = [r.name for r in self._records if r.script]
        if process is False and scripts:
            raise ChainDefinitionError(f"Plugin scripts {scripts} run in processes; pass process=True (or leave it None).")
        self.process = bool(scripts) if process is None else bool(process)
        if self.process:
            local = [r.name for r in self._records if r.script is None and r.spec is None]
            if local:
                raise ChainDefinitionError(
                    f"Plugins {local} cannot run in a process: they are defined in this interpreter (no code is sent to "
                    "plugin processes). Write them in a plugin script (ending with qlab.chain.run_plugin(definition)), "
                    "or in an importable module as a Frontend/Operator/Backend subclass, or use process=False."
                )
        self.seed = _seed(seed)
        self.log_level = LogLevel.from_value(log_level)
        self.timeout = float(timeout)
        self._init_cmds = self._check_init_cmds(init_cmds or {})
        self._store_arg = store
        self._lock = threading.RLock()
        self._status = "new"
        self._chain = None
        self._inbox: HostInbox | None = None
        self._pending_start: ArbData | None = None
        self._pending_send: list[ArbData] = []
        self._received: list[ArbData] = []
        self._run_state = "idle"  # idle, running, blocked, done
        self._result: ArbData | None = None
        self._calls: list[dict] = []
        self._job_id: str | None = None
        self._final_counters: list[Counters] | None = None

    # ----------------------------------------------------------- describing
    def _dedupe_names(self) -> None:
        seen: dict[str, int] = {}
        for r in self._records:
            count = seen.get(r.name, 0)
            seen[r.name] = count + 1
            if count:
                r.name = f"{r.name}-{count + 1}"

    def _check_init_cmds(self, init_cmds: Mapping) -> list[list[ArbCmd]]:
        names = self.names
        unknown = set(init_cmds) - set(names)
        if unknown:
            raise ChainDefinitionError(f"init_cmds for unknown plugins {sorted(unknown)} (plugins: {names}).")
        out = []
        for name in names:
            cmds = list(init_cmds.get(name, ()))
            for c in cmds:
                if not isinstance(c, ArbCmd):
                    raise QlabTypeError(f"init_cmds[{name!r}] must hold ArbCmds, got {type(c).__name__}.")
            out.append(cmds)
        return out

    @property
    def names(self) -> list[str]:
        """The plugins' instance names, frontend first."""
        return [r.name for r in self._records]

    @property
    def status(self) -> str:
        """``new``, ``running``, ``stopped`` or ``failed``."""
        return self._status

    def __repr__(self) -> str:
        return f"<Simulation {' -> '.join(self.names)} ({'processes' if self.process else 'threads'}, seed={self.seed}, {self._status})>"

    def meta(self, plugin: str | int) -> dict[str, str]:
        """A plugin's type, name, author and version (a script's are known once it has started)."""
        index = self._index(plugin)
        record = self._records[index]
        if record.definition is not None:
            d = record.definition
            return {"type": d.type.value, "name": d.name, "author": d.author, "version": d.version}
        reported = None if self._inbox is None else self._inbox.meta.get(index)
        if reported is None:
            raise ChainError(f"Plugin {record.name!r} is a script; its metadata is known once the simulation has started.")
        return dict(zip(("type", "name", "author", "version"), reported))

    @property
    def failed_plugin(self) -> str | None:
        """The name of the plugin whose failure ended the simulation, if one did."""
        failure = None if self._inbox is None else self._inbox.failure
        return None if failure is None else failure.plugin

    @property
    def pids(self) -> list[int]:
        """The process id running each plugin (this process for thread plugins)."""
        procs = getattr(self._chain, "procs", None)
        return [p.pid for p in procs] if procs else [os.getpid()] * len(self._records)

    def queues(self) -> dict[str, list[ArbData]]:
        """The host's queues: ``"send"`` (sent, not yet delivered to the frontend) and ``"recv"`` (received, not yet read)."""
        return {"send": list(self._pending_send), "recv": list(self._received)}

    def submit(self, args=None):
        """Run the frontend once (start and wait) on a background thread; return a ``concurrent.futures.Future``.

        The kernel stays free meanwhile, so a :class:`~qlab.lab.ChainDiagram`
        can show the counters as they change. Other host calls wait for it.
        """
        from concurrent.futures import Future

        future: Future = Future()

        def work() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                self.start(args)
                future.set_result(self.wait())
            except BaseException as err:  # noqa: BLE001 - handed to the future's owner
                future.set_exception(err)

        threading.Thread(target=work, name="qlab-chain-host", daemon=True).start()
        return future

    def counters(self) -> list[Counters]:
        """Each plugin's counters (gates, measurements, arbs, cycles), frontend first."""
        if self._final_counters is not None:
            return self._final_counters
        if self._chain is None:
            return [Counters() for _ in self._records]
        return [self._chain.counters(i) for i in range(len(self._records))]

    def df(self):
        """The plugins with their type and counters, one row each.

        >>> from qlab import Circuit
        >>> from qlab.chain import plugins
        >>> Simulation(plugins.circuit_frontend(Circuit(1).h(0)), backend=plugins.null_backend(), store=False).df().columns.tolist()
        ['name', 'type', 'gates', 'measurements', 'arbs', 'cycles']
        """
        import pandas as pd

        rows = []
        for r, c in zip(self._records, self.counters()):
            rows.append({"name": r.name, "type": r.type.value if r.type else "script", **c.as_dict()})
        return pd.DataFrame(rows, columns=["name", "type", "gates", "measurements", "arbs", "cycles"])

    def logs(self, plugin: str | int) -> list[tuple[float, str, str]]:
        """The latest log lines of a plugin: ``(unix time, level, message)``."""
        index = self._index(plugin)
        return [] if self._inbox is None else list(self._inbox.logs[index])

    def _index(self, plugin: str | int) -> int:
        if isinstance(plugin, bool) or not isinstance(plugin, (str, int)):
            raise QlabTypeError(f"A plugin is named by its name or index, got {type(plugin).__name__} {plugin!r}.")
        if isinstance(plugin, int):
            if not 0 <= plugin < len(self._records):
                raise ChainError(f"No plugin at index {plugin}: the chain has {len(self._records)} (0..{len(self._records) - 1}).")
            return plugin
        if plugin not in self.names:
            raise ChainError(f"No plugin named {plugin!r} (plugins: {self.names}).")
        return self.names.index(plugin)

    # ------------------------------------------------------------- lifecycle
    def _ensure_started(self) -> None:
        if self._status == "running":
            return
        if self._status == "stopped":
            raise ChainError("The simulation was stopped; build a new Simulation to run again.")
        if self._status == "failed":
            self._inbox.raise_failure()
        self._inbox = HostInbox(self.names, [r.type.value if r.type else "plugin" for r in self._records])
        seeds = np.random.SeedSequence(self.seed).spawn(len(self._records))
        args = [
            dict(index=i, name=r.name, seeds=[int(x) for x in s.generate_state(3, dtype=np.uint64)],
                 log_level=self.log_level, init_cmds=self._init_cmds[i])
            for i, (r, s) in enumerate(zip(self._records, seeds))
        ]
        if self.process:
            from .processes import ProcessChain

            self._chain = ProcessChain(self._records, args, self._inbox, self.timeout)
        else:
            from .threads import ThreadChain

            self._chain = ThreadChain([{**a, "definition": r.definition} for a, r in zip(args, self._records)], self._inbox)
        self._inbox.on_failure = self._chain.abort
        self._finalizer = weakref.finalize(self, _release, self._chain)  # a forgotten simulation frees its plugins
        self._status = "running"
        try:
            self._chain.start()
            self._check_started_types()
        except BaseException:
            self._teardown("failed")
            raise

    def _check_started_types(self) -> None:
        """Scripts say what they are only when they start: check they sit where they belong."""
        last = len(self._records) - 1
        for i, record in enumerate(self._records):
            if record.type is None:
                record.type = PluginType(self._inbox.meta[i][0])
                want = PluginType.FRONTEND if i == 0 else PluginType.BACKEND if i == last else PluginType.OPERATOR
                if record.type is not want:
                    raise ChainDefinitionError(
                        f"Plugin script {record.script!r} defines a {record.type.value}, but it was given as the {want.value}."
                    )

    def _teardown(self, status: str) -> None:
        chain, self._chain = self._chain, None
        if chain is not None:
            self._finalizer.detach()
            if status == "stopped":
                chain.join(self.timeout)  # the plugins end on their own; their last counters arrive
            chain.abort()
            chain.join(5.0)
            self._final_counters = [chain.counters(i) for i in range(len(self._records))]
        self._status = status

    def _call(self, fn, *args):
        """Run a host call; a plugin failure fails the simulation and its job."""
        with self._lock:
            self._ensure_started()
            try:
                return fn(*args)
            except ChainPluginError as err:
                self._fail_job(str(err))
                self._teardown("failed")
                raise

    def __enter__(self) -> Simulation:
        with self._lock:
            self._ensure_started()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the plugins (each runs its ``drop`` callback) and release them."""
        with self._lock:
            if self._status != "running":
                if self._status == "new":
                    self._status = "stopped"
                return
            try:
                self._chain.to_frontend((P.H_STOP,))
                while self._inbox.next(self.timeout)[0] != P.P_STOPPED:
                    pass
            except ChainPluginError as err:
                self._fail_job(str(err))
                self._teardown("failed")
                raise
            self._calls.append({"call": "stop"})
            self._teardown("stopped")

    # ------------------------------------------------------------ host calls
    def start(self, args=None) -> None:
        """Start the frontend's ``run`` with ``args`` (ArbData or a JSON dict); it runs at the next yield."""
        args = as_arb_data(args, "start args")
        with self._lock:
            self._ensure_started()
            if self._pending_start is not None or self._run_state != "idle":
                raise ChainError("start: the frontend is already running (or its result was not collected); call wait() first.")
            self._pending_start = args
            self._run_state = "running"
            self._result = None
            self._calls.append({"call": "start", "args": args.to_dict()})
            self._open_job(args)

    def send(self, data=None) -> None:
        """Queue ArbData for the frontend's ``recv`` (delivered at the next yield)."""
        data = as_arb_data(data, "send")
        with self._lock:
            self._pending_send.append(data)
            self._calls.append({"call": "send", "data": data.to_dict()})

    def yield_(self) -> None:
        """Let the frontend run until it waits for the host or finishes."""
        self._call(self._yield)
        self._calls.append({"call": "yield"})

    def _yield(self) -> None:
        start, self._pending_start = self._pending_start, None
        data, self._pending_send = self._pending_send, []
        self._chain.to_frontend((P.H_RUN, start, data))
        message = self._inbox.next()
        _, state, result, sent = message
        self._received.extend(sent)
        if state == "done":
            self._run_state, self._result = "done", result
        elif state == "blocked":
            self._run_state = "blocked"

    def wait(self) -> ArbData:
        """Wait for the frontend's ``run`` to return; return what it returned."""
        result = self._call(self._wait)
        self._calls.append({"call": "wait", "result": result.to_dict()})
        return result

    def _wait(self) -> ArbData:
        if self._run_state == "idle" and self._pending_start is None:
            raise ChainError("wait: no run in progress; call start() first.")
        while self._run_state != "done":
            had_data = bool(self._pending_send)
            self._yield()
            if self._run_state == "blocked" and not had_data and not self._pending_send:
                raise ChainError(
                    "Deadlock: the frontend waits in recv() for data from the host, and the host waits for the frontend "
                    "to finish. send() data before wait()."
                )
        result, self._result = self._result, None
        self._run_state = "idle"
        self._finish_job(result)
        return result

    def recv(self) -> ArbData:
        """The next ArbData the frontend sent (yields to the frontend while there is none)."""
        result = self._call(self._recv)
        self._calls.append({"call": "recv", "result": result.to_dict()})
        return result

    def _recv(self) -> ArbData:
        while not self._received:
            if self._run_state == "idle" and self._pending_start is None:
                raise ChainError("recv: the frontend is not running and has sent nothing; call start() first.")
            if self._run_state == "done":
                raise ChainError("recv: the frontend's run returned without sending (more) data; call wait() for its result.")
            had_data = bool(self._pending_send)
            self._yield()
            if not self._received and self._run_state == "blocked" and not had_data:
                raise ChainError(
                    "Deadlock: the frontend waits in recv() for data from the host, and the host waits in recv() for data "
                    "from the frontend. send() data first."
                )
        return self._received.pop(0)

    def arb(self, plugin: str | int, cmd: ArbCmd | str, operation_id: str | None = None, data=None) -> ArbData:
        """Send an ArbCmd to a plugin's ``host_arb`` (by name or index) and return its answer.

        The frontend first runs until it waits for the host; the command then
        travels down the chain after every gate sent so far.
        """
        index = self._index(plugin)
        if not isinstance(cmd, ArbCmd):
            cmd = ArbCmd(cmd, operation_id, data)
        result = self._call(self._arb, index, cmd)
        self._calls.append({"call": "arb", "plugin": self.names[index], "cmd": cmd.to_dict(), "result": result.to_dict()})
        return result

    def _arb(self, index: int, cmd: ArbCmd) -> ArbData:
        if self._run_state == "running" or self._pending_send:
            self._yield()
        self._chain.to_frontend((P.H_ARB, index, cmd))
        _, ok, payload = self._inbox.next()
        if ok:
            return payload
        plugin, message = payload
        raise ChainError(f"arb to plugin {self.names[index]!r} failed: plugin {plugin!r} answered with an error: {message}")

    def run(self, args=None) -> ArbData:
        """Start, wait and stop: run the frontend once and return what its ``run`` returned."""
        try:
            self.start(args)
            return self.wait()
        finally:
            if self._status == "running":
                self.stop()

    # --------------------------------------------------------------- jobs
    def _store(self):
        if self._store_arg is False:
            return None
        from ..jobs import JobStore, default_store

        if self._store_arg is None:
            return default_store()
        if isinstance(self._store_arg, JobStore):
            return self._store_arg
        self._store_arg = JobStore(self._store_arg)
        return self._store_arg

    def _open_job(self, args: ArbData) -> None:
        store = self._store()
        if store is None:
            return
        from ..jobs import JobRecord, JobStatus

        params = {"seed": self.seed, "process": self.process, "log_level": self.log_level.value,
                  "plugins": [r.to_dict() for r in self._records], "args": args.to_dict()}
        record = JobRecord.new("chain", self.names[-1], " -> ".join(self.names), "chain", params)
        store.add(record)
        store.set_status(record.id, JobStatus.RUNNING)
        self._job_id = record.id

    def _finish_job(self, result: ArbData) -> None:
        store = self._store()
        if store is None or self._job_id is None:
            return
        counters = {r.name: c.as_dict() for r, c in zip(self._records, self.counters())}
        store.finish(self._job_id, {"result": result.to_dict(), "counters": counters})
        self._job_id = None

    def _fail_job(self, error: str) -> None:
        store = self._store()
        if store is None or self._job_id is None:
            return
        from ..jobs import JobStatus

        store.set_status(self._job_id, JobStatus.FAILED, error=error)
        self._job_id = None

    @property
    def job_id(self) -> str | None:
        """The store id of the run in progress (``None`` when none is, or runs are not recorded)."""
        return self._job_id

    # -------------------------------------------------------- reproduction
    def reproduction(self) -> Reproduction:
        """The configuration and the host calls so far, to write to a file and replay."""
        return Reproduction(
            seed=self.seed, log_level=self.log_level.value, process=self.process,
            plugins=[r.to_dict() for r in self._records],
            init_cmds={r.name: [c.to_dict() for c in cmds] for r, cmds in zip(self._records, self._init_cmds) if cmds},
            calls=list(self._calls),
        )

    # ------------------------------------------------------------- drawing
    def diagram(self, selected: str | int | None = None) -> str:
        """An SVG drawing of the chain with each plugin's counters (``selected``: a plugin to outline)."""
        from .diagram import chain_svg

        return chain_svg(self, None if selected is None else self._index(selected))

    def _repr_svg_(self) -> str:
        return self.diagram()
