"""Checking a job's program before any work: size limits, parsing off the caller's thread, error mapping.

QDMI asks ``set_parameter(PROGRAM, ...)`` to refuse an invalid program with
``InvalidArgument`` and a valid one the device cannot run with
``NotSupported``. qlab checks the program there, once, under the device's
:class:`ProgramLimits`: the size of the text first (before any parsing),
then the parse itself runs on a helper thread that the caller waits for at
most ``parse_timeout`` seconds, so a pathological program never hangs a
notebook kernel. The declared sizes (qubits, classical bits, statements after
expansion) are checked by :func:`qlab.load_qasm` before it expands anything. A ``MemoryError`` while
checking becomes :class:`~qlab.qdmi.errors.OutOfMem`.

>>> check_qasm(ProgramFormat.QASM3, "OPENQASM 3.0; qubit q; x q;")
Circuit(1).x(0)
>>> check_qasm(ProgramFormat.QASM2, "OPENQASM 3.0; qubit q; x q;")
Traceback (most recent call last):
...
qlab.qdmi.errors.InvalidArgument: The program declares OPENQASM 3 but the program format is QASM2; set PROGRAMFORMAT to QASM3 or change the header.
>>> check_qasm(ProgramFormat.QASM3, "OPENQASM 3.0; qubit q; x q;", limits=ProgramLimits(max_program_bytes=10))
Traceback (most recent call last):
...
qlab.qdmi.errors.NotSupported: The program is 27 bytes long; this device takes programs of at most 10 bytes (ProgramLimits.max_program_bytes).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ..circuit import Circuit, load_qasm
from ..exceptions import QasmError, QasmLimitError, QubitLimitError, UnsupportedQasmError
from .enums import ProgramFormat
from .errors import InvalidArgument, NotSupported, OutOfMem, QdmiError

__all__ = ["ProgramLimits", "check_qasm", "check_qir", "declared_version", "with_time_limit"]

_VERSION = re.compile(r"^(?:\s|//[^\n]*\n|/\*.*?\*/)*OPENQASM\s+(\d+)(?:\.\d+)?\s*;", re.DOTALL)
_T = TypeVar("_T")


@dataclass(frozen=True)
class ProgramLimits:
    """What a device accepts as one program; set per device with ``device.limits = ProgramLimits(...)``.

    >>> ProgramLimits().max_program_bytes
    1000000
    """

    max_program_bytes: int = 1_000_000
    """The longest program text, in UTF-8 bytes (checked before parsing)."""
    max_statements: int = 100_000
    """The most statements a program may expand to (loops unrolled, gate definitions inlined)."""
    max_clbits: int = 65_536
    """The most classical bits a program may declare."""
    parse_timeout: float = 20.0
    """Seconds the caller waits for a program to be parsed and checked."""

    def __post_init__(self) -> None:
        for name in ("max_program_bytes", "max_statements", "max_clbits"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgument(f"ProgramLimits.{name} must be an int >= 1, got {value!r}.")
        if isinstance(self.parse_timeout, bool) or not isinstance(self.parse_timeout, (int, float)) or not self.parse_timeout > 0:
            raise InvalidArgument(f"ProgramLimits.parse_timeout must be a positive number of seconds, got {self.parse_timeout!r}.")


def declared_version(text: str) -> int | None:
    """The OpenQASM major version a program's header declares, or None.

    >>> declared_version("// Bell\\nOPENQASM 2.0; qreg q[2];"), declared_version("qubit q;")
    (2, None)
    """
    match = _VERSION.match(text)
    return int(match.group(1)) if match else None


def with_time_limit(fn: Callable[[], _T], timeout: float, what: str) -> _T:
    """``fn()`` on a helper thread; the caller waits at most ``timeout`` seconds.

    Raises:
        NotSupported: ``fn`` did not finish in time (it is left to finish on its own).
        OutOfMem: ``fn`` ran out of memory.
    """
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as err:  # handed to the caller below
            box["error"] = err

    thread = threading.Thread(target=target, name="qlab-qdmi-check", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise NotSupported(
            f"Checking {what} took longer than {timeout:g} s (ProgramLimits.parse_timeout); the program is too large "
            "or too deeply nested for this device. Split it, or raise the device's limits."
        )
    error = box.get("error")
    if isinstance(error, MemoryError):
        raise OutOfMem(f"Checking {what} ran out of memory; the program is too large for this machine.") from error
    if error is not None:
        raise error  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def _check_size(program: str, limits: ProgramLimits) -> None:
    size = len(program.encode("utf-8"))
    if size > limits.max_program_bytes:
        raise NotSupported(
            f"The program is {size:,} bytes long; this device takes programs of at most {limits.max_program_bytes:,} "
            "bytes (ProgramLimits.max_program_bytes)."
        )


def check_qasm(fmt: ProgramFormat, program: str, max_qubits: int | None = None, limits: ProgramLimits = ProgramLimits()) -> Circuit:
    """Parse an OpenQASM program of format ``fmt`` within ``limits``; the declared version must match it.

    With ``max_qubits`` (a device's size), programs that declare more qubits are
    refused before any register is expanded.

    Raises:
        InvalidArgument: the text is not valid OpenQASM of that version (the message says where).
        NotSupported: the program is valid but the device cannot run it: constructs qlab
            cannot represent, more qubits than ``max_qubits``, or over a limit (named).
        OutOfMem: checking it ran out of memory.
    """
    declared = declared_version(program)
    expected = {ProgramFormat.QASM2: 2, ProgramFormat.QASM3: 3}[fmt]
    if declared and declared != expected:
        raise InvalidArgument(
            f"The program declares OPENQASM {declared} but the program format is {fmt.name}; "
            f"set PROGRAMFORMAT to QASM{declared} or change the header."
        )
    _check_size(program, limits)
    kwargs = {"max_clbits": limits.max_clbits, "max_statements": limits.max_statements}
    if max_qubits is not None:
        kwargs["max_qubits"] = max_qubits
    try:
        return with_time_limit(lambda: load_qasm(program, **kwargs), limits.parse_timeout, f"the {fmt.name} program")
    except (QubitLimitError, QasmLimitError) as err:
        raise NotSupported(f"The {fmt.name} program cannot run on this device: {err}") from err
    except UnsupportedQasmError as err:
        raise NotSupported(f"Invalid {fmt.name} program: {err}") from err
    except QasmError as err:
        raise InvalidArgument(f"Invalid {fmt.name} program: {err}") from err


def check_qir(program: str, limits: ProgramLimits = ProgramLimits()) -> None:
    """Check that QIR text is valid LLVM IR (parsed and verified with llvmlite).

    >>> check_qir("this is not QIR")
    Traceback (most recent call last):
    ...
    qlab.qdmi.errors.InvalidArgument: Invalid QIR program: LLVM IR parsing error <string>:1:1: error: expected top-level entity
    """
    _check_size(program, limits)
    from llvmlite import binding

    def parse() -> None:
        module = binding.parse_assembly(program)
        module.verify()

    try:
        with_time_limit(parse, limits.parse_timeout, "the QIR program")
    except QdmiError:
        raise
    except RuntimeError as err:
        first = " ".join(str(err).split("\n")[:2]).strip()
        raise InvalidArgument(f"Invalid QIR program: {first}") from err
