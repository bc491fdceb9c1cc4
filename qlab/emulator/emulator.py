"""The emulator: a hybrid program, shot by shot, through runtime -> error model -> simulator.

Each shot gets its own seeds from ``numpy.random.SeedSequence(seed).spawn``
(one child per shot, three 64-bit seeds from it: runtime, error model,
simulator), so neighbouring seeds never give shifted copies of one shot
stream, and the results do not depend on ``n_processes``.

Simulation is deferred: the batches a runtime hands on are recorded, and
only reach the error model and simulator when the program first reads a
measurement. A program that reads nothing before it ends has no
feed-forward: it issues the same operations every shot, so its trace is
recorded once and, when the simulator can (``Simulator.sample_trace``), every
shot is sampled from one simulation of it.

>>> def ghz(ctx):
...     qs = [ctx.qalloc() for _ in range(3)]
...     ctx.h(qs[0]); ctx.cx(qs[0], qs[1]); ctx.cx(qs[1], qs[2])
...     ctx.result("c", [ctx.measure(q) for q in qs])
>>> result = Emulator(3).run(ghz, shots=100, seed=7)
>>> sorted(result.counts("c"))
['000', '111']
"""

from __future__ import annotations

import copy
import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..exceptions import (
    EmulatorTimeout,
    PluginError,
    ProgramPanic,
    QlabTypeError,
    SimulationStopped,
)
from .context import Future, ProgramContext, _Stop
from .error_models import ErrorModel, IdealErrorModel
from .live import LiveMetrics
from .plugin import check_api_version
from .runtimes import Runtime, SimpleRuntime
from .simulators import DensityMatrixSimulator, Simulator
from .trace import measured_results

__all__ = ["Emulator", "ShotRecord", "MAX_SHOTS"]

MAX_SHOTS = 10**8
"""The largest shot count one run accepts."""


@dataclass
class ShotRecord:
    """What one shot produced."""

    shot: int
    results: list[tuple[str, Any]]
    status: str = "ok"
    """``"ok"``, ``"exit"`` (the program called ``exit``) or ``"panic"``."""
    exit_code: int = 0
    exit_message: str = ""
    metrics: dict[tuple[str, str], float] = field(default_factory=dict)
    sampled: bool = False
    """Whether the shot was sampled from one simulation of a program without feed-forward."""
    state: Any = None
    """The simulator's state at the end of the shot, when asked for (:meth:`Emulator.state`)."""


_READS = frozenset({"measure", "measure_leaked", "custom"})


class _Timeout(Exception):
    pass


@dataclass
class _Pending:
    """A shot 0 recorded without simulating: the program read no measurement before it ended."""

    ctx: ProgramContext
    trace: list
    runtime_metrics: dict


class _Pipeline:
    """One set of plugins running shots one after another."""

    def __init__(self, n_qubits: int, runtime: Runtime, error_model: ErrorModel, simulator: Simulator,
                 deadline: float | None = None, stop: threading.Event | None = None):
        self.n_qubits = n_qubits
        self.runtime, self.error_model, self.simulator = runtime, error_model, simulator
        runtime.init(n_qubits)
        error_model.init(n_qubits)
        simulator.init(n_qubits)
        self.deadline = deadline
        self.stop = stop
        noise = error_model.noise_model()
        self._cacheable = noise is not None and noise.is_ideal
        self._prefix: tuple | None = None

    def close(self) -> None:
        """Tell every plugin the run is over."""
        self.runtime.exit()
        self.error_model.exit()
        self.simulator.exit()

    # ------------------------------------------------------------- a shot
    def _begin(self, shot: int, seed: np.random.SeedSequence) -> None:
        r, e, s = (int(v) for v in seed.generate_state(3, np.uint64))
        self.seeds = (r, e, s)
        self.shot = shot
        self.runtime.shot_start(shot, r)
        self.error_model.shot_start(shot, e)
        self.simulator.shot_start(shot, s)
        self.trace: list = []
        self.recording = True
        self.ending = False

    def after_call(self, ctx) -> None:
        """Move every ready batch on (or into the trace while recording); check the clock and the stop flag."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise _Timeout
        if self.stop is not None and self.stop.is_set():
            raise SimulationStopped("The emulator run was stopped before it finished.")
        batch = self.runtime.get_next_operations()
        while batch is not None:
            if self.recording:
                self.trace.append(batch)
            else:
                self._run(batch)
            batch = self.runtime.get_next_operations()

    def _run(self, batch) -> None:
        runtime = self.runtime
        for rid, value in self.error_model.handle_operations(batch, self.simulator).items():
            if isinstance(value, (bool, np.bool_)):
                runtime.set_bool_result(rid, bool(value))
            else:
                runtime.set_u64_result(rid, int(value))

    def _go_live(self) -> None:
        """Simulate the recorded batches; an ideal prefix without measurements seen before is reused."""
        self.recording = False
        trace, start = self.trace, 0
        if self._cacheable:
            start = next((i for i, b in enumerate(trace) if any(op.kind in _READS for op in b.operations)), len(trace))
            key = tuple(trace[:start])
            if self._prefix is not None and self._prefix[0] == key:
                self.simulator.restore(self._prefix[1])
            else:
                rng = getattr(self.simulator, "rng", None)
                before = None if rng is None else rng.bit_generator.state
                for batch in trace[:start]:
                    self._run(batch)
                snapshot = self.simulator.snapshot()
                if snapshot is not None and (rng is None or rng.bit_generator.state == before):
                    self._prefix = (key, snapshot)
        for batch in trace[start:]:
            self._run(batch)

    def _value(self, future: Future):
        get = self.runtime.get_bool_result if future.kind == "measure" else self.runtime.get_u64_result
        return get(future.result_id)

    def force(self, future: Future):
        """The value of ``future``, simulating what it depends on."""
        value = self._value(future)
        if value is None:
            self.runtime.force_result(future.result_id)
            self.after_call(None)
            if self.recording:
                self._go_live()
            value = self._value(future)
            if value is None:
                raise PluginError(
                    f"{type(self.runtime).__name__} did not produce result {future.result_id} when it was forced."
                )
        return value

    def run_shot(self, program: Callable, shot: int, seed, keep_trace: bool = False,
                 state_of: Sequence[int] | None | bool = False) -> ShotRecord | _Pending:
        """Run one shot; with ``keep_trace``, a shot without feed-forward comes back unsimulated as a ``_Pending``."""
        self._begin(shot, seed)
        ctx = ProgramContext(self, shot)
        status, code, message = "ok", 0, ""
        try:
            program(ctx)
        except _Stop as stop:
            status = "panic" if stop.code >= 1000 else "exit"
            code, message = stop.code, stop.message
        self.ending = True
        claimed = [f for _, v in ctx.results for f in (v if isinstance(v, list) else [v]) if isinstance(f, Future)]
        if keep_trace and self.recording and not ctx.read_before_end and status == "ok":
            for future in claimed:
                if self._value(future) is None:
                    self.runtime.force_result(future.result_id)
            self.after_call(None)
            return _Pending(ctx, self.trace, self.runtime.get_metrics())
        results = [(tag, _resolve(value)) for tag, value in ctx.results]
        state = None
        if state_of is not False:
            self.runtime.flush()
            self.after_call(None)
            if self.recording:
                self._go_live()
            state = self.simulator.state(state_of)
        record = self._finish(ctx, results, status, code, message)
        record.state = state
        return record

    def complete(self, pending: _Pending) -> ShotRecord:
        """Simulate a recorded shot 0 after all (its simulator could not sample)."""
        self._go_live()
        results = [(tag, _resolve(value)) for tag, value in pending.ctx.results]
        return self._finish(pending.ctx, results, "ok", 0, "")

    def _finish(self, ctx, results, status, code, message) -> ShotRecord:
        metrics = _categorised(ctx.metrics, self.runtime.get_metrics(), self.error_model.get_metrics(),
                               self.simulator.get_metrics())
        self._end()
        return ShotRecord(self.shot, results, status, code, message, metrics)

    def _end(self) -> None:
        r, e, s = self.seeds
        self.runtime.shot_end(self.shot, r)
        self.error_model.shot_end(self.shot, e)
        self.simulator.shot_end(self.shot, s)

    def sample(self, pending: _Pending, shots: int, rng: np.random.Generator) -> list[ShotRecord] | None:
        """Every shot of a program without feed-forward from one simulation of its trace, or ``None``."""
        samples = self.simulator.sample_trace(pending.trace, self.error_model.noise_model(), shots, rng)
        if samples is None:
            return None
        column = {op.result_id: (i, type(op).__name__) for i, op in enumerate(measured_results(pending.trace))}
        ctx = pending.ctx
        reads = sum(1 for _, v in ctx.results for f in (v if isinstance(v, list) else [v]) if isinstance(f, Future))
        user = dict(ctx.metrics)
        user["measure_read_count"] = user.get("measure_read_count", 0) + reads
        metrics = _categorised(user, pending.runtime_metrics, {}, {})
        metrics[("emulator", "sampled_from_one_simulation")] = 1
        table = samples.tolist()  # Python bools, one list per shot

        def picker(item):
            if not isinstance(item, Future):
                return lambda row: item
            i, kind = column[item.result_id]
            return (lambda row: row[i]) if kind == "Measure" else (lambda row: int(row[i]))

        plan = []
        for tag, value in ctx.results:
            if isinstance(value, list) and all(isinstance(v, Future) and column[v.result_id][1] == "Measure" for v in value):
                cols = [column[v.result_id][0] for v in value]
                plan.append((tag, lambda row, cols=cols: [row[i] for i in cols]))
            elif isinstance(value, list):
                parts = [picker(v) for v in value]
                plan.append((tag, lambda row, parts=parts: [p(row) for p in parts]))
            else:
                plan.append((tag, picker(value)))
        records = [ShotRecord(shot, [(tag, get(row)) for tag, get in plan], metrics=metrics, sampled=True)
                   for shot, row in enumerate(table)]
        self._end()
        return records


def _resolve(value):
    if isinstance(value, list):
        return [v.value if isinstance(v, Future) else v for v in value]
    return value.value if isinstance(value, Future) else value


def _categorised(user, runtime, error_model, simulator) -> dict[tuple[str, str], float]:
    out = {}
    for category, metrics in (("user_program", user), ("runtime", runtime), ("error_model", error_model),
                              ("simulator", simulator)):
        for name, value in metrics.items():
            out[(category, name)] = value
    if ("user_program", "max_allocated") not in out:
        out[("user_program", "max_allocated")] = 0
    return out


class _ShotSeeds:
    """``SeedSequence(seed).spawn(...)``'s children, made when asked for: ``seeds[i]`` is shot ``i``'s."""

    def __init__(self, entropy: int):
        self.entropy = entropy

    def __getitem__(self, shot: int) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.entropy, spawn_key=(shot,))

    @property
    def sampler(self) -> np.random.SeedSequence:
        """The seed that samples every shot of a program without feed-forward."""
        return np.random.SeedSequence(self.entropy, spawn_key=(2**63,))


# ---------------------------------------------------------------- workers
def _run_shots(emulator: Emulator, program, shots: list[int], seeds: list, deadline, stop=None) -> tuple[list, str | None]:
    """Run ``shots`` in this process; stop at a panic, the deadline or ``stop``. Returns (records, reason)."""
    pipeline = emulator._pipeline(deadline, stop)
    records = []
    try:
        for shot, seed in zip(shots, seeds):
            record = pipeline.run_shot(program, shot, seed)
            records.append(record)
            if record.status == "panic":
                return records, "panic"
    except _Timeout:
        return records, "timeout"
    finally:
        pipeline.close()
    return records, None


_FORKED: tuple | None = None
"""The emulator and program of the parallel run in progress, for forked workers."""


def _run_forked(shots: list[int], seeds: list, deadline) -> tuple[list, str | None]:
    emulator, program = _FORKED
    return _run_shots(emulator, program, shots, seeds, deadline)


class Emulator:
    """A hybrid-program emulator: ``n_qubits`` qubits, a runtime, an error model and a simulator.

    Args:
        n_qubits: how many qubits a shot may hold at once.
        runtime: a :class:`~qlab.emulator.runtimes.Runtime` (default :class:`SimpleRuntime`).
        error_model: an :class:`~qlab.emulator.error_models.ErrorModel` (default ideal).
        simulator: a :class:`~qlab.emulator.simulators.Simulator` (default :class:`DensityMatrixSimulator`).

    >>> Emulator(4)
    Emulator(4, runtime=SimpleRuntime(), error_model=IdealErrorModel(), simulator=DensityMatrixSimulator())
    """

    def __init__(self, n_qubits: int, runtime: Runtime | None = None, error_model: ErrorModel | None = None,
                 simulator: Simulator | None = None):
        if isinstance(n_qubits, bool) or not isinstance(n_qubits, (int, np.integer)) or not 1 <= n_qubits <= 4096:
            raise PluginError(f"Emulator: n_qubits must be an int between 1 and 4096, got {n_qubits!r}.")
        self.n_qubits = int(n_qubits)
        self.runtime = SimpleRuntime() if runtime is None else runtime
        self.error_model = IdealErrorModel() if error_model is None else error_model
        self.simulator = DensityMatrixSimulator() if simulator is None else simulator
        for name, plugin, base in (("runtime", self.runtime, Runtime), ("error_model", self.error_model, ErrorModel),
                                   ("simulator", self.simulator, Simulator)):
            if not isinstance(plugin, base):
                raise QlabTypeError(f"Emulator: {name} must be a {base.__name__}, got {type(plugin).__name__}.")
            check_api_version(plugin)

    def __repr__(self) -> str:
        return (f"Emulator({self.n_qubits}, runtime={self.runtime!r}, error_model={self.error_model!r}, "
                f"simulator={self.simulator!r})")

    def plugins(self) -> dict[str, Any]:
        """The three plugins by role."""
        return {"runtime": self.runtime, "error_model": self.error_model, "simulator": self.simulator}

    def _pipeline(self, deadline=None, stop=None) -> _Pipeline:
        # Fresh copies: a run never changes the plugins the user holds.
        return _Pipeline(self.n_qubits, copy.deepcopy(self.runtime), copy.deepcopy(self.error_model),
                         copy.deepcopy(self.simulator), deadline, stop)

    def run(self, program: Callable, shots: int = 1, seed: int | None = None, timeout: float | None = None,
            n_processes: int = 1, *, sample_once: bool | None = None, progress: bool | None = None,
            stop: threading.Event | None = None, on_shots: Callable[[int], None] | None = None,
            live: LiveMetrics | None = None):
        """Run ``program`` for ``shots`` shots and return an :class:`~qlab.emulator.result.EmulatorResult`.

        Args:
            program: a function ``program(ctx)`` of a :class:`~qlab.emulator.context.ProgramContext`,
                or a :class:`qlab.Circuit` (see :func:`qlab.emulator.circuit_program`).
            shots: how many shots.
            seed: makes the run reproducible (``None``: fresh entropy, kept on the result).
            timeout: seconds; when they run out, :class:`~qlab.exceptions.EmulatorTimeout`
                is raised carrying the completed shots as ``.result``.
            n_processes: worker processes for shots run one by one (results do not depend on it).
            sample_once: ``None`` samples every shot from one simulation when the program
                reads no measurement before it ends and the simulator can; ``False`` never
                does; ``True`` requires it.
            progress: a ``tqdm.auto`` bar over shots (``None``: shown when the run takes over a second).
            stop: a ``threading.Event`` that stops the run between operations (for jobs).
            on_shots: called with the number of completed shots as they complete.
            live: a :class:`~qlab.emulator.live.LiveMetrics` that publishes the aggregated
                metrics of the completed shots while the run goes on (for jobs and lab views).

        Raises:
            ProgramPanic: the program panicked; ``.result`` holds the shots that ran.
            EmulatorTimeout: the time ran out; ``.result`` holds the completed shots.
            ProgramError: the program misused the emulator (the message names the shot).
        """
        from ..circuit import Circuit
        from .result import EmulatorResult

        if isinstance(program, Circuit):
            from .qasm import circuit_program

            program = circuit_program(program)
        if not callable(program):
            raise QlabTypeError(f"Emulator.run: program must be a function program(ctx) or a Circuit, got {type(program).__name__}.")
        shots = _check_int(shots, "shots", 1, MAX_SHOTS)
        n_processes = _check_int(n_processes, "n_processes", 1, 256)
        if seed is not None:
            seed = _check_int(seed, "seed", 0, None)
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
            raise PluginError(f"Emulator.run: timeout must be a positive number of seconds or None, got {timeout!r}.")
        root = np.random.SeedSequence(seed)
        seeds = _ShotSeeds(root.entropy)
        started = time.perf_counter()
        deadline = None if timeout is None else time.monotonic() + timeout

        def finish(records, reason=None):
            if live is not None:
                live.finish(records)
            result = EmulatorResult(self, records, shots, root.entropy, time.perf_counter() - started)
            if reason == "panic":
                last = records[-1]
                raise ProgramPanic(
                    f"The program panicked in shot {last.shot} (code {last.exit_code}): {last.exit_message}; "
                    f"{len(records)} shot(s) ran, the remaining ones were stopped. Their results are on .result.",
                    result,
                )
            if reason == "timeout":
                raise EmulatorTimeout(
                    f"Emulator.run timed out after {timeout} s: {len(records)} of {shots} shot(s) completed; "
                    "their results are on this error's .result.",
                    result,
                )
            return result

        bar = _progress(shots, progress)
        pipeline = self._pipeline(deadline, stop)
        try:
            try:
                first = pipeline.run_shot(program, 0, seeds[0], keep_trace=sample_once is not False)
            except _Timeout:
                return finish([], "timeout")
            if isinstance(first, _Pending):
                records = pipeline.sample(first, shots, np.random.default_rng(seeds.sampler))
                if records is not None:
                    _tick(bar, on_shots, live, records)
                    return finish(records)
                if sample_once:
                    raise PluginError(
                        f"Emulator.run: sample_once=True, but {type(self.simulator).__name__} cannot sample this "
                        f"program under {type(self.error_model).__name__}; use sample_once=None to run shot by shot."
                    )
                first = pipeline.complete(first)
            elif sample_once:
                raise PluginError(
                    "Emulator.run: sample_once=True, but the program reads a measurement before it ends "
                    "(feed-forward), so its shots cannot come from one simulation."
                )
            records = [first]
            _tick(bar, on_shots, live, records)
            if first.status == "panic" or shots == 1:
                return finish(records, "panic" if first.status == "panic" else None)
            rest = list(range(1, shots))
            if n_processes == 1:
                reason = None
                try:
                    for shot in rest:
                        record = pipeline.run_shot(program, shot, seeds[shot])
                        records.append(record)
                        _tick(bar, on_shots, live, records)
                        if record.status == "panic":
                            reason = "panic"
                            break
                except _Timeout:
                    reason = "timeout"
                return finish(records, reason)
            return finish(*self._run_parallel(program, rest, seeds, deadline, n_processes, records, bar, on_shots, live))
        finally:
            pipeline.close()
            if bar is not None:
                bar.close()

    def _run_parallel(self, program, rest, seeds, deadline, n_processes, records, bar, on_shots, live):
        chunks = [c for c in (rest[i::n_processes] for i in range(n_processes)) if c]
        forking = "fork" in multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if forking else "spawn")
        reasons = []
        global _FORKED
        _FORKED = (self, program)  # forked workers inherit it: the program need not be picklable
        try:
            with ProcessPoolExecutor(len(chunks), mp_context=context) as pool:
                futures = [
                    pool.submit(_run_forked, chunk, [seeds[s] for s in chunk], deadline) if forking
                    else pool.submit(_run_shots, self, program, chunk, [seeds[s] for s in chunk], deadline)
                    for chunk in chunks
                ]
                for future in futures:
                    done, reason = future.result()
                    records.extend(done)
                    reasons.append(reason)
                    _tick(bar, on_shots, live, records)
        finally:
            _FORKED = None
        records.sort(key=lambda r: r.shot)
        panics = [r.shot for r in records if r.status == "panic"]
        if panics:
            return [r for r in records if r.shot <= panics[0]], "panic"
        return records, ("timeout" if "timeout" in reasons else None)

    def state(self, program: Callable, seed: int | None = None, qubits: Sequence[int] | None = None):
        """Run one shot of ``program`` and return the simulator's state at its end, as a QuTiP ``Qobj``.

        ``qubits`` are simulator qubit ids (``qalloc`` hands out 0, 1, ... in order);
        by default all of them, the first one most significant.

        >>> def plus(ctx):
        ...     ctx.h(ctx.qalloc())
        >>> round(float(Emulator(1).state(plus).full()[0, 1].real), 6)
        0.5
        """
        from ..circuit import Circuit

        if isinstance(program, Circuit):
            from .qasm import circuit_program

            program = circuit_program(program)
        if seed is not None:
            seed = _check_int(seed, "seed", 0, None)
        pipeline = self._pipeline()
        try:
            return pipeline.run_shot(program, 0, np.random.SeedSequence(seed).spawn(1)[0], state_of=qubits).state
        finally:
            pipeline.close()

    def submit(self, program, shots: int = 1, seed: int | None = None, *, store=None, **options):
        """Run in the background as a job of the store (family ``emulator``); returns an :class:`EmulatorJob`."""
        from .job import submit

        return submit(self, program, shots, seed, store=store, **options)

    def _repr_html_(self) -> str:
        from .result import pipeline_html

        return pipeline_html(self)


def _check_int(value, name: str, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (high is not None and value > high):
        bound = f"between {low} and {high:,}" if high is not None else f">= {low}"
        raise PluginError(f"Emulator.run: {name} must be an int {bound}, got {value!r}.")
    return int(value)


def _progress(total: int, progress: bool | None):
    if progress is False:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="shot", delay=0 if progress else 1.0, leave=bool(progress))


def _tick(bar, on_shots, live, records: list) -> None:
    done = len(records)
    if live is not None:
        live.offer(records)
    if bar is not None:
        bar.update(done - bar.n)
    if on_shots is not None:
        on_shots(done)
