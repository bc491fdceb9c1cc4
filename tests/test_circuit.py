"""The circuit IR (qlab.circuit.circuit, gates, instruction): building, inspecting and transforming circuits."""

from __future__ import annotations

import copy
import inspect
import math
import pydoc
import re

import numpy as np
import pytest
import qutip
from hypothesis import given, settings
from hypothesis import strategies as st

import reference as ref
from qlab import Circuit
from qlab.circuit import ALIASES, GATES, Condition, Instruction, Register, gate_matrix, is_unitary
from qlab.exceptions import CircuitError, QlabTypeError
from qlab.testing import assert_allclose_up_to_global_phase, random_circuit

S2 = 1 / math.sqrt(2)
INVERTIBLE = sorted(set(GATES) - {"iswap"})


def rebuilt(circuit: Circuit) -> Circuit:
    return eval(repr(circuit), {"Circuit": Circuit})


# ------------------------------------------------------------- builder
def test_gate_methods_are_fluent_and_record_instructions():
    c = Circuit(3)
    assert c.h(0) is c
    c.rx(0.5, 1).cx(2, 0).u3(0.1, 0.2, 0.3, 1).ccx(1, 2, 0)
    assert c.instructions == (
        Instruction("h", (0,)),
        Instruction("rx", (1,), (0.5,)),
        Instruction("cx", (2, 0)),
        Instruction("u3", (1,), (0.1, 0.2, 0.3)),
        Instruction("ccx", (1, 2, 0)),
    )
    assert len(c) == 5 and list(c) == list(c.instructions)


def test_every_library_gate_has_a_method():
    for name, gate in GATES.items():
        args = [0.1] * gate.num_params + list(range(gate.num_qubits))
        ins = getattr(Circuit(3), name)(*args).instructions[0]
        assert (ins.name, ins.qubits, ins.params) == (name, tuple(range(gate.num_qubits)), (0.1,) * gate.num_params)


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_aliases_build_the_library_gate(alias):
    target = GATES[ALIASES[alias]]
    args = [0.3] * target.num_params + list(range(target.num_qubits))
    assert getattr(Circuit(2), alias)(*args) == getattr(Circuit(2), target.name)(*args)
    assert Circuit(2).append(alias, range(target.num_qubits), [0.3] * target.num_params).instructions[0].name == target.name


def test_gate_methods_have_real_signatures_and_docstrings():
    assert str(inspect.signature(Circuit.rx)) == "(self, theta: 'float', qubit: 'int | Iterable[int]') -> 'Circuit'"
    assert list(inspect.signature(Circuit.cu).parameters) == ["self", "theta", "phi", "lam", "gamma", "control", "target"]
    assert list(inspect.signature(Circuit.ccx).parameters) == ["self", "control1", "control2", "target"]
    assert list(inspect.signature(Circuit.u1).parameters) == ["self", "lam", "qubit"]
    for name in [*GATES, *(a for a in ALIASES if a.isidentifier())]:
        method = getattr(Circuit, name)
        gate = GATES[ALIASES.get(name, name)]
        assert list(inspect.signature(method).parameters)[1:] == [*gate.param_names, *gate.qubit_names]
        assert method.__doc__.startswith(f"Append ``{name}(") and "Args:" in method.__doc__ and ">>> " in method.__doc__
    assert "rotation about X, exp(-i theta X/2)" in pydoc.render_doc(Circuit.rx, renderer=pydoc.plaintext)
    assert "rx(self, theta: 'float', qubit: 'int | Iterable[int]')" in pydoc.render_doc(Circuit.rx, renderer=pydoc.plaintext)
    assert Circuit(1).rx(theta=0.5, qubit=0) == Circuit(1).rx(0.5, 0)
    assert Circuit(2).crx(0.5, target=0, control=1) == Circuit(2).crx(0.5, 1, 0)


def test_gate_methods_broadcast_over_qubits():
    assert Circuit(3).h(range(3)) == Circuit(3).h(0).h(1).h(2)
    assert Circuit(3).rx(0.25, [2, 0]) == Circuit(3).rx(0.25, 2).rx(0.25, 0)
    assert Circuit(3).x(np.array([1, 2])) == Circuit(3).x(1).x(2)
    assert Circuit(4).cx(0, range(1, 4)) == Circuit(4).cx(0, 1).cx(0, 2).cx(0, 3)
    assert Circuit(4).cx((0, 1), (2, 3)) == Circuit(4).cx(0, 2).cx(1, 3)
    assert Circuit(4).crz(0.5, [0, 1], 3) == Circuit(4).crz(0.5, 0, 3).crz(0.5, 1, 3)
    assert Circuit(4).ccx(0, 1, [2, 3]) == Circuit(4).ccx(0, 1, 2).ccx(0, 1, 3)
    c = Circuit(qregs={"a": 2, "b": 2})
    assert c.cx(c.qreg("a"), c.qreg("b")) == Circuit(qregs={"a": 2, "b": 2}).cx(0, 2).cx(1, 3)
    assert Circuit(3, 3).measure(range(3), range(3)) == Circuit(3, 3).measure(0, 0).measure(1, 1).measure(2, 2)
    assert Circuit(3).reset(range(2)) == Circuit(3).reset(0).reset(1)
    assert Circuit(3).barrier(range(2)) == Circuit(3).barrier(0, 1)
    assert Circuit(2).h([]) == Circuit(2)


def test_broadcasting_errors_add_nothing():
    c = Circuit(3).x(0)
    with pytest.raises(CircuitError, match=re.escape("Cannot add 'h' on qubits (3,): qubit 3 is out of range")):
        c.h([1, 2, 3])
    with pytest.raises(CircuitError, match=r"Cannot add 'cx': its qubit arguments are lists of different lengths \(2 and 1\)"):
        c.cx([0, 1], [2])
    with pytest.raises(CircuitError, match=re.escape("Cannot add 'cx' on qubits (2, 2): a qubit appears more than once")):
        c.cx([0, 2], 2)
    with pytest.raises(QlabTypeError, match=r"each qubit must be an int index, got 'q0' \(str\)"):
        c.h("q0")
    assert c == Circuit(3).x(0)


@pytest.mark.parametrize(
    "typo,suggestion",
    [("hh", "'h'"), ("cnto", "'cnot'"), ("CX", "'cx'"), ("mesure", "'measure'"), ("measure_al", "'measure_all'")],
)
def test_a_misspelt_method_gets_a_suggestion(typo, suggestion):
    with pytest.raises(AttributeError, match=f"'Circuit' object has no attribute '{typo}'; did you mean {suggestion}"):
        getattr(Circuit(2), typo)


def test_an_unknown_method_without_close_match_points_at_the_library():
    with pytest.raises(AttributeError, match=r"no attribute 'frobnicate'; the gates are listed in qlab.circuit.GATES"):
        Circuit(1).frobnicate(0)
    assert not hasattr(Circuit(1), "__array__") and copy.deepcopy(Circuit(1).h(0)) == Circuit(1).h(0)


def test_measure_reset_barrier_delay_and_unitary_builders():
    c = Circuit(3, 3).measure([0, 2], [1, 0]).reset([0, 1]).barrier().barrier(2).delay(5, unit="ns").delay(1e-6, 1)
    c.unitary([[0, 1], [1, 0]], 2, label="flip")
    names = [(i.name, i.qubits, i.clbits) for i in c]
    assert names[:6] == [
        ("measure", (0,), (1,)), ("measure", (2,), (0,)), ("reset", (0,), ()), ("reset", (1,), ()),
        ("barrier", (0, 1, 2), ()), ("barrier", (2,), ()),
    ]
    delays = [i for i in c if i.name == "delay"]
    assert [(d.qubits, d.params, d.unit) for d in delays] == [((0,), (5.0,), "ns"), ((1,), (5.0,), "ns"), ((2,), (5.0,), "ns"), ((1,), (1e-6,), "s")]
    assert delays[0].duration_seconds == pytest.approx(5e-9)
    user = c.instructions[-1]
    assert user.name == "unitary" and user.label == "flip" and not user.matrix.flags.writeable
    assert c.count_ops() == {"measure": 2, "reset": 2, "barrier": 2, "delay": 4, "flip": 1}


def test_measure_all_adds_a_register():
    assert Circuit(2).measure_all().cregs == (Register("c", 2, 0),)
    c = Circuit(2, 1).measure_all()
    assert [r.name for r in c.cregs] == ["c", "meas"]
    assert [i.clbits for i in c if i.name == "measure"] == [(1,), (2,)]


def test_registers_map_to_global_indices():
    c = Circuit()
    a = c.add_qreg("a", 2)
    b = c.add_qreg("b", 3)
    m = c.add_creg("m", 2)
    assert (c.num_qubits, c.num_clbits) == (5, 2)
    assert b == Register("b", 3, 2) and c.qreg("b") is b and c.creg("m") is m
    assert (b[0], b[2], b[-1], a[1]) == (2, 4, 4, 1)
    assert list(b) == [2, 3, 4] and len(b) == 3
    c.cx(a[1], b[0]).measure(b[2], m[1])
    assert c.instructions[0].qubits == (1, 2) and c.instructions[1].clbits == (1,)
    with pytest.raises(IndexError, match="Register 'b' has 3 bits; index 3 is out of range"):
        b[3]


@pytest.mark.parametrize(
    "build,error,match",
    [
        (lambda c: c.add_qreg("q", 2), CircuitError, "Cannot add quantum register 'q': a register of that name exists"),
        (lambda c: c.add_creg("q", 2), CircuitError, "Cannot add classical register 'q': a register of that name exists"),
        (lambda c: c.add_qreg("1a", 2), CircuitError, "Cannot add quantum register '1a': the name must be an identifier"),
        (lambda c: c.add_creg("a b", 1), CircuitError, "the name must be an identifier"),
        (lambda c: c.add_creg(3, 1), CircuitError, "Cannot add classical register 3: the name must be an identifier"),
        (lambda c: c.add_qreg("r", 0), CircuitError, "Cannot add quantum register 'r': its size must be positive, got 0"),
        (lambda c: c.add_creg("r", -2), CircuitError, "its size must be positive, got -2"),
        (lambda c: c.add_qreg("r", 1.5), QlabTypeError, r"Cannot add quantum register 'r': the register size must be an int index, got 1.5 \(float\)"),
        (lambda c: c.qreg("nope"), CircuitError, r"No quantum register 'nope'; the circuit has \['q'\]"),
        (lambda c: c.creg("nope"), CircuitError, r"No classical register 'nope'; the circuit has \['c'\]"),
    ],
)
def test_register_errors(build, error, match):
    with pytest.raises(error, match=match):
        build(Circuit(2, 1))


def test_negative_sizes_in_the_constructor_are_rejected():
    with pytest.raises(CircuitError, match="Cannot add quantum register 'q': its size must be positive, got -1"):
        Circuit(-1)


# -------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "build,error,match",
    [
        (lambda c: c.cx(0, 5), CircuitError, re.escape("Cannot add 'cx' on qubits (0, 5): qubit 5 is out of range for a circuit with 3 qubits (allowed: 0..2).")),
        (lambda c: c.x(-1), CircuitError, "qubit -1 is out of range"),
        (lambda c: c.cx(1, 1), CircuitError, r"Cannot add 'cx' on qubits \(1, 1\): a qubit appears more than once"),
        (lambda c: c.ccx(0, 1, 0), CircuitError, "a qubit appears more than once"),
        (lambda c: c.rx(0), QlabTypeError, r"Cannot add 'rx': call it as rx\(theta, qubit\) \(1 parameter\(s\), then 1 qubit\(s\)\); got \(0\): missing a required argument: 'qubit'"),
        (lambda c: c.cx(0, 1, 2), QlabTypeError, r"call it as cx\(control, target\) .*got \(0, 1, 2\): too many positional arguments"),
        (lambda c: c.rz(0.1, qubits=0), QlabTypeError, r"call it as rz\(theta, qubit\) .*got \(0.1, qubits=0\)"),
        (lambda c: c.append("rx", [0], [0.1, 0.2]), CircuitError, r"'rx' takes 1 parameter\(s\), got 2: \(0.1, 0.2\)"),
        (lambda c: c.append("cx", [0]), CircuitError, r"'cx' acts on 2 qubit\(s\), got 1"),
        (lambda c: c.rx(math.nan, 0), CircuitError, "parameters must be finite, got nan"),
        (lambda c: c.rz(math.inf, 0), CircuitError, "parameters must be finite, got inf"),
        (lambda c: c.rx("0.1", 0), QlabTypeError, r"parameters must be real numbers, got '0.1' \(str\)"),
        (lambda c: c.rx(True, 0), QlabTypeError, r"parameters must be real numbers, got True \(bool\)"),
        (lambda c: c.rx(1j, 0), QlabTypeError, "parameters must be real numbers, got 1j"),
        (lambda c: c.x(1.0), QlabTypeError, r"each qubit must be an int index, got 1.0 \(float\)"),
        (lambda c: c.x(True), QlabTypeError, r"each qubit must be an int index, got True \(bool\)"),
        (lambda c: c.append("hadamard", [0]), CircuitError, r"Unknown gate 'hadamard': the library has .*use Circuit.unitary\(\) for other gates"),
        (lambda c: c.unitary(np.ones((2, 2)), 0), CircuitError, r"the matrix is not unitary \(U\^dagger U != I to 1e-10\)"),
        (lambda c: c.unitary(np.eye(2), [0, 1]), CircuitError, r"the matrix must be 4x4 for 2 qubit\(s\), got shape \(2, 2\)"),
        (lambda c: c.append("unitary", [0]), CircuitError, "a 'unitary' instruction needs a matrix"),
        (lambda c: c.delay(1.0, 0, unit="min"), CircuitError, "unknown time unit 'min'; allowed: s, ms, us, µs, ns, ps"),
        (lambda c: c.delay(-1.0, 0), CircuitError, "a delay must be non-negative, got -1.0"),
        (lambda c: c.delay(math.inf, 0), CircuitError, "parameters must be finite, got inf"),
        (lambda c: c.measure(0, 2), CircuitError, r"classical bit 2 is out of range for a circuit with 2 classical bits \(allowed: 0..1\)"),
        (lambda c: c.measure([0, 1], [0]), CircuitError, r"Cannot measure qubits \(0, 1\) into classical bits \(0,\): the lengths differ"),
        (lambda c: c.append("measure", [0]), CircuitError, r"measure writes exactly one classical bit, got clbits \(\)"),
        (lambda c: c.reset(3), CircuitError, "qubit 3 is out of range"),
    ],
)
def test_append_errors(build, error, match):
    c = Circuit(3, 2)
    with pytest.raises(error, match=match):
        build(c)
    assert len(c) == 0


@pytest.mark.parametrize(
    "name,qubits,kwargs",
    [
        ("measure", (0, 1), {"clbits": (0, 1)}),
        ("measure", (), {}),
        ("reset", (0, 1), {}),
        ("delay", (0, 1), {"params": (1.0,), "unit": "s"}),
    ],
)
def test_single_qubit_operations_reject_other_arities(name, qubits, kwargs):
    with pytest.raises(CircuitError, match="1 qubit"):
        Circuit(2, 2).append(name, qubits, **kwargs)


# ------------------------------------------------------------ conditions
def test_c_if_on_a_bit_a_register_name_and_a_register():
    c = Circuit(2)
    flags = c.add_creg("flags", 2)
    c.x(0).c_if(1, 1).x(1).c_if("flags", 2).z(0).c_if(flags, 3)
    assert [i.condition for i in c] == [
        Condition((1,), 1), Condition((0, 1), 2, "flags"), Condition((0, 1), 3, "flags"),
    ]


@pytest.mark.parametrize(
    "build,error,match",
    [
        (lambda c: c.c_if(0, 1), CircuitError, "Cannot apply c_if: the circuit has no instruction to condition"),
        (lambda c: c.x(0).c_if(0, 2), CircuitError, r"condition value 2 does not fit in 1 bit\(s\)"),
        (lambda c: c.x(0).c_if("c", 4), CircuitError, r"condition value 4 does not fit in 2 bit\(s\)"),
        (lambda c: c.x(0).c_if("c", -1), CircuitError, "condition value -1 does not fit"),
        (lambda c: c.x(0).c_if(5, 1), CircuitError, "the condition reads classical bit 5, which does not exist"),
        (lambda c: c.x(0).c_if("d", 1), CircuitError, r"No classical register 'd'; the circuit has \['c'\]"),
        (lambda c: c.x(0).c_if(True, 1), QlabTypeError, "Cannot apply c_if: the condition bit must be an int index, got True"),
    ],
)
def test_c_if_errors_leave_the_circuit_unchanged(build, error, match):
    c = Circuit(1, 2)
    with pytest.raises(error, match=match):
        build(c)
    assert all(i.condition is None for i in c)


def test_condition_bits_are_least_significant_first():
    cond = Condition((3, 1), 1)
    assert cond.holds((0, 0, 0, 1)) and not cond.holds((0, 1, 0, 0))
    assert Condition((3, 1), 2).holds((0, 1, 0, 0))
    assert Condition((0, 1, 2), 5).holds((1, 0, 1))


# ------------------------------------------------------ equality and repr
def test_equality_compares_registers_and_instructions_not_names():
    assert Circuit(2, name="a").h(0) == Circuit(2, name="b").h(0)
    assert Circuit(2).h(0) != Circuit(2).h(1)
    assert Circuit(2).rx(0.1, 0) != Circuit(2).rx(0.2, 0)
    assert Circuit(2).h(0) != Circuit(3).h(0)
    assert Circuit(1).unitary(np.eye(2), 0) != Circuit(1).unitary(-np.eye(2), 0)
    assert Circuit(1).x(0) != "Circuit(1).x(0)"
    with pytest.raises(TypeError, match="unhashable"):
        hash(Circuit(1))


def test_repr_round_trip_of_every_instruction_kind():
    c = Circuit(3, 2).h(0).cu(0.1, 0.2, 0.3, 0.4, 2, 0).measure(0, 0).x(1).c_if("c", 2).y(2).c_if(1, 1)
    c.delay(1.5, 1, unit="ns").reset(2).barrier().barrier(0, 2).rxy(np.pi, -0.5, 1).measure(2, 1)
    assert rebuilt(c) == c
    assert repr(Circuit(2)) == "Circuit(2)"
    assert rebuilt(Circuit()) == Circuit()


def test_repr_round_trip_with_named_registers():
    c = Circuit(2, 1).h(0).measure_all()
    assert rebuilt(c) == c


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 5), depth=st.integers(0, 5), seed=st.integers(0, 2**32 - 1), measure=st.booleans())
def test_repr_round_trip_of_random_circuits(n, depth, seed, measure):
    c = random_circuit(n, depth, seed, measure=measure)
    assert rebuilt(c) == c


def test_repr_of_long_circuits_is_truncated():
    c = Circuit(1)
    for _ in range(45):
        c.x(0)
    assert repr(c).count(".x(0)") == 40
    assert repr(c).endswith("...<5 more>")


def test_repr_of_other_registers_and_unitaries():
    c = Circuit()
    c.add_qreg("a", 1)
    c.add_creg("m", 1)
    c.unitary(np.eye(2), 0, label="noop")
    assert repr(c) == "Circuit(qregs={'a': 1}, cregs={'m': 1}).unitary(<2x2>, [0], label='noop')"


# ------------------------------------------------------ depth and counts
def test_depth_counts_layers_and_barriers_add_none():
    assert Circuit(2).depth() == 0
    assert Circuit(2).h(0).h(1).depth() == 1
    assert Circuit(2).h(0).cx(0, 1).h(1).depth() == 3
    assert Circuit(3).h(0).h(0).barrier().h(2).depth() == 3
    assert Circuit(3).h(0).h(0).h(2).depth() == 2


def test_depth_follows_classical_bits():
    assert Circuit(2, 1).h(0).measure(0, 0).x(1).c_if(0, 1).depth() == 3
    assert Circuit(2, 2).measure(0, 0).measure(1, 0).depth() == 2


@pytest.mark.parametrize("layers", [1, 2, 5])
def test_depth_of_random_layers(layers):
    assert random_circuit(4, layers, seed=layers).depth() == layers


def test_count_ops_in_first_seen_order():
    c = Circuit(2).cx(0, 1).h(0).cx(1, 0).unitary(np.eye(2), 1).unitary(np.eye(2), 0, label="mine")
    assert list(c.count_ops().items()) == [("cx", 2), ("h", 1), ("unitary", 1), ("mine", 1)]


# ------------------------------------------------------------- inverse
@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 4), depth=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_circuit_then_inverse_is_the_identity(n, depth, seed):
    c = random_circuit(n, depth, seed, gates=INVERTIBLE)
    u = qutip.rand_unitary([2] * n, seed=seed % 1000).full()
    c.unitary(u, list(range(n)))
    both = c.compose(c.inverse())
    assert_allclose_up_to_global_phase(ref.circuit_unitary(both), np.eye(2**n), atol=1e-10)


@pytest.mark.parametrize("name", INVERTIBLE)
def test_inverse_of_each_library_gate(name):
    gate = GATES[name]
    params = [0.3 + 0.5 * i for i in range(gate.num_params)]
    c = Circuit(gate.num_qubits).append(name, list(range(gate.num_qubits))[::-1], params)
    product = ref.circuit_unitary(c.inverse()) @ ref.circuit_unitary(c)
    assert_allclose_up_to_global_phase(product, np.eye(2**gate.num_qubits), atol=1e-12)
    assert all(i.name in GATES for i in c.inverse())


def test_inverse_keeps_barriers_and_delays_and_reverses_order():
    c = Circuit(2).s(0).barrier().delay(1.0, 1).unitary(qutip.rand_unitary(2, seed=1).full(), 1, label="v")
    inv = c.inverse()
    assert [i.name for i in inv] == ["unitary", "delay", "barrier", "sdg"]
    assert inv.instructions[0].label == "v_dg"
    np.testing.assert_allclose(inv.instructions[0].matrix, c.instructions[-1].matrix.conj().T)


@pytest.mark.parametrize(
    "circuit,match",
    [
        (Circuit(1, 1).measure(0, 0), r"Cannot invert the circuit: Instruction\('measure', \(0,\), clbits=\(0,\)\) is not reversible"),
        (Circuit(1).reset(0), r"Instruction\('reset', \(0,\)\) is not reversible"),
        (Circuit(1, 1).x(0).c_if(0, 1), "is not reversible"),
        (Circuit(2).iswap(0, 1), "Cannot invert 'iswap' inside the library; its inverse is not a library gate"),
    ],
)
def test_inverse_errors(circuit, match):
    with pytest.raises(CircuitError, match=match):
        circuit.inverse()


# ------------------------------------------------------------- compose
def test_compose_maps_qubits_and_bits():
    other = Circuit(2, 1).cx(0, 1).measure(1, 0).x(0).c_if(0, 1)
    c = Circuit(3, 2).h(2).compose(other, qubits=[2, 0], clbits=[1])
    assert c == Circuit(3, 2).h(2).cx(2, 0).measure(0, 1).x(2).c_if(1, 1)


def test_compose_returns_a_new_circuit():
    base = Circuit(2).h(0)
    joined = base.compose(Circuit(2).cx(0, 1))
    assert base == Circuit(2).h(0) and joined == Circuit(2).h(0).cx(0, 1)


def test_compose_keeps_register_conditions():
    other = Circuit(1, 2).x(0).c_if("c", 3)
    joined = Circuit(1, 2).compose(other)
    assert joined == other
    assert rebuilt(joined) == joined


@pytest.mark.parametrize(
    "qubits,clbits,match",
    [
        ([0], None, r"the other circuit has 2 qubits and 1 classical bits, mapped onto 1 qubits and 1 bits"),
        (None, [0, 1], "mapped onto 2 qubits and 2 bits"),
    ],
)
def test_compose_rejects_mismatched_maps(qubits, clbits, match):
    with pytest.raises(CircuitError, match=match):
        Circuit(3, 2).compose(Circuit(2, 1).h(0), qubits=qubits, clbits=clbits)


def test_compose_validates_the_mapped_instructions():
    with pytest.raises(CircuitError, match="qubit 2 is out of range"):
        Circuit(2).compose(Circuit(3).h(2))


def test_copy_is_independent():
    c = Circuit(1).h(0)
    d = c.copy().x(0)
    assert len(c) == 1 and len(d) == 2


# ---------------------------------------------------------- gate library
TEXTBOOK = {
    ("id", ()): np.eye(2),
    ("x", ()): [[0, 1], [1, 0]],
    ("y", ()): [[0, -1j], [1j, 0]],
    ("z", ()): [[1, 0], [0, -1]],
    ("h", ()): [[S2, S2], [S2, -S2]],
    ("s", ()): [[1, 0], [0, 1j]],
    ("t", ()): [[1, 0], [0, (1 + 1j) * S2]],
    ("sx", ()): 0.5 * np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]]),
    ("rx", (np.pi,)): [[0, -1j], [-1j, 0]],
    ("ry", (np.pi / 2,)): [[S2, -S2], [S2, S2]],
    ("rz", (np.pi,)): [[-1j, 0], [0, 1j]],
    ("p", (np.pi / 2,)): [[1, 0], [0, 1j]],
    ("u3", (np.pi / 2, 0.0, np.pi)): [[S2, S2], [S2, -S2]],
    ("u2", (0.0, np.pi)): [[S2, S2], [S2, -S2]],
    ("rxy", (np.pi, np.pi / 2)): [[0, -1], [1, 0]],
    ("cx", ()): [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]],
    ("cz", ()): np.diag([1, 1, 1, -1]),
    ("swap", ()): [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]],
    ("iswap", ()): [[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]],
    ("cp", (np.pi,)): np.diag([1, 1, 1, -1]),
    ("crz", (np.pi,)): np.diag([1, 1, -1j, 1j]),
    ("rzz", (np.pi / 2,)): np.diag([1 - 1j, 1 + 1j, 1 + 1j, 1 - 1j]) * S2,
    ("rxx", (np.pi,)): -1j * np.fliplr(np.eye(4)),
    ("cu", (np.pi, 0.0, 0.0, np.pi / 2)): [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, -1j], [0, 0, 1j, 0]],
    ("ccx", ()): np.eye(8)[[0, 1, 2, 3, 4, 5, 7, 6]],
    ("cswap", ()): np.eye(8)[[0, 1, 2, 3, 4, 6, 5, 7]],
}


@pytest.mark.parametrize("name,params", list(TEXTBOOK), ids=[n for n, _ in TEXTBOOK])
def test_gate_matrices_are_textbook(name, params):
    np.testing.assert_allclose(gate_matrix(name, params), TEXTBOOK[(name, params)], atol=1e-15)


def test_the_reference_has_its_own_matrix_for_every_library_gate():
    assert set(ref.GATE_MATRICES) == set(GATES)


@pytest.mark.parametrize("name", sorted(GATES))
def test_every_gate_matches_the_reference_matrix(name):
    rng = np.random.default_rng(sorted(GATES).index(name))
    for _ in range(3):
        params = tuple(rng.uniform(-2 * np.pi, 2 * np.pi, GATES[name].num_params))
        np.testing.assert_allclose(gate_matrix(name, params), ref.gate_unitary(name, params), atol=1e-14)


@pytest.mark.parametrize("name", sorted(GATES))
def test_every_gate_is_unitary_read_only_and_sized(name):
    gate = GATES[name]
    m = gate_matrix(name, [0.7] * gate.num_params)
    assert m.shape == (2**gate.num_qubits,) * 2 and is_unitary(m)
    assert not m.flags.writeable
    if gate.self_inverse:
        np.testing.assert_allclose(m @ m, np.eye(m.shape[0]), atol=1e-14)


def test_reversed_cx_in_a_circuit_is_the_textbook_matrix():
    expected = [[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]]
    np.testing.assert_allclose(ref.circuit_unitary(Circuit(2).cx(1, 0)), expected, atol=1e-15)


def test_gate_matrix_errors():
    with pytest.raises(CircuitError, match="Unknown gate 'foo': the library has"):
        gate_matrix("foo")
    with pytest.raises(CircuitError, match=r"Gate 'rx' takes 1 parameter\(s\), got 0: \(\)"):
        gate_matrix("rx")
    np.testing.assert_array_equal(gate_matrix("u1", [0.3]), gate_matrix("p", [0.3]))


def test_is_unitary():
    assert is_unitary(gate_matrix("h"))
    assert not is_unitary(np.ones((2, 2))) and not is_unitary(np.ones(2)) and not is_unitary(np.eye(2)[:, :1])
    assert is_unitary(np.eye(2) * (1 + 1e-12)) and not is_unitary(np.eye(2) * (1 + 1e-3))


def test_unitary_check_is_as_tight_as_its_message_says():
    assert not is_unitary(np.eye(2) * (1 + 1e-6))
    with pytest.raises(CircuitError, match="not unitary"):
        Circuit(1).unitary(np.eye(2) * (1 + 1e-6), 0)


# ---------------------------------------------------------- instructions
def test_instruction_repr_equality_and_kinds():
    ins = Instruction("rz", (0,), params=(0.5,), condition=Condition((0,), 1))
    assert repr(ins) == "Instruction('rz', (0,), params=(0.5,), condition=Condition(bits=(0,), value=1, register=None))"
    assert ins == Instruction("rz", (0,), (0.5,), condition=Condition((0,), 1)) and hash(ins) == hash(Instruction("rz", (0,), (0.5,), condition=Condition((0,), 1)))
    assert ins.is_gate and not Instruction("measure", (0,), clbits=(0,)).is_gate
    assert ins.duration_seconds == 0.0
    user = Instruction("unitary", (1,), matrix=np.eye(2), label="u")
    assert repr(user) == "Instruction('unitary', (1,), label='u', matrix=<2x2>)"


@pytest.mark.parametrize("unit,factor", [("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9), ("ps", 1e-12)])
def test_delay_units(unit, factor):
    assert Circuit(1).delay(3.0, 0, unit=unit).instructions[0].duration_seconds == pytest.approx(3.0 * factor)
