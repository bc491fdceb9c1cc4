"""OpenQASM 2 or 3 text of a circuit."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from ...exceptions import QasmError, UnsupportedQasmError
from ..circuit import Circuit
from ..gates import GATES
from ..instruction import Condition, Instruction
from .tables import DEFINITIONS, QASM2_NAMES, QELIB1, RESERVED, STDGATES, TIME_UNITS


class Writer:
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
            lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', *self._definitions(QELIB1)]
            lines += [f"qreg {r.name}[{r.size}];" for r in self.circuit.qregs]
            lines += [f"creg {r.name}[{r.size}];" for r in self.circuit.cregs]
            lines += [self._qasm2_line(i, ins) for i, ins in enumerate(self.circuit)]
        else:
            lines = ["OPENQASM 3.0;", 'include "stdgates.inc";', *self._definitions(STDGATES)]
            lines += [f"qubit[{r.size}] {r.name};" for r in self.circuit.qregs]
            lines += [f"bit[{r.size}] {r.name};" for r in self.circuit.cregs]
            lines += self._qasm3_body()
        return "\n".join(lines) + "\n"

    def _definitions(self, included: frozenset) -> list[str]:
        used = {self._gate_name(ins.name) for ins in self.circuit if ins.name in GATES}
        return [DEFINITIONS[name] for name in sorted(used - included)]

    def _gate_name(self, name: str) -> str:
        return QASM2_NAMES.get(name, name) if self.version == 2 else name

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
    if name in RESERVED:
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
    if ins.unit in TIME_UNITS:
        return f"{_float(ins.params[0])}{TIME_UNITS[ins.unit]}"
    return f"{_float(ins.duration_seconds * 1e9)}ns"


def _float(value: float) -> str:
    """A float with full precision, always with a decimal point (OpenQASM 2 reals need one)."""
    text = repr(float(value))
    if "e" in text and "." not in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text
