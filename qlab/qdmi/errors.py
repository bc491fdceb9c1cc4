"""One exception per QDMI error status, each carrying its code.

Each class derives from :class:`QdmiError` (a :class:`qlab.exceptions.QlabError`)
and from the built-in exception with the same meaning:

===================  =================================  ==========================
class                code                               built-in
===================  =================================  ==========================
``InvalidArgument``  ``Status.ERROR_INVALIDARGUMENT``   ``ValueError``
``NotSupported``     ``Status.ERROR_NOTSUPPORTED``      ``NotImplementedError``
``BadState``         ``Status.ERROR_BADSTATE``          ``RuntimeError``
``PermissionDenied`` ``Status.ERROR_PERMISSIONDENIED``  ``PermissionError``
``NotFound``         ``Status.ERROR_NOTFOUND``          ``LookupError``
``OutOfRange``       ``Status.ERROR_OUTOFRANGE``        ``IndexError``
``Timeout``          ``Status.ERROR_TIMEOUT``           ``TimeoutError``
``Fatal``            ``Status.ERROR_FATAL``             ``RuntimeError``
``OutOfMem``         ``Status.ERROR_OUTOFMEM``          ``MemoryError``
===================  =================================  ==========================

Every failure of the job store (a read-only directory, a full disk, a damaged
file, a closed store) reaches QDMI callers as :class:`Fatal`, with the cause
in the message and chained (see :func:`store_errors`).

>>> err = NotSupported("no QIR here")
>>> err.code, isinstance(err, NotImplementedError)
(<Status.ERROR_NOTSUPPORTED: -9>, True)
>>> error_for(-7) is InvalidArgument
True
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..exceptions import JobStoreError, QlabError, QlabTimeoutError
from .enums import Status

__all__ = [
    "QdmiError", "InvalidArgument", "NotSupported", "BadState", "PermissionDenied", "NotFound", "OutOfRange",
    "Timeout", "Fatal", "OutOfMem", "error_for", "store_errors",
]


class QdmiError(QlabError):
    """A QDMI operation failed; :attr:`code` is its QDMI status."""

    code: Status = Status.ERROR_FATAL
    """The QDMI status this error stands for."""


class InvalidArgument(QdmiError, ValueError):
    """An argument is invalid (``QDMI_ERROR_INVALIDARGUMENT``)."""

    code = Status.ERROR_INVALIDARGUMENT


class NotSupported(QdmiError, NotImplementedError):
    """Valid, but the device or driver does not support it (``QDMI_ERROR_NOTSUPPORTED``)."""

    code = Status.ERROR_NOTSUPPORTED


class BadState(QdmiError, RuntimeError):
    """The object is in the wrong state for the operation (``QDMI_ERROR_BADSTATE``)."""

    code = Status.ERROR_BADSTATE


class PermissionDenied(QdmiError, PermissionError):
    """The session may not do this (``QDMI_ERROR_PERMISSIONDENIED``)."""

    code = Status.ERROR_PERMISSIONDENIED


class NotFound(QdmiError, LookupError):
    """No such device, job or element (``QDMI_ERROR_NOTFOUND``)."""

    code = Status.ERROR_NOTFOUND


class OutOfRange(QdmiError, IndexError):
    """An index is out of range (``QDMI_ERROR_OUTOFRANGE``)."""

    code = Status.ERROR_OUTOFRANGE


class Timeout(QdmiError, QlabTimeoutError):
    """A wait ran out of time (``QDMI_ERROR_TIMEOUT``)."""

    code = Status.ERROR_TIMEOUT


class Fatal(QdmiError, RuntimeError):
    """An unexpected failure (``QDMI_ERROR_FATAL``)."""

    code = Status.ERROR_FATAL


class OutOfMem(QdmiError, MemoryError):
    """Memory ran out (``QDMI_ERROR_OUTOFMEM``); a ``MemoryError`` inside qlab becomes this."""

    code = Status.ERROR_OUTOFMEM


_BY_CODE = {
    cls.code: cls
    for cls in (InvalidArgument, NotSupported, BadState, PermissionDenied, NotFound, OutOfRange, Timeout, Fatal, OutOfMem)
}


@contextmanager
def store_errors(action: str) -> Iterator[None]:
    """Turn a failure of the job store into :class:`Fatal`, naming ``action`` and the cause.

    >>> with store_errors("Cannot read job 'a'"):
    ...     raise JobStoreError("JobStore('x') is closed; open a new JobStore.")
    Traceback (most recent call last):
    ...
    qlab.qdmi.errors.Fatal: Cannot read job 'a': the job store failed: JobStore('x') is closed; open a new JobStore.
    """
    try:
        yield
    except JobStoreError as err:
        raise Fatal(f"{action}: the job store failed: {err}") from err


def error_for(status: Status | int | str) -> type[QdmiError]:
    """The exception class of an error status.

    Raises:
        InvalidArgument: for a status that is not an error with a class here.
    """
    status = Status(status)
    if status not in _BY_CODE:
        raise InvalidArgument(f"{status!r} has no exception class; the error statuses with one are {sorted(s.name for s in _BY_CODE)}.")
    return _BY_CODE[status]
