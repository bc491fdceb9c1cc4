"""The user-facing DensityMatrix (qlab.sim.density_matrix) against QuTiP."""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pytest
import qutip

from qlab.exceptions import QlabTypeError, SimulationError
from qlab.sim import DensityMatrix
from reference import pauli_string


def rand_state(n: int, seed: int, pure: bool = False) -> qutip.Qobj:
    if pure:
        return qutip.ket2dm(qutip.rand_ket([2] * n, seed=seed))
    return qutip.rand_dm([2] * n, seed=seed)


def test_matrix_and_tensor_views():
    rho = rand_state(2, 0)
    dm = DensityMatrix(rho.full())
    assert dm.num_qubits == 2
    assert dm.tensor.shape == (2, 2, 2, 2)
    np.testing.assert_array_equal(dm.matrix, rho.full())
    np.testing.assert_array_equal(np.asarray(dm), rho.full())
    assert DensityMatrix(dm.tensor) == dm


def test_qobj_round_trip_has_qubit_dims():
    for n in (1, 2, 3):
        rho = rand_state(n, n)
        qobj = DensityMatrix.from_qobj(rho).to_qobj()
        assert qobj.dims == [[2] * n, [2] * n]
        np.testing.assert_allclose(qobj.full(), rho.full(), atol=1e-15)


def test_from_qobj_of_a_ket_and_from_statevector():
    ket = qutip.rand_ket([2, 2], seed=1)
    expected = qutip.ket2dm(ket).full()
    np.testing.assert_allclose(DensityMatrix.from_qobj(ket).matrix, expected, atol=1e-15)
    np.testing.assert_allclose(DensityMatrix.from_statevector(ket.full()).matrix, expected, atol=1e-15)


def test_zero_state():
    zero = DensityMatrix.zero(3)
    assert zero.probabilities()[0] == 1.0 and zero.probabilities()[1:].sum() == 0.0
    assert zero == DensityMatrix.from_qobj(qutip.tensor([qutip.basis(2, 0)] * 3))


@pytest.mark.parametrize(
    "data,match",
    [
        ([[0.5, 0.5], [0.0, 0.5]], "DensityMatrix: the matrix is not Hermitian"),
        ([[0.5, 0.0], [0.0, 0.6]], "DensityMatrix: the trace must be 1, got 1.1"),
        ([[1.5, 0.0], [0.0, -0.5]], "DensityMatrix: the matrix is not positive semi-definite"),
        (np.eye(3) / 3, r"DensityMatrix: expected a 2\^n x 2\^n matrix, got shape \(3, 3\)"),
        (np.ones((2, 4)) / 2, r"expected a 2\^n x 2\^n matrix, got shape \(2, 4\)"),
        (np.ones(4), r"expected a \(2,\)\*2n tensor or a 2\^n x 2\^n matrix, got shape \(4,\)"),
        (np.ones((2, 2, 2)), r"expected a \(2,\)\*2n tensor or a 2\^n x 2\^n matrix, got shape \(2, 2, 2\)"),
    ],
)
def test_invalid_matrices_are_rejected(data, match):
    with pytest.raises(SimulationError, match=match):
        DensityMatrix(data)


def test_validation_can_be_skipped():
    assert DensityMatrix(np.eye(2), validate=False).trace() == 2.0


def test_from_qobj_rejects_bras_and_non_qobjs():
    with pytest.raises(SimulationError, match="DensityMatrix.from_qobj: expected a ket or an operator, got type 'bra'"):
        DensityMatrix.from_qobj(qutip.basis(2, 0).dag())
    with pytest.raises(QlabTypeError, match="DensityMatrix.from_qobj: expected a qutip.Qobj, got ndarray"):
        DensityMatrix.from_qobj(np.eye(2) / 2)


@pytest.mark.parametrize("seed", range(4))
def test_purity_matches_qutip(seed):
    rho = rand_state(3, seed)
    assert DensityMatrix.from_qobj(rho).purity() == pytest.approx((rho * rho).tr().real, abs=1e-14)


@pytest.mark.parametrize("pure_a,pure_b", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("seed", range(3))
def test_fidelity_is_the_square_of_qutip_fidelity(pure_a, pure_b, seed):
    a, b = rand_state(2, seed, pure_a), rand_state(2, 100 + seed, pure_b)
    expected = qutip.fidelity(a, b) ** 2
    # With a pure state, both square roots of round-off eigenvalues (~1e-17) add ~1e-8.
    tolerance = 1e-7 if pure_a or pure_b else 1e-10
    assert DensityMatrix.from_qobj(a).fidelity(DensityMatrix.from_qobj(b)) == pytest.approx(expected, abs=tolerance)
    assert DensityMatrix.from_qobj(a).fidelity(b) == pytest.approx(expected, abs=tolerance)


@pytest.mark.parametrize("seed", range(3))
def test_fidelity_with_a_pure_state_is_the_overlap(seed):
    ket = qutip.rand_ket([2, 2], seed=seed)
    sigma = rand_state(2, 100 + seed)
    overlap = qutip.expect(sigma, ket)
    pure = DensityMatrix.from_qobj(ket)
    assert pure.fidelity(sigma) == pytest.approx(overlap, abs=1e-7)
    assert DensityMatrix.from_qobj(sigma).fidelity(pure) == pytest.approx(overlap, abs=1e-7)


def test_fidelity_of_equal_and_orthogonal_states():
    plus = DensityMatrix([[0.5, 0.5], [0.5, 0.5]])
    assert plus.fidelity(plus) == pytest.approx(1.0, abs=1e-12)
    assert plus.fidelity(DensityMatrix([[0.5, -0.5], [-0.5, 0.5]])) == pytest.approx(0.0, abs=1e-12)
    assert plus.fidelity(DensityMatrix.zero(1)) == pytest.approx(0.5, abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_trace_distance_matches_qutip(seed):
    a, b = rand_state(3, seed), rand_state(3, 50 + seed, pure=seed % 2 == 0)
    expected = qutip.tracedist(a, b)
    assert DensityMatrix.from_qobj(a).trace_distance(DensityMatrix.from_qobj(b)) == pytest.approx(expected, abs=1e-12)
    assert DensityMatrix.from_qobj(a).trace_distance(b) == pytest.approx(expected, abs=1e-12)


def test_comparisons_need_states_of_one_size():
    with pytest.raises(SimulationError, match="Cannot compare a 1-qubit state with a 2-qubit state"):
        DensityMatrix.zero(1).fidelity(DensityMatrix.zero(2))
    with pytest.raises(QlabTypeError, match="Expected a DensityMatrix or qutip.Qobj, got ndarray"):
        DensityMatrix.zero(1).trace_distance(np.eye(2) / 2)


@pytest.mark.parametrize("keep", [[0], [2], [0, 2], [1, 3], [0, 1, 3], [3, 0], [2, 0, 3], [3, 2, 1, 0]])
def test_partial_trace_matches_qutip(keep):
    rho = rand_state(4, 7)
    reduced = rho.ptrace(sorted(keep))
    order = [sorted(keep).index(q) for q in keep]
    expected = reduced.permute(order)
    np.testing.assert_allclose(DensityMatrix.from_qobj(rho).partial_trace(keep).matrix, expected.full(), atol=1e-14)


@pytest.mark.parametrize("keep", [[0, 0], [2], [-1], [0, 1, 2]])
def test_partial_trace_rejects_bad_qubits(keep):
    with pytest.raises(SimulationError, match=r"partial_trace: keep must be distinct qubits in 0..1, got"):
        DensityMatrix.zero(2).partial_trace(keep)


@pytest.mark.parametrize("seed", range(6))
def test_expectation_matches_qutip(seed):
    rng = np.random.default_rng(seed)
    rho = rand_state(4, seed)
    dm = DensityMatrix.from_qobj(rho)
    label = "".join(rng.choice(list("IXYZ"), size=4))
    assert dm.expectation(label) == pytest.approx(qutip.expect(pauli_string(label), rho), abs=1e-13)
    assert dm.expectation(label.lower()) == pytest.approx(dm.expectation(label), abs=1e-15)
    for qubits in permutations(range(4), 2):
        full = ["I"] * 4
        for ch, q in zip(label[:2], qubits):
            full[q] = ch
        expected = qutip.expect(pauli_string("".join(full)), rho)
        assert dm.expectation(label[:2], list(qubits)) == pytest.approx(expected, abs=1e-13)


@pytest.mark.parametrize(
    "pauli,qubits,match",
    [
        ("XA", None, "expectation: 'XA' is not a Pauli string over I, X, Y, Z"),
        (3, None, "expectation: 3 is not a Pauli string"),
        ("XYZ", None, r"expectation: 'XYZ' needs one distinct qubit per letter in 0..1, got qubits \[0, 1, 2\]"),
        ("X", [2], r"'X' needs one distinct qubit per letter in 0..1, got qubits \[2\]"),
        ("XY", [0], r"'XY' needs one distinct qubit per letter in 0..1, got qubits \[0\]"),
    ],
)
def test_expectation_rejects_bad_input(pauli, qubits, match):
    with pytest.raises(SimulationError, match=match):
        DensityMatrix.zero(2).expectation(pauli, qubits)


def test_expectation_rejects_repeated_qubits():
    with pytest.raises(SimulationError, match="expectation"):
        DensityMatrix.zero(2).expectation("XZ", [0, 0])


def test_probabilities_are_the_diagonal():
    rho = rand_state(3, 9)
    np.testing.assert_allclose(DensityMatrix.from_qobj(rho).probabilities(), rho.diag().real, atol=1e-15)


def test_equality_repr_and_html():
    a = DensityMatrix.zero(2)
    assert a == DensityMatrix(a.matrix + 1e-12)
    assert a != DensityMatrix.from_qobj(rand_state(2, 3))
    assert a != DensityMatrix.zero(1)
    assert (a == "zero") is False
    assert repr(a) == "DensityMatrix(<2 qubit(s), purity 1.0000>)"
    html = a._repr_html_()
    assert html.startswith("<table>") and "|01⟩" in html
    with pytest.raises(TypeError, match="unhashable"):
        hash(a)


@pytest.mark.parametrize("kind", ["real", "imag", "abs"])
def test_plot_draws_on_the_given_axes_and_returns_them(kind):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    state = DensityMatrix.from_qobj(qutip.bell_state("00"))
    assert state.plot(ax=ax, kind=kind) is ax
    assert len(ax.images) == 1 and ax.images[0].get_array().shape == (4, 4)
    plt.close(fig)


def test_plot_rejects_an_unknown_kind():
    with pytest.raises(SimulationError, match="kind must be 'real', 'imag' or 'abs', got 'phase'"):
        DensityMatrix.zero(1).plot(kind="phase")
