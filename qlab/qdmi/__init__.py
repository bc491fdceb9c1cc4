"""QDMI in Python: sessions, devices with their sites and operations, and jobs.

This mirrors the client interface of QDMI 1.x (the Quantum Device Management
Interface of the Munich Quantum Software Stack): the same properties,
statuses, parameters and results, with the same numeric values
(:mod:`qlab.qdmi.enums`), each error status as an exception
(:mod:`qlab.qdmi.errors`), and Pythonic accessors next to ``query``.

>>> from qlab.qdmi import Session, JobParameter, ProgramFormat
>>> with Session(store=":memory:", mqt=False) as session:
...     dev = session.device("training5")
...     job = dev.create_job()
...     job.set_parameter(JobParameter.PROGRAMFORMAT, ProgramFormat.QASM2)
...     job.set_parameter(JobParameter.PROGRAM, 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0], q[1]; measure q -> c;')
...     job.set_parameter(JobParameter.SEED, 7)
...     job.submit()
...     job.wait().name, sorted(job.counts())
('DONE', ['00', '01', '10', '11'])
"""

from .device import Device, Handles, Operation, Site
from .enums import (
    DeviceProperty,
    DeviceStatus,
    JobParameter,
    JobProperty,
    JobResult,
    JobStatus,
    OperationProperty,
    ProgramFormat,
    SiteProperty,
    Status,
)
from .errors import (
    BadState,
    Fatal,
    InvalidArgument,
    NotFound,
    NotSupported,
    OutOfMem,
    OutOfRange,
    PermissionDenied,
    QdmiError,
    Timeout,
)
from .job import Job
from .local import LocalDevice
from .programs import ProgramLimits
from .session import Session, default_session

__all__ = [
    "Session", "default_session", "ProgramLimits", "Device", "LocalDevice", "Site", "Operation", "Handles", "Job",
    "Status", "DeviceProperty", "DeviceStatus", "SiteProperty", "OperationProperty", "JobStatus", "ProgramFormat",
    "JobParameter", "JobProperty", "JobResult",
    "QdmiError", "InvalidArgument", "NotSupported", "BadState", "PermissionDenied", "NotFound", "OutOfRange", "OutOfMem",
    "Timeout", "Fatal",
]
