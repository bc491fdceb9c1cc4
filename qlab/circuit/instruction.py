"""Plain-data pieces of a circuit: registers, classical conditions, instructions.

>>> Instruction("rz", (0,), params=(0.5,))
Instruction('rz', (0,), params=(0.5,))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Register", "Condition", "Instruction", "NON_GATE_OPS", "TIME_UNITS"]

NON_GATE_OPS = frozenset({"measure", "reset", "barrier", "delay"})
"""Instruction names that are not unitary gates."""

TIME_UNITS: dict[str, float] = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "ps": 1e-12}
"""Units a delay may be given in, with their factor to seconds."""


@dataclass(frozen=True)
class Register:
    """A named quantum or classical register.

    Attributes:
        name: the register's name (an OpenQASM identifier).
        size: how many bits it has.
        offset: the global index of its first bit in the circuit.
    """

    name: str
    size: int
    offset: int

    def __getitem__(self, index: int) -> int:
        """The global index of bit ``index`` of this register."""
        if not -self.size <= index < self.size:
            raise IndexError(f"Register {self.name!r} has {self.size} bits; index {index} is out of range.")
        return self.offset + (index % self.size)

    def __iter__(self):
        return iter(range(self.offset, self.offset + self.size))

    def __len__(self) -> int:
        return self.size


@dataclass(frozen=True)
class Condition:
    """A classical condition: run the instruction only if ``bits`` read ``value``.

    ``bits`` are global classical bit indices, least significant first, so a
    condition on a whole register ``c`` with ``value=5`` tests ``c[0]=1,
    c[1]=0, c[2]=1``.

    Attributes:
        bits: the classical bits that are read (least significant first).
        value: the integer they must equal.
        register: the register name when the condition reads a whole register.
    """

    bits: tuple[int, ...]
    value: int
    register: str | None = None

    def holds(self, record: tuple[int, ...]) -> bool:
        """Whether the condition is true for a classical record (one int per bit)."""
        return sum(record[b] << i for i, b in enumerate(self.bits)) == self.value


@dataclass(frozen=True, eq=False)
class Instruction:
    """One step of a circuit.

    Attributes:
        name: a library gate name, ``"unitary"`` for a user matrix, or one of
            ``measure``, ``reset``, ``barrier``, ``delay``.
        qubits: global qubit indices, in the gate's argument order.
        params: real parameters (angles; for ``delay`` the duration in ``unit``).
        clbits: classical bits written (``measure``: one per qubit).
        condition: run only when this classical condition holds.
        matrix: the unitary of a user-defined gate (``name == "unitary"``).
        label: a display name for a user-defined gate.
        unit: the time unit of a ``delay``.
    """

    name: str
    qubits: tuple[int, ...]
    params: tuple[float, ...] = ()
    clbits: tuple[int, ...] = ()
    condition: Condition | None = None
    matrix: np.ndarray | None = field(default=None, repr=False)
    label: str | None = None
    unit: str | None = None

    @property
    def is_gate(self) -> bool:
        """Whether this is a unitary gate (a library gate or a user matrix)."""
        return self.name not in NON_GATE_OPS

    @property
    def duration_seconds(self) -> float:
        """The duration of a ``delay`` in seconds (0 for other instructions)."""
        if self.name != "delay":
            return 0.0
        return self.params[0] * TIME_UNITS[self.unit or "s"]

    def _key(self):
        m = None if self.matrix is None else (self.matrix.shape, self.matrix.tobytes())
        return (self.name, self.qubits, self.params, self.clbits, self.condition, m, self.label, self.unit)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Instruction):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        parts = [repr(self.name), repr(self.qubits)]
        for attr in ("params", "clbits"):
            if getattr(self, attr):
                parts.append(f"{attr}={getattr(self, attr)!r}")
        for attr in ("condition", "label", "unit"):
            if getattr(self, attr) is not None:
                parts.append(f"{attr}={getattr(self, attr)!r}")
        if self.matrix is not None:
            parts.append(f"matrix=<{self.matrix.shape[0]}x{self.matrix.shape[1]}>")
        return f"Instruction({', '.join(parts)})"
