"""The JSON schema of QPU data: version, field checks, and circuits as plain dicts.

Every QPU object (:class:`~qlab.qpu.Job`, :class:`~qlab.qpu.Batch`,
:class:`~qlab.qpu.Result`, ...) has ``to_dict()`` giving JSON-ready data and
``from_dict()`` reading it back with every field checked. The top-level
objects carry ``"schema": "qlab.qpu/1"``; a reader refuses other versions.

A circuit travels as a dict (no OpenQASM parsing on the hot path)::

    {"num_qubits": 2,
     "instructions": [{"name": "h", "qubits": [0]},
                      {"name": "rx", "qubits": [1], "params": [0.5]},
                      {"name": "unitary", "qubits": [0], "matrix": [[[re, im], ...], ...], "label": "U"},
                      {"name": "delay", "qubits": [1], "params": [20.0], "unit": "ns"}]}

Floats are written with Python's shortest round-trip ``repr``, so a circuit
comes back bit for bit. Instructions are library gates, ``unitary``,
``barrier``, ``delay`` and ``reset``: QPU jobs say which qubits they measure
(:attr:`qlab.qpu.Job.qubits`), so circuits carry no classical bits.

>>> from qlab import Circuit
>>> circuit_to_dict(Circuit(2).h(0).cx(0, 1))
{'num_qubits': 2, 'instructions': [{'name': 'h', 'qubits': [0]}, {'name': 'cx', 'qubits': [0, 1]}]}
>>> circuit_from_dict({"num_qubits": 1, "instructions": [{"name": "hadamard", "qubits": [0]}]})
Traceback (most recent call last):
...
qlab.exceptions.QPUDataError: Invalid circuit: instruction 0: Unknown gate 'hadamard': the library has ...
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..circuit import Circuit
from ..exceptions import CircuitError, QPUDataError

__all__ = ["SCHEMA", "check_schema", "circuit_to_dict", "circuit_from_dict", "field", "mapping", "optional_number"]

SCHEMA = "qlab.qpu/1"
"""The version tag of every top-level QPU document."""

MAX_QUBITS = 4096
"""The most qubits a circuit read from data may declare (as :func:`qlab.load_qasm` allows)."""

_CIRCUIT_OPS = ("name", "qubits", "params", "matrix", "label", "unit")


def check_schema(data: object, what: str) -> Mapping:
    """``data`` as a mapping whose ``"schema"`` is :data:`SCHEMA`.

    Raises:
        QPUDataError: ``data`` is not a mapping, or has another schema.
    """
    data = mapping(data, what)
    if data.get("schema") != SCHEMA:
        raise QPUDataError(
            f"Cannot read {what}: its schema is {data.get('schema')!r}; this qlab reads {SCHEMA!r}."
        )
    return data


def mapping(data: object, what: str) -> Mapping:
    """``data`` if it is a mapping, else a :class:`QPUDataError` naming ``what``."""
    if not isinstance(data, Mapping):
        raise QPUDataError(f"Cannot read {what}: expected a JSON object, got {type(data).__name__}.")
    return data


def field(data: Mapping, key: str, kinds: type | tuple[type, ...], what: str, default=...):
    """``data[key]`` checked to be of ``kinds`` (bools are never numbers).

    Raises:
        QPUDataError: the field is missing (and has no default) or has the wrong type.
    """
    if key not in data:
        if default is ...:
            raise QPUDataError(f"Cannot read {what}: the field {key!r} is missing.")
        return default
    value = data[key]
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise QPUDataError(f"Cannot read {what}: the field {key!r} must be {names}, got {type(value).__name__} {value!r:.80}.")
    return value


def optional_number(data: Mapping, key: str, what: str) -> float | None:
    """A finite number or ``None`` (JSON ``null``) from ``data[key]`` (missing is ``None``)."""
    value = field(data, key, (int, float, type(None)), what, None)
    if value is not None and not math.isfinite(value):
        raise QPUDataError(f"Cannot read {what}: the field {key!r} must be finite, got {value!r}.")
    return None if value is None else float(value)


def circuit_to_dict(circuit: Circuit) -> dict:
    """The circuit as JSON-ready data (see the module docstring).

    Raises:
        QPUDataError: the circuit measures mid-circuit or has classical conditions.
    """
    out = []
    for ins in circuit.instructions:
        if ins.name == "measure" or ins.condition is not None:
            raise QPUDataError(
                f"Cannot send a circuit with {'a measurement' if ins.name == 'measure' else 'a classical condition'} "
                f"({ins!r}) as a QPU job: say which qubits to measure with Job(qubits=...); mid-circuit measurement "
                "and feed-forward run on qlab.emulator."
            )
        item: dict = {"name": ins.name, "qubits": list(ins.qubits)}
        if ins.params:
            item["params"] = [float(p) for p in ins.params]
        if ins.matrix is not None:
            item["matrix"] = np.stack([ins.matrix.real, ins.matrix.imag], axis=-1).tolist()
        if ins.label is not None:
            item["label"] = ins.label
        if ins.unit is not None:
            item["unit"] = ins.unit
        out.append(item)
    return {"num_qubits": circuit.num_qubits, "instructions": out}


def circuit_from_dict(data: object) -> Circuit:
    """Read a circuit written by :func:`circuit_to_dict`, checking every instruction.

    Raises:
        QPUDataError: a field is missing or malformed, or an instruction is not valid
            (unknown gate, qubit out of range, wrong parameters; the message says which).
    """
    data = mapping(data, "circuit")
    n = field(data, "num_qubits", int, "circuit")
    if not 0 <= n <= MAX_QUBITS:
        raise QPUDataError(f"Invalid circuit: num_qubits must be in 0..{MAX_QUBITS}, got {n}.")
    circuit = Circuit(n)
    for i, item in enumerate(field(data, "instructions", list, "circuit")):
        where = f"circuit instruction {i}"
        item = mapping(item, where)
        unknown = sorted(set(item) - set(_CIRCUIT_OPS))
        if unknown:
            raise QPUDataError(f"Cannot read {where}: unknown field {unknown[0]!r} (allowed: {', '.join(_CIRCUIT_OPS)}).")
        name = field(item, "name", str, where)
        if name == "measure":
            raise QPUDataError(f"Cannot read {where}: QPU circuits carry no measurements; use Job(qubits=...).")
        qubits = field(item, "qubits", list, where)
        params = field(item, "params", list, where, [])
        for value in (*qubits, *params):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise QPUDataError(f"Cannot read {where}: qubits and params must be numbers, got {value!r}.")
        matrix = item.get("matrix")
        if matrix is not None:
            try:
                pairs = np.asarray(matrix, dtype=float)
            except (TypeError, ValueError) as err:
                raise QPUDataError(f"Cannot read {where}: matrix must be nested [re, im] pairs ({err}).") from err
            if pairs.ndim != 3 or pairs.shape[-1] != 2:
                raise QPUDataError(f"Cannot read {where}: matrix must have shape (d, d, 2), got {pairs.shape}.")
            matrix = np.empty(pairs.shape[:-1], dtype=complex)
            matrix.real, matrix.imag = pairs[..., 0], pairs[..., 1]
        try:
            circuit.append(name, qubits, params, matrix=matrix, label=field(item, "label", (str, type(None)), where, None),
                           unit=field(item, "unit", (str, type(None)), where, None))
        except CircuitError as err:
            raise QPUDataError(f"Invalid circuit: instruction {i}: {err}") from err
    return circuit
