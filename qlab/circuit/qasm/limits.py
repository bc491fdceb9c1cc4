"""Size limits of :func:`~qlab.circuit.qasm.load_qasm`, checked before any work.

A short text can stand for a huge program: ``qubit[500000000*2] q;``, a
``const`` register size, ``creg c[10000000];`` or a ``for`` loop over a
million values. These checks run on the parsed program, before pyqasm
expands registers, loops or gate definitions: sizes are evaluated from
literals and ``const`` declarations, and the statement count is the count
after expansion, computed without expanding (loop bodies times their
iterations, gate calls times the size of their definitions and of the
registers they broadcast over, both branches of an ``if``).

>>> limits = QasmLimits(max_qubits=4)
>>> limits
QasmLimits(max_qubits=4, max_clbits=65536, max_statements=100000, max_text_size=10000000)
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable, Iterable

import openqasm3.ast as ast

from ...exceptions import QasmLimitError, QasmQubitLimitError, QlabTypeError
from .diagnostics import node_line

__all__ = ["QasmLimits", "check_text_size", "check_program_size"]

_BIG = 2**62
"""Values at or above this are treated as unbounded (no arithmetic on huge integers)."""


@dataclasses.dataclass(frozen=True)
class QasmLimits:
    """What :func:`~qlab.circuit.qasm.load_qasm` accepts; every program over a limit is refused at once."""

    max_qubits: int = 4096
    """The most qubits all quantum registers may declare together."""
    max_clbits: int = 65_536
    """The most classical bits all bit registers may declare together."""
    max_statements: int = 100_000
    """The most statements after expanding loops, gate definitions and register broadcasts."""
    max_text_size: int = 10_000_000
    """The most characters the program text may have."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise QlabTypeError(f"Cannot read OpenQASM: {f.name} must be an int, got {value!r} ({type(value).__name__}).")
            if value < 0:
                raise QlabTypeError(f"Cannot read OpenQASM: {f.name} must be non-negative, got {value}.")


def check_text_size(text: str, limits: QasmLimits) -> None:
    """Refuse a text longer than ``limits.max_text_size`` characters, naming the line where it crosses."""
    if len(text) > limits.max_text_size:
        line = text.count("\n", 0, limits.max_text_size) + 1
        raise QasmLimitError(
            f"Cannot read OpenQASM: the text has {len(text)} characters, more than max_text_size="
            f"{limits.max_text_size} allowed here (crossed at line {line}); split the program (or raise max_text_size).",
            line=line,
        )


def check_program_size(program: ast.Program, limits: QasmLimits) -> None:
    """Refuse a parsed program over ``max_qubits``, ``max_clbits`` or ``max_statements``."""
    consts = _constants(program)
    qubits = clbits = 0
    for node in _declarations(program):
        if isinstance(node, ast.QubitDeclaration):
            qubits += _size(node.size, consts, node)
            if qubits > limits.max_qubits:
                raise QasmQubitLimitError(
                    f"Cannot read OpenQASM at line {node_line(node)}: the program declares {_count(qubits)} qubits, "
                    f"more than max_qubits={limits.max_qubits} allowed here; declare fewer qubits (or raise max_qubits).",
                    line=node_line(node),
                )
        else:
            clbits += _size(node.type.size, consts, node)
            if clbits > limits.max_clbits:
                raise QasmLimitError(
                    f"Cannot read OpenQASM at line {node_line(node)}: the program declares {_count(clbits)} classical "
                    f"bits, more than max_clbits={limits.max_clbits} allowed here; declare fewer bits (or raise max_clbits).",
                    line=node_line(node),
                )
    _StatementCounter(program, consts, limits.max_statements).count()


def _count(value: float) -> str:
    return "an unbounded number of" if value >= _BIG else str(int(value))


def _declarations(program: ast.Program) -> Iterable[ast.QASMNode]:
    from .support import walk

    for node in walk(program):
        if isinstance(node, ast.QubitDeclaration):
            yield node
        elif isinstance(node, ast.ClassicalDeclaration) and isinstance(node.type, ast.BitType):
            yield node


def _constants(program: ast.Program) -> dict[str, float]:
    """The values of the program's top-level declarations that evaluate to numbers.

    ``const`` ones, and initialised classical variables too: qlab refuses
    assignments, so those keep their first value.
    """
    consts: dict[str, float] = {}
    for node in program.statements:
        if isinstance(node, (ast.ConstantDeclaration, ast.ClassicalDeclaration)) and node.init_expression is not None:
            value = evaluate(node.init_expression, consts)
            if value is not None:
                consts[node.identifier.name] = value
    return consts


def _size(size: ast.Expression | None, consts: dict[str, float], node: ast.QASMNode) -> float:
    """A register size; one that cannot be evaluated here is left to the parser (counted as 1)."""
    if size is None:
        return 1
    value = evaluate(size, consts)
    return 1 if value is None else max(value, 0)


def _power(a, b):
    if abs(a) > 1 and b * math.log2(abs(a)) >= 62:
        return _BIG
    return a**b


def _shift(a, b):
    return _BIG if b >= 62 else a << b


_BINARY: dict[str, Callable] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "%": operator.mod,
    "**": _power, "<<": _shift, ">>": operator.rshift,
}


def evaluate(expr: ast.Expression | None, consts: dict[str, float]) -> float | None:
    """The value of a constant arithmetic expression, capped at ``2**62``; None if it is not one.

    >>> evaluate(ast.BinaryExpression(ast.BinaryOperator["*"], ast.IntegerLiteral(500000000), ast.IntegerLiteral(2)), {})
    1000000000
    """
    value: float | None
    if isinstance(expr, (ast.IntegerLiteral, ast.FloatLiteral)):
        value = expr.value
    elif isinstance(expr, ast.Identifier):
        value = consts.get(expr.name)
    elif isinstance(expr, ast.UnaryExpression) and expr.op.name == "-":
        inner = evaluate(expr.expression, consts)
        value = None if inner is None else -inner
    elif isinstance(expr, ast.Cast):
        value = evaluate(expr.argument, consts)
    elif isinstance(expr, ast.BinaryExpression) and expr.op.name in _BINARY:
        a, b = evaluate(expr.lhs, consts), evaluate(expr.rhs, consts)
        try:
            value = None if a is None or b is None else _BINARY[expr.op.name](a, b)
        except (ArithmeticError, TypeError, ValueError):
            value = None
    else:
        value = None
    if value is None or isinstance(value, complex):
        return None
    return _BIG if abs(value) >= _BIG else value


class _StatementCounter:
    """Counts statements after expansion, without expanding; stops as soon as the limit is passed."""

    def __init__(self, program: ast.Program, consts: dict[str, float], limit: int):
        self.program, self.consts, self.limit = program, dict(consts), limit
        self.registers: dict[str, float] = {}
        self.gates = {s.name.name: s for s in program.statements if isinstance(s, ast.QuantumGateDefinition)}
        self.subroutines = {s.name.name: s for s in program.statements if isinstance(s, ast.SubroutineDefinition)}
        self.gate_sizes: dict[str, float] = {}
        self.total = 0.0

    def count(self) -> None:
        for statement in self.program.statements:
            if isinstance(statement, ast.QubitDeclaration):
                self.registers[statement.qubit.name] = _size(statement.size, self.consts, statement)
            self.total += self.size(statement)

    def _check(self, node: ast.QASMNode, running: float) -> None:
        if self.total + running > self.limit:
            line = node_line(node)
            raise QasmLimitError(
                f"Cannot read OpenQASM at line {line}: the program expands to {_count(self.total + running)}"
                f"{'' if self.total + running >= _BIG else ' or more'} statements (loops unrolled, gate definitions "
                f"inlined, registers broadcast), more than max_statements={self.limit} allowed here; "
                "shorten the program (or raise max_statements).",
                line=line,
            )

    def block(self, statements: Iterable[ast.Statement]) -> float:
        return sum(self.size(s) for s in statements)

    def size(self, node: ast.Statement) -> float:
        """How many statements ``node`` stands for once expanded."""
        if isinstance(node, (ast.QuantumGateDefinition, ast.SubroutineDefinition, ast.Include)):
            return 0
        if isinstance(node, ast.ForInLoop):  # an iteration costs at least one step, even with an empty body
            iterations = self.iterations(node.set_declaration)
            n = iterations * max(1, self.loop_body(node)) if iterations else 0
        elif isinstance(node, ast.BranchingStatement):
            n = 1 + self.block(node.if_block) + self.block(node.else_block)
        elif isinstance(node, ast.SwitchStatement):
            n = 1 + sum(self.block(c[1].statements) for c in node.cases)
            n += self.block(node.default.statements) if node.default is not None else 0
        elif isinstance(node, ast.QuantumGate):
            n = self.gate_size(node.name.name) * self.width(node.qubits) * self.power(node.modifiers)
        elif isinstance(node, ast.ExpressionStatement) and isinstance(node.expression, ast.FunctionCall):
            n = self.subroutine_size(node.expression.name.name)
        elif isinstance(node, ast.QuantumMeasurementStatement):
            n = self.width([node.measure.qubit])
        elif isinstance(node, (ast.QuantumReset,)):
            n = self.width([node.qubits])
        elif isinstance(node, ast.DelayInstruction):
            n = self.width(node.qubits)
        else:
            n = 1
        n = min(n, _BIG)
        self._check(node, n)
        return n

    def loop_body(self, loop: ast.ForInLoop) -> float:
        """The body's size with the loop variable at its last value (inner ranges may depend on it)."""
        name, saved = loop.identifier.name, self.consts.get(loop.identifier.name)
        values = loop.set_declaration
        last = evaluate(values.end, self.consts) if isinstance(values, ast.RangeDefinition) else None
        if last is not None:
            self.consts[name] = last
        try:
            return self.block(loop.block)
        finally:
            if saved is None:
                self.consts.pop(name, None)
            else:
                self.consts[name] = saved

    def subroutine_size(self, name: str) -> float:
        sub = self.subroutines.get(name)
        if sub is None:
            return 1
        if name not in self.gate_sizes:
            self.gate_sizes[name] = 1  # recursion is pyqasm's error to report
            self.gate_sizes[name] = max(1, self.block(sub.body))
        return self.gate_sizes[name]

    def iterations(self, values: ast.QASMNode) -> float:
        if isinstance(values, ast.DiscreteSet):
            return len(values.values)
        if isinstance(values, ast.RangeDefinition):
            start = evaluate(values.start, self.consts) if values.start is not None else 0
            end = evaluate(values.end, self.consts)
            step = evaluate(values.step, self.consts) if values.step is not None else 1
            if None in (start, end, step) or step == 0:
                return 1
            return max(0, math.floor((end - start) / step) + 1)
        return 1

    def width(self, operands: Iterable[ast.Expression]) -> float:
        """How many gates a broadcast over whole registers or slices stands for."""
        width = 1.0
        for op in operands:
            if isinstance(op, ast.Identifier):
                width = max(width, self.registers.get(op.name, 1))
            elif isinstance(op, ast.IndexedIdentifier) and op.indices and isinstance(op.indices[0], list):
                index = op.indices[0][0] if op.indices[0] else None
                if isinstance(index, ast.RangeDefinition):
                    full = self.registers.get(op.name.name, 1)
                    width = max(width, min(full, self.iterations(_bounded(index, full))))
        return width

    def power(self, modifiers: list[ast.QuantumGateModifier]) -> float:
        n = 1.0
        for mod in modifiers:
            if mod.modifier == ast.GateModifierName.pow:
                k = evaluate(mod.argument, self.consts)
                n *= max(1, abs(k)) if k is not None else 1
        return n

    def gate_size(self, name: str) -> float:
        """Statements one call of a gate expands to (1 for gates kept as calls)."""
        definition = self.gates.get(name)
        if definition is None:
            return 1
        if name not in self.gate_sizes:
            self.gate_sizes[name] = 1  # a recursive definition is pyqasm's error to report
            self.gate_sizes[name] = max(1, sum(
                self.gate_size(s.name.name) * self.power(s.modifiers) if isinstance(s, ast.QuantumGate) else 1
                for s in definition.body
            ))
        return self.gate_sizes[name]


def _bounded(index: ast.RangeDefinition, size: float) -> ast.RangeDefinition:
    """A register slice with its omitted ends filled in."""
    start = index.start if index.start is not None else ast.IntegerLiteral(0)
    end = index.end if index.end is not None else ast.IntegerLiteral(int(min(size, _BIG)) - 1)
    return ast.RangeDefinition(start, end, index.step)
