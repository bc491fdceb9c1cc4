"""MQT Core's QDMI devices as qlab devices.

``mqt-core`` (the ``mqt`` extra) ships a QDMI driver with a decision-diagram
simulator, ``mqt.ddsim.default``, and superconducting devices that report
calibration data (``mqt.sc.iqm.garnet``, ``mqt.sc.iqm.emerald``,
``mqt.sc.ibm.heron``, ``mqt.sc.ibm.nighthawk``, ``mqt.sc.default``). A
:class:`MqtDevice` wraps one of them: its properties answer qlab's queries,
and its jobs run through qlab's job interface, queue and store.

Differences a user sees:

* Outcome and basis-state keys are turned into qlab's order: classical bit
  (or qubit) 0 first. MQT Core's own keys put bit 0 last.
* DDSIM's jobs take the text formats it reports (OpenQASM 2 and 3, QIR
  text). Programs are checked by qlab when they are set: OpenQASM is parsed,
  QIR is parsed and verified as LLVM IR (llvmlite), so an invalid one raises
  InvalidArgument at once. A program with mid-circuit measurements gives
  shots and histograms only (DDSIM reports no state for it).
* The superconducting devices take no programs in MQT Core. qlab runs their
  jobs on its own density-matrix engine with their calibration
  (:func:`to_description`: T1, T2, gate and readout fidelities, durations,
  coupling), so they take OpenQASM 2 and 3 like qlab's own devices, and route
  programs that do not fit their couplings or gates as qlab's own devices do;
  ``device.engine`` and the device table say so.

>>> from qlab.qdmi import Session
>>> with Session(store=":memory:", mqt=True) as session:
...     garnet = session.device("mqt.sc.iqm.garnet")
...     garnet.qubits_num, garnet.duration_unit, [op.name for op in garnet.operations]
(20, 'us', ['r', 'cz', 'measure'])
>>> with Session(store=":memory:", mqt=True) as session:
...     garnet = session.device("mqt.sc.iqm.garnet")
...     bell = garnet.run('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0], q[1]; measure q -> c;', seed=3)
...     garnet.engine, sum(bell.result().counts.values())
("qlab's density-matrix engine, with the calibration MQT Core reports", 1024)
"""

from __future__ import annotations

import atexit
import dataclasses
import gc
import weakref
from collections.abc import Iterator
from functools import cached_property, lru_cache

import numpy as np

from ..circuit.gates import GATES
from ..devices.description import DURATION_UNITS, DeviceDescription, OperationDescription, SiteDescription
from ..devices.routing import NO_ROUTING, RouteOptions
from ..jobs import JobRecord
from .device import Device, Site
from .enums import DeviceProperty, DeviceStatus, OperationProperty, ProgramFormat, SiteProperty
from .errors import Fatal, InvalidArgument, NotSupported
from .local import LocalDevice
from .programs import ProgramLimits, check_qasm, check_qir

__all__ = ["MqtDevice", "mqt_devices", "to_description"]

_TEXT_FORMATS = (ProgramFormat.QASM2, ProgramFormat.QASM3, ProgramFormat.QIRBASESTRING, ProgramFormat.QIRADAPTIVESTRING)
_NAMES = {"r": "rxy", "i": "id"}


def _import():
    try:
        from mqt.core import qdmi
    except ImportError as err:
        raise NotSupported(
            "MQT Core's QDMI devices need the mqt-core package: pip install 'qlab[mqt]'."
        ) from err
    return qdmi


_OPEN: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _release_all() -> None:
    """Drop every reference to MQT Core's objects before the interpreter tears its bindings down.

    Devices still referenced at exit (a notebook's variables) would otherwise
    keep MQT Core's objects alive past the end of its binding module, which
    then reports them as leaks.
    """
    for device in list(_OPEN):
        device._release()
    gc.collect()


def mqt_devices(session, wanted: bool | None) -> Iterator[MqtDevice]:
    """The devices of MQT Core's QDMI driver for ``session`` (none when ``wanted`` is False, or None and not installed)."""
    if wanted is False:
        return
    try:
        qdmi = _import()
    except NotSupported:
        if wanted:
            raise
        return
    credentials = {"token": session.token, "username": session.username, "password": session._password,
                   "auth_file": session.auth_file, "auth_url": session.auth_url, "project_id": session.project_id}
    mqt_session = qdmi.Session(**{k: v for k, v in {**credentials, **session.custom}.items() if v is not None})
    for device in mqt_session.devices:
        yield MqtDevice(session, device, session._workers_for(device.id), mqt_session)


class MqtDevice(Device):
    """An ``mqt.core.qdmi.Device`` behind qlab's device and job interface.

    Args:
        session: the qlab session.
        device: the MQT Core device.
        workers: how many of its jobs run at once.
        mqt_session: the MQT Core session the device belongs to (kept open as long as the device).

    DDSIM samples with its own random state, so its jobs take no ``SEED``;
    the superconducting devices run on qlab's engine and take one.
    """

    def __init__(self, session, device, workers: int, mqt_session):
        super().__init__(session, workers)
        self.mqt_device = device
        """The wrapped ``mqt.core.qdmi.Device``."""
        self.mqt_session = mqt_session
        """The MQT Core session of the device."""
        self._qdmi = _import()
        self._jobs: dict[str, object] = {}
        self._circuits = lru_cache(maxsize=64)(self._check_qasm)
        _OPEN.add(self)
        self.limits = ProgramLimits()
        """What one program may be (see :class:`~qlab.qdmi.programs.ProgramLimits`)."""

    def _release(self) -> None:
        """Forget MQT Core's objects (at interpreter exit)."""
        for name in ("_sites", "_children", "_operations", "_native_formats"):
            self.__dict__.pop(name, None)
        self._jobs.clear()
        self.mqt_device = self.mqt_session = self._qdmi = None

    @cached_property
    def _native_formats(self) -> tuple[ProgramFormat, ...]:
        formats = (ProgramFormat(f.value) for f in self.mqt_device.supported_program_formats())
        return tuple(f for f in formats if f in _TEXT_FORMATS)

    @cached_property
    def _local(self) -> LocalDevice | None:
        """For a device that takes no programs in MQT Core: its calibration, simulated by qlab."""
        if self._native_formats:
            return None
        description = dataclasses.replace(to_description(self), id=self.id, name=self.name)
        return LocalDevice(self.session, description, self.workers)

    @property
    def seeded(self) -> bool:
        """Whether the device's jobs take ``JobParameter.SEED`` (only those qlab's engine runs)."""
        return self._local is not None

    @property
    def routes(self) -> bool:
        """Whether programs that do not fit the device as written are routed (on those qlab's engine runs)."""
        return self._local is not None

    @property
    def engine(self) -> str:
        """What runs the device's jobs."""
        if self._local is not None:
            return "qlab's density-matrix engine, with the calibration MQT Core reports"
        return f"MQT Core ({self.name})"
    @property
    def id(self) -> str:
        return self.mqt_device.id

    @cached_property
    def _sites(self) -> dict[int, object]:
        return {s.index(): s for s in self.mqt_device.sites()}

    @cached_property
    def _children(self) -> tuple[MqtDevice, ...]:
        return tuple(MqtDevice(self.session, c, self.workers, self.mqt_session) for c in self.mqt_device.child_devices())

    @cached_property
    def _operations(self) -> dict[str, object]:
        return {op.name(): op for op in self.mqt_device.operations()}

    # ------------------------------------------------------------ queries
    def _property(self, prop: DeviceProperty):
        d = self.mqt_device
        getters = {
            DeviceProperty.NAME: d.name,
            DeviceProperty.VERSION: d.version,
            DeviceProperty.STATUS: lambda: DeviceStatus(d.status().value),
            DeviceProperty.LIBRARYVERSION: d.library_version,
            DeviceProperty.QUBITSNUM: d.qubits_num,
            DeviceProperty.COUPLINGMAP: lambda: _pairs(d.coupling_map()),
            DeviceProperty.LENGTHUNIT: d.length_unit,
            DeviceProperty.LENGTHSCALEFACTOR: d.length_scale_factor,
            DeviceProperty.DURATIONUNIT: d.duration_unit,
            DeviceProperty.DURATIONSCALEFACTOR: d.duration_scale_factor,
            DeviceProperty.MINATOMDISTANCE: d.min_atom_distance,
            DeviceProperty.SUPPORTEDPROGRAMFORMATS: self._formats,
            DeviceProperty.CHILDDEVICES: lambda: self._children,
            DeviceProperty.NEEDSCALIBRATION: lambda: 0 if self._local is not None else None,
        }
        value = getters[prop]() if prop in getters else None
        if value is None:
            raise NotSupported(f"Device {self.id!r} does not report {prop!r}.")
        return value

    def _formats(self) -> tuple[ProgramFormat, ...]:
        return self._local._formats if self._local is not None else self._native_formats

    def _site_property(self, index: int, prop: SiteProperty):
        site = self._sites.get(index)
        if site is None:
            raise InvalidArgument(f"Device {self.id!r} has no site {index}.")
        getters = {
            SiteProperty.INDEX: site.index, SiteProperty.T1: site.t1, SiteProperty.T2: site.t2,
            SiteProperty.NAME: site.name, SiteProperty.XCOORDINATE: site.x_coordinate,
            SiteProperty.YCOORDINATE: site.y_coordinate, SiteProperty.ZCOORDINATE: site.z_coordinate,
            SiteProperty.ISZONE: site.is_zone, SiteProperty.XEXTENT: site.x_extent,
            SiteProperty.YEXTENT: site.y_extent, SiteProperty.ZEXTENT: site.z_extent,
            SiteProperty.MODULEINDEX: site.module_index, SiteProperty.SUBMODULEINDEX: site.submodule_index,
        }
        value = getters[prop]() if prop in getters else None
        if value is None:
            raise NotSupported(f"Site {index} of device {self.id!r} does not report {prop!r}.")
        return value

    def _operation_names(self) -> list[str]:
        return list(self._operations)

    def _operation_property(self, name: str, prop: OperationProperty, sites, params):
        op = self._operations.get(name)
        if op is None:
            raise InvalidArgument(f"Device {self.id!r} has no operation {name!r}.")
        if prop is OperationProperty.SITES:
            pairs = op.site_pairs()
            value = pairs if pairs else None if op.sites() is None else [(s,) for s in op.sites()]
            if value is None:
                raise NotSupported(f"Operation {name!r} of device {self.id!r} does not report its sites.")
            return tuple(tuple(Site(self, s.index()) for s in tup) for tup in value)
        args = []
        if sites is not None:
            missing = [i for i in sites if i not in self._sites]
            if missing:
                raise InvalidArgument(f"Device {self.id!r} has no site {missing[0]}.")
            args.append([self._sites[i] for i in sites])
        if params is not None:
            args = [args[0] if args else [], list(params)]
        getters = {
            OperationProperty.NAME: op.name, OperationProperty.QUBITSNUM: op.qubits_num,
            OperationProperty.PARAMETERSNUM: op.parameters_num, OperationProperty.DURATION: op.duration,
            OperationProperty.FIDELITY: op.fidelity, OperationProperty.INTERACTIONRADIUS: op.interaction_radius,
            OperationProperty.BLOCKINGRADIUS: op.blocking_radius, OperationProperty.IDLINGFIDELITY: op.idling_fidelity,
            OperationProperty.MEANSHUTTLINGSPEED: op.mean_shuttling_speed,
        }
        if prop is OperationProperty.ISZONED:
            return op.is_zoned()
        value = getters[prop](*args) if prop in getters else None
        if value is None:
            raise NotSupported(f"Operation {name!r} of device {self.id!r} does not report {prop!r} here.")
        return value

    # --------------------------------------------------------------- jobs
    def _check_qasm(self, fmt: ProgramFormat, program: str):
        return check_qasm(fmt, program, max_qubits=self.qubits_num, limits=self.limits)

    def _prepare(self, fmt: ProgramFormat, program: str, routing: RouteOptions = NO_ROUTING) -> None:
        if self._local is not None:
            self._local.limits = self.limits
            self._local._prepare(fmt, program, routing)
        elif fmt in (ProgramFormat.QASM2, ProgramFormat.QASM3):
            self._circuits(fmt, program)
        else:
            check_qir(program, self.limits)

    def _circuit_of(self, record: JobRecord):
        fmt = ProgramFormat(record.program_format)
        if self._local is not None:
            return self._local._circuit_of(record)
        return self._circuits(fmt, record.program) if fmt in (ProgramFormat.QASM2, ProgramFormat.QASM3) else None

    def _placement(self, fmt: ProgramFormat, program: str, routing: RouteOptions):
        return None if self._local is None else self._local._placement(fmt, program, routing)

    def fit_circuit(self, circuit):
        """The circuit as the device runs it (for devices qlab's engine runs)."""
        return super().fit_circuit(circuit) if self._local is None else self._local.fit_circuit(circuit)

    def noise_model(self):
        """The noise model from the device's calibration (for devices qlab's engine runs)."""
        return super().noise_model() if self._local is None else self._local.noise_model()

    def _summary(self) -> dict:
        return {**super()._summary(), "runs on": self.engine}

    def _run(self, record: JobRecord) -> dict:
        if self._local is not None:
            return self._local._run(record)
        fmt = self._qdmi.ProgramFormat(ProgramFormat(record.program_format).value)
        job = self.mqt_device.submit_job(record.program, fmt, record.parameters["shots"])
        self._jobs[record.id] = job
        try:
            job.wait(0)
            status = job.check()
            if status != self._qdmi.Job.Status.DONE:
                raise Fatal(f"MQT Core device {self.id!r} finished the job {status.name}.")
            return _results(job, self._circuit_of(record))
        finally:
            del self._jobs[record.id]

    def _stop(self, job_id: str) -> None:
        if self._local is not None:
            self._local._stop(job_id)
            return
        job = self._jobs.get(job_id)
        if job is None:
            return
        try:
            job.cancel()
        except ValueError:
            if job.check().name not in ("DONE", "FAILED", "CANCELED"):
                raise


def _pairs(coupling) -> tuple[tuple[int, int], ...] | None:
    return None if coupling is None else tuple((a.index(), b.index()) for a, b in coupling)


def _results(job, circuit) -> dict:
    """The results dict of :mod:`qlab.qdmi.results` from a DONE MQT Core job (bit 0 first).

    The state results are asked for only when the job has them: DDSIM gives
    no state for a program with mid-circuit measurements.
    """
    shots = [s[::-1] for s in job.get_shots()]
    if circuit is not None and circuit.num_clbits == 0:
        shots = [""] * len(shots)
    keys, index = np.unique(np.array(shots, dtype=str), return_inverse=True) if shots else (np.array([], dtype=str), [])
    try:
        amplitudes = {k[::-1]: v for k, v in job.get_sparse_statevector().items()}
    except RuntimeError as err:
        if "Not supported" not in str(err):
            raise
        amplitudes = None
    n = circuit.num_qubits if circuit is not None else len(next(iter(amplitudes))) if amplitudes else 0
    out = {"keys": [str(k) for k in keys], "shots": np.asarray(index, dtype=np.uint32), "qubits": list(range(n))}
    if amplitudes is not None:
        order = sorted(amplitudes)
        values = np.array([amplitudes[k] for k in order], dtype=complex)
        out.update(probability_keys=order, probability_values=np.abs(values) ** 2, statevector_keys=order,
                   statevector_values=values)
    return out


def to_description(device: MqtDevice) -> DeviceDescription:
    """A qlab description of an MQT Core device's calibration, to simulate the device with qlab.

    T1/T2 (a T2 above 2*T1 is cut to 2*T1), per-site gate and readout
    fidelities, durations and the coupling map carry over, with the device's
    duration unit; MQT's ``r`` gate becomes qlab's equal ``rxy``. What the
    device does not report is left out (no relaxation, no gate error). The
    id is the device's id prefixed with ``qlab.``.

    Raises:
        NotSupported: the device reports an operation qlab's gate library lacks,
            or a duration unit qlab does not know.

    >>> from qlab.qdmi import Session
    >>> with Session(store=":memory:", mqt=True) as session:
    ...     garnet = to_description(session.device("mqt.sc.iqm.garnet"))
    >>> garnet.id, garnet.qubits_num, sorted(garnet.native_gates), len(garnet.coupling_map)
    ('qlab.mqt.sc.iqm.garnet', 20, ['cz', 'measure', 'rxy'], 30)
    """
    unit = device.duration_unit or "ns"
    if unit not in DURATION_UNITS:
        raise NotSupported(f"Device {device.id!r} reports durations in {unit!r}; qlab knows {', '.join(DURATION_UNITS)}.")
    names = device._operation_names()
    operations = tuple(_operation(device, device.operation(name)) for name in names)
    readout = {}
    if "measure" in names:
        measure = device.operation("measure")
        readout = {s.index: measure.fidelity([s]) for s in device.sites}
    sites, cut = [], []
    for site in device.sites:
        t1 = _raw(site, SiteProperty.T1)
        t2 = _raw(site, SiteProperty.T2) if t1 is not None else None
        if t2 is not None and t2 > 2 * t1:
            t2 = 2 * t1
            cut.append(site.index)
        sites.append(SiteDescription(site.index, site.name, t1, t2, readout_fidelity=readout.get(site.index) or 1.0))
    coupling, seen = [], set()
    for a, b in device.coupling_map or ():
        if frozenset((a, b)) not in seen:
            seen.add(frozenset((a, b)))
            coupling.append((a, b))
    return DeviceDescription(
        id=f"qlab.{device.id}", name=f"{device.name} (calibration from MQT Core)", version=device.version,
        qubits_num=device.qubits_num, sites=tuple(sites), operations=operations, coupling_map=tuple(coupling),
        duration_unit=unit, duration_scale_factor=device.duration_scale_factor,
        source=f"MQT Core QDMI device {device.id!r}, library version {device.library_version}.",
        notes="Converted by qlab.qdmi.mqt.to_description."
        + (f" T2 was cut to 2*T1 on sites {', '.join(map(str, cut))}." if cut else ""),
    )


def _raw(site: Site, prop: SiteProperty) -> int | None:
    try:
        return int(site.query(prop))
    except NotSupported:
        return None


def _operation(device: MqtDevice, op) -> OperationDescription:
    name = _NAMES.get(op.name, op.name)
    arity = op.qubits_num
    if name not in GATES and name not in ("measure", "reset") or arity is None or arity > 2:
        raise NotSupported(f"Operation {op.name!r} of device {device.id!r} has no counterpart in qlab's gate library.")
    tuples = [tuple(s.index for s in tup) for tup in op.sites or ()]
    durations = []
    fidelities = []
    for tup in tuples:
        duration = _optional_query(op, OperationProperty.DURATION, tup)
        durations.append(0 if duration is None else int(duration))
        fidelities.append(_optional_query(op, OperationProperty.FIDELITY, tup))
    calibrated = name != "measure" and tuples and all(f is not None for f in fidelities)
    return OperationDescription(name, arity, op.parameters_num, tuple(tuples), tuple(durations),
                                tuple(fidelities) if calibrated else None)


def _optional_query(op, prop: OperationProperty, sites):
    try:
        return op.query(prop, sites)
    except NotSupported:
        return None
