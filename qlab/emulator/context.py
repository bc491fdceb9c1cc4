"""The program context: what a hybrid program calls, checked before it reaches the runtime.

A program is a Python function ``program(ctx)``. ``ctx.qalloc()`` hands out
qubits, gates act on them, ``ctx.measure(q)`` returns a :class:`Future` whose
value is computed only when the program reads it (``bool(future)``), and
``ctx.result(tag, value)`` records an output of the shot.

Misuse is an error, with the shot named: a freed or never-allocated qubit, a
qubit given twice to one gate, measuring a qubit again while its last measurement
is unread and unrecorded and nothing has acted on it since, reading a measurement whose qubit was freed before
the result was read or recorded, running out of qubits.

Convenience gates become natives: ``x = rxy(pi, 0)``, ``y = rxy(pi, pi/2)``,
``z = rz(pi)``, ``h = rxy(pi/2, -pi/2); rz(pi)``, ``s, sdg, t, tdg = rz(±pi/2), rz(±pi/4)``,
``rx(a) = rxy(a, 0)``, ``ry(a) = rxy(a, pi/2)``,
``cz(a, b) = rzz(-pi/2); rz(a, pi/2); rz(b, pi/2)``, and
``cx(c, t) = ry(t, -pi/2); cz(c, t); ry(t, pi/2)``, all up to a global phase.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..exceptions import ProgramError

__all__ = ["ProgramContext", "Qubit", "Future"]

_PI = math.pi


class Qubit:
    """A qubit handed out by :meth:`ProgramContext.qalloc` (valid until it is freed)."""

    __slots__ = ("id", "generation")

    def __init__(self, id: int, generation: int):
        self.id = id
        self.generation = generation

    def __repr__(self) -> str:
        return f"Qubit({self.id})"


class Future:
    """A measurement result that is computed when first read (``bool(f)``, ``int(f)``, ``f.value``)."""

    __slots__ = ("_ctx", "result_id", "qubit", "kind", "_value", "claimed", "orphaned")

    def __init__(self, ctx: ProgramContext, result_id: int, qubit: Qubit, kind: str):
        self._ctx = ctx
        self.result_id = result_id
        self.qubit = qubit
        self.kind = kind
        self._value: Any = None
        self.claimed = False
        self.orphaned = False

    @property
    def ready(self) -> bool:
        """Whether the value is known without forcing anything."""
        return self._value is not None

    @property
    def value(self) -> bool | int:
        """The result (a bool, or an int from ``measure_leaked``); forces it if needed."""
        if self._value is None:
            self._value = self._ctx._read(self)
        return self._value

    def __bool__(self) -> bool:
        return bool(self.value)

    def __int__(self) -> int:
        return int(self.value)

    __index__ = __int__

    def __repr__(self) -> str:
        state = "pending" if self._value is None else repr(self._value)
        return f"Future(<{self.kind} of {self.qubit!r}: {state}>)"


class _Stop(Exception):
    """Ends the shot early: ``exit`` or ``panic`` (code >= 1000)."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.message = message
        self.code = code


class ProgramContext:
    """The calls a program makes, for one shot.

    >>> from qlab.emulator import Emulator
    >>> def bell(ctx):
    ...     a, b = ctx.qalloc(), ctx.qalloc()
    ...     ctx.h(a); ctx.cx(a, b)
    ...     ctx.result("pair", [ctx.measure(a), ctx.measure(b)])
    >>> sorted(Emulator(2).run(bell, shots=50, seed=1).counts("pair"))
    ['00', '11']
    """

    def __init__(self, pipeline, shot: int):
        self._pipeline = pipeline
        self._runtime = pipeline.runtime
        self._shot = shot
        self._live: dict[int, Qubit] = {}
        self._generation = 0
        self._measured: set[int] = set()
        self._futures: dict[int, list[Future]] = {}
        self.results: list[tuple[str, Any]] = []
        self.metrics: dict[str, int] = {}
        self.read_before_end = False

    @property
    def shot(self) -> int:
        """The index of this shot (a program that looks at it is run shot by shot)."""
        self.read_before_end = True
        return self._shot

    # ------------------------------------------------------------- checks
    def _where(self) -> str:
        return f"in shot {self._shot}"

    def _qubit(self, q, action: str) -> int:
        if not isinstance(q, Qubit):
            raise ProgramError(
                f"Cannot {action} {self._where()}: expected a qubit from ctx.qalloc(), got {q!r} ({type(q).__name__}).",
                self._shot,
            )
        if self._live.get(q.id) is not q:
            raise ProgramError(
                f"Cannot {action} on {q!r} {self._where()}: the qubit was freed (or never allocated in this shot); "
                "allocate a new one with ctx.qalloc().",
                self._shot,
            )
        return q.id

    def _angle(self, value, name: str, action: str) -> float:
        if type(value) is float and math.isfinite(value):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
            raise ProgramError(f"Cannot {action} {self._where()}: {name} must be a finite number, got {value!r}.", self._shot)
        return float(value)

    def _call(self) -> None:
        self._pipeline.after_call(self)

    def _count(self, name: str) -> None:
        self.metrics[name] = self.metrics.get(name, 0) + 1

    def _touch(self, *ids: int) -> None:
        self._measured.difference_update(ids)

    # ------------------------------------------------------------- qubits
    def qalloc(self) -> Qubit:
        """A fresh qubit in ``|0>``."""
        from .runtimes import NO_QUBIT

        qid = self._runtime.qalloc()
        if qid == NO_QUBIT:
            raise ProgramError(
                f"qalloc {self._where()}: no qubit is free; all {self._pipeline.n_qubits} are allocated "
                f"(the emulator's n_qubits limit). Free qubits with ctx.qfree(q) or build the Emulator with more.",
                self._shot,
            )
        self._generation += 1
        qubit = self._live[qid] = Qubit(qid, self._generation)
        self._touch(qid)
        self._count("qalloc_count")
        self.metrics["max_allocated"] = max(self.metrics.get("max_allocated", 0), len(self._live))
        self._call()
        return qubit

    def qfree(self, q: Qubit) -> None:
        """Give a qubit back; reading an unread, unrecorded measurement of it afterwards is an error."""
        qid = self._qubit(q, "free a qubit")
        for future in self._futures.pop(qid, ()):
            if not future.ready and not future.claimed:
                future.orphaned = True
        self._runtime.qfree(qid)
        del self._live[qid]
        self._measured.discard(qid)
        self._count("qfree_count")
        self._call()

    # -------------------------------------------------------------- gates
    def rxy(self, q: Qubit, theta: float, phi: float) -> None:
        """``exp(-i theta/2 (cos(phi) X + sin(phi) Y))``."""
        qid = self._qubit(q, "apply rxy")
        self._runtime.rxy(qid, self._angle(theta, "theta", "apply rxy"), self._angle(phi, "phi", "apply rxy"))
        self._touch(qid)
        self._count("rxy_count")
        self._call()

    def rz(self, q: Qubit, theta: float) -> None:
        """``exp(-i theta/2 Z)``."""
        qid = self._qubit(q, "apply rz")
        self._runtime.rz(qid, self._angle(theta, "theta", "apply rz"))
        self._touch(qid)
        self._count("rz_count")
        self._call()

    def rzz(self, q1: Qubit, q2: Qubit, theta: float) -> None:
        """``exp(-i theta/2 Z⊗Z)``."""
        a, b = self._qubit(q1, "apply rzz"), self._qubit(q2, "apply rzz")
        if a == b:
            raise ProgramError(f"Cannot apply rzz {self._where()}: both qubits are {q1!r}; give two different qubits.", self._shot)
        self._runtime.rzz(a, b, self._angle(theta, "theta", "apply rzz"))
        self._touch(a, b)
        self._count("rzz_count")
        self._call()

    def x(self, q: Qubit) -> None:
        self.rxy(q, _PI, 0.0)

    def y(self, q: Qubit) -> None:
        self.rxy(q, _PI, _PI / 2)

    def z(self, q: Qubit) -> None:
        self.rz(q, _PI)

    def h(self, q: Qubit) -> None:
        self.rxy(q, _PI / 2, -_PI / 2)
        self.rz(q, _PI)

    def s(self, q: Qubit) -> None:
        self.rz(q, _PI / 2)

    def sdg(self, q: Qubit) -> None:
        self.rz(q, -_PI / 2)

    def t(self, q: Qubit) -> None:
        self.rz(q, _PI / 4)

    def tdg(self, q: Qubit) -> None:
        self.rz(q, -_PI / 4)

    def rx(self, q: Qubit, theta: float) -> None:
        self.rxy(q, theta, 0.0)

    def ry(self, q: Qubit, theta: float) -> None:
        self.rxy(q, theta, _PI / 2)

    def cz(self, a: Qubit, b: Qubit) -> None:
        self.rzz(a, b, -_PI / 2)
        self.rz(a, _PI / 2)
        self.rz(b, _PI / 2)

    def cx(self, control: Qubit, target: Qubit) -> None:
        self.ry(target, -_PI / 2)
        self.cz(control, target)
        self.ry(target, _PI / 2)

    cnot = cx

    # -------------------------------------------------------- measurement
    def _measure(self, q: Qubit, kind: str) -> Future:
        qid = self._qubit(q, kind)
        previous = self._futures.get(qid, [None])[-1]
        if qid in self._measured and not (previous.ready or previous.claimed):
            raise ProgramError(
                f"Cannot {kind} {q!r} {self._where()}: it was just measured, that result was neither read nor "
                "recorded, and nothing has acted on the qubit since; use the first result (or reset the qubit) "
                "instead of measuring again.",
                self._shot,
            )
        rid = self._runtime.measure(qid) if kind == "measure" else self._runtime.measure_leaked(qid)
        future = Future(self, rid, q, kind)
        self._futures.setdefault(qid, []).append(future)
        self._measured.add(qid)
        self._count(f"{kind}_request_count")
        self._call()
        return future

    def measure(self, q: Qubit) -> Future:
        """Measure in Z; the :class:`Future` gives a bool when read."""
        return self._measure(q, "measure")

    def measure_leaked(self, q: Qubit) -> Future:
        """Measure, telling leakage apart: the future gives 0, 1, or 2 for a leaked qubit."""
        return self._measure(q, "measure_leaked")

    def reset(self, q: Qubit) -> None:
        """Reset to ``|0>``."""
        qid = self._qubit(q, "reset")
        self._runtime.reset(qid)
        self._touch(qid)
        self._count("reset_count")
        self._call()

    def _read(self, future: Future):
        if future._ctx is not self:
            raise ProgramError(f"Cannot read {future!r} {self._where()}: it belongs to another shot.", self._shot)
        if future.orphaned:
            raise ProgramError(
                f"Cannot read the {future.kind} of {future.qubit!r} {self._where()}: the qubit was freed before the "
                "result was read; read it (bool(future)) or record it (ctx.result) before ctx.qfree.",
                self._shot,
            )
        self._count("measure_read_count")
        self.read_before_end = self.read_before_end or not self._pipeline.ending
        return self._pipeline.force(future)

    # ---------------------------------------------------- time and control
    def local_barrier(self, qubits: Sequence[Qubit], sleep_ns: int = 0) -> None:
        """No operation on ``qubits`` moves across this point; then they wait ``sleep_ns``."""
        ids = [self._qubit(q, "place a local barrier") for q in qubits]
        self._runtime.local_barrier(ids, self._ns(sleep_ns, "local_barrier"))
        self._count("local_barrier_count")
        self._call()

    def global_barrier(self, sleep_ns: int = 0) -> None:
        """No operation moves across this point; then every qubit waits ``sleep_ns``."""
        self._runtime.global_barrier(self._ns(sleep_ns, "global_barrier"))
        self._count("global_barrier_count")
        self._call()

    def delay(self, ns: int) -> None:
        """A classical pause of ``ns`` nanoseconds (qubits idle through it)."""
        self._runtime.simulate_delay(self._ns(ns, "delay"))
        self._count("delay_count")
        self._call()

    def _ns(self, value, action: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ProgramError(f"Cannot {action} {self._where()}: a duration is an int >= 0 nanoseconds, got {value!r}.", self._shot)
        return value

    def custom_call(self, tag: int, data=None) -> int:
        """Hand a custom operation to the runtime; returns the runtime's answer."""
        if isinstance(tag, bool) or not isinstance(tag, int) or not 0 <= tag < 2**64:
            raise ProgramError(f"Cannot make a custom call {self._where()}: tag must be an unsigned 64-bit int, got {tag!r}.", self._shot)
        answer = self._runtime.custom_call(tag, data)
        self._count("custom_call_count")
        self._call()
        return answer

    def result(self, tag: str, value) -> None:
        """Record an output: a bool, int, float, a measurement future, or a list of these."""
        if not isinstance(tag, str) or not tag:
            raise ProgramError(f"Cannot record a result {self._where()}: the tag must be a non-empty str, got {tag!r}.", self._shot)
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if isinstance(item, Future):
                if item.orphaned:
                    self._read(item)
                item.claimed = True
            elif not isinstance(item, (bool, int, float, np.bool_, np.integer, np.floating)):
                raise ProgramError(
                    f"Cannot record {tag!r} {self._where()}: values must be bools, ints, floats or measurement "
                    f"futures (or lists of them), got {item!r}.",
                    self._shot,
                )
        self.results.append((tag, list(value) if isinstance(value, (list, tuple)) else value))

    def exit(self, message: str = "", code: int = 0) -> None:
        """End this shot now, keeping what it recorded; codes >= 1000 act as :meth:`panic`."""
        if isinstance(code, bool) or not isinstance(code, int) or code < 0:
            raise ProgramError(f"exit {self._where()}: code must be an int >= 0, got {code!r}.", self._shot)
        raise _Stop(str(message), code)

    def panic(self, message: str = "panic") -> None:
        """Stop this shot and every remaining one."""
        raise _Stop(str(message), 1001)
