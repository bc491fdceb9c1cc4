"""The engine's working state: Pauli coefficients plus a qubit layout.

:class:`PauliState` is internal and trusts its input: validation happens
before a program reaches it. Each operation is one matrix product
(:mod:`qlab.sim.kernels`) on a contiguous block of axes, written into a
scratch buffer that the state then swaps with its own (no allocation per
gate). Qubits that a block needs
adjacent are brought together by one transposing copy, and the layout
(``axes``) remembers where every qubit went.

>>> import numpy as np
>>> from qlab.sim.pauli import unitary_to_ptm
>>> s = PauliState.zero([0, 1])
>>> s.apply(unitary_to_ptm(np.array([[0, 1], [1, 0]])), (1,))
>>> s.probabilities((0, 1)).round(12).tolist()     # |01>
[0.0, 1.0, 0.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from .kernels import apply_block
from .pauli import pauli_index, pauli_vector_to_density, permute_operator

__all__ = ["PauliState", "Workspace"]

_ZERO_1Q = np.array([1.0, 0.0, 1.0, 0.0])


class Workspace:
    """Scratch buffers shared by the states of one simulation, one per size."""

    def __init__(self):
        self._buffers: dict[int, np.ndarray] = {}

    def take(self, size: int) -> np.ndarray:
        """Hand out the scratch buffer of ``size`` elements (allocating it once)."""
        buf = self._buffers.pop(size, None)
        return np.empty(size) if buf is None else buf

    def give(self, buf: np.ndarray) -> None:
        """Return a buffer for reuse."""
        self._buffers[buf.size] = buf


class PauliState:
    """Unnormalised real Pauli coefficients of a density matrix, ``c_P = Tr(P rho)``.

    Attributes:
        data: flat coefficients, one base-4 digit per physical axis.
        axes: the qubit label held by each physical axis (axis 0 most significant).
    """

    __slots__ = ("data", "axes", "workspace")

    def __init__(self, data: np.ndarray, axes: Sequence[Hashable], workspace: Workspace | None = None):
        self.data = data
        self.axes = list(axes)
        self.workspace = workspace or Workspace()

    @classmethod
    def zero(cls, labels: Sequence[Hashable], workspace: Workspace | None = None) -> PauliState:
        """The state ``|0...0>`` on qubits ``labels``."""
        data = np.ones(1)
        for _ in labels:
            data = np.kron(data, _ZERO_1Q)
        return cls(data, labels, workspace)

    @property
    def num_qubits(self) -> int:
        return len(self.axes)

    def trace(self) -> float:
        """``Tr(rho)``: the probability weight of this (unnormalised) state."""
        return float(self.data[0])

    def copy(self) -> PauliState:
        return PauliState(self.data.copy(), self.axes, self.workspace)

    # ------------------------------------------------------------ layout
    def _positions(self, qubits: Sequence[Hashable]) -> list[int]:
        return [self.axes.index(q) for q in qubits]

    def relayout(self, axes: Sequence[Hashable]) -> None:
        """Transpose the data so that physical axis ``i`` holds ``axes[i]``."""
        axes = list(axes)
        if axes == self.axes:
            return
        perm = self._positions(axes)
        n = len(axes)
        dst = self.workspace.take(self.data.size)
        np.copyto(dst.reshape((4,) * n), self.data.reshape((4,) * n).transpose(perm))
        self.workspace.give(self.data)
        self.data, self.axes = dst, axes

    def _gather(self, qubits: Sequence[Hashable]) -> int:
        """Make ``qubits`` adjacent (in any order) and return the first position."""
        pos = sorted(self._positions(qubits))
        if pos[-1] - pos[0] + 1 == len(pos):
            return pos[0]
        targets = set(qubits)
        others = [q for q in self.axes if q not in targets]
        start = sum(1 for p, q in enumerate(self.axes) if q not in targets and p < pos[0])
        self.relayout(others[:start] + [self.axes[p] for p in pos] + others[start:])
        return start

    # ------------------------------------------------------------ evolve
    def apply(self, ptm: np.ndarray, qubits: Sequence[Hashable]) -> None:
        """Apply a PTM acting on ``qubits`` (in the PTM's factor order)."""
        k = len(qubits)
        start = self._gather(qubits)
        physical = self.axes[start:start + k]
        if physical != list(qubits):
            ptm = permute_operator(ptm, [list(qubits).index(q) for q in physical], 4)
        n = len(self.axes)
        before, after = 4**start, 4 ** (n - start - k)
        if _is_diagonal(ptm):
            self.data.reshape(before, 4**k, after)[...] *= np.diag(ptm)[:, None]
            return
        dst = self.workspace.take(self.data.size)
        apply_block(self.data, dst, np.ascontiguousarray(ptm), before, 4**k, after)
        self.workspace.give(self.data)
        self.data = dst

    def add_(self, other: PauliState, weight: float = 1.0) -> None:
        """In place: ``self += weight * other`` (layouts are aligned first)."""
        other.relayout(self.axes)
        self.data += weight * other.data

    # -------------------------------------------------------- read states
    def probabilities(self, qubits: Sequence[Hashable]) -> np.ndarray:
        """Unnormalised outcome weights of measuring ``qubits`` (big-endian in that order).

        The weights sum to ``trace()``.
        """
        n = len(self.axes)
        positions = self._positions(qubits)
        index = [0] * n
        for p in positions:
            index[p] = slice(0, 3, 2)  # the I and Z coefficients
        sub = self.data.reshape((4,) * n)[tuple(index)]
        order = np.argsort(np.argsort(positions))  # sub's axes are in physical order
        sub = np.array(sub.transpose(order) if len(qubits) > 1 else sub, dtype=float)
        m = len(qubits)
        for axis in range(m):
            moved = np.moveaxis(sub.reshape((2,) * m), axis, 0)
            moved[...] = np.stack([moved[0] + moved[1], moved[0] - moved[1]])
        return sub.reshape(-1) / 2**m

    def expectation(self, pauli: str, qubits: Sequence[Hashable]) -> float:
        """``Tr(P rho)`` for the Pauli string ``pauli`` on ``qubits``."""
        label = ["I"] * len(self.axes)
        for ch, q in zip(pauli, qubits):
            label[self.axes.index(q)] = ch
        return float(self.data[pauli_index("".join(label))])

    def to_matrix(self, labels: Sequence[Hashable]) -> np.ndarray:
        """The ``2**n x 2**n`` density matrix with qubit order ``labels``."""
        self.relayout(labels)
        return pauli_vector_to_density(self.data, len(labels))

    # ------------------------------------------------- grow and shrink
    def add_qubit(self, label: Hashable, vector: np.ndarray = _ZERO_1Q) -> None:
        """Append a qubit in a product state as the last axis (``|0>``, or a normalised Pauli ``vector``)."""
        self.data = np.kron(self.data, vector / vector[0])
        self.axes.append(label)

    def reduced(self, keep: Sequence[Hashable]) -> PauliState:
        """A new state of the qubits ``keep`` only (the others traced out), in the current layout order."""
        keep = set(keep)
        index = tuple(slice(None) if q in keep else 0 for q in self.axes)
        data = np.array(self.data.reshape((4,) * len(self.axes))[index], dtype=float).reshape(-1)
        return PauliState(data, [q for q in self.axes if q in keep], self.workspace)

    def remove_qubit(self, label: Hashable) -> None:
        """Trace a qubit out."""
        p = self.axes.index(label)
        n = len(self.axes)
        self.data = np.ascontiguousarray(self.data.reshape(4**p, 4, 4 ** (n - p - 1))[:, 0, :]).reshape(-1)
        del self.axes[p]


def _is_diagonal(m: np.ndarray) -> bool:
    return m.shape[0] > 1 and not np.any(m - np.diag(np.diag(m)))
