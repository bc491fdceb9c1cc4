"""The real Pauli basis that the engine computes in.

A density matrix on ``n`` qubits is stored as its real Pauli coefficients
``c_P = Tr(P rho)`` (so ``rho = 2**-n * sum_P c_P P``), one axis of length 4
per qubit. A channel becomes its Pauli transfer matrix (PTM)
``R[P, Q] = 2**-k Tr(P E(Q))``, a real matrix, and evolution is ``c -> R c``.
Real arithmetic on half the memory of the complex density matrix is what
makes the engine fast; users never see this basis: states come back as
:class:`~qlab.sim.density_matrix.DensityMatrix` or QuTiP ``Qobj``.

The single-qubit basis order is ``(I, X, Z, Y)``: index ``a + 2*b`` is the
Pauli ``i**(a*b) X**a Z**b``. Qubit 0 is the most significant axis, as in
QuTiP's tensor order.

>>> import numpy as np
>>> ptm = unitary_to_ptm(np.array([[0, 1], [1, 0]]))   # X flips Z and Y
>>> np.diag(ptm).round(12).tolist()
[1.0, 1.0, -1.0, -1.0]
"""

from __future__ import annotations

from functools import lru_cache
from itertools import product

import numpy as np

__all__ = [
    "PAULI_LABELS",
    "pauli_basis",
    "unitary_to_ptm",
    "kraus_to_ptm",
    "superop_to_ptm",
    "superop_transfer",
    "ptm_to_superop",
    "ptm_from_choi_columns",
    "pauli_vector_to_density",
    "density_to_pauli_vector",
    "permute_operator",
    "pauli_index",
]

PAULI_LABELS = "IXZY"
"""Single-qubit Pauli labels in the engine's index order."""

_SINGLE = np.array(
    [
        [[1, 0], [0, 1]],
        [[0, 1], [1, 0]],
        [[1, 0], [0, -1]],
        [[0, -1j], [1j, 0]],
    ],
    dtype=complex,
)


@lru_cache(maxsize=8)
def pauli_basis(k: int) -> np.ndarray:
    """All ``4**k`` Pauli strings on ``k`` qubits, shape ``(4**k, 2**k, 2**k)``.

    >>> pauli_basis(1)[3].tolist() == [[0, -1j], [1j, 0]]
    True
    """
    basis = np.ones((1, 1, 1), dtype=complex)
    for _ in range(k):
        basis = np.einsum("pab,qcd->pqacbd", basis, _SINGLE).reshape(
            basis.shape[0] * 4, basis.shape[1] * 2, basis.shape[2] * 2
        )
    basis.setflags(write=False)
    return basis


def pauli_index(label: str) -> int:
    """The flat coefficient index of a Pauli string such as ``"XZI"``.

    >>> pauli_index("Z"), pauli_index("IY")
    (2, 3)
    """
    idx = 0
    for ch in label:
        idx = idx * 4 + PAULI_LABELS.index(ch)
    return idx


def _transfer(ops_left: np.ndarray, ops_right: np.ndarray, k: int) -> np.ndarray:
    """R[P, Q] = 2**-k sum_K Tr(P K Q K_right^dagger) for stacked operators."""
    basis = pauli_basis(k)
    # E(Q) for every basis element Q: sum over Kraus operators.
    images = np.einsum("kab,qbc,kdc->qad", ops_left, basis, ops_right.conj(), optimize=True)
    return np.einsum("pba,qab->pq", basis, images, optimize=True).real / 2**k


def unitary_to_ptm(u: np.ndarray) -> np.ndarray:
    """The PTM of ``rho -> U rho U^dagger``."""
    u = np.asarray(u, dtype=complex)
    k = u.shape[0].bit_length() - 1
    return _transfer(u[None], u[None], k)


def kraus_to_ptm(kraus) -> np.ndarray:
    """The PTM of ``rho -> sum_K K rho K^dagger`` (not necessarily trace preserving)."""
    ops = np.asarray(kraus, dtype=complex)
    k = ops.shape[1].bit_length() - 1
    return _transfer(ops, ops, k)


def _vec_basis(k: int) -> np.ndarray:
    """Columns are column-stacked Pauli strings (QuTiP's ``operator_to_vector``)."""
    basis = pauli_basis(k)
    return basis.transpose(0, 2, 1).reshape(basis.shape[0], -1).T


def superop_transfer(superop: np.ndarray) -> np.ndarray:
    """The complex Pauli transfer matrix of a superoperator on column-stacked vectors
    (QuTiP's convention); it is real exactly when the map preserves Hermiticity."""
    s = np.asarray(superop, dtype=complex)
    k = (s.shape[0].bit_length() - 1) // 2
    v = _vec_basis(k)
    return v.conj().T @ s @ v / 2**k


def superop_to_ptm(superop: np.ndarray) -> np.ndarray:
    """The PTM of a Hermiticity-preserving superoperator (QuTiP's column stacking)."""
    return superop_transfer(superop).real


def ptm_to_superop(ptm: np.ndarray) -> np.ndarray:
    """The column-stacking superoperator of a PTM (inverse of :func:`superop_to_ptm`)."""
    k = (ptm.shape[0].bit_length() - 1) // 2
    v = _vec_basis(k)
    return v @ ptm @ v.conj().T / 2**k


def ptm_from_choi_columns(ptm: np.ndarray) -> np.ndarray:
    """The Choi matrix ``sum_ij |i><j| (x) E(|i><j|)`` of a PTM (for CP checks)."""
    k = (ptm.shape[0].bit_length() - 1) // 2
    d = 2**k
    s = ptm_to_superop(ptm)
    choi = np.zeros((d * d, d * d), dtype=complex)
    for i, j in product(range(d), repeat=2):
        unit = np.zeros((d, d), dtype=complex)
        unit[i, j] = 1
        image = (s @ unit.reshape(-1, order="F")).reshape(d, d, order="F")
        choi[i * d:(i + 1) * d, j * d:(j + 1) * d] = image
    return choi


def permute_operator(matrix: np.ndarray, perm, local_dim: int) -> np.ndarray:
    """Reorder the tensor factors of an operator on ``len(perm)`` subsystems.

    Factor ``i`` of the result is factor ``perm[i]`` of ``matrix``.

    >>> cx = np.eye(4)[[0, 1, 3, 2]]
    >>> permute_operator(cx, (1, 0), 2).astype(int).tolist()   # control on the second qubit
    [[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]]
    """
    k = len(perm)
    t = np.asarray(matrix).reshape((local_dim,) * (2 * k))
    axes = list(perm) + [k + p for p in perm]
    return t.transpose(axes).reshape(matrix.shape)


# ------------------------------------------------------------ full states
@lru_cache(maxsize=32)
def _tables(n: int) -> tuple[np.ndarray, np.ndarray]:
    """spread[a]: bits of a moved to base-4 digits; popcount of every n-bit int."""
    d = 1 << n
    idx = np.arange(d)
    spread = np.zeros(d, dtype=np.int64)
    for bit in range(n):
        spread |= ((idx >> bit) & 1) << (2 * bit)
    pop = np.zeros(d, dtype=np.int64)
    for bit in range(n):
        pop += (idx >> bit) & 1
    return spread, pop


_I_POWERS = np.array([1, 1j, -1, -1j], dtype=np.complex128)


# Below this size the transforms are tensor contractions in NumPy; from it on
# they are the numba kernels of ``pauli_kernels`` (compiled once, cached on
# disk), so importing qlab and running small simulations never loads numba.
_NUMBA_FROM_QUBITS = 7


def _run(name: str, n: int, *args) -> None:
    from . import pauli_kernels

    pauli_kernels.run(name, *args)


def _numpy_to_density(coeffs: np.ndarray, n: int) -> np.ndarray:
    t = coeffs.reshape((4,) * n)
    for _ in range(n):  # each step turns the leading Pauli axis into a (row, column) pair at the end
        t = np.tensordot(t, _SINGLE, axes=([0], [0]))
    d = 1 << n
    return t.transpose(list(range(0, 2 * n, 2)) + list(range(1, 2 * n, 2))).reshape(d, d) / d


def _numpy_to_pauli(rho: np.ndarray, n: int) -> np.ndarray:
    t = rho.reshape((2,) * (2 * n)).transpose([i for q in range(n) for i in (q, n + q)])
    for _ in range(n):  # Tr(P rho) = sum_rc P[c, r] rho[r, c], one qubit at a time
        t = np.tensordot(t, _SINGLE, axes=([0, 1], [2, 1]))
    return np.ascontiguousarray(t.real).reshape(-1)


def pauli_vector_to_density(coeffs: np.ndarray, n: int, out: np.ndarray | None = None) -> np.ndarray:
    """The ``2**n x 2**n`` density matrix of flat Pauli coefficients (fast transform).

    >>> zero = np.array([1.0, 0, 1, 0])          # c_I = c_Z = 1: |0><0|
    >>> pauli_vector_to_density(zero, 1).real.tolist()
    [[1.0, 0.0], [0.0, 0.0]]
    """
    if n < _NUMBA_FROM_QUBITS:
        result = _numpy_to_density(np.asarray(coeffs, dtype=np.float64).reshape(-1), n)
        if out is None:
            return result
        out[...] = result
        return out
    spread, pop = _tables(n)
    if out is None:
        out = np.empty((1 << n, 1 << n), dtype=np.complex128)
    _run("to_dm", n, np.ascontiguousarray(coeffs, dtype=np.float64).reshape(-1), spread, pop, _I_POWERS, out)
    return out


def density_to_pauli_vector(rho: np.ndarray, n: int) -> np.ndarray:
    """Flat Pauli coefficients ``Tr(P rho)`` of a ``2**n x 2**n`` matrix (fast transform).

    >>> density_to_pauli_vector(np.array([[0.5, 0.5], [0.5, 0.5]]), 1).tolist()   # |+><+|
    [1.0, 1.0, 0.0, 0.0]
    """
    if n < _NUMBA_FROM_QUBITS:
        return _numpy_to_pauli(np.asarray(rho, dtype=np.complex128), n)
    spread, pop = _tables(n)
    out = np.empty(4**n, dtype=np.float64)
    _run("to_pauli", n, np.ascontiguousarray(rho, dtype=np.complex128).reshape(1 << n, 1 << n), spread, pop, _I_POWERS, out)
    return out
