"""The bytes between plugin processes: length-prefixed msgpack frames of plain values.

A frame is a 4-byte little-endian length and a msgpack document. Only
numbers, strings, bytes, lists and maps cross: gates, commands and
measurements are turned into lists here and built again on the other side
(matrices as complex128 bytes). No pickle, no code.

>>> from qlab.chain import protocol as P
>>> from qlab.chain.data import Gate
>>> batch = [(P.GATE, Gate.library("h", 1)), (P.SYNC, 1025)]
>>> decode_batch(encode_batch(batch)[4:]) == batch
True
"""

from __future__ import annotations

import struct

import msgpack
import numpy as np

from . import protocol as P
from .data import ArbCmd, ArbData, Gate, GateKind, Measurement

__all__ = ["encode_batch", "decode_batch", "encode_control", "decode_control", "frame", "pack", "unpack", "FrameReader"]

HEADER = struct.Struct("<I")
MAX_FRAME = 1 << 30
_KINDS = list(GateKind)
_KIND_CODE = {k: i for i, k in enumerate(_KINDS)}


def frame(payload: bytes) -> bytes:
    return HEADER.pack(len(payload)) + payload


def _data(d: ArbData) -> list:
    return [d.json, d.args]


def _undata(v) -> ArbData:
    return ArbData._trusted(v[0], v[1])


def _cmd(c: ArbCmd) -> list:
    return [c.interface_id, c.operation_id, c.data.json, c.data.args]


def _uncmd(v) -> ArbCmd:
    c = ArbCmd.__new__(ArbCmd)
    c.interface_id, c.operation_id, c.data = v[0], v[1], ArbData._trusted(v[2], v[3])
    return c


def _matrix(m) -> bytes | None:
    return None if m is None else m.tobytes()


_MATRIX_CACHE: dict[bytes, np.ndarray] = {}


def _unmatrix(b: bytes | None) -> np.ndarray | None:
    if b is None:
        return None
    m = _MATRIX_CACHE.get(b)
    if m is None:
        d = int(round((len(b) // 16) ** 0.5))
        m = np.frombuffer(b, dtype=complex).reshape(d, d)
        if len(_MATRIX_CACHE) < 4096:
            _MATRIX_CACHE[b] = m
    return m


GATE_EXT = 1
"""The msgpack extension code of a gate: its fields, packed once per Gate object."""

_GATE_CACHE: dict[bytes, Gate] = {}
_GATE_CACHE_SIZE = 4096


def _gate_bytes(g: Gate) -> bytes:
    wire = g._wire
    if wire is None:
        d = g.data
        wire = g._wire = msgpack.packb(
            [_KIND_CODE[g.kind], g.targets, g.controls, g.measures, _matrix(g.matrix), g.name, g.params, d.json, d.args],
            use_bin_type=True,
        )
    return wire


def _ungate(wire: bytes) -> Gate:
    g = _GATE_CACHE.get(wire)
    if g is None:
        v = msgpack.unpackb(wire, raw=False, strict_map_key=False)
        g = Gate._make(_KINDS[v[0]], tuple(v[1]), tuple(v[2]), tuple(v[3]), _unmatrix(v[4]), v[5], tuple(v[6]),
                       ArbData._trusted(v[7], v[8]) if (v[7] or v[8]) else _EMPTY)
        g._wire = wire
        if len(_GATE_CACHE) < _GATE_CACHE_SIZE:
            _GATE_CACHE[wire] = g
    return g


def _default(obj):
    if isinstance(obj, Gate):
        return msgpack.ExtType(GATE_EXT, _gate_bytes(obj))
    raise TypeError(f"cannot send {type(obj).__name__} between plugin processes")


def _ext_hook(code: int, data: bytes):
    if code == GATE_EXT:
        return _ungate(data)
    return msgpack.ExtType(code, data)


_EMPTY = ArbData()


def _meas(m: Measurement) -> list:
    return [m.qubit, m.value, m.data.json, m.data.args]


def _unmeas(v) -> Measurement:
    return Measurement._trusted(v[0], v[1], ArbData._trusted(v[2], v[3]) if (v[2] or v[3]) else _EMPTY)


def _answer(ok: bool, payload) -> list:
    return [ok, _data(payload) if ok else list(payload)]


def _unanswer(ok: bool, v):
    return _undata(v) if ok else tuple(v)


def encode_message(m: tuple) -> list:
    """One message tuple as msgpack-able values."""
    op = m[0]
    if op == P.GATE:
        return m  # the gate itself packs as an extension (see _default)
    if op == P.MEASURED:
        return [op, [_meas(x) for x in m[1]]]
    if op in (P.SYNC, P.SYNCED, P.ADVANCE, P.FREE):
        return [op, list(m[1]) if op == P.FREE else m[1]]
    if op == P.ALLOCATE:
        return [op, list(m[1]), [_cmd(c) for c in m[2]]]
    if op == P.ARB:
        return [op, m[1], _cmd(m[2])]
    if op == P.HOST_ARB:
        return [op, m[1], m[2], _cmd(m[3])]
    if op in (P.ARB_DONE, P.HOST_ARB_DONE):
        return [op, m[1], *_answer(m[2], m[3])]
    if op == P.H_RUN:
        return [op, None if m[1] is None else _data(m[1]), [_data(d) for d in m[2]]]
    if op == P.H_ARB:
        return [op, m[1], _cmd(m[2])]
    if op == P.P_RUN:
        return [op, m[1], None if m[2] is None else _data(m[2]), [_data(d) for d in m[3]]]
    if op == P.P_ARB:
        return [op, *_answer(m[1], m[2])]
    if op == P.P_STATS:
        return [op, m[1], m[2].as_list()]
    return list(m)  # DROP, DROPPED, H_STOP, P_STOPPED, P_LOG, P_ERROR: plain values


def decode_message(v: list) -> tuple:
    """The inverse of :func:`encode_message`."""
    op = v[0]
    if op == P.GATE:
        return (op, v[1])
    if op == P.MEASURED:
        return (op, [_unmeas(x) for x in v[1]])
    if op == P.FREE:
        return (op, tuple(v[1]))
    if op == P.ALLOCATE:
        return (op, tuple(v[1]), [_uncmd(c) for c in v[2]])
    if op == P.ARB:
        return (op, v[1], _uncmd(v[2]))
    if op == P.HOST_ARB:
        return (op, v[1], v[2], _uncmd(v[3]))
    if op in (P.ARB_DONE, P.HOST_ARB_DONE):
        return (op, v[1], v[2], _unanswer(v[2], v[3]))
    if op == P.H_RUN:
        return (op, None if v[1] is None else _undata(v[1]), [_undata(d) for d in v[2]])
    if op == P.H_ARB:
        return (op, v[1], _uncmd(v[2]))
    if op == P.P_RUN:
        return (op, v[1], None if v[2] is None else _undata(v[2]), [_undata(d) for d in v[3]])
    if op == P.P_ARB:
        return (op, v[1], _unanswer(v[1], v[2]))
    return tuple(v)


def pack(value) -> bytes:
    """msgpack with gates as extensions."""
    return msgpack.packb(value, use_bin_type=True, default=_default)


def unpack(payload: bytes):
    """The inverse of :func:`pack`."""
    return msgpack.unpackb(payload, raw=False, strict_map_key=False, ext_hook=_ext_hook)


def encode_batch(batch: list) -> bytes:
    """A framed batch of messages."""
    gate = P.GATE
    return frame(pack([m if m[0] == gate else encode_message(m) for m in batch]))


def decode_batch(payload: bytes) -> list:
    """The messages of one frame's payload."""
    gate = P.GATE
    return [(gate, v[1]) if v[0] == gate else decode_message(v) for v in unpack(payload)]


class FrameReader:
    """Splits a byte stream into frame payloads."""

    __slots__ = ("buffer",)

    def __init__(self):
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        buf = self.buffer
        buf += data
        out = []
        start = 0
        while len(buf) - start >= 4:
            (n,) = HEADER.unpack_from(buf, start)
            if n > MAX_FRAME:
                raise ValueError(f"frame of {n} bytes is larger than the limit of {MAX_FRAME}")
            if len(buf) - start - 4 < n:
                break
            out.append(bytes(buf[start + 4:start + 4 + n]))
            start += 4 + n
        if start:
            del buf[:start]
        return out


def encode_control(message: tuple) -> bytes:
    """A framed message between the host and a plugin."""
    return frame(pack(encode_message(message)))


def decode_control(payload: bytes) -> tuple:
    """The inverse of :func:`encode_control` (given the frame's payload)."""
    return decode_message(unpack(payload))
