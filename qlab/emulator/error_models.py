"""Error-model plugins: they pass each batch to the simulator and may add, drop or change operations and flip results.

``handle_operations(batch, simulator)`` returns the results the batch produced
(``{result_id: value}``). An error model whose noise has a fixed channel form
also gives it as a :class:`~qlab.sim.noise.NoiseModel` (:meth:`ErrorModel.noise_model`),
so a program without feed-forward can be simulated once and sampled.

* :class:`IdealErrorModel`: no noise.
* :class:`DepolarizingErrorModel`: after each 1-qubit gate a random X, Y or Z
  with probability ``p_1q``; after each RZZ one of the 15 non-identity
  two-qubit Paulis with probability ``p_2q``; a measured bit flipped with
  probability ``p_meas``; a reset followed by X with probability ``p_init``.
* :class:`LeakageErrorModel`: every gate leaks each of its qubits with
  probability ``p_leak``; a leaked qubit ignores gates, reads 1 with
  probability ``leak_measurement_bias``, reports 2 from ``measure_leaked``,
  and comes back with a reset.
* :class:`DeviceErrorModel`: a qlab device's noise (gate errors from its
  calibration, readout errors, idle noise from T1/T2 through QuTiP over the
  batches' timing and delays).

>>> DepolarizingErrorModel(p_1q=2.0)
Traceback (most recent call last):
...
qlab.exceptions.PluginError: DepolarizingErrorModel: p_1q must be a probability between 0 and 1 (both included), got 2.0.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..exceptions import PluginError
from ..sim.channels import ReadoutError, pauli_channel
from ..sim.noise import NoiseModel
from .operations import RXY, RZ, RZZ, Batch, Measure, MeasureLeaked, Reset
from .plugin import Plugin, check_probability, register_plugin

__all__ = ["ErrorModel", "IdealErrorModel", "DepolarizingErrorModel", "LeakageErrorModel", "DeviceErrorModel"]

_PAULIS_2Q = tuple(a + b for a in "IXYZ" for b in "IXYZ")[1:]


class ErrorModel(Plugin):
    """The error-model interface; the base class runs every operation ideally."""

    kind = "error_model"

    def init(self, n_qubits: int, args: Sequence[str] = ()) -> None:
        """Prepare for ``n_qubits`` qubits; ``args`` override parameters."""
        self.params = self._params_with_args(args)
        self.n_qubits = n_qubits

    def exit(self) -> None:
        """Release everything (nothing to release here)."""

    COUNTERS: tuple[str, ...] = ()
    """The metrics reported in every shot (0 when nothing happened)."""

    def shot_start(self, shot_id: int, seed: int) -> None:
        """Start a shot; ``seed`` seeds its randomness (``self.rng``, made when first used)."""
        self._seed = seed
        self._rng = None
        self._metrics: Counter = Counter(dict.fromkeys(self.COUNTERS, 0)) if self.COUNTERS else Counter()

    @property
    def rng(self) -> np.random.Generator:
        """This shot's random generator."""
        if self._rng is None:
            self._rng = np.random.default_rng(self._seed)
        return self._rng

    def shot_end(self, shot_id: int, seed: int) -> None:
        """End the shot."""

    def get_metrics(self) -> dict[str, int]:
        """This shot's metrics (operation and error counts)."""
        return dict(self._metrics)

    def noise_model(self) -> NoiseModel | None:
        """The model's noise as channels per operation, or ``None`` when it has no such fixed form."""
        return None

    def handle_operations(self, batch: Batch, simulator) -> dict[int, Any]:
        """Run ``batch`` on ``simulator``; return ``{result_id: value}`` for its measurements."""
        results: dict[int, Any] = {}
        for op in batch.operations:
            self.handle(op, simulator, results)
        return results

    def handle(self, op, simulator, results: dict[int, Any]) -> None:
        """One operation, ideally."""
        kind = type(op)
        if kind is Measure:
            results[op.result_id] = simulator.measure(op.qubit)
        elif kind is MeasureLeaked:
            results[op.result_id] = int(simulator.measure(op.qubit))
        else:
            simulator.apply(op)


@register_plugin
class IdealErrorModel(ErrorModel):
    """No noise: every operation reaches the simulator unchanged."""

    def noise_model(self) -> NoiseModel:
        return NoiseModel()


@dataclasses.dataclass(frozen=True)
class DepolarizingParams:
    """Error probabilities of :class:`DepolarizingErrorModel`."""

    p_1q: float = 0.0
    """Chance of a random X, Y or Z after a 1-qubit gate (Rxy or RZ)."""
    p_2q: float = 0.0
    """Chance of one of the 15 non-identity 2-qubit Paulis after an RZZ."""
    p_meas: float = 0.0
    """Chance that a measured bit is flipped."""
    p_init: float = 0.0
    """Chance that a reset leaves the qubit in ``|1>``."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, check_probability("DepolarizingErrorModel", f.name, getattr(self, f.name)))


def _apply_pauli(simulator, pauli: str, qubit: int) -> None:
    if pauli == "X":
        simulator.rxy(qubit, math.pi, 0.0)
    elif pauli == "Y":
        simulator.rxy(qubit, math.pi, math.pi / 2)
    elif pauli == "Z":
        simulator.rz(qubit, math.pi)


@register_plugin
class DepolarizingErrorModel(ErrorModel):
    """Random Pauli errors after gates and resets, flipped measurement results.

    Errors are sampled per operation and counted in the metrics
    (``gates_1q``, ``errors_1q_x``, ..., ``gates_2q``, ``errors_2q_xy``, ...,
    ``measurements``, ``measurement_errors``, ``inits``, ``init_errors``).

    >>> DepolarizingErrorModel(p_1q=1e-3, p_2q=1e-2)
    DepolarizingErrorModel(p_1q=0.001, p_2q=0.01)
    """

    Params = DepolarizingParams
    COUNTERS = ("gates_1q", *(f"errors_1q_{p}" for p in "xyz"), "gates_2q",
                *(f"errors_2q_{label.lower()}" for label in _PAULIS_2Q),
                "measurements", "measurement_errors", "inits", "init_errors")
    """Every metric, reported (as 0 when nothing happened) in every shot."""

    def noise_model(self) -> NoiseModel:
        p = self.params
        one = pauli_channel({"X": p.p_1q / 3, "Y": p.p_1q / 3, "Z": p.p_1q / 3})
        two = pauli_channel({label: p.p_2q / 15 for label in _PAULIS_2Q})
        return (NoiseModel().with_gate_error(["rxy", "rz"], one).with_gate_error("rzz", two)
                .with_gate_error("reset", pauli_channel({"X": p.p_init}))
                .with_readout_error(ReadoutError.symmetric(p.p_meas)))

    def handle(self, op, simulator, results) -> None:
        p, rng, m = self.params, self.rng, self._metrics
        kind = type(op)
        super().handle(op, simulator, results)
        if kind is RXY or kind is RZ:
            m["gates_1q"] += 1
            if p.p_1q and rng.random() < p.p_1q:
                pauli = "XYZ"[rng.integers(3)]
                m[f"errors_1q_{pauli.lower()}"] += 1
                _apply_pauli(simulator, pauli, op.qubit)
        elif kind is RZZ:
            m["gates_2q"] += 1
            if p.p_2q and rng.random() < p.p_2q:
                label = _PAULIS_2Q[rng.integers(15)]
                m[f"errors_2q_{label.lower()}"] += 1
                _apply_pauli(simulator, label[0], op.qubit1)
                _apply_pauli(simulator, label[1], op.qubit2)
        elif kind is Measure or kind is MeasureLeaked:
            m["measurements"] += 1
            if p.p_meas and rng.random() < p.p_meas:
                m["measurement_errors"] += 1
                value = results[op.result_id]
                results[op.result_id] = (not value) if kind is Measure else 1 - value
        elif kind is Reset:
            m["inits"] += 1
            if p.p_init and rng.random() < p.p_init:
                m["init_errors"] += 1
                _apply_pauli(simulator, "X", op.qubit)


@dataclasses.dataclass(frozen=True)
class LeakageParams:
    """Leakage probabilities of :class:`LeakageErrorModel`."""

    p_leak: float = 0.0
    """Chance that each qubit of a gate leaks out of the qubit space after it."""
    leak_measurement_bias: float = 0.0
    """Chance that a leaked qubit reads 1 in an ordinary measurement."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, check_probability("LeakageErrorModel", f.name, getattr(self, f.name)))


@register_plugin
class LeakageErrorModel(ErrorModel):
    """Qubits leak after gates; a leaked qubit ignores gates, and ``measure_leaked`` reports 2 for it.

    >>> from qlab.emulator import StatevectorSimulator
    >>> from qlab.emulator.operations import MeasureLeaked, RXY
    >>> em, sim = LeakageErrorModel(p_leak=1.0), StatevectorSimulator()
    >>> em.init(1); sim.init(1); em.shot_start(0, 0); sim.shot_start(0, 0)
    >>> em.handle_operations(Batch(0, 0, (RXY(0, 1.0, 0.0), MeasureLeaked(0, 7))), sim)
    {7: 2}
    """

    Params = LeakageParams
    COUNTERS = ("leaks", "leaked_measurements", "gates_on_leaked_qubits")

    def shot_start(self, shot_id: int, seed: int) -> None:
        super().shot_start(shot_id, seed)
        self._leaked: set[int] = set()

    def handle(self, op, simulator, results) -> None:
        kind, leaked, m = type(op), self._leaked, self._metrics
        if kind is Reset:
            leaked.discard(op.qubit)
            simulator.reset(op.qubit)
        elif kind is Measure or kind is MeasureLeaked:
            if op.qubit not in leaked:
                super().handle(op, simulator, results)
            elif kind is MeasureLeaked:
                results[op.result_id] = 2
            else:
                m["leaked_measurements"] += 1
                results[op.result_id] = bool(self.rng.random() < self.params.leak_measurement_bias)
        elif kind in (RXY, RZ, RZZ):
            qubits = op.qubits
            if leaked.intersection(qubits):
                m["gates_on_leaked_qubits"] += 1
                return
            simulator.apply(op)
            for q in qubits:
                if self.params.p_leak and self.rng.random() < self.params.p_leak:
                    leaked.add(q)
                    m["leaks"] += 1


@dataclasses.dataclass(frozen=True)
class DeviceParams:
    """The device whose noise is modelled."""

    device: Any = "training5"
    """A :class:`qlab.devices.DeviceDescription` or the id of a built-in device."""

    def __post_init__(self):
        from ..devices import DeviceDescription, load_device

        device = self.device
        if isinstance(device, str):
            device = load_device(device)
        if not isinstance(device, DeviceDescription):
            raise PluginError(
                f"DeviceErrorModel: device must be a DeviceDescription or a built-in device id, got {self.device!r}."
            )
        object.__setattr__(self, "device", device)


_ONE_QUBIT_STAND_INS = ("rxy", "u3", "u", "sx", "x", "rx", "h")
_TWO_QUBIT_STAND_INS = ("rzz", "cz", "cx", "ecr", "iswap", "rxx")


@register_plugin
class DeviceErrorModel(ErrorModel):
    """A qlab device's noise: gate errors, readout errors, idle noise over the batches' timing.

    Rxy, RZ and RZZ take the errors of the device's gates of those names, or
    of its 1-qubit gate (``sx``, ``x``, ...) and its entangling gate (``cz``,
    ...) when it lacks them; an RZ without a calibrated error is virtual.
    Qubit ``i`` is site ``i``. Between batches, and during a batch for the
    qubits it leaves alone, every qubit prepared this shot idles under the
    device's T1/T2 noise (a QuTiP Lindbladian), gaps and delays included.

    >>> DeviceErrorModel(device="ion12")
    DeviceErrorModel(device='ion12')
    """

    Params = DeviceParams
    COUNTERS = ("gate_errors_applied", "idle_channels", "readout_errors")

    def __repr__(self) -> str:
        return f"DeviceErrorModel(device={self.params.device.id!r})"

    def describe(self) -> dict[str, Any]:
        return {"device": self.params.device.id}

    def init(self, n_qubits: int, args: Sequence[str] = ()) -> None:
        super().init(n_qubits, args)
        device = self.params.device
        if n_qubits > device.qubits_num:
            raise PluginError(
                f"DeviceErrorModel: the emulator has {n_qubits} qubits but device {device.id!r} has {device.qubits_num} sites."
            )
        self._noise = NoiseModel.from_device(device)
        natives = {op.name for op in device.operations}
        one = next((g for g in _ONE_QUBIT_STAND_INS if g in natives), None)
        two = next((g for g in _TWO_QUBIT_STAND_INS if g in natives), None)
        self._stand_in = {"rxy": one, "rz": "rz" if "rz" in natives else None, "rzz": two}

    def shot_start(self, shot_id: int, seed: int) -> None:
        super().shot_start(shot_id, seed)
        self._clock_ns = 0
        self._live: set[int] = set()

    def _idle(self, simulator, qubits, ns: float) -> None:
        if ns <= 0:
            return
        for q in sorted(qubits):
            idle = self._noise.idle_noise(q)
            if idle is not None:
                simulator.apply_channel(idle.channel(ns * 1e-9), (q,))
                self._metrics["idle_channels"] += 1

    def handle_operations(self, batch: Batch, simulator) -> dict[int, Any]:
        self._idle(simulator, self._live, batch.start_ns - self._clock_ns)
        results = super().handle_operations(batch, simulator)
        self._idle(simulator, self._live - batch.qubits, batch.duration_ns)
        self._clock_ns = batch.start_ns + batch.duration_ns
        return results

    def handle(self, op, simulator, results) -> None:
        super().handle(op, simulator, results)
        kind, noise = type(op), self._noise
        self._live.update(op.qubits)
        if kind is Measure or kind is MeasureLeaked:
            readout = noise.readout_error(op.qubit)
            value = int(results[op.result_id])
            if readout is not None and self.rng.random() < readout.matrix[value, 1 - value]:
                self._metrics["readout_errors"] += 1
                results[op.result_id] = (not value) if kind is Measure else 1 - value
        elif kind in (RXY, RZ, RZZ, Reset):
            name = "reset" if kind is Reset else self._stand_in[op.kind]
            channel = None if name is None else (noise.gate_error(name, op.qubits) or noise.gate_error(name, op.qubits[::-1]))
            if channel is None:
                return
            self._metrics["gate_errors_applied"] += 1
            if channel.num_qubits == len(op.qubits):
                simulator.apply_channel(channel, op.qubits)
            else:
                for q in op.qubits:
                    simulator.apply_channel(channel, (q,))
