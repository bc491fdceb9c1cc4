"""A circuit from pyqasm's unrolled statements."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import openqasm3.ast as ast

from ...exceptions import QasmError
from ..circuit import Circuit
from ..gates import controlled, gate_matrix, inverse_params
from ..instruction import Condition
from .diagnostics import node_line, node_text, unsupported
from .support import Source
from .tables import CONTROLLED, LIBRARY_CALLS, PHASE_CONTROLLED, control_phase, library_call


class Reader:
    """Builds a circuit from pyqasm's unrolled statements."""

    def __init__(self, source: Source):
        self.source = source
        self.circuit = Circuit()

    def read(self, statements: Sequence[ast.Statement]) -> Circuit:
        for statement in statements:
            self._statement(statement, {})
        return self.circuit

    def _statement(self, node: ast.Statement, path: dict[int, int]) -> None:
        handler = self._HANDLERS.get(type(node))
        if handler is None:
            line = node_line(node) or self.source.first_lines.get(type(node))
            raise unsupported(type(node).__name__, line, "qlab circuits have no such statement")
        handler(self, node, path)

    def _skip(self, node: ast.Statement, path: dict[int, int]) -> None:
        """Statements that add nothing to the circuit: includes, constants, gate definitions."""

    def _qubits(self, node: ast.QubitDeclaration, path: dict[int, int]) -> None:
        self.circuit.add_qreg(node.qubit.name, _size(node.size))

    def _declaration(self, node: ast.ClassicalDeclaration, path: dict[int, int]) -> None:
        if isinstance(node.type, ast.BitType):
            self.circuit.add_creg(node.identifier.name, _size(node.type.size))

    def _phase(self, node: ast.QuantumPhase, path: dict[int, int]) -> None:
        if node.modifiers:
            raise unsupported("gphase", node_line(node), f"{node_text(node)!r} is a modified global phase")

    def _gate(self, node: ast.QuantumGate, path: dict[int, int]) -> None:
        name = node.name.name
        if name not in LIBRARY_CALLS:
            line = self.source.first_lines.get(("gate", name))
            raise unsupported(name, line, f"gate {name!r} has no body qlab can read (an opaque gate); define it")
        qubits = [self._qubit(q) for q in node.qubits]
        gate, params = library_call(name, [_number(a) for a in node.arguments])
        inverse, controls = _modifiers(node)
        condition = self._condition(path)
        if inverse and gate != "iswap":
            gate, params, inverse = *inverse_params(gate, params), False
        if gate == "u2" and controls:
            gate, params = "u3", (np.pi / 2, *params)
        phase = control_phase(name, params) if controls else 0.0
        mapped = None if inverse else _controlled(gate, params, controls, phase)
        if mapped is not None:
            self.circuit.append(mapped[0], qubits, mapped[1], condition=condition)
        else:
            m = gate_matrix(gate, params) * np.exp(1j * phase)
            m = controlled(m.conj().T if inverse else m, controls)
            self.circuit.append("unitary", qubits, matrix=m, label=_call_label(node), condition=condition)

    def _measure(self, node: ast.QuantumMeasurementStatement, path: dict[int, int]) -> None:
        qubit, clbit = self._qubit(node.measure.qubit), self._clbit(node.target)
        self.circuit.append("measure", (qubit,), clbits=(clbit,), condition=self._condition(path))

    def _reset(self, node: ast.QuantumReset, path: dict[int, int]) -> None:
        self.circuit.append("reset", (self._qubit(node.qubits),), condition=self._condition(path))

    def _barrier(self, node: ast.QuantumBarrier, path: dict[int, int]) -> None:
        qubits = [self._qubit(q) for q in node.qubits] or range(self.circuit.num_qubits)
        self.circuit.append("barrier", qubits, condition=self._condition(path))

    def _delay(self, node: ast.DelayInstruction, path: dict[int, int]) -> None:
        value, unit = self._duration(node)
        condition = self._condition(path)
        for q in [self._qubit(q) for q in node.qubits] or range(self.circuit.num_qubits):
            self.circuit.append("delay", (q,), (value,), unit=unit, condition=condition)

    def _duration(self, node: ast.DelayInstruction) -> tuple[float, str]:
        written = None
        if node.span is not None:
            written = self.source.delays.get((node.span.start_line, node.span.start_column))
        duration = written if isinstance(written, ast.DurationLiteral) else node.duration
        if not isinstance(duration, ast.DurationLiteral) or duration.unit == ast.TimeUnit.dt:
            raise unsupported("delay", node_line(node), f"{node_text(node)!r} has no fixed duration in s, ms, us or ns")
        return float(duration.value), duration.unit.name

    def _branch(self, node: ast.BranchingStatement, path: dict[int, int]) -> None:
        bit, value = self._branch_bit(node.condition)
        for block, wanted in ((node.if_block, value), (node.else_block, 1 - value)):
            if path.get(bit, wanted) != wanted:
                continue
            for statement in block:
                self._statement(statement, {**path, bit: wanted})

    def _branch_bit(self, cond: ast.Expression) -> tuple[int, int]:
        """(clbit, value) of pyqasm's unrolled ``reg[i] == value`` test."""
        if (
            isinstance(cond, ast.BinaryExpression)
            and cond.op.name == "=="
            and isinstance(cond.lhs, ast.IndexExpression)
            and isinstance(cond.rhs, (ast.BooleanLiteral, ast.IntegerLiteral))
        ):
            reg = self.circuit.creg(cond.lhs.collection.name)
            return reg[cond.lhs.index[0].value], int(cond.rhs.value)
        raise QasmError(f"Cannot read OpenQASM: unexpected unrolled condition {node_text(cond)!r}.")

    def _condition(self, path: dict[int, int]) -> Condition | None:
        """The Condition for the bit values an instruction's enclosing ifs require."""
        if not path:
            return None
        bits = tuple(sorted(path))
        value = sum(path[b] << i for i, b in enumerate(bits))
        for reg in self.circuit.cregs:
            if tuple(reg) == bits and (reg.size > 1 or reg.name in self.source.whole_compared):
                return Condition(bits, value, reg.name)
        return Condition(bits, value)

    def _qubit(self, operand: ast.Expression) -> int:
        return self.circuit.qreg(operand.name.name)[_index(operand)]

    def _clbit(self, operand: ast.Expression) -> int:
        return self.circuit.creg(operand.name.name)[_index(operand)]

    _HANDLERS = {
        ast.Include: _skip,
        ast.ConstantDeclaration: _skip,
        ast.QuantumGateDefinition: _skip,
        ast.QubitDeclaration: _qubits,
        ast.ClassicalDeclaration: _declaration,
        ast.QuantumPhase: _phase,
        ast.QuantumGate: _gate,
        ast.QuantumMeasurementStatement: _measure,
        ast.QuantumReset: _reset,
        ast.QuantumBarrier: _barrier,
        ast.DelayInstruction: _delay,
        ast.BranchingStatement: _branch,
    }


def _size(size: ast.Expression | None) -> int:
    return 1 if size is None else int(_number(size))


def _index(operand: ast.Expression) -> int:
    if (
        isinstance(operand, ast.IndexedIdentifier)
        and len(operand.indices) == 1
        and isinstance(operand.indices[0], list)
        and len(operand.indices[0]) == 1
        and isinstance(operand.indices[0][0], ast.IntegerLiteral)
    ):
        return operand.indices[0][0].value
    raise QasmError(f"Cannot read OpenQASM: unexpected unrolled operand {node_text(operand)!r}.")


def _number(expr: ast.Expression) -> float:
    """The value of a literal (possibly negated) that pyqasm left after evaluation."""
    if isinstance(expr, (ast.IntegerLiteral, ast.FloatLiteral)):
        return float(expr.value)
    if isinstance(expr, ast.UnaryExpression) and expr.op.name == "-":
        return -_number(expr.expression)
    raise QasmError(f"Cannot read OpenQASM: the parameter {node_text(expr)!r} did not evaluate to a number.")


def _modifiers(node: ast.QuantumGate) -> tuple[bool, int]:
    """(inverted?, number of controls) of the modifiers pyqasm leaves on library gates."""
    inverse, controls = False, 0
    for mod in node.modifiers:
        if mod.modifier == ast.GateModifierName.inv:
            inverse = not inverse
        elif mod.modifier == ast.GateModifierName.ctrl:
            controls += 1 if mod.argument is None else int(_number(mod.argument))
        else:
            raise unsupported(mod.modifier.name, node_line(node), f"{node_text(node)!r} has a modifier pyqasm did not expand")
    return inverse, controls


def _call_label(node: ast.QuantumGate) -> str:
    """A gate call without its qubits, e.g. ``ctrl(1) @ sx``."""
    return node_text(ast.QuantumGate(node.modifiers, node.name, node.arguments, [])).strip()


def _controlled(
    gate: str, params: tuple[float, ...], controls: int, phase: float
) -> tuple[str, tuple[float, ...]] | None:
    """The library gate equal to ``gate`` times ``e^(i phase)`` under ``controls`` controls, or None."""
    if controls == 0:
        return gate, params
    if controls == 1 and gate == "u3":
        return "cu", (*params, phase)
    if phase:
        return None
    if (gate, controls) in CONTROLLED:
        return CONTROLLED[gate, controls], params
    if controls == 1 and gate in PHASE_CONTROLLED:
        return "cp", (PHASE_CONTROLLED[gate],)
    return None
