"""Job parameters and results to and from what the store writes, without pickle.

Parameters are JSON. Results are JSON with every NumPy array (and NumPy
scalar or Python complex) cut out into one binary blob in the ``.npy``
format, written and read with ``allow_pickle=False``; the JSON keeps a
``{"$ndarray": [offset, nbytes, is_scalar]}`` marker in its place, so arrays
of any dtype and shape come back exactly. Tuples come back as lists and
Python complex numbers as ``numpy.complex128``. Values are checked before
anything is written, and an error names the offending key.

>>> import numpy as np
>>> text, blob = encode_results({"counts": {"00": 51, "11": 49}, "state": np.eye(2, dtype=complex)})
>>> decoded = decode_results(text, blob)
>>> decoded["counts"], decoded["state"].dtype, decoded["state"].shape
({'00': 51, '11': 49}, dtype('complex128'), (2, 2))
"""

from __future__ import annotations

import io
import json

import numpy as np

from qlab.exceptions import QlabTypeError

__all__ = ["decode_parameters", "decode_results", "encode_parameters", "encode_results"]

_MARK = "$ndarray"
_ALLOWED_JSON = "dict with str keys, list, tuple, str, int, float, bool, None"
_ALLOWED_RESULTS = _ALLOWED_JSON + ", NumPy arrays and scalars, complex"


class _Unstorable(Exception):
    """A value deep inside a structure cannot be stored; ``path`` grows on the way out."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
        self.path: list[object] = []


def _type_name(value: object) -> str:
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


class _Encoder:
    """Walks a structure once, checking it and cutting out NumPy values into ``chunks``."""

    def __init__(self, arrays: bool):
        self.arrays = arrays
        self.chunks: list[bytes] = []
        self.size = 0

    def convert(self, value: object) -> object:
        kind = type(value)
        if kind is str or kind is int or kind is float or kind is bool or value is None:
            return value
        if kind is dict:
            out = {}
            for key, item in value.items():  # type: ignore[attr-defined]
                if type(key) is not str:
                    raise _Unstorable(f"has the key {key!r} of type {type(key).__name__}; keys must be str")
                if key == _MARK:
                    raise _Unstorable(f"uses the key {_MARK!r}, which qlab.jobs reserves")
                try:
                    out[key] = self.convert(item)
                except _Unstorable as err:
                    err.path.append(key)
                    raise
            return out
        if kind is list or kind is tuple:
            items = []
            for index, item in enumerate(value):  # type: ignore[arg-type]
                try:
                    items.append(self.convert(item))
                except _Unstorable as err:
                    err.path.append(index)
                    raise
            return items
        if isinstance(value, (np.ndarray, np.generic, complex)):
            return self._numpy(value)
        if isinstance(value, dict):
            return self.convert(dict(value))
        for plain in (bool, int, float, str):
            if isinstance(value, plain):
                return plain(value)
        raise _Unstorable(f"has type {_type_name(value)}, which cannot be stored")

    def _numpy(self, value: np.ndarray | np.generic | complex) -> object:
        if not self.arrays:
            if isinstance(value, np.generic) and not isinstance(value, np.complexfloating):
                return self.convert(value.item())
            raise _Unstorable(f"has type {_type_name(value)}, which is not JSON-able (use .tolist() or plain numbers)")
        array = np.asarray(value)
        buffer = io.BytesIO()
        try:
            np.lib.format.write_array(buffer, array, allow_pickle=False)
        except ValueError as err:
            raise _Unstorable(f"is a NumPy array of dtype {array.dtype}, which needs pickle to be stored") from err
        data = buffer.getvalue()
        marker = {_MARK: [self.size, len(data), not isinstance(value, np.ndarray)]}
        self.chunks.append(data)
        self.size += len(data)
        return marker


def _encode(value: object, what: str, arrays: bool) -> tuple[str, bytes | None]:
    if not isinstance(value, dict):
        raise QlabTypeError(f"Cannot store {what}: expected a dict, got {type(value).__name__} {value!r}.")
    encoder = _Encoder(arrays)
    try:
        tree = encoder.convert(value)
    except _Unstorable as err:
        where = what.split()[0] + "".join(f"[{key!r}]" for key in reversed(err.path))
        allowed = _ALLOWED_RESULTS if arrays else _ALLOWED_JSON
        raise QlabTypeError(f"Cannot store {what}: {where} {err.reason} (allowed: {allowed}).") from None
    return json.dumps(tree, separators=(",", ":")), (b"".join(encoder.chunks) if encoder.chunks else None)


def encode_parameters(parameters: dict, job_id: str = "") -> str:
    """Job parameters as JSON text.

    NumPy integer, float and bool scalars become plain numbers; anything
    else that is not JSON-able raises.

    Raises:
        QlabTypeError: a value is not JSON-able; the message names its key.

    >>> encode_parameters({"shots": 100, "seed": None})
    '{"shots":100,"seed":null}'
    >>> encode_parameters({"basis": {"x", "z"}}, "abc")
    Traceback (most recent call last):
    ...
    qlab.exceptions.QlabTypeError: Cannot store parameters of job 'abc': parameters['basis'] has type set, which cannot be stored (allowed: dict with str keys, list, tuple, str, int, float, bool, None).
    """
    text, _ = _encode(parameters, f"parameters of job {job_id!r}", arrays=False)
    return text


def decode_parameters(text: str) -> dict:
    """The parameters that :func:`encode_parameters` wrote."""
    return json.loads(text)


def encode_results(results: dict, job_id: str = "") -> tuple[str, bytes | None]:
    """Job results as JSON text and a blob of ``.npy`` arrays (``None`` when there are none).

    Raises:
        QlabTypeError: a value cannot be stored; the message names its key.
    """
    return _encode(results, f"results of job {job_id!r}", arrays=True)


def decode_results(text: str, blob: bytes | None) -> dict:
    """The results that :func:`encode_results` wrote, with arrays restored."""
    if blob is None:
        return json.loads(text)
    view = memoryview(blob)

    def restore(obj: dict) -> object:
        marker = obj.get(_MARK)
        if marker is None:
            return obj
        offset, nbytes, scalar = marker
        array = np.lib.format.read_array(io.BytesIO(view[offset : offset + nbytes]), allow_pickle=False)
        return array[()] if scalar else array

    return json.loads(text, object_hook=restore)
