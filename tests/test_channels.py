"""Channel constructors, CPTP checks and conversions (qlab.sim.channels) against textbook Kraus sets and QuTiP."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import qutip
from hypothesis import given, settings
from hypothesis import strategies as st

import qlab.sim as qs
from qlab.exceptions import ChannelError, QlabTypeError
from qlab.sim import Channel, ReadoutError
from qlab.testing import assert_consistent_channel
from reference import AmplitudeDamping, Depolarizing, PauliChannel, PhaseDamping, ThermalRelaxation, pauli_string

LIBRARY = [
    qs.depolarizing(0.07),
    qs.depolarizing(0.2, 2),
    qs.amplitude_damping(0.3),
    qs.phase_damping(0.4),
    qs.thermal_relaxation(50e-6, 30e-6, 2e-6),
    qs.thermal_relaxation(50e-6, 90e-6, 20e-6, excited_population=0.2),
    qs.pauli_channel(px=0.1, py=0.05, pz=0.2),
    qs.pauli_channel({"XZ": 0.1, "YY": 0.2}),
    qs.kraus([np.sqrt(0.7) * np.eye(2), np.sqrt(0.3) * np.diag([1, -1])]),
    qs.superop(qutip.rand_super_bcsz(2, seed=1).full()),
    qs.unitary_channel(qutip.rand_unitary([2, 2], seed=2).full()),
    qs.lindblad(qutip.sigmax(), [0.5 * qutip.destroy(2)], duration=1.3),
]


def superop_of(kraus_ops) -> np.ndarray:
    return qutip.kraus_to_super(kraus_ops).full()


def assert_channel_is(channel: Channel, kraus_ops) -> None:
    np.testing.assert_allclose(channel.to_superop(), superop_of(kraus_ops), atol=1e-12)


def transpose_ptm() -> np.ndarray:
    """The transpose map: positive but not completely positive (it flips Y)."""
    return np.diag([1.0, 1.0, 1.0, -1.0])


# ------------------------------------------------------------ constructors
@pytest.mark.parametrize("p", [0.0, 0.1, 0.75, 1.0, 4 / 3])
def test_depolarizing_one_qubit_is_textbook(p):
    assert_channel_is(qs.depolarizing(p), Depolarizing(p).kraus())


@pytest.mark.parametrize("p", [0.0, 0.05, 1.0, 16 / 15])
def test_depolarizing_two_qubits_is_textbook(p):
    assert_channel_is(qs.depolarizing(p, 2), Depolarizing(p, 2).kraus())


def test_full_depolarizing_gives_the_maximally_mixed_state():
    rho = qutip.rand_dm([2, 2], seed=3)
    image = qs.depolarizing(1.0, 2).to_qobj() * qutip.operator_to_vector(rho)
    np.testing.assert_allclose(qutip.vector_to_operator(image).full(), np.eye(4) / 4, atol=1e-14)


@pytest.mark.parametrize("gamma", [0.0, 0.25, 1.0])
def test_amplitude_damping_is_textbook(gamma):
    assert_channel_is(qs.amplitude_damping(gamma), AmplitudeDamping(gamma).kraus())


@pytest.mark.parametrize("lam", [0.0, 0.36, 1.0])
def test_phase_damping_is_textbook(lam):
    assert_channel_is(qs.phase_damping(lam), PhaseDamping(lam).kraus())


@settings(max_examples=40, deadline=None)
@given(
    t1=st.floats(1e-6, 1e-3),
    ratio=st.floats(0.01, 2.0),
    duration=st.floats(0.0, 5e-4),
    pe=st.floats(0.0, 1.0),
)
def test_thermal_relaxation_is_textbook(t1, ratio, duration, pe):
    t2 = ratio * t1
    expected = ThermalRelaxation(t1, t2, duration, pe).kraus()
    assert_channel_is(qs.thermal_relaxation(t1, t2, duration, excited_population=pe), expected)


def test_thermal_relaxation_decay_rates():
    t1, t2, t = 40e-6, 25e-6, 7e-6
    rho = qutip.Qobj([[0.3, 0.2 - 0.4j], [0.2 + 0.4j, 0.7]])
    out = qutip.vector_to_operator(qs.thermal_relaxation(t1, t2, t, 0.1).to_qobj() * qutip.operator_to_vector(rho)).full()
    assert out[1, 1].real == pytest.approx(0.1 + (0.7 - 0.1) * math.exp(-t / t1), abs=1e-14)
    assert out[0, 1] == pytest.approx((0.2 - 0.4j) * math.exp(-t / t2), abs=1e-14)


def test_thermal_relaxation_without_t1_only_dephases():
    ch = qs.thermal_relaxation(math.inf, 10.0, 2.0)
    np.testing.assert_allclose(ch.ptm, np.diag([1, math.exp(-0.2), 1, math.exp(-0.2)]), atol=1e-15)


def test_thermal_relaxation_at_the_limit_t2_equals_2_t1():
    assert_channel_is(qs.thermal_relaxation(1.0, 2.0, 0.5), AmplitudeDamping(1 - math.exp(-0.5)).kraus())


def test_thermal_relaxation_enforces_t2_at_most_2_t1():
    message = "thermal_relaxation: t2 must be <= 2*t1 (physical limit), got t1=1.0, t2=2.5."
    with pytest.raises(ChannelError, match=f"^{re.escape(message)}$"):
        qs.thermal_relaxation(1.0, 2.5, 0.1)


@pytest.mark.parametrize(
    "args,error,match",
    [
        ((0.0, 1.0, 0.1), ChannelError, "t1 and t2 must be positive, got t1=0.0, t2=1.0"),
        ((1.0, -1.0, 0.1), ChannelError, "t1 and t2 must be positive"),
        ((1.0, 1.0, -0.1), ChannelError, r"duration must be >= 0, got -0.1"),
        ((1.0, 1.0, 0.1, 1.5), ChannelError, r"excited_population must be between 0 and 1"),
        (("1", 1.0, 0.1), QlabTypeError, "t1 must be a real number, got '1'"),
        ((1.0, True, 0.1), QlabTypeError, "t2 must be a real number"),
        ((1.0, 1.0, math.nan), QlabTypeError, "duration must be a real number, got nan"),
    ],
)
def test_thermal_relaxation_rejects_bad_parameters(args, error, match):
    with pytest.raises(error, match=match):
        qs.thermal_relaxation(*args)


def test_pauli_channel_keywords_are_textbook():
    expected = PauliChannel({"X": 0.1, "Y": 0.05, "Z": 0.2}).kraus()
    assert_channel_is(qs.pauli_channel(px=0.1, py=0.05, pz=0.2), expected)


def test_pauli_channel_two_qubits_is_textbook():
    probs = {"XI": 0.01, "ZZ": 0.02, "YX": 0.03, "IY": 0.04}
    assert_channel_is(qs.pauli_channel(probs), PauliChannel(probs).kraus())


def test_pauli_channel_with_explicit_identity_entry():
    assert qs.pauli_channel({"I": 0.9, "Z": 0.1}) == qs.pauli_channel(pz=0.1)


@pytest.mark.parametrize(
    "args,kwargs,match",
    [
        ((), {"pq": 0.1}, r"unknown keywords \['pq'\]; allowed: px, py, pz"),
        (({"X": 0.1},), {"px": 0.1}, "give either a mapping or px/py/pz keywords, not both"),
        ((), {}, "no probabilities given"),
        (({"X": 0.1, "ZZ": 0.1},), {}, "keys must be Pauli strings of one length over IXYZ"),
        (({"XA": 0.1},), {}, "keys must be Pauli strings"),
        (({"X": 0.6, "Z": 0.6},), {}, "probabilities sum to 1.2, more than 1"),
        (({"X": -0.1},), {}, r"p\[X\] must be between 0 and 1"),
    ],
)
def test_pauli_channel_rejects_bad_input(args, kwargs, match):
    with pytest.raises(ChannelError, match=match):
        qs.pauli_channel(*args, **kwargs)


def test_kraus_from_arrays_and_qobjs():
    ops = qutip.rand_kraus_map([2, 2], seed=4)
    assert_channel_is(qs.kraus(ops), ops)
    assert qs.kraus([op.full() for op in ops]) == qs.kraus(ops)


@pytest.mark.parametrize(
    "ops,match",
    [
        ([], "at least one Kraus operator is needed"),
        ([np.eye(2), np.eye(2)], r"sum K\^dagger K must be the identity \(trace preservation\), got deviation 1"),
        ([np.eye(3)], r"operators must be 2\^k x 2\^k matrices, got shape \(3, 3\)"),
        ([np.ones((2, 4))], r"got shape \(2, 4\)"),
        ([np.eye(1)], r"got shape \(1, 1\)"),
        ([np.eye(2) / np.sqrt(2), np.eye(4) / np.sqrt(2)], "all operators must have the same shape"),
    ],
)
def test_kraus_rejects_bad_operators(ops, match):
    with pytest.raises(ChannelError, match=match):
        qs.kraus(ops)


def test_superop_from_array_and_qobj():
    s = qutip.rand_super_bcsz([2, 2], seed=5)
    assert qs.superop(s) == qs.superop(s.full())
    np.testing.assert_allclose(qs.superop(s).to_superop(), s.full(), atol=1e-12)


@pytest.mark.parametrize("shape", [(8, 8), (4, 2), (2, 2), (4,)])
def test_superop_rejects_bad_shapes(shape):
    with pytest.raises(ChannelError, match=r"superop: expected a 4\^k x 4\^k matrix, got shape"):
        qs.superop(np.ones(shape))


def test_superop_rejects_a_positive_but_not_completely_positive_map():
    transpose = np.eye(4)[[0, 2, 1, 3]]
    with pytest.raises(ChannelError, match=r"not completely positive \(its Choi matrix has eigenvalue -1 < 0"):
        qs.superop(transpose)


def test_superop_rejects_a_map_that_loses_trace():
    with pytest.raises(ChannelError, match=r"not trace preserving \(the first PTM row is \[0.5, 0.0, 0.0, 0.0\]"):
        qs.superop(0.5 * np.eye(4))


def test_superop_rejects_a_map_that_is_not_hermiticity_preserving():
    x, z = qutip.sigmax().full(), qutip.sigmaz().full()
    columns = []
    for j in range(4):
        unit = np.zeros(4)
        unit[j] = 1
        rho = unit.reshape(2, 2, order="F")
        columns.append((rho + 0.3j * np.trace(x @ rho) * z).reshape(-1, order="F"))
    with pytest.raises(ChannelError, match="not completely positive"):
        qs.superop(np.array(columns).T)


def test_unitary_channel_is_conjugation():
    u = qutip.rand_unitary(2, seed=6)
    assert_channel_is(qs.unitary_channel(u.full()), [u])


@pytest.mark.parametrize("matrix", [np.ones((2, 2)), np.eye(3), np.eye(2)[:, :1], np.eye(1)])
def test_unitary_channel_rejects_non_unitaries_and_bad_sizes(matrix):
    with pytest.raises(ChannelError, match=r"unitary_channel: the matrix must be a 2\^k x 2\^k unitary, got shape"):
        qs.unitary_channel(matrix)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lindblad_matches_mesolve(seed):
    rng = np.random.default_rng(seed)
    h = qutip.rand_herm([2, 2], density=1.0, seed=seed)
    c_ops = [
        np.sqrt(rng.uniform(0.1, 0.5)) * qutip.tensor(qutip.destroy(2), qutip.qeye(2)),
        np.sqrt(rng.uniform(0.1, 0.5)) * qutip.tensor(qutip.qeye(2), qutip.sigmaz()),
        np.sqrt(rng.uniform(0.1, 0.5)) * qutip.rand_unitary([2, 2], seed=seed + 100),
    ]
    duration = rng.uniform(0.2, 2.0)
    channel = qs.lindblad(h, c_ops, duration)
    for k in range(3):
        rho = qutip.rand_dm([2, 2], seed=10 * seed + k)
        evolved = qutip.mesolve(h, rho, [0, duration], c_ops, options={"atol": 1e-12, "rtol": 1e-10}).states[-1]
        image = qutip.vector_to_operator(channel.to_qobj() * qutip.operator_to_vector(rho))
        np.testing.assert_allclose(image.full(), evolved.full(), atol=1e-8)


def test_lindblad_accepts_arrays_and_no_hamiltonian():
    decay = np.sqrt(0.5) * np.array([[0, 1], [0, 0]])
    assert qs.lindblad(None, [decay], duration=2.0) == qs.amplitude_damping(1 - math.exp(-1.0))
    assert qs.lindblad(np.zeros((2, 2)), [decay], duration=2.0) == qs.amplitude_damping(1 - math.exp(-1.0))


def test_lindblad_rejects_a_hamiltonian_that_is_not_on_qubits():
    with pytest.raises(ChannelError, match=r"2\^k x 2\^k"):
        qs.lindblad(np.eye(3), [], 1.0)


def test_lindblad_of_a_hamiltonian_is_unitary():
    h = qutip.rand_herm(2, density=1.0, seed=9)
    expected = (-1j * h * 0.7).expm()
    assert_channel_is(qs.lindblad(h, [], duration=0.7), [expected])


@pytest.mark.parametrize(
    "h,c_ops,duration,match",
    [
        (None, [], 1.0, "give a Hamiltonian, collapse operators, or both"),
        (np.array([[0, 1], [0, 0]]), [], 1.0, "the Hamiltonian must be Hermitian"),
        (qutip.sigmaz(), [qutip.destroy(4)], 1.0, r"operators must all be 2\^k x 2\^k of one size"),
        (qutip.sigmaz(), [], -1.0, "duration must be >= 0, got -1.0"),
    ],
)
def test_lindblad_rejects_bad_input(h, c_ops, duration, match):
    with pytest.raises(ChannelError, match=match):
        qs.lindblad(h, c_ops, duration)


# ---------------------------------------------------------------- checks
def test_channel_rejects_non_trace_preserving_ptm():
    ptm = np.eye(4)
    ptm[0, 2] = 0.1
    with pytest.raises(ChannelError, match=r"Cannot build Channel: the map is not trace preserving .*expected \[1, 0, 0, \.\.\.\]; atol=1e-08"):
        Channel(ptm)


def test_channel_rejects_non_completely_positive_ptm():
    with pytest.raises(ChannelError, match=r"Cannot build mine: the map is not completely positive \(its Choi matrix has eigenvalue -1 < 0; atol=1e-08\)"):
        Channel(transpose_ptm(), name="mine")


def test_channel_check_tolerance_is_atol():
    ptm = np.diag([1.0, 1.0, 1.0, 1.0 + 1e-6])
    with pytest.raises(ChannelError, match="not completely positive"):
        Channel(ptm)
    assert Channel(ptm, atol=1e-5).num_qubits == 1


@pytest.mark.parametrize("shape", [(4, 2), (2, 2), (8, 8), (1, 1), (4,)])
def test_channel_rejects_bad_ptm_shapes(shape):
    with pytest.raises(ChannelError, match=r"a Pauli transfer matrix must be 4\^k x 4\^k with k >= 1, got shape"):
        Channel(np.ones(shape))


def test_ptm_is_read_only():
    with pytest.raises(ValueError, match="read-only"):
        qs.depolarizing(0.1).ptm[1, 1] = 0


@pytest.mark.parametrize(
    "build,error,match",
    [
        (lambda: qs.depolarizing(1.5), ChannelError, r"depolarizing: p must be between 0 and 1.33333"),
        (lambda: qs.depolarizing(1.1, 2), ChannelError, r"depolarizing: p must be between 0 and 1.06667"),
        (lambda: qs.depolarizing(-0.1), ChannelError, "depolarizing: p must be between 0 and"),
        (lambda: qs.depolarizing(0.1, 0), ChannelError, "depolarizing: num_qubits must be >= 1, got 0"),
        (lambda: qs.depolarizing("0.1"), QlabTypeError, r"depolarizing: p must be a real number, got '0.1' \(str\)"),
        (lambda: qs.amplitude_damping(True), QlabTypeError, "amplitude_damping: gamma must be a real number"),
        (lambda: qs.amplitude_damping(1.01), ChannelError, "amplitude_damping: gamma must be between 0 and 1"),
        (lambda: qs.phase_damping(math.nan), ChannelError, "phase_damping: lam must be between 0 and 1"),
    ],
)
def test_library_constructors_reject_bad_parameters(build, error, match):
    with pytest.raises(error, match=match):
        build()


@pytest.mark.parametrize("channel", LIBRARY, ids=repr)
def test_every_constructor_gives_a_consistent_channel(channel):
    assert_consistent_channel(channel)


def test_assert_consistent_channel_catches_a_channel_that_is_not_cp():
    loose = Channel(transpose_ptm(), atol=1.0)
    with pytest.raises(AssertionError, match=r"is not completely positive: its Choi matrix has eigenvalue -1"):
        assert_consistent_channel(loose)


def test_assert_consistent_channel_catches_a_channel_that_loses_trace():
    lossy = (1 - 1e-6) * np.eye(4)
    with pytest.raises(AssertionError, match="is not trace preserving"):
        assert_consistent_channel(Channel(lossy, atol=1e-5))


def test_assert_consistent_channel_rejects_other_objects():
    with pytest.raises(AssertionError, match="expected a qlab Channel, got ndarray"):
        assert_consistent_channel(np.eye(4))


# ------------------------------------------------------------ conversions
@pytest.mark.parametrize("channel", LIBRARY, ids=repr)
def test_qobj_and_kraus_round_trips(channel):
    qobj = channel.to_qobj()
    assert qobj.superrep == "super"
    assert qobj.dims == [[[2] * channel.num_qubits] * 2] * 2
    assert Channel.from_qobj(qobj) == channel
    assert Channel.from_qobj(qutip.to_choi(qobj)) == channel
    assert Channel.from_qobj(qutip.to_chi(qobj)) == channel
    assert qs.kraus(channel.to_kraus()) == channel
    np.testing.assert_allclose(channel.to_choi(), qutip.to_choi(qobj).full(), atol=1e-12)


def test_from_qobj_of_a_unitary_operator():
    u = qutip.rand_unitary(2, seed=8)
    assert Channel.from_qobj(u) == qs.unitary_channel(u.full())


def test_from_qobj_rejects_non_unitary_operators_and_kets():
    with pytest.raises(ChannelError, match="unitary_channel: the matrix must be"):
        Channel.from_qobj(qutip.destroy(2))
    with pytest.raises(ChannelError, match="Cannot build a channel from a Qobj of type 'ket': expected 'oper' or 'super'"):
        Channel.from_qobj(qutip.basis(2, 0))
    with pytest.raises(QlabTypeError, match="Cannot build a channel from ndarray: expected a qutip.Qobj"):
        Channel.from_qobj(np.eye(4))


def test_then_is_composition_in_time_order():
    a, b = qs.amplitude_damping(0.3), qs.unitary_channel(qutip.sigmax().full())
    composed = a.then(b)
    np.testing.assert_allclose(composed.to_superop(), b.to_superop() @ a.to_superop(), atol=1e-14)
    assert composed != b.then(a)
    assert repr(composed) == "amplitude_damping(0.3).then(unitary_channel(<2x2>))"


def test_then_rejects_different_sizes():
    with pytest.raises(ChannelError, match=r"Cannot compose depolarizing\(0.1\) \(1 qubit\(s\)\) with depolarizing\(0.1, 2\) \(2 qubit\(s\)\)"):
        qs.depolarizing(0.1).then(qs.depolarizing(0.1, 2))


def test_tensor_puts_self_on_the_leading_qubit():
    a, b = qs.amplitude_damping(0.3), qs.phase_damping(0.2)
    expected = qutip.super_tensor(a.to_qobj(), b.to_qobj())
    np.testing.assert_allclose(a.tensor(b).to_superop(), expected.full(), atol=1e-14)
    assert a.tensor(b).num_qubits == 2
    assert_consistent_channel(a.tensor(b))


def direct_average_gate_fidelity(kraus_ops) -> float:
    """Nielsen's formula: ``(sum_K |Tr K|^2 + d) / (d (d + 1))``."""
    d = kraus_ops[0].shape[0]
    return float((sum(abs(np.trace(k)) ** 2 for k in kraus_ops) + d) / (d * (d + 1)))


@pytest.mark.parametrize("channel", LIBRARY, ids=repr)
def test_average_gate_fidelity(channel):
    f = channel.average_gate_fidelity()
    assert f == pytest.approx(direct_average_gate_fidelity(channel.to_kraus()), abs=1e-12)
    assert f == pytest.approx(qutip.average_gate_fidelity(channel.to_qobj()), abs=1e-10)


def test_average_gate_fidelity_of_library_channels():
    assert qs.depolarizing(0.1).average_gate_fidelity() == pytest.approx(0.95)
    assert qs.depolarizing(0.1, 2).average_gate_fidelity() == pytest.approx(1 - 0.1 * 3 / 4)
    assert qs.unitary_channel(np.eye(4)).average_gate_fidelity() == pytest.approx(1.0)


def test_channels_compare_by_value_and_are_unhashable():
    assert qs.depolarizing(0.1) == qs.pauli_channel(px=0.025, py=0.025, pz=0.025)
    assert qs.depolarizing(0.1) != qs.depolarizing(0.1, 2)
    assert qs.depolarizing(0.1) != "depolarizing(0.1)"
    with pytest.raises(TypeError, match="unhashable"):
        hash(qs.depolarizing(0.1))


@pytest.mark.parametrize(
    "channel",
    [
        qs.depolarizing(0.1),
        qs.depolarizing(0.01, 2),
        qs.amplitude_damping(0.2),
        qs.phase_damping(0.3),
        qs.thermal_relaxation(1.0, 0.5, 0.1),
        qs.thermal_relaxation(1.0, 0.5, 0.1, excited_population=0.2),
        qs.pauli_channel(px=0.1),
        qs.pauli_channel({"XY": 0.1}),
    ],
    ids=repr,
)
def test_repr_reads_like_the_call(channel):
    assert eval(repr(channel), vars(qs)) == channel


# ---------------------------------------------------------------- readout
def test_readout_error_matrix_and_fidelity():
    err = ReadoutError(p1_given_0=0.01, p0_given_1=0.05)
    np.testing.assert_allclose(err.matrix, [[0.99, 0.01], [0.05, 0.95]])
    assert err.fidelity == pytest.approx(0.97)
    assert ReadoutError.symmetric(0.1) == ReadoutError(0.1, 0.1)
    assert ReadoutError.from_matrix([[0.9, 0.1], [0.2, 0.8]]) == ReadoutError(0.1, 0.2)


def test_readout_error_repr_reads_like_the_call():
    err = ReadoutError(0.01, 0.05)
    assert repr(err) == "ReadoutError(p1_given_0=0.01, p0_given_1=0.05)"
    assert eval(repr(ReadoutError.from_matrix([[0.9, 0.1], [0.3, 0.7]])), {"ReadoutError": ReadoutError}) == ReadoutError(0.1, 0.3)


def test_readout_errors_compose_as_stochastic_matrices():
    a, b = ReadoutError(0.1, 0.2), ReadoutError(0.05, 0.3)
    np.testing.assert_allclose(a.then(b).matrix, a.matrix @ b.matrix)


def test_readout_matrix_is_read_only():
    with pytest.raises(ValueError, match="read-only"):
        ReadoutError(0.1).matrix[0, 0] = 1


@pytest.mark.parametrize(
    "build,error,match",
    [
        (lambda: ReadoutError(-0.1), ChannelError, "ReadoutError: p1_given_0 must be between 0 and 1"),
        (lambda: ReadoutError(0.0, 1.5), ChannelError, "ReadoutError: p0_given_1 must be between 0 and 1"),
        (lambda: ReadoutError("0.1"), QlabTypeError, "ReadoutError: p1_given_0 must be a real number"),
        (lambda: ReadoutError.symmetric(True), QlabTypeError, "must be a real number, got True"),
        (lambda: ReadoutError.from_matrix([[0.9, 0.2], [0.1, 0.9]]), ChannelError, "must be 2x2 with rows summing to 1"),
        (lambda: ReadoutError.from_matrix([[1.1, -0.1], [0, 1]]), ChannelError, "rows summing to 1"),
        (lambda: ReadoutError.from_matrix(np.eye(3)), ChannelError, "must be 2x2"),
    ],
)
def test_readout_error_rejects_bad_input(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_pauli_strings_helper_uses_qubit_0_as_leading_factor():
    np.testing.assert_array_equal(pauli_string("XZ").full(), np.kron(qutip.sigmax().full(), qutip.sigmaz().full()))
