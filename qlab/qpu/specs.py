"""What a QPU says about itself: :class:`HardwareSpecs`.

>>> specs = HardwareSpecs(nbqbits=2, topology=((0, 1),), gate_set=("cx", "h"), description="a pair")
>>> HardwareSpecs.from_dict(specs.to_dict()) == specs
True
>>> specs.df()["property"].tolist()
['nbqbits', 'topology', 'gate_set', 'description', 'readout_fidelity_median', 'gate_fidelity_median', 't1_median_us']
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field as dataclass_field

import numpy as np
import pandas as pd

from ..exceptions import QPUDataError
from .schema import field, mapping

__all__ = ["HardwareSpecs", "noise_summary"]


@dataclass(frozen=True)
class HardwareSpecs:
    """A QPU's qubit count, topology, gate set, description and a summary of its noise."""

    nbqbits: int | None = None
    """How many qubits jobs may use (``None``: not stated)."""
    topology: tuple | None = None
    """Coupled qubit pairs; ``None`` means all-to-all."""
    gate_set: tuple = ()
    """The native gate names (empty: any library gate)."""
    description: str = ""
    """A human-readable description."""
    noise: dict = dataclass_field(default_factory=dict)
    """Noise summary: ``readout_confusion`` (qubit -> 2x2 matrix ``[[P(0|0), P(1|0)], [P(0|1), P(1|1)]]``),
    ``gate_fidelity`` (gate -> median fidelity), ``t1``/``t2`` (qubit -> seconds)."""
    meta_data: dict = dataclass_field(default_factory=dict)
    """Anything else (``"qpu"``: the class that answered)."""

    def __post_init__(self):
        if self.nbqbits is not None and (isinstance(self.nbqbits, bool) or not isinstance(self.nbqbits, int) or self.nbqbits < 0):
            raise QPUDataError(f"Invalid specs: nbqbits must be an int >= 0 or None, got {self.nbqbits!r}.")
        if self.topology is not None:
            object.__setattr__(self, "topology", tuple(tuple(int(q) for q in pair) for pair in self.topology))
        object.__setattr__(self, "gate_set", tuple(self.gate_set))

    def readout_confusion(self, qubit: int) -> np.ndarray | None:
        """The 2x2 confusion matrix of ``qubit`` (or of every qubit), if the noise summary has one."""
        table = self.noise.get("readout_confusion", {})
        matrix = table.get(str(qubit), table.get("*"))
        return None if matrix is None else np.asarray(matrix, dtype=float)

    def to_dict(self) -> dict:
        """JSON-ready data."""
        out = asdict(self)
        out["topology"] = None if self.topology is None else [list(p) for p in self.topology]
        out["gate_set"] = list(self.gate_set)
        return out

    @classmethod
    def from_dict(cls, data: object) -> HardwareSpecs:
        """Read :meth:`to_dict` data, checking every field."""
        data = mapping(data, "hardware specs")
        topology = field(data, "topology", (list, type(None)), "hardware specs", None)
        if topology is not None and any(not isinstance(p, list) or len(p) != 2 for p in topology):
            raise QPUDataError("Cannot read hardware specs: topology must be a list of [a, b] pairs.")
        return cls(field(data, "nbqbits", (int, type(None)), "hardware specs", None), topology,
                   tuple(field(data, "gate_set", list, "hardware specs", [])),
                   field(data, "description", str, "hardware specs", ""),
                   field(data, "noise", dict, "hardware specs", {}), field(data, "meta_data", dict, "hardware specs", {}))

    def _rows(self) -> dict:
        noise = self.noise
        confusion = noise.get("readout_confusion", {})
        readout = [1 - (m[0][1] + m[1][0]) / 2 for m in confusion.values()]
        fidelities = list(noise.get("gate_fidelity", {}).values())
        t1 = list(noise.get("t1", {}).values())
        return {
            "nbqbits": self.nbqbits,
            "topology": "all-to-all" if self.topology is None else f"{len(self.topology)} pairs",
            "gate_set": ", ".join(self.gate_set) or "any library gate",
            "description": self.description,
            "readout_fidelity_median": float(np.median(readout)) if readout else None,
            "gate_fidelity_median": float(np.median(fidelities)) if fidelities else None,
            "t1_median_us": float(np.median(t1)) * 1e6 if t1 else None,
        }

    def df(self) -> pd.DataFrame:
        """The specs as a two-column table."""
        return pd.DataFrame(list(self._rows().items()), columns=["property", "value"])

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                       f"{html.escape(str(v))}</td></tr>" for k, v in self._rows().items())
        return f"<table><caption>HardwareSpecs</caption>{rows}</table>"


def noise_summary(noise_model) -> dict:
    """The noise summary of a :class:`~qlab.sim.NoiseModel`: readout confusion matrices and gate fidelities."""
    if noise_model is None:
        return {}
    confusion = {"*" if q is None else str(q): err.matrix.tolist() for q, err in noise_model.readout.items()}
    fidelity: dict[str, list[float]] = {}
    for (gate, _), channel in noise_model.gate_errors.items():
        fidelity.setdefault(gate, []).append(channel.average_gate_fidelity())
    out = {"readout_confusion": confusion, "gate_fidelity": {g: float(np.median(v)) for g, v in fidelity.items()}}
    return {k: v for k, v in out.items() if v}
