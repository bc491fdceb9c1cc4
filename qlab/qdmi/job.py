"""QDMI's client job interface: configure, submit, check, wait, cancel, read results, free.

A job moves CREATED -> SUBMITTED -> QUEUED -> RUNNING -> DONE (or CANCELED,
or FAILED with its reason); every step is stamped in the job store
(:attr:`Job.timestamps`). Parameters follow QDMI's rules: the program
format comes first and the program is checked against it when it is set;
nothing changes after submission; ``set_parameter(p)`` without a value only
asks whether ``p`` is supported.

>>> from qlab.qdmi import Session, JobParameter, JobResult, JobStatus
>>> session = Session(store=":memory:", mqt=False)
>>> job = session.device("ideal").create_job()
>>> job.set_parameter(JobParameter.PROGRAMFORMAT, "qasm2")
>>> job.set_parameter(JobParameter.PROGRAM, 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0], q[1]; measure q -> c;')
>>> job.set_parameter(JobParameter.SHOTSNUM, 100)
>>> job.submit()
>>> job.wait()
<JobStatus.DONE: 4>
>>> job.get_results(JobResult.HIST_KEYS), job.get_results(JobResult.STATEVECTOR_DENSE).round(3).tolist()
('00,11', [(0.707+0j), 0j, 0j, (0.707+0j)])
>>> sorted(job.timestamps)
['created', 'done', 'queued', 'running', 'submitted']
>>> job.free()
>>> session.close()
"""

from __future__ import annotations

import html
import math
import time

import numpy as np

from ..circuit import Circuit
from ..devices.routing import Placement, RouteOptions
from ..exceptions import JobQueueError, QasmError, QlabTimeoutError, QlabTypeError, RoutingError
from ..jobs import JobRecord
from .enums import DeviceProperty, DeviceStatus, JobParameter, JobProperty, JobResult, JobStatus, ProgramFormat
from .errors import BadState, InvalidArgument, NotSupported, Timeout, store_errors
from .results import result_value, to_result

__all__ = ["Job", "DEFAULT_SHOTS", "MAX_SHOTS", "route_options"]

DEFAULT_SHOTS = 1024
"""Shots of a job that does not set ``SHOTSNUM``."""

MAX_SHOTS = 10**7
"""The most shots one job may take (its SHOTS result lists every shot; the job stores only counts)."""

_POLL = 0.02
_LIVENESS = 0.5
"""How often (seconds) a wait on another process's job checks that its owner still holds its lease."""
_CUSTOM_UNUSED = (JobParameter.CUSTOM4, JobParameter.CUSTOM5)
_ROUTING = (JobParameter.ROUTE, JobParameter.OPTIMIZATIONLEVEL)


def route_options(route, optimization_level) -> RouteOptions:
    """Routing options from user values.

    >>> route_options(False, 2)
    RouteOptions(enabled=False, level=2)
    >>> route_options("no", 2)
    Traceback (most recent call last):
    ...
    qlab.qdmi.errors.InvalidArgument: route must be True or False, got 'no' (str).

    Raises:
        InvalidArgument: ``route`` is not a bool, or ``optimization_level`` not one of 0-3.
    """
    if isinstance(optimization_level, np.integer):
        optimization_level = int(optimization_level)
    try:
        return RouteOptions(bool(route) if isinstance(route, np.bool_) else route, optimization_level)
    except (QlabTypeError, RoutingError) as err:
        raise InvalidArgument(str(err)) from err


def _timeout(value) -> float | None:
    """A wait's timeout in seconds (``None`` or infinity: no limit)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) or not value >= 0:
        raise InvalidArgument(f"wait(timeout=...) takes None or a non-negative number of seconds, got {value!r}.")
    return None if math.isinf(value) else float(value)


def utc(stamp: float) -> str:
    """A unix time as ``YYYY-MM-DD HH:MM:SS UTC`` (every job time qlab shows is in UTC).

    >>> utc(0)
    '1970-01-01 00:00:00 UTC'
    """
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(stamp))


def _int(value, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidArgument(f"{what} must be an int, got {value!r} ({type(value).__name__}).")
    return int(value)


class Job:
    """A job on a device; create it with :meth:`Device.create_job() <qlab.qdmi.device.Device.create_job>`
    or, in one call, :meth:`Device.run() <qlab.qdmi.device.Device.run>`.

    >>> from qlab.qdmi import Session, JobParameter, JobStatus
    >>> with Session(store=":memory:", mqt=False) as session:
    ...     job = session.device("ideal").create_job()
    ...     job.set_parameter(JobParameter.PROGRAMFORMAT, "qasm3")
    ...     job.set_parameter(JobParameter.PROGRAM, 'OPENQASM 3.0; qubit q; bit c; x q; c = measure q;')
    ...     job.submit()
    ...     job.wait() is JobStatus.DONE, job.counts()
    (True, {'1': 1024})
    """

    def __init__(self, device, job_id: str, *, record: JobRecord | None = None):
        self.device = device
        """The device the job runs on."""
        self.id = job_id
        """The job id (also its id in the job store)."""
        self._created = time.time()
        self._format: ProgramFormat | None = None
        self._program: str | None = None
        self._shots = DEFAULT_SHOTS
        self._seed: int | None = None
        self._tag: str | None = None
        self._name: str | None = None
        self._routing = RouteOptions()
        self._routed: Placement | None = None
        self._submitted = record is not None
        self._final: JobRecord | None = None
        self._freed = False
        if record is not None:
            self._format = ProgramFormat(record.program_format)
            self._program = record.program
            self._shots = record.parameters.get("shots", DEFAULT_SHOTS)
            self._seed = record.parameters.get("seed")
            self._tag = record.parameters.get("tag")
            self._routing = RouteOptions.from_parameters(record.parameters)
            self._created = record.timestamps.get("created", self._created)
            if record.status.finished:
                self._final = record

    def __repr__(self) -> str:
        state = "freed" if self._freed else self.check().name
        return f"<Job {self.id!r} on {self.device.id!r}: {state}>"

    def _repr_html_(self) -> str:
        rows = {"job": self.id, "device": self.device.id, "status": "freed" if self._freed else self.check().name}
        if not self._freed:
            rows["shots"] = self._shots
            if self._tag is not None:
                rows["tag"] = self._tag
            rows.update({k: utc(v) for k, v in self.timestamps.items()})
            if self._final is not None and self._final.error:
                rows["error" if self._final.status.value != "done" else "note"] = self._final.error
            routing = self.routing
            if routing is not None:
                rows["routing"] = (f"routed at level {routing.level}: two-qubit gates {routing.cx_before} → "
                                   f"{routing.cx_after}, program qubits on sites {list(routing.initial_layout)} → "
                                   f"{list(routing.final_layout)}")
            if self.check() is JobStatus.DONE:
                rows["counts"] = _counts_text(self)
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>{html.escape(str(v))}</td></tr>"
            for k, v in rows.items()
        )
        return f"<table>{cells}</table>"

    def _alive(self) -> None:
        if self._freed:
            raise BadState(f"Job {self.id!r} was freed and cannot be used any more; create a new one with device.create_job().")

    # ---------------------------------------------------------- parameters
    def set_parameter(self, param: JobParameter | int | str, value=None) -> None:
        """Set a job parameter; with ``value=None`` only check that the parameter is supported.

        Parameters: ``PROGRAMFORMAT`` (a :class:`ProgramFormat`, required, set
        first), ``PROGRAM`` (the program text, or a :class:`~qlab.Circuit`,
        checked when set; a circuit given without a format sets QASM3),
        ``SHOTSNUM`` (default :data:`DEFAULT_SHOTS`) and ``SEED``
        (``CUSTOM1``, makes sampled shots reproducible). On devices that route
        (``device.routes``): ``ROUTE`` (``CUSTOM2``, a bool, default ``True``:
        a program that does not fit the device as written is routed onto it;
        ``False`` refuses it) and ``OPTIMIZATIONLEVEL`` (``CUSTOM3``, 0-3,
        default 2: how hard routing optimises). Changing them re-checks a
        program that is already set.

        Raises:
            InvalidArgument: unknown parameter, a value of the wrong type or out of
                range, or an invalid program.
            NotSupported: an unsupported parameter, program format or program
                (a gate the device cannot run, too many qubits, uncoupled sites),
                or too many shots.
            OutOfMem: the program did not fit in memory while it was checked.
            BadState: the job was submitted or freed, or the program comes
                before its format.
        """
        self._alive()
        param = JobParameter(param)
        if (param in _CUSTOM_UNUSED or (param is JobParameter.SEED and not self.device.seeded)
                or (param in _ROUTING and not self.device.routes)):
            taken = ["PROGRAMFORMAT", "PROGRAM", "SHOTSNUM"] + ["SEED (CUSTOM1)"] * self.device.seeded
            taken += ["ROUTE (CUSTOM2)", "OPTIMIZATIONLEVEL (CUSTOM3)"] * self.device.routes
            raise NotSupported(
                f"{param!r} is not a parameter of device {self.device.id!r}; its jobs take {', '.join(taken[:-1])} "
                f"and {taken[-1]}."
            )
        if value is None:
            return
        if self._submitted:
            raise BadState(f"Cannot set {param.name} on job {self.id!r}: it was submitted; parameters are fixed then.")
        if param is JobParameter.PROGRAMFORMAT:
            fmt = self._program_format(value)
            if self._program is not None:
                self.device._prepare(fmt, self._program, self._routing)
            self._format = fmt
        elif param is JobParameter.PROGRAM:
            if isinstance(value, Circuit):
                self._name = value.name
                value = self._circuit_text(value)
            if not isinstance(value, str):
                raise InvalidArgument(
                    f"JobParameter.PROGRAM must be the program text (a str) or a qlab Circuit, got {value!r} "
                    f"({type(value).__name__})."
                )
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as err:
                raise InvalidArgument(
                    f"JobParameter.PROGRAM must be valid Unicode text; character {err.start} is an unpaired "
                    f"surrogate ({value[err.start]!r})."
                ) from None
            if self._format is None:
                raise BadState(
                    f"Cannot set the PROGRAM of job {self.id!r} before its PROGRAMFORMAT: a program is checked against "
                    "its format, so set JobParameter.PROGRAMFORMAT first."
                )
            self.device._prepare(self._format, value, self._routing)
            self._program = value
        elif param is JobParameter.SHOTSNUM:
            shots = _int(value, "JobParameter.SHOTSNUM")
            if shots < 1:
                raise InvalidArgument(f"JobParameter.SHOTSNUM must be at least 1, got {shots}.")
            if shots > MAX_SHOTS:
                raise NotSupported(f"JobParameter.SHOTSNUM is at most {MAX_SHOTS:,} per job (its SHOTS result lists every shot), got {shots:,}.")
            self._shots = shots
        elif param in _ROUTING:
            route, level = self._routing.enabled, self._routing.level
            if param is JobParameter.ROUTE:
                route = value
            else:
                level = value
            routing = route_options(route, level)
            if self._program is not None:
                self.device._prepare(self._format, self._program, routing)
            self._routing = routing
        else:
            seed = _int(value, "JobParameter.SEED")
            if not 0 <= seed < 2**63:
                raise InvalidArgument(f"JobParameter.SEED must be in 0..2**63-1, got {seed}.")
            self._seed = seed

    def _circuit_text(self, circuit: Circuit) -> str:
        """A circuit as the program text of the job's format (QASM3 when no format is set yet)."""
        from ..circuit import dump_qasm

        if self._format is None:
            formats = self.device.supported_program_formats
            self._format = self._program_format(ProgramFormat.QASM3 if ProgramFormat.QASM3 in formats else ProgramFormat.QASM2)
        version = {ProgramFormat.QASM2: 2, ProgramFormat.QASM3: 3}.get(self._format)
        if version is None:
            raise NotSupported(
                f"A Circuit program is written as OpenQASM; set PROGRAMFORMAT to QASM2 or QASM3, not {self._format.name}."
            )
        try:
            return dump_qasm(circuit, version)
        except QasmError as err:
            raise NotSupported(f"The circuit cannot be written as OpenQASM {version}, so no device can take it: {err}") from err

    def _program_format(self, value) -> ProgramFormat:
        if isinstance(value, bool) or not isinstance(value, (ProgramFormat, int, str)):
            raise InvalidArgument(
                f"JobParameter.PROGRAMFORMAT must be a ProgramFormat (or its name or number), got {value!r} ({type(value).__name__})."
            )
        fmt = ProgramFormat(value)
        formats = self.device.supported_program_formats
        if fmt not in formats:
            takes = ", ".join(f.name for f in formats) or "no programs"
            raise NotSupported(f"Device {self.device.id!r} does not take {fmt.name} programs; it takes {takes}.")
        return fmt

    def query(self, prop: JobProperty | int | str):
        """A job property: ``ID``, ``PROGRAMFORMAT``, ``PROGRAM``, ``SHOTSNUM``, ``QUEUEPOSITION``, ``CUSTOM1``
        (the seed), and on devices that route ``CUSTOM2`` (``ROUTE``) and ``CUSTOM3`` (``OPTIMIZATIONLEVEL``).

        Raises:
            BadState: the property is not set yet (format, program), or the job is not queued (position).
            NotSupported: another custom property.
        """
        self._alive()
        prop = JobProperty(prop)
        if prop is JobProperty.ID:
            return self.id
        if prop is JobProperty.SHOTSNUM:
            return self._shots
        if prop is JobProperty.CUSTOM1:
            return self._seed
        if prop in (JobProperty.CUSTOM2, JobProperty.CUSTOM3) and self.device.routes:
            return self._routing.enabled if prop is JobProperty.CUSTOM2 else self._routing.level
        if prop in (JobProperty.PROGRAMFORMAT, JobProperty.PROGRAM):
            value = self._format if prop is JobProperty.PROGRAMFORMAT else self._program
            if value is None:
                raise BadState(f"Job {self.id!r} has no {prop.name} yet; set it with set_parameter.")
            return value
        if prop is JobProperty.QUEUEPOSITION:
            queue = self.device._queue
            position = None if queue is None else queue.position(self.id)
            if position is None:
                raise BadState(f"Job {self.id!r} is {self.check().name}, not QUEUED; only queued jobs have a position.")
            return position
        raise NotSupported(f"{prop!r} has no meaning for qlab jobs.")

    @property
    def routing(self) -> Placement | None:
        """How the program was routed onto the device, or ``None`` when it runs as written (qubit ``i`` on site ``i``).

        A :class:`~qlab.devices.routing.Placement`: the routed circuit the device runs, where each program
        qubit starts and ends (``initial_layout``, ``final_layout``), the optimisation level and the two-qubit
        gate counts before and after. The store keeps it in the job's parameters (``"routing"``).
        """
        self._alive()
        if self._routed is None and self._program is not None and self.device.routes:
            if not self._submitted:
                placement = self.device._placement(self._format, self._program, self._routing)
                return placement if placement.routed else None
            summary = self.record.parameters.get("routing")
            self._routed = None if summary is None else Placement.from_summary(summary)
        return self._routed

    @property
    def tag(self) -> str | None:
        """A label for the job (shown in ``qlab.jobs.df()``); settable until the job is submitted."""
        return self._tag

    @tag.setter
    def tag(self, value: str | None) -> None:
        if value is not None and not isinstance(value, str):
            raise InvalidArgument(f"A job tag must be a str or None, got {value!r} ({type(value).__name__}).")
        if self._submitted:
            raise BadState(f"Cannot tag job {self.id!r}: it was submitted; tag it before submit().")
        self._tag = value

    # ---------------------------------------------------------- lifecycle
    def submit(self) -> None:
        """Queue the job on its device and return at once.

        Raises:
            BadState: the job was already submitted or freed, its format or program
                is missing, or the device does not accept jobs now (offline, ...).
            Fatal: the job store cannot record the job (the message says why).
        """
        self._alive()
        if self._submitted:
            raise BadState(f"Cannot submit job {self.id!r} again: it was submitted; create a new job.")
        if self._format is None or self._program is None:
            raise BadState(
                f"Cannot submit job {self.id!r}: set JobParameter.PROGRAMFORMAT and JobParameter.PROGRAM first."
            )
        status = self.device.query(DeviceProperty.STATUS)
        if status not in (DeviceStatus.IDLE, DeviceStatus.BUSY):
            raise BadState(f"Cannot submit job {self.id!r}: device {self.device.id!r} is {status.name}.")
        parameters = {"shots": self._shots, "seed": self._seed}
        if self.device.routes:
            parameters.update(self._routing.parameters())
            placement = self.device._placement(self._format, self._program, self._routing)
            if placement is not None and placement.routed:
                parameters["routing"] = placement.summary()
                self._routed = placement
        if self._tag is not None:
            parameters["tag"] = self._tag
        if self._name is not None:
            parameters["name"] = self._name
        record = JobRecord.new("qdmi", self.device.id, self._program, self._format.name.lower(), parameters, id=self.id)
        record.timestamps["created"] = self._created
        with store_errors(f"Cannot submit job {self.id!r}"):
            self.device._job_queue().submit(record)
        self._submitted = True

    def check(self) -> JobStatus:
        """The job's status now (non-blocking).

        Raises:
            Fatal: the job store cannot be read (the message says why).
        """
        self._alive()
        if self._final is not None:
            return JobStatus[self._final.status.name]
        if not self._submitted:
            return JobStatus.CREATED
        record = self._held() or self._stored()
        if record.status.finished:
            self._final = record
        return JobStatus[record.status.name]

    def _stored(self) -> JobRecord:
        with store_errors(f"Cannot read job {self.id!r}"):
            return self.device.session.store.get(self.id)

    def _held(self) -> JobRecord | None:
        """The finished record the device's queue holds in memory because the store could not take it."""
        queue = self.device._queue
        return None if queue is None else queue.unsaved(self.id)

    def wait(self, timeout: float | None = None) -> JobStatus:
        """Block until the job is DONE, CANCELED or FAILED; return that status.

        While it waits on a job another process runs, it checks that process's
        lease in the store: a job whose owner died becomes FAILED
        (``"interrupted"``) instead of being waited for forever.

        Args:
            timeout: seconds to wait at most (any real number >= 0, NumPy ones
                too); ``None`` or ``float('inf')`` waits as long as it takes.

        Raises:
            Timeout: the job did not finish in time (it keeps running).
            BadState: the job was not submitted.
            InvalidArgument: ``timeout`` is negative, NaN or not a number.
            Fatal: the job store cannot be read (the message says why).
        """
        self._alive()
        timeout = _timeout(timeout)
        if not self._submitted:
            raise BadState(f"Cannot wait for job {self.id!r}: it has not been submitted.")
        if self._final is None:
            queue, record = self.device._queue, None
            if queue is not None:
                try:
                    with store_errors(f"Cannot wait for job {self.id!r}"):
                        record = queue.wait(self.id, timeout)
                except JobQueueError:
                    record = None
                except QlabTimeoutError as err:
                    raise Timeout(
                        f"Job {self.id!r} did not finish within {timeout} s (it is {self.check().name}); "
                        "wait longer or cancel it."
                    ) from err
            self._final = self._poll(timeout) if record is None else record
        return JobStatus[self._final.status.name]

    def _poll(self, timeout: float | None) -> JobRecord:
        """Wait on the store for a job another process or session runs, judging its owner's liveness."""
        deadline = None if timeout is None else time.monotonic() + timeout
        store = self.device.session.store
        next_check = 0.0
        while True:
            record = self._stored()
            if record.status.finished:
                return record
            now = time.monotonic()
            if now >= next_check:
                with store_errors(f"Cannot wait for job {self.id!r}"):
                    store.recover([self.id])
                next_check = now + _LIVENESS
                continue
            if deadline is not None and now >= deadline:
                raise Timeout(f"Job {self.id!r} did not finish within {timeout} s (it is {record.status.name}).")
            time.sleep(_POLL)

    def cancel(self) -> None:
        """Cancel a submitted, queued or running job (a running job's result is discarded).

        Raises:
            InvalidArgument: the job already finished (QDMI: canceling a DONE job).
            BadState: the job was not submitted, or was freed.
            Fatal: the job store cannot record the change (the message says why).
        """
        self._alive()
        if not self._submitted:
            raise BadState(f"Cannot cancel job {self.id!r}: it has not been submitted (free it instead).")
        status = self.check()
        with store_errors(f"Cannot cancel job {self.id!r}"):
            canceled = not status.finished and self.device._job_queue().cancel(self.id)
        if not canceled:
            raise InvalidArgument(
                f"Cannot cancel job {self.id!r}: it already finished ({self.check().name}); only submitted, queued or "
                "running jobs can be canceled."
            )
        if status is JobStatus.RUNNING:
            self.device._stop(self.id)
        self._final = None

    def free(self) -> None:
        """Release the job handle (``QDMI_job_free``); the stored job and a running job go on.

        Raises:
            BadState: the job was already freed.
        """
        if self._freed:
            raise BadState(f"Job {self.id!r} was already freed; free a job once.")
        self._freed = True
        self._final = None

    # ------------------------------------------------------------ results
    def _done(self, what: str) -> JobRecord:
        status = self.check()
        if status is not JobStatus.DONE:
            why = {
                JobStatus.CANCELED: "it was canceled, so it has no results",
                JobStatus.FAILED: f"it failed ({self._final.error if self._final else 'no reason recorded'})",
            }.get(status, f"it is {status.name}; wait() for it first")
            raise InvalidArgument(f"Cannot read {what} of job {self.id!r}: {why}. Results exist once a job is DONE.")
        return self._final

    def get_results(self, kind: JobResult | int | str):
        """One result of a DONE job (see :mod:`qlab.qdmi.results` for what each is).

        Raises:
            InvalidArgument: the job is not DONE (not finished, canceled or failed),
                or ``kind`` is unknown.
            NotSupported: the result does not exist for this job (a mixed state has
                no state vector, a program without classical bits has no shots, ...).
        """
        self._alive()
        kind = JobResult(kind)
        return result_value(self._done(kind.name).results, kind)

    def result(self, timeout: float | None = None):
        """Wait for the job, then its results as a :class:`qlab.Result`, the object :func:`qlab.simulate` returns.

        Counts, exact outcome probabilities (sampled frequencies on devices
        that report none), ``.df()``, ``.plot()`` and, when the job kept it,
        the final state. For a routed job (:attr:`routing`) the result's
        circuit is the program as submitted and its state is in the program's
        qubit order (each qubit read on the site where routing left it); the
        routed circuit is ``job.routing.circuit``.

        Raises:
            InvalidArgument: the job was canceled or failed (the message says why).
            Timeout: it did not finish within ``timeout`` seconds.
        """
        self._alive()
        if self._submitted:
            self.wait(timeout)
        record = self._done("the result")
        started, ended = record.timestamps.get("running"), record.timestamps.get("done")
        taken = 0.0 if started is None or ended is None else ended - started
        return to_result(self.device._circuit_of(record), record.results, self._shots, self._seed, taken)

    def counts(self) -> dict[str, int]:
        """The histogram of a DONE job as ``{outcome: count}`` (classical bit 0 first)."""
        keys = self.get_results(JobResult.HIST_KEYS).split(",")
        return dict(zip(keys, (int(v) for v in self.get_results(JobResult.HIST_VALUES))))

    @property
    def qubits(self) -> tuple[int, ...]:
        """The qubits the state results of a DONE job describe (in key order)."""
        return tuple(self._done("the qubits").results["qubits"])

    @property
    def record(self) -> JobRecord | None:
        """The stored record (``None`` before submission)."""
        self._alive()
        if not self._submitted:
            return None
        return self._final or self._held() or self._stored()

    @property
    def timestamps(self) -> dict[str, float]:
        """When the job entered each status (unix time), as stored."""
        record = self.record
        return {"created": self._created} if record is None else dict(record.timestamps)


def _counts_text(job: Job, top: int = 8) -> str:
    try:
        counts = job.counts()
    except NotSupported as err:
        return str(err)
    best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{k}: {v}" for k, v in best[:top])
    return text + (f", ... ({len(best) - top} more)" if len(best) > top else "")
