"""What qlab can represent of a parsed program: rejection of unsupported
constructs, and the facts about the source that unrolling loses."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import openqasm3.ast as ast

from .diagnostics import node_line, node_text, unsupported


def _children(value) -> Iterator[ast.QASMNode]:
    if isinstance(value, ast.QASMNode):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _children(item)


def walk(node: ast.QASMNode) -> Iterator[ast.QASMNode]:
    """``node`` and every AST node below it, parents first."""
    yield node
    for f in dataclasses.fields(node):
        for child in _children(getattr(node, f.name)):
            yield from walk(child)


_NO_PULSES = "qlab has no pulse-level calibrations; describe the operation with gates"
_REJECTED: dict[type, str] = {
    ast.WhileLoop: "qlab circuits have no classical loops; unroll it first",
    ast.Box: "qlab circuits have no timing boxes; write the statements without the box",
    ast.CalibrationDefinition: _NO_PULSES,
    ast.CalibrationStatement: _NO_PULSES,
    ast.CalibrationGrammarDeclaration: _NO_PULSES,
    ast.IODeclaration: "qlab circuits take no run-time inputs or outputs; write the value as a const declaration",
    ast.ExternDeclaration: "qlab circuits cannot call external functions",
    ast.ClassicalAssignment: "qlab circuits have no classical computation; declare the value const or write it inline",
    ast.Pragma: "qlab does not interpret pragmas; remove it",
    ast.Annotation: "qlab does not interpret annotations; remove it",
    ast.EndStatement: "qlab circuits always run to their last instruction; remove it",
    ast.StretchType: "qlab delays need fixed durations",
}
"""AST node types qlab rejects wherever they appear, with the reason."""


def reject_unsupported(program: ast.Program) -> None:
    """Raise UnsupportedQasmError for the first construct qlab cannot represent."""
    bits = {d.identifier.name for d in walk(program) if _is_bit_declaration(d)}
    others = {
        d.identifier.name for d in walk(program)
        if isinstance(d, (ast.ClassicalDeclaration, ast.ConstantDeclaration)) and not _is_bit_declaration(d)
    }
    for node in walk(program):
        why = _unsupported_reason(node, bits, others)
        if why is not None:
            raise unsupported(type(node).__name__, node_line(node), why)


def _is_bit_declaration(node: ast.QASMNode) -> bool:
    return isinstance(node, ast.ClassicalDeclaration) and isinstance(node.type, ast.BitType)


def _reads_bits(node: ast.QASMNode | None, bits: set[str]) -> bool:
    return node is not None and any(
        isinstance(n, ast.QuantumMeasurement) or (isinstance(n, ast.Identifier) and n.name in bits)
        for n in walk(node)
    )


def _unsupported_reason(node: ast.QASMNode, bits: set[str], others: set[str]) -> str | None:
    """Why qlab cannot represent ``node``, or None when it can."""
    if type(node) in _REJECTED:
        return _REJECTED[type(node)]
    if isinstance(node, ast.Include) and node.filename not in ("qelib1.inc", "stdgates.inc"):
        return f"qlab reads text only and cannot find {node.filename!r}; paste its gate definitions into the program"
    if isinstance(node, ast.SubroutineDefinition) and node.return_type is not None:
        return f"subroutine {node.name.name!r} returns a value, which needs classical computation"
    if isinstance(node, ast.ClassicalDeclaration):
        return _declaration_reason(node, bits)
    if isinstance(node, ast.QuantumMeasurementStatement):
        return _measurement_reason(node, others)
    if isinstance(node, ast.DurationLiteral) and node.unit == ast.TimeUnit.dt:
        return "'dt' durations depend on a device's sample time; give the duration in s, ms, us or ns"
    if isinstance(node, ast.QuantumGate) and node.duration is not None:
        return f"gate call {node_text(node)!r} has a duration; write a separate delay"
    if isinstance(node, ast.Identifier) and node.name.startswith("$"):
        return f"physical qubit {node.name} has no register; declare 'qubit[n] q;' and use q[i]"
    if isinstance(node, ast.SwitchStatement) and _reads_bits(node.target, bits):
        return "a switch on measured bits needs run-time classical control; use if statements"
    if isinstance(node, ast.BranchingStatement):
        return _branch_reason(node, bits)
    return None


def _declaration_reason(node: ast.ClassicalDeclaration, bits: set[str]) -> str | None:
    init = node.init_expression
    if isinstance(node.type, ast.BitType):
        if init is not None and not isinstance(init, ast.QuantumMeasurement):
            return f"bit {node.identifier.name!r} has an initial value; qlab bits start at 0"
    elif _reads_bits(init, bits):
        return f"{node.identifier.name!r} is computed from measured bits, which needs classical computation"
    return None


def _measurement_reason(node: ast.QuantumMeasurementStatement, others: set[str]) -> str | None:
    if node.target is None:
        return f"{node_text(node)!r} has no target; qlab measurements write a bit, e.g. 'c[0] = measure q[0];'"
    name = _target_bits(node)[0]
    if name in others:
        return f"{node_text(node)!r} measures into {name!r}, which is not a bit register"
    return None


def _branch_reason(node: ast.BranchingStatement, bits: set[str]) -> str | None:
    """Why an ``if`` cannot become one Condition per instruction, or None."""
    if not _reads_bits(node.condition, bits):
        return None
    read = _condition_bits(node.condition, bits)
    if read is None:
        return (
            f"condition {node_text(node.condition)!r} is not one bit (at a literal index) or one register "
            "compared with an integer (e.g. 'c[0] == 1', 'c == 5')"
        )
    body = [n for s in node.if_block + node.else_block for n in walk(s)]
    if any(isinstance(n, (ast.BreakStatement, ast.ContinueStatement)) for n in body):
        return "leaving a loop on a measured value needs run-time classical control"
    writes = [
        n for n in body if isinstance(n, ast.QuantumMeasurementStatement) and _overlaps(_target_bits(n), read)
    ]
    if writes and not _is_final_write(node, writes, read):
        return (
            f"its body measures into the bits its condition reads ({node_text(writes[0])!r}); qlab checks the "
            "condition before each instruction, so the measurement may only be the last statement of an "
            "if without else that tests one bit or 'register == value'"
        )
    return None


def _condition_bits(cond: ast.Expression, bits: set[str]) -> tuple[str, int | None, bool] | None:
    """What a simple condition reads, else None: (register, bit index or None
    for all, whether one bit pattern satisfies it)."""
    if isinstance(cond, ast.UnaryExpression) and cond.op.name == "!":
        found = _bit_reference(cond.expression, bits)
        return found and (*found, True)
    found = _bit_reference(cond, bits)
    if found is not None:
        return *found, True
    if not (isinstance(cond, ast.BinaryExpression) and cond.op.name in ("==", "!=", "<", ">", "<=", ">=")):
        return None
    if _reads_bits(cond.rhs, bits):
        return None
    if isinstance(cond.lhs, ast.Identifier) and cond.lhs.name in bits:
        return cond.lhs.name, None, cond.op.name == "=="
    found = _bit_reference(cond.lhs, bits)
    return found and (*found, True)


def _bit_reference(expr: ast.Expression, bits: set[str]) -> tuple[str, int] | None:
    """(register, index) for one bit ``reg[i]`` with a literal index, else None."""
    if (
        isinstance(expr, ast.IndexExpression)
        and isinstance(expr.collection, ast.Identifier)
        and expr.collection.name in bits
        and isinstance(expr.index, list)
        and len(expr.index) == 1
        and isinstance(expr.index[0], ast.IntegerLiteral)
    ):
        return expr.collection.name, expr.index[0].value
    return None


def _target_bits(node: ast.QuantumMeasurementStatement) -> tuple[str, int | None]:
    target = node.target
    if isinstance(target, ast.IndexedIdentifier):
        idx = target.indices[0] if len(target.indices) == 1 else None
        if isinstance(idx, list) and len(idx) == 1 and isinstance(idx[0], ast.IntegerLiteral):
            return target.name.name, idx[0].value
        return target.name.name, None
    return target.name, None


def _overlaps(write: tuple[str, int | None], read: tuple[str, int | None, bool]) -> bool:
    return write[0] == read[0] and (write[1] is None or read[1] is None or write[1] == read[1])


def _is_final_write(node: ast.BranchingStatement, writes: list, read: tuple[str, int | None, bool]) -> bool:
    """Whether the only write to the condition's bits is the last statement of a one-pattern if."""
    return read[2] and not node.else_block and len(writes) == 1 and writes[0] is node.if_block[-1]


@dataclasses.dataclass
class Source:
    """Facts about the source program that unrolling loses."""

    whole_compared: set[str] = dataclasses.field(default_factory=set)
    """Registers some condition compares as a whole (``c == v``)."""
    delays: dict[tuple[int, int], ast.Expression] = dataclasses.field(default_factory=dict)
    """Duration expressions of delays, by (line, column)."""
    first_lines: dict[object, int] = dataclasses.field(default_factory=dict)
    """First line of each node type and of each called gate name (``("gate", name)``)."""


def survey(program: ast.Program) -> Source:
    source = Source()
    for node in walk(program):
        line = node_line(node)
        if line is not None:
            source.first_lines.setdefault(type(node), line)
        if isinstance(node, ast.QuantumGate) and line is not None:
            source.first_lines.setdefault(("gate", node.name.name), line)
        if isinstance(node, ast.DelayInstruction) and node.span is not None:
            source.delays[(node.span.start_line, node.span.start_column)] = node.duration
        if isinstance(node, ast.BranchingStatement) and isinstance(node.condition, ast.BinaryExpression):
            if isinstance(node.condition.lhs, ast.Identifier):
                source.whole_compared.add(node.condition.lhs.name)
    return source
