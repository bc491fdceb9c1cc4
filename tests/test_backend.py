"""The streaming DensityMatrixBackend (qlab.sim.backend) against the dense reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import qutip

import qlab.sim as qs
import reference as ref
from qlab import Circuit, NoiseModel
from qlab.circuit import GATES, gate_matrix
from qlab.exceptions import CircuitError, QlabTypeError, QubitLimitError, SimulationError
from qlab.sim import DensityMatrixBackend, IdleNoise, ReadoutError
from qlab.testing import assert_states_close

ATOL = 1e-10


def random_spec(rng, n: int) -> ref.NoiseSpec:
    """Gate errors on every gate, per-qubit overrides, idle noise and gate durations."""
    t1 = rng.uniform(20e-6, 100e-6)
    spec = ref.NoiseSpec(idle={None: ref.IdleT1T2(t1, rng.uniform(0.2, 2.0) * t1)})
    for name, gate in GATES.items():
        spec.durations[(name, None)] = float(rng.choice([0.0, rng.uniform(0, 5e-6)]))
        if gate.num_qubits == 2 and rng.random() < 0.5:
            spec.gate_errors[(name, None)] = ref.Depolarizing(rng.uniform(0, 0.2), 2)
        else:
            spec.gate_errors[(name, None)] = ref.AmplitudeDamping(rng.uniform(0, 0.2))
    spec.gate_errors[("reset", None)] = ref.PhaseDamping(0.3)
    spec.durations[("reset", None)] = 1e-6
    for q in range(n):
        spec.gate_errors[("x", (q,))] = ref.PauliChannel({"Y": rng.uniform(0, 0.2)})
        spec.idle[q] = ref.IdleT1T2(50e-6, 30e-6) if q % 2 else spec.idle[None]
    return spec


def drive_randomly(rng, backend: DensityMatrixBackend, circuit: Circuit, steps: int) -> None:
    """The same random operations on the backend and, as instructions, on the circuit."""
    n = circuit.num_qubits
    for _ in range(steps):
        roll = rng.random()
        if roll < 0.75:
            options = [g for g in GATES.values() if g.num_qubits <= n]
            gate = options[rng.integers(len(options))]
            qubits = [int(q) for q in rng.choice(n, size=gate.num_qubits, replace=False)]
            params = rng.uniform(-np.pi, np.pi, gate.num_params).tolist()
            backend.apply_gate(gate.name, qubits, params)
            circuit.append(gate.name, qubits, params)
        elif roll < 0.85:
            k = int(rng.integers(1, min(2, n) + 1))
            qubits = [int(q) for q in rng.choice(n, size=k, replace=False)]
            u = qutip.rand_unitary([2] * k, seed=rng).full()
            backend.apply_gate("unitary", qubits, matrix=u)
            circuit.unitary(u, qubits)
        elif roll < 0.92:
            q = int(rng.integers(n))
            backend.reset(q)
            circuit.reset(q)
        else:
            qubits = [int(q) for q in rng.choice(n, size=int(rng.integers(1, n + 1)), replace=False)]
            seconds = float(rng.uniform(0, 5e-6))
            backend.advance(seconds, qubits)
            circuit.delay(seconds, qubits)


@pytest.mark.parametrize("seed", range(30))
def test_random_operations_match_the_reference(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    spec = random_spec(rng, n)
    backend = DensityMatrixBackend(spec.to_noise_model(), seed=seed)
    assert backend.allocate(n) == list(range(n))
    circuit = Circuit(n)
    drive_randomly(rng, backend, circuit, steps=15)
    expected = ref.simulate(circuit, spec).state
    assert_states_close(backend.state(), expected, atol=ATOL)
    np.testing.assert_allclose(backend.probabilities(), expected.diag().real, atol=ATOL)
    q = int(rng.integers(n))
    assert backend.probability_of_one(q) == pytest.approx(expected.ptrace(q).full()[1, 1].real, abs=ATOL)
    assert backend.expectation("Z", [q]) == pytest.approx(qutip.expect(qutip.sigmaz(), expected.ptrace(q)), abs=ATOL)


def test_apply_channel_is_the_channel_in_its_factor_order():
    backend = DensityMatrixBackend()
    a, _, c = backend.allocate(3)
    backend.apply_gate("h", [a])
    backend.apply_gate("ry", [c], [0.8])
    ops = qutip.rand_kraus_map([2, 2], seed=3)
    backend.apply_channel(qs.kraus(ops), [c, a])
    start = ref.simulate(Circuit(3).h(0).ry(0.8, 2)).state
    full = [qutip.expand_operator(k, dims=[2, 2, 2], targets=[2, 0]) for k in ops]
    assert_states_close(backend.state(), sum(k * start * k.dag() for k in full), atol=ATOL)


def test_allocate_and_free():
    backend = DensityMatrixBackend()
    assert backend.allocate() == [0]
    assert backend.allocate(2) == [1, 2]
    backend.apply_gate("x", [2])
    backend.free(1)
    assert backend.qubits == (0, 2)
    assert backend.allocate() == [3]
    assert backend.qubits == (0, 2, 3)
    np.testing.assert_allclose(backend.probabilities([2, 3, 0]), [0, 0, 0, 0, 1, 0, 0, 0], atol=1e-15)


def test_free_traces_the_qubit_out():
    backend = DensityMatrixBackend()
    a, b = backend.allocate(2)
    backend.apply_gate("h", [a])
    backend.apply_gate("cx", [a, b])
    backend.free(a)
    assert_states_close(backend.state(), np.eye(2) / 2, atol=ATOL)


def test_state_follows_the_requested_qubit_order():
    backend = DensityMatrixBackend()
    a, b, c = backend.allocate(3)
    backend.apply_gate("x", [a])
    backend.apply_gate("h", [c])
    full = backend.state()
    assert_states_close(backend.state([c, a]), full.partial_trace([2, 0]), atol=ATOL)
    np.testing.assert_allclose(backend.probabilities([b, a]), [0, 1, 0, 0], atol=1e-15)
    assert backend.expectation("XZ", [c, a]) == pytest.approx(-1.0)


def test_new_qubits_start_at_the_current_time():
    noise = NoiseModel().with_idle_noise(IdleNoise.from_t1_t2(1e-6, 1e-6)).with_duration("x", 5e-6)
    backend = DensityMatrixBackend(noise)
    (a,) = backend.allocate()
    backend.apply_gate("x", [a])
    assert backend.time == pytest.approx(5e-6)
    (b,) = backend.allocate()
    backend.apply_gate("h", [b])
    backend.apply_gate("cz", [a, b])
    assert backend.state([b]).purity() == pytest.approx(1.0)


def test_waiting_qubit_idles_until_its_partner_is_free():
    t1, t2 = 20e-6, 30e-6
    noise = NoiseModel().with_idle_noise(IdleNoise.from_t1_t2(t1, t2)).with_duration("rx", 4e-6)
    backend = DensityMatrixBackend(noise)
    a, b = backend.allocate(2)
    backend.apply_gate("h", [b])
    backend.apply_gate("rx", [a], [1.0])
    backend.apply_gate("cx", [a, b])
    circuit = Circuit(2).h(1).rx(1.0, 0).cx(0, 1)
    spec = ref.NoiseSpec(idle={None: ref.IdleT1T2(t1, t2)}, durations={("rx", None): 4e-6})
    expected = ref.simulate(circuit, spec).state
    assert_states_close(backend.state(), expected, atol=ATOL)


def test_advance_applies_idle_noise_as_thermal_relaxation():
    t1, t2, wait = 30e-6, 20e-6, 7e-6
    backend = DensityMatrixBackend(NoiseModel().with_idle_noise(IdleNoise.from_t1_t2(t1, t2)))
    a, b = backend.allocate(2)
    for q in (a, b):
        backend.apply_gate("u3", [q], [1.1, 0.4, 0.0])
    backend.advance(wait, [a])
    u = qutip.Qobj(gate_matrix("u3", [1.1, 0.4, 0.0]))
    start = u * qutip.fock_dm(2, 0) * u.dag()
    relaxed = qutip.vector_to_operator(qs.thermal_relaxation(t1, t2, wait).to_qobj() * qutip.operator_to_vector(start))
    assert_states_close(backend.state([a]), relaxed, atol=ATOL)
    assert_states_close(backend.state([b]), start, atol=ATOL)
    assert backend.time == pytest.approx(wait)
    backend.advance(wait)
    assert backend.time == pytest.approx(2 * wait)


def test_reset_with_its_error():
    backend = DensityMatrixBackend(NoiseModel().with_gate_error("reset", qs.depolarizing(0.2)))
    (a,) = backend.allocate()
    backend.apply_gate("h", [a])
    backend.reset(a)
    np.testing.assert_allclose(backend.probabilities(), [0.9, 0.1], atol=1e-14)


def test_measure_collapses_entangled_partners():
    backend = DensityMatrixBackend(seed=11)
    for _ in range(20):
        a, b = backend.allocate(2)
        backend.apply_gate("h", [a])
        backend.apply_gate("cx", [a, b])
        outcome = backend.measure(a)
        assert backend.probability_of_one(b) == pytest.approx(outcome, abs=1e-12)
        assert backend.measure(b) == outcome
        backend.free(a)
        backend.free(b)


def measure_many(seed: int, theta: float, noise: NoiseModel | None = None, shots: int = 4000) -> list[int]:
    backend = DensityMatrixBackend(noise, seed=seed)
    (a,) = backend.allocate()
    outcomes = []
    for _ in range(shots):
        backend.reset(a)
        backend.apply_gate("ry", [a], [theta])
        outcomes.append(backend.measure(a))
    return outcomes


def assert_binomial(ones: int, shots: int, p: float) -> None:
    sigma = math.sqrt(shots * p * (1 - p))
    assert abs(ones - shots * p) < 5 * sigma, (ones, shots * p, sigma)


def test_measurement_statistics():
    theta = 1.2
    outcomes = measure_many(seed=5, theta=theta)
    assert_binomial(sum(outcomes), len(outcomes), math.sin(theta / 2) ** 2)


def test_readout_error_statistics():
    theta, flip01, flip10 = 0.9, 0.1, 0.25
    noise = NoiseModel().with_readout_error(ReadoutError(flip01, flip10))
    outcomes = measure_many(seed=6, theta=theta, noise=noise)
    p1 = math.sin(theta / 2) ** 2
    assert_binomial(sum(outcomes), len(outcomes), p1 * (1 - flip10) + (1 - p1) * flip01)


def test_measure_error_acts_before_the_measurement():
    noise = NoiseModel().with_gate_error("measure", qs.amplitude_damping(1.0))
    backend = DensityMatrixBackend(noise, seed=0)
    (a,) = backend.allocate()
    backend.apply_gate("x", [a])
    assert backend.measure(a) == 0


def test_same_seed_same_outcomes_different_seed_different_outcomes():
    first = measure_many(seed=1, theta=1.5, shots=200)
    assert measure_many(seed=1, theta=1.5, shots=200) == first
    assert measure_many(seed=2, theta=1.5, shots=200) != first


def test_postselect_projects_and_returns_the_probability():
    backend = DensityMatrixBackend()
    a, b = backend.allocate(2)
    backend.apply_gate("ry", [a], [2.0])
    backend.apply_gate("cx", [a, b])
    assert backend.postselect(a, 1) == pytest.approx(math.sin(1.0) ** 2)
    np.testing.assert_allclose(backend.probabilities(), [0, 0, 0, 1], atol=1e-12)
    with pytest.raises(SimulationError, match="postselect: outcome 0 of qubit 1 has probability 0; cannot postselect"):
        backend.postselect(b, 0)
    with pytest.raises(SimulationError, match="postselect: outcome must be 0 or 1, got 2"):
        backend.postselect(b, 2)


# ---------------------------------------------------------------- errors
@pytest.fixture
def pair() -> DensityMatrixBackend:
    backend = DensityMatrixBackend(NoiseModel().with_idle_noise(IdleNoise.from_t1_t2(1e-6, 1e-6)))
    backend.allocate(2)
    return backend


@pytest.mark.parametrize(
    "action,error,match",
    [
        (lambda b: b.apply_gate("x", [5]), SimulationError, r"Cannot apply 'x' on qubit 5: it is not allocated \(allocated: \[0, 1\]\)"),
        (lambda b: b.apply_gate("cx", [0, 0]), SimulationError, r"Cannot apply 'cx' on qubits \(0, 0\): a qubit appears more than once"),
        (lambda b: b.apply_gate("cx", [0]), SimulationError, r"apply_gate: 'cx' takes 2 qubit\(s\) and 0 parameter\(s\), got 1 and 0"),
        (lambda b: b.apply_gate("rx", [0]), SimulationError, r"apply_gate: 'rx' takes 1 qubit\(s\) and 1 parameter\(s\), got 1 and 0"),
        (lambda b: b.apply_gate("frobnicate", [0]), CircuitError, "Unknown gate 'frobnicate'"),
        (lambda b: b.apply_gate("unitary", [0], matrix=np.ones((2, 2))), SimulationError, "apply_gate: the matrix must be a 2-dimensional unitary"),
        (lambda b: b.apply_gate("unitary", [0, 1], matrix=np.eye(2)), SimulationError, "the matrix must be a 4-dimensional unitary"),
        (lambda b: b.apply_channel(np.eye(4), [0]), QlabTypeError, "apply_channel: expected a Channel, got ndarray"),
        (lambda b: b.apply_channel(qs.depolarizing(0.1, 2), [0]), SimulationError, r"apply_channel: depolarizing\(0.1, 2\) acts on 2 qubit\(s\), got 1"),
        (lambda b: b.apply_channel(qs.depolarizing(0.1), [7]), SimulationError, "Cannot apply a channel on qubit 7: it is not allocated"),
        (lambda b: b.reset(2), SimulationError, "Cannot reset on qubit 2: it is not allocated"),
        (lambda b: b.measure(-1), SimulationError, "Cannot measure on qubit -1: it is not allocated"),
        (lambda b: b.postselect(3, 0), SimulationError, "Cannot postselect on qubit 3: it is not allocated"),
        (lambda b: b.advance(-1e-6), SimulationError, "advance: duration must be finite and >= 0 seconds, got -1e-06"),
        (lambda b: b.advance("1us"), QlabTypeError, "advance: duration must be a number of seconds, got '1us'"),
        (lambda b: b.advance(math.nan), SimulationError, "advance: duration must be finite and >= 0 seconds, got nan"),
        (lambda b: b.advance(1e-6, [4]), SimulationError, "Cannot advance time on qubit 4: it is not allocated"),
        (lambda b: b.state([0, 9]), SimulationError, "Cannot read the state on qubit 9: it is not allocated"),
        (lambda b: b.probabilities([1, 1]), SimulationError, "Cannot read probabilities on qubits \\(1, 1\\): a qubit appears more than once"),
        (lambda b: b.expectation("XA", [0, 1]), SimulationError, "expectation: 'XA' must be a Pauli string over IXYZ with one letter per qubit"),
        (lambda b: b.expectation("X", [0, 1]), SimulationError, "expectation: 'X' must be a Pauli string"),
        (lambda b: b.allocate(0), SimulationError, "allocate: count must be positive, got 0"),
        (lambda b: b.allocate(True), QlabTypeError, r"allocate: count must be an int, got True \(bool\)"),
        (lambda b: b.allocate(1.0), QlabTypeError, r"allocate: count must be an int, got 1.0 \(float\)"),
        (lambda b: b.allocate(13), QubitLimitError, "allocate: 2 qubits are allocated and 13 more were asked for; the limit is 14"),
    ],
)
def test_error_paths(pair, action, error, match):
    with pytest.raises(error, match=match):
        action(pair)


def test_double_free_is_an_error():
    backend = DensityMatrixBackend()
    (a,) = backend.allocate()
    backend.free(a)
    with pytest.raises(SimulationError, match=r"Cannot free on qubit 0: it is not allocated \(allocated: \[\]\)"):
        backend.free(a)


def test_noise_must_be_a_noise_model():
    with pytest.raises(QlabTypeError, match="DensityMatrixBackend: noise must be a NoiseModel or None, got Channel"):
        DensityMatrixBackend(qs.depolarizing(0.1))


def test_qubit_limit_is_configurable():
    backend = DensityMatrixBackend(max_qubits=2)
    backend.allocate(2)
    with pytest.raises(QubitLimitError, match="the limit is 2"):
        backend.allocate()


def test_non_finite_parameters_are_rejected(pair):
    with pytest.raises(SimulationError, match="finite"):
        pair.apply_gate("rx", [0], [math.nan])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_infinite_advance_is_rejected(pair):
    with pytest.raises(SimulationError, match="advance: duration"):
        pair.advance(math.inf)


def test_repr():
    backend = DensityMatrixBackend()
    backend.allocate(3)
    assert repr(backend) == "DensityMatrixBackend(<3 qubit(s) allocated, t=0 s>)"
