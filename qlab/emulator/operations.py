"""The operations a runtime hands on, grouped into timed batches.

Operations are small immutable records on simulator qubit ids. A
:class:`Batch` holds operations that start together at ``start_ns``; the batch
lasts ``duration_ns`` (the longest of its operations).

>>> Batch(0, 20, (RXY(0, 1.57, 0.0), RXY(1, 1.57, 0.0))).kinds
{'rxy'}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

__all__ = ["RXY", "RZ", "RZZ", "Measure", "MeasureLeaked", "Reset", "Custom", "Operation", "Batch"]


@dataclass(frozen=True, slots=True)
class RXY:
    """``exp(-i theta/2 (cos(phi) X + sin(phi) Y))`` on ``qubit``."""

    qubit: int
    theta: float
    phi: float
    kind = "rxy"

    @property
    def qubits(self) -> tuple[int, ...]:
        return (self.qubit,)


@dataclass(frozen=True, slots=True)
class RZ:
    """``exp(-i theta/2 Z)`` on ``qubit``."""

    qubit: int
    theta: float
    kind = "rz"

    @property
    def qubits(self) -> tuple[int, ...]:
        return (self.qubit,)


@dataclass(frozen=True, slots=True)
class RZZ:
    """``exp(-i theta/2 Z⊗Z)`` on ``qubit1, qubit2``."""

    qubit1: int
    qubit2: int
    theta: float
    kind = "rzz"

    @property
    def qubits(self) -> tuple[int, ...]:
        return (self.qubit1, self.qubit2)


@dataclass(frozen=True, slots=True)
class Measure:
    """Measure ``qubit`` in Z; the outcome (a bool) goes to result ``result_id``."""

    qubit: int
    result_id: int
    kind = "measure"

    @property
    def qubits(self) -> tuple[int, ...]:
        return (self.qubit,)


@dataclass(frozen=True, slots=True)
class MeasureLeaked:
    """Measure ``qubit``, reporting 2 when it has leaked; the value (an int) goes to ``result_id``."""

    qubit: int
    result_id: int
    kind = "measure_leaked"

    @property
    def qubits(self) -> tuple[int, ...]:
        return (self.qubit,)


@dataclass(frozen=True, slots=True)
class Reset:
    """Reset ``qubit`` to ``|0>`` (also how a runtime prepares a freshly allocated qubit)."""

    qubit: int
    kind = "reset"

    @property
    def qubits(self) -> tuple[int, ...]:
        return (self.qubit,)


@dataclass(frozen=True, slots=True)
class Custom:
    """An operation only some error models understand (passed through by the others)."""

    tag: int
    data: Any = None
    kind = "custom"

    @property
    def qubits(self) -> tuple[int, ...]:
        return ()


Operation = Union[RXY, RZ, RZZ, Measure, MeasureLeaked, Reset, Custom]


@dataclass(frozen=True, slots=True)
class Batch:
    """Operations that start together at ``start_ns`` and take ``duration_ns`` in all."""

    start_ns: int
    duration_ns: int
    operations: tuple

    @property
    def kinds(self) -> set[str]:
        """The kinds of operation in the batch."""
        return {op.kind for op in self.operations}

    @property
    def qubits(self) -> set[int]:
        """Every qubit an operation of the batch acts on."""
        return {q for op in self.operations for q in op.qubits}
