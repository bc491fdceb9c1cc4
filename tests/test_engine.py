"""The density-matrix engine (qlab.simulate) against the dense QuTiP reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import qutip
from hypothesis import given, settings
from hypothesis import strategies as st

import qlab
import qlab.sim as qs
import reference as ref
import reference_schedule as schedule
from qlab import Circuit, NoiseModel, simulate
from qlab.circuit import GATES
from qlab.exceptions import QlabTypeError, QubitLimitError, SimulationError
from qlab.sim import engine
from qlab.sim.engine import run_program
from qlab.sim.program import lower
from qlab.testing import assert_states_close, random_circuit

ATOL = 1e-10
T1_RANGE = (20e-6, 100e-6)

# random noise models leave some gates without errors on purpose
pytestmark = pytest.mark.filterwarnings("ignore::qlab.sim.noise.NoiseModelWarning")


# ---------------------------------------------------------------- helpers
def qubits_for(rng, n: int, k: int) -> list[int]:
    """``k`` distinct qubits in random order (non-adjacent and reversed pairs included)."""
    return [int(q) for q in rng.choice(n, size=k, replace=False)]


def arity(name: str) -> int | None:
    return GATES[name].num_qubits if name in GATES else (None if name == "unitary" else 1)


def random_thermal(rng) -> ref.ThermalRelaxation:
    t1 = rng.uniform(*T1_RANGE)
    return ref.ThermalRelaxation(t1, rng.uniform(0.2, 2.0) * t1, rng.uniform(0, 20e-6), rng.choice([0.0, rng.uniform(0, 0.3)]))


def random_pauli_probabilities(rng, k: int) -> dict[str, float]:
    labels = {"".join(rng.choice(list("IXYZ"), size=k)) for _ in range(3)} - {"I" * k}
    return {lab: float(rng.uniform(0, 0.1)) for lab in labels} or {"Z" * k: 0.05}


def random_one_qubit_channel(rng):
    kinds = [
        lambda: ref.Depolarizing(rng.uniform(0, 0.3)),
        lambda: ref.AmplitudeDamping(rng.uniform(0, 0.3)),
        lambda: ref.PhaseDamping(rng.uniform(0, 0.3)),
        lambda: random_thermal(rng),
        lambda: ref.PauliChannel(random_pauli_probabilities(rng, 1)),
        lambda: ref.Kraus(tuple(op.full() for op in qutip.rand_kraus_map(2, seed=rng))),
        lambda: ref.Unitary(qutip.rand_unitary(2, seed=rng).full()),
        lambda: ref.Lindblad(qutip.rand_herm(2, seed=rng), (rng.uniform(0.1, 0.5) * qutip.destroy(2),), 1.0),
        lambda: ref.Then(ref.AmplitudeDamping(rng.uniform(0, 0.2)), ref.Depolarizing(rng.uniform(0, 0.2))),
    ]
    return kinds[rng.integers(len(kinds))]()


def random_channel(rng, k: int):
    """A random channel spec on ``k`` qubits."""
    if k == 1:
        return random_one_qubit_channel(rng)
    kinds = [
        lambda: ref.Depolarizing(rng.uniform(0, 0.3), k),
        lambda: ref.PauliChannel(random_pauli_probabilities(rng, k)),
        lambda: ref.Unitary(qutip.rand_unitary([2] * k, seed=rng).full()),
    ]
    if k == 2:
        kinds += [
            lambda: ref.Kraus(tuple(op.full() for op in qutip.rand_kraus_map([2, 2], seed=rng))),
            lambda: ref.Superop(qutip.rand_super_bcsz([2, 2], seed=rng)),
        ]
    return kinds[rng.integers(len(kinds))]()


def add_random_gate(rng, circuit: Circuit) -> None:
    """A random library gate with random angles, or (one time in ten) a random user unitary."""
    n = circuit.num_qubits
    if rng.random() < 0.1:
        k = int(rng.integers(1, min(3, n) + 1))
        circuit.unitary(qutip.rand_unitary([2] * k, seed=rng).full(), qubits_for(rng, n, k), label="rand")
        return
    options = [g for g in GATES.values() if g.num_qubits <= n]
    gate = options[rng.integers(len(options))]
    circuit.append(gate.name, qubits_for(rng, n, gate.num_qubits), rng.uniform(-2 * np.pi, 2 * np.pi, gate.num_params).tolist())


def add_random_condition(rng, circuit: Circuit) -> None:
    """Condition the last instruction on a random bit or register."""
    if rng.random() < 0.5:
        circuit.c_if(int(rng.integers(circuit.num_clbits)), int(rng.integers(2)))
    else:
        reg = circuit.cregs[rng.integers(len(circuit.cregs))]
        circuit.c_if(reg.name, int(rng.integers(2**reg.size)))


def random_circuit_with_extras(rng, *, conditions: bool) -> Circuit:
    """Gates, user unitaries, delays, barriers, resets, mid-circuit measurements, then terminal measurements.

    A mid-circuit measurement is always followed by an operation on its
    qubit, so it stays mid-circuit; terminal measurements come last.
    """
    n = int(rng.integers(1, 7))
    circuit = Circuit(n)
    for name in ("a", "b")[: int(rng.integers(1, 3))]:
        circuit.add_creg(name, int(rng.integers(1, 4)))
    for _ in range(int(rng.integers(8, 20))):
        roll = rng.random()
        q = int(rng.integers(n))
        if roll < 0.6:
            add_random_gate(rng, circuit)
            if conditions and rng.random() < 0.3:
                add_random_condition(rng, circuit)
        elif roll < 0.7:
            circuit.delay(float(rng.uniform(0, 10)), q, unit=str(rng.choice(["us", "ns"])))
        elif roll < 0.77:
            circuit.barrier(*qubits_for(rng, n, int(rng.integers(1, n + 1))))
        elif roll < 0.85:
            circuit.reset(q)
        else:
            bit = int(rng.integers(circuit.num_clbits))
            circuit.measure(q, bit)
            follow = rng.integers(3)
            if follow == 0:
                circuit.reset(q)
            elif follow == 1 and conditions:
                circuit.x(q).c_if(bit, 1)
            else:
                circuit.rx(float(rng.uniform(0, np.pi)), q)
    for q in qubits_for(rng, n, int(rng.integers(0, n + 1))):
        circuit.measure(q, int(rng.integers(circuit.num_clbits)))
    return circuit


def random_noise(rng, circuit: Circuit, *, timed: bool) -> ref.NoiseSpec:
    """Per-gate and per-qubit errors, readout errors, idle noise and (if ``timed``) gate durations."""
    spec = ref.NoiseSpec()
    instructions = [ins for ins in circuit.instructions if ins.name not in ("barrier", "delay")]
    for name in sorted({ins.name for ins in instructions}):
        if rng.random() < 0.6:
            k = arity(name)
            spec.gate_errors[(name, None)] = random_channel(rng, 1 if k is None or rng.random() < 0.5 else k)
    for ins in [instructions[i] for i in rng.choice(len(instructions), size=min(3, len(instructions)), replace=False)]:
        k = len(ins.qubits) if rng.random() < 0.5 else 1
        spec.gate_errors[(ins.name, ins.qubits)] = random_channel(rng, k)
    if rng.random() < 0.8:
        t1 = rng.uniform(*T1_RANGE)
        spec.idle[None] = ref.IdleT1T2(t1, rng.uniform(0.2, 2.0) * t1)
    for q in range(circuit.num_qubits):
        roll = rng.random()
        if roll < 0.2:
            t1 = rng.uniform(*T1_RANGE)
            spec.idle[q] = ref.IdleT1T2(t1, rng.uniform(0.2, 2.0) * t1)
        elif roll < 0.3:
            spec.idle[q] = ref.IdleLindblad(
                qutip.rand_herm(2, seed=rng).full() * 1e5, (np.sqrt(2e4) * qutip.destroy(2).full(),)
            )
        if rng.random() < 0.4:
            spec.readout[q] = tuple(rng.uniform(0, 0.2, 2))
    if rng.random() < 0.5:
        spec.readout[None] = tuple(rng.uniform(0, 0.2, 2))
    if timed:
        for name in sorted({ins.name for ins in instructions}):
            spec.durations[(name, None)] = float(rng.choice([0.0, rng.uniform(0, 10e-6)]))
        for ins in instructions[: len(instructions) // 3]:
            spec.durations[(ins.name, ins.qubits)] = float(rng.uniform(0, 10e-6))
        spec.durations[("id", None)] = 1e-6  # some positive duration, so that waiting qubits idle
    return spec


def preparation(psi: qutip.Qobj) -> np.ndarray:
    """A unitary whose first column is ``psi``."""
    v = psi.full().ravel()
    return np.array([[v[0], -v[1].conjugate()], [v[1], v[0].conjugate()]])


def assert_matches_reference(circuit: Circuit, spec: ref.NoiseSpec | None = None) -> qlab.Result:
    spec = ref.NoiseSpec() if spec is None else spec
    result = simulate(circuit, spec.to_noise_model())
    expected = schedule.simulate(circuit, spec)
    assert_states_close(result.state, expected.state, atol=ATOL)
    assert_probabilities_close(result.probabilities, expected.probabilities)
    return result


def assert_probabilities_close(actual: dict, expected: dict) -> None:
    keys = set(actual) | {k for k, p in expected.items() if p > 1e-13}
    deviations = {k: abs(actual.get(k, 0.0) - expected.get(k, 0.0)) for k in keys}
    assert max(deviations.values()) < ATOL, deviations
    assert sum(actual.values()) == pytest.approx(1.0, abs=1e-12)


# ------------------------------------------------------ random circuits
@pytest.mark.parametrize("seed", range(120))
def test_timed_noisy_circuits_match_reference(seed):
    rng = np.random.default_rng(seed)
    circuit = random_circuit_with_extras(rng, conditions=False)
    assert_matches_reference(circuit, random_noise(rng, circuit, timed=True))


@pytest.mark.parametrize("seed", range(120))
def test_conditional_noisy_circuits_match_reference(seed):
    rng = np.random.default_rng(10_000 + seed)
    circuit = random_circuit_with_extras(rng, conditions=True)
    assert_matches_reference(circuit, random_noise(rng, circuit, timed=False))


@pytest.mark.parametrize("seed", range(30))
def test_conditional_timed_noisy_circuits_match_reference(seed):
    """Classical conditions with gate durations and idle noise: a false condition still takes its slot."""
    rng = np.random.default_rng(30_000 + seed)
    circuit = random_circuit_with_extras(rng, conditions=True)
    spec = random_noise(rng, circuit, timed=True)
    assert_matches_reference(circuit, spec)
    early = simulate(circuit, spec.to_noise_model().with_aligned_measurements(False))
    assert_probabilities_close(early.probabilities, schedule.simulate(circuit, spec, aligned=False).probabilities)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("width", [1, 3, 4])
def test_fusion_width_does_not_change_the_physics(seed, width):
    rng = np.random.default_rng(20_000 + seed)
    circuit = random_circuit_with_extras(rng, conditions=seed % 2 == 0)
    spec = random_noise(rng, circuit, timed=seed % 2 == 1)
    program = lower(circuit, spec.to_noise_model(), max_fused_qubits=width)
    total = sum(branch.to_matrix(program.qubits) for branch in run_program(program).values())
    expected = schedule.simulate(circuit, spec).state
    assert_states_close(total / np.trace(total).real, expected.ptrace(list(program.qubits)), atol=ATOL)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 5), depth=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_ideal_random_circuits_match_the_reference_unitary(n, depth, seed):
    circuit = random_circuit(n, depth, seed)
    psi = ref.circuit_unitary(circuit)[:, 0]
    assert_states_close(simulate(circuit).state, psi, atol=ATOL)


# ----------------------------------------------------------- semantics
def test_bit_order_character_i_is_bit_i():
    assert simulate(Circuit(3).x(1).measure_all()).probabilities == {"010": 1.0}
    assert simulate(Circuit(3, 3).x(0).measure(0, 2)).probabilities == {"001": 1.0}


def test_registers_are_separated_by_spaces_in_declaration_order():
    circuit = Circuit(3)
    circuit.add_creg("low", 1)
    circuit.add_creg("high", 2)
    circuit.x(0).x(2).measure(0, 0).measure(2, 2)
    assert simulate(circuit).probabilities == {"1 01": 1.0}


def test_register_condition_reads_bit_0_as_least_significant():
    base = Circuit(3, 2).x(0).measure(0, 0)
    assert simulate(base.copy().x(2).c_if("c", 1).measure(2, 1)).probabilities == {"11": 1.0}
    assert simulate(base.copy().x(2).c_if("c", 2).measure(2, 1)).probabilities == {"10": 1.0}


def test_bit_condition_sees_the_recorded_bit_after_readout_error():
    noise = NoiseModel().with_readout_error(qs.ReadoutError(0.0, 0.25), qubits=0)
    circuit = Circuit(2, 2).x(0).measure(0, 0).x(1).c_if(0, 1).measure(1, 1)
    assert simulate(circuit, noise).probabilities == pytest.approx({"00": 0.25, "11": 0.75})


def test_teleportation_moves_the_state():
    psi = qutip.rand_ket(2, seed=4)
    circuit = (
        Circuit(3, 2)
        .unitary(preparation(psi), 0)
        .h(1).cx(1, 2).cx(0, 1).h(0)
        .measure(0, 0).measure(1, 1)
        .x(2).c_if(1, 1).z(2).c_if(0, 1)
    )
    result = simulate(circuit)
    assert_states_close(result.state.partial_trace([2]), psi, atol=ATOL)
    assert result.probabilities == pytest.approx({"00": 0.25, "01": 0.25, "10": 0.25, "11": 0.25})


def test_only_touched_qubits_are_simulated():
    result = simulate(Circuit(20, 2).h(7).cx(7, 12).barrier().measure([7, 12], [0, 1]))
    assert result.simulated_qubits == (7, 12) and result.qubits == tuple(range(20))
    assert_states_close(result.state_of([7, 12]), qutip.bell_state("00"), atol=ATOL)
    assert_states_close(result.state_of(3), qutip.fock_dm(2, 0), atol=ATOL)
    assert result.probabilities == pytest.approx({"00": 0.5, "11": 0.5})


def test_state_holds_every_qubit_of_the_circuit():
    result = simulate(Circuit(5).h(0))
    assert result.state.to_qobj().dims == [[2] * 5, [2] * 5]
    plus = (qutip.basis(2, 0) + qutip.basis(2, 1)).unit()
    expected = qutip.tensor([plus] + [qutip.basis(2, 0)] * 4)
    assert_states_close(result.state, expected, atol=ATOL)


def test_state_includes_measured_only_qubits_with_their_own_state():
    noise = NoiseModel().with_gate_error("measure", qs.pauli_channel({"X": 0.3}), qubits=3)
    result = simulate(Circuit(4).h(0).cx(0, 2).measure_all(), noise)
    assert result.simulated_qubits == (0, 2)
    flipped = 0.7 * qutip.fock_dm(2, 0) + 0.3 * qutip.fock_dm(2, 1)
    bell = qutip.bell_state("00")
    expected = qutip.tensor(qutip.ket2dm(bell), qutip.fock_dm(2, 0), flipped).permute([0, 2, 1, 3])
    assert_states_close(result.state, expected, atol=ATOL)
    assert_states_close(result.state_of([3, 2]), qutip.tensor(flipped, qutip.qeye(2) / 2), atol=ATOL)


def test_reduced_states_without_the_whole_state():
    result = simulate(Circuit(40).h(0).cx(0, 39).x(17))
    with pytest.raises(SimulationError, match=r"The state of 40 qubits would need .* GiB as a matrix, more than the limit of 13 qubits .*result.state_of\(qubits\)"):
        result.state
    assert_states_close(result.state_of([39, 0]), qutip.bell_state("00"), atol=ATOL)
    assert_states_close(result.state_of([17, 5]), qutip.tensor(qutip.fock_dm(2, 1), qutip.fock_dm(2, 0)), atol=ATOL)


@pytest.mark.parametrize("qubits,match", [([0, 0], "distinct qubits in 0..2, got \\[0, 0\\]"), ([3], "got \\[3\\]"),
                                          ("01", "expected a qubit index or a sequence of them, got '01'"), ([0.5], "got \\[0.5\\]")])
def test_state_of_rejects_bad_qubits(qubits, match):
    with pytest.raises(SimulationError, match=match):
        simulate(Circuit(3).h(0)).state_of(qubits)


def test_circuit_without_measurements_has_one_outcome():
    circuit = Circuit(2, 1).h(0)
    assert simulate(circuit).probabilities == {"0": 1.0}


@pytest.mark.parametrize("circuit", [Circuit(2).h(0), Circuit(2, 2).h(0).cx(0, 1).barrier()])
def test_shots_of_a_circuit_without_measurements_are_refused(circuit):
    with pytest.raises(SimulationError, match=r"Cannot sample 10 shots: the circuit has no measurements.*measure_all\(\)"):
        simulate(circuit, shots=10)


def test_state_is_before_terminal_measurements():
    result = simulate(Circuit(2).h(0).cx(0, 1).measure_all())
    assert_states_close(result.state, qutip.bell_state("00"), atol=ATOL)


def test_state_averages_mid_circuit_outcomes():
    result = simulate(Circuit(1, 1).h(0).measure(0, 0).h(0))
    assert_states_close(result.state, np.eye(2) / 2, atol=ATOL)
    assert result.probabilities == pytest.approx({"0": 0.5, "1": 0.5})


def test_reset_mid_circuit_and_measure_noise():
    noise = NoiseModel().with_gate_error("measure", qs.amplitude_damping(0.5)).with_gate_error("reset", qs.depolarizing(0.2))
    spec = ref.NoiseSpec({("measure", None): ref.AmplitudeDamping(0.5), ("reset", None): ref.Depolarizing(0.2)})
    circuit = Circuit(2, 2).x(0).x(1).measure(0, 0).reset(0).measure(0, 1).measure(1, 0)
    result = assert_matches_reference(circuit, spec)
    assert result.probabilities == pytest.approx(simulate(circuit, noise).probabilities)
    assert result.probabilities["11"] == pytest.approx(0.5 * 0.1 * 0.5)


def test_one_qubit_error_on_a_two_qubit_gate_acts_on_each_qubit():
    spec = ref.NoiseSpec({("cx", None): ref.AmplitudeDamping(0.3)})
    result = assert_matches_reference(Circuit(2).x(0).cx(0, 1).measure_all(), spec)
    assert result.probabilities["11"] == pytest.approx(0.7**2)


def test_exact_qubit_entry_wins_over_any_qubit_entry():
    spec = ref.NoiseSpec({("x", None): ref.AmplitudeDamping(1.0), ("x", (1,)): ref.PhaseDamping(0.5)})
    result = assert_matches_reference(Circuit(2).x(0).x(1).measure_all(), spec)
    assert result.probabilities == pytest.approx({"01": 1.0})


def test_reversed_two_qubit_entry_is_a_different_key():
    spec = ref.NoiseSpec({("cx", (1, 0)): ref.AmplitudeDamping(1.0)})
    assert assert_matches_reference(Circuit(2).x(0).cx(0, 1).measure_all(), spec).probabilities == {"11": 1.0}
    assert assert_matches_reference(Circuit(2).x(1).cx(1, 0).measure_all(), spec).probabilities == {"00": 1.0}


def test_non_commuting_two_qubit_error_keeps_its_qubit_order():
    swap_then_flip = ref.Unitary(np.kron(qutip.sigmax().full(), np.eye(2)))
    spec = ref.NoiseSpec({("cz", (2, 0)): swap_then_flip})
    result = assert_matches_reference(Circuit(3).cz(2, 0).measure_all(), spec)
    assert result.probabilities == {"001": 1.0}


def test_readout_error_on_terminal_measurements():
    noise = NoiseModel().with_readout_error(qs.ReadoutError(0.1, 0.3))
    result = simulate(Circuit(2).x(1).measure_all(), noise)
    assert result.probabilities == pytest.approx({"00": 0.9 * 0.3, "01": 0.9 * 0.7, "10": 0.1 * 0.3, "11": 0.1 * 0.7})


def test_measuring_a_qubit_twice_collapses_it_once():
    spec = ref.NoiseSpec(readout={0: (0.1, 0.2)})
    result = assert_matches_reference(Circuit(1, 2).ry(1.0, 0).measure(0, 0).measure(0, 1), spec)
    p1 = math.sin(0.5) ** 2
    assert result.probabilities["11"] == pytest.approx(p1 * 0.8**2 + (1 - p1) * 0.1**2)


def test_circuit_without_qubits_in_use():
    result = simulate(Circuit(2, 1).barrier())
    assert result.simulated_qubits == () and result.state.num_qubits == 2
    assert result.probabilities == {"0": 1.0}


def test_ideal_library_gates_on_reversed_and_distant_qubits():
    for name, gate in GATES.items():
        params = [0.3 + 0.4 * i for i in range(gate.num_params)]
        qubits = [4, 0, 2][: gate.num_qubits]
        circuit = Circuit(5).h(0).h(2).h(4).rx(0.4, 2).ry(0.7, 4).append(name, qubits, params).measure_all()
        assert_matches_reference(circuit)


# ---------------------------------------------------------- idle noise
def test_idle_noise_while_another_qubit_runs_a_long_gate():
    t1 = (30e-6, 60e-6)
    t2 = (20e-6, 50e-6)
    noise = (
        NoiseModel()
        .with_idle_noise(qs.IdleNoise.from_t1_t2(t1[0], t2[0]), 0)
        .with_idle_noise(qs.IdleNoise.from_t1_t2(t1[1], t2[1]), 1)
        .with_duration("rx", 4e-6)
    )
    timed = Circuit(2).h(1).rx(0.9, 0).cx(0, 1).measure_all()
    spec = ref.NoiseSpec(
        idle={0: ref.IdleT1T2(t1[0], t2[0]), 1: ref.IdleT1T2(t1[1], t2[1])}, durations={("rx", None): 4e-6}
    )
    expected = schedule.simulate(timed, spec)
    result = simulate(timed, noise)
    assert_states_close(result.state, expected.state, atol=ATOL)
    assert_probabilities_close(result.probabilities, expected.probabilities)
    ideal = simulate(Circuit(2).h(1).rx(0.9, 0).cx(0, 1)).state
    assert result.state.trace_distance(ideal) > 1e-3


def test_idle_noise_by_hand():
    t1, t2, wait = 40e-6, 30e-6, 5e-6
    noise = NoiseModel().with_idle_noise(qs.IdleNoise.from_t1_t2(t1, t2)).with_duration("rx", wait)
    state = simulate(Circuit(2).h(1).rx(0.5, 0).cz(0, 1), noise).state
    plus = qutip.ket2dm((qutip.basis(2, 0) + qutip.basis(2, 1)).unit())
    waited = qutip.Qobj(qs.thermal_relaxation(t1, t2, wait).to_superop(), dims=[[[2], [2]]] * 2, superrep="super")
    q1 = qutip.vector_to_operator(waited * qutip.operator_to_vector(plus))
    rx = qutip.Qobj(qlab.circuit.gate_matrix("rx", [0.5]))
    q0 = rx * qutip.fock_dm(2, 0) * rx.dag()
    cz = qutip.Qobj(qlab.circuit.gate_matrix("cz"), dims=[[2, 2], [2, 2]])
    assert_states_close(state, cz * qutip.tensor(q0, q1) * cz.dag(), atol=ATOL)


def test_gate_qubits_do_not_idle_during_their_own_gate():
    noise = NoiseModel().with_idle_noise(qs.IdleNoise.from_t1_t2(1e-6, 1e-6)).with_duration("x", 100e-6)
    assert simulate(Circuit(1).x(0).x(0).x(0).measure_all(), noise).probabilities == {"1": 1.0}


def test_barrier_synchronises_qubits_with_idle_noise():
    noise = NoiseModel().with_idle_noise(qs.IdleNoise.from_t1_t2(10e-6, 20e-6)).with_duration("id", 10e-6)
    # qubit 1 waits in |1> for the barrier (one T1), then is flipped back; without the barrier it waits in |0>
    with_barrier = simulate(Circuit(2).x(1).id(0).barrier().x(1).measure_all(), noise).probabilities
    without = simulate(Circuit(2).x(1).id(0).x(1).measure_all(), noise).probabilities
    assert without["00"] == pytest.approx(1.0)
    assert with_barrier["00"] == pytest.approx(math.exp(-1.0))


def test_delays_idle_without_durations():
    noise = NoiseModel().with_idle_noise(qs.IdleNoise.from_t1_t2(10e-6, 20e-6))
    assert simulate(Circuit(1).x(0).delay(10, 0, unit="us").measure_all(), noise).probabilities["1"] == pytest.approx(math.exp(-1.0))
    assert simulate(Circuit(1).x(0).delay(0.0, 0).measure_all(), noise).probabilities == {"1": 1.0}


def test_waiting_qubits_idle_whether_or_not_a_condition_holds():
    noise = NoiseModel().with_idle_noise(qs.IdleNoise.from_t1_t2(1e-6, 1e-6)).with_duration("h", 1e-6)
    circuit = Circuit(2, 1).x(0).h(1).cx(0, 1).c_if(0, 1).measure(0, 0)
    assert simulate(circuit, noise).probabilities["1"] == pytest.approx(math.exp(-1.0))


def test_a_false_condition_leaves_its_qubits_idling_through_the_slot():
    noise = NoiseModel().with_idle_noise(qs.IdleNoise.from_t1_t2(1e-6, 1e-6)).with_duration("x", 1e-6)
    circuit = Circuit(2, 2).x(1).measure(0, 0).x(1).c_if(0, 1).measure(1, 1)
    # x(1) takes 1 us while qubit 0 is measured at t=0; the conditional x does not run, but its
    # 1 us slot passes, so the |1> of qubit 1 decays for 1 us (one T1).
    assert simulate(circuit, noise).probabilities["01"] == pytest.approx(math.exp(-1.0))
    spec = ref.NoiseSpec(idle={None: ref.IdleT1T2(1e-6, 1e-6)}, durations={("x", None): 1e-6})
    assert_probabilities_close(simulate(circuit, noise).probabilities, schedule.simulate(circuit, spec).probabilities)


def test_barrier_after_a_terminal_measurement_does_not_change_its_outcome():
    noise = NoiseModel().with_idle_noise(qs.IdleNoise.from_t1_t2(1e-6, 1e-6)).with_duration("h", 1e-6)
    circuit = Circuit(2, 1).h(1).x(0).measure(0, 0)
    with_barrier = circuit.copy().barrier()
    assert simulate(with_barrier, noise).probabilities == pytest.approx(simulate(circuit, noise).probabilities)
    early = noise.with_aligned_measurements(False)
    assert simulate(with_barrier, early).probabilities == simulate(circuit, early).probabilities == {"1": 1.0}


def test_terminal_measurements_wait_for_the_end_of_the_schedule():
    """A qubit flipped once, then 200 gates on its neighbour over 10 us with T1 = 50 us."""
    t1, gate = 50e-6, 50e-9
    noise = NoiseModel().with_idle_noise(qs.IdleNoise.from_t1_t2(t1, 2 * t1)).with_duration(["x", "sx"], gate)
    circuit = Circuit(2).x(0)
    for _ in range(200):
        circuit.sx(1)
    circuit.measure(0, circuit.add_creg("c", 2)[0]).measure(1, 1)
    # qubit 0 is in |1> from 50 ns (the end of its x) until the end at 200 * 50 ns = 10 us
    waited = 200 * gate - gate
    expected = math.exp(-waited / t1)
    assert simulate(circuit, noise).probabilities == pytest.approx({"10": expected, "00": 1 - expected}, abs=1e-12)
    early = simulate(circuit, noise.with_aligned_measurements(False)).probabilities
    assert early == pytest.approx({"10": 1.0}, abs=1e-12)


def test_measure_all_measures_after_a_barrier():
    circuit = Circuit(3).h(0).measure_all()
    assert [ins.name for ins in circuit.instructions] == ["h", "barrier", "measure", "measure", "measure"]
    assert circuit.instructions[1].qubits == (0, 1, 2)


def test_aligned_terminal_measurements_match_the_reference_with_measure_errors_and_readout():
    spec = ref.NoiseSpec(
        gate_errors={("measure", None): ref.AmplitudeDamping(0.1), ("cx", None): ref.Depolarizing(0.05, 2)},
        idle={None: ref.IdleT1T2(20e-6, 15e-6), 2: ref.IdleT1T2(5e-6, 4e-6)},
        readout={1: (0.02, 0.07)},
        durations={("cx", None): 2e-6, ("h", None): 1e-7, ("measure", None): 1e-6},
    )
    circuit = Circuit(4, 4).h(0).x(2).measure(2, 2).cx(0, 1).cx(1, 3).measure(0, 0).cx(1, 3).measure(1, 1)
    assert_matches_reference(circuit, spec)
    early = simulate(circuit, spec.to_noise_model().with_aligned_measurements(False))
    assert_probabilities_close(early.probabilities, schedule.simulate(circuit, spec, aligned=False).probabilities)


def test_duration_of_an_unused_gate_does_not_change_the_result():
    noise = NoiseModel().with_idle_noise(qs.IdleNoise.from_t1_t2(1e-6, 1e-6))
    circuit = Circuit(2).x(1).delay(1, 0, unit="us").cx(0, 1).measure_all()
    assert simulate(circuit, noise).probabilities == simulate(circuit, noise.with_duration("ccx", 1e-9)).probabilities


# ------------------------------------------------------------- sampling
def noisy_three_qubit_circuit() -> tuple[Circuit, NoiseModel]:
    circuit = Circuit(3).h(0).ry(1.1, 1).cx(0, 2).rzz(0.7, 1, 2).h(2).measure_all()
    noise = NoiseModel().with_gate_error("cx", qs.depolarizing(0.1, 2)).with_readout_error(qs.ReadoutError(0.05, 0.1))
    return circuit, noise


def test_sampled_counts_follow_the_exact_probabilities():
    circuit, noise = noisy_three_qubit_circuit()
    shots = 20_000
    result = simulate(circuit, noise, shots=shots, seed=2024)
    assert sum(result.counts.values()) == shots == len(result.memory)
    assert set(result.counts) <= set(result.probabilities)
    expected = np.array([result.probabilities[k] * shots for k in result.probabilities])
    observed = np.array([result.counts.get(k, 0) for k in result.probabilities])
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert chi2 < 40.0, chi2  # 7 degrees of freedom: P(chi2 > 40) < 2e-6


def test_same_seed_same_shots_different_seed_different_shots():
    circuit, noise = noisy_three_qubit_circuit()
    first = simulate(circuit, noise, shots=500, seed=7)
    assert simulate(circuit, noise, shots=500, seed=7).memory == first.memory
    assert simulate(circuit, noise, shots=500, seed=8).memory != first.memory
    generator = simulate(circuit, noise, shots=500, seed=np.random.default_rng(7))
    assert generator.memory == first.memory


def test_results_without_shots_have_no_counts():
    result = simulate(Circuit(1).h(0).measure_all())
    assert result.shots is None and result.memory == []
    with pytest.raises(SimulationError, match="This result has no shots: simulate with shots=N"):
        result.counts


def test_register_counts_split_keys_by_register():
    circuit = Circuit(2)
    circuit.add_creg("a", 1)
    circuit.add_creg("b", 1)
    circuit.h(0).cx(0, 1).measure(0, 0).measure(1, 1)
    result = simulate(circuit, shots=100, seed=1)
    per = result.register_counts()
    assert per["a"] == per["b"] and sum(per["a"].values()) == 100
    assert result.register_counts("b") == per["b"]
    with pytest.raises(SimulationError, match=r"No classical register 'c'; the circuit has \['a', 'b'\]"):
        result.register_counts("c")


# ---------------------------------------------------------- error paths
@pytest.mark.parametrize(
    "shots,error,match",
    [
        (0, SimulationError, "shots must be between 1 and 100,000,000, got 0"),
        (-5, SimulationError, "shots must be between 1 and 100,000,000, got -5"),
        (engine.MAX_SHOTS + 1, SimulationError, "shots must be between 1 and 100,000,000, got 100000001"),
        (10.0, QlabTypeError, r"shots must be an int or None, got 10.0 \(float\)"),
        (True, QlabTypeError, r"shots must be an int or None, got True \(bool\)"),
        ("10", QlabTypeError, "shots must be an int or None"),
    ],
)
def test_bad_shots_are_rejected(shots, error, match):
    with pytest.raises(error, match=match):
        simulate(Circuit(1).h(0).measure_all(), shots=shots)


@pytest.mark.parametrize("seed", [1.5, "7", True])
def test_bad_seeds_are_rejected(seed):
    with pytest.raises(QlabTypeError, match="seed must be a non-negative int, a numpy Generator or None"):
        simulate(Circuit(1).h(0).measure_all(), shots=10, seed=seed)


def test_negative_seeds_are_rejected():
    with pytest.raises(SimulationError, match="seed must be non-negative, got -1"):
        simulate(Circuit(1).h(0).measure_all(), shots=10, seed=-1)


def test_non_circuits_are_rejected():
    with pytest.raises(QlabTypeError, match=r"Cannot simulate str: expected a qlab Circuit \(see qlab.load_qasm\)"):
        simulate("OPENQASM 2.0;")


def test_non_noise_models_are_rejected():
    with pytest.raises(QlabTypeError, match="Cannot simulate with noise of type dict: expected a NoiseModel or None"):
        simulate(Circuit(1).h(0), {"h": qs.depolarizing(0.1)})


def test_too_many_qubits_says_how_many_and_the_limit():
    circuit = Circuit(15)
    for q in range(15):
        circuit.h(q)
    with pytest.raises(QubitLimitError, match="the circuit acts on 15 qubits, more than the limit of 14"):
        simulate(circuit)
    with pytest.raises(QubitLimitError, match="acts on 4 qubits, more than the limit of 3"):
        simulate(random_circuit(4, 2, seed=0), max_qubits=3)


def test_conditional_measurement_is_rejected():
    circuit = Circuit(1, 2).h(0).measure(0, 0).measure(0, 1).c_if(0, 1)
    with pytest.raises(SimulationError, match=r"Cannot simulate instruction 2 .*a conditional measurement is not supported"):
        simulate(circuit)


def test_too_many_branches_are_refused(monkeypatch):
    monkeypatch.setattr(engine, "BRANCH_MEMORY_BYTES", 0)
    circuit = Circuit(1, 3)
    for bit in range(3):
        circuit.h(0).measure(0, bit).reset(0)
    with pytest.raises(SimulationError, match="mid-circuit measurements produced 8 distinct classical records, more than the 4"):
        simulate(circuit)


def test_result_repr_and_table():
    result = simulate(Circuit(1).x(0).measure_all(), shots=3, seed=0)
    assert repr(result) == "Result(<1 qubit(s), 1 outcome(s), shots=3>)"
    assert result.df().to_dict("list") == {"outcome": ["1"], "probability": [1.0], "counts": [3]}


@pytest.mark.parametrize("shots", [None, 200])
def test_result_plot_draws_one_bar_per_outcome_on_the_given_axes(shots):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    result = simulate(Circuit(2).h(0).cx(0, 1).measure_all(), shots=shots, seed=3)
    assert result.plot(ax=ax) is ax
    assert [t.get_text() for t in ax.get_xticklabels()] == ["00", "11"]
    assert ax.get_ylabel() == ("probability" if shots is None else "counts")
    assert sum(bar.get_height() for bar in ax.patches) == pytest.approx(1.0 if shots is None else shots)
    plt.close(fig)


def test_counts_need_shots():
    with pytest.raises(SimulationError, match="This result has no shots"):
        simulate(Circuit(1).h(0).measure_all()).counts


def test_qubits_only_measured_at_the_end_are_not_simulated():
    circuit = Circuit(20).h(0).cx(0, 1).measure_all()
    result = simulate(circuit, shots=100, seed=2)
    assert result.simulated_qubits == (0, 1)
    assert result.probabilities == pytest.approx({"11" + "0" * 18: 0.5, "00" + "0" * 18: 0.5})


def test_measured_only_qubits_keep_their_measure_error_idle_noise_and_readout():
    pump = np.sqrt(2e5) * np.array([[0, 0], [1, 0]])  # drives |0> towards |1> while the qubit waits
    spec = ref.NoiseSpec(
        gate_errors={("measure", (2,)): ref.PauliChannel({"X": 0.1})},
        readout={1: (0.05, 0.0)},
        idle={3: ref.IdleLindblad(None, (pump,))},
        durations={("rx", None): 2e-6},
    )
    circuit = Circuit(4).rx(0.7, 0).measure_all()
    result = simulate(circuit, spec.to_noise_model())
    assert result.simulated_qubits == (0,)
    assert_probabilities_close(result.probabilities, schedule.simulate(circuit, spec).probabilities)


def test_a_set_stop_event_stops_the_run_between_steps():
    import threading

    from qlab.exceptions import SimulationStopped
    from qlab.sim.engine import run_program
    from qlab.sim.program import lower

    stop = threading.Event()
    stop.set()
    with pytest.raises(SimulationStopped, match="stopped before it finished"):
        run_program(lower(Circuit(2).h(0).cx(0, 1)), stop)


# ------------------------------------------------- the reference's own physics
def test_reference_lindblad_matches_closed_form_relaxation():
    t1, t2, t = 40e-6, 30e-6, 13e-6
    gamma_phi = 1 / t2 - 1 / (2 * t1)
    ops = (np.sqrt(1 / t1) * qutip.destroy(2).full(), np.sqrt(gamma_phi / 2) * qutip.sigmaz().full())
    rho = qutip.Qobj(np.array([[0.3, 0.2 - 0.4j], [0.2 + 0.4j, 0.7]]))
    got = sum(k * rho * k.dag() for k in ref.lindblad_kraus(None, ops, t))
    want = sum(k * rho * k.dag() for k in ref.ThermalRelaxation(t1, t2, t).kraus())
    np.testing.assert_allclose(got.full(), want.full(), atol=1e-12)


def test_reference_lindblad_hamiltonian_rotates_the_right_way():
    """drho/dt = -i[H, rho] with H = (w/2) X turns |0> into rx(w t)|0>."""
    w, t = 2.0, 0.7
    kraus = ref.lindblad_kraus(0.5 * w * qutip.sigmax().full(), (), t)
    psi = ref.gate_unitary("rx", (w * t,)) @ np.array([1, 0])
    rho = sum(k * qutip.fock_dm(2, 0) * k.dag() for k in kraus)
    np.testing.assert_allclose(rho.full(), np.outer(psi, psi.conj()), atol=1e-12)

# ------------------------------------------------- sampling at scale, key orders
def ghz(n: int) -> Circuit:
    circuit = Circuit(n).h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    return circuit.measure_all()


def test_a_million_shots_are_one_multinomial_draw():
    result = simulate(ghz(12), shots=1_000_000, seed=5)
    counts = result.counts
    assert set(counts) == {"0" * 12, "1" * 12} and sum(counts.values()) == 1_000_000
    assert counts == dict(zip(result.probabilities, np.random.default_rng(5).multinomial(1_000_000, [0.5, 0.5]).tolist()))
    assert result._memory is None  # the per-shot record is not built unless asked


def test_memory_is_the_counts_in_a_reproducible_random_order():
    result = simulate(ghz(3), shots=1000, seed=11)
    memory = result.memory
    assert len(memory) == 1000 and {k: memory.count(k) for k in set(memory)} == result.counts
    assert memory == simulate(ghz(3), shots=1000, seed=11).memory
    assert memory[:20] != sorted(memory[:20])  # not grouped by outcome


def test_counts_in_qiskit_order_follow_qiskit_convention():
    # Qiskit: the key is written right to left by classical bit (bit 0 rightmost), and registers
    # appear in reverse order of declaration, separated by spaces. Here register a = (a0, a1, a2)
    # records (1, 0, 0) and register b = (b0, b1) records (0, 1): Qiskit's key is "b1 b0 a2 a1 a0" = "10 001".
    circuit = Circuit(5)
    a, b = circuit.add_creg("a", 3), circuit.add_creg("b", 2)
    circuit.x(0).x(4).measure([0, 1, 2], list(a)).measure([3, 4], list(b))
    result = simulate(circuit, shots=7)
    assert result.counts == {"100 01": 7}
    assert result.counts_qiskit() == {"10 001": 7}
    assert simulate(Circuit(3).x(0).measure_all(), shots=4).counts_qiskit() == {"001": 4}


def test_records_wider_than_an_integer_code_keep_their_keys():
    circuit = Circuit(2, 70).h(0).measure(0, 3).x(1).measure(1, 69)
    expected = {"0" * 69 + "1": 0.5, "0" * 3 + "1" + "0" * 65 + "1": 0.5}
    assert simulate(circuit).probabilities == pytest.approx(expected)
    assert list(simulate(circuit).probabilities) == sorted(expected)
