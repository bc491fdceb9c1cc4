"""OpenQASM 2 and 3 in and out of the :class:`~qlab.circuit.Circuit` IR.

:func:`load_qasm` parses and checks the text with `pyqasm`_, which inlines
user gate definitions and subroutines, unrolls ``for`` loops and ``switch``
on constants, evaluates parameter expressions and expands register
broadcasts. The unrolled program becomes a circuit with the same registers
(names, sizes, order) and instructions:

>>> bell = load_qasm('''
... OPENQASM 3.0;
... include "stdgates.inc";
... qubit[2] q;
... bit[2] c;
... h q[0];
... cx q[0], q[1];
... c = measure q;
... ''')
>>> bell
Circuit(2, 2).h(0).cx(0, 1).measure(0, 0).measure(1, 1)

:func:`dump_qasm` writes OpenQASM 2 or 3 text that loads back to an equal
circuit:

>>> print(dump_qasm(bell, version=2))
OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
measure q[0] -> c[0];
measure q[1] -> c[1];

Reading details:

* Gates of the qlab library (and their OpenQASM names ``U``, ``CX``, ``u1``,
  ``u``, ``cu1``, ``cu3``, ``phase``, ...) are kept as library gates, also
  under ``inv @`` and, where the library has the controlled gate, ``ctrl @``
  (``ctrl @ rx`` is ``crx``). Other modified gates become ``unitary``
  instructions labelled with their OpenQASM spelling. Gates outside the
  library (``cs``, ``ecr``, ...) are decomposed by pyqasm.
* A user ``gate`` definition named like a library gate is read as that gate
  when its body has the library gate's unitary (up to global phase), and is
  inlined otherwise. This is how the definitions :func:`dump_qasm` writes for
  gates missing from ``qelib1.inc``/``stdgates.inc`` read back.
* ``gphase`` is dropped: a global phase changes no density matrix.
* ``if`` statements become a :class:`~qlab.circuit.Condition` on every
  instruction of their body (``else`` bodies and comparisons such as
  ``c >= 2`` become several conditions, one per matching bit pattern). A
  condition covering a whole register names it; a one-bit register counts as
  compared whole when the program compares it as ``b == v`` anywhere.
* Delays keep the number and unit written in the source when it is a literal
  (``delay[1.5us]``); computed durations are read in ``ns``.

Writing details: a multi-bit condition that is not a whole register is
written as nested ``if`` statements and reads back as a register condition
when its bits form one; ``µs`` delays are written as ``us`` and ``ps`` delays
in ``ns``.

Rejected with :class:`~qlab.exceptions.UnsupportedQasmError` (named with its
line): ``while``, ``box``, ``defcal``/``cal``/``defcalgrammar``, ``input`` and
``output``, ``extern``, subroutines returning values, classical assignments
and declarations computed from measured bits, initialised bits, ``end``,
pragmas and annotations, ``dt`` durations and ``stretch``, gate calls with a
duration, physical qubits (``$0``), measurements without a target or into a
non-bit variable, ``if`` conditions other than one bit (at a literal index)
or one register compared with an integer, ``switch`` on measured bits, ``break``/``continue``
under a measured condition, bodies that overwrite the bits their own ``if``
reads (except as their last statement), opaque gates and includes other than
``qelib1.inc`` and ``stdgates.inc``.

.. _pyqasm: https://github.com/qBraid/pyqasm
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import logging
import re
import sys
from collections.abc import Iterator, Sequence

import numpy as np
import openqasm3
import openqasm3.ast as ast
import pyqasm
from openqasm3.parser import QASM3ParsingError

from ..exceptions import QasmError, QlabTypeError, UnsupportedQasmError
from .circuit import Circuit
from .gates import ALIASES, GATES, controlled, gate_matrix, inverse_params
from .instruction import Condition, Instruction

__all__ = ["load_qasm", "dump_qasm"]

# ----------------------------------------------------------------- names

_QASM_ALIASES = {**ALIASES, "U": "u3", "CX": "cx", "cu1": "cp"}
"""OpenQASM spellings of library gates with the same parameters."""

_LIBRARY_CALLS = frozenset(GATES) | frozenset(_QASM_ALIASES) | {"cu3"}
"""Gate names read as library gates (kept as calls when pyqasm unrolls)."""

_CONTROLLED = {
    ("x", 1): "cx", ("x", 2): "ccx", ("cx", 1): "ccx", ("y", 1): "cy", ("z", 1): "cz",
    ("h", 1): "ch", ("swap", 1): "cswap", ("rx", 1): "crx", ("ry", 1): "cry",
    ("rz", 1): "crz", ("p", 1): "cp",
}
"""``ctrl(n) @ gate`` that is a library gate with the same parameters."""

_PHASE_CONTROLLED = {"s": np.pi / 2, "sdg": -np.pi / 2, "t": np.pi / 4, "tdg": -np.pi / 4}
"""``ctrl @ gate`` that is ``cp(angle)``."""

_QELIB1 = frozenset(
    {"u3", "u2", "u1", "cx", "id", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "rx", "ry", "rz",
     "cz", "cy", "ch", "ccx", "crz", "cu1", "cu3"}
)
"""The gates of ``qelib1.inc`` as published with OpenQASM 2.0."""

_STDGATES = frozenset(
    {"p", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "rx", "ry", "rz", "cx", "cy", "cz",
     "cp", "crx", "cry", "crz", "ch", "swap", "ccx", "cswap", "cu", "CX", "phase", "cphase",
     "id", "u1", "u2", "u3"}
)
"""The gates of the OpenQASM 3 ``stdgates.inc``."""

_QASM2_NAMES = {"p": "u1", "cp": "cu1"}
"""Library gates that OpenQASM 2 spells differently."""

_DEFINITIONS = {
    "sx": "gate sx a { sdg a; h a; sdg a; }",
    "sxdg": "gate sxdg a { s a; h a; s a; }",
    "rxy": "gate rxy(theta, phi) a { rz(-phi) a; rx(theta) a; rz(phi) a; }",
    "swap": "gate swap a, b { cx a, b; cx b, a; cx a, b; }",
    "iswap": "gate iswap a, b { s a; s b; h a; cx a, b; cx b, a; h b; }",
    "crx": "gate crx(theta) a, b { u1(pi/2) b; cx a, b; u3(-theta/2, 0, 0) b; cx a, b; "
           "u3(theta/2, -pi/2, 0) b; }",
    "cry": "gate cry(theta) a, b { ry(theta/2) b; cx a, b; ry(-theta/2) b; cx a, b; }",
    "cu": "gate cu(theta, phi, lam, gamma) c, t { u1(gamma) c; u1((lam+phi)/2) c; "
          "u1((lam-phi)/2) t; cx c, t; u3(-theta/2, 0, -(phi+lam)/2) t; cx c, t; "
          "u3(theta/2, phi, 0) t; }",
    "rxx": "gate rxx(theta) a, b { h a; h b; cx a, b; rz(theta) b; cx a, b; h a; h b; }",
    "ryy": "gate ryy(theta) a, b { rx(pi/2) a; rx(pi/2) b; cx a, b; rz(theta) b; cx a, b; "
           "rx(-pi/2) a; rx(-pi/2) b; }",
    "rzz": "gate rzz(theta) a, b { cx a, b; rz(theta) b; cx a, b; }",
    "cswap": "gate cswap a, b, c { cx c, b; ccx a, b, c; cx c, b; }",
}
"""Definitions, from gates of both includes, for library gates an include lacks."""

_RESERVED = frozenset(
    "OPENQASM include defcalgrammar def cal defcal gate extern box let break continue if else "
    "end return for while in switch case default input output const readonly mutable qreg "
    "qubit creg bool bit int uint float angle complex array void duration stretch gphase inv "
    "pow ctrl negctrl durationof sizeof delay reset measure barrier opaque true false pi tau "
    "euler U CX".split()
) | _LIBRARY_CALLS
"""Names a register cannot have in OpenQASM text."""

_PYQASM_SPELLING = {"phase": "p", "cphase": "cp"}
"""``stdgates.inc`` names pyqasm does not know, with the name it knows."""

_SAMPLE_PARAMS = ((0.3, 1.1, 0.7, 2.3), (1.9, 0.4, 2.6, 0.8))
"""Parameters at which a library-named gate definition is compared with the library."""

_TIME_UNITS = {"us": "us", "µs": "us", "ns": "ns", "ms": "ms", "s": "s"}
"""qlab delay units that OpenQASM 3 writes, with their OpenQASM spelling."""

_HEADER = re.compile(r"\s*(?:(?://[^\n]*|/\*.*?\*/)\s*)*OPENQASM\b", re.S)


def _library_call(name: str, params: Sequence[float]) -> tuple[str, tuple[float, ...]]:
    """The library gate and parameters an OpenQASM gate name stands for."""
    if name == "cu3":
        return "cu", (*params, 0.0)
    return _QASM_ALIASES.get(name, name), tuple(params)


def _source_arity(name: str) -> tuple[int, int]:
    """(qubits, parameters) of an OpenQASM spelling of a library gate."""
    if name == "cu3":
        return 2, 3
    d = GATES[_QASM_ALIASES.get(name, name)]
    return d.num_qubits, d.num_params


# ========================================================== reading


def load_qasm(text: str) -> Circuit:
    """Read OpenQASM 2 or 3 text into a :class:`~qlab.circuit.Circuit`.

    Args:
        text: a whole program, starting with ``OPENQASM 2.0;`` or ``OPENQASM 3.0;``.

    Returns:
        The circuit, with the program's registers and instructions.

    Raises:
        QlabTypeError: if ``text`` is not a ``str``.
        QasmError: for empty text, syntax errors and semantic errors (undefined
            gate or register, wrong arity, index out of range), with ``line``.
        UnsupportedQasmError: for valid OpenQASM that qlab cannot represent
            (see the module documentation), with ``line``.

    >>> load_qasm('OPENQASM 2.0; include "qelib1.inc"; qreg q[1]; u1(pi/2) q[0];')
    Circuit(1).p(1.5707963267948966, 0)
    """
    _check_text(text)
    with _pyqasm_errors():
        module = pyqasm.loads(text)
    program = module.original_program
    _reject_unsupported(program)
    source = _survey(program)
    _respell(program)
    externals = _external_gates(program)
    with _pyqasm_errors():
        module.unroll(external_gates=externals)
    return _Reader(source).read(module.unrolled_ast.statements)


def _check_text(text: object) -> None:
    if not isinstance(text, str):
        hint = " Decode it first (text.decode())." if isinstance(text, (bytes, bytearray)) else ""
        raise QlabTypeError(f"Cannot read OpenQASM from a {type(text).__name__}: pass the program as a str.{hint}")
    if not text.strip():
        raise QasmError("Cannot read OpenQASM: the text is empty.")
    if not _HEADER.match(text):
        raise QasmError(
            f"Cannot read OpenQASM: the text does not start with an 'OPENQASM 2.0;' or 'OPENQASM 3.0;' "
            f"line (comments may come first); it starts with {text.strip()[:40]!r}.",
            line=1,
        )


# ------------------------------------------------------- pyqasm calls


class _LogCapture(logging.Filter):
    """Keeps pyqasm's error log (it holds the line numbers) instead of printing it."""

    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        self.messages.append(record.getMessage())
        return False


@contextlib.contextmanager
def _pyqasm_errors() -> Iterator[None]:
    """Turn any pyqasm failure into a QasmError; keep its logging and traceback setting local."""
    capture, stderr = _LogCapture(), io.StringIO()
    logger = logging.getLogger("pyqasm")
    had_limit, limit = hasattr(sys, "tracebacklimit"), getattr(sys, "tracebacklimit", None)
    logger.addFilter(capture)
    try:
        with contextlib.redirect_stderr(stderr):
            yield
    except Exception as err:  # pyqasm raises many exception types for bad input
        raise _qasm_error(err, capture.messages, stderr.getvalue()) from err
    finally:
        logger.removeFilter(capture)
        if had_limit:
            sys.tracebacklimit = limit
        elif hasattr(sys, "tracebacklimit"):
            del sys.tracebacklimit


def _qasm_error(err: Exception, log: list[str], stderr: str) -> QasmError:
    """A QasmError from a pyqasm/openqasm3 exception, with the line when it is known."""
    syntax = _syntax_error(err, stderr)
    if syntax is not None:
        line, column, detail = syntax
        return QasmError(f"Cannot read OpenQASM: syntax error at line {line}, column {column}: {detail}.", line=line)
    line = next((int(m.group(1)) for m in map(re.compile(r"Error at line (\d+)").search, log) if m), None)
    statement = next((m.group(1).strip() for m in map(re.compile(r">>>>>> (.*)").search, log) if m), None)
    where = f" at line {line}" if line else ""
    what = f" ({statement!r})" if statement else ""
    detail = str(err) or type(err).__name__
    return QasmError(f"Cannot read OpenQASM{where}{what}: {detail}", line=line)


def _syntax_error(err: BaseException, stderr: str) -> tuple[int, int, str] | None:
    """(line, column, message) of a parse error in ``err``'s chain, else None."""
    chain: list[BaseException] = []
    while err is not None and err not in chain:
        chain.append(err)
        err = err.__cause__ or err.__context__
    if not any(isinstance(e, QASM3ParsingError) for e in chain):
        return None
    m = re.search(r"line (\d+):(\d+) (.*)", stderr) or next(
        filter(None, (re.search(r"L(\d+):C(\d+): (.*)", str(e)) for e in chain)), None
    )
    if m:
        return int(m.group(1)), int(m.group(2)), m.group(3).strip()
    for e in chain:
        token = getattr(e.args[0], "offendingToken", None) if e.args else None
        if token is not None:
            return token.line, token.column, f"unexpected {token.text!r}"
    return 1, 0, "the parser gave no position"


# ------------------------------------------------- walking the source


def _children(value) -> Iterator[ast.QASMNode]:
    if isinstance(value, ast.QASMNode):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _children(item)


def _walk(node: ast.QASMNode) -> Iterator[ast.QASMNode]:
    """``node`` and every AST node below it, parents first."""
    yield node
    for f in dataclasses.fields(node):
        for child in _children(getattr(node, f.name)):
            yield from _walk(child)


def _line(node: ast.QASMNode) -> int | None:
    span = getattr(node, "span", None)
    return span.start_line if span is not None else None


def _text(node: ast.QASMNode) -> str:
    return " ".join(openqasm3.dumps(node).split()).rstrip(";")


def _unsupported(construct: str, line: int | None, why: str) -> UnsupportedQasmError:
    where = f" at line {line}" if line else ""
    return UnsupportedQasmError(f"Unsupported OpenQASM construct {construct!r}{where}: {why}.", line=line)


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


def _reject_unsupported(program: ast.Program) -> None:
    """Raise UnsupportedQasmError for the first construct qlab cannot represent."""
    bits = {d.identifier.name for d in _walk(program) if _is_bit_declaration(d)}
    others = {
        d.identifier.name for d in _walk(program)
        if isinstance(d, (ast.ClassicalDeclaration, ast.ConstantDeclaration)) and not _is_bit_declaration(d)
    }
    for node in _walk(program):
        why = _unsupported_reason(node, bits, others)
        if why is not None:
            raise _unsupported(type(node).__name__, _line(node), why)


def _is_bit_declaration(node: ast.QASMNode) -> bool:
    return isinstance(node, ast.ClassicalDeclaration) and isinstance(node.type, ast.BitType)


def _reads_bits(node: ast.QASMNode | None, bits: set[str]) -> bool:
    return node is not None and any(
        isinstance(n, ast.QuantumMeasurement) or (isinstance(n, ast.Identifier) and n.name in bits)
        for n in _walk(node)
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
        return f"gate call {_text(node)!r} has a duration; write a separate delay"
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
        return f"{_text(node)!r} has no target; qlab measurements write a bit, e.g. 'c[0] = measure q[0];'"
    name = _target_bits(node)[0]
    if name in others:
        return f"{_text(node)!r} measures into {name!r}, which is not a bit register"
    return None


def _branch_reason(node: ast.BranchingStatement, bits: set[str]) -> str | None:
    """Why an ``if`` cannot become one Condition per instruction, or None."""
    if not _reads_bits(node.condition, bits):
        return None
    read = _condition_bits(node.condition, bits)
    if read is None:
        return (
            f"condition {_text(node.condition)!r} is not one bit (at a literal index) or one register "
            "compared with an integer (e.g. 'c[0] == 1', 'c == 5')"
        )
    body = [n for s in node.if_block + node.else_block for n in _walk(s)]
    if any(isinstance(n, (ast.BreakStatement, ast.ContinueStatement)) for n in body):
        return "leaving a loop on a measured value needs run-time classical control"
    writes = [
        n for n in body if isinstance(n, ast.QuantumMeasurementStatement) and _overlaps(_target_bits(n), read)
    ]
    if writes and not _is_final_write(node, writes, read):
        return (
            f"its body measures into the bits its condition reads ({_text(writes[0])!r}); qlab checks the "
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
class _Source:
    """Facts about the source program that unrolling loses."""

    whole_compared: set[str] = dataclasses.field(default_factory=set)
    """Registers some condition compares as a whole (``c == v``)."""
    delays: dict[tuple[int, int], ast.Expression] = dataclasses.field(default_factory=dict)
    """Duration expressions of delays, by (line, column)."""
    first_lines: dict[object, int] = dataclasses.field(default_factory=dict)
    """First line of each node type and of each called gate name (``("gate", name)``)."""


def _survey(program: ast.Program) -> _Source:
    source = _Source()
    for node in _walk(program):
        line = _line(node)
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


def _respell(program: ast.Program) -> None:
    """Rename calls of standard gates pyqasm does not know (in place, before unrolling)."""
    defined = {s.name.name for s in program.statements if isinstance(s, ast.QuantumGateDefinition)}
    for node in _walk(program):
        if isinstance(node, ast.QuantumGate) and node.name.name in _PYQASM_SPELLING.keys() - defined:
            node.name = ast.Identifier(_PYQASM_SPELLING[node.name.name])


# ------------------------------------------- library-named definitions


def _external_gates(program: ast.Program) -> list[str]:
    """Gate names pyqasm should keep as calls: library gates, minus user
    definitions of library names whose bodies are something else."""
    definitions = [s for s in program.statements if isinstance(s, ast.QuantumGateDefinition)]
    redefined = {d.name.name for d in definitions} & _LIBRARY_CALLS
    trusted = _LIBRARY_CALLS - redefined
    matching = {d.name.name for d in definitions if d.name.name in redefined and _is_library(program, d, trusted)}
    return sorted(trusted | matching)


def _is_library(program: ast.Program, definition: ast.QuantumGateDefinition, trusted: frozenset) -> bool:
    """Whether a user definition named like a library gate has its unitary (up to phase)."""
    name = definition.name.name
    num_qubits, num_params = _source_arity(name)
    if (len(definition.qubits), len(definition.arguments)) != (num_qubits, num_params):
        return False
    for sample in _SAMPLE_PARAMS:
        params = sample[:num_params]
        try:
            got = _unitary(_load_call(program, name, num_qubits, params, trusted))
        except QasmError:
            return False
        if not _same_up_to_phase(got, gate_matrix(*_library_call(name, params))):
            return False
    return True


def _load_call(program: ast.Program, name: str, num_qubits: int, params, trusted: frozenset) -> Circuit:
    """The unrolled circuit of one call of gate ``name`` with the program's definitions."""
    keep = (ast.Include, ast.ConstantDeclaration, ast.QuantumGateDefinition)
    reg = ast.Identifier("qlab_call_qubits")
    call = ast.QuantumGate(
        modifiers=[],
        name=ast.Identifier(name),
        arguments=[ast.FloatLiteral(p) for p in params],
        qubits=[ast.IndexedIdentifier(reg, [[ast.IntegerLiteral(i)]]) for i in range(num_qubits)],
    )
    statements = [copy.deepcopy(s) for s in program.statements if isinstance(s, keep)]
    statements += [ast.QubitDeclaration(reg, ast.IntegerLiteral(num_qubits)), call]
    with _pyqasm_errors():
        module = pyqasm.loads(ast.Program(statements=statements, version=program.version))
        module.unroll(external_gates=sorted(trusted))
    return _Reader(_Source()).read(module.unrolled_ast.statements)


def _unitary(circuit: Circuit) -> np.ndarray:
    """The unitary of the gates of a circuit (qubit 0 most significant)."""
    n = circuit.num_qubits
    tensor = np.eye(2**n, dtype=complex).reshape((2,) * n + (2**n,))
    for ins in circuit:
        if not ins.is_gate:
            continue
        m = ins.matrix if ins.name == "unitary" else gate_matrix(ins.name, ins.params)
        k = len(ins.qubits)
        tensor = np.tensordot(m.reshape((2,) * 2 * k), tensor, axes=(range(k, 2 * k), ins.qubits))
        tensor = np.moveaxis(tensor, range(k), ins.qubits)
    return tensor.reshape(2**n, 2**n)


def _same_up_to_phase(a: np.ndarray, b: np.ndarray) -> bool:
    k = np.unravel_index(np.argmax(np.abs(b)), b.shape)
    return bool(abs(a[k]) > 1e-9 and np.allclose(a, a[k] / b[k] * b, atol=1e-9))


# ---------------------------------------------- the unrolled program


class _Reader:
    """Builds a circuit from pyqasm's unrolled statements."""

    def __init__(self, source: _Source):
        self.source = source
        self.circuit = Circuit()

    def read(self, statements: Sequence[ast.Statement]) -> Circuit:
        for statement in statements:
            self._statement(statement, {})
        return self.circuit

    def _statement(self, node: ast.Statement, path: dict[int, int]) -> None:
        handler = self._HANDLERS.get(type(node))
        if handler is None:
            line = _line(node) or self.source.first_lines.get(type(node))
            raise _unsupported(type(node).__name__, line, "qlab circuits have no such statement")
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
            raise _unsupported("gphase", _line(node), f"{_text(node)!r} is a modified global phase")

    def _gate(self, node: ast.QuantumGate, path: dict[int, int]) -> None:
        name = node.name.name
        if name not in _LIBRARY_CALLS:
            line = self.source.first_lines.get(("gate", name))
            raise _unsupported(name, line, f"gate {name!r} has no body qlab can read (an opaque gate); define it")
        qubits = [self._qubit(q) for q in node.qubits]
        gate, params = _library_call(name, [_number(a) for a in node.arguments])
        inverse, controls = _modifiers(node)
        condition = self._condition(path)
        if inverse and gate != "iswap":
            gate, params, inverse = *inverse_params(gate, params), False
        mapped = None if inverse else _controlled(gate, params, controls)
        if mapped is not None:
            self.circuit.append(mapped[0], qubits, mapped[1], condition=condition)
        else:
            m = gate_matrix(gate, params)
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
            raise _unsupported("delay", _line(node), f"{_text(node)!r} has no fixed duration in s, ms, us or ns")
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
        raise QasmError(f"Cannot read OpenQASM: unexpected unrolled condition {_text(cond)!r}.")

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
    raise QasmError(f"Cannot read OpenQASM: unexpected unrolled operand {_text(operand)!r}.")


def _number(expr: ast.Expression) -> float:
    """The value of a literal (possibly negated) that pyqasm left after evaluation."""
    if isinstance(expr, (ast.IntegerLiteral, ast.FloatLiteral)):
        return float(expr.value)
    if isinstance(expr, ast.UnaryExpression) and expr.op.name == "-":
        return -_number(expr.expression)
    raise QasmError(f"Cannot read OpenQASM: the parameter {_text(expr)!r} did not evaluate to a number.")


def _modifiers(node: ast.QuantumGate) -> tuple[bool, int]:
    """(inverted?, number of controls) of the modifiers pyqasm leaves on library gates."""
    inverse, controls = False, 0
    for mod in node.modifiers:
        if mod.modifier == ast.GateModifierName.inv:
            inverse = not inverse
        elif mod.modifier == ast.GateModifierName.ctrl:
            controls += 1 if mod.argument is None else int(_number(mod.argument))
        else:
            raise _unsupported(mod.modifier.name, _line(node), f"{_text(node)!r} has a modifier pyqasm did not expand")
    return inverse, controls


def _call_label(node: ast.QuantumGate) -> str:
    """A gate call without its qubits, e.g. ``ctrl(1) @ sx``."""
    return _text(ast.QuantumGate(node.modifiers, node.name, node.arguments, [])).strip()


def _controlled(gate: str, params: tuple[float, ...], controls: int) -> tuple[str, tuple[float, ...]] | None:
    """The library gate equal to ``gate`` under ``controls`` controls, or None."""
    if controls == 0:
        return gate, params
    if (gate, controls) in _CONTROLLED:
        return _CONTROLLED[gate, controls], params
    if controls == 1 and gate in _PHASE_CONTROLLED:
        return "cp", (_PHASE_CONTROLLED[gate],)
    if controls == 1 and gate == "u3":
        return "cu", (*params, 0.0)
    if controls == 1 and gate == "u2":
        return "cu", (np.pi / 2, *params, 0.0)
    return None


# ========================================================== writing


def dump_qasm(circuit: Circuit, version: int = 3) -> str:
    """Write a circuit as OpenQASM 2 or 3 text that :func:`load_qasm` reads back equal.

    Parameters are written with full precision (``repr``). Library gates that
    the standard include lacks (``rxx``, ``iswap``, ... for version 3, also
    ``sx``, ``swap``, ``cu``, ... for version 2) get a ``gate`` definition at
    the top, so the text is self-contained.

    Args:
        circuit: the circuit to write.
        version: 2 for OpenQASM 2.0 (``qelib1.inc``), 3 for OpenQASM 3.0 (``stdgates.inc``).

    Raises:
        QlabTypeError: if ``circuit`` is not a Circuit.
        QasmError: for a version other than 2 or 3, or a register name OpenQASM reserves.
        UnsupportedQasmError: for instructions the version cannot express:
            ``unitary`` gates; in version 2 also delays, conditioned barriers and
            conditions on part of a register.

    >>> print(dump_qasm(Circuit(2, 1).rzz(0.5, 0, 1).measure(0, 0).x(1).c_if(0, 1)))
    OPENQASM 3.0;
    include "stdgates.inc";
    gate rzz(theta) a, b { cx a, b; rz(theta) b; cx a, b; }
    qubit[2] q;
    bit[1] c;
    rzz(0.5) q[0], q[1];
    c[0] = measure q[0];
    if (c[0] == 1) {
      x q[1];
    }
    """
    if not isinstance(circuit, Circuit):
        raise QlabTypeError(f"Cannot write OpenQASM from a {type(circuit).__name__}: pass a qlab Circuit.")
    if isinstance(version, bool) or version not in (2, 3):
        raise QasmError(f"Cannot write OpenQASM version {version!r}: allowed versions are 2 and 3.")
    return _Writer(circuit, int(version)).text()


class _Writer:
    """Writes one circuit as OpenQASM text of one version."""

    def __init__(self, circuit: Circuit, version: int):
        self.circuit = circuit
        self.version = version
        for reg in circuit.qregs + circuit.cregs:
            _check_register_name(reg.name, version)
        self.qubits = [f"{r.name}[{i}]" for r in circuit.qregs for i in range(r.size)]
        self.clbits = [f"{r.name}[{i}]" for r in circuit.cregs for i in range(r.size)]

    def text(self) -> str:
        if self.version == 2:
            lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', *self._definitions(_QELIB1)]
            lines += [f"qreg {r.name}[{r.size}];" for r in self.circuit.qregs]
            lines += [f"creg {r.name}[{r.size}];" for r in self.circuit.cregs]
            lines += [self._qasm2_line(i, ins) for i, ins in enumerate(self.circuit)]
        else:
            lines = ["OPENQASM 3.0;", 'include "stdgates.inc";', *self._definitions(_STDGATES)]
            lines += [f"qubit[{r.size}] {r.name};" for r in self.circuit.qregs]
            lines += [f"bit[{r.size}] {r.name};" for r in self.circuit.cregs]
            lines += self._qasm3_body()
        return "\n".join(lines) + "\n"

    def _definitions(self, included: frozenset) -> list[str]:
        used = {self._gate_name(ins.name) for ins in self.circuit if ins.name in GATES}
        return [_DEFINITIONS[name] for name in sorted(used - included)]

    def _gate_name(self, name: str) -> str:
        return _QASM2_NAMES.get(name, name) if self.version == 2 else name

    def _statement(self, index: int, ins: Instruction) -> str:
        """One instruction as a statement, without its condition."""
        qubits = ", ".join(self.qubits[q] for q in ins.qubits)
        if ins.name == "unitary":
            raise UnsupportedQasmError(
                f"Cannot write instruction {index} (user gate {ins.label!r} on qubits {ins.qubits}) as OpenQASM: "
                "a matrix gate has no OpenQASM form; decompose it into library gates first."
            )
        if ins.name == "measure":
            qubit, clbit = self.qubits[ins.qubits[0]], self.clbits[ins.clbits[0]]
            return f"measure {qubit} -> {clbit};" if self.version == 2 else f"{clbit} = measure {qubit};"
        if ins.name == "delay":
            return f"delay[{_delay_duration(index, ins, self.version)}] {qubits};"
        if ins.name in ("reset", "barrier"):
            return f"{ins.name} {qubits};" if qubits else f"{ins.name};"
        params = f"({', '.join(map(_float, ins.params))})" if ins.params else ""
        return f"{self._gate_name(ins.name)}{params} {qubits};"

    def _qasm2_line(self, index: int, ins: Instruction) -> str:
        statement = self._statement(index, ins)
        if ins.condition is None:
            return statement
        reg = self._whole_register(ins.condition)
        if reg is None or ins.name == "barrier":
            what = "a barrier" if reg is not None else f"bits {ins.condition.bits}, not a whole register"
            raise UnsupportedQasmError(
                f"Cannot write instruction {index} ({ins!r}) as OpenQASM 2: it is conditioned on {what}, "
                "and OpenQASM 2 can only condition a gate, measure or reset on a whole register; use version=3."
            )
        return f"if({reg}=={ins.condition.value}) {statement}"

    def _whole_register(self, condition: Condition) -> str | None:
        if condition.register is not None:
            return condition.register
        return next((r.name for r in self.circuit.cregs if tuple(r) == condition.bits), None)

    def _qasm3_body(self) -> list[str]:
        lines = []
        for condition, group in _condition_groups(self.circuit.instructions):
            statements = [self._statement(i, ins) for i, ins in group]
            if condition is None:
                lines += statements
                continue
            tests = self._qasm3_tests(condition)
            for depth, test in enumerate(tests):
                lines.append("  " * depth + f"if ({test}) {{")
            lines += ["  " * len(tests) + s for s in statements]
            lines += ["  " * depth + "}" for depth in reversed(range(len(tests)))]
        return lines

    def _qasm3_tests(self, condition: Condition) -> list[str]:
        """The nested ``if`` tests that together express a condition."""
        if condition.register is not None:
            return [f"{condition.register} == {condition.value}"]
        return [f"{self.clbits[b]} == {(condition.value >> i) & 1}" for i, b in enumerate(condition.bits)]


def _condition_groups(instructions: Sequence[Instruction]) -> Iterator[tuple[Condition | None, list]]:
    """Runs of (index, instruction) sharing a condition; a run ends after an
    instruction that writes a bit the condition reads (later ones test anew)."""
    group: list[tuple[int, Instruction]] = []
    for index, ins in enumerate(instructions):
        if group and group[0][1].condition != ins.condition:
            yield group[0][1].condition, group
            group = []
        group.append((index, ins))
        if ins.condition is not None and set(ins.clbits) & set(ins.condition.bits):
            yield ins.condition, group
            group = []
    if group:
        yield group[0][1].condition, group


def _check_register_name(name: str, version: int) -> None:
    if name in _RESERVED:
        raise QasmError(
            f"Cannot write register {name!r} as OpenQASM: the name is an OpenQASM keyword or gate name; rename it."
        )
    if version == 2 and not re.fullmatch(r"[a-z][A-Za-z0-9_]*", name):
        raise QasmError(
            f"Cannot write register {name!r} as OpenQASM 2: names must start with a lowercase letter "
            "and use only letters, digits and '_'; rename it or use version=3."
        )


def _delay_duration(index: int, ins: Instruction, version: int) -> str:
    if version == 2:
        raise UnsupportedQasmError(
            f"Cannot write instruction {index} ({ins!r}) as OpenQASM 2: OpenQASM 2 has no delay; use version=3."
        )
    if ins.unit in _TIME_UNITS:
        return f"{_float(ins.params[0])}{_TIME_UNITS[ins.unit]}"
    return f"{_float(ins.duration_seconds * 1e9)}ns"


def _float(value: float) -> str:
    """A float with full precision, always with a decimal point (OpenQASM 2 reals need one)."""
    text = repr(float(value))
    if "e" in text and "." not in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text
