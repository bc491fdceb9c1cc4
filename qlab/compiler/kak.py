"""Exact two-qubit synthesis: the KAK (Cartan) decomposition and circuits with the fewest CX.

Every two-qubit unitary is, up to a global phase,

    U = (A0 ⊗ A1) · exp(i (a XX + b YY + c ZZ)) · (B0 ⊗ B1)

with one-qubit unitaries A and B and three real *interaction coefficients*
``(a, b, c)`` (Khaneja & Glaser 2001; Kraus & Cirac 2001). :func:`kak` computes
it in the magic basis, where local gates are real orthogonal matrices: the
symmetric unitary ``M^T M`` of ``M = B^† U B`` is diagonalised by one real
orthogonal matrix, whose eigenphases are the coefficients.

:func:`two_qubit_gates` writes ``U`` with as few CX as its coefficients allow:
none for a local gate, one for a CX-equivalent gate, two when a coefficient
vanishes (modulo pi/2, the rest is absorbed into the local gates), else three
(the circuit of Vatan & Williams, Phys. Rev. A 69, 032315, 2004, Fig. 6).
One-qubit pieces come out as ``u3`` gates.

>>> from qlab.circuit import gate_matrix
>>> [round(abs(x), 6) for x in kak(gate_matrix("cx")).coefficients]
[0.785398, 0.0, 0.0]
>>> cnot_count(gate_matrix("swap")), cnot_count(gate_matrix("cz")), cnot_count(gate_matrix("rxx", (0.3,)))
(3, 1, 2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..circuit.gates import gate_matrix
from ..devices.natives import one_qubit_gates
from ..exceptions import CircuitError

__all__ = ["KAK", "kak", "two_qubit_gates", "cnot_count", "kron_factor"]

_PI = math.pi
_ATOL = 1e-9

_MAGIC = np.array([[1, 0, 0, 1j], [0, 1j, 1, 0], [0, 1j, -1, 0], [1, 0, 0, -1j]], dtype=complex) / math.sqrt(2)
_MAGIC_DAG = _MAGIC.conj().T
_PAULI = {"X": gate_matrix("x"), "Y": gate_matrix("y"), "Z": gate_matrix("z")}
_PAIRS = {p: np.kron(m, m) for p, m in _PAULI.items()}
# Eigenvalues of XX, YY, ZZ on the magic basis vectors, plus a column for the global phase.
_EIGEN = np.array([np.real(np.diag(_MAGIC_DAG @ _PAIRS[p] @ _MAGIC)) for p in "XYZ"] + [np.ones(4)]).T

Gate = tuple[str, tuple[int, ...], tuple[float, ...]]


@dataclass(frozen=True)
class KAK:
    """``U = e^{i phase} (after[0] ⊗ after[1]) exp(i (a XX + b YY + c ZZ)) (before[0] ⊗ before[1])``.

    Attributes:
        phase: the global phase.
        before: the one-qubit unitaries applied first (qubit 0, qubit 1).
        coefficients: ``(a, b, c)``.
        after: the one-qubit unitaries applied last (qubit 0, qubit 1).
    """

    phase: float
    before: tuple[np.ndarray, np.ndarray]
    coefficients: tuple[float, float, float]
    after: tuple[np.ndarray, np.ndarray]

    def interaction(self) -> np.ndarray:
        """The 4x4 matrix ``exp(i (a XX + b YY + c ZZ))``."""
        theta = _EIGEN[:, :3] @ np.asarray(self.coefficients)
        return _MAGIC @ np.diag(np.exp(1j * theta)) @ _MAGIC_DAG

    def unitary(self) -> np.ndarray:
        """The 4x4 unitary this decomposition stands for."""
        return (
            np.exp(1j * self.phase)
            * np.kron(*self.after)
            @ self.interaction()
            @ np.kron(*self.before)
        )


def kron_factor(m: np.ndarray) -> tuple[complex, np.ndarray, np.ndarray]:
    """``(g, a, b)`` with ``m = g (a ⊗ b)``, ``a`` and ``b`` of determinant 1, for a local 4x4 ``m``.

    Raises:
        CircuitError: ``m`` is not a tensor product of two 2x2 matrices.

    >>> from qlab.circuit import gate_matrix
    >>> g, a, b = kron_factor(np.kron(gate_matrix("h"), gate_matrix("s")))
    >>> bool(np.allclose(g * np.kron(a, b), np.kron(gate_matrix("h"), gate_matrix("s"))))
    True
    """
    r = np.asarray(m, dtype=complex).reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)
    u, s, vh = np.linalg.svd(r)
    if s[1] > 1e-7 * max(s[0], 1.0):
        raise CircuitError(f"Cannot factor a 4x4 matrix into one-qubit parts: it is entangling (singular values {s.round(9)}).")
    a = math.sqrt(s[0]) * u[:, 0].reshape(2, 2)
    b = math.sqrt(s[0]) * vh[0].reshape(2, 2)
    a = a / np.sqrt(np.linalg.det(a))
    b = b / np.sqrt(np.linalg.det(b))
    k = np.argmax(np.abs(m))
    g = np.asarray(m).flat[k] / np.kron(a, b).flat[k]
    return complex(g), a, b


def _orthogonal_eigenbasis(m: np.ndarray) -> np.ndarray:
    """A real orthogonal ``P`` (det 1) with ``P^T m P`` diagonal, for a symmetric unitary ``m``."""
    re, im = m.real, m.imag
    for r in (0.5772156649, 1.4142135623, 2.7182818284, 0.3183098861, 7.3890560989):
        _, p = np.linalg.eigh(re + r * im)
        d = p.T @ m @ p
        if np.allclose(d - np.diag(np.diag(d)), 0, atol=1e-9):
            if np.linalg.det(p) < 0:
                p[:, 0] = -p[:, 0]
            return p
    raise CircuitError("Cannot diagonalise M^T M in the magic basis: the matrix is not unitary to 1e-9.")


def _magic_diagonalisation(u: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """``(phase, up, p, theta)``: ``up`` is ``u`` without its phase in the magic basis, and the real orthogonal
    ``p`` diagonalises ``up^T up`` into ``exp(2 i theta)``."""
    u = np.asarray(u, dtype=complex)
    if u.shape != (4, 4) or not np.allclose(u.conj().T @ u, np.eye(4), atol=1e-8):
        raise CircuitError(f"Cannot decompose a matrix of shape {u.shape}: kak needs a 4x4 unitary.")
    phase = np.angle(np.linalg.det(u)) / 4
    up = _MAGIC_DAG @ (u * np.exp(-1j * phase)) @ _MAGIC
    p = _orthogonal_eigenbasis(up.T @ up)
    theta = np.angle(np.diag(p.T @ up.T @ up @ p)) / 2
    if math.cos(theta.sum()) < 0:  # det of the diagonal must be 1: move one eigenphase to the other branch
        theta[0] += _PI
    return phase, up, p, theta


def kak(u: np.ndarray) -> KAK:
    """The KAK decomposition of a 4x4 unitary (qubit 0 the most significant factor).

    Raises:
        CircuitError: ``u`` is not a 4x4 unitary.

    >>> from qlab.circuit import gate_matrix
    >>> d = kak(gate_matrix("swap"))
    >>> [round(abs(x), 6) for x in d.coefficients]
    [0.785398, 0.785398, 0.785398]
    >>> bool(np.allclose(d.unitary(), gate_matrix("swap")))
    True
    """
    phase, up, p, theta = _magic_diagonalisation(u)
    k1 = up @ p @ np.diag(np.exp(-1j * theta))
    g1, a0, a1 = kron_factor(_MAGIC @ k1 @ _MAGIC_DAG)
    g2, b0, b1 = kron_factor(_MAGIC @ p.T @ _MAGIC_DAG)
    a, b, c, extra = np.linalg.solve(_EIGEN, theta)
    total = phase + extra + np.angle(g1) + np.angle(g2)
    return KAK(float(total), (b0, b1), (float(a), float(b), float(c)), (a0, a1))


def _reduce(coefficients: tuple[float, float, float]) -> tuple[tuple[float, float, float], np.ndarray]:
    """Coefficients in ``(-pi/4, pi/4]`` and the local Pauli product that makes up the difference."""
    reduced, local = [], np.eye(4, dtype=complex)
    for coefficient, p in zip(coefficients, "XYZ"):
        m = math.floor((coefficient + _PI / 4 - 1e-12) / (_PI / 2))
        reduced.append(coefficient - m * _PI / 2)
        local = local @ np.linalg.matrix_power(1j * _PAIRS[p], m % 4)
    return (reduced[0], reduced[1], reduced[2]), local


def cnot_count(u: np.ndarray) -> int:
    """How many CX an exact circuit for the two-qubit unitary ``u`` needs (0 to 3).

    Only the interaction coefficients are computed (no one-qubit factors), so this is cheaper than :func:`kak`.
    """
    coefficients = np.linalg.solve(_EIGEN, _magic_diagonalisation(u)[3])[:3]
    return _count(_reduce(tuple(float(x) for x in coefficients))[0])


def _count(coefficients: tuple[float, float, float]) -> int:
    nonzero = [abs(x) for x in coefficients if abs(x) > _ATOL]
    if not nonzero:
        return 0
    if len(nonzero) == 1 and abs(nonzero[0] - _PI / 4) < _ATOL:
        return 1
    return 2 if len(nonzero) <= 2 else 3


def _core(coefficients: tuple[float, float, float]) -> tuple[np.ndarray, list[tuple[str, tuple[int, ...], np.ndarray | None]]]:
    """``(V, gates)``: ``exp(i(aXX+bYY+cZZ)) = (V^† ⊗ V^†) gates (V ⊗ V)``, gates as CX or 2x2 matrices."""
    a, b, c = coefficients
    count = _count(coefficients)
    if count == 0:
        return np.eye(2), []
    if count == 3:
        hp = _PI / 2
        return np.eye(2), [
            ("m", (1,), gate_matrix("rz", (-hp,))), ("cx", (1, 0), None),
            ("m", (0,), gate_matrix("rz", (hp - 2 * c,))), ("m", (1,), gate_matrix("ry", (2 * a - hp,))),
            ("cx", (0, 1), None), ("m", (1,), gate_matrix("ry", (hp - 2 * b,))), ("cx", (1, 0), None),
            ("m", (0,), gate_matrix("rz", (hp,))),
        ]
    # Map the (at most two) non-zero terms onto XX and ZZ with a Clifford V on both qubits.
    if abs(c) <= _ATOL:
        v, x, z = gate_matrix("rx", (_PI / 2,)), a, b      # V YY V^† = ZZ, XX stays
    elif abs(b) <= _ATOL:
        v, x, z = np.eye(2), a, c
    else:
        v, x, z = gate_matrix("rz", (_PI / 2,)), b, c      # V YY V^† = XX, ZZ stays
    if count == 1:
        # exp(+-i pi/4 ZZ) = Rz(-+pi/2) ⊗ Rz(-+pi/2) . CZ (up to phase), CZ = (I ⊗ H) CX (I ⊗ H)
        h = gate_matrix("h")
        if abs(z) > _ATOL:
            s = math.copysign(1.0, z)
            return v, [("m", (1,), h), ("cx", (0, 1), None), ("m", (1,), gate_matrix("rz", (-s * _PI / 2,)) @ h),
                       ("m", (0,), gate_matrix("rz", (-s * _PI / 2,)))]
        s = math.copysign(1.0, x)   # the same through H ⊗ H
        return gate_matrix("h") @ v, [("m", (1,), h), ("cx", (0, 1), None), ("m", (1,), gate_matrix("rz", (-s * _PI / 2,)) @ h),
                                      ("m", (0,), gate_matrix("rz", (-s * _PI / 2,)))]
    # exp(i(x XX + z ZZ)) = CX (Rx(-2x) ⊗ Rz(-2z)) CX
    return v, [("cx", (0, 1), None), ("m", (0,), gate_matrix("rx", (-2 * x,))),
               ("m", (1,), gate_matrix("rz", (-2 * z,))), ("cx", (0, 1), None)]


def two_qubit_gates(u: np.ndarray, qubits: tuple[int, int] = (0, 1)) -> list[Gate]:
    """An exact circuit (``u3`` and ``cx``, in application order) for ``u`` on ``qubits``, with the fewest CX.

    The circuit equals ``u`` up to a global phase.

    >>> from qlab.circuit import gate_matrix
    >>> [g[0] for g in two_qubit_gates(gate_matrix("cz"), (3, 5))].count("cx")
    1
    """
    d = kak(u)
    coefficients, pauli = _reduce(d.coefficients)
    v, core = _core(coefficients)
    # u ∝ (A0⊗A1) (V^†⊗V^†) core (V⊗V) pauli (B0⊗B1); the Pauli product commutes with the interaction.
    _, b0, b1 = kron_factor(np.kron(v, v) @ pauli @ np.kron(*d.before))
    pending = {0: b0, 1: b1}
    last = {0: d.after[0] @ v.conj().T, 1: d.after[1] @ v.conj().T}
    out: list[Gate] = []

    def flush(q: int) -> None:
        out.extend(one_qubit_gates(pending[q], qubits[q], {"u3"}))
        pending[q] = np.eye(2, dtype=complex)

    for name, qs, m in core:
        if name == "cx":
            flush(qs[0])
            flush(qs[1])
            out.append(("cx", (qubits[qs[0]], qubits[qs[1]]), ()))
        else:
            pending[qs[0]] = m @ pending[qs[0]]
    for q in (0, 1):
        pending[q] = last[q] @ pending[q]
        flush(q)
    return out
