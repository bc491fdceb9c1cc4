"""An independent dense reference simulator for qlab circuits, built on QuTiP.

It shares no code with :mod:`qlab.sim`. Every gate becomes a full
``2**n x 2**n`` QuTiP operator (``expand_operator``) applied as
``U rho U^dagger``; every noise channel is a set of Kraus operators written
here from its textbook definition and expanded to the full space; a
measurement branches the state on both outcomes and keeps one classical
record per branch. Gate matrices are written here from their published
definitions (:data:`GATE_MATRICES`), not taken from qlab's gate library.

Noise is described by a :class:`NoiseSpec`. The reference reads the spec
itself: Kraus operators from textbook formulas, Lindblad evolution from a
superoperator built here in NumPy and exponentiated with SciPy
(:func:`lindblad_kraus`), superoperator channels split by QuTiP from the
user's own ``Qobj``; never from a qlab conversion.
:meth:`NoiseSpec.to_noise_model` and the ``build`` methods make the qlab
objects under test from the same description.

>>> from qlab import Circuit
>>> out = simulate(Circuit(2).h(0).cx(0, 1).measure_all())
>>> {k: round(v, 12) for k, v in out.probabilities.items()}
{'00': 0.5, '11': 0.5}
>>> out.state.dims
[[2, 2], [2, 2]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce
from itertools import product
from typing import NamedTuple

import numpy as np
import qutip
import scipy.linalg

from qlab.circuit import Circuit

PAULIS = {"I": qutip.qeye(2), "X": qutip.sigmax(), "Y": qutip.sigmay(), "Z": qutip.sigmaz()}
KRAUS_TOL = 1e-13
"""Choi eigenvalues below this are dropped when splitting a superoperator into Kraus operators
(QuTiP's default, 1e-9, would cost more than the tests' 1e-10 tolerance)."""
NEGLIGIBLE = 1e-14
"""Measurement branches lighter than this are dropped."""
RESET_KRAUS = (qutip.basis(2, 0) * qutip.basis(2, 0).dag(), qutip.basis(2, 0) * qutip.basis(2, 1).dag())


def pauli_string(label: str) -> qutip.Qobj:
    """The tensor product of single-qubit Paulis, character ``i`` on qubit ``i``."""
    return qutip.tensor([PAULIS[c] for c in label])


def _op(matrix) -> qutip.Qobj:
    m = matrix.full() if isinstance(matrix, qutip.Qobj) else np.asarray(matrix, dtype=complex)
    k = m.shape[0].bit_length() - 1
    return qutip.Qobj(m, dims=[[2] * k, [2] * k])


# ------------------------------------------------------------------- gates
# The first qubit a gate names is the most significant factor (controls first).
# Sources: the OpenQASM 3 standard library documentation (x ... cu, swap, ccx,
# cswap), the OpenQASM 2 paper (u2, u3 with Qiskit's phase: diag entry 1 first),
# and the usual definitions of the two-qubit interactions and iswap.
_I = np.eye(2, dtype=complex)
_X = np.array([[0, 1], [1, 0]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
_Z = np.array([[1, 0], [0, -1]], dtype=complex)


def _rotation(pauli: np.ndarray, theta: float) -> np.ndarray:
    """exp(-i theta P / 2) for an operator with P @ P = I."""
    return np.cos(theta / 2) * np.eye(pauli.shape[0]) - 1j * np.sin(theta / 2) * pauli


def _controlled(u: np.ndarray, controls: int = 1) -> np.ndarray:
    """|1..1><1..1| (x) u + the identity elsewhere."""
    out = np.eye(u.shape[0] * 2**controls, dtype=complex)
    out[-u.shape[0]:, -u.shape[0]:] = u
    return out


def _u3(theta: float, phi: float, lam: float) -> np.ndarray:
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    return np.array([[c, -np.exp(1j * lam) * s], [np.exp(1j * phi) * s, np.exp(1j * (phi + lam)) * c]])


_H = np.array([[1, 1], [1, -1]], dtype=complex) / np.sqrt(2)
_SX = np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]]) / 2
_SWAP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=complex)

GATE_MATRICES = {
    "id": lambda: _I,
    "x": lambda: _X,
    "y": lambda: _Y,
    "z": lambda: _Z,
    "h": lambda: _H,
    "s": lambda: np.diag([1, 1j]),
    "sdg": lambda: np.diag([1, -1j]),
    "t": lambda: np.diag([1, np.exp(1j * np.pi / 4)]),
    "tdg": lambda: np.diag([1, np.exp(-1j * np.pi / 4)]),
    "sx": lambda: _SX,
    "sxdg": lambda: _SX.conj().T,
    "rx": lambda t: _rotation(_X, t),
    "ry": lambda t: _rotation(_Y, t),
    "rz": lambda t: _rotation(_Z, t),
    "p": lambda lam: np.diag([1, np.exp(1j * lam)]),
    "u2": lambda phi, lam: _u3(np.pi / 2, phi, lam),
    "u3": _u3,
    "rxy": lambda t, phi: _rotation(np.cos(phi) * _X + np.sin(phi) * _Y, t),
    "cx": lambda: _controlled(_X),
    "cy": lambda: _controlled(_Y),
    "cz": lambda: _controlled(_Z),
    "ch": lambda: _controlled(_H),
    "swap": lambda: _SWAP,
    "iswap": lambda: np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]]),
    "crx": lambda t: _controlled(_rotation(_X, t)),
    "cry": lambda t: _controlled(_rotation(_Y, t)),
    "crz": lambda t: _controlled(_rotation(_Z, t)),
    "cp": lambda lam: np.diag([1, 1, 1, np.exp(1j * lam)]),
    "cu": lambda theta, phi, lam, gamma: _controlled(np.exp(1j * gamma) * _u3(theta, phi, lam)),
    "rxx": lambda t: _rotation(np.kron(_X, _X), t),
    "ryy": lambda t: _rotation(np.kron(_Y, _Y), t),
    "rzz": lambda t: _rotation(np.kron(_Z, _Z), t),
    "ccx": lambda: _controlled(_X, 2),
    "cswap": lambda: _controlled(_SWAP),
}
"""Every gate of qlab's library, by name, as a function of its parameters."""


def gate_unitary(name: str, params: Sequence[float] = ()) -> np.ndarray:
    """The reference matrix of a library gate.

    >>> gate_unitary("crx", (np.pi,)).round(3)[2:, 2:].tolist()
    [[0j, -1j], [-1j, 0j]]
    """
    return np.asarray(GATE_MATRICES[name](*params), dtype=complex)


# ---------------------------------------------------------------- channels
@dataclass(frozen=True)
class Depolarizing:
    """``rho -> (1 - p) rho + p I / d`` on ``num_qubits`` qubits."""

    p: float
    num_qubits: int = 1

    def kraus(self) -> list[qutip.Qobj]:
        d2 = 4**self.num_qubits
        labels = ["".join(s) for s in product("IXYZ", repeat=self.num_qubits)]
        weights = [1 - self.p * (d2 - 1) / d2] + [self.p / d2] * (d2 - 1)
        return [np.sqrt(w) * pauli_string(lab) for w, lab in zip(weights, labels)]

    def build(self):
        from qlab.sim import depolarizing

        return depolarizing(self.p, self.num_qubits)


@dataclass(frozen=True)
class AmplitudeDamping:
    """``|1>`` decays to ``|0>`` with probability ``gamma``."""

    gamma: float
    num_qubits = 1

    def kraus(self) -> list[qutip.Qobj]:
        g = self.gamma
        return [_op([[1, 0], [0, np.sqrt(1 - g)]]), _op([[0, np.sqrt(g)], [0, 0]])]

    def build(self):
        from qlab.sim import amplitude_damping

        return amplitude_damping(self.gamma)


@dataclass(frozen=True)
class PhaseDamping:
    """Coherences shrink by ``sqrt(1 - lam)``."""

    lam: float
    num_qubits = 1

    def kraus(self) -> list[qutip.Qobj]:
        return [_op([[1, 0], [0, np.sqrt(1 - self.lam)]]), _op([[0, 0], [0, np.sqrt(self.lam)]])]

    def build(self):
        from qlab.sim import phase_damping

        return phase_damping(self.lam)


@dataclass(frozen=True)
class ThermalRelaxation:
    """Generalised amplitude damping towards ``excited_population`` then pure dephasing.

    Populations relax with ``exp(-t/t1)``, coherences decay with ``exp(-t/t2)``.
    """

    t1: float
    t2: float
    duration: float
    excited_population: float = 0.0
    num_qubits = 1

    def kraus(self) -> list[qutip.Qobj]:
        t, pe = self.duration, self.excited_population
        g = -np.expm1(-t / self.t1)
        s = np.exp(-t / (2 * self.t1))
        gad = [
            np.sqrt(1 - pe) * _op([[1, 0], [0, s]]),
            np.sqrt(1 - pe) * _op([[0, np.sqrt(g)], [0, 0]]),
            np.sqrt(pe) * _op([[s, 0], [0, 1]]),
            np.sqrt(pe) * _op([[0, 0], [np.sqrt(g), 0]]),
        ]
        keep = np.exp(-t * (1 / self.t2 - 1 / (2 * self.t1)))
        dephase = [_op([[1, 0], [0, keep]]), _op([[0, 0], [0, np.sqrt(1 - keep**2)]])]
        return [d * k for d in dephase for k in gad]

    def build(self):
        from qlab.sim import thermal_relaxation

        return thermal_relaxation(self.t1, self.t2, self.duration, self.excited_population)


@dataclass(frozen=True)
class PauliChannel:
    """Pauli string ``P`` with probability ``p_P``; the identity with the rest."""

    probabilities: Mapping[str, float]

    @property
    def num_qubits(self) -> int:
        return len(next(iter(self.probabilities)))

    def kraus(self) -> list[qutip.Qobj]:
        rest = 1 - sum(self.probabilities.values())
        terms = [(rest, "I" * self.num_qubits)] + [(p, lab) for lab, p in self.probabilities.items()]
        return [np.sqrt(p) * pauli_string(lab) for p, lab in terms]

    def build(self):
        from qlab.sim import pauli_channel

        return pauli_channel(dict(self.probabilities))


@dataclass(frozen=True)
class Kraus:
    """A channel given by its Kraus operators."""

    operators: tuple

    @property
    def num_qubits(self) -> int:
        return np.asarray(self.operators[0]).shape[0].bit_length() - 1

    def kraus(self) -> list[qutip.Qobj]:
        return [_op(k) for k in self.operators]

    def build(self):
        from qlab.sim import kraus

        return kraus(list(self.operators))


@dataclass(frozen=True)
class Unitary:
    """``rho -> U rho U^dagger``."""

    matrix: np.ndarray

    @property
    def num_qubits(self) -> int:
        return self.matrix.shape[0].bit_length() - 1

    def kraus(self) -> list[qutip.Qobj]:
        return [_op(self.matrix)]

    def build(self):
        from qlab.sim import unitary_channel

        return unitary_channel(self.matrix)


@dataclass(frozen=True)
class Then:
    """``first`` followed by ``second`` on the same qubits."""

    first: object
    second: object

    @property
    def num_qubits(self) -> int:
        return self.first.num_qubits

    def kraus(self) -> list[qutip.Qobj]:
        return [b * a for a in self.first.kraus() for b in self.second.kraus()]

    def build(self):
        return self.first.build().then(self.second.build())


@dataclass(frozen=True)
class Superop:
    """A channel given as a QuTiP superoperator; QuTiP splits the user's own ``Qobj`` into Kraus operators."""

    qobj: qutip.Qobj

    @property
    def num_qubits(self) -> int:
        return len(self.qobj.dims[0][0])

    def kraus(self) -> list[qutip.Qobj]:
        return [_op(k) for k in qutip.to_kraus(self.qobj, tol=KRAUS_TOL)]

    def build(self):
        from qlab.sim import superop

        return superop(self.qobj)


@dataclass(frozen=True)
class Lindblad:
    """Evolution for ``duration`` under ``hamiltonian`` and ``collapse_ops`` (see :func:`lindblad_kraus`)."""

    hamiltonian: np.ndarray | None
    collapse_ops: tuple
    duration: float

    @property
    def num_qubits(self) -> int:
        return _dense((*self.collapse_ops, self.hamiltonian)[0]).shape[0].bit_length() - 1

    def kraus(self) -> list[qutip.Qobj]:
        return lindblad_kraus(self.hamiltonian, self.collapse_ops, self.duration)

    def build(self):
        from qlab.sim import lindblad

        return lindblad(self.hamiltonian, list(self.collapse_ops), self.duration)


def _dense(op) -> np.ndarray:
    return op.full() if isinstance(op, qutip.Qobj) else np.asarray(op, dtype=complex)


def lindblad_kraus(hamiltonian, collapse_ops, seconds: float) -> list[qutip.Qobj]:
    """Kraus operators of exp(t L) for drho/dt = -i[H, rho] + sum_c (c rho c+ - {c+ c, rho}/2).

    The generator acts on column-stacked rho (vec(A rho B) = (B^T kron A) vec(rho));
    SciPy exponentiates it; the Choi matrix sum_ij |i><j| kron E(|i><j|) is split
    into Kraus operators by its eigenvectors.

    >>> k = lindblad_kraus(None, [np.array([[0, 1], [0, 0]])], np.log(2))  # decay: |1> -> |0> with probability 1/2
    >>> float(round(sum((op * qutip.fock_dm(2, 1) * op.dag())[0, 0] for op in k).real, 12))
    0.5
    """
    ops = [_dense(c) for c in collapse_ops]
    d = ops[0].shape[0] if ops else _dense(hamiltonian).shape[0]
    eye = np.eye(d)
    h = np.zeros((d, d), dtype=complex) if hamiltonian is None else _dense(hamiltonian)
    generator = -1j * (np.kron(eye, h) - np.kron(h.T, eye))
    for c in ops:
        cdc = c.conj().T @ c
        generator += np.kron(c.conj(), c) - 0.5 * np.kron(eye, cdc) - 0.5 * np.kron(cdc.T, eye)
    step = scipy.linalg.expm(generator * seconds)
    choi = np.zeros((d * d, d * d), dtype=complex)
    for i in range(d):
        for j in range(d):
            unit = np.zeros((d, d), dtype=complex)
            unit[i, j] = 1
            image = (step @ unit.reshape(-1, order="F")).reshape(d, d, order="F")
            choi += np.kron(unit, image)
    weights, vectors = np.linalg.eigh((choi + choi.conj().T) / 2)
    return [
        _op(np.sqrt(w) * vectors[:, k].reshape(d, d).T)
        for k, w in enumerate(weights)
        if w > KRAUS_TOL
    ]


# -------------------------------------------------------------- idle noise
@dataclass(frozen=True)
class IdleT1T2:
    """Waiting ``t`` is thermal relaxation with ``t1``, ``t2`` over ``t``."""

    t1: float
    t2: float

    def kraus(self, seconds: float) -> list[qutip.Qobj]:
        return ThermalRelaxation(self.t1, self.t2, seconds).kraus()

    def build(self):
        from qlab.sim import IdleNoise

        return IdleNoise.from_t1_t2(self.t1, self.t2)


@dataclass(frozen=True)
class IdleLindblad:
    """Waiting ``t`` is ``exp(t L)`` for the Lindbladian of ``hamiltonian`` and ``collapse_ops``."""

    hamiltonian: np.ndarray | None
    collapse_ops: tuple = ()

    def kraus(self, seconds: float) -> list[qutip.Qobj]:
        return lindblad_kraus(self.hamiltonian, self.collapse_ops, seconds)

    def build(self):
        from qlab.sim import IdleNoise

        return IdleNoise(self.hamiltonian, list(self.collapse_ops))


# ------------------------------------------------------------------ noise
@dataclass
class NoiseSpec:
    """What the noise is, readable by both the reference and qlab.

    Keys follow :class:`qlab.NoiseModel`: ``(gate name, qubits or None)`` for
    gate errors and durations, ``qubit or None`` for idle noise and readout.
    Readout errors are ``(p1_given_0, p0_given_1)``.
    """

    gate_errors: dict = field(default_factory=dict)
    idle: dict = field(default_factory=dict)
    readout: dict = field(default_factory=dict)
    durations: dict = field(default_factory=dict)

    def gate_error(self, name: str, qubits: tuple[int, ...]):
        exact = self.gate_errors.get((name, qubits))
        return self.gate_errors.get((name, None)) if exact is None else exact

    def duration(self, name: str, qubits: tuple[int, ...]) -> float:
        exact = self.durations.get((name, qubits))
        return self.durations.get((name, None), 0.0) if exact is None else exact

    def idle_noise(self, qubit: int):
        return self.idle.get(qubit, self.idle.get(None))

    def confusion(self, qubit: int) -> np.ndarray:
        """``[m][r]``: the probability of recording ``r`` when the outcome is ``m``."""
        a, b = self.readout.get(qubit, self.readout.get(None, (0.0, 0.0)))
        return np.array([[1 - a, a], [b, 1 - b]])

    def to_noise_model(self):
        """The qlab :class:`~qlab.NoiseModel` this spec describes."""
        from qlab.sim import NoiseModel, ReadoutError

        nm = NoiseModel()
        for (name, qubits), spec in self.gate_errors.items():
            nm = nm.with_gate_error(name, spec.build(), qubits)
        for qubit, spec in self.idle.items():
            nm = nm.with_idle_noise(spec.build(), qubit)
        for qubit, (a, b) in self.readout.items():
            nm = nm.with_readout_error(ReadoutError(a, b), qubit)
        for (name, qubits), seconds in self.durations.items():
            nm = nm.with_duration(name, seconds, qubits)
        return nm


# -------------------------------------------------------------- simulator
class Outcome(NamedTuple):
    """What the reference returns.

    Attributes:
        state: the density matrix on all circuit qubits before the terminal
            measurements, averaged over mid-circuit outcomes.
        probabilities: the exact probability of every classical outcome key.
    """

    state: qutip.Qobj
    probabilities: dict[str, float]


def condition_holds(condition, record: Sequence[int]) -> bool:
    """Whether ``record`` satisfies a condition (its bits are least significant first)."""
    value = sum(record[b] * 2**i for i, b in enumerate(condition.bits))
    return value == condition.value


def outcome_key(circuit: Circuit, record: Sequence[int]) -> str:
    """One group per classical register, in declaration order; character ``i`` is bit ``i``."""
    return " ".join("".join(str(record[b]) for b in range(r.offset, r.offset + r.size)) for r in circuit.cregs)


def terminal_measurements(circuit: Circuit) -> set[int]:
    """Indices of measurements after which nothing touches the qubit or the bit (barriers aside)."""
    found = set()
    for i, ins in enumerate(circuit.instructions):
        if ins.name != "measure":
            continue
        later = [j for j in circuit.instructions[i + 1:] if j.name != "barrier"]
        touched = any(
            ins.qubits[0] in j.qubits
            or ins.clbits[0] in j.clbits
            or (j.condition is not None and ins.clbits[0] in j.condition.bits)
            for j in later
        )
        if not touched:
            found.add(i)
    return found


def instruction_matrix(ins) -> np.ndarray:
    """The unitary of a gate instruction (library gate or user matrix)."""
    return ins.matrix if ins.name == "unitary" else gate_unitary(ins.name, ins.params)


def circuit_unitary(circuit: Circuit) -> np.ndarray:
    """The product of the full operators of the gates (barriers and delays are the identity)."""
    n = circuit.num_qubits
    total = qutip.tensor([qutip.qeye(2)] * n)
    for ins in circuit.instructions:
        if ins.name in ("barrier", "delay"):
            continue
        total = qutip.expand_operator(_op(instruction_matrix(ins)), dims=[2] * n, targets=list(ins.qubits)) * total
    return total.full()


class _Run:
    """One pass over a circuit; terminal measurements collapse only if ``collapse_terminal``.

    Scheduling is as soon as possible and static: a gate starts when all its
    qubits are free, and the qubits that wait for it idle meanwhile (whether
    or not the gate's condition holds); when the condition is false, its
    qubits idle through the gate's time slot instead. Qubits are scheduled
    whenever the noise has idle noise; delays idle always. A qubit whose
    terminal measurement has been taken gets no more idle noise.
    """

    def __init__(self, circuit: Circuit, noise: NoiseSpec, collapse_terminal: bool):
        self.circuit, self.noise, self.n = circuit, noise, circuit.num_qubits
        self.timed = bool(noise.idle)
        self.retired: set[int] = set()
        self.clock = [0.0] * self.n
        zero = qutip.tensor([qutip.fock_dm(2, 0)] * self.n)
        self.branches = {(0,) * circuit.num_clbits: zero}
        self.terminal = set() if collapse_terminal else terminal_measurements(circuit)

    def expand(self, op: qutip.Qobj, qubits: Sequence[int]) -> qutip.Qobj:
        return qutip.expand_operator(op, dims=[2] * self.n, targets=list(qubits))

    def apply(self, kraus_ops, qubits, condition=None, when: bool = True) -> None:
        """Apply on the branches where ``condition`` evaluates to ``when`` (all without a condition)."""
        full = [self.expand(k, qubits) for k in kraus_ops]
        for record, rho in self.branches.items():
            if condition is None or condition_holds(condition, record) == when:
                self.branches[record] = reduce(lambda a, b: a + b, [k * rho * k.dag() for k in full])

    def gate_noise(self, name: str, qubits: tuple[int, ...], condition) -> None:
        spec = self.noise.gate_error(name, qubits)
        if spec is None:
            return
        if spec.num_qubits == len(qubits):
            self.apply(spec.kraus(), qubits, condition)
        else:
            for q in qubits:
                self.apply(spec.kraus(), (q,), condition)

    def idle(self, qubit: int, seconds: float, condition=None, when: bool = True) -> None:
        spec = self.noise.idle_noise(qubit)
        if spec is not None and seconds > 0 and qubit not in self.retired:
            self.apply(spec.kraus(seconds), (qubit,), condition, when)

    def wait_for(self, qubits) -> None:
        """Qubits wait (idle) until all of them are free."""
        if not self.timed:
            return
        start = max(self.clock[q] for q in qubits)
        for q in qubits:
            self.idle(q, start - self.clock[q])
            self.clock[q] = start

    def finish(self, name: str, qubits: tuple[int, ...]) -> None:
        seconds = self.noise.duration(name, qubits)
        for q in qubits:
            self.clock[q] += seconds

    def measure(self, qubit: int, clbit: int) -> None:
        confusion = self.noise.confusion(qubit)
        out: dict = {}
        for record, rho in self.branches.items():
            for m in (0, 1):
                proj = self.expand(qutip.fock_dm(2, m), (qubit,))
                part = proj * rho * proj
                if part.tr().real <= NEGLIGIBLE:
                    continue
                for r in (0, 1):
                    if confusion[m, r] > 0:
                        key = record[:clbit] + (r,) + record[clbit + 1:]
                        out[key] = out[key] + confusion[m, r] * part if key in out else confusion[m, r] * part
        self.branches = out

    def step(self, index: int, ins) -> None:
        qs, cond = ins.qubits, ins.condition
        if ins.name == "barrier":
            self.wait_for(qs)
        elif ins.name == "delay":
            self.idle(qs[0], ins.duration_seconds)
            self.clock[qs[0]] += ins.duration_seconds
        elif ins.name == "measure":
            self.wait_for(qs)
            self.gate_noise("measure", qs, None)
            self.finish("measure", qs)
            if index in self.terminal:
                self.retired.add(qs[0])
            else:
                self.measure(qs[0], ins.clbits[0])
        else:
            self.wait_for(qs)
            self.apply(RESET_KRAUS if ins.name == "reset" else [_op(instruction_matrix(ins))], qs, cond)
            self.gate_noise(ins.name, qs, cond)
            if cond is not None:
                for q in qs:
                    self.idle(q, self.noise.duration(ins.name, qs), cond, when=False)
            self.finish(ins.name, qs)

    def run(self) -> _Run:
        for i, ins in enumerate(self.circuit.instructions):
            self.step(i, ins)
        return self


def simulate(circuit: Circuit, noise: NoiseSpec | None = None) -> Outcome:
    """Simulate ``circuit`` under ``noise`` exactly; see :class:`Outcome`."""
    noise = NoiseSpec() if noise is None else noise
    before = _Run(circuit, noise, collapse_terminal=False).run()
    state = reduce(lambda a, b: a + b, before.branches.values())
    after = _Run(circuit, noise, collapse_terminal=True).run() if before.terminal else before
    probabilities: dict[str, float] = {}
    for record, rho in after.branches.items():
        key = outcome_key(circuit, record)
        probabilities[key] = probabilities.get(key, 0.0) + rho.tr().real
    return Outcome(state / state.tr(), probabilities)
