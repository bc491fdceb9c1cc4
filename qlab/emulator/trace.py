"""A shot's operation trace (its batches) as data: a circuit, its measurements, its shape.

A program that reads no measurement before it ends issues the same operations
in every shot; its trace is recorded once and simulated once.

>>> from qlab.emulator.operations import Batch, Measure, RXY, Reset
>>> trace = [Batch(0, 0, (Reset(0),)), Batch(0, 0, (RXY(0, 1.0, 0.0),)), Batch(0, 0, (Measure(0, 0),))]
>>> circuit, ids = trace_to_circuit(trace, 1)
>>> [ins.name for ins in circuit], ids
(['reset', 'rxy', 'measure'], [0])
"""

from __future__ import annotations

from collections.abc import Sequence

from ..circuit import Circuit
from .operations import RXY, RZ, RZZ, Batch, Measure, MeasureLeaked, Reset

__all__ = ["trace_to_circuit", "measured_results", "terminal_measurements_only"]


def measured_results(trace: Sequence[Batch]) -> list:
    """The measurement operations of the trace in the order of their result ids."""
    found = [op for batch in trace for op in batch.operations if type(op) in (Measure, MeasureLeaked)]
    return sorted(found, key=lambda op: op.result_id)


def trace_to_circuit(trace: Sequence[Batch], n_qubits: int) -> tuple[Circuit, list[int]]:
    """The trace as a :class:`~qlab.Circuit` with one classical bit per measurement.

    Bit ``i`` holds the measurement with the ``i``-th smallest result id
    (returned alongside). Custom operations carry no physics and are left out.
    """
    measurements = measured_results(trace)
    ids = [op.result_id for op in measurements]
    bit = {rid: i for i, rid in enumerate(ids)}
    circuit = Circuit(n_qubits, len(ids))
    for batch in trace:
        for op in batch.operations:
            kind = type(op)
            if kind is RXY:
                circuit.rxy(op.theta, op.phi, op.qubit)
            elif kind is RZ:
                circuit.rz(op.theta, op.qubit)
            elif kind is RZZ:
                circuit.rzz(op.theta, op.qubit1, op.qubit2)
            elif kind is Reset:
                circuit.reset(op.qubit)
            elif kind in (Measure, MeasureLeaked):
                circuit.measure(op.qubit, bit[op.result_id])
    return circuit, ids


def terminal_measurements_only(trace: Sequence[Batch]) -> bool:
    """Whether no operation follows a measurement on its qubit and every reset comes first on its qubit."""
    touched: set[int] = set()
    measured: set[int] = set()
    for batch in trace:
        for op in batch.operations:
            qubits = op.qubits
            if type(op) is Reset:
                if qubits[0] in touched:
                    return False
                continue
            if measured.intersection(qubits) and type(op) not in (Measure, MeasureLeaked):
                return False
            if type(op) in (Measure, MeasureLeaked):
                if qubits[0] in measured:
                    return False
                measured.add(qubits[0])
            touched.update(qubits)
    return True
