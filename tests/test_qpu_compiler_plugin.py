"""CompilerPlugin: jobs compiled for a QPU's coupling and gate set answer the original question.

The reference is a dense NumPy statevector of the *uncompiled* circuit built from
textbook gate matrices (qubit 0 most significant), independent of qlab's engine
and compiler.
"""

from __future__ import annotations

from functools import reduce

import numpy as np
import pytest

from qlab import Circuit
from qlab.exceptions import CompilerError, QPUDataError
from qlab.qpu import Batch, CompilerPlugin, DensityMatrixQPU, HardwareSpecs, Job, Observable, ObservableSplitter

LINE4 = HardwareSpecs(nbqbits=4, topology=((0, 1), (1, 2), (2, 3)), gate_set=("rz", "sx", "x", "cz"))
GRID2x2 = HardwareSpecs(nbqbits=4, topology=((0, 1), (0, 2), (1, 3), (2, 3)), gate_set=("u3", "cx"))

_H = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
_X = np.array([[0, 1], [1, 0]])
_Y = np.array([[0, -1j], [1j, 0]])
_Z = np.diag([1, -1])
_PAULI = {"I": np.eye(2), "X": _X, "Y": _Y, "Z": _Z}


def _ry(theta):
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    return np.array([[c, -s], [s, c]])


def _rz(theta):
    return np.diag([np.exp(-0.5j * theta), np.exp(0.5j * theta)])


def statevector(n: int, gates) -> np.ndarray:
    """``gates``: (matrix, qubits) in order; a controlled gate is (target matrix, (control, target))."""
    psi = np.zeros((2,) * n, dtype=complex)
    psi[(0,) * n] = 1
    for matrix, qubits in gates:
        if len(qubits) == 1:
            psi = np.moveaxis(np.tensordot(matrix, psi, axes=([1], [qubits[0]])), 0, qubits[0])
        else:
            control, target = qubits
            index = [slice(None)] * n
            index[control] = 1
            sub = psi[tuple(index)]
            axis = target - (target > control)
            psi[tuple(index)] = np.moveaxis(np.tensordot(matrix, sub, axes=([1], [axis])), 0, axis)
    return psi.reshape(-1)


def marginal(psi: np.ndarray, n: int, qubits) -> dict[str, float]:
    p = np.abs(psi.reshape((2,) * n)) ** 2
    p = p.sum(axis=tuple(q for q in range(n) if q not in qubits))
    kept = sorted(qubits)
    p = np.transpose(p, [kept.index(q) for q in qubits])
    return {format(i, f"0{len(qubits)}b"): float(v) for i, v in enumerate(p.reshape(-1)) if v > 1e-12}


def expectation(psi: np.ndarray, pauli: dict[str, float], constant: float) -> float:
    op = sum(c * reduce(np.kron, [_PAULI[ch] for ch in p]) for p, c in pauli.items())
    return float(np.real(np.vdot(psi, op @ psi))) + constant


# The same program twice: as a qlab circuit and as textbook matrices. Its
# two-qubit gates act on pairs that neither a line nor a 2x2 grid couples.
THETA = (0.7, 1.9, -0.4)


def program() -> Circuit:
    return (Circuit(4).h(0).ry(THETA[0], 3).cx(0, 3).ry(THETA[1], 1).cz(1, 3).cx(2, 0)
            .rz(THETA[2], 0).h(2).cx(3, 1).cx(0, 2))


def program_state() -> np.ndarray:
    return statevector(4, [(_H, (0,)), (_ry(THETA[0]), (3,)), (_X, (0, 3)), (_ry(THETA[1]), (1,)), (_Z, (1, 3)),
                           (_X, (2, 0)), (_rz(THETA[2]), (0,)), (_H, (2,)), (_X, (3, 1)), (_X, (0, 2))])


class SpecsQPU(DensityMatrixQPU):
    """An ideal simulator that states a coupling and gate set, and keeps the jobs it ran."""

    def __init__(self, specs: HardwareSpecs, **kwargs):
        super().__init__(**kwargs)
        self.specs = specs
        self.ran: list[Job] = []

    def get_specs(self) -> HardwareSpecs:
        return self.specs

    def submit_job(self, job: Job):
        self.ran.append(job)
        return super().submit_job(job)


def assert_fits(job: Job, specs: HardwareSpecs) -> None:
    coupled = {frozenset(p) for p in specs.topology}
    for ins in job.circuit:
        assert ins.name in specs.gate_set, ins
        if len(ins.qubits) == 2:
            assert frozenset(ins.qubits) in coupled, ins


def test_the_reference_agrees_with_the_uncompiled_circuit_on_an_all_to_all_qpu():
    result = DensityMatrixQPU().submit(Job(program(), qubits=(3, 0, 1)))
    assert result.probabilities == pytest.approx(marginal(program_state(), 4, (3, 0, 1)), abs=1e-9)


@pytest.mark.parametrize("level", [0, 1, 2, 3])
@pytest.mark.parametrize("specs", [LINE4, GRID2x2], ids=["line", "grid"])
def test_compiled_jobs_give_the_ideal_probabilities_in_the_users_qubit_order(specs, level):
    qpu = SpecsQPU(specs)
    qubits = (3, 0, 2)
    result = (CompilerPlugin(optimization_level=level) | qpu).submit(Job(program(), qubits=qubits))
    assert result.probabilities == pytest.approx(marginal(program_state(), 4, qubits), abs=1e-9)
    assert result.qubits == qubits
    (ran,) = qpu.ran
    assert_fits(ran, specs)
    final = result.meta_data["compiler"]["final_layout"]
    assert ran.qubits == tuple(final[q] for q in qubits)


def test_the_layout_really_permutes_qubits_and_results_follow_it():
    # Every level and seed above must route; this checks that the final layouts met are not all the identity.
    layouts = set()
    for seed in range(3):
        qpu = SpecsQPU(LINE4)
        result = (CompilerPlugin(optimization_level=1, seed=seed) | qpu).submit(Job(program(), qubits=(0, 1, 2, 3)))
        assert result.probabilities == pytest.approx(marginal(program_state(), 4, (0, 1, 2, 3)), abs=1e-9)
        layouts.add(tuple(result.meta_data["compiler"]["final_layout"]))
    assert layouts - {(0, 1, 2, 3)}


def test_terminal_measurements_and_a_smaller_circuit_on_a_larger_lattice():
    bell = Circuit(3, 2).h(0).cx(0, 2).measure(2, 0).measure(0, 1)
    qpu = SpecsQPU(LINE4)
    result = (CompilerPlugin() | qpu).submit(Job(bell))
    assert result.qubits == (2, 0)
    assert result.probabilities == pytest.approx({"00": 0.5, "11": 0.5}, abs=1e-9)
    assert qpu.ran[0].circuit.num_qubits == 4


def test_observable_jobs_exact_and_sampled_through_the_stack():
    terms, constant = {"ZIXI": 0.7, "XXII": -0.3, "IYZY": 0.4, "IIIZ": 1.1}, 0.1
    expected = expectation(program_state(), terms, constant)
    observable = Observable(4, terms, constant)
    exact = (CompilerPlugin() | SpecsQPU(GRID2x2)).submit(Job(program(), observable=observable))
    assert exact.value == pytest.approx(expected, abs=1e-9)

    qpu = SpecsQPU(LINE4, seed=11)
    # The splitter goes outside, so its basis rotations are compiled to the gate set too.
    sampled = (ObservableSplitter() | CompilerPlugin(optimization_level=1) | qpu).submit(
        Job(program(), nbshots=4000, observable=observable))
    assert abs(sampled.value - expected) < 5 * sampled.value_error
    for ran in qpu.ran:
        assert_fits(ran, LINE4)


def test_a_batch_keeps_job_order_and_metadata():
    jobs = [Job(program(), qubits=(1,), meta_data={"name": "a"}), Job(Circuit(2).x(1).cx(1, 0), qubits=(0, 1))]
    results = (CompilerPlugin() | SpecsQPU(LINE4)).submit(Batch(jobs))
    assert results[0].probabilities == pytest.approx(marginal(program_state(), 4, (1,)), abs=1e-9)
    assert results[0].meta_data["name"] == "a"
    assert results[1].probabilities == pytest.approx({"11": 1.0}, abs=1e-9)


def test_all_to_all_qpu_compiles_to_its_gate_set_without_growing_the_circuit():
    qpu = SpecsQPU(HardwareSpecs(nbqbits=10, topology=None, gate_set=("rz", "sx", "cz")))
    result = (CompilerPlugin() | qpu).submit(Job(program(), qubits=(2, 3)))
    assert result.probabilities == pytest.approx(marginal(program_state(), 4, (2, 3)), abs=1e-9)
    assert qpu.ran[0].circuit.num_qubits == 4
    assert set(qpu.ran[0].circuit.count_ops()) <= {"rz", "sx", "cz"}


def test_custom_passes_and_repr():
    from qlab.compiler.passes import FitToTarget, SabreRouting, Unroll

    plugin = CompilerPlugin([Unroll(), SabreRouting(), FitToTarget()])
    result = (plugin | SpecsQPU(LINE4)).submit(Job(program(), qubits=(0, 3)))
    assert result.probabilities == pytest.approx(marginal(program_state(), 4, (0, 3)), abs=1e-9)
    assert repr(CompilerPlugin(optimization_level=3, seed=5)) == "CompilerPlugin(optimization_level=3, seed=5)"


def test_unknown_optimization_level_is_refused():
    with pytest.raises(CompilerError, match=r"Unknown optimization level 7; allowed: 0, 1, 2, 3"):
        CompilerPlugin(optimization_level=7)


def test_a_pass_without_run_is_refused():
    with pytest.raises(CompilerError, match=r"pass 0 \('route'\) has no run\(circuit, data\) method"):
        CompilerPlugin(["route"])


def test_a_circuit_larger_than_the_qpu_is_refused():
    with pytest.raises(CompilerError, match=r"job 1 has a 5-qubit circuit but the QPU has 4 qubits"):
        (CompilerPlugin() | SpecsQPU(LINE4)).submit(Batch([Job(Circuit(2)), Job(Circuit(5).h(4))]))


def test_a_disconnected_topology_is_refused():
    specs = HardwareSpecs(nbqbits=4, topology=((0, 1), (2, 3)))
    with pytest.raises(CompilerError, match=r"does not connect all 4 qubits"):
        (CompilerPlugin() | SpecsQPU(specs)).submit(Job(Circuit(2).cx(0, 1)))


def test_a_result_that_did_not_come_from_the_plugin_is_refused():
    from qlab.qpu import BatchResult

    with pytest.raises(QPUDataError, match=r"no 'qlab.compiler_plugin' plan"):
        CompilerPlugin().post_process(BatchResult([]))


def test_passes_on_a_compiler_cluster_give_the_same_answer():
    from qlab.compiler import Compiler

    with Compiler(num_workers=1, store=":memory:", dashboard=False) as compiler:
        stack = CompilerPlugin(optimization_level=1, compiler=compiler) | SpecsQPU(LINE4)
        results = stack.submit(Batch([Job(program(), qubits=(3, 1)), Job(program(), observable=Observable(4, {"ZIIZ": 1.0}))]))
    assert results[0].probabilities == pytest.approx(marginal(program_state(), 4, (3, 1)), abs=1e-9)
    assert results[1].value == pytest.approx(expectation(program_state(), {"ZIIZ": 1.0}, 0.0), abs=1e-9)
