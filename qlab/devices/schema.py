"""Reading and writing device description files (JSON or TOML).

The format is documented in :mod:`qlab.devices.description`. Reading checks
the shape of every field (required fields present, no unknown fields, the
right types) and then builds a :class:`~qlab.devices.description.DeviceDescription`,
which checks the physics (``T2 <= 2*T1``, couplings between existing sites, ...).
Every error names the field:

>>> description_from_dict({"id": "x", "name": "X", "version": "1", "qubits_num": 1})
Traceback (most recent call last):
...
qlab.exceptions.DeviceDescriptionError: Invalid device description 'x': the required field 'duration_unit' is missing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

from .description import DeviceDescription, OperationDescription, SiteDescription, _fail
from ..exceptions import DeviceDescriptionError

__all__ = ["description_from_dict", "description_to_dict", "load_description", "parse_description"]

_REQUIRED = object()

_DEVICE_FIELDS = {
    "id": (str, _REQUIRED), "name": (str, _REQUIRED), "version": (str, _REQUIRED),
    "qubits_num": (int, _REQUIRED), "duration_unit": (str, _REQUIRED),
    "coupling_map": ((list, str), _REQUIRED), "sites": (list, _REQUIRED), "operations": (list, _REQUIRED),
    "duration_scale_factor": (float, 1.0), "length_unit": (str, "um"), "length_scale_factor": (float, 1.0),
    "status": (str, "idle"), "program_formats": (list, ["qasm2", "qasm3"]), "unroll": (bool, True),
    "requires_token": (bool, False), "max_simulated_qubits": (int, None), "source": (str, ""),
    "notes": (str, ""), "children": (list, []),
}
_SITE_FIELDS = {
    "index": (int, _REQUIRED), "name": (str, None), "t1": (float, None), "t2": (float, None),
    "coordinates": (list, None), "readout_fidelity": (float, 1.0),
}
_OPERATION_FIELDS = {
    "name": (str, _REQUIRED), "qubits_num": (int, _REQUIRED), "parameters_num": (int, _REQUIRED),
    "sites": (list, None), "duration": ((float, list), 0), "fidelity": ((float, list), None),
}
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list"}


class _Reader:
    """Typed access to one table of a description, with errors that name the field."""

    def __init__(self, device_id: str, table, where: str, fields: dict):
        self.device_id = device_id
        self.where = where
        if not isinstance(table, Mapping):
            raise self.fail(f"{where or 'the description'} must be a table (a JSON object), got {type(table).__name__}.")
        missing = [k for k, (_, default) in fields.items() if default is _REQUIRED and k not in table]
        if missing:
            raise self.fail(f"the required field {missing[0]!r}{self.at} is missing.")
        unknown = [k for k in table if k not in fields]
        if unknown:
            raise self.fail(f"unknown field {unknown[0]!r}{self.at}; allowed: {', '.join(fields)}.")
        self.table = table
        self.fields = fields

    @property
    def at(self) -> str:
        return f" in {self.where}" if self.where else ""

    def fail(self, problem: str) -> DeviceDescriptionError:
        return _fail(self.device_id, problem)

    def __getitem__(self, key: str):
        kinds, default = self.fields[key]
        if key not in self.table:
            return default
        value = self.table[key]
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        if not any(_is(value, k) for k in kinds):
            expected = " or ".join(_TYPE_NAMES[k] for k in kinds)
            raise self.fail(f"{self.where + '.' if self.where else ''}{key} must be {expected}, got {value!r}.")
        return value


def _is(value, kind) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def description_from_dict(data: Mapping) -> DeviceDescription:
    """Build a description from a parsed JSON/TOML table (see the format in :mod:`qlab.devices.description`).

    Raises:
        DeviceDescriptionError: naming the first field that is missing, unknown or wrong.
    """
    device_id = data.get("id", "<no id>") if isinstance(data, Mapping) else "<no id>"
    r = _Reader(str(device_id), data, "", _DEVICE_FIELDS)
    n = r["qubits_num"]
    sites = tuple(_site(r, table, i) for i, table in enumerate(r["sites"]))
    coupling = r["coupling_map"]
    if isinstance(coupling, str) and coupling != "all-to-all":
        raise r.fail(f"coupling_map must be a list of [a, b] pairs or \"all-to-all\", got {coupling!r}.")
    all_to_all = coupling == "all-to-all"
    if all_to_all:
        pairs = tuple((a, b) for a in range(n) for b in range(a + 1, n))
    else:
        pairs = tuple(_pair(r, p, f"coupling_map[{k}]") for k, p in enumerate(coupling))
    operations = tuple(_operation(r, table, k, n, pairs) for k, table in enumerate(r["operations"]))
    formats = r["program_formats"]
    if not all(isinstance(f, str) for f in formats):
        raise r.fail(f"program_formats must be a list of format names, got {formats!r}.")
    extra = {} if r["max_simulated_qubits"] is None else {"max_simulated_qubits": r["max_simulated_qubits"]}
    return DeviceDescription(
        id=r["id"], name=r["name"], version=r["version"], qubits_num=n, sites=sites, operations=operations,
        coupling_map=pairs, duration_unit=r["duration_unit"], duration_scale_factor=float(r["duration_scale_factor"]),
        length_unit=r["length_unit"], length_scale_factor=float(r["length_scale_factor"]),
        program_formats=tuple(formats), status=r["status"], all_to_all=all_to_all, unroll=r["unroll"],
        requires_token=r["requires_token"], source=r["source"], notes=r["notes"],
        children=tuple(description_from_dict(c) for c in r["children"]), **extra,
    )


def _site(r: _Reader, table, i: int) -> SiteDescription:
    s = _Reader(r.device_id, table, f"sites[{i}]", _SITE_FIELDS)
    coordinates = s["coordinates"]
    return SiteDescription(
        index=s["index"], name=s["name"], t1=s["t1"], t2=s["t2"],
        coordinates=None if coordinates is None else tuple(coordinates),
        readout_fidelity=float(s["readout_fidelity"]),
    )


def _pair(r: _Reader, value, where: str) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2 or not all(_is(x, int) for x in value):
        raise r.fail(f"{where} must be a pair [a, b] of site indices, got {value!r}.")
    return (value[0], value[1])


def _operation(r: _Reader, table, k: int, n: int, pairs) -> OperationDescription:
    where = f"operations[{k}]"
    o = _Reader(r.device_id, table, where, _OPERATION_FIELDS)
    name, arity = o["name"], o["qubits_num"]
    where = f"{where} ({name!r})"
    given = o["sites"]
    if given is None:
        sites = tuple((q,) for q in range(n)) if arity == 1 else tuple(p for a, b in pairs for p in ((a, b), (b, a)))
    elif arity == 1:
        if not all(_is(x, int) for x in given):
            raise r.fail(f"{where}.sites must list site indices for a one-qubit operation, got {given!r}.")
        sites = tuple((x,) for x in given)
    else:
        sites = tuple(_pair(r, p, f"{where}.sites[{i}]") for i, p in enumerate(given))
    durations = _per_site(r, o["duration"], sites, given, where, "duration")
    fidelity = o["fidelity"]
    fidelities = None if fidelity is None else _per_site(r, fidelity, sites, given, where, "fidelity")
    if name == "measure" and fidelities is not None:
        raise r.fail(f"{where}: give readout fidelities per site (sites[i].readout_fidelity), not on 'measure'.")
    return OperationDescription(
        name, arity, o["parameters_num"], sites, durations,
        None if fidelities is None else tuple(float(f) for f in fidelities),
    )


def _per_site(r: _Reader, value, sites, given, where: str, what: str) -> tuple:
    if not isinstance(value, list):
        return (value,) * len(sites)
    if given is None:
        raise r.fail(f"{where}: a list of {what} values needs an explicit 'sites' list to line up with.")
    if len(value) != len(sites):
        raise r.fail(f"{where}: {len(value)} {what} values for {len(sites)} sites; give one per site entry.")
    return tuple(value)


def description_to_dict(description: DeviceDescription) -> dict:
    """The JSON-ready table of a description; :func:`description_from_dict` reads it back.

    >>> from qlab.devices import load_device
    >>> d = load_device("ion12")
    >>> description_from_dict(description_to_dict(d)) == d
    True
    """
    d = description
    out = {
        "id": d.id, "name": d.name, "version": d.version, "status": d.status, "qubits_num": d.qubits_num,
        "duration_unit": d.duration_unit, "duration_scale_factor": d.duration_scale_factor,
        "length_unit": d.length_unit, "length_scale_factor": d.length_scale_factor,
        "program_formats": list(d.program_formats), "unroll": d.unroll, "requires_token": d.requires_token,
        "max_simulated_qubits": d.max_simulated_qubits,
        "coupling_map": "all-to-all" if d.all_to_all else [list(p) for p in d.coupling_map],
        "sites": [_site_dict(s) for s in d.sites],
        "operations": [_operation_dict(op) for op in d.operations],
    }
    for key in ("source", "notes"):
        if getattr(d, key):
            out[key] = getattr(d, key)
    if d.children:
        out["children"] = [description_to_dict(c) for c in d.children]
    return out


def _site_dict(s: SiteDescription) -> dict:
    out = {"index": s.index}
    for key in ("name", "t1", "t2"):
        if getattr(s, key) is not None:
            out[key] = getattr(s, key)
    if s.coordinates is not None:
        out["coordinates"] = list(s.coordinates)
    out["readout_fidelity"] = s.readout_fidelity
    return out


def _operation_dict(op: OperationDescription) -> dict:
    out = {"name": op.name, "qubits_num": op.qubits_num, "parameters_num": op.parameters_num}
    out["sites"] = [s[0] for s in op.sites] if op.qubits_num == 1 else [list(s) for s in op.sites]
    out["duration"] = list(op.durations)
    if op.fidelities is not None:
        out["fidelity"] = list(op.fidelities)
    return out


def parse_description(text: str, kind: str = "json") -> DeviceDescription:
    """Read a description from JSON or TOML text (``kind`` is ``"json"`` or ``"toml"``).

    >>> parse_description('id = "one"', kind="toml")
    Traceback (most recent call last):
    ...
    qlab.exceptions.DeviceDescriptionError: Invalid device description 'one': the required field 'name' is missing.
    """
    if kind == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise DeviceDescriptionError(f"Cannot read the device description: invalid JSON at line {err.lineno}: {err.msg}.") from err
    elif kind == "toml":
        data = _parse_toml(text)
    else:
        raise DeviceDescriptionError(f"Cannot read a device description of kind {kind!r}; allowed: json, toml.")
    return description_from_dict(data)


def _parse_toml(text: str) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:
        try:
            import tomli as tomllib
        except ModuleNotFoundError as err:
            raise DeviceDescriptionError(
                "Cannot read a TOML device description: this needs Python 3.11+ (tomllib) or the 'tomli' package; "
                "or write the description as JSON."
            ) from err
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise DeviceDescriptionError(f"Cannot read the device description: invalid TOML: {err}.") from err


def load_description(path: str | Path) -> DeviceDescription:
    """Read a description file; the suffix (``.json`` or ``.toml``) picks the parser.

    Raises:
        DeviceDescriptionError: for an unreadable file or an invalid description
            (the message names the file and the field).
    """
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("json", "toml"):
        raise DeviceDescriptionError(f"Cannot read device description {str(path)!r}: the file must end in .json or .toml.")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise DeviceDescriptionError(f"Cannot read device description {str(path)!r}: {err.strerror}.") from err
    try:
        return parse_description(text, kind)
    except DeviceDescriptionError as err:
        raise DeviceDescriptionError(f"{err} (file {str(path)!r})") from err
