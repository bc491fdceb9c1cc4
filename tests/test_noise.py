"""Noise models (qlab.sim.noise): builders, look-ups, composition, calibration and idle noise."""

from __future__ import annotations

import dataclasses
import math
from itertools import product

import numpy as np
import pytest
import qutip

import qlab
import qlab.circuit
import qlab.sim as qs
import reference as ref
import reference_schedule as schedule
from qlab import Circuit, NoiseModel, simulate
from qlab.exceptions import SimulationError
from qlab.circuit import gate_matrix
from qlab.exceptions import NoiseModelError, QlabTypeError
from qlab.sim import IdleNoise, ReadoutError
from qlab.sim.noise import NoiseModelWarning
from qlab.testing import assert_states_close

GATES_ARITY = {name: gate.num_qubits for name, gate in qlab.circuit.GATES.items()}
DEP = qs.depolarizing(0.1)
AD = qs.amplitude_damping(0.2)
PREPARATIONS = {
    "0": np.eye(2),
    "1": qutip.sigmax().full(),
    "+": gate_matrix("h"),
    "+i": gate_matrix("s") @ gate_matrix("h"),
}


# --------------------------------------------------------------- helpers
def engine_process(name: str, qubits: tuple[int, ...], noise: NoiseModel) -> np.ndarray:
    """The superoperator the engine applies for ``name`` on ``qubits``, by process tomography.

    Inputs are prepared with user unitaries (which ``noise`` leaves ideal)
    on the product states ``|0>, |1>, |+>, |+i>``; outputs are read with
    ``result.state``; the superoperator follows by linear inversion.
    """
    k = len(qubits)
    inputs, outputs = [], []
    for labels in product(PREPARATIONS, repeat=k):
        circuit = Circuit(max(qubits) + 1)
        for q, label in zip(qubits, labels):
            circuit.unitary(PREPARATIONS[label], q)
        circuit.append(name, qubits)
        result = simulate(circuit, noise)
        order = [result.qubits.index(q) for q in qubits]
        out = result.state.partial_trace(order).matrix
        kets = [PREPARATIONS[label][:, 0] for label in labels]
        psi = kets[0]
        for ket in kets[1:]:
            psi = np.kron(psi, ket)
        inputs.append(np.outer(psi, psi.conj()).reshape(-1, order="F"))
        outputs.append(out.reshape(-1, order="F"))
    return np.array(outputs).T @ np.linalg.inv(np.array(inputs).T)


def average_gate_fidelity(superop: np.ndarray, unitary: np.ndarray) -> float:
    """``(d F_pro + 1) / (d + 1)`` of a process against a target unitary."""
    d = unitary.shape[0]
    target = np.kron(unitary.conj(), unitary)
    f_pro = np.trace(target.conj().T @ superop).real / d**2
    return (d * f_pro + 1) / (d + 1)


class Device:
    """Anything with ``calibration()``."""

    def calibration(self):
        return {"t1": [50e-6], "t2": [40e-6], "gate_durations": {"x": 30e-9}, "gate_fidelities": {"x": 0.999}}


# -------------------------------------------------------------- builders
def test_with_methods_return_new_models():
    base = NoiseModel()
    nm = base.with_gate_error("x", DEP)
    assert base.is_ideal and not nm.is_ideal
    assert nm.gate_error("x", (0,)) == DEP
    assert base.gate_error("x", (0,)) is None
    assert nm.with_duration("x", 1e-8).duration("x", (0,)) == 1e-8
    assert nm.duration("x", (0,)) == 0.0


def test_models_are_frozen_and_their_mappings_read_only():
    nm = NoiseModel().with_gate_error("x", DEP)
    with pytest.raises(dataclasses.FrozenInstanceError):
        nm.gate_errors = {}
    with pytest.raises(TypeError, match="does not support item assignment"):
        nm.gate_errors[("y", None)] = DEP
    source = {("x", None): DEP}
    built = NoiseModel(gate_errors=source)
    source[("y", None)] = DEP
    assert ("y", None) not in built.gate_errors


def test_gate_error_for_several_gates_and_qubit_forms():
    nm = NoiseModel().with_gate_error(["x", "h"], DEP).with_gate_error("cx", AD, qubits=(1, 0)).with_gate_error("z", AD, qubits=2)
    assert nm.gate_error("h", (5,)) == DEP and nm.gate_error("x", (0,)) == DEP
    assert nm.gate_error("cx", (1, 0)) == AD and nm.gate_error("cx", (0, 1)) is None
    assert nm.gate_error("z", (2,)) == AD and nm.gate_error("z", (1,)) is None
    assert set(nm.gate_errors) == {("x", None), ("h", None), ("cx", (1, 0)), ("z", (2,))}


def test_exact_qubits_take_precedence_over_any_qubits():
    nm = NoiseModel().with_gate_error("x", DEP).with_gate_error("x", AD, qubits=[3])
    assert nm.gate_error("x", (3,)) == AD
    assert nm.gate_error("x", (2,)) == DEP
    timed = NoiseModel().with_duration("x", 1e-8).with_duration("x", 5e-8, qubits=3)
    assert timed.duration("x", (3,)) == 5e-8 and timed.duration("x", (0,)) == 1e-8
    idle_a, idle_b = IdleNoise.from_t1_t2(1e-5, 1e-5), IdleNoise.from_t1_t2(2e-5, 1e-5)
    idle = NoiseModel().with_idle_noise(idle_a).with_idle_noise(idle_b, qubits=[1, 2])
    assert idle.idle_noise(1) == idle_b and idle.idle_noise(2) == idle_b and idle.idle_noise(0) == idle_a
    readout = NoiseModel().with_readout_error(ReadoutError(0.1)).with_readout_error(ReadoutError(0.2), qubits=0)
    assert readout.readout_error(0) == ReadoutError(0.2) and readout.readout_error(4) == ReadoutError(0.1)


def test_adding_an_error_twice_composes_in_order():
    nm = NoiseModel().with_gate_error("x", DEP).with_gate_error("x", AD)
    assert nm.gate_error("x", (0,)) == DEP.then(AD)


def test_is_ideal_and_has_timing():
    assert NoiseModel().is_ideal
    assert NoiseModel().with_duration("x", 1e-8).is_ideal
    assert not NoiseModel().with_readout_error(ReadoutError(0.1)).is_ideal
    idle = NoiseModel().with_idle_noise(IdleNoise.from_t1_t2(1e-5, 1e-5))
    assert idle.has_timing
    assert not NoiseModel().with_duration("x", 1e-8).has_timing


def test_repr_reads_like_the_calls():
    nm = (
        NoiseModel()
        .with_gate_error("x", qs.depolarizing(0.1), qubits=0)
        .with_gate_error("cx", qs.depolarizing(0.01, 2), qubits=(0, 1))
        .with_idle_noise(IdleNoise.from_t1_t2(5e-05, 4e-05))
        .with_readout_error(ReadoutError(0.01, 0.02), qubits=1)
        .with_duration("x", 3e-08)
    )
    assert eval(repr(nm), {**vars(qs), "NoiseModel": NoiseModel}) == nm


@pytest.mark.parametrize(
    "build,error,match",
    [
        (lambda: NoiseModel().with_gate_error("x", "depolarizing"), QlabTypeError, "with_gate_error: expected a Channel, got str"),
        (lambda: NoiseModel().with_idle_noise(DEP), QlabTypeError, "with_idle_noise: expected an IdleNoise, got Channel"),
        (lambda: NoiseModel().with_readout_error(0.1), QlabTypeError, "with_readout_error: expected a ReadoutError, got float"),
        (lambda: NoiseModel().with_duration("x", -1e-9), NoiseModelError, r"the duration of \('x', None\) must be a finite number >= 0 seconds, got -1e-09"),
        (lambda: NoiseModel().with_duration("x", math.inf), NoiseModelError, "must be a finite number >= 0 seconds, got inf"),
        (lambda: NoiseModel().with_duration("x", math.nan), NoiseModelError, "must be a finite number >= 0 seconds, got nan"),
        (lambda: NoiseModel().with_duration("x", "1"), NoiseModelError, "must be a finite number >= 0 seconds, got '1'"),
        (lambda: NoiseModel().with_gate_error("cx", qs.depolarizing(0.1, 2), qubits=(0, 1, 2)), NoiseModelError,
         r"depolarizing\(0.1, 2\) acts on 2 qubit\(s\) but 'cx' on \(0, 1, 2\) acts on 3; use a 1- or 3-qubit channel"),
        (lambda: NoiseModel(gate_errors={("x", None): 0.1}), QlabTypeError, r"the error for \('x', None\) must be a Channel, got float"),
    ],
)
def test_builders_reject_bad_input(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_a_two_qubit_error_on_a_one_qubit_gate_is_rejected():
    with pytest.raises(NoiseModelError, match="acts on 2 qubit"):
        NoiseModel().with_gate_error(["x", "cx"], qs.depolarizing(0.1, 2))


def test_a_user_gate_error_of_the_wrong_width_is_rejected_when_simulating():
    nm = NoiseModel().with_gate_error("unitary", qs.depolarizing(0.1, 2))
    with pytest.raises(SimulationError, match=r"acts on 2 qubits; it must act on 1 or 3"):
        simulate(Circuit(3).unitary(np.eye(8), [0, 1, 2]), nm)


def test_unknown_gate_names_are_refused():
    with pytest.raises(NoiseModelError, match="Unknown gate 'hadamard' in a noise model"):
        NoiseModel().with_gate_error("hadamard", qs.depolarizing(0.1))


@pytest.mark.parametrize("alias,name", [("cu1", "cp"), ("CX", "cx"), ("U", "u3"), ("u1", "p"), ("cnot", "cx"), ("cu3", "cu")])
def test_qasm_spellings_are_noise_model_keys(alias, name):
    channel = qs.depolarizing(0.1, GATES_ARITY[name])
    assert NoiseModel().with_gate_error(alias, channel).gate_error(name, tuple(range(GATES_ARITY[name]))) == channel
    assert NoiseModel().with_duration(alias, 1e-7).duration(name, tuple(range(GATES_ARITY[name]))) == 1e-7


def test_cu1_noise_acts_on_a_cu1_gate_read_from_qasm():
    circuit = qlab.load_qasm('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; cu1(0.3) q[0], q[1]; measure q -> c;')
    probabilities = simulate(circuit, NoiseModel().with_gate_error("cu1", qs.pauli_channel({"XI": 0.25}))).probabilities
    assert probabilities == pytest.approx({"00": 0.75, "10": 0.25}, abs=1e-12)


def test_errors_of_different_sizes_on_one_gate_follow_each_other():
    both = NoiseModel().with_gate_error("cx", qs.depolarizing(0.1)).with_gate_error("cx", qs.depolarizing(0.2, 2))
    expected = qs.depolarizing(0.1).tensor(qs.depolarizing(0.1)).then(qs.depolarizing(0.2, 2))
    assert both.gate_error("cx", (0, 1)) == expected
    reverse = NoiseModel().with_gate_error("cx", qs.depolarizing(0.2, 2)).with_gate_error("cx", AD)
    assert reverse.gate_error("cx", (0, 1)) == qs.depolarizing(0.2, 2).then(AD.tensor(AD))


def test_composing_a_device_model_with_a_one_qubit_error_on_its_two_qubit_gate():
    device = NoiseModel.from_calibration([1e-4] * 2, [1e-4] * 2, {"cx": 3e-7}, {"cx": 0.99}, coupling_map=[(0, 1)])
    composed = device | NoiseModel().with_gate_error("cx", qs.amplitude_damping(0.02))
    damping = qs.amplitude_damping(0.02)
    assert composed.gate_error("cx", (0, 1)) == device.gate_error("cx", (0, 1)).then(damping.tensor(damping))
    assert composed.gate_error("cx", (1, 0)) == damping


def test_errors_of_different_sizes_on_a_user_unitary_need_its_qubits():
    with pytest.raises(NoiseModelError, match=r"cannot follow .* on 'unitary' on any qubits: the gate's size is unknown"):
        NoiseModel().with_gate_error("unitary", qs.depolarizing(0.1)).with_gate_error("unitary", qs.depolarizing(0.1, 2))
    nm = NoiseModel().with_gate_error("unitary", DEP, qubits=(0, 1)).with_gate_error("unitary", qs.depolarizing(0.1, 2), qubits=(0, 1))
    assert nm.gate_error("unitary", (0, 1)).num_qubits == 2


def test_gate_aliases_name_the_same_gate():
    nm = NoiseModel().with_gate_error("cnot", qs.depolarizing(0.1, 2))
    assert nm.gate_error("cx", (0, 1)) == qs.depolarizing(0.1, 2)
    p = 0.1  # rho -> (1 - p) rho + p I/4 on |00><00|: purity (1 - 3p/4)^2 + 3 (p/4)^2
    assert simulate(Circuit(2).cx(0, 1), nm).state.purity() == pytest.approx((1 - 3 * p / 4) ** 2 + 3 * (p / 4) ** 2)


def test_cu1_is_a_noise_model_key_for_the_controlled_phase_as_in_qasm():
    nm = NoiseModel().with_gate_error("cu1", qs.depolarizing(0.1, 2))
    assert nm.gate_error("cp", (0, 1)) == qs.depolarizing(0.1, 2)
    assert nm.gate_error("cp", (1, 0)) == qs.depolarizing(0.1, 2)


# ---------------------------------------------------------------- compose
def test_compose_follows_gate_and_readout_errors_and_merges_the_rest():
    a = NoiseModel().with_gate_error("x", DEP).with_readout_error(ReadoutError(0.1)).with_duration("x", 1e-8)
    b = NoiseModel().with_gate_error("x", AD).with_gate_error("h", AD).with_readout_error(ReadoutError(0.0, 0.2))
    both = a | b
    assert both == a.compose(b)
    assert both.gate_error("x", (0,)) == DEP.then(AD)
    assert both.gate_error("h", (0,)) == AD
    assert both.readout_error(0) == ReadoutError(0.1).then(ReadoutError(0.0, 0.2))
    assert both.duration("x", (0,)) == 1e-8


def test_compose_adds_idle_generators():
    t1, t2 = 30e-6, 20e-6
    decay = IdleNoise(None, [np.sqrt(1 / t1) * qutip.destroy(2).full()])
    dephase = IdleNoise(None, [np.sqrt((1 / t2 - 1 / (2 * t1)) / 2) * qutip.sigmaz().full()])
    both = NoiseModel().with_idle_noise(decay) | NoiseModel().with_idle_noise(dephase)
    assert both.idle_noise(0).channel(5e-6) == qs.thermal_relaxation(t1, t2, 5e-6)


def test_compose_rejects_disagreeing_durations():
    with pytest.raises(NoiseModelError, match=r"compose: the models disagree on the duration of \('x', None\): 1e-08 vs 2e-08"):
        NoiseModel().with_duration("x", 1e-8) | NoiseModel().with_duration("x", 2e-8)


def test_compose_keeps_any_qubit_errors_under_exact_qubit_errors():
    both = NoiseModel().with_gate_error("x", DEP) | NoiseModel().with_gate_error("x", AD, qubits=0)
    assert both.gate_error("x", (0,)) == DEP.then(AD)


# ------------------------------------------------------------- idle noise
@pytest.mark.parametrize("duration", [0.0, 1e-7, 3e-6, 1e-4])
def test_idle_noise_from_t1_t2_is_thermal_relaxation(duration):
    assert IdleNoise.from_t1_t2(50e-6, 30e-6).channel(duration) == qs.thermal_relaxation(50e-6, 30e-6, duration)
    assert IdleNoise.from_t1_t2(50e-6, 100e-6).channel(duration) == qs.thermal_relaxation(50e-6, 100e-6, duration)


def test_idle_noise_from_a_lindbladian_is_the_lindblad_channel():
    h = qutip.rand_herm(2, seed=3)
    c_ops = [0.3 * qutip.destroy(2)]
    assert IdleNoise(h, c_ops).channel(2.5) == qs.lindblad(h, c_ops, 2.5)


def test_idle_noise_in_a_circuit_matches_the_reference():
    noise = NoiseModel().with_idle_noise(IdleNoise.from_t1_t2(40e-6, 50e-6), qubits=1)
    circuit = Circuit(2).h(0).h(1).delay(7, [0, 1], unit="us")
    spec = ref.NoiseSpec(idle={1: ref.IdleT1T2(40e-6, 50e-6)})
    assert_states_close(simulate(circuit, noise).state, schedule.simulate(circuit, spec).state, atol=1e-12)


@pytest.mark.parametrize(
    "build,error,match",
    [
        (lambda: IdleNoise.from_t1_t2(1e-5, 3e-5), NoiseModelError, "IdleNoise.from_t1_t2: t2 must be <= 2\\*t1, got t1=1e-05, t2=3e-05"),
        (lambda: IdleNoise.from_t1_t2(0, 1e-5), NoiseModelError, "t1 and t2 must be positive numbers, got t1=0, t2=1e-05"),
        (lambda: IdleNoise.from_t1_t2("1", 1e-5), NoiseModelError, "t1 and t2 must be positive numbers"),
        (lambda: IdleNoise.from_t1_t2(1e-5, 1e-5).channel(-1.0), NoiseModelError, "IdleNoise: duration must be >= 0, got -1.0"),
        (lambda: IdleNoise(None, [qutip.tensor(qutip.destroy(2), qutip.qeye(2))]), NoiseModelError,
         "IdleNoise acts on one qubit; the operators given act on 2 qubits"),
    ],
)
def test_idle_noise_rejects_bad_input(build, error, match):
    with pytest.raises(error, match=match):
        build()


# ------------------------------------------------------------ calibration
T1 = [80e-6, 60e-6, 100e-6]
T2 = [60e-6, 90e-6, 30e-6]
DURATIONS = {"sx": 35e-9, "x": 35e-9, "cx": {(0, 1): 300e-9, (1, 2): 450e-9}, "measure": 1e-6}
FIDELITIES = {"sx": 0.9995, "x": 0.999, "cx": {(0, 1): 0.99, (1, 2): 0.985}}


def calibrated() -> NoiseModel:
    return NoiseModel.from_calibration(T1, T2, DURATIONS, FIDELITIES, readout_fidelities=[0.98, 0.95, 0.97])


@pytest.mark.parametrize(
    "name,qubits,fidelity",
    [("sx", (0,), 0.9995), ("x", (2,), 0.999), ("cx", (0, 1), 0.99), ("cx", (1, 2), 0.985)],
)
def test_simulated_gate_has_the_calibrated_average_gate_fidelity(name, qubits, fidelity):
    nm = calibrated()
    process = engine_process(name, qubits, nm)
    assert average_gate_fidelity(process, gate_matrix(name)) == pytest.approx(fidelity, abs=1e-9)
    assert nm.gate_error(name, qubits).average_gate_fidelity() == pytest.approx(fidelity, abs=1e-12)


def test_calibrated_gate_error_includes_relaxation_over_the_gate():
    nm = calibrated()
    error = nm.gate_error("cx", (1, 2))
    relaxation = qs.thermal_relaxation(T1[1], T2[1], 450e-9).tensor(qs.thermal_relaxation(T1[2], T2[2], 450e-9))
    keep = (error.ptm[5, 5]) / relaxation.ptm[5, 5]
    assert error == relaxation.then(qs.depolarizing(1 - keep, 2))
    assert nm.duration("cx", (1, 2)) == 450e-9 and nm.duration("measure", (2,)) == 1e-6


@pytest.mark.filterwarnings("ignore:The noise model has idle noise")
def test_calibrated_readout_flips_each_outcome_with_one_minus_fidelity():
    nm = calibrated()
    circuit = Circuit(3).unitary(qutip.sigmax().full(), 1).measure_all()
    probabilities = simulate(circuit, nm).probabilities
    assert probabilities["010"] == pytest.approx(0.98 * 0.95 * 0.97, abs=1e-12)
    assert probabilities["000"] == pytest.approx(0.98 * 0.05 * 0.97, abs=1e-12)
    assert nm.readout_error(1) == ReadoutError.symmetric(0.05)


@pytest.mark.parametrize("qubit", range(3))
def test_calibrated_idle_noise_is_thermal_relaxation(qubit):
    assert calibrated().idle_noise(qubit).channel(2e-6) == qs.thermal_relaxation(T1[qubit], T2[qubit], 2e-6)


def test_calibration_uses_the_coupling_map_and_all_pairs_by_default():
    everywhere = NoiseModel.from_calibration([1e-4] * 3, [1e-4] * 3, {"cx": 1e-7}, {"cx": 0.99})
    assert {q for (name, q) in everywhere.gate_errors} == {(a, b) for a in range(3) for b in range(3) if a != b}
    line = NoiseModel.from_calibration([1e-4] * 3, [1e-4] * 3, {"cx": 1e-7}, {"cx": 0.99}, coupling_map=[(0, 1), (1, 2)])
    assert set(line.gate_errors) == {("cx", (0, 1)), ("cx", (1, 2))}
    assert line.duration("cx", (1, 2)) == 1e-7 and line.duration("cx", (2, 1)) == 0.0


@pytest.mark.parametrize("name,params", [("cz", ()), ("rzz", (0.7,)), ("cp", (0.3,)), ("swap", ())])
def test_symmetric_gates_get_their_calibration_in_both_orientations(name, params):
    t1, t2 = [60e-6, 90e-6, 70e-6], [50e-6, 40e-6, 100e-6]
    durations = {name: {(1, 2): 400e-9}}
    fidelities = {name: {(1, 2): 0.985}}
    nm = NoiseModel.from_calibration(t1, t2, durations, fidelities, coupling_map=[(1, 2)])
    assert nm.duration(name, (2, 1)) == nm.duration(name, (1, 2)) == 400e-9
    # the reversed pair's error: relaxation of qubit 2 (first factor) and 1 over the gate, by hand
    error = nm.gate_error(name, (2, 1))
    relaxation = qs.thermal_relaxation(t1[2], t2[2], 400e-9).tensor(qs.thermal_relaxation(t1[1], t2[1], 400e-9))
    keep = error.ptm[5, 5] / relaxation.ptm[5, 5]
    assert error == relaxation.then(qs.depolarizing(1 - keep, 2))
    process = engine_process(name, (2, 1), nm) if not params else None
    if process is not None:
        assert average_gate_fidelity(process, gate_matrix(name)) == pytest.approx(0.985, abs=1e-9)


def test_symmetric_gate_keeps_a_calibration_given_for_each_orientation():
    nm = NoiseModel.from_calibration([1e-4] * 2, [1e-4] * 2, {}, {"cz": {(0, 1): 0.99, (1, 0): 0.98}})
    assert nm.gate_error("cz", (1, 0)).average_gate_fidelity() == pytest.approx(0.98, abs=1e-12)
    assert nm.gate_error("cz", (0, 1)).average_gate_fidelity() == pytest.approx(0.99, abs=1e-12)


def test_asymmetric_gates_keep_their_orientation():
    nm = NoiseModel.from_calibration([1e-4] * 2, [1e-4] * 2, {"crx": 1e-7}, {"crx": 0.99}, coupling_map=[(0, 1)])
    assert nm.gate_error("crx", (1, 0)) is None and nm.duration("crx", (1, 0)) == 0.0


def test_a_site_with_t1_but_no_t2_relaxes_without_extra_dephasing():
    nm = NoiseModel.from_calibration([50e-6], [math.inf], {"x": 100e-9}, {"x": 0.999})
    # T2 = 2 T1: the coherence decays at exactly half the population rate (Lindblad with only sigma_minus)
    rho = qutip.Qobj(nm.idle_noise(0).channel(10e-6).to_superop() @ qutip.operator_to_vector(qutip.ket2dm(
        (qutip.basis(2, 0) + qutip.basis(2, 1)).unit())).full(), dims=[[[2], [2]], [1]])
    rho = qutip.vector_to_operator(rho).full()
    assert abs(rho[1, 1]) == pytest.approx(0.5 * math.exp(-10 / 50), abs=1e-12)
    assert abs(rho[0, 1]) == pytest.approx(0.5 * math.exp(-10 / 100), abs=1e-12)
    assert nm.gate_error("x", (0,)).average_gate_fidelity() == pytest.approx(0.999, abs=1e-12)


def test_a_site_without_t1_and_t2_has_no_idle_noise():
    nm = NoiseModel.from_calibration([math.inf, 50e-6], [math.inf, 30e-6], {}, {"x": 0.999})
    assert nm.idle_noise(0) is None and nm.idle_noise(1) == IdleNoise.from_t1_t2(50e-6, 30e-6)


def test_calibration_warns_once_when_relaxation_alone_is_worse_than_the_fidelity():
    with pytest.warns(NoiseModelWarning, match=r"relaxation alone gives 3 gate\(s\) a fidelity below the calibrated one") as caught:
        nm = NoiseModel.from_calibration([1e-6] * 3, [1e-6] * 3, {"x": 1e-7}, {"x": 0.9999})
    assert len(caught) == 1 and caught[0].filename == __file__
    assert "x on (0,) (F=0.9999)" in str(caught[0].message)
    assert nm.gate_error("x", (0,)) == qs.thermal_relaxation(1e-6, 1e-6, 1e-7)


def test_from_device_reads_calibration():
    nm = NoiseModel.from_device(Device())
    assert nm.gate_error("x", (0,)).average_gate_fidelity() == pytest.approx(0.999, abs=1e-12)
    with pytest.raises(QlabTypeError, match="NoiseModel.from_device: expected a device description with calibration\\(\\), got str"):
        NoiseModel.from_device("ibm")


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"t2": [1e-4]}, "from_calibration: t1 has 2 entries but t2 has 1"),
        ({"readout_fidelities": [0.9]}, "from_calibration: 1 readout fidelities for 2 qubits"),
        ({"readout_fidelities": [0.9, 0.4]}, r"readout fidelity of qubit 1 must be in \[0.5, 1\], got 0.4"),
        ({"gate_fidelities": {"x": 1.2}}, r"the fidelity of 'x' on \(0,\) must be in \(0, 1\], got 1.2"),
        ({"gate_fidelities": {"x": 0.0}}, r"must be in \(0, 1\], got 0.0"),
        ({"gate_fidelities": {"cx": {(0,): 0.9}}}, r"gate_fidelities\['cx'\] has key \(0,\); expected 2 qubit\(s\) in 0..1"),
        ({"gate_fidelities": {"cx": {(0, 5): 0.9}}}, r"has key \(0, 5\); expected 2 qubit\(s\) in 0..1"),
        ({"gate_fidelities": {"ccx": 0.9}}, r"give gate_fidelities\['ccx'\] per qubit tuple for a 3-qubit gate"),
        ({"t2": [1e-4, 3e-4]}, "IdleNoise.from_t1_t2: t2 must be <= 2\\*t1"),
    ],
)
def test_calibration_rejects_bad_input(kwargs, match):
    args = {"t1": [1e-4, 1e-4], "t2": [1e-4, 1e-4], "gate_durations": {}, "gate_fidelities": {"x": 0.99}, **kwargs}
    with pytest.raises(NoiseModelError, match=match):
        NoiseModel.from_calibration(**args)


def test_calibration_rejects_an_unreachable_fidelity():
    with pytest.raises(NoiseModelError, match="fidelity"):
        NoiseModel.from_calibration([1e-4], [1e-4], {}, {"x": 0.2})


# ------------------------------------------------------------- warnings
def device_model() -> NoiseModel:
    gates = {"rz": 0.9999, "rx": 0.999, "ry": 0.999, "cx": 0.99}
    return NoiseModel.from_calibration([1e-4] * 3, [8e-5] * 3, {"rx": 5e-8, "ry": 5e-8, "cx": 3e-7}, gates,
                                       coupling_map=[(0, 1), (1, 2)])


def test_gates_without_noise_are_named_in_one_warning_at_the_users_line():
    circuit = Circuit(3).h(0).h(1).cx(0, 1).cx(2, 1).rx(0.3, 2).measure_all()
    with pytest.warns(NoiseModelWarning, match=r"gives no error to some gates.*: h on 0, 1; cx on \(2, 1\)\.") as caught:
        simulate(circuit, device_model())
    assert len(caught) == 1 and caught[0].filename == __file__


def test_a_model_without_errors_for_a_size_of_gate_does_not_warn_about_it(recwarn):
    simulate(Circuit(2).h(0).cx(0, 1).measure_all(), NoiseModel().with_gate_error("cx", qs.depolarizing(0.01, 2)))
    simulate(Circuit(2).h(0).cx(0, 1).unitary(np.eye(2), 0).measure_all(), NoiseModel().with_gate_error("h", DEP))
    assert not [w for w in recwarn if issubclass(w.category, NoiseModelWarning)]


def test_idle_noise_that_never_acts_warns_once():
    noise = NoiseModel().with_idle_noise(IdleNoise.from_t1_t2(1e-5, 1e-5))
    with pytest.warns(NoiseModelWarning, match="has idle noise, but no instruction of this circuit takes time") as caught:
        simulate(Circuit(3).x(0).x(1).cx(0, 2).measure_all(), noise)
    assert len(caught) == 1 and caught[0].filename == __file__


def test_idle_noise_with_delays_or_durations_does_not_warn(recwarn):
    noise = NoiseModel().with_idle_noise(IdleNoise.from_t1_t2(1e-5, 1e-5))
    simulate(Circuit(1).x(0).delay(1, 0, unit="us").measure_all(), noise)
    simulate(Circuit(2).x(0).x(1).measure_all(), noise.with_duration("x", 1e-7))
    assert not [w for w in recwarn if issubclass(w.category, NoiseModelWarning)]
