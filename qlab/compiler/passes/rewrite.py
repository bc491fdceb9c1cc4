"""Gate-level rewriting passes: unrolling, fitting to a device, one-qubit merging, peephole cancellation.

>>> from qlab import Circuit
>>> c = Circuit(2).h(0).h(0).cx(0, 1).cx(0, 1).t(1).s(1)
>>> MergeSingleQubitGates().run(CancelInversePairs().run(c, {}), {})
Circuit(2).u3(0.0, 1.1780972450961724, 1.1780972450961724, 1)
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from ...circuit import Circuit
from ...circuit.gates import gate_matrix
from ...circuit.instruction import Instruction
from ...devices.natives import one_qubit_gates, unroll
from ...devices.placement import fit_circuit
from ..kak import two_qubit_gates
from ...exceptions import CompilerError, QlabTypeError
from .base import WORK_GATES, BasePass, rebuild

__all__ = ["Unroll", "FitToTarget", "MergeSingleQubitGates", "CancelInversePairs", "CancelCommutingCX"]


def _expand_two_qubit_unitaries(circuit: Circuit) -> Circuit:
    """User 4x4 matrices written as ``u3`` and ``cx`` (exact KAK synthesis)."""
    if not any(ins.name == "unitary" and len(ins.qubits) == 2 for ins in circuit):
        return circuit
    out = []
    for ins in circuit:
        if ins.name == "unitary" and len(ins.qubits) == 2:
            out.extend(Instruction(n, q, p, condition=ins.condition) for n, q, p in two_qubit_gates(ins.matrix, ins.qubits))
        else:
            out.append(ins)
    return rebuild(circuit, out)


def gate_names(natives: Collection[str], who: str) -> list[str]:
    """``natives`` as a sorted list of gate names.

    Raises:
        QlabTypeError: a single string (``"cx"`` would read as ``c``, ``x``) or something that is not names.
    """
    if isinstance(natives, str) or not all(isinstance(n, str) for n in natives):
        raise QlabTypeError(f"{who}: natives must be a collection of gate names like ('u3', 'cx'), got {natives!r}.")
    return sorted(natives)


class Unroll(BasePass):
    """Write every gate in ``natives`` (default: the target's natives) with :func:`qlab.devices.unroll`.

    Two-qubit user matrices are first synthesised exactly (KAK).

    Args:
        natives: gate names to write the circuit in; ``None`` for ``data["target"].native_gates``.
    """

    def __init__(self, natives: Collection[str] | None = None):
        self.natives = None if natives is None else gate_names(natives, "Unroll")

    def run(self, circuit: Circuit, data: dict) -> Circuit:
        natives = self.natives if self.natives is not None else data["target"].native_gates
        return unroll(_expand_two_qubit_unitaries(circuit), natives)


class FitToTarget(BasePass):
    """The routed circuit in the target's native gates; for a qlab device, then fitted to it with
    :func:`qlab.devices.fit_circuit` (calibrated orientations, site checks; also for a device that
    does not unroll programs itself)."""

    def run(self, circuit: Circuit, data: dict) -> Circuit:
        target = data["target"]
        native = unroll(circuit, target.native_gates)
        if target.description is not None:
            return fit_circuit(native, target.description)
        apart = next((ins for ins in native if ins.is_gate and len(ins.qubits) == 2 and not target.is_coupled(*ins.qubits)), None)
        if apart is not None:
            raise CompilerError(
                f"Cannot fit {apart.name!r} on qubits {apart.qubits} to target {target.name!r}: they are not coupled; "
                "route the circuit first (SabreRouting)."
            )
        return native


_Z = np.diag([1.0, -1.0])
_X = np.array([[0.0, 1.0], [1.0, 0.0]])

_SELF_INVERSE = {"cx": False, "cy": False, "cz": True, "swap": True, "x": False, "y": False, "z": False, "h": False}
"""Self-inverse gates without parameters -> whether their qubits may come in either order."""


class MergeSingleQubitGates(BasePass):
    """Multiply every run of one-qubit gates on a qubit into one gate of ``natives`` (dropped if it is the identity).

    Args:
        natives: the one-qubit gate set to write merged runs in (default ``u3``).
    """

    def __init__(self, natives: Collection[str] = ("u3",)):
        self.natives = gate_names(natives, "MergeSingleQubitGates")

    def run(self, circuit: Circuit, data: dict) -> Circuit:
        natives = frozenset(self.natives)
        out: list[Instruction | None] = []
        runs: dict[int, list[int]] = {}

        def flush(q: int) -> None:
            run = runs.pop(q, [])
            if not run:
                return
            if len(run) == 1 and out[run[0]].name in natives:
                return
            u = np.eye(2, dtype=complex)
            for i in run:
                ins = out[i]
                u = (ins.matrix if ins.name == "unitary" else gate_matrix(ins.name, ins.params)) @ u
            replacement = [Instruction(n, qs, p) for n, qs, p in one_qubit_gates(u, q, natives)]
            for i in run:
                out[i] = None
            out[run[-1]] = replacement  # type: ignore[call-overload]

        for ins in circuit:
            if ins.is_gate and len(ins.qubits) == 1 and ins.condition is None:
                runs.setdefault(ins.qubits[0], []).append(len(out))
            else:
                for q in ins.qubits:
                    flush(q)
            out.append(ins)
        for q in list(runs):
            flush(q)
        flat: list[Instruction] = []
        for item in out:
            if isinstance(item, list):
                flat.extend(item)
            elif item is not None:
                flat.append(item)
        return rebuild(circuit, flat)


class CancelInversePairs(BasePass):
    """Remove neighbouring pairs of a self-inverse gate (``cx``, ``cz``, ``swap``, ``h``, Paulis) on the same qubits.

    Two gates are neighbours when nothing acts on any of their qubits in between;
    pairs that become neighbours when an inner pair goes cancel too.
    """

    def run(self, circuit: Circuit, data: dict) -> Circuit:
        out: list[Instruction | None] = []
        last: dict[int, list[int]] = {}
        for ins in circuit:
            if self._cancels(ins, out, last):
                prev = last[ins.qubits[0]][-1]
                out[prev] = None
                for q in ins.qubits:
                    last[q].pop()
                continue
            for q in ins.qubits:
                last.setdefault(q, []).append(len(out))
            out.append(ins)
        return rebuild(circuit, [ins for ins in out if ins is not None])

    @staticmethod
    def _cancels(ins: Instruction, out: list, last: dict[int, list[int]]) -> bool:
        symmetric = _SELF_INVERSE.get(ins.name)
        if symmetric is None or ins.condition is not None:
            return False
        tops = {last[q][-1] if last.get(q) else None for q in ins.qubits}
        if len(tops) != 1 or None in tops:
            return False
        prev = out[tops.pop()]
        if prev is None or prev.name != ins.name or prev.condition is not None:
            return False
        return prev.qubits == ins.qubits or (symmetric and sorted(prev.qubits) == sorted(ins.qubits))


class CancelCommutingCX(BasePass):
    """Remove pairs of equal ``cx`` gates whose in-between gates on their qubits all commute with them.

    A gate commutes with ``cx(c, t)`` when it is a one-qubit gate on ``c`` that is
    diagonal (commutes with Z), a one-qubit gate on ``t`` that commutes with X, or
    another ``cx`` sharing only the control or only the target. The later ``cx``
    then moves back next to the earlier one, and the two cancel.

    >>> from qlab import Circuit
    >>> c = Circuit(3).cx(0, 1).rz(0.3, 0).cx(0, 2).rx(0.2, 1).cx(2, 1).cx(0, 1)
    >>> CancelCommutingCX().run(c, {}).count_ops()
    {'rz': 1, 'cx': 2, 'rx': 1}
    """

    def run(self, circuit: Circuit, data: dict) -> Circuit:
        instructions = list(circuit)
        alive = [True] * len(instructions)
        on_qubit: dict[int, list[int]] = {}
        for j, ins in enumerate(instructions):
            if ins.name == "cx" and ins.condition is None:
                i = self._partner(instructions, alive, on_qubit, ins)
                if i is not None:
                    alive[i] = alive[j] = False
                    continue
            for q in ins.qubits:
                on_qubit.setdefault(q, []).append(j)
        return rebuild(circuit, [ins for ins, keep in zip(instructions, alive) if keep])

    @staticmethod
    def _partner(instructions, alive, on_qubit, cx: Instruction) -> int | None:
        """The earlier equal ``cx`` this one moves back to, if every gate in between commutes with it."""
        control, target = cx.qubits
        for i in _backwards(on_qubit.get(control, []), on_qubit.get(target, [])):
            if not alive[i]:
                continue
            ins = instructions[i]
            if ins.name == "cx" and ins.qubits == cx.qubits and ins.condition is None:
                return i
            if not all(_commutes_with_cx(ins, q, q == control) for q in ins.qubits if q in cx.qubits):
                return None
        return None


def _backwards(a: list[int], b: list[int]):
    """The indices of two increasing lists, merged, largest first, each once."""
    i, j = len(a) - 1, len(b) - 1
    while i >= 0 or j >= 0:
        if j < 0 or (i >= 0 and a[i] > b[j]):
            yield a[i]
            i -= 1
        elif i < 0 or b[j] > a[i]:
            yield b[j]
            j -= 1
        else:
            yield a[i]
            i, j = i - 1, j - 1


def _commutes_with_cx(ins: Instruction, qubit: int, is_control: bool) -> bool:
    """Whether ``ins`` commutes with a ``cx`` whose control (``is_control``) or target is ``qubit``."""
    if not ins.is_gate or ins.condition is not None:
        return False
    if ins.name == "cx":
        return (ins.qubits[0] == qubit) == is_control
    if len(ins.qubits) != 1:
        return False
    m = ins.matrix if ins.name == "unitary" else gate_matrix(ins.name, ins.params)
    pauli = _Z if is_control else _X
    return bool(np.allclose(m @ pauli, pauli @ m, atol=1e-10))


BASIS = Unroll(WORK_GATES)
"""Unroll into the work basis ``u3`` + ``cx``."""
