"""Runtime plugins: turn a program's calls into timed batches of operations.

A runtime owns the qubit ids, the result slots behind measurement futures and
the clock. The emulator calls ``get_next_operations`` after every program call
and hands each batch to the error model; measurement outcomes come back through
``set_bool_result``/``set_u64_result``.

* :class:`SimpleRuntime` hands on every operation at once, each in its own batch.
* :class:`LazyRuntime` holds operations until a result is forced (or the shot
  ends), then hands them on in layers of parallel operations of one kind, at
  most ``max_batch_size`` per batch.
* :class:`SoftRZRuntime` is lazy and never emits RZ: an RZ is folded into the
  phase of the next Rxy on its qubit (``rz(q, a); rxy(q, t, p)`` becomes
  ``rxy(q, t, p - a)``, the RZ moving past it), carried through RZZ (they
  commute), and dropped before a measurement, reset or free.

>>> rt = SoftRZRuntime(max_batch_size=4)
>>> rt.init(2)
>>> rt.shot_start(0, 1)
>>> a, b = rt.qalloc(), rt.qalloc()
>>> rt.rz(a, 0.3); rt.rxy(a, 0.5, 0.0); m = rt.measure(a)
>>> rt.force_result(m)
>>> [batch.operations for batch in iter(rt.get_next_operations, None)]
[(Reset(qubit=0), Reset(qubit=1)), (RXY(qubit=0, theta=0.5, phi=-0.3),), (Measure(qubit=0, result_id=0),)]
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Sequence

from ..exceptions import PluginError, ProgramError
from .operations import RXY, RZ, RZZ, Batch, Custom, Measure, MeasureLeaked, Reset
from .plugin import Plugin, check_count, register_plugin

__all__ = ["Runtime", "SimpleRuntime", "LazyRuntime", "SoftRZRuntime", "NO_QUBIT", "Durations"]

NO_QUBIT = 2**64 - 1
"""What ``qalloc`` returns when every qubit is in use (``u64::MAX``)."""


@dataclasses.dataclass(frozen=True)
class Durations:
    """How long each operation takes, in nanoseconds (RZ takes no time)."""

    duration_ns_rxy: int = 0
    """Duration of an Rxy gate."""
    duration_ns_rzz: int = 0
    """Duration of an RZZ gate."""
    duration_ns_measure: int = 0
    """Duration of a measurement."""
    duration_ns_reset: int = 0
    """Duration of a reset (also of preparing an allocated qubit)."""
    duration_ns_measure_leaked: int = 0
    """Duration of a leakage-detecting measurement."""

    def __post_init__(self):
        for f in dataclasses.fields(Durations):
            check_count(type(self).__name__, f.name, getattr(self, f.name))

    def of(self, kind: str) -> int:
        """The duration of an operation of ``kind``."""
        return getattr(self, f"duration_ns_{kind}", 0)


@dataclasses.dataclass(frozen=True)
class LazyParams(Durations):
    """Durations plus the largest number of operations in one batch."""

    max_batch_size: int = 1
    """At most this many parallel operations of one kind go into a batch."""

    def __post_init__(self):
        super().__post_init__()
        check_count(type(self).__name__, "max_batch_size", self.max_batch_size, minimum=1)


class _Delay:
    __slots__ = ("ns",)

    def __init__(self, ns: int):
        self.ns = ns


class _Barrier:
    __slots__ = ("qubits",)

    def __init__(self, qubits: tuple[int, ...] | None):
        self.qubits = qubits


class Runtime(Plugin):
    """The runtime interface, with the bookkeeping every shipped runtime shares.

    Subclasses decide when queued operations become batches (:meth:`_queue`
    and :meth:`_release`).
    """

    kind = "runtime"
    Params = Durations

    # ------------------------------------------------------------ life cycle
    def init(self, n_qubits: int, start: int = 0, args: Sequence[str] = ()) -> None:
        """Prepare for ``n_qubits`` qubits; the clock starts at ``start`` ns; ``args`` override parameters."""
        check_count(type(self).__name__, "n_qubits", n_qubits, minimum=1)
        self.params = self._params_with_args(args)
        self.n_qubits = n_qubits
        self.start_ns = start
        kinds = ("rxy", "rz", "rzz", "measure", "measure_leaked", "reset", "custom")
        self._durations = {kind: self.params.of(kind) for kind in kinds}
        self._metric_names = {kind: (f"{kind}_batch_count", f"{kind}_individual_count") for kind in kinds}

    def exit(self) -> None:
        """Release everything (nothing to release here)."""

    def shot_start(self, shot_id: int, seed: int) -> None:
        """Start a shot: every qubit free, no results, the clock at its start."""
        self._free = list(range(self.n_qubits - 1, -1, -1))
        self._results: dict[int, object] = {}
        self._refcounts: dict[int, int] = {}
        self._next_result = 0
        self._ready: deque[Batch] = deque()
        self._items: list = []
        self._now = self.start_ns
        self._metrics: dict[str, int] = {}

    def shot_end(self, shot_id: int, seed: int) -> None:
        """End the shot (queued operations nobody observed are dropped)."""
        self._items.clear()

    # --------------------------------------------------------------- qubits
    def qalloc(self) -> int:
        """A free qubit id (prepared by a reset), or :data:`NO_QUBIT` when none is left."""
        if not self._free:
            return NO_QUBIT
        qubit = self._free.pop()
        self._queue(Reset(qubit))
        return qubit

    def qfree(self, qubit: int) -> None:
        """Give ``qubit`` back."""
        if not 0 <= qubit < self.n_qubits or qubit in self._free:
            raise ProgramError(f"{type(self).__name__}.qfree: qubit {qubit} is not allocated.")
        self._before_free(qubit)
        self._free.append(qubit)
        self._free.sort(reverse=True)

    def _before_free(self, qubit: int) -> None:
        """Hook for runtimes that track per-qubit state."""

    # ---------------------------------------------------------- operations
    def rxy(self, qubit: int, theta: float, phi: float) -> None:
        self._queue(RXY(qubit, theta, phi))

    def rz(self, qubit: int, theta: float) -> None:
        self._queue(RZ(qubit, theta))

    def rzz(self, qubit1: int, qubit2: int, theta: float) -> None:
        self._queue(RZZ(qubit1, qubit2, theta))

    def reset(self, qubit: int) -> None:
        self._queue(Reset(qubit))

    def measure(self, qubit: int) -> int:
        """Queue a measurement; return the id of its (bool) result."""
        rid = self._new_result()
        self._queue(Measure(qubit, rid))
        return rid

    def measure_leaked(self, qubit: int) -> int:
        """Queue a leakage-detecting measurement; return the id of its (u64) result."""
        rid = self._new_result()
        self._queue(MeasureLeaked(qubit, rid))
        return rid

    def local_barrier(self, qubits: Sequence[int], sleep_ns: int = 0) -> None:
        """Nothing on ``qubits`` moves across this point; then they wait ``sleep_ns``."""
        self._items.append(_Barrier(tuple(qubits)))
        if sleep_ns:
            self._items.append(_Delay(sleep_ns))
        self._release(force=False)

    def global_barrier(self, sleep_ns: int = 0) -> None:
        """Nothing moves across this point; then everything waits ``sleep_ns``."""
        self._items.append(_Barrier(None))
        if sleep_ns:
            self._items.append(_Delay(sleep_ns))
        self._release(force=False)

    def simulate_delay(self, delay_ns: int) -> None:
        """A classical pause of ``delay_ns``: later batches start that much later."""
        self._items.append(_Delay(delay_ns))
        self._release(force=False)

    def custom_call(self, tag: int, data=None) -> int:
        """Pass a custom operation on to the error model; return 0."""
        self._queue(Custom(tag, data))
        return 0

    # -------------------------------------------------------------- results
    def _new_result(self) -> int:
        rid = self._next_result
        self._next_result += 1
        self._results[rid] = None
        self._refcounts[rid] = 1
        return rid

    def force_result(self, result_id: int) -> None:
        """Make result ``result_id`` available: release what it depends on."""
        self._known(result_id)
        if self._results[result_id] is None:
            self._release(force=True)

    def flush(self) -> None:
        """Hand on every queued operation now (before a state is read)."""
        self._release(force=True)

    def _known(self, result_id: int) -> None:
        if result_id not in self._results:
            raise PluginError(f"{type(self).__name__}: no result with id {result_id} in this shot.")

    def get_bool_result(self, result_id: int) -> bool | None:
        """The bool result, or ``None`` while it is not known."""
        self._known(result_id)
        value = self._results[result_id]
        return None if value is None else bool(value)

    def get_u64_result(self, result_id: int) -> int | None:
        """The integer result, or ``None`` while it is not known."""
        self._known(result_id)
        value = self._results[result_id]
        return None if value is None else int(value)

    def set_bool_result(self, result_id: int, value: bool) -> None:
        self._known(result_id)
        self._results[result_id] = bool(value)

    def set_u64_result(self, result_id: int, value: int) -> None:
        self._known(result_id)
        self._results[result_id] = int(value)

    def increment_future_refcount(self, result_id: int) -> None:
        self._known(result_id)
        self._refcounts[result_id] += 1

    def decrement_future_refcount(self, result_id: int) -> None:
        """Drop a reference; at zero the result slot is released."""
        self._known(result_id)
        self._refcounts[result_id] -= 1
        if self._refcounts[result_id] <= 0:
            del self._refcounts[result_id], self._results[result_id]

    # -------------------------------------------------------------- batches
    def get_next_operations(self) -> Batch | None:
        """The next batch, or ``None`` when nothing is ready."""
        return self._ready.popleft() if self._ready else None

    def get_metrics(self) -> dict[str, int]:
        """Batch and operation counts per kind and the total duration, for this shot."""
        return {**self._metrics, "total_duration_ns": self._now - self.start_ns}

    def _queue(self, op) -> None:
        self._items.append(op)
        self._release(force=False)

    def _emit(self, operations: Sequence) -> None:
        durations, names, metrics = self._durations, self._metric_names, self._metrics
        if len(operations) == 1:
            op = operations[0]
            batch, individual = names[op.kind]
            metrics[batch] = metrics.get(batch, 0) + 1
            metrics[individual] = metrics.get(individual, 0) + 1
            duration = durations[op.kind]
            self._ready.append(Batch(self._now, duration, (op,)))
            self._now += duration
            return
        duration = 0
        seen = set()
        for op in operations:
            kind = op.kind
            duration = max(duration, durations[kind])
            individual = names[kind][1]
            metrics[individual] = metrics.get(individual, 0) + 1
            if kind not in seen:
                seen.add(kind)
                batch = names[kind][0]
                metrics[batch] = metrics.get(batch, 0) + 1
        self._ready.append(Batch(self._now, duration, tuple(operations)))
        self._now += duration

    def _release(self, force: bool) -> None:
        """Turn queued items into ready batches (all of them when ``force``)."""
        raise NotImplementedError


@register_plugin
class SimpleRuntime(Runtime):
    """Every operation is handed on at once, in its own batch; durations per kind.

    >>> rt = SimpleRuntime(duration_ns_rxy=10)
    >>> rt.init(1); rt.shot_start(0, 0)
    >>> q = rt.qalloc(); rt.rxy(q, 1.0, 0.0)
    >>> [(b.start_ns, b.duration_ns, b.kinds) for b in iter(rt.get_next_operations, None)]
    [(0, 0, {'reset'}), (0, 10, {'rxy'})]
    """

    def _release(self, force: bool) -> None:
        for item in self._items:
            if isinstance(item, _Delay):
                self._now += item.ns
            elif not isinstance(item, _Barrier):
                self._emit((item,))
        self._items.clear()


@register_plugin
class LazyRuntime(Runtime):
    """Operations wait until a result is forced, then go out in layers of parallel operations.

    A layer holds operations on distinct qubits that nothing queued earlier
    orders; each layer is split by kind and into batches of at most
    ``max_batch_size`` operations. Barriers and delays end a layer.
    """

    Params = LazyParams

    def _release(self, force: bool) -> None:
        if not force:
            return
        items, self._items = self._items, []
        segment: list = []
        for item in items:
            if isinstance(item, _Delay) or (isinstance(item, _Barrier) and item.qubits is None):
                self._emit_layers(segment)
                segment = []
                if isinstance(item, _Delay):
                    self._now += item.ns
            else:
                segment.append(item)
        self._emit_layers(segment)

    def _emit_layers(self, items: list) -> None:
        level: dict[int, int] = {}
        floor = 0
        layers: dict[int, list] = {}
        for item in items:
            if isinstance(item, _Barrier):
                top = max((level.get(q, floor) for q in item.qubits), default=floor)
                for q in item.qubits:
                    level[q] = top
                continue
            if isinstance(item, Custom):
                at = max(level.values(), default=floor) + 1
                floor = at
            else:
                at = max(level.get(q, floor) for q in item.qubits) + 1
                for q in item.qubits:
                    level[q] = at
            layers.setdefault(at, []).append(item)
        size = self.params.max_batch_size
        for at in sorted(layers):
            by_kind: dict[str, list] = {}
            for op in layers[at]:
                by_kind.setdefault(op.kind, []).append(op)
            for ops in by_kind.values():
                for i in range(0, len(ops), size):
                    self._emit(ops[i:i + size])


@register_plugin
class SoftRZRuntime(LazyRuntime):
    """A lazy runtime that folds every RZ into the phase of the next Rxy (no RZ is ever emitted).

    Valid because ``Rxy(t, p) Rz(a) = Rz(a) Rxy(t, p - a)``: the RZ moves to
    later times, commutes with RZZ, and does not change Z-basis outcomes, so
    it is dropped before a measurement, a reset or a free.
    """

    def shot_start(self, shot_id: int, seed: int) -> None:
        super().shot_start(shot_id, seed)
        self._phase: dict[int, float] = {}

    def rz(self, qubit: int, theta: float) -> None:
        self._phase[qubit] = self._phase.get(qubit, 0.0) + theta

    def rxy(self, qubit: int, theta: float, phi: float) -> None:
        self._queue(RXY(qubit, theta, phi - self._phase.get(qubit, 0.0)))

    def _drop_phase(self, qubit: int) -> None:
        self._phase.pop(qubit, None)

    def measure(self, qubit: int) -> int:
        self._drop_phase(qubit)
        return super().measure(qubit)

    def measure_leaked(self, qubit: int) -> int:
        self._drop_phase(qubit)
        return super().measure_leaked(qubit)

    def reset(self, qubit: int) -> None:
        self._drop_phase(qubit)
        super().reset(qubit)

    def _before_free(self, qubit: int) -> None:
        self._drop_phase(qubit)

    def flush(self) -> None:
        """Hand on every queued operation, and the pending RZs as real RZs (before a state is read)."""
        for qubit, theta in sorted(self._phase.items()):
            self._items.append(RZ(qubit, theta))
        self._phase.clear()
        super().flush()
