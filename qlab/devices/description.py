"""Device descriptions: what a device is made of, as plain frozen data.

A :class:`DeviceDescription` is what QDMI properties report (``qlab.qdmi``)
and what a device's noise model is derived from (:meth:`~DeviceDescription.calibration`,
``NoiseModel.from_device``). Descriptions are written as JSON or TOML files
and read with :func:`qlab.devices.load_description`; the built-in ones live
in :mod:`qlab.devices.catalog`.

>>> from qlab.devices import load_device
>>> sc = load_device("sc20")
>>> sc.qubits_num, len(sc.coupling_map), sorted(sc.native_gates)
(20, 31, ['cz', 'measure', 'reset', 'rz', 'sx', 'x'])
>>> round(sc.seconds(sc.sites[0].t1) * 1e6, 1)  # T1 of site 0 in microseconds
182.0

The file format
===============

One table (a JSON object or a TOML document) per device. Durations are raw
numbers (any positive number, not only integers) that become physical
durations as ``raw * duration_scale_factor`` in ``duration_unit``; lengths
work the same with the length fields. This is how QDMI reports them
(``QDMI_DEVICE_PROPERTY_DURATIONSCALEFACTOR``). A description keeps its raw
values; every Python accessor converts them to SI units (:meth:`~DeviceDescription.seconds`,
:meth:`~DeviceDescription.meters`, :meth:`~DeviceDescription.calibration`),
as the whole of qlab speaks seconds.

Top-level fields (``*`` = required):

``id`` *
    Stable identifier: lowercase letters, digits, ``.``, ``_`` and ``-``.
``name`` *, ``version`` *
    Display name and version strings.
``qubits_num`` *
    Number of sites (qubits), at least 1.
``duration_unit`` *
    ``s``, ``ms``, ``us``, ``ns`` or ``ps``.
``duration_scale_factor``
    Positive number (default 1).
``length_unit``, ``length_scale_factor``
    ``m``, ``mm``, ``um`` or ``nm`` (default ``um``) and a positive number
    (default 1); they scale site coordinates.
``status``
    ``offline``, ``idle`` (default), ``busy``, ``error``, ``maintenance`` or
    ``calibration``. Jobs are accepted when the device is ``idle`` or ``busy``.
``program_formats``
    Program formats jobs may use: a list of ``qasm2`` and ``qasm3`` (default both).
``coupling_map`` *
    A list of ``[a, b]`` site pairs that two-qubit operations may act on, or
    the string ``"all-to-all"``. A pair couples both ways; symmetric gates
    (``cz``, ``rzz``, ...) run on either orientation.
``sites`` *
    One table per site, ``qubits_num`` in all, see below.
``operations`` *
    One table per native operation, see below.
``unroll``
    ``true`` (default): programs may use any library gate, which is
    decomposed into the native operations (:mod:`qlab.devices.natives`).
    ``false``: programs must use native operations only.
``requires_token``
    ``true``: jobs need a session token (default ``false``).
``max_simulated_qubits``
    The most qubits one job may act on (default 14, the simulator's limit).
``source``, ``notes``
    Free text: where the numbers come from, what the device is for.
``children``
    A list of complete device tables: devices managed by this one.

Site fields: ``index`` * (``0 .. qubits_num-1``, each once), ``name``,
``t1`` and ``t2`` (raw durations; omitted means no relaxation; ``t2 <= 2*t1``),
``coordinates`` (``[x, y]`` or ``[x, y, z]``, raw lengths) and
``readout_fidelity`` (probability of reading the right bit, in ``[0.5, 1]``,
default 1).

Operation fields: ``name`` * (a gate of the qlab library such as ``sx``,
``rz``, ``cz``, ``rxy``, ``rzz``, or ``measure`` / ``reset``), ``qubits_num`` *
and ``parameters_num`` * (must agree with the library), ``sites`` (site
indices for one-qubit operations, ``[a, b]`` pairs for two-qubit ones;
default: every site, or every coupled pair in both orders), ``duration`` (raw, default 0)
and ``fidelity`` (average gate fidelity in ``(0, 1]``; omitted means not
calibrated, so no gate error). ``duration`` and ``fidelity`` are a single
value or a list with one value per entry of ``sites`` (then ``sites`` is
required). A ``measure`` operation has no ``fidelity``: its fidelity per
site is the site's ``readout_fidelity``.

A minimal description in TOML::

    id = "pair"
    name = "Two coupled qubits"
    version = "1"
    qubits_num = 2
    duration_unit = "ns"
    coupling_map = [[0, 1]]
    sites = [{index = 0, t1 = 50000, t2 = 40000}, {index = 1, t1 = 60000, t2 = 30000}]
    operations = [
        {name = "sx", qubits_num = 1, parameters_num = 0, duration = 35, fidelity = 0.999},
        {name = "rz", qubits_num = 1, parameters_num = 1},
        {name = "cz", qubits_num = 2, parameters_num = 0, duration = 300, fidelity = 0.99},
        {name = "measure", qubits_num = 1, parameters_num = 0, duration = 1000},
    ]
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from functools import cached_property

from ..circuit.gates import GATES
from ..sim.noise import NoiseModel
from ..sim.program import DEFAULT_MAX_QUBITS
from ..exceptions import DeviceDescriptionError

__all__ = [
    "DeviceDescription", "SiteDescription", "OperationDescription",
    "DURATION_UNITS", "LENGTH_UNITS", "DEVICE_STATUSES", "PROGRAM_FORMATS", "SYMMETRIC_GATES",
    "operation_fidelity",
]

DURATION_UNITS: dict[str, float] = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12}
"""Duration units and their factor to seconds."""

LENGTH_UNITS: dict[str, float] = {"m": 1.0, "mm": 1e-3, "um": 1e-6, "nm": 1e-9}
"""Length units and their factor to meters."""

DEVICE_STATUSES = ("offline", "idle", "busy", "error", "maintenance", "calibration")
"""The statuses a device can be in (QDMI's device status names, lowercase)."""

PROGRAM_FORMATS = ("qasm2", "qasm3")
"""The program formats a described device can run."""

NON_GATE_OPERATIONS = ("measure", "reset")
"""Operation names that are not library gates."""

SYMMETRIC_GATES = frozenset({"cz", "cp", "rzz", "rxx", "ryy", "swap", "iswap"})
"""Two-qubit gates that do not change when their qubits are swapped."""

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def _is_number(value) -> bool:
    """A finite real number (``bool`` excluded)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fail(device_id: str, problem: str) -> DeviceDescriptionError:
    return DeviceDescriptionError(f"Invalid device description {device_id!r}: {problem}")


@dataclass(frozen=True)
class SiteDescription:
    """One site (qubit) of a device.

    >>> SiteDescription(0, name="Q0", t1=100_000, t2=80_000)
    SiteDescription(index=0, name='Q0', t1=100000, t2=80000, coordinates=None, readout_fidelity=1.0)
    """

    index: int
    """Where the site is addressed: qubit ``index`` of a program runs here."""
    name: str | None = None
    """Another identifier the device gives the site."""
    t1: float | None = None
    """Raw T1 (duration units); ``None``: no energy relaxation."""
    t2: float | None = None
    """Raw T2 (duration units); ``None``: no dephasing."""
    coordinates: tuple[float, ...] | None = None
    """Raw ``(x, y)`` or ``(x, y, z)`` position (length units)."""
    readout_fidelity: float = 1.0
    """Probability that a measurement reports the right bit."""


@dataclass(frozen=True)
class OperationDescription:
    """One native operation and its calibration per site (or site pair).

    >>> op = OperationDescription("cz", 2, 0, sites=((0, 1), (1, 2)), durations=(60, 70), fidelities=(0.99, 0.995))
    >>> op.duration((1, 2)), op.fidelity((0, 1))
    (70, 0.99)
    """

    name: str
    """A library gate name, or ``measure`` / ``reset``."""
    qubits_num: int
    """How many sites the operation acts on."""
    parameters_num: int
    """How many real parameters it takes."""
    sites: tuple[tuple[int, ...], ...]
    """The site tuples it acts on (each ``qubits_num`` long)."""
    durations: tuple[float, ...]
    """Raw duration on each entry of :attr:`sites`."""
    fidelities: tuple[float, ...] | None = None
    """Average gate fidelity on each entry of :attr:`sites`; ``None``: not calibrated."""
    _where: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_where", {s: i for i, s in enumerate(self.sites)})

    def acts_on(self, sites: tuple[int, ...]) -> bool:
        """Whether the operation is available on ``sites`` (in this orientation)."""
        return sites in self._where

    def duration(self, sites: tuple[int, ...]) -> float:
        """The raw duration on ``sites`` (``KeyError`` if the operation is not there)."""
        return self.durations[self._where[sites]]

    def fidelity(self, sites: tuple[int, ...]) -> float | None:
        """The calibrated fidelity on ``sites`` (``None`` when not calibrated)."""
        return None if self.fidelities is None else self.fidelities[self._where[sites]]


@dataclass(frozen=True)
class DeviceDescription:
    """A device: identity, sites, native operations, coupling, units and capabilities.

    Construct one from a file (:func:`qlab.devices.load_description`), from the
    catalog (:func:`qlab.devices.load_device`), or directly; every
    construction is validated, and :func:`dataclasses.replace` makes a
    changed copy.

    >>> import dataclasses
    >>> from qlab.devices import load_device
    >>> locked = dataclasses.replace(load_device("training5"), id="training5-locked", requires_token=True)
    >>> locked.requires_token, locked.qubits_num
    (True, 5)
    """

    id: str
    """Stable identifier."""
    name: str
    """Display name."""
    version: str
    """Version of the description (calibration date, revision, ...)."""
    qubits_num: int
    """Number of sites."""
    sites: tuple[SiteDescription, ...]
    """The sites, ordered by index."""
    operations: tuple[OperationDescription, ...]
    """The native operations."""
    coupling_map: tuple[tuple[int, int], ...]
    """Coupled site pairs (each coupling once)."""
    duration_unit: str
    """Unit of physical durations."""
    duration_scale_factor: float = 1.0
    """Raw durations times this factor are in :attr:`duration_unit`."""
    length_unit: str = "um"
    """Unit of physical lengths."""
    length_scale_factor: float = 1.0
    """Raw lengths times this factor are in :attr:`length_unit`."""
    program_formats: tuple[str, ...] = PROGRAM_FORMATS
    """Program formats that jobs may use."""
    status: str = "idle"
    """The device's status."""
    all_to_all: bool = False
    """Whether every pair of sites is coupled (then :attr:`coupling_map` lists them all)."""
    unroll: bool = True
    """Whether non-native library gates are decomposed into native operations."""
    requires_token: bool = False
    """Whether jobs need a session token."""
    max_simulated_qubits: int = DEFAULT_MAX_QUBITS
    """The most qubits one job may act on."""
    source: str = ""
    """Where the numbers come from."""
    notes: str = ""
    """What the device is for, anything else worth knowing."""
    children: tuple[DeviceDescription, ...] = ()
    """Devices managed by this one."""
    _operations: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.all_to_all:
            pairs = tuple((a, b) for a in range(self.qubits_num) for b in range(a + 1, self.qubits_num))
            object.__setattr__(self, "coupling_map", pairs)
        object.__setattr__(self, "_operations", {op.name: op for op in self.operations})
        _Validator(self).run()

    # ------------------------------------------------------------ look-ups
    @property
    def native_gates(self) -> frozenset[str]:
        """Names of the native operations."""
        return frozenset(self._operations)

    def operation(self, name: str) -> OperationDescription | None:
        """The native operation called ``name``, or ``None``."""
        return self._operations.get(name)

    def is_coupled(self, a: int, b: int) -> bool:
        """Whether sites ``a`` and ``b`` are coupled (in either order)."""
        return (a, b) in self._coupled or (b, a) in self._coupled

    @cached_property
    def _coupled(self) -> frozenset[tuple[int, int]]:
        return frozenset(self.coupling_map)

    def neighbours(self, site: int) -> list[int]:
        """The sites coupled to ``site``, in increasing order."""
        return sorted({b for a, b in self.coupling_map if a == site} | {a for a, b in self.coupling_map if b == site})

    def seconds(self, raw: float | None) -> float:
        """A raw duration in seconds (``None``, an unset time, is infinite)."""
        if raw is None:
            return math.inf
        return raw * self.duration_scale_factor * DURATION_UNITS[self.duration_unit]

    def meters(self, raw: float) -> float:
        """A raw length in meters."""
        return raw * self.length_scale_factor * LENGTH_UNITS[self.length_unit]

    @property
    def is_noise_free(self) -> bool:
        """Whether nothing on the device adds noise (no T1/T2, perfect gates and readout)."""
        sites_ideal = all(s.t1 is None and s.t2 is None and s.readout_fidelity == 1 for s in self.sites)
        return sites_ideal and all(op.fidelities is None or all(f == 1 for f in op.fidelities) for op in self.operations)

    # --------------------------------------------------------- calibration
    def calibration(self) -> dict:
        """The keyword arguments of :meth:`qlab.sim.NoiseModel.from_calibration`.

        T1 and T2 per site in seconds (``inf`` when unset), the duration of
        every operation and the fidelity of every calibrated gate per site
        tuple (``measure`` and ``reset`` get durations only), the readout
        fidelities and the coupling map.

        >>> from qlab.devices import load_device
        >>> cal = load_device("training5").calibration()
        >>> sorted(cal), cal["gate_fidelities"]["cx"][(0, 1)]
        (['coupling_map', 'gate_durations', 'gate_fidelities', 'readout_fidelities', 't1', 't2'], 0.95)
        """
        durations: dict[str, dict[tuple[int, ...], float]] = {}
        fidelities: dict[str, dict[tuple[int, ...], float]] = {}
        for op in self.operations:
            durations[op.name] = {s: self.seconds(d) for s, d in zip(op.sites, op.durations)}
            if op.fidelities is not None and op.name not in NON_GATE_OPERATIONS:
                fidelities[op.name] = dict(zip(op.sites, op.fidelities))
        return {
            "t1": [self.seconds(s.t1) for s in self.sites],
            "t2": [self.seconds(s.t2) for s in self.sites],
            "gate_durations": durations,
            "gate_fidelities": fidelities,
            "readout_fidelities": [s.readout_fidelity for s in self.sites],
            "coupling_map": list(self.coupling_map),
        }

    def _repr_html_(self) -> str:
        rows = {
            "id": self.id, "name": self.name, "version": self.version, "status": self.status, "qubits": self.qubits_num,
            "operations": ", ".join(op.name for op in self.operations),
            "coupling": "all-to-all" if self.all_to_all else f"{len(self.coupling_map)} pairs",
            "program formats": ", ".join(self.program_formats), "source": self.source,
        }
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>{html.escape(str(v))}</td></tr>"
            for k, v in rows.items()
        )
        return f"<table><caption>DeviceDescription</caption>{cells}</table>"

    def fit_circuit(self, circuit):
        """The circuit as this device runs it (see :func:`qlab.devices.fit_circuit`)."""
        from .placement import fit_circuit

        return fit_circuit(circuit, self)

    def noise_model(self) -> NoiseModel:
        """The device's noise model: empty when noise-free, else ``NoiseModel.from_device(self)``.

        >>> from qlab.devices import load_device
        >>> load_device("ideal").noise_model().is_ideal, load_device("sc20").noise_model().duration("cz", (0, 1))
        (True, 6.8e-08)
        """
        return NoiseModel() if self.is_noise_free else NoiseModel.from_device(self)


class _Validator:
    """The semantic checks of a description; each failure names the field."""

    def __init__(self, d: DeviceDescription):
        self.d = d

    def fail(self, problem: str) -> DeviceDescriptionError:
        return _fail(self.d.id, problem)

    def run(self) -> None:
        d = self.d
        if not isinstance(d.id, str) or not _ID.match(d.id):
            raise _fail(str(d.id), "id must be lowercase letters, digits, '.', '_' or '-', starting with a letter or digit.")
        if isinstance(d.qubits_num, bool) or not isinstance(d.qubits_num, int) or d.qubits_num < 1:
            raise self.fail(f"qubits_num must be a positive integer, got {d.qubits_num!r}.")
        self.units()
        if d.status not in DEVICE_STATUSES:
            raise self.fail(f"status {d.status!r} is unknown; allowed: {', '.join(DEVICE_STATUSES)}.")
        for f in d.program_formats:
            if f not in PROGRAM_FORMATS:
                raise self.fail(f"program format {f!r} cannot run on a described device; allowed: {', '.join(PROGRAM_FORMATS)}.")
        if len(set(d.program_formats)) != len(d.program_formats):
            raise self.fail(f"program_formats lists a format twice: {list(d.program_formats)}.")
        if not d.program_formats:
            raise self.fail("program_formats is empty; give at least one of qasm2, qasm3.")
        if isinstance(d.max_simulated_qubits, bool) or not isinstance(d.max_simulated_qubits, int) or d.max_simulated_qubits < 1:
            raise self.fail(f"max_simulated_qubits must be a positive integer, got {d.max_simulated_qubits!r}.")
        self.sites()
        self.coupling()
        self.operations()
        ids = [c.id for c in d.children]
        for child in d.children:
            if not isinstance(child, DeviceDescription):
                raise self.fail(f"children must be device descriptions, got {type(child).__name__}.")
            if child.id == d.id or ids.count(child.id) > 1:
                raise self.fail(f"child device id {child.id!r} is used twice; ids must be unique.")

    def units(self) -> None:
        d = self.d
        if d.duration_unit not in DURATION_UNITS:
            raise self.fail(f"duration_unit {d.duration_unit!r} is unknown; allowed: {', '.join(DURATION_UNITS)}.")
        if d.length_unit not in LENGTH_UNITS:
            raise self.fail(f"length_unit {d.length_unit!r} is unknown; allowed: {', '.join(LENGTH_UNITS)}.")
        for name in ("duration_scale_factor", "length_scale_factor"):
            v = getattr(d, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < math.inf:
                raise self.fail(f"{name} must be a positive number, got {v!r}.")

    def sites(self) -> None:
        d = self.d
        if len(d.sites) != d.qubits_num:
            raise self.fail(f"qubits_num is {d.qubits_num} but {len(d.sites)} sites are described; give one site per qubit.")
        for i, s in enumerate(d.sites):
            where = f"sites[{i}]"
            if s.index != i:
                raise self.fail(f"{where}.index is {s.index!r}; sites must have the indices 0..{d.qubits_num - 1}, each once, in order.")
            for name in ("t1", "t2"):
                v = getattr(s, name)
                if v is not None and not (_is_number(v) and v > 0):
                    raise self.fail(f"{where}.{name} must be a positive number (raw duration), got {v!r}.")
            if s.t1 is not None and s.t2 is not None and s.t2 > 2 * s.t1:
                raise self.fail(
                    f"{where}.t2 = {s.t2} is more than 2*t1 = {2 * s.t1}; coherence cannot outlive twice the "
                    "energy relaxation time (T2 <= 2*T1)."
                )
            if s.t2 is not None and s.t1 is None:
                raise self.fail(f"{where} sets t2 without t1; give both, or t1 alone.")
            f = s.readout_fidelity
            if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0.5 <= f <= 1:
                raise self.fail(f"{where}.readout_fidelity must be a number in [0.5, 1], got {f!r}.")
            c = s.coordinates
            if c is not None and (len(c) not in (2, 3) or not all(_is_number(x) for x in c)):
                raise self.fail(f"{where}.coordinates must be 2 or 3 numbers (raw lengths), got {c!r}.")

    def coupling(self) -> None:
        d = self.d
        seen = set()
        for k, pair in enumerate(d.coupling_map):
            where = f"coupling_map[{k}] = {list(pair)}"
            if len(pair) != 2 or any(isinstance(x, bool) or not isinstance(x, int) for x in pair):
                raise self.fail(f"{where} must be a pair of site indices.")
            for x in pair:
                if not 0 <= x < d.qubits_num:
                    raise self.fail(f"{where} names site {x}, but the device has sites 0..{d.qubits_num - 1}.")
            if pair[0] == pair[1]:
                raise self.fail(f"{where} couples a site to itself.")
            key = frozenset(pair)
            if key in seen:
                raise self.fail(f"{where} repeats a coupling; list each coupled pair once.")
            seen.add(key)

    def operations(self) -> None:
        d = self.d
        if not d.operations:
            raise self.fail("operations is empty; a device needs at least one native operation.")
        names = [op.name for op in d.operations]
        for k, op in enumerate(d.operations):
            where = f"operations[{k}] ({op.name!r})"
            if op.name in names[:k]:
                raise self.fail(f"{where} is described twice; give each operation once.")
            if op.name in NON_GATE_OPERATIONS:
                arity, nparams = 1, 0
            elif op.name in GATES:
                arity, nparams = GATES[op.name].num_qubits, GATES[op.name].num_params
            else:
                raise self.fail(
                    f"{where}: unknown operation; use a qlab library gate ({', '.join(sorted(GATES))}) or measure, reset."
                )
            if op.qubits_num != arity or op.parameters_num != nparams:
                raise self.fail(
                    f"{where} declares {op.qubits_num} qubit(s) and {op.parameters_num} parameter(s); "
                    f"the gate has {arity} and {nparams}."
                )
            if not op.sites:
                raise self.fail(f"{where} acts on no sites.")
            if len(set(op.sites)) != len(op.sites):
                twice = next(list(x) for x in op.sites if op.sites.count(x) > 1)
                raise self.fail(f"{where} lists sites {twice} more than once; give each site entry once.")
            for s in op.sites:
                if len(s) != arity or len(set(s)) != arity or any(not 0 <= x < d.qubits_num for x in s):
                    raise self.fail(f"{where} lists sites {list(s)}; expected {arity} distinct site(s) in 0..{d.qubits_num - 1}.")
                if arity == 2 and not d.is_coupled(*s):
                    raise self.fail(f"{where} acts on sites {list(s)}, which the coupling map does not connect.")
                if arity > 2:
                    raise self.fail(f"{where}: native operations act on one or two sites.")
            if len(op.durations) != len(op.sites) or not all(_is_number(x) and x >= 0 for x in op.durations):
                raise self.fail(f"{where}: durations must be one non-negative number (raw duration) per site entry.")
            if op.fidelities is not None:
                if op.name == "measure":
                    raise self.fail(f"{where}: give readout fidelities per site (sites[i].readout_fidelity), not on 'measure'.")
                if len(op.fidelities) != len(op.sites) or any(
                    isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 < x <= 1 for x in op.fidelities
                ):
                    raise self.fail(f"{where}: fidelities must be one number in (0, 1] per site entry.")
                floor = 1 / (2**arity + 1)
                if min(op.fidelities) <= floor:
                    raise self.fail(
                        f"{where}: fidelity {min(op.fidelities)} is at or below {floor:.4g}, the average gate "
                        f"fidelity of a fully depolarizing {arity}-qubit channel; no noise model reaches it."
                    )


def operation_fidelity(description: DeviceDescription, name: str, sites: tuple[int, ...]) -> float | None:
    """The fidelity of operation ``name`` on ``sites``; for ``measure`` the readout fidelity.

    >>> from qlab.devices import load_device
    >>> operation_fidelity(load_device("training5"), "measure", (2,))
    0.95
    """
    if name == "measure":
        return description.sites[sites[0]].readout_fidelity
    op = description.operation(name)
    return None if op is None else op.fidelity(sites)

