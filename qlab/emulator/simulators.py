"""Simulator plugins: where operations act on a quantum state (or pretend to).

Every simulator takes qubit ids ``0..n_qubits-1`` and offers ``rxy``, ``rz``,
``rzz``, ``measure``, ``reset``, ``postselect``, ``apply_channel``, the state
as a QuTiP ``Qobj`` and metrics.

* :class:`DensityMatrixSimulator` wraps :class:`qlab.sim.backend.DensityMatrixBackend`:
  channels act exactly.
* :class:`StatevectorSimulator` keeps one pure state per shot; a channel is
  unravelled into one of its Kraus operators, drawn with its Born
  probability (a quantum trajectory).
* :class:`Coinflip` has no state: every measurement is a biased coin.
* :class:`ClassicalReplay` answers measurements from a given list per shot.

The Clifford-only :class:`~qlab.emulator.stabilizer.StabilizerSimulator` lives
in its own module. A simulator may also sample many shots of a program with
no feed-forward at once (:meth:`Simulator.sample_trace`).

>>> sim = StatevectorSimulator()
>>> sim.init(2); sim.shot_start(0, 5)
>>> sim.rxy(0, 3.141592653589793, 0.0); sim.measure(0), sim.measure(1)
(True, False)
"""

from __future__ import annotations

import cmath
import dataclasses
import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import qutip

from ..circuit.gates import gate_matrix
from ..exceptions import PluginError, SimulationError
from ..sim.backend import DensityMatrixBackend
from ..sim.channels import Channel
from ..sim.noise import NoiseModel
from .operations import RXY, RZ, RZZ, Batch, Reset
from .plugin import Plugin, check_probability, register_plugin
from .trace import measured_results, terminal_measurements_only, trace_to_circuit

__all__ = ["Simulator", "DensityMatrixSimulator", "StatevectorSimulator", "Coinflip", "ClassicalReplay"]


class Simulator(Plugin):
    """The simulator interface."""

    kind = "simulator"
    mixed: ClassVar[bool] = False
    """Whether the state may be mixed, so that channels act exactly (no sampling)."""

    def init(self, n_qubits: int, args: Sequence[str] = ()) -> None:
        """Prepare for ``n_qubits`` qubits; ``args`` override parameters."""
        self.params = self._params_with_args(args)
        self.n_qubits = n_qubits

    def exit(self) -> None:
        """Release everything (nothing to release here)."""

    def shot_start(self, shot_id: int, seed: int) -> None:
        """Start a shot with every qubit in ``|0>``; ``seed`` seeds the shot's randomness."""
        self.shot_id = shot_id
        self.rng = np.random.default_rng(seed)
        self._metrics = {"cumulative_postselect_probability": 1.0}

    def shot_end(self, shot_id: int, seed: int) -> None:
        """End the shot."""

    def get_metrics(self) -> dict[str, float]:
        """This shot's metrics."""
        return dict(self._metrics)

    def _check(self, qubit: int) -> int:
        if not 0 <= qubit < self.n_qubits:
            raise PluginError(f"{type(self).__name__}: qubit {qubit} is out of range (0..{self.n_qubits - 1}).")
        return qubit

    def _postselected(self, probability: float) -> None:
        self._metrics["cumulative_postselect_probability"] *= probability

    # the operations, each overridden below
    def rxy(self, qubit: int, theta: float, phi: float) -> None:
        raise NotImplementedError

    def rz(self, qubit: int, theta: float) -> None:
        raise NotImplementedError

    def rzz(self, qubit1: int, qubit2: int, theta: float) -> None:
        raise NotImplementedError

    def measure(self, qubit: int) -> bool:
        raise NotImplementedError

    def reset(self, qubit: int) -> None:
        raise NotImplementedError

    def postselect(self, qubit: int, outcome: bool) -> None:
        raise NotImplementedError

    def apply_channel(self, channel: Channel, qubits: Sequence[int]) -> None:
        raise NotImplementedError

    def state(self, qubits: Sequence[int] | None = None) -> qutip.Qobj:
        raise NotImplementedError

    def snapshot(self):
        """A copy of the state, to start later shots from (``None``: not supported)."""
        return None

    def restore(self, snapshot) -> None:
        """Continue this shot from a :meth:`snapshot` (the shot's own randomness is kept)."""
        raise NotImplementedError

    def sample_trace(self, trace: Sequence[Batch], noise: NoiseModel | None, shots: int,
                     rng: np.random.Generator) -> np.ndarray | None:
        """Sample ``shots`` shots of a fixed operation trace at once, or return ``None`` when this simulator cannot.

        ``noise`` is the error model's noise as a :class:`~qlab.sim.noise.NoiseModel`
        (``None``: it has no such form). The answer has one row per shot and one
        column per measurement of the trace, in the order of their result ids.
        """
        return None

    def apply(self, op) -> None:
        """Apply one gate or reset operation."""
        if type(op) is RXY:
            self.rxy(op.qubit, op.theta, op.phi)
        elif type(op) is RZ:
            self.rz(op.qubit, op.theta)
        elif type(op) is RZZ:
            self.rzz(op.qubit1, op.qubit2, op.theta)
        elif type(op) is Reset:
            self.reset(op.qubit)


@register_plugin
class DensityMatrixSimulator(Simulator):
    """The exact noisy state: qlab's density-matrix backend, one operation at a time.

    Qubits enter the backend when first touched (in ``|0>``), so idle ids cost nothing.

    >>> sim = DensityMatrixSimulator()
    >>> sim.init(2); sim.shot_start(0, 1)
    >>> sim.rxy(0, 3.141592653589793 / 2, 0.0); sim.rzz(0, 1, 0.0)
    >>> round(float(sim.state([0]).diag()[1].real), 6)
    0.5
    """

    mixed = True

    def shot_start(self, shot_id: int, seed: int) -> None:
        super().shot_start(shot_id, seed)
        self._backend = DensityMatrixBackend(seed=int(seed) % 2**63, max_qubits=max(self.n_qubits, 1))
        self._ids: dict[int, int] = {}

    def snapshot(self):
        return self._backend.snapshot(), dict(self._ids)

    def restore(self, snapshot) -> None:
        self._backend.restore(snapshot[0])
        self._ids = dict(snapshot[1])

    def _id(self, qubit: int) -> int:
        found = self._ids.get(qubit)
        if found is None:
            found = self._ids[self._check(qubit)] = self._backend.allocate(1)[0]
        return found

    def rxy(self, qubit: int, theta: float, phi: float) -> None:
        self._backend.apply_gate("rxy", (self._id(qubit),), (theta, phi))

    def rz(self, qubit: int, theta: float) -> None:
        self._backend.apply_gate("rz", (self._id(qubit),), (theta,))

    def rzz(self, qubit1: int, qubit2: int, theta: float) -> None:
        self._backend.apply_gate("rzz", (self._id(qubit1), self._id(qubit2)), (theta,))

    def measure(self, qubit: int) -> bool:
        return bool(self._backend.measure(self._id(qubit)))

    def reset(self, qubit: int) -> None:
        self._backend.reset(self._id(qubit))

    def postselect(self, qubit: int, outcome: bool) -> None:
        self._postselected(self._backend.postselect(self._id(qubit), int(outcome)))

    def apply_channel(self, channel: Channel, qubits: Sequence[int]) -> None:
        self._backend.apply_channel(channel, [self._id(q) for q in qubits])

    def state(self, qubits: Sequence[int] | None = None) -> qutip.Qobj:
        """The density matrix of ``qubits`` (default: all), the first one most significant."""
        qubits = range(self.n_qubits) if qubits is None else qubits
        return self._backend.state([self._id(q) for q in qubits]).to_qobj()

    def sample_trace(self, trace, noise, shots, rng):
        """Simulate the trace once with qlab's engine (exact mid-circuit branches) and sample every shot."""
        if noise is None:
            return None
        from ..sim.engine import simulate

        circuit, _ = trace_to_circuit(trace, self.n_qubits)
        if circuit.num_clbits == 0:
            return np.zeros((shots, 0), dtype=bool)
        probabilities = simulate(circuit, noise, max_qubits=max(circuit.num_qubits, 1)).probabilities
        keys = list(probabilities)
        weights = np.array([probabilities[k] for k in keys])
        table = np.array([[c == "1" for c in k.replace(" ", "")] for k in keys], dtype=bool)
        return table[rng.choice(len(keys), size=shots, p=weights / weights.sum())]


@register_plugin
class StatevectorSimulator(Simulator):
    """A pure state per shot; channels become sampled Kraus operators (quantum trajectories).

    Averaged over shots, a trajectory reproduces the density matrix of the
    noisy evolution; each shot costs a state vector of ``2**n`` amplitudes.

    >>> from qlab.sim.channels import amplitude_damping
    >>> sim = StatevectorSimulator(); sim.init(1)
    >>> ones = 0
    >>> for shot in range(200):
    ...     sim.shot_start(shot, shot)
    ...     sim.rxy(0, 3.141592653589793, 0.0)
    ...     sim.apply_channel(amplitude_damping(0.5), [0])
    ...     ones += sim.measure(0)
    >>> 70 < ones < 130
    True
    """

    def shot_start(self, shot_id: int, seed: int) -> None:
        super().shot_start(shot_id, seed)
        self._psi = np.zeros(2**self.n_qubits, dtype=complex)
        self._psi[0] = 1.0

    def snapshot(self):
        return self._psi.copy()

    def restore(self, snapshot) -> None:
        self._psi = snapshot.copy()

    def _axis(self, qubit: int) -> np.ndarray:
        """A (before, 2, after) view of the amplitudes with ``qubit`` in the middle (qubit 0 most significant)."""
        return self._psi.reshape(1 << qubit, 2, -1)

    def _apply(self, matrix: np.ndarray, qubits: tuple[int, ...]) -> None:
        if len(qubits) == 1:
            self._psi = np.matmul(matrix, self._axis(qubits[0])).reshape(-1)
            return
        k, n = len(qubits), self.n_qubits
        m = matrix.reshape((2,) * (2 * k))
        psi = self._psi.reshape((2,) * n)
        out = np.tensordot(m, psi, axes=(list(range(k, 2 * k)), list(qubits)))
        self._psi = np.moveaxis(out, list(range(k)), list(qubits)).reshape(-1)

    def rxy(self, qubit: int, theta: float, phi: float) -> None:
        self._apply(gate_matrix("rxy", (theta, phi)), (self._check(qubit),))

    def rz(self, qubit: int, theta: float) -> None:
        view = self._axis(self._check(qubit))
        phase = cmath.exp(0.5j * theta)
        view[:, 0, :] *= phase.conjugate()
        view[:, 1, :] *= phase

    def rzz(self, qubit1: int, qubit2: int, theta: float) -> None:
        a, b = sorted((self._check(qubit1), self._check(qubit2)))
        view = self._psi.reshape(1 << a, 2, 1 << (b - a - 1), 2, -1)
        phase = cmath.exp(0.5j * theta)
        view[:, 0, :, 0, :] *= phase.conjugate()
        view[:, 1, :, 1, :] *= phase.conjugate()
        view[:, 0, :, 1, :] *= phase
        view[:, 1, :, 0, :] *= phase

    def _p1(self, qubit: int) -> float:
        view = self._axis(qubit)
        one = view[:, 1, :]
        return float(np.vdot(one, one).real / np.vdot(view, view).real)

    def _project(self, qubit: int, outcome: int, probability: float) -> None:
        self._axis(qubit)[:, 1 - outcome, :] = 0.0
        self._psi /= math.sqrt(probability)

    def measure(self, qubit: int) -> bool:
        p1 = self._p1(self._check(qubit))
        outcome = int(self.rng.random() < p1)
        self._project(qubit, outcome, p1 if outcome else 1 - p1)
        return bool(outcome)

    def reset(self, qubit: int) -> None:
        if self._p1(self._check(qubit)) == 0.0:
            return
        if self.measure(qubit):
            self._apply(_X, (qubit,))

    def postselect(self, qubit: int, outcome: bool) -> None:
        p1 = self._p1(self._check(qubit))
        p = p1 if outcome else 1 - p1
        if p <= 1e-14:
            raise SimulationError(f"postselect: outcome {int(outcome)} of qubit {qubit} has probability {p:.3g}.")
        self._project(qubit, int(outcome), p)
        self._postselected(p)

    def apply_channel(self, channel: Channel, qubits: Sequence[int]) -> None:
        """Apply one Kraus operator of ``channel``, drawn with probability ``||K psi||^2``."""
        qubits = tuple(self._check(q) for q in qubits)
        before = self._psi
        draw = self.rng.random()
        total = 0.0
        for op in _kraus(channel):
            self._psi = before
            self._apply(op, qubits)
            weight = float(np.vdot(self._psi, self._psi).real)
            total += weight
            if draw < total:
                break
        self._psi /= math.sqrt(weight)

    def state(self, qubits: Sequence[int] | None = None) -> qutip.Qobj:
        """The state vector (all qubits) or the reduced density matrix of ``qubits``."""
        ket = qutip.Qobj(self._psi.reshape(-1, 1).copy(), dims=[[2] * self.n_qubits, [1] * self.n_qubits])
        return ket if qubits is None else ket.ptrace(list(qubits))

    def sample_trace(self, trace, noise, shots, rng):
        """Ideal programs whose measurements come last: one state vector, then every shot sampled."""
        if noise is None or not noise.is_ideal or not terminal_measurements_only(trace):
            return None
        self.shot_start(-1, 0)
        for batch in trace:
            for op in batch.operations:
                if type(op) is Reset:
                    continue  # a reset before any measurement acts on |0> or is refused by the check
                self.apply(op)
        qubits = [op.qubit for op in measured_results(trace)]
        order = list(dict.fromkeys(qubits))
        probs = np.abs(np.moveaxis(self._psi.reshape((2,) * self.n_qubits), order, range(len(order)))) ** 2
        probs = probs.reshape(2 ** len(order), -1).sum(axis=1)
        picks = rng.choice(len(probs), size=shots, p=probs / probs.sum())
        bits = (picks[:, None] >> np.arange(len(order) - 1, -1, -1)) & 1
        column = {q: i for i, q in enumerate(order)}
        return bits[:, [column[q] for q in qubits]].astype(bool)


_X = np.array([[0, 1], [1, 0]], dtype=complex)
_KRAUS_CACHE: dict[int, tuple[Channel, list[np.ndarray]]] = {}


def _kraus(channel: Channel) -> list[np.ndarray]:
    found = _KRAUS_CACHE.get(id(channel))
    if found is None or found[0] is not channel:
        found = _KRAUS_CACHE[id(channel)] = (channel, channel.to_kraus())
        if len(_KRAUS_CACHE) > 1024:
            _KRAUS_CACHE.clear()
    return found[1]


@dataclasses.dataclass(frozen=True)
class CoinflipParams:
    """The chance of reading 1."""

    bias: float = 0.5
    """Probability that a measurement reads 1."""

    def __post_init__(self):
        check_probability("Coinflip", "bias", self.bias)


@register_plugin
class Coinflip(Simulator):
    """No quantum state: every measurement reads 1 with probability ``bias``; gates do nothing.

    >>> sim = Coinflip(bias=1.0); sim.init(1); sim.shot_start(0, 0); sim.measure(0)
    True
    """

    Params = CoinflipParams

    def rxy(self, qubit, theta, phi):
        self._check(qubit)

    def rz(self, qubit, theta):
        self._check(qubit)

    def rzz(self, qubit1, qubit2, theta):
        self._check(qubit1), self._check(qubit2)

    def reset(self, qubit):
        self._check(qubit)

    def apply_channel(self, channel, qubits):
        pass

    def measure(self, qubit: int) -> bool:
        self._check(qubit)
        return bool(self.rng.random() < self.params.bias)

    def postselect(self, qubit, outcome):
        p = self.params.bias if outcome else 1 - self.params.bias
        if p == 0:
            raise SimulationError(f"postselect: outcome {int(outcome)} has probability 0 with bias {self.params.bias}.")
        self._postselected(p)

    def state(self, qubits=None):
        raise PluginError(
            f"{type(self).__name__} holds no quantum state; choose DensityMatrixSimulator or StatevectorSimulator to read one."
        )

    def sample_trace(self, trace, noise, shots, rng):
        return rng.random((shots, len(measured_results(trace)))) < self.params.bias


@dataclasses.dataclass(frozen=True)
class ReplayParams:
    """The measurement outcomes to give back, one sequence per shot."""

    measurements: tuple = ()
    """``measurements[shot]`` lists the outcomes of that shot's measurements, in order."""

    def __post_init__(self):
        try:
            rows = tuple(tuple(bool(int(v)) if v in (0, 1, True, False) else _bad(v) for v in row) for row in self.measurements)
        except TypeError:
            raise PluginError(
                f"ClassicalReplay: measurements must be a sequence of sequences of bools, got {self.measurements!r}."
            ) from None
        object.__setattr__(self, "measurements", rows)


def _bad(value):
    raise PluginError(f"ClassicalReplay: a measurement outcome must be a bool or 0/1, got {value!r}.")


@register_plugin
class ClassicalReplay(Simulator):
    """Answers each shot's measurements from ``measurements[shot]``, in order; gates do nothing.

    >>> sim = ClassicalReplay(measurements=[[1, 0], [0]]); sim.init(1)
    >>> sim.shot_start(0, 0); sim.measure(0), sim.measure(0)
    (True, False)
    """

    Params = ReplayParams

    def shot_start(self, shot_id: int, seed: int) -> None:
        super().shot_start(shot_id, seed)
        if not 0 <= shot_id < len(self.params.measurements):
            raise PluginError(
                f"ClassicalReplay: shot {shot_id} has no recorded measurements "
                f"({len(self.params.measurements)} shot(s) were given)."
            )
        self._outcomes = iter(self.params.measurements[shot_id])
        self._used = 0

    rxy = Coinflip.rxy
    rz = Coinflip.rz
    rzz = Coinflip.rzz
    reset = Coinflip.reset
    apply_channel = Coinflip.apply_channel
    state = Coinflip.state

    def measure(self, qubit: int) -> bool:
        self._check(qubit)
        try:
            value = next(self._outcomes)
        except StopIteration:
            raise PluginError(
                f"ClassicalReplay: shot {self.shot_id} asked for measurement {self._used + 1}, "
                f"but only {self._used} outcome(s) were given for it."
            ) from None
        self._used += 1
        return value

    def postselect(self, qubit, outcome):
        if self.measure(qubit) != bool(outcome):
            raise SimulationError(f"postselect: the replayed outcome of qubit {qubit} is not {int(outcome)}.")
