"""Circuits and OpenQASM 3 as emulator programs (mid-circuit measurement and ``if`` included).

The circuit is first written in the emulator's natives (``rxy``, ``rz``,
``rzz``) by :func:`qlab.devices.unroll`; a measurement's future goes into
its classical bit, and a condition reads its bits (forcing them, which is
feed-forward). Each classical register is recorded under its name as a list
of bits (bit ``i`` is character ``i`` of the counts keys, as in
:func:`qlab.simulate`).

>>> from qlab.emulator import Emulator
>>> program = qasm_program('''OPENQASM 3.0; include "stdgates.inc";
... qubit[2] q; bit[2] c;
... x q[0]; c[0] = measure q[0];
... if (c[0]) x q[1];
... c[1] = measure q[1];''')
>>> Emulator(2).run(program, shots=20, seed=1).counts("c")
{'11': 20}
"""

from __future__ import annotations

from collections.abc import Callable

from ..circuit import Circuit
from ..exceptions import UnsupportedProgramError

__all__ = ["circuit_program", "qasm_program", "NATIVES"]

NATIVES = frozenset({"rxy", "rz", "rzz"})
"""The gates a runtime accepts."""


def qasm_program(text: str) -> Callable:
    """An emulator program from OpenQASM 2 or 3 text (read with :func:`qlab.load_qasm`)."""
    from ..circuit import load_qasm

    program = circuit_program(load_qasm(text))
    program.__qasm__ = text
    return program


def circuit_program(circuit: Circuit) -> Callable:
    """An emulator program that runs ``circuit`` (with its classical conditions) on fresh qubits."""
    from ..devices.natives import unroll

    native = unroll(circuit, NATIVES)
    for ins in native:
        if ins.name == "measure" and ins.condition is not None:
            raise UnsupportedProgramError("circuit_program: conditional measurements are not supported; condition the gates around them.")
        if ins.name == "unitary":
            raise UnsupportedProgramError("circuit_program: multi-qubit unitary instructions cannot be written in rxy/rz/rzz.")
    instructions = native.instructions
    registers = [(reg.name, list(reg)) for reg in native.cregs]

    def program(ctx) -> None:
        qubits = [ctx.qalloc() for _ in range(native.num_qubits)]
        bits: list = [False] * native.num_clbits
        for ins in instructions:
            if ins.condition is not None:
                record = tuple(int(bool(bits[b])) for b in range(len(bits)))
                if not ins.condition.holds(record):
                    continue
            name, qs = ins.name, [qubits[q] for q in ins.qubits]
            if name == "rxy":
                ctx.rxy(qs[0], *ins.params)
            elif name == "rz":
                ctx.rz(qs[0], *ins.params)
            elif name == "rzz":
                ctx.rzz(qs[0], qs[1], *ins.params)
            elif name == "measure":
                bits[ins.clbits[0]] = ctx.measure(qs[0])
            elif name == "reset":
                ctx.reset(qs[0])
            elif name == "barrier":
                ctx.local_barrier(qs)
            elif name == "delay":
                ctx.local_barrier(qs, round(ins.duration_seconds * 1e9))
        for name, members in registers:
            ctx.result(name, [bits[b] for b in members])

    program.__name__ = program.__qualname__ = "circuit_program"
    program.__qasm__ = circuit.to_qasm(3)
    return program
