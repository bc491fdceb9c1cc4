"""QPU results against the independent QuTiP reference (tests/reference.py) and textbook values."""

from __future__ import annotations

import numpy as np
import pytest
import qutip

from qlab import Circuit
from qlab.qpu import Batch, DensityMatrixQPU, Job, Observable, ObservableSplitter, ReadoutMitigation

from reference import Depolarizing, NoiseSpec, AmplitudeDamping, pauli_string, simulate as reference_simulate

NOISE = NoiseSpec(
    gate_errors={("h", None): Depolarizing(0.03), ("cx", None): Depolarizing(0.05, 2), ("rx", None): AmplitudeDamping(0.1),
                 ("ry", None): AmplitudeDamping(0.05)},
    readout={None: (0.02, 0.05), 1: (0.1, 0.04)},
)


def random_circuit(n: int, depth: int, rng: np.random.Generator) -> Circuit:
    c = Circuit(n)
    for _ in range(depth):
        q = int(rng.integers(n))
        kind = rng.integers(4)
        if kind == 0:
            c.h(q)
        elif kind == 1:
            c.rx(float(rng.uniform(0, 2 * np.pi)), q)
        elif kind == 2:
            c.ry(float(rng.uniform(0, 2 * np.pi)), q)
        else:
            a, b = rng.choice(n, 2, replace=False)
            c.cx(int(a), int(b))
    return c


def reference_probabilities(circuit: Circuit, qubits, noise: NoiseSpec | None) -> dict[str, float]:
    c = Circuit(circuit.num_qubits, len(qubits))
    for ins in circuit.instructions:
        c.append(ins.name, ins.qubits, ins.params)
    for i, q in enumerate(qubits):
        c.measure(q, i)
    return {k: v for k, v in reference_simulate(c, noise).probabilities.items() if v > 1e-12}


def reference_expectation(circuit: Circuit, observable: Observable, noise: NoiseSpec | None) -> float:
    rho = reference_simulate(circuit, noise).state
    op = sum((c * pauli_string(p) for p, c in observable.terms.items()), observable.constant * qutip.qeye([2] * observable.nqbits))
    return float(qutip.expect(op, rho))


@pytest.mark.parametrize("seed", range(6))
def test_exact_probabilities_match_the_reference(seed):
    rng = np.random.default_rng(seed)
    n = 3
    circuit = random_circuit(n, 10, rng)
    qubits = [int(q) for q in rng.permutation(n)[: 2 + seed % 2]]
    qpu = DensityMatrixQPU(NOISE.to_noise_model())
    result = qpu.submit(Job(circuit, 0, qubits))
    expected = reference_probabilities(circuit, qubits, NOISE)
    assert result.probabilities.keys() == expected.keys()
    for key, p in expected.items():
        assert result.probabilities[key] == pytest.approx(p, abs=1e-10)
    assert all(s.amplitude is None for s in result.raw_data)  # noisy: mixed state


@pytest.mark.parametrize("seed", range(4))
def test_amplitudes_of_pure_states_match_the_state_vector(seed):
    rng = np.random.default_rng(100 + seed)
    circuit = random_circuit(3, 12, rng)
    order = [2, 0, 1]
    result = DensityMatrixQPU().submit(Job(circuit, qubits=order))
    psi = reference_simulate(circuit).state.eigenstates()[1][-1].full().ravel()
    psi = psi.reshape(2, 2, 2).transpose(order).ravel()
    first = psi[np.flatnonzero(np.abs(psi) > 1e-9)[0]]
    psi = psi * abs(first) / first  # the documented phase convention: first non-zero amplitude real positive
    for sample in result.raw_data:
        assert sample.amplitude == pytest.approx(psi[sample.state], abs=1e-8)
        assert sample.probability == pytest.approx(abs(psi[sample.state]) ** 2, abs=1e-10)


def test_bell_state_textbook_values():
    bell = Circuit(2).h(0).cx(0, 1)
    result = DensityMatrixQPU().submit(Job(bell))
    assert result.probabilities == pytest.approx({"00": 0.5, "11": 0.5})
    assert [s.amplitude for s in result.raw_data] == pytest.approx([2**-0.5, 2**-0.5])
    obs = Observable(2, {"XX": 1.0, "YY": 1.0, "ZZ": 1.0})
    assert DensityMatrixQPU().submit(Job(bell, observable=obs)).value == pytest.approx(1.0)  # <XX> - <YY>... = 1 - 1 + 1


@pytest.mark.parametrize("seed", range(5))
def test_exact_observables_match_qutip(seed):
    rng = np.random.default_rng(200 + seed)
    n = 3
    circuit = random_circuit(n, 10, rng)
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(5)]
    obs = Observable(n, {lab: float(rng.normal()) for lab in labels}, constant=0.3)
    result = DensityMatrixQPU(NOISE.to_noise_model()).submit(Job(circuit, observable=obs))
    assert result.value == pytest.approx(reference_expectation(circuit, obs, NOISE), abs=1e-10)
    assert result.value_error == 0.0


def test_observable_on_qubits_no_gate_touches():
    obs = Observable(3, {"ZIZ": 2.0, "XII": 5.0, "IIZ": 1.0})
    result = DensityMatrixQPU().submit(Job(Circuit(3).x(0), observable=obs))
    assert result.value == pytest.approx(-2.0 + 0.0 + 1.0)


def _sampled_reference(circuit, obs, nbshots):
    """Exact mean and the standard error of the grouped estimator, computed from the reference's states."""
    rho = reference_simulate(circuit).state
    variance = 0.0
    for group in obs.groups():
        f = sum(c * pauli_string(p) for p, c in group.terms.items())
        mean = qutip.expect(f, rho)
        variance += (qutip.expect(f * f, rho) - mean**2) / nbshots
    return reference_expectation(circuit, obs, None), np.sqrt(variance)


def test_sampled_observables_have_honest_error_bars():
    rng = np.random.default_rng(7)
    circuit = random_circuit(3, 12, rng)
    obs = Observable(3, {"ZZI": 1.0, "XIX": -0.7, "IYY": 0.4, "ZII": 0.2})
    nbshots = 4000
    exact, sigma = _sampled_reference(circuit, obs, nbshots)
    qpu = DensityMatrixQPU(seed=11)
    values = [qpu.submit(Job(circuit, nbshots, observable=obs)) for _ in range(40)]
    errors = np.array([r.value_error for r in values])
    estimates = np.array([r.value for r in values])
    assert errors.mean() == pytest.approx(sigma, rel=0.05)
    assert abs(estimates.mean() - exact) < 4 * sigma / np.sqrt(len(values))
    assert estimates.std(ddof=1) == pytest.approx(sigma, rel=0.35)


def test_sampled_probabilities_have_binomial_error_bars():
    circuit = Circuit(1).ry(1.0, 0)
    p1 = np.sin(0.5) ** 2
    result = DensityMatrixQPU(seed=5).submit(Job(circuit, 10_000))
    one = next(s for s in result.raw_data if s.bitstring == "1")
    assert one.err == pytest.approx(np.sqrt(one.probability * (1 - one.probability) / 10_000))
    assert abs(one.probability - p1) < 4 * one.err


def test_observable_splitter_recombines_the_same_value():
    rng = np.random.default_rng(3)
    circuit = random_circuit(3, 10, rng)
    obs = Observable(3, {"XXI": 0.5, "ZIZ": -1.0, "YZX": 0.25}, constant=1.0)
    expected = reference_expectation(circuit, obs, None)
    stacked = ObservableSplitter() | DensityMatrixQPU(seed=2)
    assert stacked.submit(Job(circuit, observable=obs)).value == pytest.approx(expected, abs=1e-10)
    sampled = stacked.submit(Job(circuit, 20_000, observable=obs, meta_data={"tag": 1}))
    assert abs(sampled.value - expected) < 5 * sampled.value_error
    assert sampled.meta_data["tag"] == 1
    mixed = stacked.submit(Batch([Job(circuit, qubits=[0]), Job(circuit, observable=obs)]))
    assert len(mixed) == 2 and mixed[1].value == pytest.approx(expected, abs=1e-10)
    assert mixed[0].probabilities == pytest.approx(DensityMatrixQPU().submit(Job(circuit, qubits=[0])).probabilities)


def test_readout_mitigation_undoes_the_confusion_matrices():
    readout = NoiseSpec(readout={0: (0.05, 0.1), 1: (0.02, 0.08)})
    rng = np.random.default_rng(9)
    circuit = random_circuit(2, 8, rng)
    ideal = reference_probabilities(circuit, [0, 1], None)
    noisy = DensityMatrixQPU(readout.to_noise_model(), seed=4)
    assert noisy.submit(Job(circuit)).probabilities != pytest.approx(ideal, abs=1e-3)
    mitigated = ReadoutMitigation() | noisy  # confusion matrices from the QPU's specs
    exact = mitigated.submit(Job(circuit)).probabilities
    for key, p in ideal.items():
        assert exact.get(key, 0.0) == pytest.approx(p, abs=1e-10)
    sampled = mitigated.submit(Job(circuit, 50_000))
    for sample in sampled.raw_data:
        assert abs(sample.probability - ideal.get(sample.bitstring, 0.0)) < 5 * sample.err + 1e-3
    given = ReadoutMitigation({0: [[0.95, 0.05], [0.1, 0.9]], 1: [[0.98, 0.02], [0.08, 0.92]]}) | noisy
    assert given.submit(Job(circuit)).probabilities == pytest.approx(exact, abs=1e-12)


def test_mitigated_observables_through_a_split_stack():
    readout = NoiseSpec(readout={None: (0.04, 0.07)})
    circuit = Circuit(2).h(0).cx(0, 1).ry(0.4, 1)
    obs = Observable(2, {"ZZ": 1.0, "XX": 0.5})
    expected = reference_expectation(circuit, obs, None)
    noisy = DensityMatrixQPU(readout.to_noise_model())
    raw = (ObservableSplitter() | noisy).submit(Job(circuit, observable=obs)).value
    assert abs(raw - expected) > 0.05  # readout errors bias the measured value
    fixed = (ObservableSplitter() | ReadoutMitigation() | noisy).submit(Job(circuit, observable=obs)).value
    assert fixed == pytest.approx(expected, abs=1e-10)


def test_mitigated_sampled_observables_have_honest_error_bars():
    noise = NoiseSpec(readout={None: (0.03, 0.08)})
    circuit = Circuit(2).h(0).cx(0, 1).ry(0.3, 0)
    obs = Observable(2, {"ZZ": 1.0, "XX": 0.5, "YY": -0.5})
    expected = reference_expectation(circuit, obs, None)
    stack = ObservableSplitter() | ReadoutMitigation() | DensityMatrixQPU(noise.to_noise_model(), seed=21)
    runs = [stack.submit(Job(circuit, 5000, observable=obs)) for _ in range(40)]
    values = np.array([r.value for r in runs])
    errors = np.array([r.value_error for r in runs])
    assert values.std(ddof=1) == pytest.approx(errors.mean(), rel=0.3)
    assert abs(values.mean() - expected) < 4 * errors.mean() / np.sqrt(len(runs))
