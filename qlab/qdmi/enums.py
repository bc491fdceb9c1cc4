"""The QDMI enumerations, with QDMI's numeric values and names.

Every enum takes its member, its number, or its name in any case with or
without underscores; anything else raises :class:`~qlab.qdmi.errors.InvalidArgument`
with the allowed names:

>>> ProgramFormat("qasm3"), ProgramFormat(0), DeviceProperty["QUBITSNUM"]
(<ProgramFormat.QASM3: 1>, <ProgramFormat.QASM2: 0>, <DeviceProperty.QUBITSNUM: 4>)
>>> JobResult("hist_keys") is JobResult.HIST_KEYS
True
>>> JobStatus(42)
Traceback (most recent call last):
...
qlab.qdmi.errors.InvalidArgument: Unknown JobStatus 42; allowed: CREATED, SUBMITTED, QUEUED, RUNNING, DONE, CANCELED, FAILED.

qlab gives custom slots a meaning: ``JobParameter.SEED`` (``CUSTOM1``)
makes sampled shots reproducible; ``JobParameter.ROUTE`` (``CUSTOM2``, a
bool) says whether a program that does not fit the device as written is
routed onto it, and ``JobParameter.OPTIMIZATIONLEVEL`` (``CUSTOM3``, 0-3)
how hard that routing optimises; ``JobResult.DENSITY_MATRIX`` (``CUSTOM1``)
is the final density matrix.
"""

from __future__ import annotations

import enum

__all__ = [
    "Status", "DeviceProperty", "DeviceStatus", "SiteProperty", "OperationProperty", "JobStatus",
    "ProgramFormat", "JobParameter", "JobProperty", "JobResult",
]

_CUSTOM = {"CUSTOM1": 999999995, "CUSTOM2": 999999996, "CUSTOM3": 999999997, "CUSTOM4": 999999998, "CUSTOM5": 999999999}


class _QdmiEnum(enum.IntEnum):
    """An IntEnum that also accepts member names loosely and rejects the rest with InvalidArgument."""

    @classmethod
    def _missing_(cls, value):
        if isinstance(value, str):
            key = value.replace("_", "").replace("-", "").replace(" ", "").upper()
            for name, member in cls.__members__.items():
                if name.replace("_", "") == key:
                    return member
        from .errors import InvalidArgument

        raise InvalidArgument(f"Unknown {cls.__name__} {value!r}; allowed: {', '.join(cls.__members__)}.")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}.{self.name}: {self.value}>"


class Status(_QdmiEnum):
    """QDMI status codes (``QDMI_STATUS``); the error codes are carried by :mod:`qlab.qdmi.errors`."""

    WARN_GENERAL = 1
    SUCCESS = 0
    ERROR_FATAL = -1
    ERROR_OUTOFMEM = -2
    ERROR_NOTIMPLEMENTED = -3
    ERROR_LIBNOTFOUND = -4
    ERROR_NOTFOUND = -5
    ERROR_OUTOFRANGE = -6
    ERROR_INVALIDARGUMENT = -7
    ERROR_PERMISSIONDENIED = -8
    ERROR_NOTSUPPORTED = -9
    ERROR_BADSTATE = -10
    ERROR_TIMEOUT = -11


class DeviceProperty(_QdmiEnum):
    """Device properties (``QDMI_DEVICE_PROPERTY_*``)."""

    NAME = 0
    VERSION = 1
    STATUS = 2
    LIBRARYVERSION = 3
    QUBITSNUM = 4
    SITES = 5
    OPERATIONS = 6
    COUPLINGMAP = 7
    NEEDSCALIBRATION = 8
    PULSESUPPORT = 9
    LENGTHUNIT = 10
    LENGTHSCALEFACTOR = 11
    DURATIONUNIT = 12
    DURATIONSCALEFACTOR = 13
    MINATOMDISTANCE = 14
    SUPPORTEDPROGRAMFORMATS = 15
    CHILDDEVICES = 16
    QUEUELENGTH = 17
    ID = 18
    CUSTOM1 = _CUSTOM["CUSTOM1"]
    CUSTOM2 = _CUSTOM["CUSTOM2"]
    CUSTOM3 = _CUSTOM["CUSTOM3"]
    CUSTOM4 = _CUSTOM["CUSTOM4"]
    CUSTOM5 = _CUSTOM["CUSTOM5"]


class DeviceStatus(_QdmiEnum):
    """Device statuses (``QDMI_DEVICE_STATUS_*``)."""

    OFFLINE = 0
    IDLE = 1
    BUSY = 2
    ERROR = 3
    MAINTENANCE = 4
    CALIBRATION = 5


class SiteProperty(_QdmiEnum):
    """Site properties (``QDMI_SITE_PROPERTY_*``); durations and lengths are raw (scale them by the device's factors)."""

    INDEX = 0
    T1 = 1
    T2 = 2
    NAME = 3
    XCOORDINATE = 4
    YCOORDINATE = 5
    ZCOORDINATE = 6
    ISZONE = 7
    XEXTENT = 8
    YEXTENT = 9
    ZEXTENT = 10
    MODULEINDEX = 11
    SUBMODULEINDEX = 12
    CUSTOM1 = _CUSTOM["CUSTOM1"]
    CUSTOM2 = _CUSTOM["CUSTOM2"]
    CUSTOM3 = _CUSTOM["CUSTOM3"]
    CUSTOM4 = _CUSTOM["CUSTOM4"]
    CUSTOM5 = _CUSTOM["CUSTOM5"]


class OperationProperty(_QdmiEnum):
    """Operation properties (``QDMI_OPERATION_PROPERTY_*``)."""

    NAME = 0
    QUBITSNUM = 1
    PARAMETERSNUM = 2
    DURATION = 3
    FIDELITY = 4
    INTERACTIONRADIUS = 5
    BLOCKINGRADIUS = 6
    IDLINGFIDELITY = 7
    ISZONED = 8
    SITES = 9
    MEANSHUTTLINGSPEED = 10
    CUSTOM1 = _CUSTOM["CUSTOM1"]
    CUSTOM2 = _CUSTOM["CUSTOM2"]
    CUSTOM3 = _CUSTOM["CUSTOM3"]
    CUSTOM4 = _CUSTOM["CUSTOM4"]
    CUSTOM5 = _CUSTOM["CUSTOM5"]


class JobStatus(_QdmiEnum):
    """Job statuses (``QDMI_JOB_STATUS_*``)."""

    CREATED = 0
    SUBMITTED = 1
    QUEUED = 2
    RUNNING = 3
    DONE = 4
    CANCELED = 5
    FAILED = 6

    @property
    def finished(self) -> bool:
        """True for DONE, CANCELED and FAILED."""
        return self in (JobStatus.DONE, JobStatus.CANCELED, JobStatus.FAILED)


class ProgramFormat(_QdmiEnum):
    """Program formats (``QDMI_PROGRAM_FORMAT_*``)."""

    QASM2 = 0
    QASM3 = 1
    QIRBASESTRING = 2
    QIRBASEMODULE = 3
    QIRADAPTIVESTRING = 4
    QIRADAPTIVEMODULE = 5
    CALIBRATION = 6
    QPY = 7
    IQMJSON = 8
    CUSTOM1 = _CUSTOM["CUSTOM1"]
    CUSTOM2 = _CUSTOM["CUSTOM2"]
    CUSTOM3 = _CUSTOM["CUSTOM3"]
    CUSTOM4 = _CUSTOM["CUSTOM4"]
    CUSTOM5 = _CUSTOM["CUSTOM5"]


class JobParameter(_QdmiEnum):
    """Job parameters (``QDMI_JOB_PARAMETER_*`` of QDMI 1.x); ``SEED``, ``ROUTE`` and ``OPTIMIZATIONLEVEL`` are
    qlab's names for ``CUSTOM1``, ``CUSTOM2`` and ``CUSTOM3``."""

    PROGRAMFORMAT = 0
    PROGRAM = 1
    SHOTSNUM = 2
    CUSTOM1 = _CUSTOM["CUSTOM1"]
    SEED = _CUSTOM["CUSTOM1"]
    CUSTOM2 = _CUSTOM["CUSTOM2"]
    ROUTE = _CUSTOM["CUSTOM2"]
    CUSTOM3 = _CUSTOM["CUSTOM3"]
    OPTIMIZATIONLEVEL = _CUSTOM["CUSTOM3"]
    CUSTOM4 = _CUSTOM["CUSTOM4"]
    CUSTOM5 = _CUSTOM["CUSTOM5"]


class JobProperty(_QdmiEnum):
    """Job properties (``QDMI_JOB_PROPERTY_*``)."""

    ID = 0
    PROGRAMFORMAT = 1
    PROGRAM = 2
    SHOTSNUM = 3
    QUEUEPOSITION = 4
    CUSTOM1 = _CUSTOM["CUSTOM1"]
    CUSTOM2 = _CUSTOM["CUSTOM2"]
    CUSTOM3 = _CUSTOM["CUSTOM3"]
    CUSTOM4 = _CUSTOM["CUSTOM4"]
    CUSTOM5 = _CUSTOM["CUSTOM5"]


class JobResult(_QdmiEnum):
    """Job results (``QDMI_JOB_RESULT_*``); ``DENSITY_MATRIX`` is qlab's name for ``CUSTOM1``."""

    SHOTS = 0
    HIST_KEYS = 1
    HIST_VALUES = 2
    STATEVECTOR_DENSE = 3
    PROBABILITIES_DENSE = 4
    STATEVECTOR_SPARSE_KEYS = 5
    STATEVECTOR_SPARSE_VALUES = 6
    PROBABILITIES_SPARSE_KEYS = 7
    PROBABILITIES_SPARSE_VALUES = 8
    CUSTOM1 = _CUSTOM["CUSTOM1"]
    DENSITY_MATRIX = _CUSTOM["CUSTOM1"]
    CUSTOM2 = _CUSTOM["CUSTOM2"]
    CUSTOM3 = _CUSTOM["CUSTOM3"]
    CUSTOM4 = _CUSTOM["CUSTOM4"]
    CUSTOM5 = _CUSTOM["CUSTOM5"]
