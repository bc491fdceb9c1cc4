"""Unrolling into native gates (exact up to global phase) and fitting circuits onto devices."""

import dataclasses
import re

import numpy as np
import pytest

from qlab import Circuit
from qlab.circuit.gates import GATES, gate_matrix
from qlab.devices import DeviceProgramError, UnsupportedProgramError, load_device
from qlab.devices.natives import euler_zyz, one_qubit_gates, unroll
from qlab.devices.placement import fit_circuit
from qlab.sim.program import simulated_qubits
from qlab.exceptions import QubitLimitError

NATIVE_SETS = [
    {"rz", "sx", "x", "cz"},
    {"rxy", "rzz"},
    {"rz", "rx", "ry", "cx"},
    {"u3", "cx"},
    {"rz", "rx", "cz"},
    {"rxy", "rz", "cz"},
]


def circuit_unitary(circuit: Circuit) -> np.ndarray:
    """The unitary of a gates-only circuit, qubit 0 most significant (naive dense reference)."""
    n = circuit.num_qubits
    u = np.eye(2**n, dtype=complex)
    for ins in circuit:
        m = ins.matrix if ins.name == "unitary" else gate_matrix(ins.name, ins.params)
        k = len(ins.qubits)
        full = np.kron(m, np.eye(2 ** (n - k))).reshape((2,) * (2 * n))
        order = list(ins.qubits) + [q for q in range(n) if q not in ins.qubits]
        perm = list(np.argsort(order))
        full = full.transpose(perm + [n + p for p in perm]).reshape(2**n, 2**n)
        u = full @ u
    return u


def assert_equal_up_to_global_phase(a: np.ndarray, b: np.ndarray) -> None:
    i = np.unravel_index(np.argmax(abs(b)), b.shape)
    phase = a[i] / b[i]
    assert abs(abs(phase) - 1) < 1e-9
    np.testing.assert_allclose(a, phase * b, atol=1e-9)


def random_unitary(rng, d: int = 2) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))
    return q * (np.diag(r) / abs(np.diag(r)))


def test_euler_zyz_against_random_unitaries():
    rng = np.random.default_rng(5)
    specials = [np.eye(2), gate_matrix("x"), gate_matrix("y"), gate_matrix("h"), gate_matrix("s"), -np.eye(2)]
    for u in specials + [random_unitary(rng) for _ in range(200)]:
        a, b, g, phase = euler_zyz(u)
        ref = np.exp(1j * phase) * gate_matrix("rz", (a,)) @ gate_matrix("ry", (b,)) @ gate_matrix("rz", (g,))
        np.testing.assert_allclose(ref, u, atol=1e-10)
        assert 0 <= b <= np.pi


@pytest.mark.parametrize("natives", NATIVE_SETS, ids=lambda s: "+".join(sorted(s)))
def test_every_library_gate_unrolls_exactly(natives):
    rng = np.random.default_rng(11)
    for name, g in GATES.items():
        for _ in range(2):
            c = Circuit(3).append(name, tuple(range(g.num_qubits)), tuple(rng.uniform(-4, 4, g.num_params)))
            out = unroll(c, natives)
            assert {ins.name for ins in out} <= natives, name
            assert_equal_up_to_global_phase(circuit_unitary(out), circuit_unitary(c))


@pytest.mark.parametrize("device_id", ["sc20", "ion12", "training5"])
def test_random_circuits_unroll_into_device_natives(device_id):
    natives = load_device(device_id).native_gates
    rng = np.random.default_rng(3)
    names = list(GATES)
    for _ in range(15):
        c = Circuit(3)
        for _ in range(8):
            g = GATES[names[rng.integers(len(names))]]
            qubits = tuple(int(q) for q in rng.permutation(3)[: g.num_qubits])
            c.append(g.name, qubits, tuple(rng.uniform(-np.pi, np.pi, g.num_params)))
        c.unitary(random_unitary(rng), 1, label="mine")
        out = unroll(c, natives)
        assert {ins.name for ins in out} <= natives
        assert_equal_up_to_global_phase(circuit_unitary(out), circuit_unitary(c))


def test_one_qubit_runs_merge_and_natives_stay():
    assert unroll(Circuit(1).h(0).s(0).h(0), {"rz", "sx"}).count_ops() == {"sx": 1}
    assert unroll(Circuit(1).h(0).t(0), {"rz", "sx"}).count_ops() == {"rz": 2, "sx": 1}
    native = Circuit(2).sx(0).rz(0.3, 0).cz(0, 1)
    assert unroll(native, {"rz", "sx", "cz"}) is native
    mixed = Circuit(1).sx(0).h(0).measure_all()
    out = unroll(mixed, {"rz", "sx"})
    assert out.instructions[-1].name == "measure" and out.cregs == mixed.cregs
    assert one_qubit_gates(np.eye(2), 0, {"rz", "sx"}) == []
    assert one_qubit_gates(-np.eye(2), 0, {"rxy"}) == []


def test_conditions_carry_to_every_piece():
    c = Circuit(2, 1).measure(0, 0).cz(0, 1).c_if(0, 1).h(1).c_if(0, 1)
    out = unroll(c, {"rz", "sx", "cx"})
    gates = [ins for ins in out if ins.name != "measure"]
    assert gates and all(ins.condition is not None and ins.condition.value == 1 for ins in gates)


def test_what_cannot_be_unrolled():
    c = Circuit(2).unitary(np.eye(4)[[0, 1, 3, 2]], [0, 1], label="mycx")
    with pytest.raises(UnsupportedProgramError, match=re.escape("Cannot unroll the 2-qubit user gate 'mycx' on qubits (0, 1)")):
        unroll(c, {"rz", "sx", "cz"})
    with pytest.raises(UnsupportedProgramError, match=re.escape("the natives ['rz', 'sx'] have no two-qubit gate qlab can target (cx, cz, rzz)")):
        unroll(Circuit(2).cx(0, 1), {"rz", "sx"})
    with pytest.raises(UnsupportedProgramError, match=re.escape("Cannot unroll one-qubit gates into the natives ['cz']")):
        unroll(Circuit(2).h(0), {"cz"})


# ------------------------------------------------------------- placement
def test_fit_keeps_qubit_indices_and_unrolls():
    sc = load_device("sc20")
    out = fit_circuit(Circuit(20, 1).h(7).cx(7, 12).measure(12, 0), sc)
    assert simulated_qubits(out) == [7, 12]
    assert {ins.name for ins in out} <= sc.native_gates


def test_uncoupled_pair_is_refused_and_names_routing():
    with pytest.raises(
        DeviceProgramError,
        match=re.escape(
            "Cannot run 'ccx' on qubits (0, 1, 2) of device 'training5': sites 0 and 2 are not coupled "
            "(site 0 couples to 1; site 2 to 1, 3). Program qubit i runs on site i when routing is off: run it with "
            "route=True (device.run's default), or compile it first with qlab.compiler.compile_for(device, circuit)."
        ),
    ):
        fit_circuit(Circuit(3).ccx(0, 1, 2), load_device("training5"))


def test_symmetric_gates_turn_to_the_calibrated_orientation():
    sc = load_device("sc20")
    out = fit_circuit(Circuit(2).cz(1, 0), sc)
    assert [ins.qubits for ins in out] == [(0, 1)]
    assert sc.operation("cz").acts_on((0, 1)) and not sc.operation("cz").acts_on((1, 0))


def test_too_many_declared_qubits_and_too_many_touched():
    with pytest.raises(DeviceProgramError, match=re.escape("The program declares 6 qubits, but device 'training5' has 5 sites (0..4)")):
        fit_circuit(Circuit(6).h(0), load_device("training5"))
    c = Circuit(20)
    for q in range(16):
        c.h(q)
    with pytest.raises(QubitLimitError, match=re.escape("Cannot run the program on device 'sc20': it acts on 16 qubits, more than the 14 that can be simulated")):
        fit_circuit(c, load_device("sc20"))


def test_devices_that_do_not_unroll_take_natives_only():
    strict = dataclasses.replace(load_device("sc20"), id="sc20-strict", unroll=False)
    assert fit_circuit(Circuit(2).sx(0).cz(0, 1), strict).count_ops() == {"sx": 1, "cz": 1}
    with pytest.raises(UnsupportedProgramError, match=re.escape("it runs its native operations only (cz, measure, reset, rz, sx, x), and the program uses cx, h.")):
        fit_circuit(Circuit(2).h(0).cx(0, 1), strict)


def test_operations_the_device_lacks():
    no_reset = dataclasses.replace(
        load_device("training5"), id="no-reset",
        operations=tuple(op for op in load_device("training5").operations if op.name != "reset"),
    )
    with pytest.raises(UnsupportedProgramError, match=re.escape("Cannot run 'reset' on device 'no-reset': it is not one of its operations")):
        fit_circuit(Circuit(1).reset(0), no_reset)
