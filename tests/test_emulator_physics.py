"""Emulator physics against references computed by hand or with dense matrices.

Statistical checks use chi-square tests at fixed seeds (the p-value bound is
loose: a correct emulator fails with probability well below 1e-3 per test).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import qutip
import stim
from scipy.stats import chisquare

from qlab.devices import load_device
from qlab.emulator import (
    DensityMatrixSimulator,
    DepolarizingErrorModel,
    DeviceErrorModel,
    Emulator,
    LeakageErrorModel,
    SimpleRuntime,
    SoftRZRuntime,
    StabilizerSimulator,
    StatevectorSimulator,
    qasm_program,
)
from qlab.emulator.programs import ghz
from qlab.emulator.operations import RXY, RZ, RZZ
from qlab.emulator.stabilizer import clifford_gates
from qlab.sim.noise import NoiseModel

PI = math.pi
SIMULATORS = [DensityMatrixSimulator, StatevectorSimulator, StabilizerSimulator]
P_FLOOR = 1e-3


def assert_fits(counts: dict, expected: dict, shots: int):
    """Chi-square goodness of fit of observed counts against expected probabilities."""
    keys = sorted(set(expected) | set(counts))
    unexpected = [k for k in keys if expected.get(k, 0) == 0 and counts.get(k, 0)]
    assert not unexpected, f"outcomes with probability 0 occurred: {unexpected}"
    keys = [k for k in keys if expected.get(k, 0) > 0]
    observed = np.array([counts.get(k, 0) for k in keys], dtype=float)
    probs = np.array([expected[k] for k in keys])
    assert observed.sum() == shots
    if len(keys) > 1:
        assert chisquare(observed, probs / probs.sum() * shots).pvalue > P_FLOOR, (counts, expected)


def equal_up_to_phase(a: np.ndarray, b: np.ndarray) -> bool:
    i = np.unravel_index(np.argmax(np.abs(b)), b.shape)
    if abs(a[i]) < 1e-9:
        return False
    return np.allclose(a * (b[i] / a[i]), b, atol=1e-9)


# --------------------------------------------------------------- textbook gates
_S2 = 1 / math.sqrt(2)
TEXTBOOK_1Q = {
    "x": np.array([[0, 1], [1, 0]]), "y": np.array([[0, -1j], [1j, 0]]), "z": np.diag([1, -1]),
    "h": _S2 * np.array([[1, 1], [1, -1]]), "s": np.diag([1, 1j]), "sdg": np.diag([1, -1j]),
    "t": np.diag([1, np.exp(1j * PI / 4)]), "tdg": np.diag([1, np.exp(-1j * PI / 4)]),
}
TEXTBOOK_2Q = {
    "cx": np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]),
    "cz": np.diag([1, 1, 1, -1]),
}


def unitary_of(gate: str, n: int, runtime=None) -> np.ndarray:
    """The unitary the emulator applies for ``ctx.<gate>``, column by column from basis inputs."""
    columns = []
    for index in range(2**n):
        def program(ctx, index=index):
            qs = [ctx.qalloc() for _ in range(n)]
            for k, q in enumerate(qs):
                if index >> (n - 1 - k) & 1:
                    ctx.x(q)
            getattr(ctx, gate)(*qs)
        ket = Emulator(n, runtime=runtime, simulator=StatevectorSimulator()).state(program).full().ravel()
        # undo the preparation's phase: x = -i X, so each prepared 1 carries a factor -i
        columns.append(ket * (1j) ** bin(index).count("1"))
    return np.array(columns).T


@pytest.mark.parametrize("gate", sorted(TEXTBOOK_1Q))
def test_one_qubit_convenience_gates_are_the_textbook_gates(gate):
    assert equal_up_to_phase(unitary_of(gate, 1), TEXTBOOK_1Q[gate])


@pytest.mark.parametrize("gate", sorted(TEXTBOOK_2Q))
def test_two_qubit_convenience_gates_are_the_textbook_gates(gate):
    assert equal_up_to_phase(unitary_of(gate, 2), TEXTBOOK_2Q[gate])


def test_rxy_rz_rzz_match_their_definitions():
    def rxy(theta, phi):
        axis = math.cos(phi) * qutip.sigmax() + math.sin(phi) * qutip.sigmay()
        return (-1j * theta / 2 * axis).expm().full()

    def program(ctx):
        q = ctx.qalloc()
        ctx.rxy(q, 0.7, 0.3)

    ket = Emulator(1, simulator=StatevectorSimulator()).state(program).full().ravel()
    np.testing.assert_allclose(ket, rxy(0.7, 0.3)[:, 0], atol=1e-12)

    def program2(ctx):
        a, b = ctx.qalloc(), ctx.qalloc()
        ctx.h(a); ctx.h(b)
        ctx.rzz(a, b, 0.9)
        ctx.rz(a, 0.4)

    zz = (-1j * 0.9 / 2 * qutip.tensor(qutip.sigmaz(), qutip.sigmaz())).expm()
    rz = qutip.tensor((-1j * 0.4 / 2 * qutip.sigmaz()).expm(), qutip.qeye(2))
    plus = qutip.tensor(qutip.basis(2, 0) + qutip.basis(2, 1), qutip.basis(2, 0) + qutip.basis(2, 1)).unit()
    expected = (rz * zz * plus).full().ravel()
    got = Emulator(2, simulator=StatevectorSimulator()).state(program2).full().ravel()
    assert equal_up_to_phase(got, expected)


@pytest.mark.parametrize("turns", range(4))
@pytest.mark.parametrize("phi_turns", range(4))
def test_stabilizer_gates_are_the_rotations_they_stand_for(turns, phi_turns):
    theta, phi = turns * PI / 2, phi_turns * PI / 2

    def unitary(op, n):
        circuit = stim.Circuit()
        circuit.append("I", list(range(n)))
        for name, targets in clifford_gates(op, 1e-4):
            circuit.append(name, list(targets))
        return circuit.to_tableau().to_unitary_matrix(endian="big")

    from qlab.circuit.gates import gate_matrix

    assert equal_up_to_phase(unitary(RXY(0, theta, phi), 1), gate_matrix("rxy", (theta, phi)))
    assert equal_up_to_phase(unitary(RZ(0, theta), 1), gate_matrix("rz", (theta,)))
    assert equal_up_to_phase(unitary(RZZ(0, 1, theta), 2), gate_matrix("rzz", (theta,)))


def test_stabilizer_refuses_a_non_clifford_angle_naming_operation_and_angle():
    from qlab.exceptions import PluginError

    def t_gate(ctx):
        q = ctx.qalloc()
        ctx.h(q); ctx.t(q)
        ctx.result("m", ctx.measure(q))

    with pytest.raises(PluginError, match=r"rz\(q0, theta=0.785398163397448\d*\) is not a Clifford operation"):
        Emulator(1, simulator=StabilizerSimulator()).run(t_gate, shots=3)


# --------------------------------------------------------------- GHZ


@pytest.mark.parametrize("simulator", SIMULATORS, ids=lambda s: s.__name__)
@pytest.mark.parametrize("sample_once", [None, False], ids=["sampled", "shot-by-shot"])
def test_ghz_gives_all_zeros_or_all_ones_evenly(simulator, sample_once):
    shots = 400
    result = Emulator(4, simulator=simulator()).run(ghz(4), shots=shots, seed=17, sample_once=sample_once)
    assert result.sampled == (sample_once is None)
    assert_fits(result.counts("c"), {"0000": 0.5, "1111": 0.5}, shots)


# --------------------------------------------------------------- teleportation
THETA, PHI = 1.1, 0.4


def teleport(ctx):
    src, a, b = ctx.qalloc(), ctx.qalloc(), ctx.qalloc()
    ctx.rxy(src, THETA, PHI)
    ctx.h(a); ctx.cx(a, b)
    ctx.cx(src, a); ctx.h(src)
    if ctx.measure(a):
        ctx.x(b)
    if ctx.measure(src):
        ctx.z(b)
    return b


def teleport_and_measure(ctx):
    ctx.result("b", ctx.measure(teleport(ctx)))


@pytest.mark.parametrize("simulator", [DensityMatrixSimulator, StatevectorSimulator], ids=lambda s: s.__name__)
@pytest.mark.parametrize("runtime", [SimpleRuntime, SoftRZRuntime], ids=lambda r: r.__name__)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_teleportation_delivers_the_input_state(simulator, runtime, seed):
    sent = qutip.Qobj((-1j * THETA / 2 * (math.cos(PHI) * qutip.sigmax() + math.sin(PHI) * qutip.sigmay())).expm().full()[:, :1])
    received = Emulator(3, runtime=runtime(), simulator=simulator()).state(teleport, seed=seed, qubits=[2])
    assert qutip.expect(received, sent) == pytest.approx(1, abs=1e-9)


@pytest.mark.parametrize("simulator", [DensityMatrixSimulator, StatevectorSimulator], ids=lambda s: s.__name__)
def test_teleported_outcomes_follow_the_input_probabilities(simulator):
    shots = 600
    result = Emulator(3, simulator=simulator()).run(teleport_and_measure, shots=shots, seed=5)
    assert not result.sampled
    p1 = math.sin(THETA / 2) ** 2
    assert_fits(result.counts("b"), {"0": 1 - p1, "1": p1}, shots)


def test_teleportation_in_openqasm3_with_if():
    text = """OPENQASM 3.0; include "stdgates.inc";
    qubit[3] q; bit[3] c;
    x q[0];
    h q[1]; cx q[1], q[2];
    cx q[0], q[1]; h q[0];
    c[0] = measure q[0]; c[1] = measure q[1];
    if (c[1]) x q[2];
    if (c[0]) z q[2];
    c[2] = measure q[2];
    """
    for simulator in SIMULATORS:
        result = Emulator(3, simulator=simulator()).run(qasm_program(text), shots=200, seed=9)
        counts = result.counts("c")
        assert all(key[2] == "1" for key in counts), counts
        assert_fits({k[:2]: v for k, v in counts.items()}, {"00": .25, "01": .25, "10": .25, "11": .25}, 200)


# --------------------------------------------------------------- repeat until success
@pytest.mark.parametrize("simulator", SIMULATORS, ids=lambda s: s.__name__)
def test_repeat_until_success_needs_a_geometric_number_of_attempts(simulator):
    theta = PI / 2  # Clifford, so the stabilizer simulator takes part; P(success) = sin^2(theta/2) = 1/2

    def rus(ctx):
        attempts = 0
        while True:
            q = ctx.qalloc()
            ctx.ry(q, theta)
            attempts += 1
            success = bool(ctx.measure(q))
            ctx.qfree(q)
            if success:
                break
        ctx.result("attempts", attempts)

    shots = 500
    result = Emulator(1, simulator=simulator()).run(rus, shots=shots, seed=21)
    p = math.sin(theta / 2) ** 2
    counts = result.counts("attempts")
    binned = {str(k): counts.get(str(k), 0) for k in range(1, 5)}
    binned["5+"] = shots - sum(binned.values())
    expected = {str(k): (1 - p) ** (k - 1) * p for k in range(1, 5)}
    expected["5+"] = (1 - p) ** 4
    assert_fits(binned, expected, shots)


# --------------------------------------------------------------- depolarizing statistics
def _one_qubit(prepare):
    def program(ctx):
        q = ctx.qalloc()
        prepare(ctx, q)
        ctx.result("m", ctx.measure(q))

    return program


@pytest.mark.parametrize("simulator", SIMULATORS, ids=lambda s: s.__name__)
@pytest.mark.parametrize("sample_once", [None, False], ids=["sampled", "shot-by-shot"])
def test_init_and_measurement_errors(simulator, sample_once):
    p_init, p_meas, shots = 0.1, 0.2, 800
    model = DepolarizingErrorModel(p_init=p_init, p_meas=p_meas)
    result = Emulator(1, error_model=model, simulator=simulator()).run(
        _one_qubit(lambda ctx, q: None), shots=shots, seed=3, sample_once=sample_once)
    p1 = p_init * (1 - p_meas) + (1 - p_init) * p_meas
    assert_fits(result.counts("m"), {"0": 1 - p1, "1": p1}, shots)


@pytest.mark.parametrize("simulator", SIMULATORS, ids=lambda s: s.__name__)
@pytest.mark.parametrize("sample_once", [None, False], ids=["sampled", "shot-by-shot"])
def test_one_qubit_gate_errors(simulator, sample_once):
    # X then a random X, Y or Z with probability p: X and Y undo the flip, Z does not.
    p, shots = 0.3, 800
    result = Emulator(1, error_model=DepolarizingErrorModel(p_1q=p), simulator=simulator()).run(
        _one_qubit(lambda ctx, q: ctx.x(q)), shots=shots, seed=4, sample_once=sample_once)
    assert_fits(result.counts("m"), {"0": 2 * p / 3, "1": 1 - 2 * p / 3}, shots)


@pytest.mark.parametrize("simulator", SIMULATORS, ids=lambda s: s.__name__)
@pytest.mark.parametrize("sample_once", [None, False], ids=["sampled", "shot-by-shot"])
def test_two_qubit_gate_errors(simulator, sample_once):
    # rzz(0) is the identity; then one of the 15 two-qubit Paulis with probability p.
    # A qubit flips when its letter is X or Y: 4 of the 15 flip only the first, 4 only the second, 4 both.
    p, shots = 0.45, 900

    def program(ctx):
        a, b = ctx.qalloc(), ctx.qalloc()
        ctx.rzz(a, b, 0.0)
        ctx.result("c", [ctx.measure(a), ctx.measure(b)])

    result = Emulator(2, error_model=DepolarizingErrorModel(p_2q=p), simulator=simulator()).run(
        program, shots=shots, seed=5, sample_once=sample_once)
    assert_fits(result.counts("c"), {"00": 1 - 12 * p / 15, "10": 4 * p / 15, "01": 4 * p / 15, "11": 4 * p / 15}, shots)
    if sample_once is False:
        metrics = result.metrics_df()
        errors = metrics[(metrics.category == "error_model") & metrics.name.str.startswith("errors_2q_")]
        assert errors.value.sum() == pytest.approx(p * shots, rel=0.2)


def test_depolarizing_ghz_matches_the_dense_density_matrix():
    """GHZ-3 under the model's channels, computed with dense QuTiP superoperators."""
    p1, p2, pm, pi_ = 0.02, 0.05, 0.03, 0.01
    model = DepolarizingErrorModel(p_1q=p1, p_2q=p2, p_meas=pm, p_init=pi_)
    n = 3
    paulis = {"I": qutip.qeye(2), "X": qutip.sigmax(), "Y": qutip.sigmay(), "Z": qutip.sigmaz()}

    def embed(ops: dict):
        return qutip.tensor([ops.get(k, qutip.qeye(2)) for k in range(n)])

    def pauli_mix(rho, qubits, p):
        labels = [""]
        for _ in qubits:
            labels = [l + c for l in labels for c in "IXYZ"]
        out = (1 - p) * rho
        for label in labels[1:]:
            op = embed({q: paulis[c] for q, c in zip(qubits, label)})
            out += p / (len(labels) - 1) * op * rho * op.dag()
        return out

    rho = qutip.tensor([qutip.fock_dm(2, 0)] * n)
    for q in range(n):  # each qalloc resets its qubit, with the init error
        flip = embed({q: paulis["X"]})
        rho = (1 - pi_) * rho + pi_ * flip * rho * flip

    def rxy(q, theta, phi):
        axis = math.cos(phi) * qutip.sigmax() + math.sin(phi) * qutip.sigmay()
        return embed({q: (-1j * theta / 2 * axis).expm()})

    def rz(q, theta):
        return embed({q: (-1j * theta / 2 * qutip.sigmaz()).expm()})

    def rzz(a, b, theta):
        zz = embed({a: qutip.sigmaz(), b: qutip.sigmaz()})
        return (-1j * theta / 2 * zz).expm()

    def one(u, q):
        nonlocal rho
        rho = pauli_mix(u * rho * u.dag(), [q], p1)

    def two(u, a, b):
        nonlocal rho
        rho = pauli_mix(u * rho * u.dag(), [a, b], p2)

    one(rxy(0, PI / 2, -PI / 2), 0); one(rz(0, PI), 0)
    for c, t in [(0, 1), (1, 2)]:
        one(rxy(t, -PI / 2, PI / 2), t)
        two(rzz(c, t, -PI / 2), c, t)
        one(rz(c, PI / 2), c); one(rz(t, PI / 2), t)
        one(rxy(t, PI / 2, PI / 2), t)
    flips = np.array([[1 - pm, pm], [pm, 1 - pm]])
    confusion = flips
    for _ in range(n - 1):
        confusion = np.kron(confusion, flips)
    probs = confusion.T @ np.real(rho.diag())
    expected = {format(i, f"0{n}b"): probs[i] for i in range(2**n)}
    shots = 4000
    result = Emulator(n, error_model=model).run(ghz(n), shots=shots, seed=8)
    assert result.sampled
    assert_fits(result.counts("c"), expected, shots)
    per_shot = Emulator(n, error_model=model, simulator=StatevectorSimulator()).run(ghz(n), shots=1500, seed=8, sample_once=False)
    assert_fits(per_shot.counts("c"), expected, 1500)


# --------------------------------------------------------------- leakage
def test_leakage_statistics():
    p, bias, shots = 0.3, 0.25, 800

    def program(ctx):
        a, b = ctx.qalloc(), ctx.qalloc()
        ctx.rxy(a, PI, 0.0)  # one gate: a leaks with probability p
        ctx.rxy(b, PI, 0.0)
        ctx.result("a", ctx.measure_leaked(a))
        ctx.result("b", ctx.measure(b))

    result = Emulator(2, error_model=LeakageErrorModel(p_leak=p, leak_measurement_bias=bias),
                      simulator=StatevectorSimulator()).run(program, shots=shots, seed=6)
    assert_fits(result.counts("a"), {"1": 1 - p, "2": p}, shots)
    # b reads 1 when it did not leak, and with the bias when it did
    assert_fits(result.counts("b"), {"1": 1 - p + p * bias, "0": p * (1 - bias)}, shots)


# --------------------------------------------------------------- device noise
def test_device_model_idles_qubits_over_delays_and_other_qubits_gates():
    device = load_device("training5")
    cal = device.calibration()
    t1, t2 = cal["t1"][0], cal["t2"][0]
    t1_b = cal["t1"][1]
    rx_error = NoiseModel.from_device(device).gate_error("rx", (0,))
    gate_ns, delay_ns = 2_000, 10_000
    runtime = SimpleRuntime(duration_ns_rxy=gate_ns)

    def program(ctx):
        a, b = ctx.qalloc(), ctx.qalloc()
        ctx.rxy(a, PI / 2, 0.0)     # a: superposition, b idles for gate_ns meanwhile
        ctx.rz(b, 0.0)
        ctx.x(b)                    # b: |1>, a idles for gate_ns
        ctx.delay(delay_ns)
        ctx.rz(a, 0.0)              # a later operation: the delay's idling is applied before it

    rho = Emulator(2, runtime=runtime, error_model=DeviceErrorModel(device=device)).state(program)

    def after_gate(rho1):
        return qutip.vector_to_operator(rx_error.to_qobj() * qutip.operator_to_vector(rho1))

    # qubit a: Rxy(pi/2, 0)|0>, its gate error, then idle during b's x and the delay
    plus_i = (-1j * PI / 4 * qutip.sigmax()).expm() * qutip.basis(2, 0)
    ra = after_gate(plus_i.proj())
    idle_a = (gate_ns + delay_ns) * 1e-9
    pop1 = ra.full()[1, 1].real * math.exp(-idle_a / t1)
    coherence = ra.full()[0, 1] * math.exp(-idle_a / t2)
    got_a = rho.ptrace(0).full()
    assert got_a[1, 1].real == pytest.approx(pop1, abs=1e-9)
    assert got_a[0, 1] == pytest.approx(coherence, abs=1e-9)
    # qubit b: idles in |0> while a's gate runs (nothing to damp), then X with its error, then the delay
    x = (-1j * PI / 2 * qutip.sigmax()).expm()
    error_b = NoiseModel.from_device(device).gate_error("rx", (1,)).to_qobj()
    rb = qutip.vector_to_operator(error_b * qutip.operator_to_vector(x * qutip.fock_dm(2, 0) * x.dag()))
    pop_b = rb.full()[1, 1].real * math.exp(-delay_ns * 1e-9 / t1_b)
    assert rho.ptrace(1).full()[1, 1].real == pytest.approx(pop_b, abs=1e-9)


def test_device_model_trajectories_on_statevectors_match_the_density_matrix():
    device = load_device("training5")

    def program(ctx):
        q = ctx.qalloc()
        ctx.x(q)
        ctx.delay(30_000)
        ctx.result("m", ctx.measure(q))

    exact = Emulator(1, error_model=DeviceErrorModel(device=device)).state(
        lambda ctx: (lambda q: (ctx.x(q), ctx.delay(30_000), ctx.rz(q, 0.0)))(ctx.qalloc()))
    p1 = exact.full()[1, 1].real
    readout = 1 - device.calibration()["readout_fidelities"][0]
    p_read1 = p1 * (1 - readout) + (1 - p1) * readout
    shots = 800
    result = Emulator(1, error_model=DeviceErrorModel(device=device), simulator=StatevectorSimulator()).run(
        program, shots=shots, seed=12)
    assert_fits(result.counts("m"), {"0": 1 - p_read1, "1": p_read1}, shots)
