"""The job record every family shares, and the statuses a job moves through."""

from __future__ import annotations

import enum
import time
import uuid
from dataclasses import dataclass, field

from qlab.exceptions import QlabTypeError

from ..exceptions import JobStateError

__all__ = ["JobRecord", "JobStatus"]


class JobStatus(str, enum.Enum):
    """Where a job is in its life.

    A status only moves forward: ``created`` -> ``submitted`` -> ``queued``
    -> ``running`` -> one of ``done``, ``canceled``, ``failed``. Steps may be
    skipped; a finished job never changes again. Values may be given in any
    case.

    >>> JobStatus("RUNNING")
    <JobStatus.RUNNING: 'running'>
    >>> JobStatus.DONE.finished, JobStatus.QUEUED.finished
    (True, False)
    >>> JobStatus.QUEUED.can_move_to(JobStatus.SUBMITTED)
    False
    """

    CREATED = "created"
    SUBMITTED = "submitted"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    CANCELED = "canceled"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value

    __format__ = str.__format__

    @classmethod
    def _missing_(cls, value: object) -> JobStatus:
        if isinstance(value, str):
            member = cls._value2member_map_.get(value.lower())
            if member is not None:
                return member  # type: ignore[return-value]
        allowed = ", ".join(m.value for m in cls)
        raise JobStateError(f"Unknown job status {value!r} (allowed: {allowed}).")

    @property
    def finished(self) -> bool:
        """True for ``done``, ``canceled`` and ``failed``."""
        return _RANK[self] == _FINISHED_RANK

    def can_move_to(self, other: JobStatus) -> bool:
        """Whether a job in this status may move to ``other``."""
        return _RANK[self] < _FINISHED_RANK and _RANK[other] > _RANK[self]


_FINISHED_RANK = 4
_RANK = {
    JobStatus.CREATED: 0,
    JobStatus.SUBMITTED: 1,
    JobStatus.QUEUED: 2,
    JobStatus.RUNNING: 3,
    JobStatus.DONE: _FINISHED_RANK,
    JobStatus.CANCELED: _FINISHED_RANK,
    JobStatus.FAILED: _FINISHED_RANK,
}


@dataclass
class JobRecord:
    """One job of any family, as a :class:`~qlab.jobs.JobStore` keeps it.

    Build a new one with :meth:`new`; the store returns fresh copies from
    ``get`` and ``list``, so changing a record in memory changes nothing
    stored.

    >>> record = JobRecord.new("qdmi", "ideal", "OPENQASM 3.0; qubit q;", "qasm3", {"shots": 100})
    >>> record.status, list(record.timestamps), record.parameters
    (<JobStatus.CREATED: 'created'>, ['created'], {'shots': 100})
    """

    id: str
    """The job id (a uuid4 hex string by default)."""
    family: str
    """The interface family that made the job: ``"qdmi"``, ``"qpu"``, ``"emulator"``, ``"compiler"`` or ``"chain"``."""
    device: str
    """The device (or simulator) the job runs on."""
    program: str
    """The program text (QASM, a function name, ...)."""
    program_format: str
    """What ``program`` is written in, e.g. ``"qasm2"``, ``"qasm3"``."""
    parameters: dict
    """JSON-able run parameters (shots, seed, ...)."""
    status: JobStatus
    """Where the job is in its life."""
    timestamps: dict[str, float] = field(default_factory=dict)
    """Status value -> unix time (``time.time()``) when the job entered it."""
    error: str | None = None
    """Why the job failed or was canceled, if it says."""
    results: dict | None = None
    """The results of a ``done`` job: JSON-able values and NumPy arrays."""

    def __post_init__(self) -> None:
        self.status = JobStatus(self.status)
        for name in ("id", "family", "device", "program", "program_format"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise QlabTypeError(f"JobRecord.{name} must be a str, got {type(value).__name__} {value!r}.")
        for name in ("parameters", "timestamps"):
            value = getattr(self, name)
            if not isinstance(value, dict):
                raise QlabTypeError(f"JobRecord.{name} must be a dict, got {type(value).__name__} {value!r}.")
        if self.results is not None and not isinstance(self.results, dict):
            raise QlabTypeError(f"JobRecord.results must be a dict or None, got {type(self.results).__name__}.")

    @classmethod
    def new(
        cls,
        family: str,
        device: str,
        program: str = "",
        program_format: str = "",
        parameters: dict | None = None,
        *,
        id: str | None = None,
    ) -> JobRecord:
        """A ``created`` record with a fresh uuid4 hex id and its creation time.

        Args:
            family: the interface family making the job.
            device: the device it will run on.
            program: the program text.
            program_format: what the program is written in.
            parameters: JSON-able run parameters (copied; default empty).
            id: an id to use instead of a fresh uuid4 hex.

        >>> JobRecord.new("chain", "sim", id="job-1").id
        'job-1'
        """
        return cls(
            id=uuid.uuid4().hex if id is None else id,
            family=family,
            device=device,
            program=program,
            program_format=program_format,
            parameters={} if parameters is None else dict(parameters),
            status=JobStatus.CREATED,
            timestamps={JobStatus.CREATED.value: time.time()},
        )

    def _repr_html_(self) -> str:
        from .._html import key_value_table

        rows = {"id": self.id, "family": self.family, "device": self.device, "status": self.status.name,
                "format": self.program_format, **{k: v for k, v in self.parameters.items()}}
        rows.update({k: time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(v)) for k, v in self.timestamps.items()})
        if self.error:
            rows["error"] = self.error
        if self.results is not None:
            rows["results"] = ", ".join(sorted(self.results))
        return key_value_table(rows, caption="JobRecord")
