"""The QPU wire format: HTTP/1.1 with JSON bodies (never pickle).

Every call is ``POST /v1/<endpoint>`` with ``Content-Type: application/json``
and, when the server has a token, ``Authorization: Bearer <token>``.

===============  ==========================================================  ==========================================
endpoint         request body                                                response body (200)
===============  ==========================================================  ==========================================
``submit``       ``{"schema", "batch": Batch.to_dict(), "limits": {...}|null}``  ``{"schema", "batch_result": BatchResult.to_dict()}``
``specs``        ``{"schema"}``                                              ``{"schema", "specs": HardwareSpecs.to_dict()}``
``estimate``     ``{"schema", "batch": Batch.to_dict()}``                    ``{"schema", "resources": ResourceModel.to_dict()}``
===============  ==========================================================  ==========================================

``"schema"`` is ``"qlab.qpu/1"``. ``limits`` is an
:meth:`~qlab.qpu.AllocationModel.to_dict`; the server applies the tighter
of it and its own limits. A failed call answers 4xx/5xx with
``{"schema", "error": {"type": "ResourceLimitError", "message": "..."}}``;
the client raises the qlab exception of that name with that message
(:func:`error_from_wire`); a name qlab does not know becomes a
:class:`~qlab.exceptions.RemoteQPUError`.

===============  ===========================================================
status           meaning
===============  ===========================================================
400              malformed or truncated body, invalid job (a ``QPUDataError``), other qlab errors
401              missing or wrong bearer token (``AuthenticationError``)
404              unknown endpoint
409              refused by resource limits (``ResourceLimitError``)
411 / 413        no ``Content-Length`` / body larger than the server's limit
500              an unexpected server failure (``RemoteQPUError``)
===============  ===========================================================

>>> error_from_wire({"type": "ResourceLimitError", "message": "too big"})
ResourceLimitError('too big')
>>> error_from_wire({"type": "os.system", "message": "x"})
RemoteQPUError('The server raised os.system: x')
"""

from __future__ import annotations

import json

from .. import exceptions
from ..exceptions import AuthenticationError, QlabError, RemoteQPUError, ResourceLimitError, WireFormatError
from ..qdmi import errors as qdmi_errors
from .schema import SCHEMA

__all__ = ["ENDPOINTS", "encode", "error_body", "error_from_wire", "status_of"]

ENDPOINTS = ("submit", "specs", "estimate")
"""The calls a QPU server answers (``POST /v1/<name>``)."""

_KNOWN: dict[str, type[QlabError]] = {
    name: cls
    for module in (exceptions, qdmi_errors)
    for name, cls in vars(module).items()
    if isinstance(cls, type) and issubclass(cls, QlabError)
}


def encode(payload: dict) -> bytes:
    """A response or request body: ``payload`` with the schema tag, as compact JSON."""
    return json.dumps({"schema": SCHEMA, **payload}, allow_nan=False, separators=(",", ":")).encode()


def status_of(err: QlabError) -> int:
    """The HTTP status of a qlab error."""
    if isinstance(err, AuthenticationError):
        return 401
    if isinstance(err, ResourceLimitError):
        return 409
    return 400


def error_body(err: BaseException) -> bytes:
    """The JSON body describing ``err``."""
    known = next((cls for cls in type(err).__mro__ if _KNOWN.get(cls.__name__) is cls), None)
    if known is None:
        return encode({"error": {"type": "RemoteQPUError", "message": f"Server error: {type(err).__name__}: {err}"}})
    return encode({"error": {"type": known.__name__, "message": str(err)}})


def error_from_wire(error: object) -> QlabError:
    """The exception a server's error object stands for (never anything outside qlab's hierarchy)."""
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return WireFormatError(f"The server answered with a malformed error: {error!r:.200}")
    cls = _KNOWN.get(error.get("type"))
    if cls is None:
        return RemoteQPUError(f"The server raised {error.get('type')}: {error['message']}")
    return cls(error["message"])
