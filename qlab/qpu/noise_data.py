"""Noise models as plain dicts, so they travel to Dask workers and over the wire as data.

The format (every channel as its real Pauli transfer matrix, basis order I,
X, Z, Y per qubit; ``"qubits": null`` means any qubits)::

    {"gate_errors": [{"gate": "cx", "qubits": [0, 1] | null, "ptm": [[...]], "name": "depolarizing(0.01, 2)"}],
     "idle":        [{"qubit": 0 | null, "generator": [[...4x4...]], "name": "IdleNoise.from_t1_t2(...)"}],
     "readout":     [{"qubit": 0 | null, "matrix": [[P(0|0), P(1|0)], [P(0|1), P(1|1)]]}],
     "durations":   [{"gate": "cx", "qubits": [0, 1] | null, "seconds": 4e-07}]}

Reading checks every channel again (complete positivity, trace
preservation), so a dict from elsewhere cannot smuggle in an unphysical map.

>>> from qlab.sim import NoiseModel, depolarizing, ReadoutError
>>> model = NoiseModel().with_gate_error("h", depolarizing(0.01)).with_readout_error(ReadoutError.symmetric(0.02), 1)
>>> noise_model_from_dict(noise_model_to_dict(model)) == model
True
"""

from __future__ import annotations

import numpy as np

from ..exceptions import ChannelError, NoiseModelError, QPUDataError
from ..sim import Channel, IdleNoise, NoiseModel, ReadoutError
from .schema import field, mapping

__all__ = ["noise_model_to_dict", "noise_model_from_dict"]


def _qubits(key) -> list[int] | None:
    return None if key is None else list(key)


def noise_model_to_dict(model: NoiseModel) -> dict:
    """The model as JSON-ready data (see the module docstring)."""
    return {
        "gate_errors": [{"gate": g, "qubits": _qubits(q), "ptm": ch.ptm.tolist(), "name": repr(ch)}
                        for (g, q), ch in model.gate_errors.items()],
        "idle": [{"qubit": q, "generator": idle.generator.tolist(), "name": repr(idle)} for q, idle in model.idle.items()],
        "readout": [{"qubit": q, "matrix": err.matrix.tolist()} for q, err in model.readout.items()],
        "durations": [{"gate": g, "qubits": _qubits(q), "seconds": d} for (g, q), d in model.durations.items()],
    }


def noise_model_from_dict(data: object) -> NoiseModel:
    """Read :func:`noise_model_to_dict` data, checking every entry.

    Raises:
        QPUDataError: a field is missing or malformed, or a channel is not CPTP.
    """
    data = mapping(data, "noise model")
    try:
        errors = {}
        for item in field(data, "gate_errors", list, "noise model", []):
            item = mapping(item, "noise model gate error")
            key = (field(item, "gate", str, "gate error"), _key(item.get("qubits")))
            errors[key] = Channel(np.asarray(field(item, "ptm", list, "gate error"), dtype=float),
                                  field(item, "name", str, "gate error", "Channel"))
        idle = {}
        for item in field(data, "idle", list, "noise model", []):
            item = mapping(item, "noise model idle noise")
            idle[_qubit(item.get("qubit"))] = _idle(item)
        readout = {
            _qubit(mapping(item, "readout error").get("qubit")):
                ReadoutError.from_matrix(field(item, "matrix", list, "readout error"))
            for item in field(data, "readout", list, "noise model", [])
        }
        durations = {}
        for item in field(data, "durations", list, "noise model", []):
            item = mapping(item, "noise model duration")
            durations[(field(item, "gate", str, "duration"), _key(item.get("qubits")))] = float(
                field(item, "seconds", (int, float), "duration"))
        return NoiseModel(errors, idle, readout, durations)
    except (ChannelError, NoiseModelError, TypeError, ValueError) as err:
        if isinstance(err, QPUDataError):
            raise
        raise QPUDataError(f"Invalid noise model: {err}") from err


def _key(qubits) -> tuple[int, ...] | None:
    if qubits is None:
        return None
    if not isinstance(qubits, list) or any(isinstance(q, bool) or not isinstance(q, int) for q in qubits):
        raise QPUDataError(f"Invalid noise model: qubits must be a list of ints or null, got {qubits!r}.")
    return tuple(qubits)


def _qubit(qubit) -> int | None:
    if qubit is not None and (isinstance(qubit, bool) or not isinstance(qubit, int)):
        raise QPUDataError(f"Invalid noise model: qubit must be an int or null, got {qubit!r}.")
    return qubit


def _idle(item) -> IdleNoise:
    """An :class:`IdleNoise` with the given generator (a valid Lindbladian: checked through its channel)."""
    generator = np.asarray(field(item, "generator", list, "idle noise"), dtype=float)
    if generator.shape != (4, 4):
        raise QPUDataError(f"Invalid noise model: an idle-noise generator is 4x4, got shape {generator.shape}.")
    idle = IdleNoise.__new__(IdleNoise)  # as IdleNoise.plus builds one: the generator is the whole model
    generator.setflags(write=False)
    idle.generator, idle._cache = generator, {}
    idle._name = field(item, "name", str, "idle noise", "IdleNoise(<generator>)")
    Channel(idle.channel(1e-9).ptm)  # a generator that is not a Lindbladian gives a non-CPTP channel
    return idle
