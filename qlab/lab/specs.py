"""What a lab view needs to know about a device, from whatever describes it.

Every device console and device plot reads a :class:`DeviceSpecs`, never the
device itself. :func:`device_specs` builds one from

- a QDMI device (:class:`qlab.qdmi.Device`, including MQT Core's),
- a :class:`qlab.devices.DeviceDescription` (or a catalog id such as ``"training5"``),
- anything with a ``description`` attribute holding a ``DeviceDescription``,
- a :class:`qlab.qpu.HardwareSpecs` (what a QPU, local or remote, says about itself),
- anything with a ``get_specs()`` method returning one of the above or a
  ``DeviceSpecs`` (the hook a QPU, an emulator or a chain backend implements
  to get a console).

All times are in seconds and lengths in meters, as in ``qlab.qdmi``.

>>> specs = device_specs("training5")
>>> specs.id, specs.num_qubits, specs.two_qubit_gate, specs.coupling_map[:2]
('training5', 5, 'cx', ((0, 1), (1, 2)))
>>> float(specs.sites.loc[0, "t1"]) * 1e6, specs.gates.query("gate == 'cx'").shape[0]
(31.0, 8)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from ..exceptions import QlabError, QlabTypeError

__all__ = ["DeviceSpecs", "device_specs", "SITE_COLUMNS", "GATE_COLUMNS"]

SITE_COLUMNS = ["site", "t1", "t2", "readout_fidelity", "x", "y"]
"""Columns of :attr:`DeviceSpecs.sites`: seconds, a probability, meters (``NaN`` when unknown)."""
GATE_COLUMNS = ["gate", "sites", "duration", "fidelity"]
"""Columns of :attr:`DeviceSpecs.gates`: one row per gate and site tuple (seconds, average gate fidelity).
An empty site tuple stands for every site (a QPU reports one median fidelity per gate)."""


@dataclass(frozen=True)
class DeviceSpecs:
    """A snapshot of a device as the lab shows it.

    ``status`` and ``queue_length`` are read again through :attr:`live` (when
    the source can report them), so a console's badge stays current.
    """

    id: str
    """The device id."""
    name: str
    """Its display name."""
    num_qubits: int
    """How many sites it has."""
    sites: pd.DataFrame
    """One row per site, :data:`SITE_COLUMNS`."""
    gates: pd.DataFrame
    """One row per native operation and site tuple, :data:`GATE_COLUMNS`."""
    coupling_map: tuple[tuple[int, int], ...] | None
    """Coupled site pairs; ``None`` when not reported."""
    program_formats: tuple[str, ...] = ()
    """The program formats jobs may use (lower case, e.g. ``"qasm2"``)."""
    version: str = ""
    """Version or calibration date."""
    status: str = "unknown"
    """The status when the snapshot was taken."""
    queue_length: int | None = None
    """Jobs waiting when the snapshot was taken."""
    live: Callable[[], tuple[str, int | None]] | None = field(default=None, compare=False, repr=False)
    """Reads ``(status, queue_length)`` now; ``None`` when the source is static."""
    notes: dict = field(default_factory=dict, compare=False)
    """Overview rows the source adds or words itself (a QPU: ``"coupling": "all-to-all"``, its noise medians)."""

    @property
    def native_gates(self) -> tuple[str, ...]:
        """The native operation names, in the device's order."""
        return tuple(dict.fromkeys(self.gates["gate"]))

    @property
    def two_qubit_gate(self) -> str | None:
        """The first native two-qubit gate (whose fidelities colour the coupling map)."""
        pairs = self.gates[self.gates["sites"].map(len) == 2]
        return None if pairs.empty else str(pairs["gate"].iloc[0])

    def now(self) -> tuple[str, int | None]:
        """``(status, queue_length)`` read now (or as in the snapshot)."""
        return self.live() if self.live is not None else (self.status, self.queue_length)

    def overview(self) -> dict[str, object]:
        """The Overview tab's rows."""
        status, queue = self.now()
        return {
            "id": self.id, "name": self.name, "version": self.version, "status": status, "qubits": self.num_qubits,
            "native gates": ", ".join(self.native_gates) or "none",
            "program formats": ", ".join(self.program_formats) or "none",
            "coupling": "not reported" if self.coupling_map is None else f"{len(self.coupling_map)} pairs",
            "queue length": "not reported" if queue is None else queue,
            **self.notes,
        }


def device_specs(source) -> DeviceSpecs:
    """The :class:`DeviceSpecs` of a QDMI device, a description, a catalog id, or anything with ``get_specs()``.

    Raises:
        QlabTypeError: ``source`` is none of these (the message lists what is accepted).
    """
    from ..devices import DeviceDescription, load_device
    from ..qpu import HardwareSpecs

    if isinstance(source, DeviceSpecs):
        return source
    if isinstance(source, HardwareSpecs):
        return _from_hardware_specs(source)
    if isinstance(source, str):
        return _from_description(load_device(source))
    if callable(getattr(source, "get_specs", None)):
        return device_specs(source.get_specs())
    if isinstance(source, DeviceDescription):
        return _from_description(source)
    if hasattr(source, "sites") and hasattr(source, "operations") and callable(getattr(source, "query", None)):
        return _from_qdmi(source)
    if isinstance(getattr(source, "description", None), DeviceDescription):
        return _from_description(source.description)
    raise QlabTypeError(
        f"Cannot show {type(source).__name__} as a device: give a qlab.qdmi Device, a DeviceDescription, "
        "a catalog id, a qlab.qpu HardwareSpecs, or an object with get_specs()."
    )


def _from_description(d) -> DeviceSpecs:
    sites = pd.DataFrame(
        [
            {
                "site": s.index, "t1": _seconds(d, s.t1), "t2": _seconds(d, s.t2), "readout_fidelity": s.readout_fidelity,
                "x": d.meters(s.coordinates[0]) if s.coordinates else float("nan"),
                "y": d.meters(s.coordinates[1]) if s.coordinates and len(s.coordinates) > 1 else float("nan"),
            }
            for s in d.sites
        ],
        columns=SITE_COLUMNS,
    )
    gates = pd.DataFrame(
        [
            {"gate": op.name, "sites": tuple(sites_), "duration": d.seconds(op.duration(sites_)),
             "fidelity": op.fidelity(sites_)}
            for op in d.operations
            for sites_ in op.sites
        ],
        columns=GATE_COLUMNS,
    )
    return DeviceSpecs(d.id, d.name, d.qubits_num, sites, gates, tuple(d.coupling_map), tuple(d.program_formats),
                       d.version, d.status, None)


def _seconds(d, raw) -> float:
    return float("nan") if raw is None else d.seconds(raw)


def _from_qdmi(device) -> DeviceSpecs:
    rows = []
    for site in device.sites:
        xyz = site.coordinates or ()
        rows.append({
            "site": site.index, "t1": _nan(site.t1), "t2": _nan(site.t2), "readout_fidelity": _nan(site.readout_fidelity),
            "x": xyz[0] if len(xyz) > 0 else float("nan"), "y": xyz[1] if len(xyz) > 1 else float("nan"),
        })
    gates = []
    for op in device.operations:
        for tup in op.sites or ():
            gates.append({"gate": op.name, "sites": tuple(s.index for s in tup), "duration": _nan(op.duration(tup)),
                          "fidelity": op.fidelity(tup)})

    def live() -> tuple[str, int | None]:
        try:
            return device.status.name.lower(), device.queue_length
        except QlabError as err:  # a closed session or a device that stopped answering
            return f"unavailable ({err})", None

    status, queue = live()
    return DeviceSpecs(
        device.id, device.name, device.qubits_num, pd.DataFrame(rows, columns=SITE_COLUMNS),
        pd.DataFrame(gates, columns=GATE_COLUMNS), device.coupling_map,
        tuple(f.name.lower() for f in device.supported_program_formats), str(device.version or ""), status, queue, live,
    )


def _from_hardware_specs(h) -> DeviceSpecs:
    """A QPU's specs: per-qubit T1, T2 and readout fidelity from its noise summary, one median fidelity per gate."""
    n = h.nbqbits or 0
    t1, t2 = h.noise.get("t1", {}), h.noise.get("t2", {})
    sites = pd.DataFrame(
        [{"site": q, "t1": _nan(t1.get(str(q))), "t2": _nan(t2.get(str(q))), "readout_fidelity": _readout(h, q),
          "x": float("nan"), "y": float("nan")} for q in range(n)],
        columns=SITE_COLUMNS,
    )
    fidelity = h.noise.get("gate_fidelity", {})
    gates = pd.DataFrame(
        [{"gate": g, "sites": (), "duration": float("nan"), "fidelity": fidelity.get(g)}
         for g in dict.fromkeys([*h.gate_set, *fidelity])],
        columns=GATE_COLUMNS,
    )
    qpu_id = str(h.meta_data.get("device") or h.meta_data.get("qpu") or "qpu")
    rows = h.df().set_index("property")["value"]
    notes = {k.replace("_", " "): v for k, v in rows.drop(["nbqbits", "topology", "gate_set"]).items()
             if v is not None and v != ""}
    if h.topology is None:
        notes["coupling"] = "all-to-all"
    if not h.gate_set:
        notes["native gates"] = "any library gate"
    return DeviceSpecs(qpu_id, h.description or qpu_id, n, sites, gates, h.topology, ("qasm2", "qasm3"),
                       notes=notes)


def _readout(h, qubit: int) -> float:
    matrix = h.readout_confusion(qubit)
    return float("nan") if matrix is None else float(1 - (matrix[0, 1] + matrix[1, 0]) / 2)


def _nan(value) -> float:
    return float("nan") if value is None else float(value)
