"""The pass protocol and what passes share.

A pass is any picklable object with ``run(circuit, data) -> circuit``.
``data`` is the compilation's dictionary: ``data["target"]`` (a
:class:`~qlab.compiler.Target`), ``data["initial_layout"]`` and
``data["final_layout"]`` (``layout[logical] = physical``, set by routing),
``data["seed"]``, ``data["input"]`` (the circuit as submitted) and anything a
pass wants to leave for later ones.

>>> from qlab import Circuit
>>> class CountGates(BasePass):
...     def run(self, circuit, data):
...         data["gates"] = len(circuit)
...         return circuit
>>> CountGates()
CountGates()
>>> data = {}
>>> CountGates().run(Circuit(1).h(0), data), data
(Circuit(1).h(0), {'gates': 1})
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

from ...circuit import Circuit
from ...circuit.instruction import Instruction
from ..runtime import current_context, get_runtime

__all__ = ["Pass", "BasePass", "parallel_map", "rebuild", "cx_count", "WORK_GATES"]

WORK_GATES = frozenset({"u3", "cx"})
"""The gate set passes work in between unrolling and fitting to the target."""


@runtime_checkable
class Pass(Protocol):
    """The pass protocol: ``run(circuit, data)`` returns the new circuit."""

    def run(self, circuit: Circuit, data: dict) -> Circuit: ...


class BasePass:
    """A convenient base: a ``repr`` from the constructor arguments kept as attributes."""

    def run(self, circuit: Circuit, data: dict) -> Circuit:  # pragma: no cover - the protocol
        raise NotImplementedError(f"{type(self).__name__}.run(circuit, data) must be written by the pass.")

    @property
    def name(self) -> str:
        """The pass's display name (its class name)."""
        return type(self).__name__

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


def parallel_map(fn: Callable, *iterables: Iterable) -> list[Any]:
    """``[fn(*args) ...]``, as runtime subtasks inside a compilation, in this process outside one."""
    if current_context() is None:
        return [fn(*args) for args in zip(*iterables)]
    items = [list(it) for it in iterables]
    if not items or not items[0]:
        return []
    runtime = get_runtime()
    return runtime.wait(runtime.map(fn, *items))


def rebuild(circuit: Circuit, instructions: Iterable[Instruction], num_qubits: int | None = None) -> Circuit:
    """A circuit with the classical registers of ``circuit`` and the given instructions.

    Quantum registers are kept when ``num_qubits`` is ``None``; otherwise the
    result has one register ``q`` of ``num_qubits`` (physical) qubits.
    """
    out = Circuit(name=circuit.name)
    if num_qubits is None:
        for reg in circuit.qregs:
            out.add_qreg(reg.name, reg.size)
    elif num_qubits:
        out.add_qreg("q", num_qubits)
    for reg in circuit.cregs:
        out.add_creg(reg.name, reg.size)
    out._instructions.extend(instructions)
    return out


def cx_count(circuit: Circuit) -> int:
    """Two-qubit gates in the circuit, counting a ``swap`` as three (the CNOT count in the work basis).

    >>> cx_count(Circuit(2).cx(0, 1).swap(0, 1).h(0))
    4
    """
    return sum(3 if ins.name == "swap" else 1 for ins in circuit if ins.is_gate and len(ins.qubits) == 2)
