"""Quantum channels: completely positive, trace-preserving maps on qubits.

A :class:`Channel` is built from Kraus operators, a superoperator, a
unitary, a QuTiP ``Qobj`` or a Lindbladian, is checked CPTP at construction
(to ``atol``), and converts back to QuTiP. Internally it keeps its Pauli
transfer matrix (:mod:`qlab.sim.pauli`), which is what the engine applies.

>>> ch = depolarizing(0.1)
>>> ch
depolarizing(0.1)
>>> round(ch.average_gate_fidelity(), 6)
0.95
>>> ch.to_qobj().superrep
'super'
>>> amplitude_damping(0.2).then(phase_damping(0.1)).num_qubits
1
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..exceptions import ChannelError, QlabTypeError
from .pauli import (
    kraus_to_ptm,
    pauli_index,
    ptm_from_choi_columns,
    ptm_to_superop,
    superop_to_ptm,
    superop_transfer,
    unitary_to_ptm,
)

__all__ = [
    "Channel",
    "ReadoutError",
    "depolarizing",
    "amplitude_damping",
    "phase_damping",
    "thermal_relaxation",
    "pauli_channel",
    "kraus",
    "superop",
    "unitary_channel",
    "lindblad",
    "liouvillian_ptm",
]

if TYPE_CHECKING:
    import qutip

DEFAULT_ATOL = 1e-8


def is_qobj(obj) -> bool:
    """Whether ``obj`` is a QuTiP ``Qobj`` (without importing QuTiP: if it is not loaded, nothing is a Qobj)."""
    module = sys.modules.get("qutip")
    return module is not None and isinstance(obj, module.Qobj)


class Channel:
    """A CPTP map on ``num_qubits`` qubits, stored as its Pauli transfer matrix.

    Build one with the constructors of this module (``depolarizing``,
    ``kraus``, ``superop``, ``lindblad``, ...) or :meth:`from_qobj`.

    Args:
        ptm: the real ``4**k x 4**k`` Pauli transfer matrix.
        name: how ``repr`` shows the channel (the call that built it).
        atol: tolerance of the complete-positivity and trace checks.

    Raises:
        ChannelError: if the map is not completely positive or not trace preserving.
    """

    __slots__ = ("_ptm", "_name", "num_qubits")

    def __init__(self, ptm: np.ndarray, name: str = "Channel", atol: float = DEFAULT_ATOL):
        ptm = np.array(ptm, dtype=float)
        k = (ptm.shape[0].bit_length() - 1) // 2 if ptm.ndim == 2 else -1
        if ptm.ndim != 2 or ptm.shape[0] != ptm.shape[1] or ptm.shape[0] != 4**k or k < 1:
            raise ChannelError(f"Cannot build {name}: a Pauli transfer matrix must be 4^k x 4^k with k >= 1, got shape {ptm.shape}.")
        _check_cptp(ptm, name, atol)
        ptm.setflags(write=False)
        self._ptm, self._name, self.num_qubits = ptm, name, k

    # ---------------------------------------------------------- builders
    @classmethod
    def from_qobj(cls, obj: qutip.Qobj, atol: float = DEFAULT_ATOL) -> Channel:
        """A channel from a QuTiP unitary (``oper``) or superoperator (any representation)."""
        if not is_qobj(obj):
            raise QlabTypeError(f"Cannot build a channel from {type(obj).__name__}: expected a qutip.Qobj.")
        import qutip

        if obj.isoper:
            return unitary_channel(obj.full(), atol=atol)
        if obj.issuper:
            return superop(qutip.to_super(obj).full(), atol=atol)
        raise ChannelError(f"Cannot build a channel from a Qobj of type {obj.type!r}: expected 'oper' or 'super'.")

    # ----------------------------------------------------------- views
    @property
    def ptm(self) -> np.ndarray:
        """The real Pauli transfer matrix (read-only; basis order I, X, Z, Y per qubit)."""
        return self._ptm

    def to_superop(self) -> np.ndarray:
        """The superoperator acting on column-stacked density matrices (QuTiP's convention)."""
        return ptm_to_superop(self._ptm)

    def to_qobj(self) -> qutip.Qobj:
        """The channel as a QuTiP superoperator (``superrep='super'``)."""
        import qutip

        dims = [[[2] * self.num_qubits] * 2] * 2
        return qutip.Qobj(self.to_superop(), dims=dims, superrep="super")

    def to_kraus(self) -> list[np.ndarray]:
        """A set of Kraus operators (computed by QuTiP's ``to_kraus``)."""
        import qutip

        return [k.full() for k in qutip.to_kraus(self.to_qobj())]

    def to_choi(self) -> np.ndarray:
        """The Choi matrix ``sum_ij |i><j| (x) E(|i><j|)``."""
        return ptm_from_choi_columns(self._ptm)

    # ------------------------------------------------------- algebra
    def then(self, other: Channel) -> Channel:
        """This channel followed by ``other`` (on the same qubits)."""
        if other.num_qubits != self.num_qubits:
            raise ChannelError(
                f"Cannot compose {self!r} ({self.num_qubits} qubit(s)) with {other!r} ({other.num_qubits} qubit(s))."
            )
        return _trusted(other._ptm @ self._ptm, f"{self._name}.then({other._name})")

    def tensor(self, other: Channel) -> Channel:
        """This channel on the leading qubits and ``other`` on the following ones."""
        return _trusted(np.kron(self._ptm, other._ptm), f"{self._name}.tensor({other._name})")

    def average_gate_fidelity(self) -> float:
        """Average gate fidelity with the identity, ``(d F_pro + 1) / (d + 1)``."""
        d = 2**self.num_qubits
        f_pro = np.trace(self._ptm) / d**2
        return float((d * f_pro + 1) / (d + 1))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Channel):
            return NotImplemented
        return self._ptm.shape == other._ptm.shape and np.allclose(self._ptm, other._ptm, atol=1e-12)

    __hash__ = None

    def __repr__(self) -> str:
        return self._name


def _trusted(ptm: np.ndarray, name: str) -> Channel:
    """A channel from a PTM that is CPTP by construction (skips the checks)."""
    ch = Channel.__new__(Channel)
    ptm = np.array(ptm, dtype=float)
    ptm.setflags(write=False)
    ch._ptm, ch._name, ch.num_qubits = ptm, name, (ptm.shape[0].bit_length() - 1) // 2
    return ch


def _check_cptp(ptm: np.ndarray, name: str, atol: float) -> None:
    first_row = np.zeros(ptm.shape[0])
    first_row[0] = 1
    if not np.allclose(ptm[0], first_row, atol=atol):
        raise ChannelError(
            f"Cannot build {name}: the map is not trace preserving (the first PTM row is "
            f"{np.round(ptm[0, :4], 6).tolist()}..., expected [1, 0, 0, ...]; atol={atol})."
        )
    eigs = np.linalg.eigvalsh(ptm_from_choi_columns(ptm))
    if eigs.min() < -atol:
        raise ChannelError(
            f"Cannot build {name}: the map is not completely positive (its Choi matrix has "
            f"eigenvalue {eigs.min():.3g} < 0; atol={atol})."
        )


def _probability(value, what: str, upper: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise QlabTypeError(f"{what} must be a real number, got {value!r} ({type(value).__name__}).")
    if not 0 <= value <= upper or math.isnan(value):
        raise ChannelError(f"{what} must be between 0 and {upper:g} (inclusive), got {value}.")
    return float(value)


# ------------------------------------------------------------- library
def depolarizing(p: float, num_qubits: int = 1) -> Channel:
    """``rho -> (1 - p) rho + p Tr(rho) I / 2**k``: the state is replaced by the
    maximally mixed one with probability ``p`` (Qiskit's convention; Cirq's
    ``depolarize(q)`` is ``p = 4q/3`` on one qubit).

    ``p`` may go up to ``4**k / (4**k - 1)``, the fully depolarizing Pauli channel.

    >>> float(depolarizing(0.01, 2).ptm[5, 5])
    0.99
    """
    if num_qubits < 1:
        raise ChannelError(f"depolarizing: num_qubits must be >= 1, got {num_qubits}.")
    d2 = 4**num_qubits
    p = _probability(p, "depolarizing: p", d2 / (d2 - 1))
    diag = np.full(d2, 1 - p)
    diag[0] = 1
    return _trusted(np.diag(diag), f"depolarizing({p!r}{'' if num_qubits == 1 else f', {num_qubits}'})")


def amplitude_damping(gamma: float) -> Channel:
    """Energy relaxation: ``|1>`` decays to ``|0>`` with probability ``gamma``.

    >>> amplitude_damping(1.0).ptm[2].tolist()   # Z -> I: everything ends in |0>
    [1.0, 0.0, 0.0, 0.0]
    """
    g = _probability(gamma, "amplitude_damping: gamma")
    s = math.sqrt(1 - g)
    return _trusted(
        [[1, 0, 0, 0], [0, s, 0, 0], [g, 0, 1 - g, 0], [0, 0, 0, s]], f"amplitude_damping({g!r})"
    )


def phase_damping(lam: float) -> Channel:
    """Dephasing with Kraus ``[[1, 0], [0, sqrt(1-lam)]]`` and ``[[0, 0], [0, sqrt(lam)]]``.

    >>> float(phase_damping(0.36).ptm[1, 1])
    0.8
    """
    lam = _probability(lam, "phase_damping: lam")
    s = math.sqrt(1 - lam)
    return _trusted(np.diag([1, s, 1, s]), f"phase_damping({lam!r})")


def thermal_relaxation(t1: float, t2: float, duration: float, excited_population: float = 0.0) -> Channel:
    """Relaxation over ``duration`` with times ``t1`` and ``t2`` (same unit), ``t2 <= 2 t1``.

    Populations relax towards ``excited_population`` with ``exp(-t/t1)``;
    coherences decay with ``exp(-t/t2)``. ``t1 = inf`` means no relaxation.

    >>> ch = thermal_relaxation(100e-6, 80e-6, 1e-6)
    >>> bool(np.isclose(ch.ptm[1, 1], np.exp(-1 / 80)))
    True
    """
    for what, v in (("t1", t1), ("t2", t2), ("duration", duration)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or math.isnan(v):
            raise QlabTypeError(f"thermal_relaxation: {what} must be a real number, got {v!r}.")
    if t1 <= 0 or t2 <= 0:
        raise ChannelError(f"thermal_relaxation: t1 and t2 must be positive, got t1={t1}, t2={t2}.")
    if t2 > 2 * t1 * (1 + 1e-12):
        raise ChannelError(f"thermal_relaxation: t2 must be <= 2*t1 (physical limit), got t1={t1}, t2={t2}.")
    if duration < 0:
        raise ChannelError(f"thermal_relaxation: duration must be >= 0, got {duration}.")
    pe = _probability(excited_population, "thermal_relaxation: excited_population")
    r1 = math.exp(-duration / t1)
    r2 = math.exp(-duration / t2)
    ptm = [[1, 0, 0, 0], [0, r2, 0, 0], [(1 - r1) * (1 - 2 * pe), 0, r1, 0], [0, 0, 0, r2]]
    extra = "" if pe == 0 else f", excited_population={pe!r}"
    return _trusted(ptm, f"thermal_relaxation({t1!r}, {t2!r}, {duration!r}{extra})")


def pauli_channel(probabilities: Mapping[str, float] | None = None, **single: float) -> Channel:
    """Apply Pauli string ``P`` with probability ``p_P`` (identity with the rest).

    Give a mapping ``{"XI": 0.01, "ZZ": 0.02}`` or, on one qubit, ``px=, py=, pz=``.

    >>> pauli_channel(px=0.1).ptm.diagonal().round(12).tolist()
    [1.0, 1.0, 0.8, 0.8]
    """
    if probabilities is None:
        unknown = set(single) - {"px", "py", "pz"}
        if unknown:
            raise ChannelError(f"pauli_channel: unknown keywords {sorted(unknown)}; allowed: px, py, pz.")
        probabilities = {k[1].upper(): v for k, v in single.items()}
    elif single:
        raise ChannelError("pauli_channel: give either a mapping or px/py/pz keywords, not both.")
    if not probabilities:
        raise ChannelError("pauli_channel: no probabilities given.")
    lengths = {len(k) for k in probabilities}
    if len(lengths) != 1 or any(set(k) - set("IXYZ") for k in probabilities):
        raise ChannelError(f"pauli_channel: keys must be Pauli strings of one length over IXYZ, got {sorted(probabilities)}.")
    k = lengths.pop()
    probs = {key: _probability(v, f"pauli_channel: p[{key}]") for key, v in probabilities.items()}
    total = sum(probs.values())
    if total > 1 + 1e-12:
        raise ChannelError(f"pauli_channel: probabilities sum to {total}, more than 1.")
    probs["I" * k] = probs.get("I" * k, 0.0) + 1 - total
    diag = np.zeros(4**k)
    for q_label in _pauli_labels(k):
        diag[pauli_index(q_label)] = sum(p * (1 if _commute(P, q_label) else -1) for P, p in probs.items())
    args = ", ".join(f"{k!r}: {v!r}" for k, v in probabilities.items())
    return _trusted(np.diag(diag), f"pauli_channel({{{args}}})")


def _pauli_labels(k: int) -> list[str]:
    labels = [""]
    for _ in range(k):
        labels = [lab + c for lab in labels for c in "IXZY"]
    return labels


def _commute(a: str, b: str) -> bool:
    anti = sum(1 for x, y in zip(a, b) if x != "I" and y != "I" and x != y)
    return anti % 2 == 0


def kraus(operators: Sequence, atol: float = DEFAULT_ATOL) -> Channel:
    """A channel from Kraus operators (NumPy arrays or QuTiP ``Qobj``), checked CPTP.

    >>> round(float(kraus([np.sqrt(0.9) * np.eye(2), np.sqrt(0.1) * np.array([[0, 1], [1, 0]])]).ptm[2, 2]), 12)
    0.8
    """
    ops = [op.full() if is_qobj(op) else np.asarray(op, dtype=complex) for op in operators]
    if not ops:
        raise ChannelError("kraus: at least one Kraus operator is needed.")
    shape = ops[0].shape
    d = shape[0]
    if len(shape) != 2 or shape[0] != shape[1] or d < 2 or d & (d - 1):
        raise ChannelError(f"kraus: operators must be 2^k x 2^k matrices, got shape {shape}.")
    if any(op.shape != shape for op in ops):
        raise ChannelError(f"kraus: all operators must have the same shape, got {[op.shape for op in ops]}.")
    total = sum(op.conj().T @ op for op in ops)
    if not np.allclose(total, np.eye(d), atol=atol):
        raise ChannelError(
            f"kraus: sum K^dagger K must be the identity (trace preservation), got deviation "
            f"{np.abs(total - np.eye(d)).max():.3g} > atol={atol}."
        )
    return Channel(kraus_to_ptm(np.array(ops)), f"kraus(<{len(ops)} operators on {d.bit_length() - 1} qubit(s)>)", atol)


def superop(matrix, atol: float = DEFAULT_ATOL) -> Channel:
    """A channel from a superoperator on column-stacked density matrices (QuTiP's convention).

    >>> superop(depolarizing(0.2).to_superop()) == depolarizing(0.2)
    True
    """
    m = matrix.full() if is_qobj(matrix) else np.asarray(matrix, dtype=complex)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 4 or m.shape[0] & (m.shape[0] - 1):
        raise ChannelError(f"superop: expected a 4^k x 4^k matrix, got shape {m.shape}.")
    k = (m.shape[0].bit_length() - 1) // 2
    if 4**k != m.shape[0]:
        raise ChannelError(f"superop: expected a 4^k x 4^k matrix, got shape {m.shape}.")
    transfer = superop_transfer(m)
    if np.abs(transfer.imag).max() > atol:
        raise ChannelError(
            f"superop: the map does not preserve Hermiticity (its Pauli transfer matrix has imaginary "
            f"entries up to {np.abs(transfer.imag).max():.3g} > atol={atol}), so it is not completely positive."
        )
    return Channel(transfer.real, f"superop(<{m.shape[0]}x{m.shape[0]}>)", atol)


def unitary_channel(matrix, atol: float = DEFAULT_ATOL) -> Channel:
    """The channel ``rho -> U rho U^dagger``."""
    from ..circuit.gates import is_unitary

    u = np.asarray(matrix, dtype=complex)
    if not is_unitary(u, atol=max(atol, 1e-10)) or u.shape[0] < 2 or u.shape[0] & (u.shape[0] - 1):
        raise ChannelError(f"unitary_channel: the matrix must be a 2^k x 2^k unitary, got shape {u.shape}.")
    return _trusted(unitary_to_ptm(u), f"unitary_channel(<{u.shape[0]}x{u.shape[0]}>)")


def _operator(op) -> np.ndarray:
    m = op.full() if is_qobj(op) else np.asarray(op, dtype=complex)
    d = m.shape[0] if m.ndim == 2 else 0
    if m.ndim != 2 or m.shape[1] != d or d < 2 or d & (d - 1):
        raise ChannelError(f"lindblad: operators must be 2^k x 2^k matrices on qubits, got shape {m.shape}.")
    return m


def liouvillian_ptm(hamiltonian, collapse_ops: Sequence = ()) -> np.ndarray:
    """The real generator ``G`` (``dc/dt = G c``) of a Lindbladian.

    ``d rho/dt = -i[H, rho] + sum_k (L_k rho L_k^dagger - {L_k^dagger L_k, rho} / 2)``;
    ``hamiltonian`` may be ``None`` (no coherent part), a ``Qobj`` or an array.
    The superoperator is built on column-stacked matrices, as QuTiP's ``liouvillian``.
    """
    ops = [_operator(c) for c in collapse_ops]
    if hamiltonian is None:
        if not ops:
            raise ChannelError("lindblad: give a Hamiltonian, collapse operators, or both.")
        h = np.zeros_like(ops[0])
    else:
        h = _operator(hamiltonian)
        if not np.allclose(h, h.conj().T, atol=1e-12 * max(1.0, np.abs(h).max())):
            raise ChannelError("lindblad: the Hamiltonian must be Hermitian.")
    d = h.shape[0]
    if any(c.shape != h.shape for c in ops):
        raise ChannelError(
            f"lindblad: operators must all be 2^k x 2^k of one size, got {[h.shape] + [c.shape for c in ops]}."
        )
    eye = np.eye(d)
    generator = -1j * (np.kron(eye, h) - np.kron(h.T, eye))  # vec(A X B) = (B^T (x) A) vec(X)
    for c in ops:
        decay = c.conj().T @ c
        generator += np.kron(c.conj(), c) - 0.5 * np.kron(eye, decay) - 0.5 * np.kron(decay.T, eye)
    return superop_to_ptm(generator)


def lindblad(hamiltonian, collapse_ops: Sequence, duration: float, atol: float = DEFAULT_ATOL) -> Channel:
    """Evolution under ``H`` and collapse operators for ``duration`` (the exponential of the Lindbladian).

    Units: ``H`` in angular frequency (rad per time unit of ``duration``);
    collapse operators ``sqrt(rate) * L``. ``H`` and the operators may be
    QuTiP ``Qobj`` or arrays.

    >>> ch = lindblad(None, [np.sqrt(0.5) * np.array([[0, 1], [0, 0]])], duration=2.0)
    >>> ch == amplitude_damping(1 - np.exp(-1.0))
    True
    """
    if duration < 0:
        raise ChannelError(f"lindblad: duration must be >= 0, got {duration}.")
    generator = liouvillian_ptm(hamiltonian, collapse_ops)
    name = f"lindblad(<H and {len(collapse_ops)} collapse operator(s)>, duration={duration!r})"
    return Channel(expm_real(generator * duration), name, atol)


def expm_real(matrix: np.ndarray) -> np.ndarray:
    """``exp(matrix)`` of a small real matrix (a generator times a duration), by scaling and squaring.

    The scaled matrix has 1-norm at most 1/2, where 20 Taylor terms are exact
    to double precision; this spares importing SciPy for a 4x4 or 16x16 matrix.

    >>> expm_real(np.array([[0.0, 1.0], [-1.0, 0.0]]) * np.pi / 2).round(12).tolist()
    [[0.0, 1.0], [-1.0, 0.0]]
    """
    norm = np.abs(matrix).sum(axis=0).max()
    squarings = max(0, math.ceil(math.log2(norm / 0.5))) if norm > 0.5 else 0
    scaled = matrix / 2.0**squarings
    term = np.eye(matrix.shape[0])
    total = term.copy()
    for k in range(1, 21):
        term = term @ scaled / k
        total += term
    for _ in range(squarings):
        total = total @ total
    return total


class ReadoutError:
    """A classical confusion matrix for measuring one qubit.

    ``matrix[m][r]`` is the probability of recording ``r`` when the outcome is ``m``.

    >>> ReadoutError.symmetric(0.02).matrix.tolist()
    [[0.98, 0.02], [0.02, 0.98]]
    >>> ReadoutError(p1_given_0=0.01, p0_given_1=0.05).fidelity
    0.97
    """

    __slots__ = ("matrix",)

    def __init__(self, p1_given_0: float = 0.0, p0_given_1: float = 0.0):
        a = _probability(p1_given_0, "ReadoutError: p1_given_0")
        b = _probability(p0_given_1, "ReadoutError: p0_given_1")
        m = np.array([[1 - a, a], [b, 1 - b]])
        m.setflags(write=False)
        self.matrix = m

    @classmethod
    def symmetric(cls, p: float) -> ReadoutError:
        """Each outcome is flipped with probability ``p``."""
        return cls(p, p)

    @classmethod
    def from_matrix(cls, matrix) -> ReadoutError:
        """From a 2x2 row-stochastic confusion matrix ``[[P(0|0), P(1|0)], [P(0|1), P(1|1)]]``."""
        m = np.asarray(matrix, dtype=float)
        if m.shape != (2, 2) or np.any(m < 0) or not np.allclose(m.sum(axis=1), 1):
            raise ChannelError(f"ReadoutError: the confusion matrix must be 2x2 with rows summing to 1, got {m.tolist()}.")
        return cls(m[0, 1], m[1, 0])

    @property
    def fidelity(self) -> float:
        """The assignment fidelity ``1 - (P(1|0) + P(0|1)) / 2``."""
        return float(1 - (self.matrix[0, 1] + self.matrix[1, 0]) / 2)

    def then(self, other: ReadoutError) -> ReadoutError:
        """This error followed by ``other`` on the recorded bit."""
        return ReadoutError.from_matrix(self.matrix @ other.matrix)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReadoutError) and np.allclose(self.matrix, other.matrix)

    __hash__ = None

    def __repr__(self) -> str:
        return f"ReadoutError(p1_given_0={float(self.matrix[0, 1])!r}, p0_given_1={float(self.matrix[1, 0])!r})"
