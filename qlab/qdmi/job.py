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

from ..exceptions import JobQueueError, QlabTimeoutError
from ..jobs import JobRecord
from .enums import DeviceProperty, DeviceStatus, JobParameter, JobProperty, JobResult, JobStatus, ProgramFormat
from .errors import BadState, InvalidArgument, NotSupported, Timeout
from .results import result_value

__all__ = ["Job", "DEFAULT_SHOTS", "MAX_SHOTS"]

DEFAULT_SHOTS = 1024
"""Shots of a job that does not set ``SHOTSNUM``."""

MAX_SHOTS = 10**7
"""The most shots one job may take (every shot is stored with the job)."""

_POLL = 0.02
_CUSTOM_UNUSED = (JobParameter.CUSTOM2, JobParameter.CUSTOM3, JobParameter.CUSTOM4, JobParameter.CUSTOM5)


def _int(value, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidArgument(f"{what} must be an int, got {value!r} ({type(value).__name__}).")
    return int(value)


class Job:
    """A job on a device; create it with :meth:`Device.create_job() <qlab.qdmi.device.Device.create_job>`.

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
        self._submitted = record is not None
        self._final: JobRecord | None = None
        self._freed = False
        if record is not None:
            self._format = ProgramFormat(record.program_format)
            self._program = record.program
            self._shots = record.parameters.get("shots", DEFAULT_SHOTS)
            self._seed = record.parameters.get("seed")
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
            rows.update({k: time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(v)) for k, v in self.timestamps.items()})
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
        first), ``PROGRAM`` (the program text, checked when set), ``SHOTSNUM``
        (default :data:`DEFAULT_SHOTS`) and ``SEED`` (``CUSTOM1``, makes
        sampled shots reproducible).

        Raises:
            InvalidArgument: unknown parameter, a value of the wrong type or out of
                range, or an invalid program.
            NotSupported: an unsupported parameter, program format or program
                (a gate the device cannot run, too many qubits), or too many shots.
            BadState: the job was submitted or freed, or the program comes
                before its format.
        """
        self._alive()
        param = JobParameter(param)
        if param in _CUSTOM_UNUSED or (param is JobParameter.SEED and not self.device.seeded):
            taken = "PROGRAMFORMAT, PROGRAM, SHOTSNUM" + (" and SEED (CUSTOM1)" if self.device.seeded else "")
            raise NotSupported(f"{param!r} is not a parameter of device {self.device.id!r}; its jobs take {taken}.")
        if value is None:
            return
        if self._submitted:
            raise BadState(f"Cannot set {param.name} on job {self.id!r}: it was submitted; parameters are fixed then.")
        if param is JobParameter.PROGRAMFORMAT:
            fmt = self._program_format(value)
            if self._program is not None:
                self.device._prepare(fmt, self._program)
            self._format = fmt
        elif param is JobParameter.PROGRAM:
            if not isinstance(value, str):
                raise InvalidArgument(f"JobParameter.PROGRAM must be the program text (a str), got {value!r} ({type(value).__name__}).")
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
            self.device._prepare(self._format, value)
            self._program = value
        elif param is JobParameter.SHOTSNUM:
            shots = _int(value, "JobParameter.SHOTSNUM")
            if shots < 1:
                raise InvalidArgument(f"JobParameter.SHOTSNUM must be at least 1, got {shots}.")
            if shots > MAX_SHOTS:
                raise NotSupported(f"JobParameter.SHOTSNUM is at most {MAX_SHOTS:,} per job (every shot is stored), got {shots:,}.")
            self._shots = shots
        else:
            seed = _int(value, "JobParameter.SEED")
            if not 0 <= seed < 2**63:
                raise InvalidArgument(f"JobParameter.SEED must be in 0..2**63-1, got {seed}.")
            self._seed = seed

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
        """A job property: ``ID``, ``PROGRAMFORMAT``, ``PROGRAM``, ``SHOTSNUM``, ``QUEUEPOSITION`` or ``CUSTOM1`` (the seed).

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

    # ---------------------------------------------------------- lifecycle
    def submit(self) -> None:
        """Queue the job on its device and return at once.

        Raises:
            BadState: the job was already submitted or freed, its format or program
                is missing, or the device does not accept jobs now (offline, ...).
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
        record = JobRecord.new(
            "qdmi", self.device.id, self._program, self._format.name.lower(),
            {"shots": self._shots, "seed": self._seed}, id=self.id,
        )
        record.timestamps["created"] = self._created
        self.device._job_queue().submit(record)
        self._submitted = True

    def check(self) -> JobStatus:
        """The job's status now (non-blocking)."""
        self._alive()
        if self._final is not None:
            return JobStatus[self._final.status.name]
        if not self._submitted:
            return JobStatus.CREATED
        record = self.device.session.store.get(self.id)
        if record.status.finished:
            self._final = record
        return JobStatus[record.status.name]

    def wait(self, timeout: float | None = None) -> JobStatus:
        """Block until the job is DONE, CANCELED or FAILED; return that status.

        Args:
            timeout: seconds to wait at most; ``None`` waits as long as it takes.

        Raises:
            Timeout: the job did not finish in time (it keeps running).
            BadState: the job was not submitted.
            InvalidArgument: ``timeout`` is negative or not a number.
        """
        self._alive()
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 <= timeout < math.inf
        ):
            raise InvalidArgument(f"wait(timeout=...) takes None or a non-negative number of seconds, got {timeout!r}.")
        if not self._submitted:
            raise BadState(f"Cannot wait for job {self.id!r}: it has not been submitted.")
        if self._final is None:
            queue, record = self.device._queue, None
            if queue is not None:
                try:
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
        """Wait on the store for a job another process or session runs."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            record = self.device.session.store.get(self.id)
            if record.status.finished:
                return record
            if deadline is not None and time.monotonic() >= deadline:
                raise Timeout(f"Job {self.id!r} did not finish within {timeout} s (it is {record.status.name}).")
            time.sleep(_POLL)

    def cancel(self) -> None:
        """Cancel a submitted, queued or running job (a running job's result is discarded).

        Raises:
            InvalidArgument: the job already finished (QDMI: canceling a DONE job).
            BadState: the job was not submitted, or was freed.
        """
        self._alive()
        if not self._submitted:
            raise BadState(f"Cannot cancel job {self.id!r}: it has not been submitted (free it instead).")
        status = self.check()
        if status.finished or not self.device._job_queue().cancel(self.id):
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
    def get_results(self, kind: JobResult | int | str):
        """One result of a DONE job (see :mod:`qlab.qdmi.results` for what each is).

        Raises:
            InvalidArgument: the job is not DONE (not finished, canceled or failed),
                or ``kind`` is unknown.
            NotSupported: the result does not exist for this job (a mixed state has
                no state vector, ...).
        """
        self._alive()
        kind = JobResult(kind)
        status = self.check()
        if status is not JobStatus.DONE:
            why = {
                JobStatus.CANCELED: "it was canceled, so it has no results",
                JobStatus.FAILED: f"it failed ({self._final.error if self._final else 'no reason recorded'})",
            }.get(status, f"it is {status.name}; wait() for it first")
            raise InvalidArgument(f"Cannot read {kind.name} of job {self.id!r}: {why}. Results exist once a job is DONE.")
        return result_value(self._final.results, kind)

    def counts(self) -> dict[str, int]:
        """The histogram of a DONE job as ``{outcome: count}`` (classical bit 0 first)."""
        keys = self.get_results(JobResult.HIST_KEYS).split(",")
        return dict(zip(keys, (int(v) for v in self.get_results(JobResult.HIST_VALUES))))

    @property
    def qubits(self) -> tuple[int, ...]:
        """The qubits the state results of a DONE job describe (in key order)."""
        self.get_results(JobResult.HIST_KEYS)
        return tuple(self._final.results["qubits"])

    @property
    def record(self) -> JobRecord | None:
        """The stored record (``None`` before submission)."""
        self._alive()
        if not self._submitted:
            return None
        return self._final or self.device.session.store.get(self.id)

    @property
    def timestamps(self) -> dict[str, float]:
        """When the job entered each status (unix time), as stored."""
        record = self.record
        return {"created": self._created} if record is None else dict(record.timestamps)
