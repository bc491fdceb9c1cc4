"""The real Pauli basis of the engine (qlab.sim.pauli) against QuTiP."""

from __future__ import annotations

from itertools import permutations, product

import numpy as np
import pytest
import qutip

from qlab.sim.pauli import (
    PAULI_LABELS,
    density_to_pauli_vector,
    kraus_to_ptm,
    pauli_basis,
    pauli_index,
    pauli_vector_to_density,
    permute_operator,
    ptm_from_choi_columns,
    ptm_to_superop,
    superop_to_ptm,
    unitary_to_ptm,
)
from reference import pauli_string


def labels(k: int) -> list[str]:
    return ["".join(s) for s in product(PAULI_LABELS, repeat=k)]


def qutip_ptm(superop: qutip.Qobj, k: int) -> np.ndarray:
    """``R[P, Q] = 2**-k Tr(P E(Q))`` with E applied by QuTiP."""
    basis = [pauli_string(lab) for lab in labels(k)]
    images = [qutip.vector_to_operator(superop * qutip.operator_to_vector(q)) for q in basis]
    ptm = np.array([[(p * e).tr() for e in images] for p in basis])
    assert np.allclose(ptm.imag, 0, atol=1e-12)
    return ptm.real / 2**k


def test_basis_order_is_i_x_z_y_with_qubit_0_most_significant():
    assert PAULI_LABELS == "IXZY"
    for k in (1, 2, 3):
        expected = np.array([pauli_string(lab).full() for lab in labels(k)])
        np.testing.assert_array_equal(pauli_basis(k), expected)
    assert [pauli_index(lab) for lab in ("I", "X", "Z", "Y", "XI", "IY", "YZX")] == [0, 1, 2, 3, 4, 3, 3 * 16 + 2 * 4 + 1]


def test_basis_is_read_only():
    with pytest.raises(ValueError, match="read-only"):
        pauli_basis(1)[0, 0, 0] = 2


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8])
def test_density_round_trip_and_coefficients(n):
    rho = qutip.rand_dm([2] * n, seed=n)
    coeffs = density_to_pauli_vector(rho.full(), n)
    assert coeffs.dtype == np.float64 and coeffs.shape == (4**n,)
    np.testing.assert_allclose(pauli_vector_to_density(coeffs, n), rho.full(), atol=1e-13)
    if n <= 3:
        expected = [qutip.expect(pauli_string(lab), rho) for lab in labels(n)]
        np.testing.assert_allclose(coeffs, expected, atol=1e-13)
    assert coeffs[0] == pytest.approx(1.0)


@pytest.mark.parametrize("n", [2, 6, 7])
def test_small_and_large_transforms_agree_with_expectation_values(n):
    """Below 7 qubits the transforms are NumPy contractions, from 7 on numba kernels: both give Tr(P rho)."""
    rho = qutip.rand_dm([2] * n, seed=20 + n)
    coeffs = density_to_pauli_vector(rho.full(), n)
    rng = np.random.default_rng(n)
    for label in ["".join(rng.choice(list("IXYZ"), size=n)) for _ in range(5)]:
        index = sum(4 ** (n - 1 - i) * "IXZY".index(c) for i, c in enumerate(label))
        assert coeffs[index] == pytest.approx(qutip.expect(pauli_string(label), rho), abs=1e-12)


@pytest.mark.parametrize("n", [1, 3, 5, 7])
def test_pauli_vector_round_trip_writes_into_out(n):
    rho = qutip.rand_dm([2] * n, seed=10 + n).full()
    out = np.empty((2**n, 2**n), dtype=complex)
    result = pauli_vector_to_density(density_to_pauli_vector(rho, n), n, out=out)
    assert result is out
    np.testing.assert_allclose(out, rho, atol=1e-13)


def test_column_stacking_convention_of_qutip():
    rho = qutip.rand_dm(2, seed=1)
    u = qutip.rand_unitary(2, seed=2)
    vec = qutip.operator_to_vector(rho)
    np.testing.assert_array_equal(vec.full().ravel(), rho.full().reshape(-1, order="F"))
    moved = qutip.vector_to_operator(qutip.to_super(u) * vec)
    np.testing.assert_allclose(moved.full(), (u * rho * u.dag()).full(), atol=1e-14)
    np.testing.assert_allclose(qutip.to_super(u).full(), np.kron(u.full().conj(), u.full()), atol=1e-14)


def test_unitary_ptm_of_x():
    np.testing.assert_allclose(unitary_to_ptm(qutip.sigmax().full()), np.diag([1.0, 1.0, -1.0, -1.0]), atol=1e-15)


def test_unitary_ptm_of_hadamard_swaps_x_and_z():
    h = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
    expected = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, -1]])
    np.testing.assert_allclose(unitary_to_ptm(h), expected, atol=1e-15)


@pytest.mark.parametrize("k,seed", [(1, 0), (1, 1), (2, 2), (2, 3), (3, 4)])
def test_unitary_ptm_matches_qutip(k, seed):
    u = qutip.rand_unitary([2] * k, seed=seed)
    ptm = unitary_to_ptm(u.full())
    np.testing.assert_allclose(ptm, qutip_ptm(qutip.to_super(u), k), atol=1e-12)
    np.testing.assert_allclose(ptm @ ptm.T, np.eye(4**k), atol=1e-12)


@pytest.mark.parametrize("k,seed", [(1, 0), (1, 1), (2, 2), (2, 3)])
def test_kraus_ptm_matches_qutip(k, seed):
    ops = qutip.rand_kraus_map([2] * k, seed=seed)
    ptm = kraus_to_ptm(np.array([op.full() for op in ops]))
    np.testing.assert_allclose(ptm, qutip_ptm(qutip.kraus_to_super(ops), k), atol=1e-12)


def test_kraus_ptm_of_non_trace_preserving_operators():
    ptm = kraus_to_ptm(np.array([np.diag([1.0, 0.0])]))
    np.testing.assert_allclose(ptm, 0.5 * np.array([[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]), atol=1e-15)


@pytest.mark.parametrize("k,seed", [(1, 0), (1, 5), (2, 6)])
def test_superop_ptm_matches_qutip_and_round_trips(k, seed):
    s = qutip.rand_super_bcsz([2] * k, seed=seed)
    ptm = superop_to_ptm(s.full())
    np.testing.assert_allclose(ptm, qutip_ptm(s, k), atol=1e-12)
    np.testing.assert_allclose(ptm_to_superop(ptm), s.full(), atol=1e-12)


@pytest.mark.parametrize("k,seed", [(1, 7), (2, 8)])
def test_choi_matches_qutip(k, seed):
    s = qutip.rand_super_bcsz([2] * k, seed=seed)
    choi = ptm_from_choi_columns(superop_to_ptm(s.full()))
    np.testing.assert_allclose(choi, qutip.to_choi(s).full(), atol=1e-12)


def test_ptm_of_a_product_is_the_product_of_ptms():
    a, b = (qutip.rand_unitary([2, 2], seed=s).full() for s in (11, 12))
    np.testing.assert_allclose(unitary_to_ptm(b @ a), unitary_to_ptm(b) @ unitary_to_ptm(a), atol=1e-12)


def test_ptm_of_a_tensor_product_is_the_kron_of_ptms():
    a, b = (qutip.rand_unitary(2, seed=s).full() for s in (13, 14))
    np.testing.assert_allclose(unitary_to_ptm(np.kron(a, b)), np.kron(unitary_to_ptm(a), unitary_to_ptm(b)), atol=1e-12)


@pytest.mark.parametrize("perm", list(permutations(range(3))))
def test_permute_operator_matches_qutip_permute(perm):
    op = qutip.rand_unitary([2, 2, 2], seed=21)
    np.testing.assert_allclose(permute_operator(op.full(), perm, 2), op.permute(list(perm)).full(), atol=1e-15)


@pytest.mark.parametrize("perm", list(permutations(range(3))))
def test_permute_operator_on_ptms_relabels_qubits(perm):
    ops = [qutip.rand_unitary(2, seed=30 + i) for i in range(3)]
    u = qutip.tensor(ops)
    permuted = qutip.tensor([ops[p] for p in perm])
    np.testing.assert_allclose(permute_operator(unitary_to_ptm(u.full()), perm, 4), unitary_to_ptm(permuted.full()), atol=1e-12)


def test_permute_operator_of_cx_moves_the_control():
    cx = np.eye(4)[[0, 1, 3, 2]]
    reversed_cx = np.eye(4)[[0, 3, 2, 1]]
    np.testing.assert_array_equal(permute_operator(cx, (1, 0), 2), reversed_cx)
