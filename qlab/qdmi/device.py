"""Devices, sites and operations: QDMI's query interface, with Pythonic accessors.

``query`` returns what QDMI returns (raw integer durations and lengths, to
be scaled by the device's factors; handles for sites); the accessors return
SI values (seconds, meters) and plain Python data. A property a device does
not report raises :class:`~qlab.qdmi.errors.NotSupported` from ``query``
and is ``None`` through an accessor.

>>> from qlab.qdmi import Session, DeviceProperty, OperationProperty
>>> session = Session(store=":memory:")
>>> dev = session.device("training5")
>>> dev.query(DeviceProperty.QUBITSNUM), dev.duration_unit, dev.coupling_map
(5, 'ns', ((0, 1), (1, 2), (2, 3), (3, 4)))
>>> cx = dev.operation("cx")
>>> cx.query(OperationProperty.DURATION, sites=[0, 1]), cx.fidelity([2, 3])
(400, 0.96)
>>> dev.sites[0].t1
3.1e-05
>>> session.close()
"""

from __future__ import annotations

import html
import threading
import uuid
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..devices.description import DURATION_UNITS, LENGTH_UNITS
from ..devices.routing import NO_ROUTING, Placement, RouteOptions
from ..jobs import JobQueue, JobRecord
from ..exceptions import AmbiguousJobIdError, JobNotFoundError
from .enums import DeviceProperty, DeviceStatus, JobParameter, OperationProperty, ProgramFormat, SiteProperty
from .errors import BadState, InvalidArgument, NotFound, NotSupported, store_errors

__all__ = ["Device", "Site", "Operation", "Handles"]


class Handles(tuple):
    """A tuple of devices, sites or operations that also renders as a table.

    >>> from qlab.qdmi import Session
    >>> with Session(store=":memory:", mqt=False) as s:
    ...     list(s.device("training5").sites.df().columns)
    ['index', 'name', 't1_us', 't2_us', 'readout_fidelity', 'x_um', 'y_um', 'z_um']
    """

    def df(self) -> pd.DataFrame:
        """One row per element."""
        return pd.DataFrame([h._row() for h in self])

    def _repr_html_(self) -> str:
        return self.df().to_html(index=False)


def _qasm_version(text: str) -> int:
    from .programs import declared_version

    version = declared_version(text)
    if version is None:
        raise InvalidArgument(
            "device.run takes a qlab Circuit or OpenQASM text that starts with 'OPENQASM 2.0;' or 'OPENQASM 3.0;'; "
            f"this text starts with {text.lstrip()[:30]!r}."
        )
    return version


def _find(store, job_id: str) -> JobRecord:
    """The stored job whose id is ``job_id`` or starts with it."""
    if not isinstance(job_id, str) or not job_id:
        raise InvalidArgument(f"A job id must be a non-empty str, got {job_id!r}.")
    with store_errors(f"Cannot retrieve job {job_id!r}"):
        try:
            return store.get(store.resolve(job_id))
        except JobNotFoundError as err:
            raise NotFound(str(err)) from err
        except AmbiguousJobIdError as err:
            raise InvalidArgument(str(err)) from err


def _optional(fn):
    """Call ``fn``; ``None`` when the property is not supported."""
    try:
        return fn()
    except NotSupported:
        return None


def _site_index(site) -> int:
    if isinstance(site, Site):
        return site.index
    if isinstance(site, bool) or not isinstance(site, int):
        raise InvalidArgument(f"A site must be a Site or an int index, got {site!r} ({type(site).__name__}).")
    return site


def _parameter(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidArgument(f"Operation parameters must be real numbers, got {value!r} ({type(value).__name__}).")
    return float(value)


class Site:
    """A handle on one site of a device.

    >>> from qlab.qdmi import Session, SiteProperty
    >>> with Session(store=":memory:", mqt=False) as s:
    ...     site = s.device("sc20").sites[4]
    ...     site.query(SiteProperty.T1), site.name, round(site.t1 * 1e6, 1)
    (113500, 'Q4', 113.5)
    """

    __slots__ = ("device", "index")

    def __init__(self, device: Device, index: int):
        self.device = device
        """The device the site belongs to."""
        self.index = index
        """The site's index (qubit ``index`` of a program runs here)."""

    def query(self, prop: SiteProperty | int | str):
        """The raw value of a site property (QDMI semantics).

        Raises:
            NotSupported: the device does not report it for this site.
            InvalidArgument: ``prop`` is not a site property.
        """
        return self.device._site_property(self.index, SiteProperty(prop))

    @property
    def name(self) -> str | None:
        """The device's name for the site."""
        return _optional(lambda: self.query(SiteProperty.NAME))

    @property
    def t1(self) -> float | None:
        """T1 in seconds."""
        return _optional(lambda: self.device._seconds(self.query(SiteProperty.T1)))

    @property
    def t2(self) -> float | None:
        """T2 in seconds."""
        return _optional(lambda: self.device._seconds(self.query(SiteProperty.T2)))

    @property
    def coordinates(self) -> tuple[float, ...] | None:
        """The position in meters (x, y and, when reported, z)."""
        props = (SiteProperty.XCOORDINATE, SiteProperty.YCOORDINATE, SiteProperty.ZCOORDINATE)
        raw = [_optional(lambda p=p: self.query(p)) for p in props]
        raw = [r for r in raw if r is not None]
        return _optional(lambda: tuple(self.device._meters(r) for r in raw)) if raw else None

    @property
    def readout_fidelity(self) -> float | None:
        """The fidelity of ``measure`` on this site."""
        if "measure" not in self.device._operation_names():
            return None
        return _optional(lambda: Operation(self.device, "measure").query(OperationProperty.FIDELITY, sites=[self.index]))

    def _row(self) -> dict:
        t1, t2, xyz = self.t1, self.t2, self.coordinates or ()
        row = {"index": self.index, "name": self.name, "t1_us": None if t1 is None else t1 * 1e6,
               "t2_us": None if t2 is None else t2 * 1e6, "readout_fidelity": self.readout_fidelity}
        for axis, value in zip("xyz", (*xyz, None, None, None)):
            row[f"{axis}_um"] = None if value is None else value * 1e6
        return row

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Site) and other.device is self.device and other.index == self.index

    def __hash__(self) -> int:
        return hash((id(self.device), self.index))

    def __repr__(self) -> str:
        return f"Site({self.device.id!r}, {self.index})"


class Operation:
    """A handle on one operation of a device; values may differ per site (or site pair).

    >>> from qlab.qdmi import Session
    >>> with Session(store=":memory:", mqt=False) as s:
    ...     cz = s.device("sc20").operation("cz")
    ...     cz.qubits_num, cz.duration(), cz.fidelity([0, 1]), cz.fidelity([1, 0]) == cz.fidelity([0, 1])
    (2, 6.8e-08, 0.9941, True)
    """

    __slots__ = ("device", "name")

    def __init__(self, device: Device, name: str):
        self.device = device
        """The device the operation belongs to."""
        self.name = name
        """The operation's name."""

    def query(self, prop: OperationProperty | int | str, sites: Sequence[Site | int] | None = None,
              params: Sequence[float] | None = None):
        """The raw value of an operation property, on ``sites`` where it differs per site (QDMI semantics).

        Raises:
            NotSupported: the device does not report it (or it differs per site and no sites were given).
            InvalidArgument: ``prop`` is not an operation property, or ``sites`` / ``params`` do not fit.
        """
        prop = OperationProperty(prop)
        indices = None if sites is None else tuple(_site_index(s) for s in sites)
        values = None if params is None else tuple(_parameter(p) for p in params)
        return self.device._operation_property(self.name, prop, indices, values)

    @property
    def qubits_num(self) -> int | None:
        """How many sites the operation acts on."""
        return _optional(lambda: self.query(OperationProperty.QUBITSNUM))

    @property
    def parameters_num(self) -> int:
        """How many parameters it takes."""
        return self.query(OperationProperty.PARAMETERSNUM)

    @property
    def sites(self) -> tuple[tuple[Site, ...], ...] | None:
        """The site tuples it is available on."""
        return _optional(lambda: self.query(OperationProperty.SITES))

    def duration(self, sites: Sequence[Site | int] | None = None) -> float | None:
        """The duration in seconds (on ``sites``; without them, when it is the same everywhere)."""
        return _optional(lambda: self.device._seconds(self.query(OperationProperty.DURATION, sites)))

    def fidelity(self, sites: Sequence[Site | int] | None = None) -> float | None:
        """The fidelity (on ``sites``; without them, when it is the same everywhere)."""
        return _optional(lambda: self.query(OperationProperty.FIDELITY, sites))

    def df(self) -> pd.DataFrame:
        """One row per site tuple: its duration in microseconds and its fidelity."""
        rows = []
        for tup in self.sites or ():
            d = self.duration(tup)
            rows.append({"sites": tuple(s.index for s in tup), "duration_us": None if d is None else d * 1e6,
                         "fidelity": self.fidelity(tup)})
        return pd.DataFrame(rows, columns=["sites", "duration_us", "fidelity"])

    def _row(self) -> dict:
        table = self.df()
        fid = table["fidelity"].dropna()
        dur = table["duration_us"].dropna()
        return {
            "name": self.name, "qubits_num": self.qubits_num, "parameters_num": self.parameters_num,
            "sites": len(table), "duration_us": dur.median() if len(dur) else None,
            "fidelity_median": fid.median() if len(fid) else None, "fidelity_min": fid.min() if len(fid) else None,
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Operation) and other.device is self.device and other.name == self.name

    def __hash__(self) -> int:
        return hash((id(self.device), self.name))

    def __repr__(self) -> str:
        return f"Operation({self.device.id!r}, {self.name!r})"

    def _repr_html_(self) -> str:
        from .._html import frame_table

        row = self._row()
        return frame_table(self.df(), caption=f"Operation {self.name!r} on {self.device.id!r}: "
                           f"{row['qubits_num']} qubit(s), {row['parameters_num']} parameter(s)")


class Device:
    """A QDMI device: properties to query, and jobs that run through one FIFO queue.

    Get devices from a :class:`~qlab.qdmi.Session`. Subclasses say what the
    device is (:class:`~qlab.qdmi.local.LocalDevice` for described devices,
    :class:`~qlab.qdmi.mqt.MqtDevice` for MQT Core's); this class gives
    both the same interface.

    >>> from qlab.qdmi import Session, DeviceProperty
    >>> with Session(store=":memory:", mqt=False) as session:
    ...     dev = session.device("ion12")
    ...     dev.workers = 2
    ...     dev.query(DeviceProperty.NAME), dev.status.name, dev.workers
    ('qlab Ion-12 (trapped-ion chain, 12 qubits, all-to-all)', 'IDLE', 2)
    """

    def __init__(self, session, workers: int):
        self.session = session
        """The session the device was opened in."""
        self._workers = workers
        self._queue: JobQueue | None = None
        self._lock = threading.Lock()

    @property
    def workers(self) -> int:
        """How many of the device's jobs run at once (settable until its first job is submitted)."""
        return self._workers

    @workers.setter
    def workers(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidArgument(f"workers must be an int >= 1, got {value!r}.")
        with self._lock:
            if self._queue is not None:
                raise BadState(
                    f"Device {self.id!r} already runs jobs with {self._workers} worker(s); set workers before its first job "
                    "(or with Session(workers=...))."
                )
            self._workers = value

    # -------------------------------------------------- what subclasses say
    @property
    def id(self) -> str:
        """The stable device id."""
        raise NotImplementedError

    def _property(self, prop: DeviceProperty):
        raise NotImplementedError

    def _site_property(self, index: int, prop: SiteProperty):
        raise NotImplementedError

    def _operation_property(self, name: str, prop: OperationProperty, sites, params):
        raise NotImplementedError

    def _operation_names(self) -> list[str]:
        raise NotImplementedError

    def _check_access(self) -> None:
        """Raise PermissionDenied when the session may not create jobs here."""

    def _prepare(self, fmt: ProgramFormat, program: str, routing: RouteOptions = NO_ROUTING):
        """Check a program for this device (raise InvalidArgument or NotSupported); return what ``_run`` needs.

        ``routing`` matters on devices that route (:attr:`routes`).
        """
        raise NotImplementedError

    routes = False
    """Whether the device routes programs that do not fit it as written (its jobs take ``ROUTE`` and
    ``OPTIMIZATIONLEVEL``)."""

    def _placement(self, fmt: ProgramFormat, program: str, routing: RouteOptions) -> Placement | None:
        """Where a checked program runs on the device (``None``: the device does not place programs)."""
        return None

    def _run(self, record: JobRecord) -> dict:
        """Run a job; return its results dict (see :mod:`qlab.qdmi.results`)."""
        raise NotImplementedError

    seeded = True
    """Whether the device's jobs take ``JobParameter.SEED`` (reproducible shots)."""

    def _stop(self, job_id: str) -> None:
        """Stop a running job where the device can (the queue discards its result anyway)."""

    def _circuit_of(self, record: JobRecord):
        """The circuit a finished job ran (``None`` for programs qlab does not read)."""
        return None

    def fit_circuit(self, circuit):
        """The circuit as the device runs it (native gates on its sites).

        Raises:
            NotSupported: the device does not run qlab circuits on qlab's engine.
        """
        raise NotSupported(f"Device {self.id!r} is not simulated by qlab's engine, so it cannot fit circuits; run a job on it instead.")

    def noise_model(self):
        """The noise model the device's jobs are simulated with.

        Raises:
            NotSupported: the device is not simulated by qlab's engine.
        """
        raise NotSupported(f"Device {self.id!r} is not simulated by qlab's engine, so it has no qlab noise model.")

    # ------------------------------------------------------------ queries
    def query(self, prop: DeviceProperty | int | str):
        """The value of a device property (QDMI semantics: site handles, raw scale factors).

        Raises:
            NotSupported: the device does not report it.
            InvalidArgument: ``prop`` is not a device property.
        """
        prop = DeviceProperty(prop)
        if prop is DeviceProperty.ID:
            return self.id
        if prop is DeviceProperty.SITES:
            return Handles(Site(self, i) for i in range(self.query(DeviceProperty.QUBITSNUM)))
        if prop is DeviceProperty.OPERATIONS:
            return Handles(Operation(self, n) for n in self._operation_names())
        if prop is DeviceProperty.COUPLINGMAP:
            return tuple((Site(self, a), Site(self, b)) for a, b in self._property(prop))
        if prop is DeviceProperty.QUEUELENGTH:
            return self._waiting()
        if prop is DeviceProperty.STATUS:
            status = self._property(prop)
            busy = status is DeviceStatus.IDLE and self._queue is not None and len(self._queue)
            return DeviceStatus.BUSY if busy else status
        return self._property(prop)

    @property
    def name(self) -> str:
        """The display name."""
        return self.query(DeviceProperty.NAME)

    @property
    def version(self) -> str:
        """The device version."""
        return self.query(DeviceProperty.VERSION)

    @property
    def status(self) -> DeviceStatus:
        """The device status (BUSY while jobs wait or run)."""
        return self.query(DeviceProperty.STATUS)

    @property
    def library_version(self) -> str | None:
        """The version of the library implementing the device."""
        return _optional(lambda: self.query(DeviceProperty.LIBRARYVERSION))

    @property
    def qubits_num(self) -> int:
        """The number of qubits (sites)."""
        return self.query(DeviceProperty.QUBITSNUM)

    @property
    def sites(self) -> Handles:
        """The sites, by index."""
        return self.query(DeviceProperty.SITES)

    @property
    def operations(self) -> Handles:
        """The native operations."""
        return self.query(DeviceProperty.OPERATIONS)

    def operation(self, name: str) -> Operation:
        """The operation called ``name``.

        Raises:
            NotFound: the device has no such operation (the message lists them).
        """
        names = self._operation_names()
        if name not in names:
            raise NotFound(f"Device {self.id!r} has no operation {name!r}; it has {', '.join(names)}.")
        return Operation(self, name)

    @property
    def coupling_map(self) -> tuple[tuple[int, int], ...] | None:
        """Coupled site pairs as indices (``query(COUPLINGMAP)`` gives Site handles)."""
        return _optional(lambda: tuple((a.index, b.index) for a, b in self.query(DeviceProperty.COUPLINGMAP)))

    @property
    def duration_unit(self) -> str | None:
        """The unit of scaled durations."""
        return _optional(lambda: self.query(DeviceProperty.DURATIONUNIT))

    @property
    def duration_scale_factor(self) -> float:
        """Raw durations times this are in :attr:`duration_unit` (1 when not reported)."""
        value = _optional(lambda: self.query(DeviceProperty.DURATIONSCALEFACTOR))
        return 1.0 if value is None else value

    @property
    def length_unit(self) -> str | None:
        """The unit of scaled lengths."""
        return _optional(lambda: self.query(DeviceProperty.LENGTHUNIT))

    @property
    def length_scale_factor(self) -> float:
        """Raw lengths times this are in :attr:`length_unit` (1 when not reported)."""
        value = _optional(lambda: self.query(DeviceProperty.LENGTHSCALEFACTOR))
        return 1.0 if value is None else value

    @property
    def supported_program_formats(self) -> tuple[ProgramFormat, ...]:
        """The program formats jobs may use."""
        return tuple(self.query(DeviceProperty.SUPPORTEDPROGRAMFORMATS))

    @property
    def child_devices(self) -> tuple[Device, ...]:
        """Devices managed by this one."""
        return tuple(_optional(lambda: self.query(DeviceProperty.CHILDDEVICES)) or ())

    @property
    def queue_length(self) -> int:
        """How many jobs wait (not counting running ones)."""
        return self.query(DeviceProperty.QUEUELENGTH)

    def _waiting(self) -> int:
        queue = self._queue
        return 0 if queue is None else queue.waiting

    def _seconds(self, raw) -> float:
        unit = self.duration_unit
        if raw is None or unit not in DURATION_UNITS:
            raise NotSupported(f"Device {self.id!r} reports no duration unit qlab knows ({unit!r}).")
        return raw * self.duration_scale_factor * DURATION_UNITS[unit]

    def _meters(self, raw) -> float:
        unit = self.length_unit
        if unit not in LENGTH_UNITS:
            raise NotSupported(f"Device {self.id!r} reports no length unit qlab knows ({unit!r}).")
        return raw * self.length_scale_factor * LENGTH_UNITS[unit]

    # --------------------------------------------------------------- jobs
    def create_job(self):
        """A new job in status CREATED (``QDMI_device_create_job``).

        Raises:
            PermissionDenied: the device needs a session token and the session has none.
            BadState: the session is closed.
        """
        from .job import Job

        self.session._check_open()
        self._check_access()
        return Job(self, uuid.uuid4().hex)

    def run(self, program, shots: int = 1024, seed: int | None = None, *, tag: str | None = None,
            route: bool = True, optimization_level: int = 2):
        """Run a circuit (or OpenQASM 2/3 text) as a job and return the submitted job.

        The circuit is fitted to the device (native gates, its sites and
        couplings) and simulated with its noise; the job goes through the
        device's queue and the session's store like any other. Read it with
        ``job.result()`` (a :class:`qlab.Result`), ``job.counts()`` or
        ``get_results``.

        A circuit that fits runs as written, program qubit ``i`` on site ``i``.
        One that fits the device's qubit count but not its couplings or native
        gates is routed (on devices that route, :attr:`routes`): qlab's compiler
        places its qubits, inserts SWAPs and unrolls it, with a fixed seed, in
        this process. Its counts answer the original question (each program
        qubit is measured into its own classical bits), its state results name
        the program's qubits in order, and ``job.routing`` holds the routed
        circuit, the layouts and the two-qubit gate counts.

        Args:
            program: a :class:`qlab.Circuit`, or OpenQASM 2 or 3 text (the
                header says which).
            shots: how many shots to sample.
            seed: makes the shots reproducible (devices whose jobs take no seed
                refuse one).
            tag: a label shown in ``qlab.jobs.df()``.
            route: route a program that does not fit as written (``True``), or
                refuse it with the reason (``False``).
            optimization_level: how hard routing optimises, 0-3 (see
                :func:`qlab.compiler.optimization_passes`).

        Raises:
            InvalidArgument: the program is not valid, ``route`` is not a bool or
                ``optimization_level`` not one of 0-3.
            NotSupported: the device cannot run it (see :meth:`Job.set_parameter`),
                or takes no routing options and they were given.

        >>> import qlab
        >>> from qlab.qdmi import Session
        >>> with Session(store=":memory:", mqt=False) as session:
        ...     result = session.device("training5").run(qlab.Circuit(2).h(0).cx(0, 1).measure_all(), shots=500, seed=1).result()
        >>> sorted(result.counts), round(result.probabilities["00"], 2)
        (['00', '01', '10', '11'], 0.45)
        """
        from .job import route_options

        routing = route_options(route, optimization_level)
        job = self.create_job()
        if routing != RouteOptions():
            job.set_parameter(JobParameter.ROUTE, routing.enabled)
            job.set_parameter(JobParameter.OPTIMIZATIONLEVEL, routing.level)
        if isinstance(program, str):
            version = _qasm_version(program)
            job.set_parameter(JobParameter.PROGRAMFORMAT, ProgramFormat.QASM2 if version == 2 else ProgramFormat.QASM3)
        job.set_parameter(JobParameter.PROGRAM, program)
        job.set_parameter(JobParameter.SHOTSNUM, shots)
        if seed is not None:
            job.set_parameter(JobParameter.SEED, seed)
        job.tag = tag
        job.submit()
        return job

    def retrieve_job(self, job_id: str):
        """A job of this device from the store, by id or a unique start of it (``QDMI_session_retrieve_job_by_id``).

        A retrieved job can be checked, waited for, canceled and read; its
        parameters cannot change and it cannot be submitted again.

        Raises:
            NotFound: no job with that id on this device.
            InvalidArgument: the id is the start of several jobs' ids (the message lists them).
            Fatal: the job store cannot be read.
        """
        from .job import Job

        self.session._check_open()
        self._check_access()
        record = _find(self.session.store, job_id)
        if record.device != self.id:
            raise NotFound(f"Job {record.id!r} ran on device {record.device!r}, not on {self.id!r}.")
        return Job(self, record.id, record=record)

    def _job_queue(self) -> JobQueue:
        with self._lock:
            if self._queue is None:
                self.session._check_open()
                runner, executor = self._queue_runner()
                workers = self.workers if executor is None else None  # on an executor: as many as it has threads
                self._queue = JobQueue(runner, self.session.store, workers=workers, name=self.id, executor=executor)
            return self._queue

    def _queue_runner(self):
        """What the job queue calls per job, and where: ``self._run`` in this process, no executor.

        A device whose jobs may leave the process returns a picklable runner
        and the session's executor instead.
        """
        return self._run, None

    def _shutdown(self) -> None:
        with self._lock:
            queue, self._queue = self._queue, None
        if queue is not None:
            queue.shutdown()

    # ------------------------------------------------------------ display
    def _summary(self) -> dict:
        formats = ", ".join(f.name for f in self.supported_program_formats) or "none"
        coupling = self.coupling_map
        return {
            "id": self.id, "name": self.name, "version": self.version, "status": self.status.name,
            "qubits": self.qubits_num, "operations": ", ".join(self._operation_names()),
            "coupling": "not reported" if coupling is None else f"{len(coupling)} pairs",
            "duration unit": self.duration_unit, "program formats": formats, "queue length": self.queue_length,
        }

    def df(self) -> pd.DataFrame:
        """The device's main properties, one row each."""
        return pd.DataFrame(list(self._summary().items()), columns=["property", "value"])

    def _row(self) -> dict:
        return self._summary()

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td style='text-align:left'>{html.escape(str(v))}</td></tr>"
            for k, v in self._summary().items()
        )
        return f"<table><caption>{html.escape(type(self).__name__)} {html.escape(self.id)!s}</caption>{rows}</table>"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id!r}>"

