"""OpenQASM 2/3 reading and writing: corpus round trips, unitary oracles,
random circuits and every error path."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qlab.circuit import GATES, Circuit, Condition, dump_qasm, gate_matrix, load_qasm
from qlab.circuit import qasm as qasm_module
from qlab.circuit.gates import controlled
from qlab.circuit.qasm import reader as reader_module
from qlab.circuit.qasm.tables import DEFINITIONS, library_call
from qlab.exceptions import (
    QasmError, QasmLimitError, QasmQubitLimitError, QlabTypeError, QubitLimitError, UnsupportedQasmError,
)

CORPUS_DIR = Path(__file__).parent / "qasm_corpus"
CORPUS = sorted(CORPUS_DIR.glob("*.qasm"))
V2_UNREPRESENTABLE = {
    "qasm3_delays.qasm": "OpenQASM 2 has no delay",
    "qasm3_mid_circuit.qasm": "not a whole register",
}
H2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
H3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\n'
"""Headers; the first statement after them is on line 5."""


# ----------------------------------------------------------- helpers


def full_operator(matrix: np.ndarray, qubits, n: int) -> np.ndarray:
    """``matrix`` on ``qubits`` of ``n`` (qubit 0 the most significant factor)."""
    k = len(qubits)
    op = np.kron(matrix, np.eye(2 ** (n - k))).reshape((2,) * 2 * n)
    order = list(qubits) + [q for q in range(n) if q not in qubits]
    back = list(np.argsort(order))
    return op.transpose(back + [n + i for i in back]).reshape(2**n, 2**n)


def unitary(circuit: Circuit) -> np.ndarray:
    n = circuit.num_qubits
    u = np.eye(2**n, dtype=complex)
    for ins in circuit:
        m = ins.matrix if ins.name == "unitary" else gate_matrix(ins.name, ins.params)
        u = full_operator(m, ins.qubits, n) @ u
    return u


def assert_equal_up_to_phase(a: np.ndarray, b: np.ndarray) -> None:
    k = np.unravel_index(np.argmax(np.abs(b)), b.shape)
    assert abs(a[k]) > 1e-9
    np.testing.assert_allclose(a, a[k] / b[k] * b, atol=1e-9)


def with_whole_register_conditions(circuit: Circuit, registers=None) -> Circuit:
    """A copy whose conditions covering a whole register (of ``registers``, default all) name it."""
    out = Circuit()
    for reg in circuit.qregs:
        out.add_qreg(reg.name, reg.size)
    for reg in circuit.cregs:
        out.add_creg(reg.name, reg.size)
    for ins in circuit:
        cond = ins.condition
        for reg in circuit.cregs:
            if cond is not None and tuple(reg) == cond.bits and (registers is None or reg.name in registers):
                cond = Condition(cond.bits, cond.value, reg.name)
        out.append(
            ins.name, ins.qubits, ins.params, clbits=ins.clbits, condition=cond,
            matrix=ins.matrix, label=ins.label, unit=ins.unit,
        )
    return out


def read(path: Path) -> Circuit:
    return load_qasm(path.read_text())


# ------------------------------------------------------------ corpus


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_corpus_round_trips_through_qasm3(path):
    first = read(path)
    text = dump_qasm(first, version=3)
    again = load_qasm(text)
    assert again == first
    assert dump_qasm(again, version=3) == text


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_corpus_round_trips_through_qasm2_where_representable(path):
    first = read(path)
    if path.name in V2_UNREPRESENTABLE:
        with pytest.raises(UnsupportedQasmError, match=V2_UNREPRESENTABLE[path.name]):
            dump_qasm(first, version=2)
        return
    again = load_qasm(dump_qasm(first, version=2))
    assert again == with_whole_register_conditions(first)


def test_corpus_has_every_library_gate():
    for name in ("qasm3_library_gates.qasm", "qasm2_library_gates.qasm"):
        assert set(read(CORPUS_DIR / name).count_ops()) == set(GATES)


@pytest.mark.parametrize("name", ["qasm3_library_gates.qasm", "qasm2_library_gates.qasm"])
def test_library_gates_match_pyqasm_decompositions(name, monkeypatch):
    text = (CORPUS_DIR / name).read_text()
    kept = load_qasm(text)
    if "cu3" in text:  # pyqasm decomposes cu3 as Qiskit's copy of qelib1.inc does: no controlled phase
        monkeypatch.setattr(reader_module, "library_call", lambda g, p: ("cu", (*p, 0.0)) if g == "cu3" else library_call(g, p))
        kept = load_qasm(text)
        monkeypatch.undo()
    monkeypatch.setattr(qasm_module.library, "external_gates", lambda program: [])
    decomposed = load_qasm(text)
    assert len(decomposed) > len(kept)
    assert_equal_up_to_phase(unitary(decomposed), unitary(kept))


def test_decomposed_gates_match_their_matrices():
    swap = gate_matrix("swap")
    ecr = np.array([[0, 1, 0, 1j], [1, 0, -1j, 0], [0, 1j, 0, 1], [-1j, 0, 1, 0]]) / np.sqrt(2)
    expected = [
        (controlled(np.diag([1, 1j])), (0, 1)),
        (controlled(np.diag([1, -1j])), (1, 2)),
        (controlled(gate_matrix("sx")), (2, 3)),
        (swap @ ecr @ swap, (0, 3)),  # ecr's usual matrix is written with qubit 0 least significant
        (controlled(gate_matrix("x"), 3), (0, 1, 2, 3)),
        (np.diag([np.exp(0.3j), 1, 1, 1]), (1, 2)),
        (np.diag([1, np.exp(0.75j * np.pi)]), (0,)),
    ]
    want = np.eye(16)
    for m, qubits in expected:
        want = full_operator(m, qubits, 4) @ want
    assert_equal_up_to_phase(unitary(read(CORPUS_DIR / "qasm3_decomposed.qasm")), want)


def test_nested_definitions_match_a_hand_expansion():
    got = read(CORPUS_DIR / "qasm3_nested_gates.qasm")

    def rot(c, theta, phi, lam, a):
        return c.rz(-lam, a).ry(2 * theta, a).rz(phi + math.pi / 2, a)

    def ent(c, t, a, b):
        return rot(rot(c, t, -t, t / 2, a).cx(a, b), -t, math.pi, 0, b)

    want = Circuit(3)
    ent(ent(want, 0.125, 0, 1), 0.25, 1, 2)
    want = want.compose(ent(Circuit(3), 0.125 / 3, 0, 2).inverse())
    block = ent(ent(Circuit(3), -0.75, 2, 0), -1.5, 0, 1).compose(ent(Circuit(3), -0.25, 2, 1).inverse())
    want = want.compose(block.inverse())
    rot(rot(want, 0.1, 0.2, 0.3, 1), 0.1, 0.2, 0.3, 1)
    # ctrl @ u3: stdgates.inc's u3 is e^(-i(phi+lam)/2) times the library's, a controlled phase here
    want.cx(2, 0).crz(0.4, 1, 2).cu(0.1, 0.2, 0.3, -0.25, 0, 1).x(1).ch(1, 2).x(1)
    want.u3(-math.pi / 2, 0.25, -0.5, 0).sxdg(1)
    assert_equal_up_to_phase(unitary(got), unitary(want))
    assert {"crz", "cu", "ch", "sxdg"} <= set(got.count_ops())


# ----------------------------------------------------------- reading


def test_registers_keep_names_sizes_and_order():
    c = read(CORPUS_DIR / "qasm3_registers.qasm")
    assert [(r.name, r.size) for r in c.qregs] == [("data", 2), ("ancilla", 1), ("extra", 3)]
    assert [(r.name, r.size) for r in c.cregs] == [("result", 2), ("check", 1), ("syndrome", 3)]
    assert c.instructions[:2] == Circuit(6).h(0).h(1).instructions
    assert c.instructions[-1].name == "measure" and c.instructions[-1].clbits == (0,)


def test_qasm2_aliases_and_expressions_become_library_gates():
    c = load_qasm(
        H2 + "u1(pi/2) q[0];\nu(1, 2, 3) q[1];\nU(0.5*2, -pi, 3/2) q[0];\nCX q[0], q[1];\n"
        "cu1(-0.25) q[0], q[1];\ncu3(1, 2, 3) q[1], q[0];\n"
    )
    want = Circuit(2, 2).p(math.pi / 2, 0).u3(1, 2, 3, 1).u3(1.0, -math.pi, 1.5, 0).cx(0, 1)
    want.cp(-0.25, 0, 1).cu(1, 2, 3, -2.5, 1, 0)
    assert c == want


def test_qasm3_stdgates_aliases_become_library_gates():
    c = load_qasm(H3 + "phase(0.1) q[0];\ncphase(0.2) q[0], q[1];\ncnot q[1], q[0];\nid q[1];\n")
    assert c == Circuit(2, 2).p(0.1, 0).cp(0.2, 0, 1).cx(1, 0).id(1)


def test_modifiers_become_library_gates_where_the_library_has_them():
    c = load_qasm(
        H3 + "ctrl @ s q[0], q[1];\ninv @ ctrl @ t q[1], q[0];\nctrl @ u2(0.1, 0.2) q[0], q[1];\n"
        "inv @ sx q[0];\ninv @ u3(0.1, 0.2, 0.3) q[1];\n"
    )
    want = Circuit(2, 2).cp(math.pi / 2, 0, 1).cp(-math.pi / 4, 1, 0).cu(math.pi / 2, 0.1, 0.2, -(0.1 + 0.2) / 2, 0, 1)
    want.sxdg(0).u3(-0.1, -0.3, -0.2, 1)
    assert c == want


# The published definitions, written here from the specifications, not from qlab:
# OpenQASM 3 (source/language/gates.rst, standard_library.rst and examples/stdgates.inc of
# openqasm/openqasm) and OpenQASM 2 (examples/qelib1.inc of its OpenQASM2.x branch).


def e(angle: float) -> complex:
    return np.exp(1j * angle)


def oq3_U(theta, phi, lam):
    """The OpenQASM 3 built-in U, as gates.rst writes it."""
    return 0.5 * np.array(
        [[1 + e(theta), -1j * e(lam) * (1 - e(theta))], [1j * e(phi) * (1 - e(theta)), e(phi + lam) * (1 + e(theta))]]
    )


def oq2_U(theta, phi, lam):
    """The OpenQASM 2 built-in U: Rz(phi) Ry(theta) Rz(lam) (arXiv:1707.03429)."""
    rz = lambda a: np.diag([e(-a / 2), e(a / 2)])  # noqa: E731
    ry = np.array([[np.cos(theta / 2), -np.sin(theta / 2)], [np.sin(theta / 2), np.cos(theta / 2)]])
    return rz(phi) @ ry @ rz(lam)


def ctrl(u, controls: int = 1):
    """|0><0| x I + |1><1| x u, controls first."""
    d = u.shape[0] * 2**controls
    out = np.eye(d, dtype=complex)
    out[-u.shape[0]:, -u.shape[0]:] = u
    return out


STD_U3 = lambda t, p, l: e(-(p + l + t) / 2) * oq3_U(t, p, l)  # noqa: E731  gate u3 { gphase(-(φ+λ+θ)/2); U(θ, φ, λ) q; }
STD_U2 = lambda p, l: e(-(p + l + np.pi / 2) / 2) * oq3_U(np.pi / 2, p, l)  # noqa: E731
STDGATES_CONTROLLED = {  # gate cX(...) a, b { ctrl @ X(...) a, b; } with X from stdgates.inc
    "cx": lambda: ctrl(e(-np.pi / 2) * oq3_U(np.pi, 0, np.pi)),
    "cy": lambda: ctrl(e(-np.pi / 2) * oq3_U(np.pi, np.pi / 2, np.pi / 2)),
    "cz": lambda: ctrl(np.diag([1, e(np.pi)])),
    "ch": lambda: ctrl(e(-np.pi / 4) * oq3_U(np.pi / 2, 0, np.pi)),
    "cp": lambda lam: ctrl(np.diag([1, e(lam)])),  # p(λ) a { ctrl @ gphase(λ) a; }
    "crx": lambda t: ctrl(e(-t / 2) * oq3_U(t, -np.pi / 2, np.pi / 2)),
    "cry": lambda t: ctrl(e(-t / 2) * oq3_U(t, 0, 0)),
    "crz": lambda t: ctrl(e(-t / 2) * oq3_U(0, 0, t)),
    # cu(θ, φ, λ, γ) a, b { p(γ-θ/2) a; ctrl @ U(θ, φ, λ) a, b; }
    "cu": lambda t, p, l, g: ctrl(oq3_U(t, p, l)) @ np.kron(np.diag([1, e(g - t / 2)]), np.eye(2)),
}


@pytest.mark.parametrize("name", sorted(STDGATES_CONTROLLED))
def test_stdgates_controlled_gates_follow_the_published_definitions(name):
    params = (0.7, -1.3, 2.1, 0.4)[: GATES[name].num_params]
    call = f"{name}({', '.join(map(str, params))})" if params else name
    got = unitary(load_qasm(H3 + f"{call} q[0], q[1];\n"))
    np.testing.assert_allclose(got, STDGATES_CONTROLLED[name](*params), atol=1e-12)


@pytest.mark.parametrize(
    "call,want",
    [
        ("ctrl @ u3(0.7, -1.3, 2.1) q[0], q[1];", ctrl(STD_U3(0.7, -1.3, 2.1))),
        ("ctrl @ u2(-1.3, 2.1) q[0], q[1];", ctrl(STD_U2(-1.3, 2.1))),
        ("ctrl @ U(0.7, -1.3, 2.1) q[0], q[1];", ctrl(oq3_U(0.7, -1.3, 2.1))),
        ("ctrl @ u1(0.5) q[0], q[1];", ctrl(oq3_U(0, 0, 0.5))),
        ("ctrl @ rz(0.5) q[0], q[1];", ctrl(e(-0.25) * oq3_U(0, 0, 0.5))),
        ("inv @ ctrl @ u3(0.7, -1.3, 2.1) q[0], q[1];", ctrl(STD_U3(0.7, -1.3, 2.1)).conj().T),
        ("ctrl @ inv @ u2(-1.3, 2.1) q[0], q[1];", ctrl(STD_U2(-1.3, 2.1).conj().T)),
        ("ctrl @ inv @ U(0.7, -1.3, 2.1) q[0], q[1];", ctrl(oq3_U(0.7, -1.3, 2.1).conj().T)),
        ("ctrl(2) @ u3(0.7, -1.3, 2.1) q[0], q[1], q[2];", ctrl(STD_U3(0.7, -1.3, 2.1), 2)),
    ],
)
def test_controlled_u_gates_keep_the_stdgates_phase(call, want):
    header = H3.replace("qubit[2]", "qubit[3]") if "ctrl(2)" in call else H3
    np.testing.assert_allclose(unitary(load_qasm(header + call + "\n")), want, atol=1e-12)


def test_stdgates_u3_equals_the_openqasm2_U_and_qelib1_cu3_controls_it():
    np.testing.assert_allclose(STD_U3(0.7, -1.3, 2.1), oq2_U(0.7, -1.3, 2.1), atol=1e-12)
    got = load_qasm(H2 + "cu3(0.7, -1.3, 2.1) q[0], q[1];\n")
    np.testing.assert_allclose(unitary(got), ctrl(oq2_U(0.7, -1.3, 2.1)), atol=1e-12)
    assert got == load_qasm(H3 + "ctrl @ u3(0.7, -1.3, 2.1) q[0], q[1];\n").copy() and got.instructions[0].name == "cu"


QELIB1_BODIES = {  # published qelib1.inc bodies, with u1 = U(0,0,λ) and u3 = U(θ,φ,λ) of OpenQASM 2
    "cu3(0.7, -1.3, 2.1)": [
        ("u1", (((2.1 - -1.3) / 2),), (1,)), ("cx", (), (0, 1)), ("u3", (-0.35, 0, -(-1.3 + 2.1) / 2), (1,)),
        ("cx", (), (0, 1)), ("u3", (0.35, -1.3, 0), (1,)),
    ],
    "cu1(0.9)": [("u1", (0.45,), (0,)), ("cx", (), (0, 1)), ("u1", (-0.45,), (1,)), ("cx", (), (0, 1)), ("u1", (0.45,), (1,))],
    "crz(0.9)": [("u1", (0.45,), (1,)), ("cx", (), (0, 1)), ("u1", (-0.45,), (1,)), ("cx", (), (0, 1))],
    "cy": [("u1", (-np.pi / 2,), (1,)), ("cx", (), (0, 1)), ("u1", (np.pi / 2,), (1,))],
    "cz": [("u3", (np.pi / 2, 0, np.pi), (1,)), ("cx", (), (0, 1)), ("u3", (np.pi / 2, 0, np.pi), (1,))],
}


@pytest.mark.parametrize("call", sorted(QELIB1_BODIES))
def test_qelib1_controlled_gates_follow_their_published_bodies(call):
    """Up to a global phase, the only freedom an OpenQASM 2 gate has (there is no ctrl modifier)."""
    ops = {"u1": lambda lam: oq2_U(0, 0, lam), "u3": oq2_U, "cx": lambda: ctrl(np.array([[0, 1], [1, 0]]))}
    want = np.eye(4, dtype=complex)
    for gate, params, qubits in QELIB1_BODIES[call]:
        want = full_operator(ops[gate](*params), qubits, 2) @ want
    assert_equal_up_to_phase(unitary(load_qasm(H2 + call + " q[0], q[1];\n")), want)


def test_other_modified_gates_become_labelled_unitaries():
    c = load_qasm(H3 + "ctrl @ sx q[0], q[1];\ninv @ iswap q[1], q[0];\n")
    assert [(i.name, i.label, i.qubits) for i in c] == [
        ("unitary", "ctrl(1) @ sx", (0, 1)), ("unitary", "inv @ iswap", (1, 0))
    ]
    want = full_operator(gate_matrix("iswap").conj().T, (1, 0), 2) @ controlled(gate_matrix("sx"))
    np.testing.assert_allclose(unitary(c), want, atol=1e-12)


def test_library_named_definitions_are_trusted_only_when_they_match():
    c = read(CORPUS_DIR / "qasm2_qiskit_export.qasm")
    assert [i.name for i in c][:5] == ["rzz", "sx", "swap", "rxx", "ry"]
    assert c.instructions[4].params == (1.25,)


def test_a_misleading_definition_of_a_standard_gate_is_inlined():
    c = load_qasm('OPENQASM 3.0;\ngate h a { U(pi, 0, pi) a; }\nqubit[1] q;\nh q[0];\n')
    assert c == Circuit(1).u3(math.pi, 0, math.pi, 0)


def test_global_phase_is_dropped():
    assert load_qasm(H3 + "gphase(0.3);\nx q[0];\n") == Circuit(2, 2).x(0)


def test_conditions_from_if_else_and_comparisons():
    c = read(CORPUS_DIR / "qasm3_mid_circuit.qasm")
    conditioned = [(i.name, i.qubits, i.condition) for i in c if i.condition is not None]

    def whole(value):
        return Condition((0, 1), value, "c")

    assert conditioned == [
        ("x", (1,), Condition((0,), 1)),
        ("h", (2,), Condition((0,), 1)),
        ("z", (0,), whole(3)),
        ("rx", (1,), whole(3)),
        ("x", (0,), whole(2)),  # if (c == 2) ... else: the other patterns, c == 3 or c[1] == 0
        ("y", (0,), whole(3)),
        ("y", (0,), Condition((1,), 0)),
        ("s", (2,), Condition((1,), 1)),  # c >= 2
        ("t", (1,), whole(0)),  # c != 1
        ("t", (1,), Condition((1,), 1)),
        ("sdg", (1,), Condition((1,), 0)),
        ("reset", (2,), whole(1)),
        ("x", (1,), Condition((2,), 1, "d")),
        ("measure", (1,), Condition((2,), 1, "d")),
    ]


def test_one_bit_register_compared_whole_names_the_register():
    whole = load_qasm(H3 + "bit d;\nd = measure q[0];\nif (d == 1) { x q[1]; }\n")
    bit = load_qasm(H3 + "bit d;\nd = measure q[0];\nif (d[0] == 1) { x q[1]; }\n")
    assert whole.instructions[-1].condition == Condition((2,), 1, "d")
    assert bit.instructions[-1].condition == Condition((2,), 1)


def test_qasm2_conditions_are_register_conditions():
    c = load_qasm(H2 + "creg d[1];\nmeasure q -> c;\nif(c==2) x q[0];\nif(d==1) reset q[1];\n")
    assert [i.condition for i in c][-2:] == [Condition((0, 1), 2, "c"), Condition((2,), 1, "d")]


def test_delays_keep_written_units_and_read_computed_ones_in_ns():
    c = read(CORPUS_DIR / "qasm3_delays.qasm")
    delays = [(i.qubits[0], i.params[0], i.unit) for i in c if i.name == "delay"]
    assert delays == [
        (0, 100.0, "ns"), (0, 1.5, "us"), (1, 1.5, "us"), (1, 2.0, "ms"), (0, 0.5, "s"),
        (1, 250.0, "ns"), (0, 500.0, "ns"), (1, 20.0, "ns"),
    ]
    assert c.instructions[-2].condition == Condition((0,), 1)


def test_classical_constants_loops_and_subroutines_are_evaluated():
    c = read(CORPUS_DIR / "qasm3_classical_consts.qasm")
    theta = math.pi / 7
    want = Circuit(4, 4)
    for i in range(3):
        want.h(i).crx(theta * (i + 1), i, i + 1)
    want.rz(0.5 * math.pi / 3, 0).x(1).x(2).x(3).rx(theta, 3).measure(range(4), range(4))
    assert c == want


def test_loading_leaves_no_trace_in_the_interpreter(capfd):
    had, limit = hasattr(sys, "tracebacklimit"), getattr(sys, "tracebacklimit", None)
    for text in (H3 + "h q[0]\nx q[1];\n", H3 + "foo q[0];\n", H3 + "h q[9];\n"):
        with pytest.raises(QasmError):
            load_qasm(text)
    assert (hasattr(sys, "tracebacklimit"), getattr(sys, "tracebacklimit", None)) == (had, limit)
    assert capfd.readouterr() == ("", "")


def test_circuit_methods_delegate_to_this_module():
    c = Circuit(1).sx(0)
    assert Circuit.from_qasm(c.to_qasm(version=2)) == c


# ----------------------------------------------------------- writing


def test_qasm2_text():
    c = Circuit(2).p(0.5, 0).cp(0.25, 0, 1).swap(0, 1)
    c.add_creg("c", 2)
    c.measure(0, 0).x(1).c_if("c", 1)
    assert dump_qasm(c, version=2) == (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
        "gate swap a, b { cx a, b; cx b, a; cx a, b; }\n"
        "qreg q[2];\ncreg c[2];\n"
        "u1(0.5) q[0];\ncu1(0.25) q[0], q[1];\nswap q[0], q[1];\n"
        "measure q[0] -> c[0];\nif(c==1) x q[1];\n"
    )


def test_qasm3_text_groups_instructions_under_one_if():
    c = Circuit(2, 2).measure(0, 0).x(1).c_if("c", 1).h(0).c_if("c", 1).delay(20, 1, unit="ns")
    c.append("z", (0,), condition=Condition((0, 1), 2))
    assert dump_qasm(c) == (
        'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\n'
        "c[0] = measure q[0];\n"
        "if (c == 1) {\n  x q[1];\n  h q[0];\n}\n"
        "delay[20.0ns] q[1];\n"
        "if (c[0] == 0) {\n  if (c[1] == 1) {\n    z q[0];\n  }\n}\n"
    )


def test_a_measurement_into_a_condition_bit_ends_the_if_block():
    c = Circuit(2, 1).x(0).c_if(0, 1).measure(1, 0).c_if(0, 1).x(1).c_if(0, 1)
    text = dump_qasm(c)
    assert text.count("if (c[0] == 1)") == 2
    assert load_qasm(text) == c


def test_parameters_keep_full_precision():
    values = (1 / 3, 1e-5, -2.5e-300, 123456789.123456789, -0.0)
    c = Circuit(1)
    for v in values:
        c.rz(v, 0)
    for version in (2, 3):
        text = dump_qasm(c, version=version)
        assert "rz(1.0e-05)" in text and "rz(0.3333333333333333)" in text
        assert [i.params[0] for i in load_qasm(text)] == list(values)


def test_delay_units_without_an_openqasm_spelling_are_converted():
    c = Circuit(1).delay(1.5, 0, unit="µs").delay(2500.0, 0, unit="ps")
    assert [(i.params[0], i.unit) for i in load_qasm(dump_qasm(c))] == [(1.5, "us"), (2.5, "ns")]


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_written_definitions_have_the_library_unitary(name):
    d = GATES[name]
    params = tuple(0.3 + 0.7 * i for i in range(d.num_params))
    c = Circuit(d.num_qubits).append(name, range(d.num_qubits), params)
    text = dump_qasm(c, version=2)
    assert f"gate {name}" in text
    renamed = text.replace(f"gate {name}", "gate mine").replace(f"\n{name}", "\nmine")
    inlined = load_qasm(renamed)
    assert name not in inlined.count_ops()
    assert_equal_up_to_phase(unitary(inlined), gate_matrix(name, params))


def test_only_used_gates_get_definitions():
    assert "gate" not in dump_qasm(Circuit(2).h(0).cx(0, 1).p(0.1, 1), version=2)
    assert dump_qasm(Circuit(2).rzz(0.1, 0, 1)).count("gate ") == 1


def test_empty_circuit_round_trips():
    for version in (2, 3):
        assert load_qasm(dump_qasm(Circuit(), version=version)) == Circuit()


# ------------------------------------------------- random circuits


@st.composite
def circuits(draw, version: int) -> Circuit:
    """Random circuits of library gates and non-gate instructions that ``version`` can express."""
    qsizes = draw(st.lists(st.integers(1, 2), min_size=1, max_size=2))
    csizes = draw(st.lists(st.integers(1, 3), max_size=2))
    c = Circuit()
    for name, size in zip(("q", "anc"), qsizes):
        c.add_qreg(name, size)
    for name, size in zip(("c", "flag"), csizes):
        c.add_creg(name, size)
    angles = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
    gates = [g for g, d in GATES.items() if d.num_qubits <= c.num_qubits]
    kinds = ["gate"] * 4 + ["measure"] * bool(c.cregs) + ["reset", "barrier"] + ["delay"] * (version == 3)
    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.sampled_from(kinds))
        order = draw(st.permutations(range(c.num_qubits)))
        condition = draw(conditions(c, version)) if kind != "barrier" or version == 3 else None
        if kind == "gate":
            name = draw(st.sampled_from(gates))
            params = draw(st.tuples(*[angles] * GATES[name].num_params))
            c.append(name, order[: GATES[name].num_qubits], params, condition=condition)
        elif kind == "measure":
            clbit = draw(st.integers(0, c.num_clbits - 1))
            c.append("measure", order[:1], clbits=(clbit,), condition=condition)
        elif kind == "barrier":
            c.append("barrier", order[: draw(st.integers(1, c.num_qubits))], condition=condition)
        elif kind == "delay":
            value, unit = draw(st.floats(0, 1e6, allow_nan=False)), draw(st.sampled_from(["s", "ms", "us", "ns"]))
            c.append("delay", order[:1], (value,), unit=unit, condition=condition)
        else:
            c.append("reset", order[:1], condition=condition)
    return c


@st.composite
def conditions(draw, c: Circuit, version: int) -> Condition | None:
    options = [None] + [("reg", r) for r in c.cregs]
    if version == 3:
        options += [("bit", b) for b in range(c.num_clbits)]
    choice = draw(st.sampled_from(options))
    if choice is None:
        return None
    if choice[0] == "bit":
        return Condition((choice[1],), draw(st.integers(0, 1)))
    reg = choice[1]
    return Condition(tuple(reg), draw(st.integers(0, 2**reg.size - 1)), reg.name)


def registers_compared_whole(c: Circuit) -> set[str]:
    return {i.condition.register for i in c if i.condition is not None and i.condition.register is not None}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(circuits(version=3))
def test_random_circuits_round_trip_through_qasm3(c):
    again = load_qasm(dump_qasm(c, version=3))
    assert again == with_whole_register_conditions(c, registers_compared_whole(c))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(circuits(version=2))
def test_random_circuits_round_trip_through_qasm2(c):
    assert load_qasm(dump_qasm(c, version=2)) == c


# ------------------------------------------------------- read errors


def test_non_str_input_is_a_type_error():
    with pytest.raises(QlabTypeError, match="pass the program as a str"):
        load_qasm(None)
    with pytest.raises(QlabTypeError, match=r"Decode it first"):
        load_qasm(H3.encode())


@pytest.mark.parametrize("text", ["", "   \n\t"])
def test_empty_text(text):
    with pytest.raises(QasmError, match="the text is empty"):
        load_qasm(text)


@pytest.mark.parametrize("text", ["hello world", "qubit[2] q;\nh q[0];\n", "\x00\x01\x02"])
def test_garbage_without_a_header(text):
    with pytest.raises(QasmError, match=r"does not start with an 'OPENQASM 2.0;' or 'OPENQASM 3.0;'") as info:
        load_qasm(text)
    assert info.value.line == 1


@pytest.mark.parametrize(
    "text, line",
    [
        (H3 + "h q[0]\nx q[1];\n", 6),
        (H3 + "h q[0;\n", 5),
        (H2 + "measure q[0] => c[0];\n", 5),
        ("OPENQASM 3.0;\n\x00\n", 2),
        ("OPENQASM 3.0;\nthis is not qasm at all\n", 2),
    ],
)
def test_syntax_errors_name_the_line(text, line):
    with pytest.raises(QasmError, match=rf"syntax error at line {line}, column \d+") as info:
        load_qasm(text)
    assert info.value.line == line
    assert info.value.__cause__ is not None


@pytest.mark.parametrize(
    "text, message",
    [
        (H3 + "foo q[0];\n", "undeclared QASM operation: foo"),
        (H2 + "foo q[0];\n", "undeclared QASM operation: foo"),
        (H3 + "h r[0];\n", "Missing qubit register declaration for 'r'"),
        (H3 + "d[0] = measure q[0];\n", "'d'"),
        (H3 + "cx q[0];\n", "Invalid number of qubits 1 for operation cx"),
        (H3 + "rx q[0];\n", "Expected 1 parameter for gate 'rx', but got 0"),
        (H3 + "rx(0.1, 0.2) q[0];\n", "Expected 1 parameter for gate 'rx', but got 2"),
        (H3 + "h q[5];\n", "Index 5 out of range for register of size 2"),
        (H2 + "h q[5];\n", "Index 5 out of range for register of size 2"),
        (H3 + "c[3] = measure q[0];\n", "Index 3 out of range for register of size 2"),
        (H3 + "cx q[0], q[0];\n", "Duplicate qubit"),
    ],
)
def test_semantic_errors_name_the_line_and_chain_the_cause(text, message):
    with pytest.raises(QasmError, match=rf"Cannot read OpenQASM at line 5 .*{message}") as info:
        load_qasm(text)
    assert info.value.line == 5
    assert not isinstance(info.value, UnsupportedQasmError)
    assert info.value.__cause__ is not None


def test_unsupported_version():
    with pytest.raises(QasmError, match="Unsupported OpenQASM version"):
        load_qasm("OPENQASM 4.0;\nqubit q;\n")


UNSUPPORTED = [
    ("while", "while (c[0] == 0) { h q[0]; c[0] = measure q[0]; }\n", "WhileLoop", 5, "no classical loops"),
    ("box", "box { x q[0]; }\n", "Box", 5, "no timing boxes"),
    ("defcal", "defcal x $0 { }\n", "CalibrationDefinition", 5, "pulse-level"),
    ("cal", "cal { }\n", "CalibrationStatement", 5, "pulse-level"),
    ("defcalgrammar", 'defcalgrammar "openpulse";\n', "CalibrationGrammarDeclaration", 5, "pulse-level"),
    ("input", "input float theta;\n", "IODeclaration", 5, "run-time inputs or outputs"),
    ("output", "output bit r;\n", "IODeclaration", 5, "run-time inputs or outputs"),
    ("extern", "extern f(int) -> int;\n", "ExternDeclaration", 5, "external functions"),
    ("def returning", "def f(qubit a) -> bit { return measure a; }\n", "SubroutineDefinition", 5, "returns a value"),
    ("assignment", "int n = 1;\nn = n + 1;\n", "ClassicalAssignment", 6, "no classical computation"),
    ("bit assignment", "c[0] = 1;\n", "ClassicalAssignment", 5, "no classical computation"),
    ("computed from bits", "int n = c;\n", "ClassicalDeclaration", 5, "computed from measured bits"),
    ("initialised bits", 'bit[2] r = "01";\n', "ClassicalDeclaration", 5, "initial value"),
    ("end", "x q[0];\nend;\n", "EndStatement", 6, "remove it"),
    ("pragma", "pragma braket verbatim\n", "Pragma", 5, "pragmas"),
    ("annotation", "x q[1];\n@noise bar\nx q[0];\n", "Annotation", 6, "annotations"),
    ("dt", "delay[100dt] q[0];\n", "DurationLiteral", 5, "'dt' durations"),
    ("stretch", "stretch s;\ndelay[s] q[0];\n", "StretchType", 5, "fixed durations"),
    ("gate duration", "x[100ns] q[0];\n", "QuantumGate", 5, "has a duration"),
    ("physical qubit", "x q[0];\nh $0;\n", "Identifier", 6, "physical qubit"),
    ("measure without target", "measure q[0];\n", "QuantumMeasurementStatement", 5, "has no target"),
    ("measure into int", "int n;\nn = measure q[0];\n", "QuantumMeasurementStatement", 6, "not a bit register"),
    ("and condition", "if (c[0] == 1 && c[1] == 0) { x q[0]; }\n", "BranchingStatement", 5, "not one bit"),
    ("bare bit condition", "bit b;\nif (b) { x q[0]; }\n", "BranchingStatement", 6, "not one bit"),
    ("loop-indexed condition", "for int i in [0:1] {\n  if (c[i] == 1) { x q[0]; }\n}\n", "BranchingStatement", 6,
     r"'c\[i\] == 1' is not one bit \(at a literal index\)"),
    ("switch on bits", "switch (c) { case 1 { x q[0]; } }\n", "SwitchStatement", 5, "switch on measured bits"),
    ("break on bits", "for int i in [0:2] {\n  if (c[0] == 1) { break; }\n}\n", "BranchingStatement", 6,
     "leaving a loop"),
    ("overwritten condition", "if (c[0] == 1) { c[0] = measure q[0]; x q[1]; }\n", "BranchingStatement", 5,
     "measures into the bits"),
    ("overwritten with else", "if (c == 1) { c = measure q; } else { x q[1]; }\n", "BranchingStatement", 5,
     "measures into the bits"),
    ("include", 'include "mygates.inc";\n', "Include", 5, "cannot find 'mygates.inc'"),
]


@pytest.mark.parametrize("body, construct, line, reason", [u[1:] for u in UNSUPPORTED], ids=[u[0] for u in UNSUPPORTED])
def test_unsupported_constructs_name_the_construct_and_line(body, construct, line, reason):
    pattern = rf"Unsupported OpenQASM construct '{construct}' at line {line}: .*{reason}"
    with pytest.raises(UnsupportedQasmError, match=pattern) as info:
        load_qasm(H3 + body)
    assert info.value.line == line


def test_opaque_gates_are_unsupported():
    with pytest.raises(UnsupportedQasmError, match=r"'myop' at line 6: .*opaque") as info:
        load_qasm(H2 + "opaque myop a;\nmyop q[0];\n")
    assert info.value.line == 6


def test_a_measurement_ending_an_if_may_write_its_condition_bit():
    c = load_qasm(H3 + "if (c[0] == 1) { x q[1]; c[0] = measure q[1]; }\n")
    assert c == Circuit(2, 2).x(1).c_if(0, 1).measure(1, 0).c_if(0, 1)


# ------------------------------------------------------ write errors


def test_qasm2_cannot_condition_on_one_bit_of_a_larger_register():
    c = Circuit(2, 2).measure(0, 0).x(1).c_if(0, 1)
    with pytest.raises(UnsupportedQasmError, match=r"instruction 1 .*bits \(0,\), not a whole register.*version=3"):
        dump_qasm(c, version=2)


def test_qasm2_can_condition_on_the_bit_of_a_one_bit_register():
    c = Circuit(2, 1).measure(0, 0).x(1).c_if(0, 1)
    assert "if(c==1) x q[1];" in dump_qasm(c, version=2)


def test_qasm2_has_no_delay_or_conditioned_barrier():
    with pytest.raises(UnsupportedQasmError, match=r"OpenQASM 2 has no delay; use version=3"):
        dump_qasm(Circuit(1).delay(1.0, 0), version=2)
    c = Circuit(1, 1).barrier().c_if("c", 1)
    with pytest.raises(UnsupportedQasmError, match=r"conditioned on a barrier"):
        dump_qasm(c, version=2)


@pytest.mark.parametrize("version", [2, 3])
def test_matrix_gates_cannot_be_written(version):
    c = Circuit(2).h(0).unitary(np.eye(4), [0, 1], label="mine")
    with pytest.raises(UnsupportedQasmError, match=r"instruction 1 \(user gate 'mine' on qubits \(0, 1\)\)"):
        dump_qasm(c, version=version)


@pytest.mark.parametrize("version", [1, 4, "3", 3.5, True, None])
def test_bad_version(version):
    with pytest.raises(QasmError, match=r"allowed versions are 2 and 3"):
        dump_qasm(Circuit(1), version=version)


def test_dump_needs_a_circuit():
    with pytest.raises(QlabTypeError, match="pass a qlab Circuit"):
        dump_qasm("OPENQASM 3.0;")


@pytest.mark.parametrize("name, version", [("gate", 3), ("measure", 2), ("rx", 3), ("Anc", 2)])
def test_register_names_openqasm_cannot_write(name, version):
    c = Circuit()
    c.add_qreg(name, 1)
    with pytest.raises(QasmError, match=f"Cannot write register '{name}'"):
        dump_qasm(c, version=version)


@pytest.mark.parametrize(
    "text,declared",
    [
        ('OPENQASM 2.0; include "qelib1.inc"; qreg q[1000000000];', 1000000000),
        ("OPENQASM 3.0; qubit[3000] a; qubit[3000] b;", 6000),
        ("OPENQASM 3.0; qubit[500000000*2] q;", 1000000000),
        ('OPENQASM 2.0; include "qelib1.inc"; qreg q[500000000*2];', 1000000000),
        ("OPENQASM 3.0; const int n = 1000000000; qubit[n] q;", 1000000000),
        ("OPENQASM 3.0; const int k = 30; const int n = 2 ** k; qubit[n + 1] q;", 1073741825),
        ("OPENQASM 3.0; qubit[2 ** 100000] q;", None),
        ("OPENQASM 3.0; qubit[1 << 100000] q;", None),
    ],
)
def test_huge_registers_are_refused_before_they_are_expanded(text, declared):
    count = declared if declared is not None else "an unbounded number of"
    with pytest.raises(QasmQubitLimitError, match=f"at line 1: the program declares {count} qubits, more than max_qubits=4096 allowed here") as err:
        load_qasm(text)
    assert err.value.line == 1 and isinstance(err.value, QubitLimitError) and isinstance(err.value, QasmError)


def test_max_qubits_counts_every_declared_qubit():
    assert load_qasm("OPENQASM 3.0; qubit[5] q; qubit r;", max_qubits=6).num_qubits == 6
    with pytest.raises(QubitLimitError, match="declares 6 qubits, more than max_qubits=5 allowed here"):
        load_qasm("OPENQASM 3.0; qubit[5] q; qubit r;", max_qubits=5)


@pytest.mark.parametrize(
    "text,line,match",
    [
        ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[10000000];', 4,
         "the program declares 10000000 classical bits, more than max_clbits=65536 allowed here"),
        ("OPENQASM 3.0;\nconst int n = 40000;\nbit[n] a;\nbit[n] b;", 4,
         "the program declares 80000 classical bits, more than max_clbits=65536 allowed here"),
        ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nfor int i in [0:999999] {\n  h q[0];\n}', 4,
         "the program expands to 1000001 or more statements .* more than max_statements=100000 allowed here"),
        ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nconst int n = 1000;\n'
         "for int i in [0:n] {\n  for int j in [0:i] {\n    x q[0];\n  }\n}", 5,
         "expands to 1002003 or more statements"),
        ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\ngate a q { h q; h q; h q; h q; h q; h q; h q; h q; h q; h q; }\n'
         "gate b q { a q; a q; a q; a q; a q; a q; a q; a q; a q; a q; }\ngate c q { b q; b q; b q; b q; b q; b q; b q; b q; b q; b q; }\n"
         "gate d q { c q; c q; c q; c q; c q; c q; c q; c q; c q; c q; }\ngate e q { d q; d q; d q; d q; d q; d q; d q; d q; d q; d q; }\n"
         "e q[0];\ne q[0];", 9, "expands to 100001 or more statements"),
        ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[4000] q;\nfor int i in [1:30] {\n  h q;\n}', 4,
         "expands to 120001 or more statements"),
        ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\ndef f(qubit a) {\n  for int i in [0:99999] { x a; }\n}\n'
         "f(q[0]);\nf(q[0]);", 5, "expands to 100001 or more statements"),
        ("OPENQASM 3.0;\nqubit[1] q;\nfor int i in [0:999999] { }", 3, "expands to 1000001 or more statements"),
        ("OPENQASM 3.0;\nqubit[1] q;\nint n = 999999;\nfor int i in [0:n] { }", 4, "expands to 1000002 or more statements"),
        ("OPENQASM 3.0;\nqubit[1] q;\nfor int i in [0:999] {\n  for int j in [0:999] { }\n}", 3,
         "expands to 1000001 or more statements"),
        ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\npow(1000000) @ x q[0];', 4,
         "expands to 1000001 or more statements"),
    ],
)
def test_programs_over_a_size_limit_are_refused_at_once_with_the_limit_named(text, line, match):
    with pytest.raises(QasmLimitError, match=f"Cannot read OpenQASM at line {line}: .*{match}") as err:
        load_qasm(text)
    assert err.value.line == line


def test_the_text_size_limit_names_the_line_where_it_is_crossed():
    text = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\n' + "x q[0];\n" * 1000
    assert len(load_qasm(text, max_text_size=len(text))) == 1000
    with pytest.raises(QasmLimitError, match=r"the text has 8050 characters, more than max_text_size=100 allowed here \(crossed at line 10\)"):
        load_qasm(text, max_text_size=100)


def test_limits_can_be_raised_and_must_be_non_negative_ints():
    loop = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nfor int i in [0:9] { x q[0]; }'
    assert len(load_qasm(loop, max_statements=11)) == 10  # the declaration and ten unrolled x
    with pytest.raises(QasmLimitError, match=r"expands to 11 or more statements .* more than max_statements=10 allowed here"):
        load_qasm(loop, max_statements=10)
    assert load_qasm("OPENQASM 3.0; qubit q; bit[70000] c;", max_clbits=70000).num_clbits == 70000
    with pytest.raises(QlabTypeError, match=r"max_statements must be an int, got 1.5 \(float\)"):
        load_qasm(loop, max_statements=1.5)
    with pytest.raises(QlabTypeError, match="max_qubits must be non-negative, got -1"):
        load_qasm(loop, max_qubits=-1)
