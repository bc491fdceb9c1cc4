"""The Clifford-only simulator, on the stim package.

Rxy, RZ and RZZ are Clifford when their angles are multiples of pi/2 (within
``angle_threshold``); anything else is refused, naming the operation and the
angle. Pauli channels (diagonal Pauli transfer matrices) are sampled; other
channels are refused. A program without feed-forward becomes one
``stim.Circuit`` with its Pauli noise, and every shot comes from stim's
compiled sampler.

>>> sim = StabilizerSimulator(); sim.init(2); sim.shot_start(0, 3)
>>> sim.rxy(0, 3.141592653589793 / 2, -3.141592653589793 / 2)
>>> sim.rzz(0, 1, 3.141592653589793 / 2)
>>> sim.rz(0, 0.1)
Traceback (most recent call last):
...
qlab.exceptions.PluginError: StabilizerSimulator: rz(q0, theta=0.1) is not a Clifford operation: theta must be a multiple of pi/2 (within angle_threshold=0.0001); use StatevectorSimulator or DensityMatrixSimulator for other angles.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import qutip
import stim

from ..exceptions import PluginError, SimulationError
from ..sim.channels import Channel
from ..sim.pauli import pauli_index
from .operations import RXY, RZ, RZZ, Measure, MeasureLeaked, Reset
from .plugin import register_plugin
from .simulators import Simulator

__all__ = ["StabilizerSimulator"]

_RZ = {1: ("S",), 2: ("Z",), 3: ("S_DAG",)}
_RX = {1: ("SQRT_X",), 2: ("X",), 3: ("SQRT_X_DAG",)}
_RZZ = {1: ("SQRT_ZZ",), 2: ("Z", "Z"), 3: ("SQRT_ZZ_DAG",)}
_STIM_2Q_ORDER = tuple(a + b for a in "IXYZ" for b in "IXYZ")[1:]


@dataclasses.dataclass(frozen=True)
class StabilizerParams:
    """How close an angle must be to a multiple of pi/2."""

    angle_threshold: float = 1e-4
    """Largest distance (radians) from a multiple of pi/2 still taken as Clifford."""

    def __post_init__(self):
        t = self.angle_threshold
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t < math.pi / 4:
            raise PluginError(f"StabilizerSimulator: angle_threshold must be in [0, pi/4), got {t!r}.")


def _quarter_turns(angle: float, threshold: float, where: str, name: str) -> int:
    k = angle / (math.pi / 2)
    nearest = round(k)
    if abs(k - nearest) * math.pi / 2 > threshold:
        raise PluginError(
            f"StabilizerSimulator: {where} is not a Clifford operation: {name} must be a multiple of pi/2 "
            f"(within angle_threshold={threshold}); use StatevectorSimulator or DensityMatrixSimulator for other angles."
        )
    return nearest % 4


@lru_cache(maxsize=4096)
def _rxy_gates(theta_turns: int, phi_turns: int) -> tuple[str, ...]:
    # Rxy(theta, phi) = Rz(phi) Rx(theta) Rz(-phi): the leftmost gate here acts first.
    if theta_turns == 0:
        return ()
    return _RZ.get(-phi_turns % 4, ()) + _RX[theta_turns] + _RZ.get(phi_turns, ())


def clifford_gates(op, threshold: float) -> list[tuple[str, tuple[int, ...]]]:
    """The stim gates (name, targets) of a Clifford Rxy, RZ or RZZ; a :class:`PluginError` otherwise."""
    kind = type(op)
    if kind is RZ:
        k = _quarter_turns(op.theta, threshold, f"rz(q{op.qubit}, theta={op.theta!r})", "theta")
        return [(g, (op.qubit,)) for g in _RZ.get(k, ())]
    if kind is RXY:
        where = f"rxy(q{op.qubit}, theta={op.theta!r}, phi={op.phi!r})"
        t = _quarter_turns(op.theta, threshold, where, "theta")
        p = _quarter_turns(op.phi, threshold, where, "phi") if t else 0
        return [(g, (op.qubit,)) for g in _rxy_gates(t, p)]
    k = _quarter_turns(op.theta, threshold, f"rzz(q{op.qubit1}, q{op.qubit2}, theta={op.theta!r})", "theta")
    gates = _RZZ.get(k, ())
    if gates == ("Z", "Z"):
        return [("Z", (op.qubit1,)), ("Z", (op.qubit2,))]
    return [(g, (op.qubit1, op.qubit2)) for g in gates]


def pauli_probabilities(channel: Channel) -> dict[str, float] | None:
    """``{pauli_label: probability}`` of a Pauli channel (labels over IXYZ), or ``None`` if it is not one."""
    ptm = channel.ptm
    if not np.allclose(ptm, np.diag(np.diag(ptm)), atol=1e-12):
        return None
    k = channel.num_qubits
    labels = ["".join(t) for t in itertools.product("IXYZ", repeat=k)]
    lam = {q: ptm[pauli_index(q), pauli_index(q)] for q in labels}
    probs = {p: sum(lam[q] * (1 if _commute(p, q) else -1) for q in labels) / 4**k for p in labels}
    if min(probs.values()) < -1e-12:
        return None
    return {p: max(v, 0.0) for p, v in probs.items()}


def _commute(a: str, b: str) -> bool:
    return sum(x != "I" and y != "I" and x != y for x, y in zip(a, b)) % 2 == 0


@register_plugin
class StabilizerSimulator(Simulator):
    """Clifford circuits on stim's tableau simulator; shots of fixed programs from stim's sampler."""

    Params = StabilizerParams

    def shot_start(self, shot_id: int, seed: int) -> None:
        super().shot_start(shot_id, seed)
        self._seed = int(seed) % 2**63
        self._sim = stim.TableauSimulator(seed=self._seed)
        self._sim.set_num_qubits(self.n_qubits)

    def snapshot(self):
        return self._sim.copy()

    def restore(self, snapshot) -> None:
        self._sim = snapshot.copy(seed=self._seed)

    def _do(self, op) -> None:
        for name, targets in clifford_gates(op, self.params.angle_threshold):
            self._sim.do(stim.CircuitInstruction(name, list(targets)))

    def rxy(self, qubit: int, theta: float, phi: float) -> None:
        self._do(RXY(self._check(qubit), theta, phi))

    def rz(self, qubit: int, theta: float) -> None:
        self._do(RZ(self._check(qubit), theta))

    def rzz(self, qubit1: int, qubit2: int, theta: float) -> None:
        self._do(RZZ(self._check(qubit1), self._check(qubit2), theta))

    def measure(self, qubit: int) -> bool:
        return bool(self._sim.measure(self._check(qubit)))

    def reset(self, qubit: int) -> None:
        self._sim.reset(self._check(qubit))

    def postselect(self, qubit: int, outcome: bool) -> None:
        self._check(qubit)
        expectation = self._sim.peek_z(qubit)
        p = 0.5 if expectation == 0 else float(expectation == (-1 if outcome else 1))
        if p == 0:
            raise SimulationError(f"postselect: outcome {int(outcome)} of qubit {qubit} has probability 0.")
        self._sim.postselect_z(qubit, desired_value=bool(outcome))
        self._postselected(p)

    def apply_channel(self, channel: Channel, qubits: Sequence[int]) -> None:
        """Sample a Pauli of a Pauli channel and apply it; other channels are refused."""
        probs = _pauli_channel(channel)
        labels = list(probs)
        label = labels[self.rng.choice(len(labels), p=np.array([probs[k] for k in labels]))]
        for pauli, q in zip(label, qubits):
            if pauli != "I":
                self._sim.do(stim.CircuitInstruction(pauli, [self._check(q)]))

    def state(self, qubits: Sequence[int] | None = None) -> qutip.Qobj:
        """The stabilizer state as a QuTiP ket (all qubits) or the reduced density matrix of ``qubits``."""
        vec = self._sim.state_vector(endian="big")
        ket = qutip.Qobj(vec.reshape(-1, 1), dims=[[2] * self.n_qubits, [1] * self.n_qubits])
        return ket if qubits is None else ket.ptrace(list(qubits))

    def sample_trace(self, trace, noise, shots, rng):
        """Build one ``stim.Circuit`` with the Pauli noise and sample every shot with stim."""
        if noise is None:
            return None
        circuit = stim.Circuit()
        ids = []
        for batch in trace:
            for op in batch.operations:
                kind = type(op)
                if kind in (Measure, MeasureLeaked):
                    readout = noise.readout_error(op.qubit)
                    flip = 0.0 if readout is None else readout.matrix[0, 1]
                    if readout is not None and not math.isclose(flip, readout.matrix[1, 0], abs_tol=1e-12):
                        return None
                    circuit.append("M", [op.qubit], flip) if flip else circuit.append("M", [op.qubit])
                    ids.append(op.result_id)
                    continue
                if kind is Reset:
                    circuit.append("R", [op.qubit])
                    name = "reset"
                elif kind in (RXY, RZ, RZZ):
                    for gate, targets in clifford_gates(op, self.params.angle_threshold):
                        circuit.append(gate, list(targets))
                    name = op.kind
                else:
                    continue
                if not _append_noise(circuit, noise.gate_error(name, op.qubits), op.qubits):
                    return None
        if not ids:
            return np.zeros((shots, 0), dtype=bool)
        samples = circuit.compile_sampler(seed=int(rng.integers(2**63))).sample(shots)
        return samples[:, np.argsort(ids)]


def _pauli_channel(channel: Channel) -> dict[str, float]:
    probs = pauli_probabilities(channel)
    if probs is None:
        raise PluginError(
            f"StabilizerSimulator: {channel!r} is not a Pauli channel, so it has no stabilizer form; "
            "use StatevectorSimulator or DensityMatrixSimulator for this noise."
        )
    return probs


def _append_noise(circuit: stim.Circuit, channel: Channel | None, qubits: tuple[int, ...]) -> bool:
    """Append ``channel`` on ``qubits`` as stim Pauli noise; ``False`` when it is not a Pauli channel."""
    if channel is None:
        return True
    probs = pauli_probabilities(channel)
    if probs is None:
        return False
    if channel.num_qubits == 1:
        args = [probs["X"], probs["Y"], probs["Z"]]
        if any(args):
            circuit.append("PAULI_CHANNEL_1", list(qubits), args)
    else:
        args = [probs[label] for label in _STIM_2Q_ORDER]
        if any(args):
            circuit.append("PAULI_CHANNEL_2", list(qubits), args)
    return True
