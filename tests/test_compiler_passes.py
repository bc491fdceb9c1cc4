"""Compiler passes against independent references: dense NumPy unitaries, permutation matrices, textbook gates."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.stats import unitary_group
from threadpoolctl import threadpool_limits

from qlab import Circuit
from qlab.circuit import gate_matrix
from qlab.compiler import CompilationTask, Target, compile_for, kak, optimization_passes, two_qubit_gates
from qlab.compiler.execution import run_passes
from qlab.compiler.passes import (
    CancelCommutingCX,
    CancelInversePairs,
    FitToTarget,
    MergeSingleQubitGates,
    SabreRouting,
    TwoQubitResynthesis,
    Unroll,
    VerifyEquivalence,
)
from qlab.compiler.kak import cnot_count
from qlab.compiler.passes.base import rebuild
from qlab.compiler.passes.sabre import Heuristic, route
from qlab.devices import load_device
from qlab.exceptions import CircuitError, CompilerError, QlabTypeError, VerificationError

X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0 + 0j, -1.0])


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Small dense products: BLAS threads only wait for each other when the cores are busy."""
    with threadpool_limits(1):
        yield


# ----------------------------------------------------------- plain NumPy references
def bit_permutation(n: int, where: list[int]) -> np.ndarray:
    """The 2^n permutation matrix that moves qubit ``i`` to position ``where[i]`` (qubit 0 most significant)."""
    p = np.zeros((2**n, 2**n))
    for index in range(2**n):
        bits = [(index >> (n - 1 - i)) & 1 for i in range(n)]
        moved = [0] * n
        for i, b in enumerate(bits):
            moved[where[i]] = b
        p[int("".join(map(str, moved)), 2), index] = 1
    return p


def dense_unitary(circuit: Circuit, n: int | None = None) -> np.ndarray:
    """The circuit's unitary built from Kronecker products and permutation matrices (measurements skipped)."""
    n = circuit.num_qubits if n is None else n
    u = np.eye(2**n, dtype=complex)
    for ins in circuit:
        if ins.name in ("measure", "barrier"):
            continue
        m = ins.matrix if ins.name == "unitary" else gate_matrix(ins.name, ins.params)
        k = len(ins.qubits)
        rest = [q for q in range(n) if q not in ins.qubits]
        order = list(ins.qubits) + rest                  # position j holds qubit order[j]
        to_front = bit_permutation(n, [order.index(q) for q in range(n)])
        u = to_front.T @ np.kron(m, np.eye(2 ** (n - k))) @ to_front @ u
    return u


def equal_up_to_phase(a: np.ndarray, b: np.ndarray, atol: float = 1e-7) -> bool:
    k = np.argmax(np.abs(b))
    phase = a.flat[k] / b.flat[k]
    return abs(abs(phase) - 1) < atol and np.allclose(a, phase * b, atol=atol)


def random_circuit(n: int, gates: int, seed: int) -> Circuit:
    rng = np.random.default_rng(seed)
    c = Circuit(n, n)
    one = ["h", "t", "s", "x", "sx", "rx", "rz", "u3"]
    two = ["cx", "cz", "swap", "rzz", "cp", "cy", "iswap"]
    for _ in range(gates):
        r = rng.random()
        if r < 0.45:
            name = str(rng.choice(one))
            params = tuple(rng.uniform(-np.pi, np.pi, {"rx": 1, "rz": 1, "u3": 3}.get(name, 0)))
            c.append(name, [int(rng.integers(n))], params)
        elif r < 0.95 or n < 3:
            name = str(rng.choice(two))
            a, b = (int(q) for q in rng.choice(n, 2, replace=False))
            c.append(name, [a, b], tuple(rng.uniform(-np.pi, np.pi, {"rzz": 1, "cp": 1}.get(name, 0))))
        else:
            c.append("ccx", [int(q) for q in rng.choice(n, 3, replace=False)])
    return c


def assert_compiled_correctly(original: Circuit, compiled: Circuit, data: dict, target: Target) -> None:
    n = target.num_qubits
    for ins in compiled:
        assert ins.name in target.native_gates | {"measure", "barrier"}, ins
        if ins.is_gate and len(ins.qubits) == 2:
            assert target.is_coupled(*ins.qubits), f"{ins} acts on uncoupled qubits"
    initial, final = data["initial_layout"], data["final_layout"]
    assert sorted(initial) == sorted(final) == list(range(n))
    u = dense_unitary(original, n)
    expected = bit_permutation(n, final) @ u @ bit_permutation(n, initial).T
    assert equal_up_to_phase(dense_unitary(compiled, n), expected)


# ------------------------------------------------------------------------------ KAK
@pytest.mark.parametrize("seed", range(16))
def test_kak_of_haar_random_unitaries_rebuilds_them(seed):
    u = unitary_group.rvs(4, random_state=seed)
    d = kak(u)
    a, b, c = d.coefficients
    interaction = expm(1j * (a * np.kron(X, X) + b * np.kron(Y, Y) + c * np.kron(Z, Z)))
    rebuilt = np.exp(1j * d.phase) * np.kron(*d.after) @ interaction @ np.kron(*d.before)
    np.testing.assert_allclose(rebuilt, u, atol=1e-9)
    for m in d.before + d.after:
        np.testing.assert_allclose(m @ m.conj().T, np.eye(2), atol=1e-9)
    circuit = Circuit(2)
    for name, qubits, params in two_qubit_gates(u):
        circuit.append(name, qubits, params)
    assert equal_up_to_phase(dense_unitary(circuit), u)
    assert circuit.count_ops()["cx"] == 3


@pytest.mark.parametrize(
    ("matrix", "cx"),
    [
        (np.kron(gate_matrix("h"), gate_matrix("t")), 0),
        (gate_matrix("cx"), 1),
        (gate_matrix("cz"), 1),
        (gate_matrix("cy"), 1),
        (gate_matrix("rxx", (np.pi / 2,)), 1),
        (gate_matrix("ryy", (-np.pi / 2,)), 1),
        (gate_matrix("rzz", (0.3,)), 2),
        (gate_matrix("cp", (1.1,)), 2),
        (gate_matrix("iswap"), 2),
        (gate_matrix("rxx", (0.4,)) @ gate_matrix("ryy", (0.2,)), 2),
        (gate_matrix("swap"), 3),
        (gate_matrix("swap") @ gate_matrix("cx"), 2),
    ],
)
def test_two_qubit_synthesis_uses_the_fewest_cx(matrix, cx):
    assert cnot_count(matrix) == cx
    gates = two_qubit_gates(matrix, (1, 0))
    circuit = Circuit(2)
    for name, qubits, params in gates:
        circuit.append(name, qubits, params)
    assert circuit.count_ops().get("cx", 0) == cx
    assert equal_up_to_phase(dense_unitary(circuit), bit_permutation(2, [1, 0]) @ matrix @ bit_permutation(2, [1, 0]).T)


def test_kak_refuses_non_unitaries():
    with pytest.raises(CircuitError, match="kak needs a 4x4 unitary"):
        kak(np.ones((4, 4)))
    with pytest.raises(CircuitError, match="kak needs a 4x4 unitary"):
        kak(np.eye(2))


# ------------------------------------------------------------------- single passes
def test_merge_and_cancel_keep_the_unitary():
    c = Circuit(3).h(0).h(0).t(1).cx(0, 1).cx(0, 1).s(1).x(2).cz(1, 2).cz(2, 1).rz(0.3, 2).rz(-0.3, 2)
    out = MergeSingleQubitGates().run(CancelInversePairs().run(c, {}), {})
    assert out.count_ops() == {"u3": 2}   # t.s on qubit 1, x on qubit 2
    assert equal_up_to_phase(dense_unitary(out), dense_unitary(c))


def commuting_rich_circuit(n: int, gates: int, seed: int) -> Circuit:
    """CX on few qubits among Z-type (rz, p, z, t), X-type (rx, x, sx) and other (h, ry) one-qubit gates."""
    rng = np.random.default_rng(seed)
    one = ["rz", "p", "z", "t", "rx", "x", "sx", "h", "ry"]
    c = Circuit(n)
    for _ in range(gates):
        if rng.random() < 0.45:
            c.cx(*(int(x) for x in rng.choice(n, 2, replace=False)))
        else:
            name = str(rng.choice(one))
            params = (float(rng.uniform(-np.pi, np.pi)),) if name in ("rz", "p", "rx", "ry") else ()
            c.append(name, [int(rng.integers(n))], params)
    return c


def test_commuting_cx_cancellation_keeps_the_unitary():
    removed = 0
    for seed in range(12):
        c = commuting_rich_circuit(3, 40, seed)
        out = CancelCommutingCX().run(c, {})
        assert equal_up_to_phase(dense_unitary(out, 3), dense_unitary(c, 3))
        removed += c.count_ops().get("cx", 0) - out.count_ops().get("cx", 0)
    assert removed >= 12


@pytest.mark.parametrize(("circuit", "cx_left"), [
    (Circuit(3).cx(0, 1).rz(0.3, 0).cx(0, 2).rx(0.2, 1).cx(2, 1).cx(0, 1), 2),   # all commute: the pair goes
    (Circuit(2).cx(0, 1).h(0).cx(0, 1), 2),            # H on the control does not commute with Z
    (Circuit(2).cx(0, 1).rz(0.4, 1).cx(0, 1), 2),      # a Z rotation on the target does not commute with X
    (Circuit(3).cx(0, 1).cx(2, 0).cx(0, 1), 3),        # the control is another gate's target
    (Circuit(2, 1).cx(0, 1).measure(0, 0).cx(0, 1), 2),  # a measurement in between
])
def test_commuting_cx_cancellation_only_moves_through_commuting_gates(circuit, cx_left):
    out = CancelCommutingCX().run(circuit, {})
    assert out.count_ops().get("cx", 0) == cx_left
    if "measure" not in circuit.count_ops():
        assert equal_up_to_phase(dense_unitary(out), dense_unitary(circuit))


def test_resynthesis_lowers_cx_and_keeps_the_unitary():
    c = Circuit(3).cx(0, 1).rz(0.2, 1).cx(0, 1).cx(1, 2).cx(2, 1).cx(1, 2).h(0).cx(1, 2)
    out = TwoQubitResynthesis().run(c, {})
    assert out.count_ops()["cx"] == 2 + 2   # zz rotation: 2 CX; swap then cx: 2 CX
    assert equal_up_to_phase(dense_unitary(out), dense_unitary(c))


def test_routing_on_a_line_respects_coupling_and_meaning():
    c = random_circuit(5, 40, seed=3)
    basis = Unroll({"u3", "cx"}).run(c, {})
    target = Target.line(5)
    data = {"target": target, "seed": 1}
    routed = SabreRouting().run(basis, data)
    assert routed.count_ops().get("swap", 0) > 0
    for ins in routed:
        if len(ins.qubits) == 2:
            assert target.is_coupled(*ins.qubits)
    n = 5
    expected = bit_permutation(n, data["final_layout"]) @ dense_unitary(c) @ bit_permutation(n, data["initial_layout"]).T
    assert equal_up_to_phase(dense_unitary(routed), expected)


def cx_after_resynthesis(routed: Circuit) -> int:
    """CX count once SWAPs are unrolled and two-qubit blocks resynthesised."""
    for p in (Unroll({"u3", "cx"}), CancelInversePairs(), TwoQubitResynthesis()):
        routed = p.run(routed, {})
    return routed.count_ops().get("cx", 0)


@pytest.mark.parametrize("level", [2, 3])
def test_many_routing_trials_beat_one(level):
    """A level's many trials include the single trial (same seed, same weights) and keep a better one."""
    c = Unroll({"u3", "cx"}).run(random_circuit(6, 40, seed=5 + level), {})
    target = Target.grid(3, 3)
    routing = next(p for p in optimization_passes(level) if isinstance(p, SabreRouting))
    assert routing.trials > 1 and routing.score == "cx"
    single, many = {"target": target, "seed": 2}, {"target": target, "seed": 2}
    one_trial = SabreRouting(trials=1, score="cx").run(c, single)
    routed = routing.run(c, many)
    assert cx_after_resynthesis(routed) <= cx_after_resynthesis(one_trial)
    assert all(target.is_coupled(*ins.qubits) for ins in routed if len(ins.qubits) == 2)


def test_routing_by_swaps_keeps_the_fewest_swaps():
    c = Unroll({"u3", "cx"}).run(random_circuit(6, 40, seed=6), {})
    single, several = {"target": Target.grid(3, 3), "seed": 3}, {"target": Target.grid(3, 3), "seed": 3}
    SabreRouting(trials=1).run(c, single)
    SabreRouting(trials=6).run(c, several)
    assert several["swaps"] <= single["swaps"]


def test_routed_cx_bounds_the_count_after_resynthesis():
    """The routing's CX estimate (SWAPs merged into the block before them) is never below what resynthesis reaches."""
    target = Target.grid(2, 3)
    for seed in range(3):
        c = Unroll({"u3", "cx"}).run(random_circuit(6, 30, seed=seed), {})
        data = {"target": target, "seed": seed}
        routed = SabreRouting(trials=2, score="cx").run(c, data)
        two_qubit = sum(len(ins.qubits) == 2 for ins in c)
        assert two_qubit <= cx_after_resynthesis(routed) <= data["routed_cx"] <= two_qubit + 3 * data["swaps"]


def generic_two_qubit(seed: int) -> np.ndarray:
    u = unitary_group.rvs(4, random_state=seed)
    assert cnot_count(u) == 3
    return u


@pytest.mark.parametrize("level", [2, 3])
def test_a_swap_merges_into_the_generic_block_before_it(level):
    """Three generic two-qubit unitaries on all pairs of a 3-qubit line: each needs 3 CX (Vatan & Williams), and
    one SWAP is unavoidable, but a SWAP right after a generic block on its pair costs nothing once resynthesised."""
    c = Circuit(3)
    for seed, pair in enumerate([(0, 1), (0, 2), (1, 2)]):
        c.unitary(generic_two_qubit(seed), list(pair))
    target = Target.line(3)
    compiled, data = run_passes(c, optimization_passes(level), target, seed=0)
    assert compiled.count_ops()["cx"] == 9
    assert_compiled_correctly(c, compiled, data, target)


def test_routing_prefers_the_swap_that_merges_with_the_cx_before_it():
    """After cx(0, 1) on the line 0-1-2, cx(0, 2) needs one SWAP: on (0, 1) it merges with that CX into 2 CX,
    on (1, 2) it costs 3; the routing takes the first for every tie-breaking seed."""
    c = Circuit(3).cx(0, 1).cx(0, 2)
    line = Target.line(3).distances
    for seed in range(5):
        routed = route(list(c), line, [0, 1, 2], seed, Heuristic(merge_weight=0.25))
        assert [(ins.name, ins.qubits) for ins in routed.instructions] == [("cx", (0, 1)), ("swap", (0, 1)), ("cx", (1, 2))]
        assert routed.cx == 3 == cx_after_resynthesis(rebuild(Circuit(3), routed.instructions))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"score": "depth"}, "unknown score 'depth'; allowed: 'swaps', 'cx'"),
    ({"trials": 0}, "trials must be a positive int, got 0"),
    ({"trials": 2.5}, "trials must be a positive int, got 2.5"),
])
def test_routing_refuses_bad_settings(kwargs, message):
    with pytest.raises(CompilerError, match=re.escape(message)):
        SabreRouting(**kwargs)


def test_the_release_valve_routes_correctly():
    """With no SWAP attempts allowed, every gate is routed by walking its qubits together along a shortest path."""
    c = Unroll({"u3", "cx"}).run(random_circuit(5, 40, seed=4), {})
    target = Target(5, ((0, 1), (1, 2), (1, 3), (3, 4)), name="tee")
    routed = route(list(c), target.distances, list(range(5)), 0, Heuristic(attempts_per_qubit=0))
    assert routed.swaps > 0
    assert all(target.is_coupled(*ins.qubits) for ins in routed.instructions if len(ins.qubits) == 2)
    expected = bit_permutation(5, routed.layout) @ dense_unitary(c)
    assert equal_up_to_phase(dense_unitary(rebuild(Circuit(5), routed.instructions)), expected)


# --------------------------------------------------------------- whole compilations
TARGETS = [Target.line(5), Target.grid(2, 3), Target(5, ((0, 1), (1, 2), (2, 3), (3, 4), (4, 0)), name="ring"),
           Target(4), Target(5, ((0, 1), (1, 2), (1, 3), (3, 4)), native_gates={"rz", "sx", "x", "cz"}, name="tee")]


@pytest.mark.parametrize(("level", "target"), [(level, t) for level in (0, 1, 2, 3) for t in TARGETS],
                         ids=lambda x: x.name if isinstance(x, Target) else f"level{x}")
def test_random_circuits_compile_correctly(level, target):
    for seed in range(2 if level < 3 else 1):
        c = random_circuit(min(4, target.num_qubits), 30, seed=seed + 10 * level)
        compiled, data = run_passes(c, optimization_passes(level), target, seed=seed)
        assert_compiled_correctly(c, compiled, data, target)


def test_higher_levels_use_fewer_cx():
    c = random_circuit(5, 40, seed=7)
    counts = [run_passes(c, optimization_passes(level), Target.line(5), seed=0)[1]["cx_after"] for level in range(4)]
    assert counts[2] < counts[0] and counts[3] <= counts[2]


def test_measurements_follow_their_qubits():
    c = Circuit(4).h(0).cx(0, 3).cx(1, 3).cx(2, 0).measure_all()
    compiled, data = run_passes(c, optimization_passes(2), Target.line(4), seed=0)
    measures = [(ins.qubits[0], ins.clbits[0]) for ins in compiled if ins.name == "measure"]
    assert sorted(measures, key=lambda m: m[1]) == [(data["final_layout"][q], q) for q in range(4)]
    assert all(ins.name == "measure" for ins in list(compiled)[-4:])


def test_compile_for_sc20_fits_the_device():
    sc20 = load_device("sc20")
    c = random_circuit(6, 40, seed=2).measure_all()
    compiled = compile_for(sc20, c)
    assert compiled.num_qubits == 20
    assert {ins.name for ins in compiled} <= sc20.native_gates | {"barrier"}
    assert all(sc20.is_coupled(*ins.qubits) for ins in compiled if len(ins.qubits) == 2)
    task = CompilationTask(c, [*optimization_passes(2), VerifyEquivalence()], sc20, seed=0)
    run_passes(task.circuit, task.passes, task.target, task.seed)  # raises if not equivalent


@pytest.mark.parametrize("level", [2, 3])
def test_six_qubits_on_the_3x3_lattice_verify(level):
    """A 6-qubit program with terminal measurements on the 3 x 3 lattice, checked by VerifyEquivalence (9 qubits)."""
    c = random_circuit(6, 40, seed=20 + level)
    c.measure_all()
    target = Target.grid(3, 3)
    compiled, data = run_passes(c, [*optimization_passes(level), VerifyEquivalence()], target, seed=level)
    assert data["verified"]
    assert all(target.is_coupled(*ins.qubits) for ins in compiled if len(ins.qubits) == 2)
    assert {ins.name for ins in compiled} <= {"u3", "cx", "measure", "barrier"}


def test_verification_catches_a_wrong_circuit():
    class Sabotage(Unroll):
        def run(self, circuit, data):
            return super().run(circuit, data).x(0)

    c = Circuit(3).h(0).cx(0, 2)
    with pytest.raises(VerificationError, match="does not implement its input"):
        run_passes(c, [*optimization_passes(1), Sabotage({"u3", "cx"}), VerifyEquivalence()], Target.line(3))


def test_verification_skips_what_it_cannot_check(caplog):
    c = Circuit(12).h(0)
    for q in range(11):
        c.cx(q, q + 1)
    _, data = run_passes(c, [VerifyEquivalence()], Target(12))
    assert data["verified"] is None and "more than 10" in caplog.text


def test_bad_tasks_and_targets_are_refused():
    with pytest.raises(CompilerError, match="does not connect all 3 qubits"):
        Target(3, ((0, 1),))
    with pytest.raises(CompilerError, match="must join two different qubits in 0..2"):
        Target(3, ((0, 3), (1, 2)))
    with pytest.raises(CompilerError, match="Cannot compile a 5-qubit circuit for target 'line-3'"):
        CompilationTask(Circuit(5), [], Target.line(3))
    with pytest.raises(QlabTypeError, match="has no run"):
        CompilationTask(Circuit(1), [object()])
    with pytest.raises(QlabTypeError, match="expected a DeviceDescription"):
        CompilationTask(Circuit(1), [], target="sc20")
    with pytest.raises(CompilerError, match="Unknown optimization level 4"):
        optimization_passes(4)
    with pytest.raises(CompilerError, match="routing needs one- and two-qubit gates"):
        run_passes(Circuit(3).ccx(0, 1, 2), [SabreRouting()], Target.line(3))


def test_a_qdmi_device_runs_what_it_refused_once_compiled():
    from qlab.qdmi import JobParameter, JobResult, Session

    ghz = Circuit(4).h(0).cx(0, 1).cx(0, 2).cx(0, 3).measure_all()
    with Session(store=":memory:", mqt=False) as session:
        device = session.device("sc20")

        def run(circuit):
            job = device.create_job()
            job.set_parameter(JobParameter.ROUTE, False)
            job.set_parameter(JobParameter.PROGRAMFORMAT, "qasm3")
            job.set_parameter(JobParameter.PROGRAM, circuit.to_qasm(3))
            job.set_parameter(JobParameter.SHOTSNUM, 500)
            job.set_parameter(JobParameter.SEED, 1)
            job.submit()
            job.wait()
            return dict(zip(job.get_results(JobResult.HIST_KEYS).split(","), job.get_results(JobResult.HIST_VALUES)))

        with pytest.raises(Exception, match=r"or compile it first with qlab.compiler.compile_for\(device, circuit\)"):
            run(ghz)
        counts = run(compile_for(device, ghz))
    assert counts["0000"] + counts["1111"] > 0.8 * 500   # a GHZ state on the noisy lattice


def test_device_run_accepts_any_circuit_once_compiled_for_it():
    from qlab.qdmi import Session

    circuit = Circuit(5).h(0).cx(0, 4).cx(4, 2).cx(2, 0).cx(1, 3).measure_all()   # pairs sc20 does not couple
    with Session(store=":memory:", mqt=False) as session:
        device = session.device("sc20")
        counts = device.run(compile_for(device, circuit), shots=400, seed=3).result().counts
    # h(0), then q4 = q2 = q0 and q0 ^= q2 (so q0 = 0): the ideal outcomes are 00000 and 00101
    assert sum(v for k, v in counts.items() if k in ("00000", "00101")) > 0.8 * 400


MID_CIRCUIT = {
    "measure between routed gates": Circuit(3, 3).h(0).cx(0, 1).cx(1, 2).measure(1, 0).cx(0, 2).h(1).measure(1, 1)
    .cx(2, 0).cx(0, 1).measure(0, 2),
    "a condition on a routed gate": Circuit(3, 2).h(0).ry(0.7, 1).cx(0, 1).measure(0, 0).cx(1, 2).cx(0, 2).c_if(0, 1)
    .x(2).measure(2, 1),
}


@pytest.mark.parametrize("level", [0, 1, 2, 3])
@pytest.mark.parametrize("name", sorted(MID_CIRCUIT))
def test_mid_circuit_measurements_survive_routing_at_every_level(name, level):
    import qlab

    circuit = MID_CIRCUIT[name]
    compiled = compile_for(Target.line(3), circuit, optimization_level=level)
    expected = qlab.simulate(circuit).probabilities        # the core engine, on the program as written
    got = qlab.simulate(compiled).probabilities
    assert all(Target.line(3).is_coupled(*ins.qubits) for ins in compiled if ins.is_gate and len(ins.qubits) == 2)
    assert max(abs(got.get(k, 0) - expected.get(k, 0)) for k in set(got) | set(expected)) < 1e-12


@pytest.mark.parametrize("circuit", [Circuit(1), Circuit(2).barrier(), Circuit(2).measure_all()], ids=repr)
def test_circuits_without_gates_verify(circuit):
    for level in range(4):
        _, data = run_passes(circuit, [*optimization_passes(level), VerifyEquivalence()], Target.line(3))
        assert data["verified"] is True


def test_pass_settings_are_checked():
    with pytest.raises(QlabTypeError, match=r"Unroll: natives must be a collection of gate names like \('u3', 'cx'\), got 'cx'"):
        Unroll("cx")
    with pytest.raises(QlabTypeError, match="MergeSingleQubitGates: natives must be a collection of gate names"):
        MergeSingleQubitGates("u3")
    for level in (True, 2.0):
        with pytest.raises(CompilerError, match=f"Unknown optimization level {level!r}"):
            optimization_passes(level)
    for iterations in (-1, 1.5, True):
        with pytest.raises(CompilerError, match=f"SabreRouting: iterations must be an int >= 0, got {iterations!r}"):
            SabreRouting(iterations=iterations)
    with pytest.raises(CompilerError, match=r"Cannot fit 'cx' on qubits \(0, 2\) to target 'line-3': they are not coupled"):
        run_passes(Circuit(3).cx(0, 2), [FitToTarget()], Target.line(3))
