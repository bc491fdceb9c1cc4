"""The user-facing density matrix and its conversions to and from QuTiP.

>>> import qutip
>>> bell = DensityMatrix.from_qobj(qutip.bell_state("00"))
>>> bell.num_qubits, round(bell.purity(), 12)
(2, 1.0)
>>> round(bell.expectation("ZZ"), 12), round(bell.expectation("XI"), 12)
(1.0, 0.0)
>>> bell.partial_trace([0]).to_qobj().full().real.round(3).tolist()
[[0.5, 0.0], [0.0, 0.5]]
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from typing import TYPE_CHECKING

import numpy as np

from ..exceptions import QlabTypeError, SimulationError
from .channels import is_qobj

if TYPE_CHECKING:
    import qutip

__all__ = ["DensityMatrix"]

_PAULI = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


class DensityMatrix:
    """A density matrix on ``n`` qubits: a complex128 tensor with axes
    ``(row qubit 0, ..., row qubit n-1, column qubit 0, ..., column qubit n-1)``.

    Qubit 0 is the most significant factor (QuTiP's ``tensor`` order), so
    ``matrix[i, j]`` uses big-endian basis indices.

    Args:
        data: a ``2**n x 2**n`` matrix or the ``(2,)*2n`` tensor.
        validate: check that it is Hermitian, positive semi-definite, with trace 1.
    """

    __slots__ = ("tensor",)

    def __init__(self, data, *, validate: bool = True):
        arr = np.asarray(data, dtype=np.complex128)
        if arr.ndim == 2:
            dim = arr.shape[0]
            n = dim.bit_length() - 1
            if arr.shape != (dim, dim) or dim != 2**n or n < 0:
                raise SimulationError(f"DensityMatrix: expected a 2^n x 2^n matrix, got shape {arr.shape}.")
            arr = arr.reshape((2,) * (2 * n))
        elif arr.shape != (2,) * arr.ndim or arr.ndim % 2:
            raise SimulationError(f"DensityMatrix: expected a (2,)*2n tensor or a 2^n x 2^n matrix, got shape {arr.shape}.")
        self.tensor = arr
        if validate:
            self._validate()

    def _validate(self, atol: float = 1e-8) -> None:
        m = self.matrix
        if not np.allclose(m, m.conj().T, atol=atol):
            raise SimulationError("DensityMatrix: the matrix is not Hermitian.")
        if abs(np.trace(m).real - 1) > atol:
            raise SimulationError(f"DensityMatrix: the trace must be 1, got {np.trace(m).real:.12g}.")
        if np.linalg.eigvalsh(m).min() < -atol:
            raise SimulationError("DensityMatrix: the matrix is not positive semi-definite.")

    # ------------------------------------------------------------ views
    @property
    def num_qubits(self) -> int:
        return self.tensor.ndim // 2

    @property
    def matrix(self) -> np.ndarray:
        """The ``2**n x 2**n`` matrix view."""
        d = 2**self.num_qubits
        return self.tensor.reshape(d, d)

    def __array__(self, dtype=None, copy=None):
        return self.matrix if dtype is None else self.matrix.astype(dtype)

    def to_qobj(self) -> qutip.Qobj:
        """The state as a QuTiP ``Qobj`` with dims ``[[2]*n, [2]*n]``."""
        import qutip

        n = self.num_qubits
        return qutip.Qobj(self.matrix, dims=[[2] * n, [2] * n])

    @classmethod
    def from_qobj(cls, obj: qutip.Qobj) -> DensityMatrix:
        """From a QuTiP ket or density matrix on qubits."""
        if not is_qobj(obj):
            raise QlabTypeError(f"DensityMatrix.from_qobj: expected a qutip.Qobj, got {type(obj).__name__}.")
        import qutip

        if obj.isket:
            obj = qutip.ket2dm(obj)
        if not obj.isoper:
            raise SimulationError(f"DensityMatrix.from_qobj: expected a ket or an operator, got type {obj.type!r}.")
        return cls(obj.full())

    @classmethod
    def from_statevector(cls, psi) -> DensityMatrix:
        """``|psi><psi|`` of a normalised state vector."""
        v = np.asarray(psi, dtype=complex).reshape(-1)
        return cls(np.outer(v, v.conj()))

    @classmethod
    def zero(cls, num_qubits: int) -> DensityMatrix:
        """``|0...0><0...0|``."""
        d = 2**num_qubits
        m = np.zeros((d, d), dtype=complex)
        m[0, 0] = 1
        return cls(m, validate=False)

    # ----------------------------------------------------- quantities
    def trace(self) -> float:
        return float(np.trace(self.matrix).real)

    def purity(self) -> float:
        """``Tr(rho^2)``."""
        m = self.matrix
        return float(np.vdot(m, m).real)

    def probabilities(self) -> np.ndarray:
        """Computational-basis probabilities (big-endian index)."""
        return np.clip(np.diagonal(self.matrix).real, 0, None)

    def fidelity(self, other: DensityMatrix | qutip.Qobj) -> float:
        """Uhlmann fidelity ``(Tr sqrt(sqrt(rho) sigma sqrt(rho)))**2`` (1 for equal states).

        >>> zero, one = DensityMatrix.zero(1), DensityMatrix([[0, 0], [0, 1]])
        >>> zero.fidelity(zero), zero.fidelity(one)
        (1.0, 0.0)
        """
        sigma = _as_matrix(other, self.num_qubits)
        root = _psd_sqrt(self.matrix)
        eigs = np.linalg.eigvalsh(root @ sigma @ root)
        return float(min(np.sqrt(np.clip(eigs, 0, None)).sum() ** 2, 1.0))

    def trace_distance(self, other: DensityMatrix | qutip.Qobj) -> float:
        """``0.5 * ||rho - sigma||_1``."""
        diff = self.matrix - _as_matrix(other, self.num_qubits)
        return float(0.5 * np.abs(np.linalg.eigvalsh((diff + diff.conj().T) / 2)).sum())

    def partial_trace(self, keep: Sequence[int]) -> DensityMatrix:
        """The reduced state of qubits ``keep`` (in that order)."""
        n = self.num_qubits
        keep = list(keep)
        if len(set(keep)) != len(keep) or any(not 0 <= q < n for q in keep):
            raise SimulationError(f"partial_trace: keep must be distinct qubits in 0..{n - 1}, got {keep}.")
        rows = list(range(n))
        cols = [q if q not in keep else n + q for q in range(n)]
        out = [rows[q] for q in keep] + [cols[q] for q in keep]
        return DensityMatrix(np.einsum(self.tensor, rows + cols, out), validate=False)

    def expectation(self, pauli: str, qubits: Sequence[int] | None = None) -> float:
        """``Tr(P rho)`` for a Pauli string such as ``"XZI"`` (character ``i`` acts on qubit ``i``,
        or on ``qubits[i]`` when given)."""
        n = self.num_qubits
        if not isinstance(pauli, str) or set(pauli.upper()) - set("IXYZ"):
            raise SimulationError(f"expectation: {pauli!r} is not a Pauli string over I, X, Y, Z.")
        qubits = list(range(len(pauli))) if qubits is None else list(qubits)
        if len(qubits) != len(pauli) or any(not 0 <= q < n for q in qubits) or len(set(qubits)) != len(qubits):
            raise SimulationError(
                f"expectation: {pauli!r} needs one distinct qubit per letter in 0..{n - 1}, got qubits {qubits}."
            )
        labels = ["I"] * n
        for ch, q in zip(pauli.upper(), qubits):
            labels[q] = ch
        op = reduce(np.kron, [_PAULI[c] for c in labels], np.ones((1, 1)))
        return float(np.trace(op @ self.matrix).real)

    # --------------------------------------------------------- display
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DensityMatrix):
            return NotImplemented
        return self.tensor.shape == other.tensor.shape and np.allclose(self.tensor, other.tensor, atol=1e-10)

    __hash__ = None

    def __repr__(self) -> str:
        return f"DensityMatrix(<{self.num_qubits} qubit(s), purity {self.purity():.4f}>)"

    def _repr_html_(self) -> str:
        n = self.num_qubits
        if n > 4:
            return f"<p>{self!r}</p>"
        m = self.matrix
        labels = [format(i, f"0{n}b") for i in range(2**n)]
        head = "".join(f"<th>|{b}⟩</th>" for b in labels)
        rows = "".join(
            f"<tr><th>⟨{b}|</th>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>"
            for b, row in zip(labels, m)
        )
        return (
            f"<table><caption>density matrix, {n} qubit(s), purity {self.purity():.4f}</caption>"
            f"<tr><th></th>{head}</tr>{rows}</table>"
        )

    def plot(self, ax=None, kind: str = "real", style: str | None = None, vmax: float | None = None):
        """Draw the real or imaginary part or the modulus (``kind``); return the axes.

        A heat map up to 2 qubits, a city plot (3D bars) from 3 on (``style``
        ``"map"`` or ``"city"`` chooses). Colours and labels follow QuTiP's
        ``hinton``: positive blue, negative red, a scale symmetric around 0 at
        the largest magnitude (or ``±vmax``), rows ``⟨b|``, columns ``|b⟩``.
        """
        from .plotting import plot_density_matrix

        return plot_density_matrix(self.matrix, kind=kind, ax=ax, style=style, vmax=vmax)


def _psd_sqrt(m: np.ndarray) -> np.ndarray:
    """The square root of a positive semi-definite matrix (negative round-off clipped)."""
    vals, vecs = np.linalg.eigh((m + m.conj().T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.conj().T


def _fmt(v: complex) -> str:
    if abs(v.imag) < 5e-4:
        return f"{v.real:.3f}"
    return f"{v.real:.3f}{v.imag:+.3f}i"


def _as_matrix(other, n: int) -> np.ndarray:
    if is_qobj(other):
        other = DensityMatrix.from_qobj(other)
    if not isinstance(other, DensityMatrix):
        raise QlabTypeError(f"Expected a DensityMatrix or qutip.Qobj, got {type(other).__name__}.")
    if other.num_qubits != n:
        raise SimulationError(f"Cannot compare a {n}-qubit state with a {other.num_qubits}-qubit state.")
    return other.matrix
