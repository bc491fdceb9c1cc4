"""Checking a compilation: the output implements the input's unitary, up to global phase and qubit layout.

With ``layout[logical] = physical`` before (``initial``) and after
(``final``) the circuit, the output ``V`` on the physical qubits and the input
``U`` on the program qubits must satisfy ``V P_initial = e^{i phi} P_final U``
where ``P`` puts program qubit ``i`` on physical qubit ``layout[i]``. Only
qubits that some gate touches take part (at most ``max_qubits`` of them);
terminal measurements must read the same program qubit into the same bit.

>>> from qlab import Circuit
>>> data = {"input": Circuit(2).cx(0, 1), "initial_layout": [1, 0], "final_layout": [1, 0]}
>>> VerifyEquivalence().run(Circuit(2).cx(1, 0), data) and data["verified"]
True
"""

from __future__ import annotations

import logging

import numpy as np

from ...circuit import Circuit
from ...circuit.gates import gate_matrix
from ...exceptions import VerificationError
from .base import BasePass

__all__ = ["VerifyEquivalence", "circuit_unitary"]

log = logging.getLogger(__name__)

_IGNORED = {"barrier", "measure"}


def circuit_unitary(circuit: Circuit, qubits: list[int] | None = None) -> np.ndarray:
    """The unitary of the circuit's gates on ``qubits`` (default: all; the first is the most significant).

    Measurements and barriers are skipped; the caller checks they are terminal.
    """
    qubits = list(range(circuit.num_qubits)) if qubits is None else list(qubits)
    n = len(qubits)
    where = {q: i for i, q in enumerate(qubits)}
    state = np.eye(2**n, dtype=complex).reshape((2,) * n + (2**n,))
    for ins in circuit:
        if ins.name in _IGNORED:
            continue
        m = ins.matrix if ins.name == "unitary" else gate_matrix(ins.name, ins.params)
        k = len(ins.qubits)
        axes = [where[q] for q in ins.qubits]
        state = np.tensordot(m.reshape((2,) * 2 * k), state, axes=(list(range(k, 2 * k)), axes))
        state = np.moveaxis(state, list(range(k)), axes)
    return state.reshape(2**n, 2**n)


def _measurements(circuit: Circuit, layout: list[int] | None) -> list[tuple[int, int]] | None:
    """``(qubit, bit)`` of the terminal measurements (qubits through ``layout``), ``None`` if a measurement is not terminal."""
    out, measured = [], set()
    for ins in circuit:
        if ins.name == "measure":
            measured.add(ins.qubits[0])
            q = ins.qubits[0] if layout is None else layout.index(ins.qubits[0])
            out.append((q, ins.clbits[0]))
        elif ins.name != "barrier" and measured.intersection(ins.qubits):
            return None
    return sorted(out)


class VerifyEquivalence(BasePass):
    """Raise :class:`~qlab.exceptions.VerificationError` unless the circuit implements ``data["input"]``.

    Sets ``data["verified"]``: ``True`` when checked, ``None`` when the circuit
    was too wide (more than ``max_qubits`` touched qubits) or not unitary
    (resets, conditions, mid-circuit measurements) and was left unchecked.

    Args:
        max_qubits: the most touched qubits to check (the unitary has 4^n entries).
        atol: tolerance of the comparison.
    """

    def __init__(self, max_qubits: int = 10, atol: float = 1e-6):
        self.max_qubits = max_qubits
        self.atol = atol

    def run(self, circuit: Circuit, data: dict) -> Circuit:
        original = data["input"]
        n = circuit.num_qubits
        initial = list(data.get("initial_layout") or range(n))
        final = list(data.get("final_layout") or range(n))
        touched = sorted({q for ins in circuit for q in ins.qubits if ins.name != "barrier"}
                         | {initial[q] for ins in original for q in ins.qubits if ins.name != "barrier"})
        unitary = all(ins.condition is None and ins.name not in ("reset", "delay") for c in (original, circuit) for ins in c)
        if len(touched) > self.max_qubits or not unitary:
            why = f"{len(touched)} qubits (more than {self.max_qubits})" if unitary else "resets, delays or conditions"
            log.warning("Not verifying the compiled circuit: it has %s.", why)
            data["verified"] = None
            return circuit
        if touched:
            self._compare_unitaries(original, circuit, touched, initial, final)
        if _measurements(original, None) != _measurements(circuit, final):
            raise VerificationError(
                "The compiled circuit does not measure the same program qubits into the same bits "
                f"(final layout {final})."
            )
        data["verified"] = True
        return circuit

    def _compare_unitaries(self, original: Circuit, circuit: Circuit, touched: list[int], initial: list[int],
                           final: list[int]) -> None:
        # program qubits that start on touched qubits, ordered by where they start and end
        by_start = [initial.index(p) for p in touched]
        by_end = [final.index(p) for p in touched]
        if set(by_start) != set(by_end):
            raise VerificationError(
                f"The final layout {final} moves program qubits {sorted(set(by_end) - set(by_start))} onto qubits the "
                "circuit's gates do not touch."
            )
        lifted = Circuit(max(max(by_start) + 1, original.num_qubits))
        lifted._instructions.extend(ins for ins in original if ins.name not in _IGNORED)
        u = circuit_unitary(lifted, by_start)           # rows and columns: program qubits in start order
        v = circuit_unitary(circuit, touched)           # physical qubits in index order
        perm = np.arange(2**len(touched)).reshape((2,) * len(touched))
        order = [by_start.index(q) for q in by_end]     # end order of the program qubits
        rows = np.transpose(perm, order).reshape(-1)
        expected = u[rows, :]                            # rows: program qubits in end order = physical order at the end
        k = np.argmax(np.abs(expected))
        phase = v.flat[k] / expected.flat[k] if abs(expected.flat[k]) > 1e-12 else 0
        if abs(abs(phase) - 1) > self.atol or not np.allclose(v, phase * expected, atol=self.atol):
            raise VerificationError(
                f"The compiled circuit does not implement its input: the largest difference of the unitaries on "
                f"qubits {touched} (up to global phase and layout) is {np.max(np.abs(v - phase * expected)):.3g}."
            )
