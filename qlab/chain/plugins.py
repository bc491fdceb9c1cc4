"""Built-in plugins: a circuit frontend, operators (counter/tracer, noise, readout flips, remapping), backends.

Each function returns a :class:`~qlab.chain.PluginDefinition`. Those whose
arguments are plain JSON carry a :class:`~qlab.chain.PluginSpec`, so they also
run in plugin processes and replay from reproduction files.

Two custom gates are understood by the density-matrix backend and produced
by the built-ins: ``channel`` (a CPTP map on its targets, its Kraus
operators as complex128 binary args, see :func:`channel_gate`) and ``delay``
(idle noise on its targets for ``data.json["seconds"]``).

>>> from qlab import Circuit
>>> from qlab.chain import Simulation
>>> sim = Simulation(circuit_frontend(Circuit(2).h(0).cx(0, 1).measure_all(), shots=50),
...                  gate_counter(), backend=density_matrix_backend(), seed=3, store=False)
>>> counts = sim.run().json["counts"]
>>> sorted(counts), sum(counts.values())
(['00', '11'], 50)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..circuit import Circuit
from ..exceptions import ChainDefinitionError, ChainError, QlabTypeError
from .data import ArbCmd, ArbData, Gate, GateKind, Measurement
from .definition import PluginDefinition, PluginSpec

__all__ = [
    "circuit_frontend",
    "gate_counter",
    "noise_injector",
    "readout_flip",
    "qubit_remapper",
    "density_matrix_backend",
    "null_backend",
    "channel_gate",
]

AUTHOR = "qlab"
VERSION = "0.1.0"
_SPEC = "qlab.chain.plugins:"


# --------------------------------------------------------------- custom gates
def channel_gate(channel, *qubits: int) -> Gate:
    """The custom ``channel`` gate that applies ``channel`` to ``qubits`` in the density-matrix backend.

    >>> from qlab.sim import depolarizing
    >>> channel_gate(depolarizing(0.1), 1).name
    'channel'
    """
    from ..sim.channels import Channel

    if not isinstance(channel, Channel):
        raise QlabTypeError(f"channel_gate: expected a qlab Channel, got {type(channel).__name__}.")
    ops = channel.to_kraus()
    return Gate.custom("channel", targets=qubits, data=ArbData({"kraus": len(ops)}, [np.ascontiguousarray(k, dtype=complex).tobytes() for k in ops]))


def _channel_from_gate(gate: Gate):
    from ..sim.channels import kraus

    d = 2 ** len(gate.targets)
    try:
        ops = [np.frombuffer(a, dtype=complex).reshape(d, d) for a in gate.data.args]
    except ValueError as err:
        raise ChainDefinitionError(f"channel gate on {gate.targets}: each binary arg must be a {d}x{d} complex128 matrix.") from err
    return kraus(ops)


# ------------------------------------------------------------------- frontend
def _as_circuit(program) -> tuple[Circuit, str | None]:
    """A circuit and, when it has one, its QASM text (for the plugin spec)."""
    if isinstance(program, Circuit):
        try:
            return program, program.to_qasm(3)
        except Exception:  # noqa: BLE001 - a circuit QASM cannot express still runs in threads
            return program, None
    if isinstance(program, (str, Path)):
        text = str(program)
        if "OPENQASM" not in text and Path(text).is_file():
            text = Path(text).read_text()
        return Circuit.from_qasm(text), text
    raise QlabTypeError(f"circuit_frontend: expected a Circuit, QASM text or a QASM file path, got {type(program).__name__}.")


def circuit_frontend(circuit, shots: int = 1) -> PluginDefinition:
    """A frontend that runs a qlab :class:`~qlab.circuit.Circuit` (or QASM text or file) shot by shot.

    Each shot allocates the circuit's qubits, sends its gates (library gates
    by name, user matrices as unitaries, ``reset`` as a preparation,
    ``delay`` as a custom gate), reads measurements when a condition or a
    later gate on the qubit needs them, and frees the qubits. ``run``
    returns ``{"counts": {key: n}, "memory": [key, ...]}`` with qlab's key
    format; ``start({"shots": n})`` overrides ``shots``.
    """
    circuit, qasm = _as_circuit(circuit)
    if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
        raise ChainDefinitionError(f"circuit_frontend: shots must be a positive int, got {shots!r}.")
    spec = None if qasm is None else PluginSpec(_SPEC + "circuit_frontend", {"circuit": qasm, "shots": shots})
    program = [_lower(ins) for ins in circuit.instructions]

    def format_record(record):  # qlab's outcome keys (qlab.sim.result.format_record), without importing the physics
        return " ".join("".join(str(record[b]) for b in reg) for reg in circuit.cregs)

    def run(state, args):
        n = args.json.get("shots", shots)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ChainDefinitionError(f"circuit_frontend: shots must be a positive int, got {n!r}.")
        memory = [format_record(_shot(state, circuit, program)) for _ in range(n)]
        return ArbData({"counts": dict(sorted(Counter(memory).items())), "memory": memory})

    return PluginDefinition("frontend", "circuit", AUTHOR, VERSION, spec=spec, run=run)


def _lower(ins):
    """An instruction as (kind, gate-builder data) once, before any shot."""
    if ins.name == "measure":
        return ("measure", ins)
    if ins.name == "barrier":
        return ("skip", ins)
    if ins.name == "reset":
        return ("reset", ins)
    if ins.name == "delay":
        return ("delay", ins)
    return ("gate", ins)


def _shot(state, circuit: Circuit, program) -> list[int]:
    refs = state.allocate(circuit.num_qubits) if circuit.num_qubits else []
    record = [0] * circuit.num_clbits
    pending: dict[int, list[int]] = {}  # qubit -> classical bits waiting for its measurement

    def resolve(qubits) -> None:
        for q in qubits:
            bits = pending.pop(q, None)
            if bits:
                value = state.get_measurement(refs[q]).value
                for b in bits:
                    record[b] = 0 if value is None else value

    for kind, ins in program:
        if ins.condition is not None:
            resolve([q for q in list(pending)])
            if not ins.condition.holds(tuple(record)):
                continue
        if kind == "skip":
            continue
        if pending:
            resolve([q for q in ins.qubits if q in pending])
        targets = [refs[q] for q in ins.qubits]
        if kind == "gate":
            if ins.name == "unitary":
                state.gate(Gate.unitary(targets, ins.matrix))
            else:
                state.gate(Gate.library(ins.name, *targets, params=ins.params))
        elif kind == "measure":
            state.gate(Gate.measure(*targets))
            pending[ins.qubits[0]] = [ins.clbits[0]]
        elif kind == "reset":
            state.gate(Gate.prepare(*targets))
        elif kind == "delay":
            state.gate(Gate.custom("delay", targets=targets, data={"seconds": ins.duration_seconds}))
    resolve(list(pending))
    if refs:
        state.free(*refs)
    return record


# ------------------------------------------------------------------ operators
def gate_counter(trace: bool = False) -> PluginDefinition:
    """An operator that counts the gates passing through (and logs each one at ``info`` with ``trace=True``).

    ``host_arb`` on interface ``counter``: ``counts`` returns ``{"gate name": n}``
    (unitaries by library name or ``"unitary"``, then ``"measure"``,
    ``"prepare"`` and custom names), ``reset`` clears them.
    """
    counts: Counter = Counter()

    def gate(state, gate):
        key = gate.name if gate.name else ("measure" if gate.kind is GateKind.MEASUREMENT else
                                           "prepare" if gate.kind is GateKind.PREPARATION else "unitary")
        counts[key] += 1
        if trace:
            state.info(f"{gate!r}")
        state.gate(gate)

    def host_arb(state, cmd):
        if cmd.interface_id != "counter":
            return ArbData()
        if cmd.operation_id == "counts":
            return ArbData(dict(counts))
        if cmd.operation_id == "reset":
            counts.clear()
            return ArbData()
        raise ChainError(f"gate_counter: unknown operation {cmd.operation_id!r} (allowed: counts, reset).")

    return PluginDefinition("operator", "tracer" if trace else "counter", AUTHOR, VERSION,
                            spec=PluginSpec(_SPEC + "gate_counter", {"trace": trace}), gate=gate, host_arb=host_arb)


def noise_injector(noise=None, *, device: str | None = None, cycle_time: float | None = None) -> PluginDefinition:
    """An operator that adds a :class:`~qlab.sim.NoiseModel`'s gate errors to the stream as ``channel`` gates.

    After each named unitary it inserts the model's error for that gate and
    those qubits; before a measurement the ``"measure"`` error, after a
    preparation the ``"reset"`` error. Qubits are numbered in allocation
    order from 0, as the model's qubit indices are. With ``cycle_time``
    (seconds per cycle), ``advance`` inserts the model's idle noise for that
    long on every live qubit. Readout errors belong to :func:`readout_flip`.

    Args:
        noise: the noise model.
        device: instead of ``noise``, a catalog device id (``NoiseModel.from_device``);
            then the plugin can run in a process.
        cycle_time: seconds per cycle for idle noise on ``advance``.
    """
    from ..sim.noise import NoiseModel

    if device is not None:
        if noise is not None:
            raise ChainDefinitionError("noise_injector: give a noise model or a device id, not both.")
        from ..devices import load_device

        noise = NoiseModel.from_device(load_device(device))
    if not isinstance(noise, NoiseModel):
        raise QlabTypeError(f"noise_injector: noise must be a NoiseModel, got {type(noise).__name__}.")
    spec = None if device is None else PluginSpec(_SPEC + "noise_injector", {"device": device, "cycle_time": cycle_time})
    index: dict[int, int] = {}

    def allocate(state, qubits, cmds):
        for q in qubits:
            index[int(q)] = len(index)
        state.allocate_as(qubits, cmds)

    def free(state, qubits):
        for q in qubits:
            index.pop(int(q), None)
        state.free(*qubits)

    def insert(state, name, refs):
        channel = noise.gate_error(name, tuple(index[q] for q in refs))
        if channel is None:
            return
        if channel.num_qubits == len(refs):
            state.gate(channel_gate(channel, *refs))
        elif channel.num_qubits == 1:
            for q in refs:
                state.gate(channel_gate(channel, q))
        else:
            raise ChainError(f"noise_injector: the error of {name!r} acts on {channel.num_qubits} qubits, the gate on {len(refs)}.")

    def gate(state, gate):
        if gate.kind is GateKind.MEASUREMENT:
            for q in gate.measures:
                insert(state, "measure", (q,))
            state.gate(gate)
            return
        state.gate(gate)
        if gate.kind is GateKind.PREPARATION:
            for q in gate.targets:
                insert(state, "reset", (q,))
        elif gate.kind is GateKind.UNITARY and gate.name is not None:
            insert(state, gate.name, gate.controls + gate.targets)

    def advance(state, cycles):
        state.advance(cycles)
        if cycle_time:
            for q, i in index.items():
                idle = noise.idle_noise(i)
                if idle is not None:
                    state.gate(channel_gate(idle.channel(cycles * cycle_time), q))

    return PluginDefinition("operator", "noise", AUTHOR, VERSION, spec=spec,
                            allocate=allocate, free=free, gate=gate, advance=advance)


def readout_flip(p01: float = 0.0, p10: float | None = None) -> PluginDefinition:
    """An operator that flips measurement results: 0 reads as 1 with ``p01``, 1 as 0 with ``p10`` (default ``p01``).

    It uses the plugin's seeded random numbers in ``modify_measurement``.
    """
    p10 = p01 if p10 is None else p10
    for name, p in (("p01", p01), ("p10", p10)):
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ChainDefinitionError(f"readout_flip: {name} must be a probability in [0, 1], got {p!r}.")
    flip = {0: float(p01), 1: float(p10)}

    def modify_measurement(state, measurement):
        if measurement.value is not None and state.random_f64() < flip[measurement.value]:
            return measurement.replace(value=1 - measurement.value)
        return measurement

    return PluginDefinition("operator", "readout_flip", AUTHOR, VERSION,
                            spec=PluginSpec(_SPEC + "readout_flip", {"p01": p01, "p10": p10}),
                            modify_measurement=modify_measurement)


def qubit_remapper(mapping: Mapping) -> PluginDefinition:
    """An operator that renames qubits: upstream qubit ``u`` becomes downstream qubit ``mapping[u]``.

    Qubits are matched within each allocation: when upstream allocates refs
    ``U``, the operator allocates as many fresh refs ``D`` downstream and
    gives ``u`` the ref at the position of ``mapping.get(u, u)`` in ``U``, so
    the mapping must permute the refs of an allocation among themselves
    (for example ``{1: 2, 2: 1}`` swaps the first two qubits). Measurements
    come back under the upstream names.
    """
    table = {int(k): int(v) for k, v in dict(mapping).items()}
    if len(set(table.values())) != len(table):
        raise ChainDefinitionError(f"qubit_remapper: the mapping must be one to one, got {table}.")
    down: dict[int, int] = {}
    up: dict[int, int] = {}

    def allocate(state, qubits, cmds):
        fresh = state.allocate(len(qubits), cmds)
        position = {int(q): i for i, q in enumerate(qubits)}
        for q in qubits:
            target = table.get(int(q), int(q))
            if target not in position:
                raise ChainError(f"qubit_remapper: qubit {int(q)} maps to {target}, which is not allocated with it (allocated together: {sorted(position)}).")
            d = int(fresh[position[target]])
            down[int(q)], up[d] = d, int(q)

    def free(state, qubits):
        state.free(*(down.pop(int(q)) for q in qubits))

    def gate(state, gate):
        state.gate(gate.with_qubits(down))

    def modify_measurement(state, measurement):
        return measurement.replace(qubit=up.get(measurement.qubit, measurement.qubit))

    return PluginDefinition("operator", "remapper", AUTHOR, VERSION,
                            spec=PluginSpec(_SPEC + "qubit_remapper", {"mapping": {str(k): v for k, v in table.items()}}),
                            allocate=allocate, free=free, gate=gate, modify_measurement=modify_measurement)


# ------------------------------------------------------------------- backends
def null_backend() -> PluginDefinition:
    """A backend that simulates nothing: every gate is accepted and every measurement reads 0."""

    def gate(state, gate):
        if gate.measures:
            return [Measurement._trusted(q, 0) for q in gate.measures]
        return None

    return PluginDefinition("backend", "null", AUTHOR, VERSION, spec=PluginSpec(_SPEC + "null_backend"), gate=gate)


def density_matrix_backend(noise=None, *, device: str | None = None, cycle_time: float | None = None,
                           max_qubits: int | None = None) -> PluginDefinition:
    """A backend on :class:`qlab.sim.backend.DensityMatrixBackend` (exact density matrix, optional noise).

    Library gates are applied by name (so a noise model keyed on names
    applies), other unitaries by matrix (controls first). A measurement in a
    basis U applies U†, measures Z and applies U; a preparation resets and
    applies U. Custom gates: ``channel`` and ``delay`` (see the module).
    ``advance`` lets every qubit idle ``cycles * cycle_time`` seconds when
    ``cycle_time`` is given. The measurement seed comes from the plugin's
    seeded random numbers.

    ``host_arb`` on interface ``dm``: ``state`` returns the density matrix of
    the live qubits in allocation order (``json["qubits"]`` and one
    complex128 binary arg), ``probabilities`` returns ``json["probabilities"]``.
    """
    from ..sim.backend import DensityMatrixBackend
    from ..sim.noise import NoiseModel
    from ..sim.program import DEFAULT_MAX_QUBITS

    if device is not None:
        if noise is not None:
            raise ChainDefinitionError("density_matrix_backend: give a noise model or a device id, not both.")
        from ..devices import load_device

        noise = NoiseModel.from_device(load_device(device))
    if noise is not None and not isinstance(noise, NoiseModel):
        raise QlabTypeError(f"density_matrix_backend: noise must be a NoiseModel or None, got {type(noise).__name__}.")
    spec = None
    if noise is None or device is not None:
        spec = PluginSpec(_SPEC + "density_matrix_backend", {"device": device, "cycle_time": cycle_time, "max_qubits": max_qubits})
    sim: dict = {}
    ids: dict[int, int] = {}

    def initialize(state, cmds):
        sim["dm"] = DensityMatrixBackend(noise, seed=state.random_u64(), max_qubits=max_qubits or DEFAULT_MAX_QUBITS)

    def allocate(state, qubits, cmds):
        for q, i in zip(qubits, sim["dm"].allocate(len(qubits))):
            ids[int(q)] = i

    def free(state, qubits):
        for q in qubits:
            sim["dm"].free(ids.pop(int(q)))

    def on(refs, gate):
        try:
            return [ids[q] for q in refs]
        except KeyError as err:
            raise ChainError(f"density_matrix_backend: {gate!r} names qubit {err.args[0]}, which is not allocated (allocated: {sorted(ids)}).") from None

    def gate(state, gate):
        dm = sim["dm"]
        kind = gate.kind
        if kind is GateKind.UNITARY:
            if gate.name is not None and not gate.controls:
                dm.apply_gate(gate.name, on(gate.targets, gate), gate.params)
            else:
                dm.apply_gate("unitary", on(gate.controls + gate.targets, gate), matrix=gate.full_matrix())
            return None
        if kind is GateKind.MEASUREMENT:
            results = []
            for q, i in zip(gate.measures, on(gate.measures, gate)):
                if gate.matrix is not None:
                    dm.apply_gate("unitary", [i], matrix=gate.matrix.conj().T)
                results.append(Measurement._trusted(q, dm.measure(i)))
                if gate.matrix is not None:
                    dm.apply_gate("unitary", [i], matrix=gate.matrix)
            return results
        if kind is GateKind.PREPARATION:
            for i in on(gate.targets, gate):
                dm.reset(i)
                if gate.matrix is not None:
                    dm.apply_gate("unitary", [i], matrix=gate.matrix)
            return None
        if gate.name == "channel":
            dm.apply_channel(_channel_from_gate(gate), on(gate.targets, gate))
        elif gate.name == "delay":
            dm.advance(float(gate.data.json.get("seconds", 0.0)), on(gate.targets, gate))
        else:
            raise ChainError(f"density_matrix_backend: unknown custom gate {gate.name!r} (known: channel, delay).")
        return None

    def advance(state, cycles):
        if cycle_time and ids:
            sim["dm"].advance(cycles * cycle_time)

    def host_arb(state, cmd):
        if cmd.interface_id != "dm":
            return ArbData()
        qubits = sorted(ids)
        dm_ids = [ids[q] for q in qubits]
        if cmd.operation_id == "state":
            matrix = sim["dm"].state(dm_ids).matrix if qubits else np.ones((1, 1), dtype=complex)
            return ArbData({"qubits": qubits}, [np.ascontiguousarray(matrix, dtype=complex).tobytes()])
        if cmd.operation_id == "probabilities":
            p = sim["dm"].probabilities(dm_ids) if qubits else np.ones(1)
            return ArbData({"qubits": qubits, "probabilities": [float(x) for x in p]})
        raise ChainError(f"density_matrix_backend: unknown operation {cmd.operation_id!r} (allowed: state, probabilities).")

    return PluginDefinition("backend", "density_matrix", AUTHOR, VERSION, spec=spec, initialize=initialize,
                            allocate=allocate, free=free, gate=gate, advance=advance, host_arb=host_arb)


def read_state(data: ArbData) -> np.ndarray:
    """The density matrix in the answer of the density-matrix backend's ``dm``/``state`` arb.

    >>> read_state(ArbData({"qubits": []}, [np.ones((1, 1), dtype=complex).tobytes()]))
    array([[1.+0.j]])
    """
    n = len(data.json["qubits"])
    return np.frombuffer(data.args[0], dtype=complex).reshape(2**n, 2**n).copy()


STATE = ArbCmd("dm", "state")
"""The arb that asks the density-matrix backend for its state (``sim.arb("density_matrix", STATE)``)."""
