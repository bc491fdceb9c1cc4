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
* Phases follow the published definitions where a control makes them
  observable. ``ctrl @ u3(θ, φ, λ)`` and ``ctrl @ u2`` control the
  ``stdgates.inc`` ``u3``, which carries ``gphase(-(φ+λ+θ)/2)`` on top of the
  OpenQASM 3 ``U``: that is ``cu(θ, φ, λ, -(φ+λ)/2)`` in library terms
  (``ctrl @ U(θ, φ, λ)`` is ``cu(θ, φ, λ, θ/2)``). OpenQASM 2's ``cu3`` in the
  published ``qelib1.inc`` controls the OpenQASM 2 ``U`` = Rz(φ) Ry(θ) Rz(λ),
  the same gate. Qiskit's copy of ``qelib1.inc`` adds ``u1((λ+φ)/2)`` on the
  control, so a Qiskit ``cu3`` is ``cu(θ, φ, λ, 0)``: write that (``cu`` is
  in both includes qlab writes) when the Qiskit meaning is wanted.
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

import re

from ...exceptions import QasmError, QlabTypeError
from ..circuit import Circuit
from .limits import QasmLimits, check_program_size, check_text_size
from .writer import Writer

__all__ = ["load_qasm", "dump_qasm", "QasmLimits"]

_HEADER = re.compile(r"\s*(?:(?://[^\n]*|/\*.*?\*/)\s*)*OPENQASM\b", re.S)


DEFAULT_MAX_QUBITS = QasmLimits.max_qubits
"""The most qubits a program may declare unless ``load_qasm(max_qubits=...)`` says otherwise."""


def load_qasm(
    text: str,
    *,
    max_qubits: int = QasmLimits.max_qubits,
    max_clbits: int = QasmLimits.max_clbits,
    max_statements: int = QasmLimits.max_statements,
    max_text_size: int = QasmLimits.max_text_size,
) -> Circuit:
    """Read OpenQASM 2 or 3 text into a :class:`~qlab.circuit.Circuit`.

    The size limits are checked before anything is expanded, so a short text
    that stands for a huge program (``qubit[500000000*2] q;``, a loop over a
    million values) is refused at once, with the limit named.

    Args:
        text: a whole program, starting with ``OPENQASM 2.0;`` or ``OPENQASM 3.0;``.
        max_qubits: the most qubits all registers may declare together (4096);
            sizes written as expressions of literals and ``const`` values count.
        max_clbits: the most classical bits all bit registers may declare together (65536).
        max_statements: the most statements once loops are unrolled, gate
            definitions inlined and register broadcasts expanded (100000).
        max_text_size: the most characters the text may have (10000000).

    Returns:
        The circuit, with the program's registers and instructions.

    Raises:
        QlabTypeError: if ``text`` is not a ``str`` or a limit is not a non-negative int.
        QasmError: for empty text, syntax errors and semantic errors (undefined
            gate or register, wrong arity, index out of range), with ``line``.
        UnsupportedQasmError: for valid OpenQASM that qlab cannot represent
            (see the module documentation), with ``line``.
        QasmLimitError: for a program over ``max_clbits``, ``max_statements`` or
            ``max_text_size``, with ``line``; over ``max_qubits`` it is a
            ``QasmQubitLimitError`` (also a ``QubitLimitError``).

    >>> load_qasm('OPENQASM 2.0; include "qelib1.inc"; qreg q[1]; u1(pi/2) q[0];')
    Circuit(1).p(1.5707963267948966, 0)
    >>> load_qasm("OPENQASM 3.0; const int n = 1000000000; qubit[n] q;")
    Traceback (most recent call last):
    ...
    qlab.exceptions.QasmQubitLimitError: Cannot read OpenQASM at line 1: the program declares 1000000000 qubits, more than max_qubits=4096 allowed here; declare fewer qubits (or raise max_qubits).
    """
    import pyqasm  # the parser loads on first use: importing qlab stays fast

    from . import library
    from .diagnostics import pyqasm_errors
    from .reader import Reader
    from .support import reject_unsupported, survey

    _check_text(text)
    limits = QasmLimits(max_qubits, max_clbits, max_statements, max_text_size)
    check_text_size(text, limits)
    with pyqasm_errors():
        module = pyqasm.loads(text)
    program = module.original_program
    reject_unsupported(program)
    check_program_size(program, limits)
    source = survey(program)
    library.respell(program)
    externals = library.external_gates(program)
    with pyqasm_errors():
        module.unroll(external_gates=externals)
    return Reader(source).read(module.unrolled_ast.statements)


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
    return Writer(circuit, int(version)).text()
