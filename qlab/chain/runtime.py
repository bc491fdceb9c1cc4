"""What runs inside every plugin: the loop that calls the callbacks, and the state API they use.

A :class:`PluginRuntime` owns one plugin. It reads requests from upstream
and responses from downstream through a port (threads: :mod:`.threads`;
processes: :mod:`.sockets`), calls the definition's callbacks (or DQCsim's
defaults), and sends what they produce on. Its one rule against deadlock:
whenever it must wait (for room downstream, for a measurement, for an arb),
it keeps taking responses from downstream, so measurements never pile up
against a full link. Requests are batched; a link holds a bounded number of
batches, so a long stream of gates without measurements runs in constant
memory.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Iterable, Sequence

from ..exceptions import ChainError, ChainPluginError, QlabTypeError
from . import protocol as P
from .data import ArbCmd, ArbData, Gate, Measurement, QubitRef, _refs, as_arb_data
from .definition import PluginDefinition, PluginType
from .logs import LogLevel

__all__ = ["PluginState", "PluginRuntime", "Counters"]

PENDING_MEASURES = 64
"""Send cycles remembered per qubit for measurements whose results have not come back."""

STATS_INTERVAL = 0.1
"""Seconds between counter reports to the host (process plugins)."""


class Aborted(BaseException):
    """Unwinds a plugin when the simulation is torn down (not an error of the plugin)."""


class _Failed(BaseException):
    """Unwinds a plugin whose callback failed (already reported to the host)."""


class _Stop(BaseException):
    """Unwinds a frontend's run that waits in recv when the host stops the simulation."""


class Counters:
    """What a plugin has done so far: gates, measurements, arbs, cycles."""

    __slots__ = ("gates", "measurements", "arbs", "cycles")

    def __init__(self, gates: int = 0, measurements: int = 0, arbs: int = 0, cycles: int = 0):
        self.gates, self.measurements, self.arbs, self.cycles = gates, measurements, arbs, cycles

    def as_list(self) -> list[int]:
        return [self.gates, self.measurements, self.arbs, self.cycles]

    def as_dict(self) -> dict[str, int]:
        return dict(zip(self.__slots__, self.as_list()))

    def __repr__(self) -> str:
        return "Counters(" + ", ".join(f"{k}={v}" for k, v in self.as_dict().items()) + ")"


def _measurements(value, where: str) -> list[Measurement]:
    """A callback's measurement return value as a list (None, one Measurement, or an iterable)."""
    if value is None:
        return []
    if isinstance(value, Measurement):
        return [value]
    if isinstance(value, Gate):  # DQCsim's shortcut: returning the gate means "no measurements"
        return []
    try:
        items = list(value)
    except TypeError:
        raise QlabTypeError(f"{where} must return None, a Measurement or a list of them, got {type(value).__name__}.") from None
    for m in items:
        if not isinstance(m, Measurement):
            raise QlabTypeError(f"{where} must return Measurements, got {type(m).__name__} {m!r}.")
    return items


class PluginState:
    """The plugin-side API, handed to every callback as ``state``.

    ``gate`` never waits: gates go down in batches. ``get_measurement``,
    ``arb`` and ``get_cycle`` after a measurement synchronise with the plugins
    downstream. Inside ``modify_measurement`` only logging and the random
    numbers may be used (the call is asynchronous to the gate stream).
    """

    __slots__ = ("_rt",)

    def __init__(self, runtime: PluginRuntime):
        self._rt = runtime

    # ------------------------------------------------------------ identity
    @property
    def name(self) -> str:
        """The plugin's instance name in the simulation."""
        return self._rt.name

    @property
    def index(self) -> int:
        """The plugin's position in the chain (0 = frontend)."""
        return self._rt.index

    @property
    def type(self) -> PluginType:
        """The plugin's type."""
        return self._rt.type

    def __repr__(self) -> str:
        return f"<PluginState of {self._rt.name!r} ({self._rt.type.value})>"

    # -------------------------------------------------------------- qubits
    def allocate(self, num_qubits: int = 1, cmds: Sequence[ArbCmd] = ()) -> list[QubitRef]:
        """Allocate ``num_qubits`` downstream; return their fresh references."""
        rt = self._rt
        rt._downstream_call("allocate")
        if isinstance(num_qubits, bool) or not isinstance(num_qubits, int) or num_qubits < 1:
            raise ChainError(f"allocate: num_qubits must be a positive int, got {num_qubits!r}.")
        refs = tuple(range(rt._next_ref, rt._next_ref + num_qubits))
        rt._send_allocate(refs, cmds)
        return [QubitRef(r) for r in refs]

    def allocate_as(self, qubits: Sequence[int], cmds: Sequence[ArbCmd] = ()) -> None:
        """Allocate downstream under the given references (how operators pass an allocation on unchanged)."""
        rt = self._rt
        rt._downstream_call("allocate")
        refs = _refs(tuple(qubits), "allocate_as qubits")
        taken = [q for q in refs if q in rt._live]
        if taken:
            raise ChainError(f"allocate_as: plugin {rt.name!r} already has qubit(s) {taken} allocated.")
        rt._send_allocate(refs, cmds)

    def free(self, *qubits: int) -> None:
        """Free qubits downstream."""
        rt = self._rt
        rt._downstream_call("free")
        refs = rt._live_refs(qubits, "free")
        for r in refs:
            rt._live.discard(r)
            rt._results.pop(r, None)
        rt._push((P.FREE, refs))

    # --------------------------------------------------------------- gates
    def gate(self, gate: Gate) -> None:
        """Send a gate downstream (fire and forget)."""
        rt = self._rt
        if rt._forbidden is not None:
            rt._downstream_call("gate")
        if not isinstance(gate, Gate):
            raise QlabTypeError(f"gate: expected a Gate, got {type(gate).__name__} {gate!r}.")
        live = rt._live
        for q in gate.targets:
            if q not in live:
                rt._live_refs(gate.qubits, "gate")
        for q in gate.controls:
            if q not in live:
                rt._live_refs(gate.qubits, "gate")
        if gate.measures:
            rt._live_refs(gate.measures, "gate")
            rt._note_measures(gate.measures)
        if rt._counts_sent:
            rt.counters.gates += 1
        out = rt._out
        out.append((P.GATE, gate))
        if len(out) >= P.BATCH:
            rt._flush_down()

    def measure(self, *qubits: int, basis=None) -> None:
        """Shorthand for ``gate(Gate.measure(*qubits, basis=basis))``."""
        self.gate(Gate.measure(*qubits, basis=basis))

    def get_measurement(self, qubit: int) -> Measurement:
        """The latest measurement of ``qubit`` (waits until every gate sent so far is done)."""
        rt = self._rt
        rt._downstream_call("get_measurement")
        rt.sync()
        record = rt._results.get(int(qubit))
        if record is None:
            raise ChainError(f"get_measurement: qubit {qubit} of plugin {rt.name!r} has not been measured.")
        return record[0]

    def get_cycles_since_measure(self, qubit: int) -> int:
        """Cycles advanced since the latest measurement of ``qubit``."""
        rt = self._rt
        rt._downstream_call("get_cycles_since_measure")
        rt.sync()
        record = rt._results.get(int(qubit))
        if record is None:
            raise ChainError(f"get_cycles_since_measure: qubit {qubit} of plugin {rt.name!r} has not been measured.")
        return rt.cycle - record[1]

    def get_cycles_between_measures(self, qubit: int) -> int:
        """Cycles between the two latest measurements of ``qubit``."""
        rt = self._rt
        rt._downstream_call("get_cycles_between_measures")
        rt.sync()
        record = rt._results.get(int(qubit))
        if record is None or record[2] is None:
            raise ChainError(f"get_cycles_between_measures: qubit {qubit} of plugin {rt.name!r} has not been measured twice.")
        return record[1] - record[2]

    def get_cycle(self) -> int:
        """The cycle counter: of the link downstream (advanced by :meth:`advance`), or upstream for a backend."""
        rt = self._rt
        return rt.rx_cycle if rt.type is PluginType.BACKEND else rt.cycle

    def advance(self, cycles: int) -> int:
        """Advance time by ``cycles`` downstream; return the new cycle count."""
        rt = self._rt
        rt._downstream_call("advance")
        if isinstance(cycles, bool) or not isinstance(cycles, int) or cycles < 0:
            raise ChainError(f"advance: cycles must be an int >= 0, got {cycles!r}.")
        rt.cycle += cycles
        if rt.type is PluginType.FRONTEND:
            rt.counters.cycles = rt.cycle
        rt._push((P.ADVANCE, cycles))
        return rt.cycle

    def arb(self, cmd: ArbCmd | str, operation_id: str | None = None, data=None) -> ArbData:
        """Send an :class:`ArbCmd` to the downstream plugin and return its answer (synchronous).

        ``state.arb("iface", "op", {"x": 1})`` is short for ``state.arb(ArbCmd("iface", "op", {"x": 1}))``.
        """
        rt = self._rt
        rt._downstream_call("arb")
        if not isinstance(cmd, ArbCmd):
            cmd = ArbCmd(cmd, operation_id, data)
        return rt.request_arb(cmd)

    # -------------------------------------------------------------- host
    def send(self, data=None) -> None:
        """Frontend: queue ArbData for the host's ``recv`` (delivered when the host next yields)."""
        rt = self._rt
        rt._frontend_only("send")
        rt._to_host_data.append(as_arb_data(data, "send"))

    def recv(self) -> ArbData:
        """Frontend: the next ArbData the host sent (waits for the host when there is none)."""
        rt = self._rt
        rt._frontend_only("recv")
        return rt.receive_from_host()

    # ------------------------------------------------------ random numbers
    def random_u64(self) -> int:
        """A pseudo-random 64-bit unsigned integer from this plugin's seeded stream."""
        return self._rt.rng.getrandbits(64)

    def random_f64(self) -> float:
        """A pseudo-random float in [0, 1) from this plugin's seeded stream."""
        return self._rt.rng.random()

    # ------------------------------------------------------------- logging
    def log(self, level: LogLevel | str, message: str) -> None:
        """Log ``message`` at a DQCsim level; it reaches the host's ``logging`` under the plugin's name."""
        self._rt.log(LogLevel.from_value(level), str(message))

    def trace(self, message: str) -> None:
        """Log at level trace."""
        self._rt.log(LogLevel.TRACE, str(message))

    def debug(self, message: str) -> None:
        """Log at level debug."""
        self._rt.log(LogLevel.DEBUG, str(message))

    def info(self, message: str) -> None:
        """Log at level info."""
        self._rt.log(LogLevel.INFO, str(message))

    def note(self, message: str) -> None:
        """Log at level note."""
        self._rt.log(LogLevel.NOTE, str(message))

    def warn(self, message: str) -> None:
        """Log at level warn."""
        self._rt.log(LogLevel.WARN, str(message))

    def error(self, message: str) -> None:
        """Log at level error."""
        self._rt.log(LogLevel.ERROR, str(message))

    def fatal(self, message: str) -> None:
        """Log at level fatal."""
        self._rt.log(LogLevel.FATAL, str(message))


class PluginRuntime:
    """Runs one plugin definition against a port.

    Args:
        definition: the plugin.
        index: its position in the chain.
        name: its instance name.
        port: its connections (see :mod:`.threads` and :mod:`.sockets`).
        seeds: three integers seeding the random streams used in callbacks
            caused by the host, by upstream requests and by downstream
            responses (so the numbers do not depend on scheduling).
        log_level: messages below it are not sent.
        init_cmds: the ArbCmds given to ``initialize``.
        last: whether the plugin is the backend (nothing downstream).
    """

    def __init__(self, definition: PluginDefinition, index: int, name: str, port, seeds: Sequence[int],
                 log_level: LogLevel, init_cmds: Sequence[ArbCmd] = ()):
        self.definition = definition
        self.type = definition.type
        self.index = index
        self.name = name
        self.port = port
        self.state = PluginState(self)
        self.log_level = log_level
        self._log_threshold = log_level.python_level
        self.init_cmds = list(init_cmds)
        self._rng_host, self._rng_up, self._rng_down = (random.Random(s) for s in seeds)
        self.rng = self._rng_host
        self.counters = Counters()
        self.cycle = 0
        self.rx_cycle = 0
        self._next_ref = 1
        self._live: set[int] = set()
        self._results: dict[int, tuple[Measurement, int, int | None]] = {}
        self._measured_at: dict[int, deque] = {}
        self._out: list = []
        self._up_out: list = []
        self._token_count = 0
        self._batches_sent = 0
        self._synced_at = 0
        self._done_tokens: dict[int, tuple] = {}
        self._counts_sent = self.type is PluginType.FRONTEND
        self._must_answer = self.type is PluginType.BACKEND
        self._forbidden: str | None = "backend" if self.type is PluginType.BACKEND else None
        self._dropped = False
        self.aborted = False
        self._last_stats = 0.0
        # frontend only
        self._from_host_data: list[ArbData] = []
        self._to_host_data: list[ArbData] = []
        self._running = False
        cb = definition.get_callback
        self._cb_gate = cb("gate")
        self._cb_modify = cb("modify_measurement")

    # --------------------------------------------------------------- logging
    def log(self, level: LogLevel, message: str) -> None:
        if level.python_level >= self._log_threshold and level is not LogLevel.OFF:
            self.port.to_host((P.P_LOG, self.index, level.value, message))

    # ---------------------------------------------------------------- checks
    def _downstream_call(self, what: str) -> None:
        if self._forbidden == "backend":
            raise ChainError(f"{what}: plugin {self.name!r} is a backend; backends have no downstream plugin.")
        if self._forbidden == "modify_measurement":
            raise ChainError(
                f"{what}: plugin {self.name!r} is inside modify_measurement, where only logging and random numbers may be used."
            )

    def _frontend_only(self, what: str) -> None:
        if self.type is not PluginType.FRONTEND:
            raise ChainError(f"{what}: only a frontend talks to the host; {self.name!r} is a {self.type.value}.")
        if self._forbidden is not None:
            self._downstream_call(what)

    def _live_refs(self, qubits: Iterable[int], what: str) -> tuple[int, ...]:
        refs = _refs(tuple(qubits), f"{what} qubits")
        dead = [q for q in refs if q not in self._live]
        if dead:
            raise ChainError(f"{what}: plugin {self.name!r} has not allocated qubit(s) {dead} (allocated: {sorted(self._live)}).")
        return refs

    def _note_measures(self, qubits) -> None:
        """Remember the cycle each measurement was sent at, until its result comes back."""
        at = self._measured_at
        for q in qubits:
            pending = at.get(q)
            if pending is None:
                pending = at[q] = deque(maxlen=PENDING_MEASURES)
            pending.append(self.cycle)

    def _send_allocate(self, refs: tuple[int, ...], cmds) -> None:
        cmds = list(cmds)
        for c in cmds:
            if not isinstance(c, ArbCmd):
                raise QlabTypeError(f"allocate: cmds must be ArbCmds, got {type(c).__name__}.")
        self._next_ref = max(self._next_ref, max(refs) + 1)
        self._live.update(refs)
        self._push((P.ALLOCATE, refs, cmds))

    # -------------------------------------------------------------- sending
    def _push(self, message: tuple) -> None:
        self._out.append(message)
        if len(self._out) >= P.BATCH:
            self._flush_down()

    def _flush_down(self) -> None:
        if not self._out:
            return
        port = self.port
        while not port.has_credit():
            port.wait(requests=False, responses=True, host=False, credit=True)
            self._take_responses()
            self._flush_up()
        batch, self._out = self._out, []
        port.send_down(batch)
        self._batches_sent += 1
        if port.has_responses():
            self._take_responses()

    def _flush_up(self) -> None:
        if self._up_out:
            batch, self._up_out = self._up_out, []
            self.port.send_up(batch)
        now = time.monotonic()
        if now - self._last_stats > STATS_INTERVAL:
            self._last_stats = now
            self.port.stats(self.index, self.counters)

    def _new_token(self) -> int:
        self._token_count += 1
        return self._token_count * P.MAX_PLUGINS + self.index

    def _await(self, token: int) -> tuple:
        self._flush_down()
        self._flush_up()
        port = self.port
        while token not in self._done_tokens:
            port.wait(requests=False, responses=True, host=False, credit=False)
            self._take_responses()
            self._flush_up()
        return self._done_tokens.pop(token)

    def sync(self) -> None:
        """Wait until every request sent so far has been done downstream (at once if nothing was sent since the last sync)."""
        if not self._out and self._batches_sent == self._synced_at:
            return
        token = self._new_token()
        self._out.append((P.SYNC, token))
        self._await(token)
        self._synced_at = self._batches_sent

    def request_arb(self, cmd: ArbCmd) -> ArbData:
        token = self._new_token()
        self._out.append((P.ARB, token, cmd))
        ok, payload = self._await(token)
        if ok:
            return payload
        plugin, message = payload
        raise ChainPluginError(message, plugin=plugin)

    # ------------------------------------------------------------ callbacks
    def _invoke(self, cb_name: str, fn, *args):
        try:
            return fn(self.state, *args)
        except (Aborted, _Failed, _Stop):
            raise
        except ChainPluginError as err:
            self.port.to_host((P.P_ERROR, self.index, err.plugin or self.name, cb_name, str(err)))
            raise _Failed from err
        except BaseException as err:  # noqa: BLE001 - any error of user code ends the simulation
            message = f"{type(err).__name__}: {err}"
            self.port.to_host((P.P_ERROR, self.index, self.name, cb_name, message))
            raise _Failed from err

    def _call(self, cb_name: str, *args):
        """Call a callback, or DQCsim's default for this plugin type."""
        fn = self.definition.get_callback(cb_name)
        if fn is not None:
            return self._invoke(cb_name, fn, *args)
        return self._invoke(cb_name, _DEFAULTS[cb_name][self.type], *args)

    # ------------------------------------------------------------ requests
    def _take_requests(self, batch: list) -> None:
        self.rng = self._rng_up
        counters = self.counters
        cb_gate = self._cb_gate
        up = self._up_out
        for message in batch:
            op = message[0]
            if op == P.GATE:
                counters.gates += 1
                gate = message[1]
                if cb_gate is None:  # operator default: pass the gate on
                    self._out.append(message)
                    if gate.measures:
                        self._note_measures(gate.measures)
                    if len(self._out) >= P.BATCH:
                        self._flush_down()
                    continue
                results = _measurements(self._invoke("gate", cb_gate, gate), f"{self.name}.gate")
                if self._must_answer and (results or gate.measures):
                    results = self._exactly_measured(gate, results)
                if results:
                    counters.measurements += len(results)
                    up.append((P.MEASURED, results))
            elif op == P.SYNC:
                if self.type is PluginType.BACKEND:
                    up.append((P.SYNCED, message[1]))
                else:
                    self._push(message)
            elif op == P.ALLOCATE:
                self._call("allocate", [QubitRef(q) for q in message[1]], list(message[2]))
            elif op == P.FREE:
                self._call("free", [QubitRef(q) for q in message[1]])
            elif op == P.ADVANCE:
                self.rx_cycle += message[1]
                counters.cycles = self.rx_cycle
                self._call("advance", message[1])
            elif op == P.ARB:
                counters.arbs += 1
                up.append((P.ARB_DONE, message[1], *self._answer("upstream_arb", message[2])))
            elif op == P.HOST_ARB:
                if message[2] == self.index:
                    counters.arbs += 1
                    self.rng = self._rng_host
                    up.append((P.HOST_ARB_DONE, message[1], *self._answer("host_arb", message[3])))
                    self.rng = self._rng_up
                else:
                    self._push(message)
            elif op == P.DROP:
                self._drop()
                return

    def _exactly_measured(self, gate: Gate, results: list[Measurement]) -> list[Measurement]:
        """A backend answers every measured qubit once (DQCsim's rule): warn, fill in undefined, drop the rest."""
        wanted = gate.measures
        got = [m.qubit for m in results]
        if got == list(wanted):
            return results
        by_qubit: dict[int, Measurement] = {}
        for m in results:
            if m.qubit in wanted and m.qubit not in by_qubit:
                by_qubit[m.qubit] = m
        extra = [q for q in got if q not in wanted]
        missing = [q for q in wanted if q not in by_qubit]
        if extra or missing or len(got) != len(wanted):
            self.log(LogLevel.WARN, f"gate {gate!r} measures {list(wanted)} but the backend answered for {got}; "
                                    f"missing ones are undefined, others dropped.")
        return [by_qubit.get(q) or Measurement._trusted(q, None) for q in wanted]

    def _answer(self, cb_name: str, cmd: ArbCmd) -> tuple[bool, object]:
        """Run an arb callback; a failure is returned to the asker, not fatal here."""
        fn = self.definition.get_callback(cb_name) or _DEFAULTS[cb_name][self.type]
        try:
            return True, as_arb_data(fn(self.state, cmd), f"{self.name}.{cb_name} return value")
        except (Aborted, _Failed, _Stop):
            raise
        except ChainPluginError as err:
            return False, (err.plugin or self.name, str(err))
        except Exception as err:  # noqa: BLE001 - reported to the plugin that asked
            return False, (self.name, f"{type(err).__name__}: {err}")

    # ----------------------------------------------------------- responses
    def _take_responses(self) -> None:
        port = self.port
        batch = port.pop_responses()
        while batch is not None:
            self._responses(batch)
            batch = port.pop_responses()

    def _responses(self, batch: list) -> None:
        for message in batch:
            op = message[0]
            if op == P.MEASURED:
                self._on_measured(message[1])
            elif op in (P.SYNCED, P.ARB_DONE, P.HOST_ARB_DONE, P.DROPPED):
                token = message[1] if op != P.DROPPED else 0
                if op == P.DROPPED or token % P.MAX_PLUGINS == self.index:
                    self._done_tokens[token] = message[2:]
                else:
                    self._up_out.append(message)

    def _on_measured(self, measurements: list[Measurement]) -> None:
        results = self._results
        at = self._measured_at
        cycle = self.cycle
        for m in measurements:
            previous = results.get(m.qubit)
            pending = at.get(m.qubit)
            results[m.qubit] = (m, pending.popleft() if pending else cycle, None if previous is None else previous[1])
        if self.type is PluginType.FRONTEND:
            self.counters.measurements += len(measurements)
            return
        cb = self._cb_modify
        if cb is None:
            out = measurements
        else:
            self.rng = self._rng_down
            self._forbidden = "modify_measurement"
            out = []
            try:
                for m in measurements:
                    out.extend(_measurements(self._invoke("modify_measurement", cb, m), f"{self.name}.modify_measurement"))
            finally:
                self._forbidden = None
                self.rng = self._rng_up
        if out:
            self.counters.measurements += len(out)
            self._up_out.append((P.MEASURED, out))

    # ---------------------------------------------------------------- loops
    def serve(self) -> None:
        """The plugin's life: initialize, handle requests (and the host, for a frontend) until dropped."""
        try:
            self.rng = self._rng_host
            self._call("initialize", list(self.init_cmds))
            self._flush_down()
            d = self.definition
            self.port.to_host((P.P_READY, self.index, self.type.value, d.name, d.author, d.version))
            if self.type is PluginType.FRONTEND:
                self._serve_host()
            else:
                self._serve_requests()
        except Aborted:
            self.aborted = True
        except _Failed:
            return
        except BaseException as err:  # noqa: BLE001 - a fault of the runtime itself still ends the simulation cleanly
            self.port.to_host((P.P_ERROR, self.index, self.name, "runtime", f"{type(err).__name__}: {err}"))
        if not self.aborted:
            self.port.stats(self.index, self.counters)

    def _serve_requests(self) -> None:
        port = self.port
        reported = None
        while not self._dropped:
            counters = self.counters.as_list()
            if counters != reported and not port.has_requests() and not port.has_responses():  # idle: report the counters
                port.stats(self.index, self.counters)
                reported = counters
            port.wait(requests=True, responses=True, host=False, credit=False)
            self._take_responses()
            batch = port.pop_requests()
            if batch is not None:
                self._take_requests(batch)
                self._flush_down()
            self._flush_up()

    def _drop(self) -> None:
        self.rng = self._rng_host
        self._call("drop")
        if self.type is not PluginType.BACKEND:
            self._out.append((P.DROP,))
            self._await(0)
        self._dropped = True
        self._up_out.append((P.DROPPED,))
        self._flush_up()

    # -------------------------------------------------------- frontend side
    def _next_host_message(self) -> tuple:
        port = self.port
        while True:
            message = port.pop_host()
            if message is not None:
                return message
            port.wait(requests=False, responses=True, host=True, credit=False)
            self._take_responses()

    def _serve_host(self) -> None:
        while True:
            message = self._next_host_message()
            op = message[0]
            if op == P.H_RUN:
                try:
                    self._on_run(message[1], message[2])
                except _Stop:  # stopped while the run waited for the host
                    self._stop()
                    return
            elif op == P.H_ARB:
                self._on_host_arb(message[1], message[2])
            elif op == P.H_STOP:
                self._stop()
                return

    def _reply_run(self, status: str, result: ArbData | None = None) -> None:
        sent, self._to_host_data = self._to_host_data, []
        self.port.to_host((P.P_RUN, status, result, sent))

    def _on_run(self, start: ArbData | None, data: list[ArbData]) -> None:
        self._from_host_data.extend(data)
        if start is None:
            self._reply_run("idle")
            return
        self._running = True
        self.rng = self._rng_host
        try:
            result = as_arb_data(self._call("run", start), f"{self.name}.run return value")
            self.sync()
        finally:
            self._running = False
        self.port.stats(self.index, self.counters)
        self._reply_run("done", result)

    def _on_host_arb(self, target: int, cmd: ArbCmd) -> None:
        if target == self.index:
            self.counters.arbs += 1
            saved, self.rng = self.rng, self._rng_host
            ok, payload = self._answer("host_arb", cmd)
            self.rng = saved
        else:
            token = self._new_token()
            self._out.append((P.HOST_ARB, token, target, cmd))
            ok, payload = self._await(token)
        self.port.to_host((P.P_ARB, ok, payload))

    def receive_from_host(self) -> ArbData:
        while not self._from_host_data:
            self._flush_down()
            self._reply_run("blocked")
            message = self._next_host_message()
            op = message[0]
            if op == P.H_RUN:
                self._from_host_data.extend(message[2])
            elif op == P.H_ARB:
                self._on_host_arb(message[1], message[2])
            elif op == P.H_STOP:
                raise _Stop
        return self._from_host_data.pop(0)

    def _stop(self) -> None:
        self.rng = self._rng_host
        self._call("drop")
        self._out.append((P.DROP,))
        self._await(0)
        self.port.to_host((P.P_STOPPED,))


# ------------------------------------------------------------------ defaults
def _noop(state, *args):
    return None


def _empty_arb(state, cmd):
    return ArbData()


def _not_implemented(cb_name: str):
    def fail(state, *args):
        raise ChainError(f"{cb_name} is not implemented by plugin {state.name!r}")
    return fail


def _pass_allocate(state, qubits, cmds):
    state.allocate_as(qubits, cmds)


def _pass_free(state, qubits):
    state.free(*qubits)


def _pass_gate(state, gate):
    state.gate(gate)


def _pass_advance(state, cycles):
    state.advance(cycles)


def _pass_arb(state, cmd):
    return state.arb(cmd)


def _same_measurement(state, measurement):
    return measurement


_F, _O, _B = PluginType.FRONTEND, PluginType.OPERATOR, PluginType.BACKEND
_DEFAULTS = {
    "initialize": {_F: _noop, _O: _noop, _B: _noop},
    "drop": {_F: _noop, _O: _noop, _B: _noop},
    "run": {_F: _not_implemented("run")},
    "allocate": {_O: _pass_allocate, _B: _noop},
    "free": {_O: _pass_free, _B: _noop},
    "gate": {_O: _pass_gate, _B: _not_implemented("gate")},
    "modify_measurement": {_O: _same_measurement},
    "advance": {_O: _pass_advance, _B: _noop},
    "upstream_arb": {_O: _pass_arb, _B: _empty_arb},
    "host_arb": {_F: _empty_arb, _O: _empty_arb, _B: _empty_arb},
}
"""DQCsim's defaults: operators pass through, backends do nothing, modify_measurement keeps the measurement."""

